"""Fit the fixed standardisation of the independent timbre descriptor on real recordings.

Writes ``aural_core/agreement/timbre_reference.json``: the mean and standard deviation of each
of the 30 dimensions of ``IndependentEstimate.timbre`` over 15 s excerpts of the real
recordings of ``benchmarks/realmusic/fetch.sh`` (up to ``--per-file`` evenly spaced excerpts per
file, so long tracks do not dominate). These are descriptor statistics of typical music, fitted
without any label or render; they only put the dimensions on a common scale for
``timbre_similarity``. Fit once and commit; refitting changes every timbre score.

    PYTHONPATH=$PWD python benchmarks/fit_agreement_reference.py --tracks /tmp/realmusic/tracks
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from aural_core.agreement.estimate import (
    ESSENTIA_SR,
    TIMBRE_FEATURES,
    _timbre,
    essentia_standard,
)
from aural_core.agreement.scores import TIMBRE_REFERENCE_PATH
from aural_core.audio import AUDIO_EXTENSIONS, load_audio

EXCERPT_S = 15.0


def excerpt_starts(n_samples: int, *, sr: int, per_file: int) -> list[int]:
    """Start samples of up to ``per_file`` evenly spaced 15 s excerpts (one if shorter)."""
    length = int(EXCERPT_S * sr)
    if n_samples <= length:
        return [0]
    k = min(per_file, n_samples // length)
    return [round(s) for s in np.linspace(0, n_samples - length, k)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracks", type=Path, default=Path("/tmp/realmusic/tracks"))
    ap.add_argument("--per-file", type=int, default=6)
    ap.add_argument("--out", type=Path, default=TIMBRE_REFERENCE_PATH)
    ap.add_argument("--smoke", action="store_true", help="tiny input; the reference goes to a temporary file")
    args = ap.parse_args()
    if args.smoke:
        import sys
        import tempfile

        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from provenance import tiny_tracks

        work = Path(tempfile.mkdtemp(prefix="fit-agreement-smoke-"))
        args.tracks, args.out, args.per_file = tiny_tracks(work / "tracks"), work / "timbre_reference.json", 1
    es = essentia_standard()
    files = sorted(p for p in args.tracks.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
    vecs = []
    for path in files:
        y = load_audio(path, sr=ESSENTIA_SR)
        for s in excerpt_starts(len(y), sr=ESSENTIA_SR, per_file=args.per_file):
            v = _timbre(es, y[s: s + int(EXCERPT_S * ESSENTIA_SR)])
            if np.any(v):
                vecs.append(v)
        print(path.name, len(vecs), flush=True)
    m = np.asarray(vecs)
    args.out.write_text(json.dumps({
        "description": "mean/std of IndependentEstimate.timbre over 15 s excerpts of real music; "
                       "made by benchmarks/fit_agreement_reference.py",
        "essentia_version": __import__("essentia").__version__,
        "n_files": len(files), "n_excerpts": int(m.shape[0]),
        "files": [str(p.relative_to(args.tracks)) for p in files],
        "features": list(TIMBRE_FEATURES),
        "mean": [round(float(v), 6) for v in m.mean(axis=0)],
        "std": [round(float(v), 6) for v in m.std(axis=0, ddof=1)],
    }, indent=1) + "\n")
    print(f"wrote {args.out} from {m.shape[0]} excerpts of {len(files)} files")


if __name__ == "__main__":
    main()
