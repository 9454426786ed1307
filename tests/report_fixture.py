"""A small real evaluation report (tiny WAV files), for the report contract and page tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from aural_core.config import EvalConfig
from aural_core.controls import Controls
from aural_core.evaluation import CorpusPrior
from aural_core.scoring import score
from storage.reports import EvalSection, write_reports

SAMPLING = {"do_sample": True, "temperature": 0.7, "guidance_scale": 3.0, "top_k": 50}
PROBE = {"ref": "sha256:" + "ab" * 32, "text_model": "facebook/musicgen-small", "alpha": 10.0, "r2_validation": 0.41,
         "n_validation": 6, "r2_eval": 0.35, "n_eval": 2, "mix": 0.5, "used_for_renders": True}
ADAPTER = {"file": "/music/mine/models/adapter.pt", "ref": "sha256:" + "cd" * 32,
           "trained_at": "2026-12-06T02:08:34.404143+00:00", "lineage": "mine", "trained_on": "/music/mine/inputs",
           "input_set": "8cf33e1ee0e9987e", "n_train_files": 9, "n_sections": 31,
           "publication": "kept from an earlier run",
           "reason": "this run's adapter sha256:0123456789 was not published: worse than the published model"}


def write_small_report(root: Path, *, source: str = "song.wav", style_prompt: str = "calm piano") -> Path:
    """Write a report of two sections (intro, release) of one 3 s input under ``root/reports``.

    ``source`` is the input's name as the report shows it and ``style_prompt`` the predicted
    prompt, so tests can feed awkward text through. The renders are recorded as MusicGen's:
    the adapter's conditioned on a probe mix, the others on their prompt, all sampled with
    :data:`SAMPLING`; :data:`PROBE` are the probe's figures. Returns the reports folder.
    """
    sr, t = 22050, np.arange(22050 * 3) / 22050
    src = root / "song.wav"
    sf.write(src, 0.3 * np.sin(2 * np.pi * 220 * t), sr)
    sections = []
    kinds = {"adapter": 330, "fixed": 440, "prior": 550, "shuffled": 660, "oracle": 220}
    for i, name in enumerate(("intro", "release")):
        scored, controls = {}, {}
        for kind, f in kinds.items():
            path = root / f"{name}-{kind}.flac"
            sf.write(path, 0.3 * np.sin(2 * np.pi * f * t), sr)
            match = {"adapter": 0.6, "fixed": 0.3}.get(kind, 0.4)
            scored[kind] = {"path": str(path), "match": match, "bpm": 92.0 if kind == "adapter" else 90.0,
                            "independent": {"bpm": 91.0, "key": "C major"}, "tempo_acc1": 1.0, "tempo_acc2": 1.0,
                            "tempo_log2_error": 0.01, "key_weighted": 1.0 if kind != "fixed" else 0.5,
                            "timbre": 0.5}
            controls[kind] = Controls("calm", 92.0, "C major", 2, style_prompt if kind == "adapter" else "x")
        row = {"file_id": "abc", "source": source, "section": name, "start_s": 1.5 * i,
               "end_s": 1.5 * i + 1.5, "spans": [[1.5 * i, 1.5 * i + 1.5]], "emotion": "calm", "bpm": 90.0,
               "key": "C major", "key_full": "C major", "style_id": 2,
               # the release's tempo and key labels are strong (file tag, labels.csv), the rest weak
               "label_source": {"bpm": "tag" if i else "weak", "key": "sidecar" if i else "weak",
                                "emotion": "weak", "style": "weak"}}
        settings = {kind: {"conditioning": "mix:0.5" if kind == "adapter" else "prompt", "sampling": SAMPLING}
                    for kind in kinds}
        sections.append(EvalSection(row=row, seconds=1.5, controls=controls, scored=scored,
                                    source_estimate={"bpm": 90.5, "key": "C major", "timbre": [0.0] * 3},
                                    prediction={"emotion_prob": 0.8, "key_prob": 0.5}, settings=settings))
    frames = [{"start_s": 0.0, "end_s": 1.5, "energy": 0.3}, {"start_s": 1.5, "end_s": 3.0, "energy": 0.7}]
    per_kind = {kind: [s.scored[kind] for s in sections] for kind in kinds}
    scores = score(per_kind, file_ids=["abc", "abc"], reference_bpm=[90.0, 100.0], rendered_bpm=[92.0, 101.0],
                   config=EvalConfig(match_margin=0.1, min_tempo_corr=0.3, bootstrap_resamples=200))
    write_reports(root / "reports" / "eval.json", sections=sections, scores=scores,
                  baseline=Controls("calm", 90.0, "C major", 3, "a piece of music"),
                  prior=CorpusPrior(emotion="calm", bpm=100.0, key="C major", style_id=2), energy={"abc": frames},
                  inputs={"abc": str(src)}, seconds=15.0, embedder="dsp", renderer="synth",
                  estimator="essentia-test", controls_source={"key": "adapter", "bpm": "adapter"},
                  failed=[{"source": "broken.wav", "error": "not audio"}], probe=PROBE, adapter=ADAPTER)
    return root / "reports"
