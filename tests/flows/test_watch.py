"""New-input detection."""

import shutil

import pytest
import soundfile as sf

from demo_corpus import plan_corpus, synthesize_clip
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
    quiet = watch_inputs_flow(data_dir=str(tmp_path / "data"))
    assert not quiet["emitted"] and not any(quiet["changes"].values())

    new = specs[2]
    sf.write(inputs / new.filename, synthesize_clip(new)[: new.sr * 4], new.sr)
    shutil.copy(inputs / new.filename, inputs / specs[0].filename)  # same name, new content
    changed = watch_inputs_flow(data_dir=str(tmp_path / "data"))
    assert changed["emitted"]
    assert changed["changes"]["added"] == [new.filename]
    assert changed["changes"]["changed"] == [specs[0].filename]


