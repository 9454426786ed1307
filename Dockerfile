# The image the Compose `deploy` and worker services run (docker-compose.yml): Python 3.11,
# the audio libraries, torch, then this project, run by a non-root user from /app.
FROM python:3.11.13-slim-bookworm

# torch goes in first, as in the Makefile. The default index serves CPU wheels (a small image);
# the GPU worker builds with a CUDA index instead (TORCH_GPU_INDEX_URL in .env.example).
ARG TORCH_SPEC=torch==2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The project decodes with soundfile's bundled libsndfile; the system one and ffmpeg are for tools
# run in the container (e.g. `ffmpeg -i song.m4a song.flac` for a format libsndfile cannot read).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libsndfile1 ffmpeg \
    && rm -rf /var/lib/apt/lists/*

RUN pip install --index-url "${TORCH_INDEX_URL}" "${TORCH_SPEC}"

RUN useradd --create-home --uid 1000 aural
WORKDIR /app
COPY --chown=aural:aural . /app
RUN pip install /app

# Runs resolve data/, models/ and reports/ against AURAL_HOME (prefect.yaml's pull step). The
# folders exist here, owned by the user, so that fresh named volumes mounted on them are writable.
RUN mkdir -p data/inputs data/eval models reports /home/aural/.cache/huggingface \
    && chown aural:aural /app && chown -R aural:aural data models reports /home/aural/.cache
ENV AURAL_HOME=/app
USER aural

CMD ["prefect", "worker", "start", "--pool", "aural-local", "--type", "process"]
