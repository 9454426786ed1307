"""End to end, after test_pipeline_e2e.py on the same topology: a new input file, noticed by
``watch-inputs``, retrains through the ``retrain`` deployment's event trigger exactly once (a
second trigger for the same change skips) and analyses only that file; a worse model is stored
but not published."""

from __future__ import annotations

import json
import urllib.request
import uuid
from datetime import UTC, datetime

import pytest
import soundfile as sf
from prefect.client.schemas import filters as pf

from flows.watch import INPUTS_CHANGED

from .test_pipeline_e2e import _inputs_analysis, _needs
from .topology import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]

NEW = "late_arrival.wav"


def _retrain_runs(topology) -> list:
    with topology.client() as client:
        return client.read_flow_runs(deployment_filter=pf.DeploymentFilter(
            name=pf.DeploymentFilterName(any_=["retrain"])))


def _emit(topology, folder) -> None:
    """What a second poll would send: the same change reported again, through the events API."""
    event = {"id": str(uuid.uuid4()), "occurred": datetime.now(UTC).isoformat(), "event": INPUTS_CHANGED,
             "resource": {"prefect.resource.id": f"aural.inputs.{folder}"}, "payload": {"added": [NEW]}}
    request = urllib.request.Request(f"{topology.server.url}/events", data=json.dumps([event]).encode(),
                                     method="POST", headers={"Content-Type": "application/json",
                                                             **topology.auth_header()})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 204


def _only(runs: list, what: str):
    assert len(runs) == 1, f"{len(runs)} {what}"
    return runs[0]


def test_a_new_input_retrains_once_through_the_event_trigger(topology):
    from demo_corpus import plan_corpus, synthesize_clip

    _needs(topology, "pipeline")
    assert not _retrain_runs(topology)
    inputs = topology.home / "data" / "inputs"
    spec = plan_corpus(n_inputs=1, n_eval=0, seed=99)[0]
    sf.write(inputs / NEW, synthesize_clip(spec)[: spec.sr * 20], spec.sr)

    watch = topology.run_deployment("watch-inputs/on-new-inputs", timeout=300)
    assert watch.state.is_completed(), f"{watch.state.name}: {watch.state.message}"
    _emit(topology, inputs)  # a second trigger for the same change

    def two_finished():
        runs = _retrain_runs(topology)
        return runs if len(runs) >= 2 and all(r.state and r.state.is_final() for r in runs) else None

    runs = wait_for(two_finished, 1200, "the two triggered retrain runs to finish", 5)
    assert len(runs) == 2 and all(r.state.is_completed() for r in runs), [(r.name, r.state) for r in runs]
    trained = [r for r in runs if topology.subflow_runs(r.id, "pipeline")]
    retrain = _only(trained, "retrain runs trained")  # the other found the input set trained on and skipped
    pipeline = _only(topology.subflow_runs(retrain.id, "pipeline"), "pipeline runs")
    rows = {row["file"]: row["status"] for row in topology.table("analyze-inputs-files",
                                                                    _inputs_analysis(topology, pipeline.id).id)}
    assert rows.pop(NEW) == "computed"
    assert set(rows.values()) == {"cached"}
    log = json.loads((topology.home / "models" / "trained-inputs.json").read_text())
    assert len(log) == 1
    topology.runs["retrain"] = retrain


def test_a_worse_model_is_not_published(topology):
    _needs(topology, "retrain")
    adapter = topology.home / "models" / "adapter.pt"
    published = adapter.read_bytes()
    barely_trained = {"config": {"train": {"epochs": 1, "lr": 1e-6}}}
    run = topology.run_deployment("retrain/retrain", barely_trained, timeout=900)
    assert run.state.is_completed(), f"{run.state.name}: {run.state.message}"
    pipeline = _only(topology.subflow_runs(run.id, "pipeline"), "pipeline runs")
    train = _only(topology.subflow_runs(pipeline.id, "train"), "train runs")
    decision = _only(topology.artifacts("adapter-publish-decision", train.id), "publish decisions")
    assert decision.description.startswith("not published: worse than the published model"), decision.description
    assert adapter.read_bytes() == published
    log = json.loads((topology.home / "models" / "trained-inputs.json").read_text())
    # this run's entry beside the earlier retrain's (whose own decision depends on the data)
    assert len(log) == 2
    newest = max(log.values(), key=lambda entry: entry["at"])
    assert newest["published"] is False and newest["reason"] == "worse than the published model", newest
