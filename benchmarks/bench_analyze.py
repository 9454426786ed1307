"""Analysis benchmark -> benchmarks/results/analyze.json.

1. Extraction real-time factor with the ``dsp`` backend on the demo corpus, in one process
   after a warm-up, pinned to one core and one BLAS/numba thread (decode + resample + features).
2. The cold CLI run (``aural analyze`` on an empty cache, Prefect server start included).
3. The cached re-run's wall time as a fraction of the cold run's.
4. Peak RSS of each.
5. When real recordings are at hand (``benchmarks/realmusic/fetch.sh``, default
   /tmp/realmusic/tracks), the cold / cached CLI runs on them too: the demo corpus holds only
   13 minutes of audio, so there the fixed start-up of a CLI call dominates both runs.
Targets: >= 60x real time on one core; cached re-run <= 10 % of cold.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "analyze.json"
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                               "NUMBA_NUM_THREADS")}


def extraction_rtf(corpus: Path) -> dict:
    """Runs in a child process pinned to one core (see main)."""
    import soundfile as sf

    from aural_core.config import FeatureConfig
    from aural_core.embedders import build_embedder, build_tagger
    from aural_core.features import analyze_file

    cfg = FeatureConfig()
    emb, tag = build_embedder("dsp"), build_tagger("rules")
    files = sorted(p for p in corpus.iterdir() if p.suffix in (".wav", ".flac"))
    analyze_file(files[0], config=cfg, embedder=emb, tagger=tag)  # warm-up (numba compile)
    audio = sum(sf.info(str(p)).duration for p in files)
    start = time.perf_counter()
    for p in files:
        analyze_file(p, config=cfg, embedder=emb, tagger=tag)
    wall = time.perf_counter() - start
    return {"files": len(files), "audio_seconds": round(audio, 1), "wall_seconds": round(wall, 2),
            "realtime_factor": round(audio / wall, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def timed_cli(args: list[str], env: dict) -> tuple[float, float]:
    start = time.perf_counter()
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "aural"), *args], env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"aural {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return wall, rss


def start_server(env: dict, port: int = 4299) -> subprocess.Popen:
    """A real local Prefect server, as users run it for the UI (``prefect server start``)."""
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "prefect"), "server", "start", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import urllib.request

    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1)
            return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    sys.exit("prefect server did not start")


def cold_and_cached(args_for, env: dict, label: str) -> dict:
    cold, cold_rss = timed_cli(args_for(f"cache-{label}"), env)
    cached, _ = timed_cli(args_for(f"cache-{label}"), env)
    return {"cold_wall_seconds": round(cold, 2), "cached_wall_seconds": round(cached, 2),
            "cached_ratio_to_cold": round(cached / cold, 3), "peak_rss_mb": round(cold_rss, 1)}


def _duration(path: Path) -> float:
    import soundfile as sf

    try:
        return float(sf.info(str(path)).duration)
    except Exception:  # not audio (README, checksums)
        return 0.0


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(extraction_rtf(Path(sys.argv[2]))))
        return
    work = Path(tempfile.mkdtemp(prefix="aural-bench-"))
    env = {**os.environ, "PREFECT_HOME": str(work / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    subprocess.run([str(ROOT / ".venv" / "bin" / "aural"), "demo", "--out", str(work / "data")],
                   env=env, check=True, capture_output=True)
    child = subprocess.run(["taskset", "-c", "0", sys.executable, __file__, "--child",
                            str(work / "data" / "inputs")], env={**env, **ONE_THREAD},
                           check=True, capture_output=True, text=True)
    extraction = json.loads(child.stdout.strip().splitlines()[-1])

    def args_for(cache: str) -> list[str]:
        return ["analyze", "--in", str(work / "data" / "inputs"), "--out", str(work / cache), "--quiet"]

    # Each CLI call with no server configured starts a temporary one (a fixed few seconds).
    ephemeral = cold_and_cached(args_for, env, "ephemeral")
    server = start_server(env)
    served_env = {**env, "PREFECT_API_URL": "http://127.0.0.1:4299/api"}
    real_tracks = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/realmusic/tracks")
    try:
        served = cold_and_cached(args_for, served_env, "served")
        real = None
        if real_tracks.is_dir():
            real = cold_and_cached(lambda cache: ["analyze", "--in", str(real_tracks), "--out",
                                                  str(work / cache), "--quiet"], served_env, "real")
            real["audio_seconds"] = round(sum(_duration(p) for p in real_tracks.rglob("*")), 1)
            real["cold_realtime_factor"] = round(real["audio_seconds"] / real["cold_wall_seconds"], 1)
    finally:
        server.terminate()
    for run in (ephemeral, served):
        run["cold_realtime_factor"] = round(extraction["audio_seconds"] / run["cold_wall_seconds"], 1)
    result = {
        "machine": f"{os.cpu_count()} cores",
        "extraction_one_core": extraction,
        "cli_ephemeral_server": ephemeral,
        "cli_running_server": served,
        "cli_running_server_real_music": real,
        "targets": {"extraction_realtime_factor": 60, "cached_ratio_max": 0.10},
    }
    result["passed_demo"] = extraction["realtime_factor"] >= 60 and served["cached_ratio_to_cold"] <= 0.10
    result["passed_real_music"] = (bool(real) and extraction["realtime_factor"] >= 60
                                   and real["cached_ratio_to_cold"] <= 0.10)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
