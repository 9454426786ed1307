"""Do the audio-domain augmentation copies still add anything? -> benchmarks/results/augment.json

The key and tempo heads now see every training section transposed and re-tempoed in feature
space each step (``training.augment_batch``): exact, free, no re-analysis. The audio copies
(``[augment] copies_per_file``, default 1) cost a second analysis of every training file. This
runs the same ``aural run`` twice per corpus, with one copy per file and with none, and compares
what the adapter does on the held-out files:

- per render of the adapter's controls, as ``aural run``'s eval.json scores it: ``match`` (the
  seed's MatchScore term), tempo Acc1 / Acc2 and the MIREX-weighted key read by the independent
  estimator, ``timbre``;
- per section, whether the predicted emotion and style name the section's label;
- ``aural run``'s wall time, each run from an empty cache.

Corpora: the demo corpus (its truth travels as a labels.csv, so the key and tempo heads train on
strong labels) and the two real-music splits of ``bench_eval.py`` (weak labels only: the key and
tempo heads stay as built, the copies reach only the emotion and style heads).

Each difference is "one copy minus none" over the same held-out sections, with a file-level
bootstrap 95 % interval (``aural_core.agreement.paired_summary``).

Usage: .venv/bin/python benchmarks/bench_augment.py [REAL_TRACKS_DIR] [--smoke]
(REAL_TRACKS_DIR defaults to /tmp/realmusic/tracks; --smoke: a tiny demo corpus, no result file.)
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bench_eval import SPLITS, command_line, run_pipeline, split_corpus  # noqa: E402
from provenance import tiny_corpus, write_results  # noqa: E402

from aural_core.agreement.stats import paired_summary  # noqa: E402

RENDER_METRICS = ("match", "tempo_acc1", "tempo_acc2", "key_weighted", "timbre")
LABEL_METRICS = ("emotion", "style")
COPIES = (1, 0)


def per_section(report: dict) -> dict[tuple[str, str], dict[str, float]]:
    """(file id, section) -> the adapter's render scores and its emotion / style agreement."""
    out = {}
    for s in report["sections"]:
        render = s["renders"]["adapter"]
        row = {m: render.get(m) for m in RENDER_METRICS}
        row["emotion"] = float(s["predicted"]["emotion"] == s["weak_labels"]["emotion"])
        row["style"] = float(s["predicted"]["style_id"] == s["weak_labels"]["style_id"])
        out[(s["file_id"], s["section"])] = row
    return out


def compare(runs: dict[int, dict]) -> dict:
    """One copy minus none, per metric, over the sections both runs scored."""
    with_copy, without = (per_section(runs[c]["report"]) for c in COPIES)
    shared = sorted(set(with_copy) & set(without))
    groups = [file_id for file_id, _ in shared]
    out = {"n_sections": len(shared), "n_files": len(set(groups)), "metrics": {}}
    for metric in RENDER_METRICS + LABEL_METRICS:
        s = paired_summary([_number(with_copy[k][metric]) for k in shared],
                           [_number(without[k][metric]) for k in shared], groups, seed=0)
        out["metrics"][metric] = {"one_copy": round(s["mean_adapter"], 4), "none": round(s["mean_reference"], 4),
                                  "delta": round(s["delta"], 4),
                                  "ci": [round(s["ci_low"], 4), round(s["ci_high"], 4)]}
    out["wall_seconds"] = {f"copies_{c}": runs[c]["wall"] for c in COPIES}
    out["passed"] = {f"copies_{c}": runs[c]["report"]["passed"] for c in COPIES}
    return out


def _number(value) -> float:
    return float("nan") if value is None else float(value)


def run_both(data: Path | None, work: Path, env: dict) -> dict:
    """``aural run`` with one copy per file and with none, each from an empty cache (the cache
    lives in the data folder, so each run gets its own copy of it); each run's eval.json and
    wall time."""
    runs = {}
    for copies in COPIES:
        run_work = work / f"copies_{copies}"
        run_work.mkdir(parents=True)
        run_data = None
        if data is not None:
            run_data = run_work / "data"
            shutil.copytree(data, run_data, ignore=shutil.ignore_patterns("cache"))
        config = run_work / "augment.toml"
        config.write_text(f"[augment]\ncopies_per_file = {copies}\n")
        summary = run_pipeline(run_data, run_work, env, config=config)
        report = json.loads((run_work / "reports" / "eval.json").read_text())
        runs[copies] = {"report": report, "wall": summary["aural_run_wall_seconds"]}
        print(f"  copies_per_file={copies}: {summary['aural_run_wall_seconds']} s", flush=True)
    return compare(runs)


def main() -> None:
    smoke, tracks, work, env = command_line("augment")
    result = {"machine": f"{os.cpu_count()} cores", "compared": "copies_per_file = 1 minus 0", "corpora": {}}
    print("demo", flush=True)
    data = tiny_corpus(work / "tiny", n_inputs=4, n_eval=2) if smoke else None
    result["corpora"]["demo"] = run_both(data, work / "demo", env)
    if not smoke:
        if not tracks.is_dir():
            sys.exit(f"{tracks}: no real-music folder (benchmarks/realmusic/fetch.sh fetches it)")
        for name, held_out in SPLITS.items():
            print(name, flush=True)
            split_work = work / name
            split_work.mkdir()
            split_corpus(tracks, split_work / "data", held_out)
            result["corpora"][name] = run_both(split_work / "data", split_work, env)
    write_results("augment.json", result, smoke=smoke)
    for name, block in result["corpora"].items():
        cells = "  ".join(f"{m} {v['delta']:+.3f} [{v['ci'][0]:+.2f},{v['ci'][1]:+.2f}]"
                          for m, v in block["metrics"].items())
        print(f"{name}: {block['n_sections']} sections; one copy minus none: {cells}; wall {block['wall_seconds']}")
    print(f"reports kept in {work}")


if __name__ == "__main__":
    main()
