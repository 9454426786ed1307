"""Task runners chosen per run (runtime/runners.py): worker processes and Dask clusters write the
threads runner's frames byte for byte, keep the task cache, limit BLAS to one thread in every
worker, and bad settings fail in one line naming the value."""

import os
import re
import shutil

import pytest
from prefect import flow, task

from aural_core.config import AuralConfig
from aural_core.errors import ParameterError
from cli.main import main
from flows.analyze import _audio_to_analyse, analyze_flow
from flows.train import train_flow
from runtime.runners import PROCESSES_FROM_AUDIO_S, auto_runner, make_runner

from ..prefect_server import free_port
from .corpus import analysed_clips

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Three 6 s demo clips analysed with the default runner (threads)."""
    root, cache = analysed_clips(tmp_path_factory.mktemp("runners"), n=3, seed=1, seconds=6.0)
    return root / "inputs", cache


def frames_bytes(cache) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (cache / "frames").glob("*.parquet")}


def analyse(inputs, cache, **runner) -> dict:
    return analyze_flow(input_dir=str(inputs), cache_dir=str(cache), show_progress=False, **runner)


def test_processes_write_the_same_frames_and_keep_the_cache(reference, tmp_path):
    inputs, threads_cache = reference
    names = sorted(p.name for p in inputs.iterdir())
    cold = analyse(inputs, tmp_path / "cache", task_runner="processes", workers=2)
    assert sorted(cold["computed"]) == names and not cold["failed"]
    assert frames_bytes(tmp_path / "cache") == frames_bytes(threads_cache) and len(frames_bytes(threads_cache)) == 3

    again = analyse(inputs, tmp_path / "cache", task_runner="processes", workers=2)
    assert sorted(again["cached"]) == names and not again["computed"] and not again["failed"]


def test_processes_runner_reads_cache_hits_without_worker_processes(reference, tmp_path, monkeypatch):
    """A cached re-run with the processes runner (``aural analyze``'s default) sends nothing to
    the pool, so no worker process starts; a file whose frames are gone still goes to a worker."""
    import concurrent.futures

    inputs, _ = reference
    cache = tmp_path / "cache"
    analyse(inputs, cache, task_runner="processes", workers=2)
    sent = []
    real_submit = concurrent.futures.ProcessPoolExecutor.submit
    monkeypatch.setattr(concurrent.futures.ProcessPoolExecutor, "submit",
                        lambda self, *a, **k: sent.append(1) or real_submit(self, *a, **k))
    again = analyse(inputs, cache, task_runner="processes", workers=2)
    assert len(again["cached"]) == 3 and not again["computed"] and sent == []

    next((cache / "frames").glob("*.parquet")).unlink()
    third = analyse(inputs, cache, task_runner="processes", workers=2)
    assert len(third["computed"]) == 1 and len(third["cached"]) == 2 and len(sent) == 1


def test_auto_counts_only_the_audio_not_yet_analysed(reference, tmp_path):
    """``auto`` picks worker processes by the audio still to analyse: the whole folder when
    the cache is new, one file's when one file's frames are gone, none on a cached re-run."""
    inputs, _ = reference
    assert auto_runner(PROCESSES_FROM_AUDIO_S) == "processes" and auto_runner(PROCESSES_FROM_AUDIO_S - 1) == "threads"
    cache = tmp_path / "cache"
    assert _audio_to_analyse(str(inputs), str(cache), None, None) == pytest.approx(18.0, abs=0.1)
    analyse(inputs, cache, task_runner="auto")
    assert _audio_to_analyse(str(inputs), str(cache), None, None) == 0.0
    next((cache / "frames").glob("*.parquet")).unlink()
    assert _audio_to_analyse(str(inputs), str(cache), None, None) == pytest.approx(6.0, abs=0.05)
    assert _audio_to_analyse(str(tmp_path / "missing"), str(cache), None, None) == 0.0
    result = analyse(inputs, cache, task_runner="auto")
    assert len(result["computed"]) == 1 and len(result["cached"]) == 2


def test_local_dask_cluster_writes_the_same_frames(reference, tmp_path):
    inputs, threads_cache = reference
    result = analyse(inputs, tmp_path / "cache", task_runner="dask", workers=2)
    assert len(result["computed"]) == 3 and not result["failed"]
    assert frames_bytes(tmp_path / "cache") == frames_bytes(threads_cache)


def test_existing_dask_cluster_by_address(reference, tmp_path):
    """``dask_address``: the tasks run on a cluster started apart (as `dask scheduler` and
    `dask worker` would), whose workers get the one-thread limit when the run connects."""
    from distributed import Client, LocalCluster

    inputs, threads_cache = reference
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        result = analyse(inputs, tmp_path / "cache", task_runner="dask", dask_address=cluster.scheduler_address)
        assert len(result["computed"]) == 3
        assert frames_bytes(tmp_path / "cache") == frames_bytes(threads_cache)
        assert set(client.run(_numba_threads_env).values()) == {"1"}
        assert set(client.run(_max_threadpool_threads).values()) == {1}


def _numba_threads_env() -> str | None:
    return os.environ.get("NUMBA_NUM_THREADS")  # read in the worker (a bound os.environ.get would pickle ours)


def _max_threadpool_threads() -> int:
    """The most threads any BLAS/OpenMP library of this process may use (numpy loaded first)."""
    import numpy  # noqa: F401
    from threadpoolctl import threadpool_info

    return max(info["num_threads"] for info in threadpool_info())


def test_train_in_processes_matches_threads(reference, tmp_path):
    """train's labelling and augmentation in worker processes: the same sections and copies
    as with threads, and so the same adapter."""
    _, threads_cache = reference
    config = AuralConfig.model_validate({"train": {"epochs": 3}, "augment": {"copies_per_file": 1}})
    made = {}
    for kind in ("processes", "threads"):
        cache = tmp_path / kind
        shutil.copytree(threads_cache, cache)
        result = train_flow(cache_dir=str(cache), out_path=str(tmp_path / f"models-{kind}" / "adapter.pt"),
                            show_progress=False, config=config, task_runner=kind, workers=2)
        assert len(result["labels"]["computed"]) == 3 and result["augment"]["computed"]
        files = sorted([*cache.glob("sections/*.parquet"), *cache.glob("augmented/*/*.parquet")])
        made[kind] = ({p.relative_to(cache): p.read_bytes() for p in files}, result["ref"])
    assert made["processes"] == made["threads"]


@task
def worker_threads() -> int:
    return _max_threadpool_threads()


@flow
def threads_in_a_worker() -> int:
    return worker_threads.submit().result()


def test_process_workers_use_one_blas_thread():
    assert threads_in_a_worker.with_options(task_runner=make_runner("processes", 1))() == 1


@pytest.mark.parametrize("settings,message", [
    (("fibers", 2, None), "task_runner='fibers' must be one of auto, threads, processes, dask"),
    (("processes", 0, None), "workers=0 must be a whole number of at least 1"),
    (("threads", 2, "tcp://127.0.0.1:8786"), "dask_address='tcp://127.0.0.1:8786' needs task_runner='dask'"),
    (("dask", 2, "tcp://scheduler"), "dask_address='tcp://scheduler' is not a scheduler address like"),
])
def test_bad_settings_fail_in_one_line(settings, message):
    with pytest.raises(ParameterError, match="^" + re.escape(message)) as info:
        make_runner(*settings)
    assert "\n" not in str(info.value)


def test_unreachable_scheduler_is_named(reference, tmp_path, capsys):
    inputs, _ = reference
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(ParameterError, match=f"^dask scheduler {re.escape(address)} is not reachable"):
        analyse(inputs, tmp_path / "cache", task_runner="dask", dask_address=address)

    code = main(["analyze", "--in", str(inputs), "--out", str(tmp_path / "cache"), "--quiet",
                 "--task-runner", "dask", "--dask-address", address])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith(f"aural analyze: dask scheduler {address} is not reachable")
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "cache" / "frames").exists()  # refused before any analysis
