"""Weak-label accuracy against the demo corpus truth (mir_eval) and training wall time.

Writes benchmarks/results/labels.json and benchmarks/results/train.json. Each section's label
is scored against its clip's truth (the demo clips keep one tempo and key throughout):
- tempo Acc1: within 4 % of the true BPM (mir_eval.tempo.detection, tol=0.04);
  Acc2: the same allowing x2, x3, /2, /3 (octave and triple errors);
- key: MIREX weighted score (mir_eval.key.weighted_score) of ``key_full``;
- emotion: share of sections whose weak emotion equals the clip's mood (for reference).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mir_eval
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def tempo_hit(estimate: float, truth: float, factors=(1.0,)) -> bool:
    return any(mir_eval.tempo.detection(np.array([truth, truth]), 1.0,
                                        np.array([estimate * f, estimate * f]), tol=0.04)[1]
               for f in factors)


def score(cache: Path, folder: Path) -> dict:
    import pyarrow.parquet as pq

    from storage.manifest import file_id

    truth = json.loads((folder / "truth.json").read_text())["clips"]
    acc1, acc2, keys, emotions, rows = [], [], [], [], []
    for name, t in sorted(truth.items()):
        table = pq.read_table(cache / "sections" / f"{file_id(folder / name)}.parquet")
        for sec in table.to_pylist():
            acc1.append(tempo_hit(sec["bpm"], t["bpm"]))
            acc2.append(tempo_hit(sec["bpm"], t["bpm"], (1, 2, 3, 1 / 2, 1 / 3)))
            keys.append(mir_eval.key.weighted_score(t["key"], sec["key_full"]))
            emotions.append(sec["emotion"] == t["mood"])
            rows.append({"clip": name, "section": sec["section"], "bpm": round(sec["bpm"], 2),
                         "true_bpm": t["bpm"], "key_full": sec["key_full"], "true_key": t["key"],
                         "emotion": sec["emotion"], "mood": t["mood"]})
    return {"n_sections": len(rows), "tempo_acc1": round(float(np.mean(acc1)), 3),
            "tempo_acc2": round(float(np.mean(acc2)), 3), "key_mirex": round(float(np.mean(keys)), 3),
            "emotion_vs_mood": round(float(np.mean(emotions)), 3), "sections": rows}


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="aural-bench-labels-"))
    env = {**os.environ, "PREFECT_HOME": str(work / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    aural = str(ROOT / ".venv" / "bin" / "aural")
    for args in (["demo", "--out", str(work / "data")],
                 ["analyze", "--in", str(work / "data" / "inputs"), "--out", str(work / "cache"), "--quiet"]):
        subprocess.run([aural, *args], env=env, check=True, capture_output=True)
    start = time.perf_counter()
    subprocess.run([aural, "train", "--cache", str(work / "cache"), "--out", str(work / "models" / "adapter.pt"),
                    "--quiet"], env=env, check=True, capture_output=True)
    train_wall = time.perf_counter() - start
    labels = score(work / "cache", work / "data" / "inputs")
    labels["targets"] = {"tempo_acc1": 0.90, "key_mirex": 0.85}
    labels["passed"] = labels["tempo_acc1"] >= 0.90 and labels["key_mirex"] >= 0.85
    meta = json.loads((work / "models" / "metadata.json").read_text())
    train = {"train_cli_wall_seconds": round(train_wall, 2), "n_sections": meta["n_sections"],
             "n_files": meta["n_files"], "epochs_run": len(meta["curves"]), "best_epoch": meta["best_epoch"],
             "metrics": meta["metrics"], "note": "wall time includes the temporary Prefect server start"}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "labels.json").write_text(json.dumps(labels, indent=2) + "\n")
    (RESULTS / "train.json").write_text(json.dumps(train, indent=2) + "\n")
    print(json.dumps({k: v for k, v in labels.items() if k != "sections"}, indent=2))
    print(json.dumps(train, indent=2))


if __name__ == "__main__":
    sys.exit(main())
