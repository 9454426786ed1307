"""Writing the demo corpus: audio files, ``truth.json`` and the ``labels.csv`` sidecar per split,
each written atomically."""

from __future__ import annotations

import json
from pathlib import Path

import soundfile as sf

from storage.atomic import atomic_path, write_text_atomic
from storage.strong_labels import write_sidecar

from .arranger import synthesize_clip
from .plan import SPLITS, plan_corpus, split_truth


def write_corpus(out_dir, *, n_inputs: int = 24, n_eval: int = 6, seed: int = 0) -> dict:
    """Synthesise the demo corpus and write it with its ground truth.

    Writes ``out_dir/inputs/<name>.wav|flac`` and ``out_dir/eval/...`` (16-bit PCM), plus
    ``truth.json`` in each split folder and the same truth as strong labels (``labels.csv``:
    BPM, key and the mood as emotion; ``storage.strong_labels``), which training reads in place
    of the weak labels. Every file goes through :mod:`storage.atomic`, so
    readers never see half a file. The same seed gives byte-identical files.

    Parameters
    ----------
    out_dir : str or Path
    n_inputs, n_eval, seed : int
        As in :func:`~demo_corpus.plan.plan_corpus`.

    Returns
    -------
    truth : dict
        ``{"inputs": truth_dict, "eval": truth_dict}``, each as written to its ``truth.json``:
        ``{"generator", "seed", "clips": {filename: {"bpm", "key", "mood", "seconds", "sr",
        "channels", "sections"}}}``.
    """
    specs = plan_corpus(n_inputs=n_inputs, n_eval=n_eval, seed=seed)
    out_dir = Path(out_dir)
    truths = {}
    for split in SPLITS:
        folder = out_dir / split
        for spec in (s for s in specs if s.split == split):
            with atomic_path(folder / spec.filename) as tmp:
                sf.write(tmp, synthesize_clip(spec), spec.sr, subtype="PCM_16", format=spec.fmt.upper())
        truths[split] = split_truth(specs, split, seed=seed)
        write_text_atomic(folder / "truth.json", json.dumps(truths[split], indent=2) + "\n")
        write_sidecar(folder, {name: {"bpm": clip["bpm"], "key": clip["key"], "emotion": clip["mood"]}
                               for name, clip in truths[split]["clips"].items()})
    return truths
