"""`make gpu-check`: the real model backends on this machine, or why not -> benchmarks/results/backends.json.

With CUDA and both real checkpoints present (facebook/musicgen-small and
laion/larger_clap_music in the local Hugging Face cache, or directories given with --musicgen
and --clap) it runs the real-backend smoke test (tests/core/test_real_backends.py) on them and
times one 15 s musicgen-small render (and a batch of four) and CLAP embedding in frames per
second, on the GPU: ``mode = "real-gpu"``. Wall times are taken with the device synchronised;
``*_cpu_s`` is the process's CPU time over the same span (on a shared CPU, the wall time also
counts the time other jobs held the cores: ``load_average`` says how busy it was).

Otherwise it says in one paragraph what is missing and how to provide it, and:

- with CUDA but without the weights, runs the smoke test on the GPU with the tiny random
  checkpoints the tests build (tests/tiny_models.py), and times the same renders and
  embeddings on the GPU with random-weight checkpoints of the real models' sizes
  (benchmarks/full_size_models.py): ``mode = "full-size-random-gpu"``. The compute of a
  generate call does not depend on the weights' values, so these are the models' costs; the
  audio they make is noise;
- without CUDA, records the costs of the same code path (from_pretrained, generate, decode,
  stem split; CLAP feature extraction and audio tower) on the CPU with the tiny checkpoints:
  ``mode = "tiny-cpu"``, figures of the code path, not of the models (``--full-size-random``
  times the full-size random models on the CPU instead: ``full-size-random-cpu``).

Nothing is downloaded.

Usage: .venv/bin/python benchmarks/gpu_check.py [--musicgen DIR|ID] [--clap DIR|ID] [--seconds 15]
       [--full-size-random] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SMOKE_TEST = "tests/core/test_real_backends.py"
SR = 22050
CLAP_AUDIO_SECONDS = 60.0  # 30 frames of 2 s


def locate(name: str) -> str | None:
    """A local checkpoint directory for ``name`` (a directory, or a hub id in the local HF
    cache), without downloading; None when absent."""
    if Path(name).is_dir():
        return str(Path(name).resolve()) if (Path(name) / "config.json").is_file() else None
    try:
        from huggingface_hub import snapshot_download

        path = Path(snapshot_download(name, local_files_only=True))
    except Exception:  # not cached, or not a valid id
        return None
    return str(path) if (path / "config.json").is_file() else None


def why_not(cuda: bool, missing: list[str], full_size: bool = False) -> str:
    """The one paragraph a user reads when the real check cannot run."""
    gaps = []
    if not cuda:
        import torch

        gaps.append(f"torch {torch.__version__} sees no CUDA GPU")
    if missing:
        gaps.append(" and ".join(missing) + (" is" if len(missing) == 1 else " are")
                    + " not in the local Hugging Face cache (or the directory given holds no checkpoint)")
    downloads = " and ".join(f"`hf download {m}`" for m in missing) or "nothing more"
    return (f"GPU check: real-backend figures cannot be taken here because {'; '.join(gaps)}. "
            f"To take them, use a machine with an NVIDIA GPU and a CUDA build of torch (see the GPU worker "
            f"in the README), fetch the weights on a connected machine with {downloads} (models are never "
            "downloaded at run time) and copy that Hugging Face cache over (or point HF_HOME at it, or pass "
            "checkpoint directories with --musicgen DIR --clap DIR), then run `make gpu-check` again. "
            + ("Recorded instead: the smoke test on the GPU with the tiny random test checkpoints, and the "
               "GPU cost of random-weight models of the real sizes (mode full-size-random-gpu): the models' "
               "compute, not their music." if cuda else
               "Recorded instead: the CPU cost of random-weight models of the real sizes "
               "(mode full-size-random-cpu): the models' compute, not their music." if full_size else
               "Recorded instead: the CPU cost of the same code path with the tiny random test checkpoints "
               "(mode tiny-cpu), which says nothing about the real models' speed."))


def smoke_test(musicgen: str, clap: str, device: str) -> dict:
    """Run the smoke test on these checkpoints in a child pytest; its verdict and last line."""
    env = {**os.environ, "AURAL_SMOKE_MUSICGEN": musicgen, "AURAL_SMOKE_CLAP": clap, "AURAL_SMOKE_DEVICE": device}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", SMOKE_TEST],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return {"test": SMOKE_TEST, "passed": done.returncode == 0, "summary": lines[-1] if lines else done.stderr[-300:]}


def _sync(device) -> None:
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def _millions(model) -> float:
    return round(sum(p.numel() for p in model.parameters()) / 1e6, 1)


def time_musicgen(model: str, device: str, seconds: float) -> dict:
    """Load time, one ``seconds`` render (after a 1 s warm-up) and a batch of four."""
    from aural_core.controls import Controls
    from aural_core.render import build_renderer

    started = time.perf_counter()
    renderer = build_renderer("musicgen", model=model, device=device)
    load_s = time.perf_counter() - started
    controls = Controls("bright", 120.0, "C major", 1, "upbeat happy pop with bright synths")
    renderer.render(controls, seconds=1.0, seed=0)
    _sync(renderer.device)
    started, cpu = time.perf_counter(), time.process_time()
    renderer.render(controls, seconds=seconds, seed=0)
    _sync(renderer.device)
    one, cpu = time.perf_counter() - started, time.process_time() - cpu
    started = time.perf_counter()
    renderer.render_batch([controls] * 4, seconds=seconds, seeds=[0, 1, 2, 3])
    _sync(renderer.device)
    batch = time.perf_counter() - started
    return {"parameters_m": _millions(renderer.model), "seconds_rendered": seconds, "load_s": round(load_s, 2),
            "render_s": round(one, 2),
            "render_cpu_s": round(cpu, 2), "x_realtime": round(seconds / one, 3), "batch4_render_s": round(batch, 2),
            "batch4_s_per_section": round(batch / 4, 2)}


def time_clap(model: str, device: str) -> dict:
    """CLAP audio embedding of 2 s frames of a minute of audio (after a warm-up)."""
    import numpy as np

    from aural_core.audio import frame_bounds
    from aural_core.embedders import build_embedder
    from aural_core.spectral import SpectralAnalysis

    rng = np.random.default_rng(0)
    t = np.arange(int(CLAP_AUDIO_SECONDS * SR)) / SR
    y = (0.2 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(len(t))).astype(np.float32)
    bounds = frame_bounds(len(y), sr=SR)
    embedder = build_embedder("clap", model=model, device=device)
    embedder.embed_frames(SpectralAnalysis(y[: 4 * SR], sr=SR), bounds[:2])
    analysis = SpectralAnalysis(y, sr=SR)  # fresh: embeddings are memoised per analysis
    _sync(embedder.device)
    started, cpu = time.perf_counter(), time.process_time()
    embedder.embed_frames(analysis, bounds)
    _sync(embedder.device)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"parameters_m": _millions(embedder.model), "frames": len(bounds), "frame_seconds": 2.0,
            "embed_s": round(wall, 3), "embed_cpu_s": round(cpu, 3),
            "frames_per_s": round(len(bounds) / wall, 2), "batch_size": embedder.batch_size}


def full_size_checkpoints(tmp: Path, result: dict) -> dict:
    """Random-weight checkpoints of the real sizes, saved under ``tmp``; noted in ``result``."""
    from benchmarks.full_size_models import make_random_larger_clap, make_random_musicgen_small

    started = time.perf_counter()
    models = {"musicgen": str(make_random_musicgen_small(tmp / "musicgen-small-random")),
              "clap": str(make_random_larger_clap(tmp / "larger-clap-random"))}
    result["timed_checkpoints"] = {
        "musicgen": "musicgen-small architecture, random weights (benchmarks/full_size_models.py)",
        "clap": "larger_clap_music architecture, random weights (benchmarks/full_size_models.py)",
        "build_s": round(time.perf_counter() - started, 1)}
    print(f"built random-weight full-size checkpoints in {result['timed_checkpoints']['build_s']} s", flush=True)
    return models


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--musicgen", default="facebook/musicgen-small", help="hub id in the local cache or directory")
    parser.add_argument("--clap", default="laion/larger_clap_music", help="hub id in the local cache or directory")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of the timed render (default: 15)")
    parser.add_argument("--full-size-random", action="store_true",
                        help="time random-weight models of the real sizes even without CUDA")
    parser.add_argument("--out", default="backends.json", help="results file name (benchmarks/results/)")
    parser.add_argument("--smoke", action="store_true", help="a 1 s render; results under $AURAL_BENCH_RESULTS")
    args = parser.parse_args(argv)
    if args.smoke:
        args.seconds = 1.0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    import transformers

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from provenance import write_results

    cuda = torch.cuda.is_available()
    found = {"musicgen": locate(args.musicgen), "clap": locate(args.clap)}
    missing = [name for key, name in (("musicgen", args.musicgen), ("clap", args.clap)) if found[key] is None]
    full_size = bool(missing) and (cuda or args.full_size_random)
    mode = ("real-gpu" if cuda and not missing else
            f"full-size-random-{'gpu' if cuda else 'cpu'}" if full_size else "tiny-cpu")
    result = {"mode": mode,
              "torch": torch.__version__, "transformers": transformers.__version__,
              "python": platform.python_version(), "machine": platform.machine(),
              "cpu_threads": torch.get_num_threads(), "load_average": [round(v, 2) for v in os.getloadavg()]}
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        if result["mode"] == "real-gpu":
            device = "cuda"
            result.update(device=torch.cuda.get_device_name(0), why=None,
                          checkpoints={"musicgen": args.musicgen, "clap": args.clap})
            models = found
        else:
            from tests.tiny_models import make_tiny_clap, make_tiny_musicgen

            device = "cuda" if cuda else "cpu"
            tiny = "tiny random (tests/tiny_models.py)"
            result.update(why=why_not(cuda, missing, full_size),
                          device=torch.cuda.get_device_name(0) if cuda else "cpu",
                          checkpoints={"musicgen": tiny, "clap": tiny}, missing=missing)
            print(result["why"], flush=True)
            models = {"musicgen": str(make_tiny_musicgen(Path(tmp) / "musicgen")),
                      "clap": str(make_tiny_clap(Path(tmp) / "clap"))}
        result["smoke_test"] = smoke_test(models["musicgen"], models["clap"], device)
        print(f"smoke test ({result['mode']}, {result['checkpoints']['musicgen']}): "
              f"{result['smoke_test']['summary']}", flush=True)
        if full_size:
            models = full_size_checkpoints(Path(tmp), result)
        result["musicgen"] = time_musicgen(models["musicgen"], device, args.seconds)
        result["clap"] = time_clap(models["clap"], device)
    out = write_results(args.out, result, smoke=args.smoke)
    print(f"musicgen: {args.seconds:g} s rendered in {result['musicgen']['render_s']} s "
          f"({result['musicgen']['x_realtime']}x real time); clap: {result['clap']['frames_per_s']} frames/s "
          f"-> {out} (mode {result['mode']})")
    return 0 if result["smoke_test"]["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
