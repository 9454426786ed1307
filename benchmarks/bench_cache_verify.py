"""Cost of verifying cache entries on the cached path -> benchmarks/results/cache_verify.json.

30 synthetic 60 s WAVs are analysed once; then the cached ``analyze`` flow is timed with the
checksum verification of ``tasks.common.submit_cached`` and with it replaced by the old
existence check (interleaved, order alternating, 4 runs each; on a shared machine the whole-run
times are noisy), the time spent inside the verification during the verified runs is summed,
and ``storage.integrity.problem`` is timed per frames file directly. Runs in-process against a
temporary Prefect server.

Usage: .venv/bin/python benchmarks/bench_cache_verify.py
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
from provenance import write_results  # noqa: E402

N_FILES, SECONDS, SR = 30, 60.0, 22050


def main() -> None:
    global N_FILES, SECONDS
    smoke = "--smoke" in sys.argv[1:]  # tiny input, results under $AURAL_BENCH_RESULTS
    repeats = 1 if smoke else 4
    if smoke:
        N_FILES, SECONDS = 2, 5.0
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="bench-verify-"))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    import numpy as np
    import soundfile as sf
    from prefect.testing.utilities import prefect_test_harness

    import tasks.common
    from flows.analyze import analyze_flow
    from storage.integrity import problem

    work = Path(tempfile.mkdtemp(prefix="bench-verify-data-"))
    inputs, cache = work / "inputs", work / "cache"
    inputs.mkdir()
    t = np.arange(int(SECONDS * SR)) / SR
    for i in range(N_FILES):
        beat = np.exp(-((t % (60 / (90 + 2 * i))) * 12.0))
        sf.write(inputs / f"f{i:02d}.wav", (0.3 * beat * np.sin(2 * np.pi * (200 + 7 * i) * t)).astype(np.float32), SR)

    def run() -> float:
        start = time.perf_counter()
        result = analyze_flow(input_dir=str(inputs), cache_dir=str(cache), show_progress=False)
        assert len(result["cached"]) == N_FILES or len(result["computed"]) == N_FILES, result
        return time.perf_counter() - start

    spent = []

    def verified(path):
        start = time.perf_counter()
        try:
            return problem(path)
        finally:
            spent.append(time.perf_counter() - start)

    existence_only = lambda p: None if Path(p).is_file() else "missing"  # noqa: E731 (the old check)
    checks = [("existence_only", existence_only), ("verified", verified)]
    # A given server (PREFECT_API_URL, e.g. the smoke test's) or a temporary one of its own.
    harness = contextlib.nullcontext() if os.environ.get("PREFECT_API_URL") else \
        prefect_test_harness(server_startup_timeout=120)
    with harness:
        cold = run()
        timings = {"verified": [], "existence_only": []}
        for i in range(repeats):
            for name, check in (checks if i % 2 == 0 else checks[::-1]):
                tasks.common.problem = check
                timings[name].append(run())
        tasks.common.problem = problem
    frames = sorted((cache / "frames").glob("*.parquet"))
    start = time.perf_counter()
    for _ in range(10):
        assert all(problem(p) is None for p in frames)
    per_file_ms = (time.perf_counter() - start) / (10 * len(frames)) * 1000
    size_kb = sum(p.stat().st_size for p in frames) / len(frames) / 1024
    best = {k: min(v) for k, v in timings.items()}
    result = {
        "machine": f"{os.cpu_count()} cores (shared)", "files": N_FILES, "seconds_per_file": SECONDS,
        "frames_file_kb": round(size_kb, 1), "cold_analyze_s": round(cold, 2),
        "cached_analyze_s": {k: [round(x, 2) for x in v] for k, v in timings.items()},
        "cached_best_s": {k: round(v, 2) for k, v in best.items()},
        "verify_ms_per_file_in_flow": round(sum(spent) / len(spent) * 1000, 3),
        "cached_best_difference_ms_per_file": round((best["verified"] - best["existence_only"]) / N_FILES * 1000, 1),
        "verify_ms_per_file_direct": round(per_file_ms, 3),
        "verify_ms_per_mb": round(per_file_ms / (size_kb / 1024), 3),
    }
    write_results("cache_verify.json", result, smoke=smoke)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
