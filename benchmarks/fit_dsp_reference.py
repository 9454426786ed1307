"""Refit ``aural_core/embedders/dsp_reference.json`` from a folder of recorded music.

The dsp embedder centres and scales its descriptors with this reference so that cosine
similarity compares how pieces differ from *typical recorded music*. It was fitted on the real
recordings fetched by ``benchmarks/realmusic/fetch.sh`` (not on our synthetic corpus):

    bash benchmarks/realmusic/fetch.sh /tmp/realmusic/tracks
    .venv/bin/python benchmarks/fit_dsp_reference.py /tmp/realmusic/tracks
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from aural_core.audio import AUDIO_EXTENSIONS, frame_bounds, load_audio
from aural_core.descriptors import describe_frames
from aural_core.embedders.dsp import REFERENCE_PATH, fit_reference
from aural_core.spectral import SpectralAnalysis

SR, MAX_SECONDS = 22050, 90


def main(folder: str, out: Path = REFERENCE_PATH) -> None:
    tables = []
    files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
    for path in files:
        y = load_audio(path, sr=SR)[: MAX_SECONDS * SR]
        tables.append(describe_frames(SpectralAnalysis(y, sr=SR), frame_bounds(len(y), sr=SR)))
        print(f"{path.name}: {len(tables[-1]['level_db'])} frames")
    ref = fit_reference(tables)
    ref["fitted_on"] = f"{len(files)} recordings from benchmarks/realmusic/fetch.sh, first {MAX_SECONDS} s each"
    out.write_text(json.dumps(ref))
    print(f"wrote {out} from {ref['n_frames']} frames")


if __name__ == "__main__":
    if "--smoke" in sys.argv[1:]:  # tiny input; the reference goes to a temporary file
        import tempfile

        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from provenance import tiny_tracks

        work = Path(tempfile.mkdtemp(prefix="fit-dsp-smoke-"))
        main(str(tiny_tracks(work / "tracks")), work / "dsp_reference.json")
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/realmusic/tracks")
