"""The automations of runtime/automations.py: they cover every flow of the project, every
deployment sends the heartbeats they watch, and they are created once, by name, on a real
server (that they mark dead runs Crashed and retry them: tests/e2e/test_run_crashes_e2e.py)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

from deployments.specs import deployment_specs
from runtime import automations
from runtime.automations import AURAL_FLOWS, HEARTBEAT_SECONDS, RETRY, SILENT_SECONDS, TAG, ZOMBIE

from ..prefect_server import PrefectServer

ROOT = Path(__file__).resolve().parents[2]


def test_the_zombie_automation_covers_every_flow_of_the_project():
    from prefect import Flow

    names = set()
    for path in sorted((ROOT / "flows").glob("*.py")):
        module = importlib.import_module(f"flows.{path.stem}")
        names |= {obj.name for obj in vars(module).values() if isinstance(obj, Flow)}
    assert set(AURAL_FLOWS) == names


def test_every_deployment_sends_heartbeats_and_carries_the_tag():
    declared = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    for d in declared:
        env = d["work_pool"]["job_variables"]["env"]
        assert env["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] == str(HEARTBEAT_SECONDS), d["name"]
        assert TAG in d["tags"], d["name"]
    assert all(TAG in spec.tags for spec in deployment_specs())
    # one heartbeat may be late or lost before a run is taken as dead; and dead within 90 s
    assert 2 * HEARTBEAT_SECONDS < SILENT_SECONDS < 90


@pytest.mark.parametrize("raw", ["-1", "once"])
def test_a_bad_retry_count_is_named(monkeypatch, raw):
    monkeypatch.setenv("AURAL_CRASH_RETRIES", raw)
    with pytest.raises(ValueError, match=f"AURAL_CRASH_RETRIES={raw!r}"):
        automations.crash_retries()


@pytest.mark.timeout(300)
def test_created_once_by_name_and_the_retry_count_is_a_setting(tmp_path, monkeypatch):
    from prefect.client.orchestration import SyncPrefectClient

    server = PrefectServer(tmp_path / "home").start()
    try:
        with SyncPrefectClient(server.url) as client:
            assert automations.ensure_automations(client) == [ZOMBIE, RETRY]
            automations.ensure_automations(client)  # again: updated, not doubled
            found = {a.name: a for a in client.read_automations()}
            assert set(found) == {ZOMBIE, RETRY}
            zombie, retry = found[ZOMBIE], found[RETRY]
            assert zombie.trigger.posture == "Proactive" and zombie.trigger.within.total_seconds() == SILENT_SECONDS
            assert zombie.actions[0].state.value == "CRASHED"
            assert retry.enabled and retry.trigger.match.root["prefect.run-count"] == ["1"]
            assert (retry.actions[0].state.value, retry.actions[0].name) == ("SCHEDULED", "AwaitingRetry")

            monkeypatch.setenv("AURAL_CRASH_RETRIES", "2")
            automations.ensure_automations(client)
            assert client.read_automations_by_name(RETRY)[0].trigger.match.root["prefect.run-count"] == ["1", "2"]
            monkeypatch.setenv("AURAL_CRASH_RETRIES", "0")
            automations.ensure_automations(client)
            assert not client.read_automations_by_name(RETRY)[0].enabled
    finally:
        server.stop()
