"""Check the independent estimators on real recordings: tempo hits, keys, timbre, cost.

Runs ``estimate_attributes`` on up to three evenly spaced 15 s excerpts of every recording of
``benchmarks/realmusic/fetch.sh`` (decoded at 22.05 kHz like the pipeline), on one core, and
writes ``benchmarks/results/agreement_check.json``:

- tempo against the tempo the Warzone 2100 album names in each file name (``..._125bpm``);
- keys found per excerpt and how often excerpts of one file agree (no key ground truth here);
- timbre similarity of excerpts of the same file vs of different files (it should tell them
  apart; note the standardisation was fitted on these recordings, without labels);
- CPU and wall seconds per 15 s excerpt, and the import time of essentia (fresh interpreters).

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python benchmarks/agreement_check.py \
        --tracks /tmp/realmusic/tracks --out benchmarks/results/agreement_check.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from provenance import SMOKE_HELP, tiny_tracks, write_results  # noqa: E402

from aural_core.agreement import (  # noqa: E402
    KEY_PROFILE,
    TEMPO_METHOD,
    estimate_attributes,
    key_agreement,
    tempo_agreement,
    timbre_similarity,
)
from aural_core.audio import AUDIO_EXTENSIONS, load_audio  # noqa: E402

SR = 22050
EXCERPT_S = 15.0
IMPORT_SNIPPET = ("import time; t = time.perf_counter(); import essentia; "
                  "essentia.log.infoActive = False; import essentia.standard; "
                  "print(time.perf_counter() - t)")


def import_seconds(repeats: int = 3) -> list[float]:
    out = []
    for _ in range(repeats):
        r = subprocess.run([sys.executable, "-c", IMPORT_SNIPPET], capture_output=True, text=True, check=True)
        out.append(round(float(r.stdout.strip().splitlines()[-1]), 3))
    return out


def named_bpm(name: str) -> float | None:
    m = re.search(r"_(\d+)bpm", name)
    return float(m.group(1)) if m else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracks", type=Path, default=Path("/tmp/realmusic/tracks"))
    ap.add_argument("--per-file", type=int, default=3)
    ap.add_argument("--out", default="agreement_check.json", help="results file name (benchmarks/results/)")
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    if args.smoke:
        import tempfile

        args.tracks, args.per_file = tiny_tracks(Path(tempfile.mkdtemp(prefix="agreement-smoke-")) / "tracks"), 1
    imports = import_seconds(1 if args.smoke else 3)
    t0 = time.perf_counter()
    estimate_attributes(np.zeros(SR, np.float32), sr=SR)  # imports essentia in this process
    first_call_s = time.perf_counter() - t0
    files = sorted(p for p in args.tracks.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
    rows, cpu, wall = [], [], []
    length = int(EXCERPT_S * SR)
    for path in files:
        y = load_audio(path, sr=SR)
        starts = [0] if len(y) <= length else [
            int(s) for s in np.linspace(0, len(y) - length, min(args.per_file, len(y) // length))]
        ref = named_bpm(path.name)
        for s in starts:
            x = y[s: s + length]
            c0, w0 = time.process_time(), time.perf_counter()
            est = estimate_attributes(x, sr=SR)
            c1, w1 = time.process_time() - c0, time.perf_counter() - w0
            if x.size == length:
                cpu.append(c1)
                wall.append(w1)
            row = {"file": str(path.relative_to(args.tracks)), "start_s": round(s / SR, 2),
                   "seconds": round(x.size / SR, 2), "bpm": round(est.bpm, 2),
                   "bpm_confidence": round(est.bpm_confidence, 3), "key": est.key,
                   "key_strength": round(est.key_strength, 3), "cpu_s": round(c1, 3),
                   "timbre": [round(float(v), 4) for v in est.timbre]}
            if ref is not None:
                row["named_bpm"] = ref
                row.update(tempo_agreement(ref, est.bpm))
                row["log2_error"] = round(row["log2_error"], 3)
            rows.append(row)
            print(row["file"], row["start_s"], row["bpm"], ref, row["key"], row["cpu_s"], flush=True)

    tempo_rows = [r for r in rows if "named_bpm" in r]
    by_file = {}
    for r in rows:
        by_file.setdefault(r["file"], []).append(r)
    key_pairs = [key_agreement(a["key"], b["key"]) == 1.0 for rs in by_file.values()
                 for a, b in itertools.combinations(rs, 2)]
    same, diff = [], []
    for a, b in itertools.combinations(rows, 2):
        if np.any(a["timbre"]) and np.any(b["timbre"]):
            sim = timbre_similarity(a["timbre"], b["timbre"])
            (same if a["file"] == b["file"] else diff).append(sim)
    # probability that a same-file pair is more similar than a different-file pair (AUC)
    diff_sorted = np.sort(diff)
    auc = None
    if same and diff:
        auc = float(np.mean([np.searchsorted(diff_sorted, v) / len(diff) for v in same]))
    summary = {
        "settings": {"tempo_method": TEMPO_METHOD, "key_profile": KEY_PROFILE, "decode_sr": SR,
                     "excerpt_s": EXCERPT_S},
        "n_files": len(files), "n_excerpts": len(rows),
        "cost": {"essentia_import_s": imports, "first_call_s_incl_import": round(first_call_s, 3),
                 "cpu_s_per_15s_median": round(statistics.median(cpu), 3),
                 "cpu_s_per_15s_max": round(max(cpu), 3),
                 "wall_s_per_15s_median": round(statistics.median(wall), 3),
                 "note": "one process, OMP_NUM_THREADS=1; includes soxr resampling to 44.1 kHz"},
        "tempo_vs_named": {
            "n_excerpts": len(tempo_rows),
            "acc1": round(float(np.mean([r["acc1"] for r in tempo_rows])), 3),
            "acc2": round(float(np.mean([r["acc2"] for r in tempo_rows])), 3),
            "median_log2_error": round(float(np.nanmedian([r["log2_error"] for r in tempo_rows])), 3),
        },
        "key": {"same_key_between_excerpts_of_a_file": round(float(np.mean(key_pairs)), 3),
                "n_pairs": len(key_pairs),
                "keys_found": {f: [r["key"] for r in rs] for f, rs in by_file.items()}},
        "timbre": {"mean_same_file": round(float(np.mean(same)), 3),
                   "mean_different_files": round(float(np.mean(diff)), 3),
                   "auc_same_vs_different": round(auc, 3) if auc is not None else None,
                   "note": "standardisation fitted on these recordings (unsupervised)"},
    }
    write_results(args.out, {"description": __doc__.splitlines()[0], "summary": summary, "excerpts": rows},
                  smoke=args.smoke)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
