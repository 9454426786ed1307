"""End to end, after test_retrain_e2e.py (issue 21, item 4): forty new files land in two bursts
of twenty, the second while the retrain of the first runs. Each burst is noticed by
``watch-inputs`` (one ``aural.inputs.changed`` event each) and gives one retrain; the two never
run at once (the second waits for the deployment's concurrency slot), and the second covers
all forty."""

from __future__ import annotations

import json

import pytest

from ..reliability.cli_runs import write_clips
from .test_pipeline_e2e import _inputs_analysis, _needs
from .test_retrain_e2e import _retrain_runs
from .topology import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

BURST = 20


def _watch(topology) -> None:
    """One poll of the training folder: an ``aural.inputs.changed`` event when it changed."""
    run = topology.run_deployment("watch-inputs/on-new-inputs", timeout=300)
    assert run.state.is_completed(), f"{run.state.name}: {run.state.message}"


def _analysing(topology, retrain_id) -> bool:
    """Whether the retrain run analyses its inputs, so that it listed them already: its inner
    ``analyze-files`` run lists the folder before it submits a task (that run merely existing
    left a window in which a file written now was still listed, and trained on)."""
    with topology.client() as client:
        state = client.read_flow_run(retrain_id).state
    assert not state.is_final(), f"the first retrain ended ({state.name}) before the second burst landed"
    for pipeline in topology.subflow_runs(retrain_id, "pipeline"):
        for analyze in topology.subflow_runs(pipeline.id, "analyze"):
            if analyze.parameters["input_dir"].endswith("inputs") and any(
                    topology.task_runs(inner.id) for inner in topology.subflow_runs(analyze.id)):
                return True
    return False


def test_two_bursts_give_two_retrains_one_at_a_time(topology):
    _needs(topology, "pipeline")
    inputs = topology.home / "data" / "inputs"
    seen = {r.id for r in _retrain_runs(topology)}
    trained = topology.home / "models" / "trained-inputs.json"  # written by earlier retrains, if any
    log_before = json.loads(trained.read_text()) if trained.exists() else {}

    write_clips(inputs, BURST, first=100)
    _watch(topology)
    first = wait_for(lambda: [r for r in _retrain_runs(topology) if r.id not in seen], 120, "the first retrain")
    assert len(first) == 1, [(r.name, r.state.name) for r in first]
    first = first[0]
    wait_for(lambda: _analysing(topology, first.id), 300, "the first retrain to analyse its inputs", every=1)

    write_clips(inputs, BURST, first=100 + BURST)
    _watch(topology)

    def both_finished():
        runs = [r for r in _retrain_runs(topology) if r.id not in seen]
        return runs if len(runs) >= 2 and all(r.state and r.state.is_final() for r in runs) else None

    runs = sorted(wait_for(both_finished, 1500, "both retrains to finish", every=5), key=lambda r: r.created)
    assert len(runs) == 2, [(r.name, r.state.name) for r in runs]  # one retrain per event
    assert all(r.state.is_completed() for r in runs), [(r.name, r.state.name, r.state.message) for r in runs]
    one, two = runs
    assert one.id == first.id
    assert two.start_time >= one.end_time, (one.start_time, one.end_time, two.start_time)  # never at once
    assert "AwaitingConcurrencySlot" in topology.states(two.id), topology.states(two.id)  # it waited
    new = {f"clip{i}.wav" for i in range(100, 100 + 2 * BURST)}
    tables = []
    for run in runs:
        pipeline = topology.subflow_runs(run.id, "pipeline")
        assert len(pipeline) == 1, f"retrain {run.name} trained {len(pipeline)} times"
        rows = topology.table("analyze-inputs-files", _inputs_analysis(topology, pipeline[0].id).id)
        tables.append({row["file"]: row["status"] for row in rows})
    assert {f for f in tables[0] if f in new} == {f"clip{i}.wav" for i in range(100, 100 + BURST)}
    assert set(tables[1]) >= new  # the last one covers every new file
    assert {tables[1][f] for f in tables[0] if f in new} == {"cached"}
    assert len(json.loads(trained.read_text())) == len(log_before) + 2
