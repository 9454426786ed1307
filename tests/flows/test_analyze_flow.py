"""The analyze flow through a real (temporary) Prefect server: the four caching behaviours,
per-file failures and the summary."""

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from aural_core.config import FeatureConfig
from aural_core.errors import FilesFailedError
from demo_corpus import plan_corpus, synthesize_clip
from flows.analyze import analyze_flow
from storage.frames import read_frames
from storage.keys import frames_file
from storage.layout import CacheLayout
from storage.manifest import file_id

from ..badinput import write_bad_inputs

pytestmark = pytest.mark.usefixtures("prefect_harness")


def frames_of(cache, path):
    """The frames file of ``path`` analysed with the default feature config."""
    return frames_file(CacheLayout(cache), file_id(path), FeatureConfig())


def run(inputs, cache, config=None):
    return analyze_flow(input_dir=str(inputs), cache_dir=str(cache), config_path=config,
                        show_progress=False)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    for spec in plan_corpus(n_inputs=3, n_eval=0, seed=1):
        y = synthesize_clip(spec)[: spec.sr * 8]  # 8 s keeps the test quick
        sf.write(folder / spec.filename, y, spec.sr)
    return folder


def test_caching_behaviours(corpus, tmp_path):
    inputs = tmp_path / "inputs"
    shutil.copytree(corpus, inputs)
    cache = tmp_path / "cache"
    names = sorted(p.name for p in inputs.iterdir())

    first = run(inputs, cache)
    assert sorted(first["computed"]) == names and not first["cached"] and not first["failed"]

    again = run(inputs, cache)                       # unchanged inputs: nothing recomputes
    assert sorted(again["cached"]) == names and not again["computed"]

    changed = inputs / names[0]                      # one file changes: only it recomputes
    y, sr = sf.read(changed)
    sf.write(changed, y * 0.5, sr)
    one = run(inputs, cache)
    assert one["computed"] == [names[0]] and sorted(one["cached"]) == names[1:]

    victim = inputs / names[1]                       # a deleted Parquet recomputes that file
    frames_of(cache, victim).unlink()
    healed = run(inputs, cache)
    assert healed["computed"] == [names[1]]
    assert frames_of(cache, victim).is_file()

    config = tmp_path / "aural.toml"                 # a config change recomputes all
    config.write_text("[features]\nenergy_floor_db = -70.0\n")
    recfg = run(inputs, cache, str(config))
    assert sorted(recfg["computed"]) == names
    assert sorted(run(inputs, cache, str(config))["cached"]) == names


def test_bad_files_fail_alone(corpus, tmp_path):
    inputs = tmp_path / "inputs"
    shutil.copytree(corpus, inputs)
    expected = write_bad_inputs(inputs)
    cache = tmp_path / "cache"
    state = analyze_flow(input_dir=str(inputs), cache_dir=str(cache), show_progress=False, return_state=True)
    assert state.is_failed()  # an operator can filter and alert on it (issue 8) ...
    error = state.result(raise_on_failure=False)
    assert isinstance(error, FilesFailedError)
    summary = error.result  # ... and the summary of the files that did finish is kept
    failed = {f["source"]: f["error"] for f in summary["failed"]}
    assert sorted(summary["computed"]) == sorted(p.name for p in inputs.iterdir() if p.name not in failed)
    assert set(failed) == {name for name, outcome in expected.items() if outcome == "error"}
    for name, error in failed.items():
        assert name in error  # the message names the file and the reason
    for path in inputs.iterdir():
        if path.name not in failed:
            table = read_frames(frames_of(cache, path))
            assert table.num_rows >= 1, path.name
    silence = read_frames(frames_of(cache, inputs / "silence.wav"))
    assert np.all(silence.column("energy").to_numpy() == 0)
    assert np.all(silence.column("beat_strength").to_numpy() == 0)


def test_vanished_file_fails_its_task(corpus, tmp_path):
    from aural_core.errors import AudioError
    from tasks.analyze import extract_frames

    victim = tmp_path / "gone.wav"
    shutil.copy(next(corpus.iterdir()), victim)
    fid = file_id(victim)
    victim.unlink()  # disappears between listing and reading
    with pytest.raises(AudioError, match="gone.wav: file not found"):
        extract_frames.fn(path=str(victim), source="gone.wav", file_id=fid,
                          cache_dir=str(tmp_path / "cache"), config=FeatureConfig())
    assert not frames_file(CacheLayout(tmp_path / "cache"), fid, FeatureConfig()).exists()


def test_artifacts_are_keyed_by_stage_and_folder(corpus, tmp_path):
    """Two folders analysed in one cache publish two summaries, each with a per-file table."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    for name in ("inputs", "Held Out"):
        shutil.copytree(corpus, tmp_path / name)
        run(tmp_path / name, tmp_path / "cache")
    wanted = ["analyze-inputs", "analyze-held-out", "analyze-inputs-files"]
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=wanted)))
    assert {a.key for a in artifacts} == set(wanted)
    # the harness server keeps other tests' runs of a folder named "inputs": take this run's, the newest
    table = max((a for a in artifacts if a.key == "analyze-inputs-files"), key=lambda a: a.created)
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert sorted(r["file"] for r in rows) == sorted(p.name for p in corpus.iterdir())
    assert {r["status"] for r in rows} <= {"computed", "cached"} and all("seconds" in r for r in rows)
