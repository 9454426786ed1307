"""Evaluation benchmark -> benchmarks/results/eval.json.

1. ``aural run`` on the demo corpus from an empty folder (offline backends): wall time,
   match_delta, tempo_corr (targets: >= 0.1 and >= 0.3; whole run under 3 minutes on 2 cores).
2. Render speed of the synth renderer (15 s segments per second, one process).
3. The same pipeline on real recorded music fetched from package registries
   (``benchmarks/realmusic/fetch.sh``): 20 tracks train, 6 held out.

Usage: .venv/bin/python benchmarks/bench_eval.py [REAL_TRACKS_DIR]
(REAL_TRACKS_DIR defaults to /tmp/realmusic/tracks; fetched there when missing, needs root.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "eval.json"
AURAL = str(ROOT / ".venv" / "bin" / "aural")
# Held-out real tracks: one of each kind (documented tempo, live band, orchestra, drum loop, jazz, voice).
REAL_EVAL = ("wz2100_legacy_track11_awakened_100bpm.opus", "gcompris_america_rocknroll.ogg",
             "gcompris_beethoven_sym9_mvt2.ogg", "sonicpi_loop_tabla.flac",
             "librosa072_kevin_macleod_vibe_ace.ogg", "gcompris_mexico_mariachi_himno.ogg")


def run_pipeline(data: Path, work: Path, env: dict) -> dict:
    start = time.perf_counter()
    proc = subprocess.run([AURAL, "run", "--data", str(data), "--models", str(work / "models"),
                           "--reports", str(work / "reports"), "--quiet"], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"aural run failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    report = json.loads((work / "reports" / "eval.json").read_text())
    keys = ("match_score", "baseline_match_score", "match_delta", "tempo_corr", "bpm_mae", "agreement",
            "n_sections", "n_files", "passed")
    return {"aural_run_wall_seconds": round(wall, 1), **{k: report[k] for k in keys}}


def render_speed(n: int = 12, seconds: float = 15.0) -> dict:
    from aural_core.controls import Controls
    from aural_core.render import SynthRenderer
    from aural_core.styles import load_style_table

    styles, renderer = load_style_table(), SynthRenderer()
    controls = [Controls(emotion=styles[i % len(styles)].emotion, bpm=70 + 7 * i, key="D minor",
                         style_id=i % len(styles), style_prompt="") for i in range(n)]
    renderer.render(controls[0], seconds=seconds, seed=0)  # warm-up
    start = time.perf_counter()
    for i, c in enumerate(controls):
        renderer.render(c, seconds=seconds, seed=i)
    wall = time.perf_counter() - start
    return {"segment_seconds": seconds, "renders_per_second": round(n / wall, 2),
            "audio_realtime_factor": round(n * seconds / wall, 1)}


def real_corpus(tracks: Path, data: Path) -> dict:
    """Copy real tracks into data/inputs and data/eval (REAL_EVAL held out)."""
    if not tracks.is_dir():
        subprocess.run(["bash", str(ROOT / "benchmarks" / "realmusic" / "fetch.sh"), str(tracks)], check=True)
    from aural_core.audio import AUDIO_EXTENSIONS

    files = sorted(p for p in tracks.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
    for p in files:
        split = "eval" if p.name in REAL_EVAL else "inputs"
        (data / split).mkdir(parents=True, exist_ok=True)
        shutil.copy(p, data / split / p.name)
    return {"tracks": len(files), "eval_tracks": sorted(REAL_EVAL), "source": "benchmarks/realmusic/fetch.sh"}


def main() -> None:
    tracks = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/realmusic/tracks")
    work = Path(tempfile.mkdtemp(prefix="aural-bench-eval-"))
    env = {**os.environ, "PREFECT_HOME": str(work / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    result = {"machine": f"{os.cpu_count()} cores", "renderer": "synth", "embedder": "dsp"}
    result["demo"] = run_pipeline(work / "demo" / "data", work / "demo", env)
    result["render_speed"] = render_speed()
    real = work / "real"
    result["real_music"] = {**real_corpus(tracks, real / "data"), **run_pipeline(real / "data", real, env)}
    result["targets"] = {"match_delta_min": 0.1, "tempo_corr_min": 0.3, "aural_run_max_seconds": 180}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"reports kept in {work}")


if __name__ == "__main__":
    main()
