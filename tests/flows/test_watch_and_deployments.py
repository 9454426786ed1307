"""New-input detection and the served deployments (schedules, parameters)."""

import shutil

import pytest
import soundfile as sf

from demo_corpus import plan_corpus, synthesize_clip
from deployments.serve import build_deployments
from flows.analyze import analyze_flow
from flows.watch import watch_inputs_flow

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_watch_notices_new_and_changed_inputs(tmp_path):
    inputs = tmp_path / "data" / "inputs"
    inputs.mkdir(parents=True)
    specs = plan_corpus(n_inputs=3, n_eval=0, seed=4)
    for spec in specs[:2]:
        sf.write(inputs / spec.filename, synthesize_clip(spec)[: spec.sr * 4], spec.sr)
    analyze_flow(input_dir=str(inputs), cache_dir=str(tmp_path / "data" / "cache"), show_progress=False)
    quiet = watch_inputs_flow(data_dir=str(tmp_path / "data"), run_pipeline=False)
    assert not quiet["ran"] and not any(quiet["changes"].values())

    new = specs[2]
    sf.write(inputs / new.filename, synthesize_clip(new)[: new.sr * 4], new.sr)
    shutil.copy(inputs / new.filename, inputs / specs[0].filename)  # same name, new content
    changed = watch_inputs_flow(data_dir=str(tmp_path / "data"), run_pipeline=False)
    assert changed["changes"]["added"] == [new.filename]
    assert changed["changes"]["changed"] == [specs[0].filename]


def test_deployments_have_schedules_and_parameters():
    deps = {d.name: d for d in build_deployments(data_dir="/srv/data", retrain_cron="30 2 * * *", poll_minutes=5)}
    assert set(deps) == {"aural-run", "nightly-retrain", "on-new-inputs", "analyze", "train", "evaluate"}
    assert deps["nightly-retrain"].schedules[0].schedule.cron == "30 2 * * *"
    assert deps["on-new-inputs"].schedules[0].schedule.interval.total_seconds() == 300
    assert deps["aural-run"].parameters["data_dir"] == "/srv/data" and not deps["aural-run"].schedules
    assert deps["evaluate"].parameters["input_dir"] == "/srv/data/eval"
