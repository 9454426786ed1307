"""runtime/memory.py: the analysing processes ask for no huge pages, worker processes keep freed
memory, and a user's own settings win."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from runtime import memory
from runtime.runners import make_runner


@pytest.fixture
def clean_env(monkeypatch):
    for name in (memory.HUGEPAGE_ENV, memory.TUNABLES_ENV):
        monkeypatch.setenv(name, "")  # recorded, so that what make_runner sets is undone after the test
        monkeypatch.delenv(name)
    previous = np._core.multiarray._set_madvise_hugepage(True)
    yield monkeypatch
    np._core.multiarray._set_madvise_hugepage(previous)


def hugepage_advice_on() -> bool:
    """numpy's current setting (the setter returns the previous one)."""
    current = np._core.multiarray._set_madvise_hugepage(False)
    np._core.multiarray._set_madvise_hugepage(current)
    return bool(current)


def test_a_threads_runner_turns_off_huge_page_advice_here_and_leaves_the_allocator(clean_env):
    assert hugepage_advice_on()
    make_runner("threads", 2)
    assert not hugepage_advice_on()
    assert memory.TUNABLES_ENV not in os.environ


def test_worker_processes_inherit_both_settings(clean_env):
    make_runner("processes", 2)
    child = subprocess.run([sys.executable, "-c", "import os, numpy as np; "
                            "print(os.environ['GLIBC_TUNABLES'], np._core.multiarray._set_madvise_hugepage(1))"],
                           capture_output=True, text=True, check=True)
    tunables, advice = child.stdout.split()
    assert tunables == memory.WORKER_MALLOC_TUNABLES and "mmap_threshold" in tunables
    assert advice == "False"


def test_the_users_own_settings_win(clean_env):
    clean_env.setenv(memory.HUGEPAGE_ENV, "1")
    clean_env.setenv(memory.TUNABLES_ENV, "glibc.malloc.arena_max=2")
    make_runner("processes", 2)
    assert hugepage_advice_on()
    assert os.environ[memory.TUNABLES_ENV] == "glibc.malloc.arena_max=2"


def test_the_command_imports_the_analysis_only_where_it_will_run(tmp_path, monkeypatch):
    """Beside a starting server the command imports the analysis (~270 MB) only when its own
    threads will analyse: not for worker processes, nor for ``auto`` on a long folder."""
    import argparse

    import soundfile as sf

    import runtime.runners
    from cli.main import _analysis_in_this_process

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for name in ("a.wav", "b.flac"):
        sf.write(inputs / name, np.zeros(3 * 22050, np.float32), 22050)

    def args(kind):
        return argparse.Namespace(task_runner=kind, input=str(inputs))
    assert _analysis_in_this_process(args("threads")) and not _analysis_in_this_process(args("processes"))
    assert _analysis_in_this_process(args("auto"))
    monkeypatch.setattr(runtime.runners, "PROCESSES_FROM_AUDIO_S", 5.0)  # two 3 s clips: long enough now
    assert not _analysis_in_this_process(args("auto"))
