"""Small analysed demo corpora for the flow tests."""

from __future__ import annotations

from pathlib import Path

import soundfile as sf

from demo_corpus import plan_corpus, synthesize_clip
from flows.analyze import analyze_flow


def analysed_clips(root: Path, *, n: int, seed: int, seconds: float) -> tuple[Path, Path]:
    """Write ``n`` demo clips cut to ``seconds`` into ``root/inputs``, analyse them into
    ``root/cache``; returns (root, cache)."""
    inputs = root / "inputs"
    inputs.mkdir()
    for spec in plan_corpus(n_inputs=n, n_eval=0, seed=seed):
        sf.write(inputs / spec.filename, synthesize_clip(spec)[: int(spec.sr * seconds)], spec.sr)
    cache = root / "cache"
    analyze_flow(input_dir=str(inputs), cache_dir=str(cache), show_progress=False)
    return root, cache
