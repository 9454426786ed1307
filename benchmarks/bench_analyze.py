"""Analysis speed -> benchmarks/results/analyze.json.

On the real-music set (``benchmarks/realmusic/fetch.sh``, default /tmp/realmusic/tracks; the
demo corpus when it is missing, and the result says so):

1. ``extraction_one_core``: ``analyze_file`` in one process pinned to one core with one
   BLAS/numba thread, after a warm-up file (decode + resample + every feature and label column),
   with the memory settings of the command's worker processes (runtime/memory.py).
2. ``cli_temporary_server``: cold ``aural analyze`` runs with default settings and no server
   running (the command starts its own), each a fresh process into a fresh cache; wall time,
   real-time factor of the median run, and the peak memory of the command's process tree (its
   workers and server included). The Prefect database exists beforehand, as ``make install``
   leaves it (its creation, ~8 s once per machine, is part of ``bench_first_run.py``'s figure).
3. ``cli_running_server``: the same against ``aural server start`` with default settings,
   alternating with the threads and the processes runner named (``runners``), then cached
   re-runs (target: at most 3 s + 30 ms per file).
4. ``breakdown``: where a cold run's time goes (benchmarks/profile_cli.py: phases of the command,
   per-file stages summed over files), default settings, temporary server.

Cold runs repeat (``--repeat``, 3 by default) because this shared machine's timings move by
±10 % from one run to the next; every run's figure is kept.

``--baseline DIR`` measures another checkout of the project (e.g. the commit before a change)
the same way right after this one, with this environment, into ``baseline``: the machine is
shared, so only figures of one run compare. Each CLI run records the load average before it.

Usage: .venv/bin/python benchmarks/bench_analyze.py [--tracks DIR] [--baseline DIR] [--repeat N]
       [--out analyze.json] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if "PYTHONPATH" not in os.environ:  # with it, the checkout being measured (see --code) comes first
    sys.path.insert(1, str(ROOT))

from provenance import SMOKE_HELP, tiny_corpus, write_results  # noqa: E402

ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}
TARGETS = {"extraction_realtime_factor": 130, "cli_temporary_server_realtime_factor": 150,
           "cli_running_server_realtime_factor": 170, "first_run_realtime_factor": 120,
           "cached_rerun_seconds": "3 + 0.03 per file", "peak_rss_mb": 2500}


def audio_seconds(folder: Path) -> float:
    import soundfile as sf

    from storage.manifest import list_inputs

    total = 0.0
    for item in list_inputs(folder):
        try:
            total += sf.info(str(item.path)).duration
        except Exception:  # noqa: BLE001 - Opus on an old libsndfile: ask the decoder
            from aural_core.audio import load_audio

            total += len(load_audio(item.path)) / 22050
    return total


def extraction_child(folder: str) -> None:
    """In a child pinned to one core: analyse every file after a warm-up; print JSON."""
    import resource

    from aural_core.config import FeatureConfig
    from aural_core.embedders import build_embedder, build_tagger
    from aural_core.features import analyze_file
    from storage.manifest import list_inputs

    cfg, emb, tag = FeatureConfig(), build_embedder("dsp"), build_tagger("rules")
    files = [item.path for item in list_inputs(Path(folder))]
    analyze_file(files[-1], config=cfg, embedder=emb, tagger=tag)  # imports, kernels
    start, cpu = time.perf_counter(), time.process_time()
    for path in files:
        analyze_file(path, config=cfg, embedder=emb, tagger=tag)
    print(json.dumps({"files": len(files), "wall_seconds": round(time.perf_counter() - start, 2),
                      "cpu_seconds": round(time.process_time() - cpu, 2),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


class TreeMemory:
    """Peak of the summed RSS of a process and all its descendants, sampled every 0.2 s."""

    def __init__(self, pid: int):
        import psutil

        self.root, self.peak, self._stop = psutil.Process(pid), 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
                total = 0
                for p in procs:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total)
            except psutil.Error:
                return
            self._stop.wait(0.2)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return round(self.peak / 2**20, 1)


def aural_module(code: Path) -> str:
    """The module ``aural`` runs in the checkout ``code``: ``cli.main``, or ``flows.cli`` in a
    checkout from before the cli/ package (a --baseline)."""
    return "cli.main" if (code / "cli" / "main.py").is_file() else "flows.cli"


def timed_cli(code: Path, args: list[str], env: dict, cwd: Path) -> dict:
    """``aural ARGS`` (``python -m`` its module in the checkout ``code``) as a fresh process."""
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", aural_module(code), *args], cwd=cwd,
                            env={**env, "PYTHONPATH": str(code)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    memory = TreeMemory(proc.pid)
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    peak = memory.stop()
    if proc.returncode != 0:
        sys.exit(f"aural {' '.join(args)} failed ({proc.returncode}):\n{out[-3000:]}\n{err[-3000:]}")
    return {"wall_seconds": round(wall, 2), "peak_rss_mb_process_tree": peak, "load_before": round(load, 2),
            "summary": (out + err).strip().splitlines()[-1]}


def code_identity(code: Path, env: dict) -> dict:
    """Commit and versions of the checkout ``code`` (imported in a child: not this one's)."""
    snippet = ("import json; from aural_core.features import extractor_fingerprint as f; "
               "from aural_core.sections import LABELS_VERSION as l; "
               "print(json.dumps({'extractor_version': f(), 'labels_version': l}))")
    child = subprocess.run([sys.executable, "-c", snippet], env={**env, "PYTHONPATH": str(code)}, cwd=code,
                           capture_output=True, text=True, check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=code, capture_output=True, text=True).stdout.strip()
    return {"code": str(code), "commit": commit, **json.loads(child.stdout.strip().splitlines()[-1])}


def worker_memory_env(code: Path, env: dict) -> dict:
    """The environment the checkout ``code`` gives its worker processes (runtime/memory.py);
    empty for a checkout from before it."""
    snippet = ("import json, os; before = dict(os.environ)\n"
               "try:\n from runtime.memory import tune_memory; tune_memory(workers_are_processes=True)\n"
               "except ImportError: pass\n"
               "print(json.dumps({k: v for k, v in os.environ.items() if before.get(k) != v}))")
    child = subprocess.run([sys.executable, "-c", snippet], env={**env, "PYTHONPATH": str(code)}, cwd=code,
                           capture_output=True, text=True, check=True)
    return json.loads(child.stdout.strip().splitlines()[-1])


def median_run(runs: list[dict], audio: float) -> dict:
    """The run of median wall time among ``runs`` (every run's wall time kept beside it)."""
    ordered = sorted(runs, key=lambda r: r["wall_seconds"])
    middle = dict(ordered[len(ordered) // 2])
    middle["realtime_factor"] = round(audio / middle["wall_seconds"], 1)
    middle["runs_wall_seconds"] = [r["wall_seconds"] for r in runs]
    middle["peak_rss_mb_process_tree"] = max(r["peak_rss_mb_process_tree"] for r in runs)
    return middle


def measure(code: Path, folder: Path, audio: float, env: dict, work: Path, smoke: bool, repeat: int) -> dict:
    """Every figure of the module docstring for the checkout ``code``."""
    child = subprocess.run(["taskset", "-c", "0", sys.executable, __file__, "--extraction-child", str(folder)],
                           env={**env, **ONE_THREAD, **worker_memory_env(code, env), "PYTHONPATH": str(code)},
                           capture_output=True, text=True)
    if child.returncode != 0:
        sys.exit(f"extraction child failed:\n{child.stderr[-3000:]}")
    extraction = json.loads(child.stdout.strip().splitlines()[-1])
    extraction["realtime_factor"] = round(audio / extraction["wall_seconds"], 1)
    work.mkdir(parents=True, exist_ok=True)
    caches: list[Path] = []

    def analyze(*extra: str) -> list[str]:
        caches.append(work / f"cache-{len(caches)}")  # a fresh one: a cold run
        return ["analyze", "--in", str(folder), "--out", str(caches[-1]), "--quiet", *extra]

    temporary = median_run([timed_cli(code, analyze(), env, work) for _ in range(repeat)], audio)
    own_server = "PREFECT_API_URL" not in env
    if own_server:
        from runtime.local_server import free_port

        subprocess.run([sys.executable, "-m", aural_module(code), "server", "start", "--port", str(free_port())],
                       cwd=work, env={**env, "PYTHONPATH": str(code)}, check=True, capture_output=True)
    try:
        by_runner: dict[str, list[dict]] = {"default": [], "threads": [], "processes": []}
        for _ in range(repeat):  # alternating: a slow spell of the machine hits each
            for runner, results in by_runner.items():
                flag = () if runner == "default" else ("--task-runner", runner)
                results.append(timed_cli(code, analyze(*flag), env, work))
        runners = {runner: median_run(results, audio) for runner, results in by_runner.items()}
        running = dict(runners.pop("default"))
        running["runners"] = {k: {"median_wall_seconds": v["wall_seconds"], "realtime_factor": v["realtime_factor"],
                                  "runs_wall_seconds": v["runs_wall_seconds"]} for k, v in runners.items()}
        time.sleep(0 if smoke else 20)  # the server's recording of the cold runs settles
        cached = ["analyze", "--in", str(folder), "--out", str(caches[-1]), "--quiet"]  # the last cold run's
        reruns = [timed_cli(code, cached, env, work) for _ in range(1 if smoke else 3)]
        running["cached_rerun_seconds"] = sorted(r["wall_seconds"] for r in reruns)
    finally:
        if own_server:
            subprocess.run([sys.executable, "-m", aural_module(code), "server", "stop"], cwd=work,
                           env={**env, "PYTHONPATH": str(code)}, capture_output=True)
    profile = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "profile_cli.py"), str(folder),
                              str(work / "cache-profile")], cwd=work, env={**env, "PYTHONPATH": str(code)},
                             capture_output=True, text=True)
    if profile.returncode != 0:
        sys.exit(f"profile_cli failed:\n{profile.stderr[-3000:]}")
    breakdown = json.loads(profile.stdout[profile.stdout.index("{\n"):])
    return {"extraction_one_core": extraction, "cli_temporary_server": temporary, "cli_running_server": running,
            "breakdown": breakdown}


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--extraction-child":
        extraction_child(sys.argv[2])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracks", type=Path, default=Path("/tmp/realmusic/tracks"))
    ap.add_argument("--baseline", type=Path, default=None,
                    help="another checkout measured right after this one (e.g. the commit before a change)")
    ap.add_argument("--out", default="analyze.json")
    ap.add_argument("--repeat", type=int, default=3, help="cold runs per setting (the median is quoted)")
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    repeat = 1 if args.smoke else args.repeat
    work = Path(tempfile.mkdtemp(prefix="aural-bench-analyze-"))
    if args.smoke or not args.tracks.is_dir():
        folder = tiny_corpus(work / "demo", n_inputs=2, n_eval=0) / "inputs"
        corpus = "demo corpus (smoke)" if args.smoke else f"demo corpus ({args.tracks} missing)"
    else:
        folder, corpus = args.tracks, f"real-music set ({args.tracks})"
    audio = audio_seconds(folder)
    # A smoke run may be handed a server (PREFECT_API_URL); a measurement never is.
    env = {k: v for k, v in os.environ.items() if args.smoke or k != "PREFECT_API_URL"}
    env.update(PREFECT_HOME=str(work / "prefect-home"), PREFECT_SERVER_ANALYTICS_ENABLED="false", COLUMNS="200")
    # The database ``make install`` creates (Makefile): a user's cold run finds it there.
    subprocess.run([sys.executable, "-m", "prefect", "server", "database", "upgrade", "-y"], env=env,
                   check=True, capture_output=True)
    this = measure(ROOT, folder, audio, env, work / "this", args.smoke, repeat)
    n_files = int(this["cli_temporary_server"]["summary"].split("computed ")[1].split(" ")[0])
    temporary, running, extraction = this["cli_temporary_server"], this["cli_running_server"], \
        this["extraction_one_core"]
    result = {
        "corpus": corpus, "files": n_files, "audio_seconds": round(audio, 1), **this, "targets": TARGETS,
        "passed": {
            "extraction": extraction["realtime_factor"] >= TARGETS["extraction_realtime_factor"],
            "cli_temporary_server": temporary["realtime_factor"] >= TARGETS["cli_temporary_server_realtime_factor"],
            "cli_running_server": running["realtime_factor"] >= TARGETS["cli_running_server_realtime_factor"],
            "cached_rerun": min(running["cached_rerun_seconds"]) <= 3 + 0.03 * n_files,
            "peak_rss": max(temporary["peak_rss_mb_process_tree"],
                            running["peak_rss_mb_process_tree"]) <= TARGETS["peak_rss_mb"]},
    }
    if args.baseline:
        result["baseline"] = {**code_identity(args.baseline.resolve(), env),
                              **measure(args.baseline.resolve(), folder, audio, env, work / "baseline", args.smoke,
                                        repeat)}
    path = write_results(args.out, result, smoke=args.smoke)
    print(json.dumps(result, indent=2))
    print(f"written: {path}")


if __name__ == "__main__":
    main()
