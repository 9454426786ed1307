"""Choose the independent estimators' settings on the labelled real-composition set.

Not on the evaluation: the set is ``benchmarks/realcomp`` (music21 scores rendered with
FluidSynth, known tempo and key; build it with ``benchmarks/realcomp/build.py``). Each clip gives
two 15 s excerpts (0-15 s and 15-30 s, the eval's render length). For every excerpt this runs
``RhythmExtractor2013`` with both methods and ``KeyExtractor`` with several profiles, and reports
Acc1 / Acc2, the MIREX weighted key score and CPU seconds, on the set's "tune" and "test" halves
(split by the SHA-256 of the file name, as ``score_labels.py`` does).

    PYTHONPATH=$PWD python benchmarks/agreement_settings.py --set /tmp/realcomp \
        --out benchmarks/results/agreement_settings.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from provenance import SMOKE_HELP, tiny_labelled_set, write_results  # noqa: E402

from aural_core.agreement.estimate import ESSENTIA_SR, _key, _tempo, essentia_standard  # noqa: E402
from aural_core.agreement.scores import key_agreement, tempo_agreement  # noqa: E402
from aural_core.audio import load_audio  # noqa: E402

METHODS = ("degara", "multifeature")
PROFILES = ("temperley", "krumhansl", "edma", "bgate", "shaath", "diatonic")
EXCERPTS = ((0.0, 15.0), (15.0, 30.0))


def split_of(name: str) -> str:
    return "tune" if int(hashlib.sha256(name.encode()).hexdigest(), 16) % 2 == 0 else "test"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", type=Path, default=Path("/tmp/realcomp"))
    ap.add_argument("--out", default="agreement_settings.json", help="results file name (benchmarks/results/)")
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    if args.smoke:
        import tempfile

        args.set = tiny_labelled_set(Path(tempfile.mkdtemp(prefix="agreement-settings-smoke-")) / "set")
    es = essentia_standard()
    truth = json.loads((args.set / "truth.json").read_text())["clips"]
    rows = []
    for name, t in sorted(truth.items()):
        y = load_audio(args.set / name, sr=ESSENTIA_SR)
        for a, b in EXCERPTS:
            x = y[int(a * ESSENTIA_SR): int(b * ESSENTIA_SR)]
            if x.size < 10 * ESSENTIA_SR:
                continue
            row = {"file": name, "start_s": a, "split": split_of(name), "drums": t["drums"],
                   "bpm_true": t["bpm"], "key_true": t["key"], "tempo": {}, "key": {}}
            for m in METHODS:
                c0 = time.process_time()
                bpm, conf = _tempo(es, x, method=m)
                agree = tempo_agreement(t["bpm"], bpm)
                row["tempo"][m] = {"bpm": bpm, "confidence": conf, "cpu_s": time.process_time() - c0,
                                   "acc1": agree["acc1"], "acc2": agree["acc2"]}
            for p in PROFILES:
                c0 = time.process_time()
                key, strength = _key(es, x, profile=p)
                row["key"][p] = {"key": key, "strength": strength, "cpu_s": time.process_time() - c0,
                                 "weighted": key_agreement(t["key"], key) if t["key"] else None}
            rows.append(row)
            print(name, a, {m: round(v["bpm"], 1) for m, v in row["tempo"].items()}, t["bpm"],
                  {p: v["key"] for p, v in row["key"].items() if p in ("temperley", "edma")}, t["key"],
                  flush=True)

    def mean(vals):
        return round(float(np.mean(vals)), 3) if vals else None

    summary = {"tempo": {}, "key": {}}
    for s in ("tune", "test", "all"):
        sel = [r for r in rows if s == "all" or r["split"] == s]
        summary["tempo"][s] = {m: {k: mean([r["tempo"][m][k] for r in sel])
                                   for k in ("acc1", "acc2", "cpu_s")} for m in METHODS}
        for sub, cond in (("drums", True), ("no_drums", False)):
            part = [r for r in sel if r["drums"] == cond]
            summary["tempo"][f"{s}_{sub}"] = {m: {k: mean([r["tempo"][m][k] for r in part])
                                                  for k in ("acc1", "acc2")} for m in METHODS}
        summary["key"][s] = {p: {k: mean([r["key"][p][k] for r in sel if r["key"][p][k] is not None])
                                 for k in ("weighted", "cpu_s")}
                             for p in PROFILES}
    summary["n_excerpts"] = {s: sum(r["split"] == s for r in rows) for s in ("tune", "test")}
    summary["chosen_on"] = "tune"
    summary["best_key_profile_tune"] = max(PROFILES, key=lambda p: summary["key"]["tune"][p]["weighted"])
    write_results(args.out, {"description": __doc__.splitlines()[0], "set": str(args.set), "summary": summary,
                             "excerpts": rows}, smoke=args.smoke)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
