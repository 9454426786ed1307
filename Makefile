# Two commands for a fresh machine: `make demo` (the whole job on the demo corpus) and `make test`.
# Both create .venv on first use: torch first (a CPU wheel), then the project with pinned ranges.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test reliability e2e bench bench-smoke gpu-check clean deploy worker

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e '.[test]'
	# One-time costs paid here, not by the first run: librosa's and our numba kernels compiled
	# and cached (~30 s), the Prefect database of the temporary servers created (~10 s).
	$(BIN)/python -m aural_core.warmup
	$(BIN)/prefect server database upgrade -y >/dev/null
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/aural run

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

# Postgres, a Prefect server with auth, deploy, a worker, pipeline runs and the UI in Chromium (~10 min).
# The fault suite (kills, corrupt files, full disk, hostile names): .ci/run runs it after make test.
reliability: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m reliability tests/reliability

e2e: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider --durations=0 --durations-min=1 -m e2e tests/e2e

bench: $(STAMP)
	$(BIN)/pip install -q -e '.[bench]'
	command -v fluidsynth >/dev/null || apt-get install -y -qq fluidsynth fluid-soundfont-gm || \
		echo "warning: fluidsynth missing: benchmarks/realcomp cannot be built"
	$(BIN)/python benchmarks/bench_analyze.py
	$(BIN)/python benchmarks/bench_scale.py
	$(BIN)/python benchmarks/bench_cli_server.py
	$(BIN)/python benchmarks/bench_first_run.py
	$(BIN)/python benchmarks/bench_labels.py
	$(BIN)/python benchmarks/realcomp/score_labels.py --real /tmp/realmusic/tracks
	$(BIN)/python benchmarks/agreement_settings.py
	$(BIN)/python benchmarks/agreement_check.py
	$(BIN)/python benchmarks/bench_eval.py
	$(BIN)/python benchmarks/bench_augment.py
	$(BIN)/python benchmarks/bench_heads.py
	$(BIN)/python benchmarks/bench_downbeats.py
	$(BIN)/python benchmarks/bench_cache_verify.py
	$(BIN)/python benchmarks/bench_soak.py

# Every benchmark script's --smoke mode on a tiny input (~6 min; .ci/run runs it after make test).
bench-smoke: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m bench_smoke tests/benchmarks

# Real backends (CUDA + facebook/musicgen-small + laion/larger_clap_music in the HF cache): smoke test
# and timings; without them, says what is missing and times the tiny checkpoints on the CPU.
gpu-check: $(STAMP)
	$(BIN)/python benchmarks/gpu_check.py

# Work-pool deployments (prefect.yaml) against the server PREFECT_API_URL names.
deploy: $(STAMP)
	$(BIN)/prefect work-pool inspect aural-local >/dev/null 2>&1 || $(BIN)/prefect work-pool create aural-local --type process
	AURAL_TIMEZONE=$$($(BIN)/python -c 'from deployments.serve import local_timezone; print(local_timezone())') \
		$(BIN)/prefect --no-prompt deploy --all
	$(BIN)/python -m runtime.automations  # crashed when silent, retried once (AURAL_CRASH_RETRIES)

worker: $(STAMP)
	AURAL_HOME=$(CURDIR) $(BIN)/prefect worker start --pool aural-local --type process

clean:
	rm -rf data models reports
