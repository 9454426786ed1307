"""The retrain flow: once per input set, and a new file computes only itself."""

import json

import pytest
import soundfile as sf

from demo_corpus import plan_corpus, synthesize_clip
from flows.retrain import retrain_flow
from storage.training_log import LOG_NAME

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _write(folder, spec, seconds=12):
    folder.mkdir(parents=True, exist_ok=True)
    sf.write(folder / spec.filename, synthesize_clip(spec)[: int(spec.sr * seconds)], spec.sr)


def test_retrain_trains_once_per_input_set(tmp_path):
    data, models = tmp_path / "data", tmp_path / "models"
    specs = plan_corpus(n_inputs=5, n_eval=1, seed=7)
    for spec in specs:
        _write(data / ("eval" if spec.split == "eval" else "inputs"), spec)
    new = next(s for s in specs if s.split != "eval")
    (data / "inputs" / new.filename).unlink()  # arrives later
    params = {"data_dir": str(data), "models_dir": str(models), "reports_dir": str(tmp_path / "reports")}

    first = retrain_flow(**params)
    assert not first["skipped"] and first["train"]["published"]
    again = retrain_flow(**params)  # a second trigger for the same inputs
    assert again["skipped"] and again["inputs_key"] == first["inputs_key"]
    assert len(json.loads((models / LOG_NAME).read_text())) == 1

    _write(data / "inputs", new)
    third = retrain_flow(**params)
    assert not third["skipped"] and third["inputs_key"] != first["inputs_key"]
    assert third["analyze"]["computed"] == [new.filename]  # every other file came from the cache
    assert len(third["analyze"]["cached"]) == 4
    assert len(json.loads((models / LOG_NAME).read_text())) == 2
