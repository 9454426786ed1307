"""The adapter's key and tempo heads against the truth: do they learn beyond their teacher?

On the labelled real-composition set (``benchmarks/realcomp``: 43 rendered scores with a known
tempo and key, written as its ``labels.csv``), files are held out by k-fold cross-validation
(folds drawn by each file's content id). For every fold the adapter is trained on the other
files' sections, then its key (24) and BPM on the held-out files' sections are scored against
their clip's truth:

- ``teacher``: the weak labels themselves (what the heads learn from on unlabelled music);
- ``untrained``: the heads as built (the key head starts as the weak labeller's profile
  correlation, the tempo head as the labeller's prior);
- ``weak``: trained on the weak labels (a user's unlabelled music), default settings: the key
  and tempo heads learn only from strong labels (``TrainConfig.head_labels``), so here they
  stay as built;
- ``weak_all``: trained on the weak labels with ``head_labels = "all"`` (the heads fit the weak
  labels too: why that is not the default; the held-out check now drops that training, since
  the labeller scores 1 against its own labels);
- ``strong``: trained on the truth as strong labels (a user's tags or labels.csv), with the
  default held-out check (``TrainConfig.head_check_folds``: a head drops its training when
  it scores below the weak labeller on training files it did not learn from); what each
  fold's heads kept is in ``strong_heads_per_fold``;
- ``strong_unchecked``: the same without the check (every head keeps its training).

The weak labeller's key settings were chosen on the "tune" half of this set
(``realcomp/score_labels.py``), which flatters the teacher there: ``halves`` reports both.

Scores: MIREX weighted key score and tempo Acc1 / Acc2 (``aural_core.agreement``), the mean over
held-out sections with a file-level bootstrap 95 % interval, and each trained variant minus the
teacher (paired, same sections). Also the training time per fold (``strong``, the check
included), and with ``--seeds N`` the ``strong`` variant's gains over the teacher under training
seeds 0..N-1 (``strong_seeds``): the heads' hidden weights start random, so one seed's figure is
one draw.

The frames come from ``aural analyze`` (run here into a temporary cache unless ``--cache`` names
one that holds the set's analysis).

Usage: .venv/bin/python benchmarks/bench_heads.py [--set /tmp/realcomp [--set /tmp/realcomp2]] [--cache DIR]
           [--folds 5] [--seeds 1] [--out heads.json]
       .venv/bin/python benchmarks/bench_heads.py --smoke   (a tiny demo corpus; no result file)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from provenance import write_results  # noqa: E402
from realcomp.score_labels import split_of  # noqa: E402

from aural_core.agreement.scores import key_agreement, tempo_agreement  # noqa: E402
from aural_core.agreement.stats import bootstrap_ci, paired_summary  # noqa: E402
from aural_core.config import AuralConfig  # noqa: E402
from aural_core.sections import label_sections  # noqa: E402
from aural_core.styles import load_style_table  # noqa: E402
from aural_core.training import train_adapter  # noqa: E402
from aural_core.vocab import KEYS_FULL  # noqa: E402
from storage.frames import frame_arrays, read_frames  # noqa: E402
from storage.keys import frames_file  # noqa: E402
from storage.layout import CacheLayout, manifest_name  # noqa: E402
from storage.manifest import read_manifest  # noqa: E402
from storage.sections import sections_table, training_arrays  # noqa: E402
from storage.strong_labels import strong_labels_for  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
AURAL = str(ROOT / ".venv" / "bin" / "aural")
VARIANTS = ("teacher", "untrained", "weak", "weak_all", "strong", "strong_unchecked")


def analyse(folder: Path, cache: Path) -> None:
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    subprocess.run([AURAL, "analyze", "--in", str(folder), "--out", str(cache), "--quiet"], env=env, check=True,
                   capture_output=True)


def section_arrays(folder: Path, cache_dir: Path, config: AuralConfig) -> tuple[dict, dict, dict]:
    """Sections of every analysed file with weak labels and with the sidecar's truth, and the
    truth per file id."""
    cache, styles = CacheLayout(cache_dir), load_style_table()
    files = [f for f in read_manifest(cache, manifest_name(folder))["files"] if f["status"] != "failed"]
    strong, warnings = strong_labels_for(folder, files, styles)
    if warnings:
        print("\n".join(warnings), file=sys.stderr)
    tables = {"weak": [], "strong": []}
    for f in files:
        frames = frame_arrays(read_frames(frames_file(cache, f["file_id"], config.features)))
        for kind, known in (("weak", None), ("strong", strong.get(f["file_id"]))):
            rows = label_sections(frames, labels=config.labels, sections=config.sections, styles=styles, strong=known)
            tables[kind].append(training_arrays(sections_table(rows, file_id=f["file_id"], source=f["source"],
                                                               metadata={})))
    joined = {kind: {k: np.concatenate([t[k] for t in ts]) for k in ts[0]} for kind, ts in tables.items()}
    truth = {fid: (s.bpm, s.key) for fid, s in strong.items()}
    # A second set (build.py --second) is disjoint from the one the labeller's settings were chosen on.
    second = json.loads((folder / "truth.json").read_text()).get("disjoint_from") if (folder / "truth.json").is_file() \
        else None
    halves = {f["file_id"]: "second" if second else split_of(Path(f["source"]).name) for f in files}
    return joined["weak"], joined["strong"], truth, halves


def joined_sets(folders: list[Path], cache: Path, config: AuralConfig) -> tuple[dict, dict, dict, dict]:
    """``section_arrays`` of several labelled sets, concatenated (file ids are content hashes)."""
    parts = [section_arrays(folder, cache, config) for folder in folders]
    weak, strong = ({k: np.concatenate([p[i][k] for p in parts]) for k in parts[0][i]} for i in (0, 1))
    return weak, strong, {k: v for p in parts for k, v in p[2].items()}, {k: v for p in parts for k, v in p[3].items()}


def folds_of(file_ids: np.ndarray, k: int) -> dict[str, int]:
    ordered = sorted(set(file_ids.tolist()), key=lambda f: hashlib.sha256(f.encode()).hexdigest())
    return {f: i % k for i, f in enumerate(ordered)}


def cross_validate(weak: dict, strong: dict, truth: dict, halves: dict, *, folds: int, config: AuralConfig
                   ) -> dict:
    from aural_core.adapter import Adapter, AdapterConfig

    fold = folds_of(weak["file_id"], folds)
    per = {v: {"key": [], "acc1": [], "acc2": []} for v in VARIANTS}
    groups, seconds, decisions = [], [], []
    n_styles = len(load_style_table())
    for k in range(folds):
        test = np.array([fold[f] == k for f in weak["file_id"]])
        if not test.any():
            continue
        held = {name: a[test] for name, a in weak.items()}
        preds = {"teacher": {"key_full": held["y_key_full"], "bpm": held["y_bpm"]}}
        untrained = Adapter(AdapterConfig(n_styles=n_styles, key_profile=config.labels.key_profile,
                                          key_context_weight=config.labels.key_context_weight,
                                          key_dominant_margin=config.labels.key_dominant_margin))
        untrained.set_standardization({name: a[~test] for name, a in weak.items()})
        preds["untrained"] = untrained.predict(held)
        fit_all = config.train.model_copy(update={"head_labels": "all"})
        unchecked = config.train.model_copy(update={"head_check_folds": 0})
        for variant, arrays, train in (("weak", weak, config.train), ("weak_all", weak, fit_all),
                                       ("strong", strong, config.train), ("strong_unchecked", strong, unchecked)):
            start = time.perf_counter()
            result = train_adapter({name: a[~test] for name, a in arrays.items()}, n_styles=n_styles,
                                   config=train, labels=config.labels)
            if variant == "strong":
                seconds.append(time.perf_counter() - start)
                decisions.append({"fold": k, **result.split["key_tempo_heads"]})
            preds[variant] = result.model.predict(held)
        for i, fid in enumerate(held["file_id"]):
            bpm, key = truth[fid]
            groups.append(fid)
            for variant, p in preds.items():
                for metric, value in section_scores(key, bpm, int(p["key_full"][i]), float(p["bpm"][i])).items():
                    per[variant][metric].append(value)
    out = {"n_sections": len(groups), "n_files": len(set(groups)), "folds": folds,
           "train_seconds_per_fold": round(float(np.mean(seconds)), 2) if seconds else None,
           "strong_heads_per_fold": decisions,
           **summarise(per, groups)}
    # The weak labeller's settings were chosen on the "tune" half of the first set (score_labels.py):
    # on that half the teacher is flattered; the "test" half and a second set compare fairly
    # ("unseen": both together).
    out["halves"] = {}
    for half, members in (("tune", {"tune"}), ("test", {"test"}), ("second", {"second"}),
                          ("unseen", {"test", "second"})):
        rows = np.array([halves.get(g) in members for g in groups])
        if rows.any():
            out["halves"][half] = summarise({v: {m: list(np.array(x)[rows]) for m, x in by.items()}
                                             for v, by in per.items()}, list(np.array(groups)[rows]))
    return out


def section_scores(key: str | None, bpm: float, key_full: int, predicted_bpm: float) -> dict[str, float]:
    """One held-out section's MIREX key score and tempo Acc1 / Acc2 against its clip's truth; the
    key score is NaN where the clip has no known key (build.py's mode check): summaries leave it out."""
    tempo = tempo_agreement(bpm, predicted_bpm)
    return {"key": key_agreement(key, KEYS_FULL[key_full]) if key else np.nan,
            "acc1": float(tempo["acc1"]), "acc2": float(tempo["acc2"])}


def seed_spread(strong: dict, weak: dict, truth: dict, *, folds: int, config: AuralConfig, seeds: int) -> list[dict]:
    """The ``strong`` variant's mean gain over the teacher (key, tempo Acc1, Acc2; paired over the
    held-out sections, keys where known) under each training seed 0..seeds-1."""
    fold = folds_of(weak["file_id"], folds)
    n_styles = len(load_style_table())
    out = []
    for seed in range(seeds):
        train = config.train.model_copy(update={"seed": seed})
        gains = {"key": [], "acc1": [], "acc2": []}
        for k in range(folds):
            test = np.array([fold[f] == k for f in weak["file_id"]])
            if not test.any():
                continue
            model = train_adapter({name: a[~test] for name, a in strong.items()}, n_styles=n_styles, config=train,
                                  labels=config.labels).model
            pred = model.predict({name: a[test] for name, a in weak.items()})
            for i, fid in enumerate(weak["file_id"][test]):
                bpm, key = truth[fid]
                mine = section_scores(key, bpm, int(pred["key_full"][i]), float(pred["bpm"][i]))
                theirs = section_scores(key, bpm, int(weak["y_key_full"][test][i]), float(weak["y_bpm"][test][i]))
                for metric in gains:
                    gains[metric].append(mine[metric] - theirs[metric])
        out.append({"seed": seed, **{m: round(float(np.nanmean(v)), 3) for m, v in gains.items()}})
        print(f"seed {seed}: strong minus teacher " + " ".join(f"{m} {v:+.3f}" for m, v in out[-1].items()
                                                                if m != "seed"), flush=True)
    return out


def summarise(per: dict, groups: list[str]) -> dict:
    """Each variant's mean score per metric with its file-level 95 % interval, and each trained
    variant minus the teacher (paired over the same sections); a metric without truth for a
    section (NaN: no known key) leaves that section out."""
    groups = np.array(groups)
    known = {metric: np.isfinite(np.array(values, dtype=float)) for metric, values in per["teacher"].items()}
    out = {"n_sections": len(groups), "n_sections_with_key": int(known["key"].sum()), "scores": {},
           "minus_teacher": {}}
    for variant in VARIANTS:
        out["scores"][variant] = {}
        for metric, values in per[variant].items():
            mean, lo, hi = bootstrap_ci(np.array(values)[known[metric]], groups[known[metric]], seed=0)
            out["scores"][variant][metric] = {"mean": round(mean, 3), "ci": [round(lo, 3), round(hi, 3)]}
        if variant != "teacher":
            out["minus_teacher"][variant] = {}
            for metric in per[variant]:
                s = paired_summary(list(np.array(per[variant][metric])[known[metric]]),
                                   list(np.array(per["teacher"][metric])[known[metric]]),
                                   list(groups[known[metric]]), seed=0)
                out["minus_teacher"][variant][metric] = {"delta": round(s["delta"], 3),
                                                         "ci": [round(s["ci_low"], 3), round(s["ci_high"], 3)]}
    return out


def print_table(result: dict, title: str = "all") -> None:
    print(f"{title}: {result['n_sections']} held-out sections")
    print(f"{'':10}" + "".join(f"{m:>22}" for m in ("key", "acc1", "acc2")))
    for variant, scores in result["scores"].items():
        cells = "".join(f"{scores[m]['mean']:>8.3f} [{scores[m]['ci'][0]:.2f},{scores[m]['ci'][1]:.2f}]"
                        for m in ("key", "acc1", "acc2"))
        delta = result["minus_teacher"].get(variant)
        extra = ("  vs teacher " + " ".join(f"{delta[m]['delta']:+.3f}" for m in ("key", "acc1", "acc2"))
                 if delta else "")
        print(f"{variant:10}{cells}{extra}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", type=Path, action="append", default=None,
                    help="a labelled set's folder (default /tmp/realcomp); repeat it to join a second set")
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=1,
                    help="also train the strong variant under seeds 0..N-1 and report each seed's gains")
    ap.add_argument("--out", default="heads.json", help="results file name (benchmarks/results/)")
    ap.add_argument("--smoke", action="store_true", help="a tiny demo corpus, no result file (seconds)")
    args = ap.parse_args()
    config = AuralConfig()
    sets = args.set or [Path("/tmp/realcomp")]
    with tempfile.TemporaryDirectory(prefix="bench-heads-") as tmp:
        if args.smoke:
            from demo_corpus import write_corpus

            write_corpus(Path(tmp) / "demo", n_inputs=4, n_eval=0, seed=1)
            sets = [Path(tmp) / "demo" / "inputs"]
        cache = args.cache or Path(tmp) / "cache"
        for folder in sets:
            if not (CacheLayout(cache).manifest_for(folder)).is_file():
                analyse(folder, cache)
        weak, strong, truth, halves = joined_sets(sets, cache, config)
        folds = 2 if args.smoke else args.folds
        result = cross_validate(weak, strong, truth, halves, folds=folds, config=config)
        seeds = max(args.seeds, 2) if args.smoke else args.seeds  # the smoke run exercises the spread too
        if seeds > 1:
            result["strong_seeds"] = seed_spread(strong, weak, truth, folds=folds, config=config, seeds=seeds)
    result = {"set": " + ".join(map(str, sets)), "labels": "labels.csv (truth)", **result}
    print(f"{result['n_files']} files, {result['folds']} folds, {result['train_seconds_per_fold']} s training per fold")
    print_table(result)
    for half, block in result["halves"].items():
        print_table(block, f"{half} half")
    write_results(args.out, result, smoke=args.smoke)


if __name__ == "__main__":
    main()
