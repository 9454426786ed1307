"""kill -9 in the middle of `aural analyze` / `aural train` / `aural eval`, then the same command again
(issue 13, item 6): the rerun reuses what was finished, leaves no partial files and ends with
the uninterrupted run's bytes. Every command talks to one shared Prefect server."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from storage.integrity import problem

from .cli_runs import aural, frames_bytes, kill9, start, statuses, wait_for, write_clips
from .conftest import temp_files

N_FILES = 8


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    return write_clips(tmp_path_factory.mktemp("kill") / "inputs", N_FILES)


@pytest.fixture(scope="module")
def reference(clips, shared_server, tmp_path_factory) -> Path:
    """An uninterrupted analysis of the same inputs with the same (default) config."""
    cache = tmp_path_factory.mktemp("reference") / "cache"
    done = aural(shared_server, "analyze", "--in", str(clips), "--out", str(cache))
    assert done.returncode == 0, done.stderr
    assert len(frames_bytes(cache)) == N_FILES
    return cache


def finished(cache: Path) -> set[str]:
    """Frames files that are complete and checksummed (what a rerun must reuse)."""
    return {p.name for p in (cache / "frames").glob("*.parquet") if problem(p) is None}


@pytest.mark.timeout(300)  # with the module fixtures; ~60-90 s on an idle 2-core machine
def test_killed_analysis_resumes_byte_identical(clips, reference, shared_server, tmp_path):
    cache = tmp_path / "cache"
    proc = start(shared_server, "analyze", "--in", str(clips), "--out", str(cache))
    try:
        # a frames file is finished once its checksum is recorded (written just after it)
        first = wait_for(lambda: (cache / "frames").is_dir() and finished(cache), timeout=90)
        assert first, f"no frames file was finished: {proc.poll()=}"
        # Prefect records the task's cache entry just after the checksum: give the first file
        # time to get one (a file killed in between is recomputed, to the same bytes)
        time.sleep(0.2)
    finally:
        kill9(proc)
    assert proc.returncode == -9, "the analysis ended before the kill"
    done_before = finished(cache)
    assert 1 <= len(done_before) < N_FILES, f"kill landed outside the run: {len(done_before)} finished"

    rerun = aural(shared_server, "analyze", "--in", str(clips), "--out", str(cache))
    assert rerun.returncode == 0, rerun.stderr
    rows = statuses(rerun.stderr)  # the summary table goes to stderr (tasks.progress.console)
    assert len(rows) == N_FILES, rerun.stderr
    cached = [src for src, status in rows.items() if status == "cached"]
    # every finished file is reused, except at most one per worker thread (2) killed between
    # its checksum and Prefect's cache record
    assert cached and len(cached) >= len(done_before) - 2, \
        f"finished files were not reused: {rows}, finished {done_before}"
    assert frames_bytes(cache) == frames_bytes(reference)
    assert temp_files(cache) == []


@pytest.fixture(scope="module")
def trained(reference, shared_server, tmp_path_factory) -> tuple[Path, Path]:
    """A frames-only copy of the reference cache (for the killed run), then the uninterrupted
    training on the reference cache; returns (frames-only cache, reference adapter.pt)."""
    base = tmp_path_factory.mktemp("train")
    frames_only = base / "analysed"
    (frames_only).mkdir()
    for sub in ("frames", "manifests"):
        shutil.copytree(reference / sub, frames_only / sub)
    adapter = base / "ref-models" / "adapter.pt"
    done = aural(shared_server, "train", "--cache", str(reference), "--out", str(adapter), timeout=300)
    assert done.returncode == 0, done.stderr
    return frames_only, adapter


@pytest.mark.timeout(300)
def test_killed_training_keeps_published_adapter(trained, shared_server, tmp_path):
    from storage.layout import ModelsLayout
    from storage.models import model_store, publish_adapter, stored_metadata

    from .conftest import store_adapter

    analysed, reference_adapter = trained
    cache = Path(shutil.copytree(analysed, tmp_path / "cache"))
    models = ModelsLayout(tmp_path / "models")
    previous = store_adapter(models, 7)
    publish_adapter(models, previous, stored_metadata(model_store(models).get(previous)))
    before = (models.adapter.read_bytes(), models.metadata.read_bytes())

    proc = start(shared_server, "train", "--cache", str(cache), "--out", str(models.adapter))
    try:
        # mid-run: labelling has written sections, training has not published yet
        assert wait_for(lambda: list((cache / "sections").glob("*.parquet")), timeout=120, step=0.05), \
            f"no sections appeared: {proc.poll()=}"
    finally:
        kill9(proc)
    assert proc.returncode == -9, "the training ended before the kill"
    assert (models.adapter.read_bytes(), models.metadata.read_bytes()) == before
    verify = aural(shared_server, "models", "verify", "--models", str(models.root))
    assert verify.returncode == 0, verify.stderr

    rerun = aural(shared_server, "train", "--cache", str(cache), "--out", str(models.adapter), timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert models.adapter.read_bytes() == reference_adapter.read_bytes()
    assert aural(shared_server, "models", "verify", "--models", str(models.root)).returncode == 0
    assert temp_files(cache) == [] and temp_files(models.root) == []


@pytest.fixture(scope="module")
def held_out(tmp_path_factory) -> Path:
    return write_clips(tmp_path_factory.mktemp("held-out") / "eval", 3, first=N_FILES)


def eval_args(base: Path, models: Path, held_out: Path) -> list[str]:
    """`aural eval` of a copy of the held-out clips with a copy of the trained models folder,
    all under ``base``: every run has the same layout, so the paths its report records
    (relative to the report) are the same."""
    if not (base / "eval").exists():
        shutil.copytree(held_out, base / "eval")
        shutil.copytree(models, base / "models")
    return ["eval", "--in", str(base / "eval"), "--adapter", str(base / "models" / "adapter.pt"),
            "--report", str(base / "reports" / "eval.json"), "--cache", str(base / "cache")]


def eval_outputs(base: Path) -> dict[str, bytes]:
    """The report folder (eval.json, eval.md, index.html, audio/) and the render cache (FLACs and
    their checksum records), as {path under base: bytes}."""
    files = [*(base / "reports").rglob("*"), *(base / "cache" / "renders").rglob("*")]
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(files) if p.is_file()}


@pytest.mark.timeout(900)  # with the module fixtures (analysis, training): ~3-6 min on 2 cores
def test_killed_evaluation_resumes_byte_identical(trained, held_out, shared_server, tmp_path):
    models = trained[1].parent
    reference = tmp_path / "reference"
    done = aural(shared_server, *eval_args(reference, models, held_out), timeout=400)
    assert done.returncode == 0, done.stderr
    expected = eval_outputs(reference)
    assert "reports/eval.json" in expected and any(p.endswith(".ogg") for p in expected), sorted(expected)

    killed = tmp_path / "killed"
    args = eval_args(killed, models, held_out)
    renders = killed / "cache" / "renders"
    proc = start(shared_server, *args)
    try:
        assert wait_for(lambda: renders.is_dir() and list(renders.glob("*.flac")), timeout=300, step=0.02), \
            f"no render appeared: {proc.poll()=}"
    finally:
        kill9(proc)
    assert proc.returncode == -9, "the evaluation ended before the kill"
    assert not (killed / "reports" / "eval.json").exists()

    rerun = aural(shared_server, *args, timeout=400)
    assert rerun.returncode == 0, rerun.stderr
    # nothing is normalised: the report records no time and only paths relative to itself
    got = eval_outputs(killed)
    assert sorted(got) == sorted(expected)
    assert [p for p in expected if got[p] != expected[p]] == []
    assert temp_files(killed / "reports") == [] and temp_files(killed / "cache") == []
