"""Helpers of the process-level fault tests: synthetic WAVs, ``aural`` as a subprocess, the
per-file statuses of its summary table, and a frames folder as {name: bytes}."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
SR = 22050


def write_clips(folder: Path, n: int = 8, *, first: int = 0, seconds: float | None = None) -> Path:
    """``n`` deterministic 4-6 s clips (plucked tones on a beat; ``seconds`` long each when
    given): enough for frames and labels; ``first`` numbers them from there (other tones and
    tempos: held-out music)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(first, first + n):
        t = np.arange(int((seconds or 4.0 + i % 3) * SR)) / SR
        beat = np.exp(-((t % (60 / (90 + 5 * i))) * 12.0))
        sf.write(folder / f"clip{i}.wav", (0.3 * beat * np.sin(2 * np.pi * (200 + 30 * i) * t)).astype(np.float32), SR)
    return folder


def cli_env(server) -> dict:
    """The environment of an ``aural`` subprocess talking to ``server`` (tests/prefect_server)."""
    return {**server.env, "PYTHONPATH": str(ROOT), "COLUMNS": "200", "PREFECT_LOGGING_LEVEL": "WARNING"}


def aural_args(*args: str) -> list[str]:
    quiet = ["--quiet"] if args[0] != "models" else []  # `aural models` draws no progress
    return [sys.executable, "-m", "cli.main", *args, *quiet]


def aural(server, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(aural_args(*args), env=cli_env(server), cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def start(server, *args: str) -> subprocess.Popen:
    return subprocess.Popen(aural_args(*args), env=cli_env(server), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def statuses(stdout: str) -> dict[str, str]:
    """{file: status} from the per-file summary table ``aural analyze`` prints (on stderr)."""
    rows = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) >= 4 and cells[2] in ("computed", "cached", "failed"):
            rows[cells[1]] = cells[2]
    return rows


def frames_bytes(cache: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((cache / "frames").glob("*.parquet"))}


def wait_for(predicate, timeout: float, step: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def kill9(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, 9)
    proc.communicate(timeout=30)
