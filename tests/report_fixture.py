"""A small real evaluation report (tiny WAV files), for the report contract and page tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from aural_core.controls import Controls
from aural_core.evaluation import Scores
from storage.reports import EvalSection, write_reports


def write_small_report(root: Path, *, source: str = "song.wav", style_prompt: str = "calm piano") -> Path:
    """Write a report of two sections (intro, release) of one 3 s input under ``root/reports``.

    ``source`` is the input's name as the report shows it and ``style_prompt`` the predicted
    prompt, so tests can feed awkward text through. Returns the reports folder.
    """
    sr, t = 22050, np.arange(22050 * 3) / 22050
    src = root / "song.wav"
    sf.write(src, 0.3 * np.sin(2 * np.pi * 220 * t), sr)
    sections = []
    for i, name in enumerate(("intro", "release")):
        renders = {}
        for kind, f in (("adapter", 330), ("baseline", 440)):
            renders[kind] = root / f"{name}-{kind}.flac"
            sf.write(renders[kind], 0.3 * np.sin(2 * np.pi * f * t), sr)
        row = {"file_id": "abc", "source": source, "section": name, "start_s": 1.5 * i,
               "end_s": 1.5 * i + 1.5, "spans": [[1.5 * i, 1.5 * i + 1.5]], "emotion": "calm", "bpm": 90.0,
               "key": "C major", "key_full": "C major", "style_id": 2}
        sections.append(EvalSection(row=row, controls=Controls("calm", 92.0, "C major", 2, style_prompt),
                                    adapter={"path": str(renders["adapter"]), "match": 0.6, "bpm": 92.0},
                                    baseline={"path": str(renders["baseline"]), "match": 0.3, "bpm": 90.0},
                                    prediction={"emotion_prob": 0.8, "key_prob": 0.5}))
    frames = [{"start_s": 0.0, "end_s": 1.5, "energy": 0.3}, {"start_s": 1.5, "end_s": 3.0, "energy": 0.7}]
    scores = Scores(0.6, 0.3, 0.3, 0.5, True, {"match_delta_min": 0.1, "tempo_corr_min": 0.3})
    write_reports(root / "reports" / "eval.json", sections=sections, scores=scores,
                  baseline=Controls("calm", 90.0, "C major", 3, "a piece of music"), energy={"abc": frames},
                  inputs={"abc": str(src)}, seconds=15.0, embedder="dsp", renderer="synth",
                  failed=[{"source": "broken.wav", "error": "not audio"}])
    return root / "reports"
