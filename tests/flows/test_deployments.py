"""Deployments against a real ``prefect server start``: the scheduler fires schedules (which
SQLAlchemy 2.1 broke), ``prefect deploy --all`` registers every deployment of prefect.yaml and
the list endpoints answer (which fastapi 0.151-0.154 broke), a served interval deployment runs
by itself; and prefect.yaml declares exactly what deployments/specs.py declares."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml

from deployments.serve import build_deployments
from deployments.specs import SERVED_SUFFIX, deployment_specs

from ..prefect_server import BIN, PrefectServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # A 1 s scheduler loop so that a schedule fires within the test's patience.
    srv = PrefectServer(tmp_path_factory.mktemp("prefect-server"), extra_env={
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "1",
        "PREFECT_RUNNER_POLL_FREQUENCY": "2"}).start()
    yield srv
    srv.stop()


def _client(server):
    from prefect.client.orchestration import SyncPrefectClient

    return SyncPrefectClient(server.url)


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_prefect_yaml_declares_every_spec():
    declared = {d["name"]: d for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]}
    specs = {s.name: s for s in deployment_specs()}
    assert set(declared) == set(specs)
    for name, spec in specs.items():
        d = declared[name]
        assert d["entrypoint"] == spec.entrypoint and d["parameters"] == spec.parameters, name
        assert d["work_pool"]["name"] == "aural-local"
        schedules = d.get("schedules", [])
        assert [s.get("cron") for s in schedules if "cron" in s] == ([spec.cron] if spec.cron else [])
        assert [s["interval"] / 60 for s in schedules if "interval" in s] == (
            [spec.interval_minutes] if spec.interval_minutes else [])
        assert (ROOT / spec.entrypoint.split(":")[0]).is_file()
        triggers = d.get("triggers", [])
        assert [t["expect"] for t in triggers] == ([[spec.trigger_event]] if spec.trigger_event else []), name
        assert all(t["match"] == {"prefect.resource.id": spec.trigger_match} for t in triggers)
        assert d.get("concurrency_limit", {}).get("limit") == spec.concurrency_limit, name


def test_served_deployments_have_distinct_names_and_timezone():
    deps = {d.name: d for d in build_deployments(data_dir="/srv/data", retrain_cron="30 2 * * *",
                                                 poll_minutes=5, timezone="Europe/Berlin")}
    assert set(deps) == {s.name + SERVED_SUFFIX for s in deployment_specs()}
    cron = deps["nightly-retrain" + SERVED_SUFFIX].schedules[0].schedule
    assert cron.cron == "30 2 * * *" and cron.timezone == "Europe/Berlin"
    assert deps["on-new-inputs" + SERVED_SUFFIX].schedules[0].schedule.interval.total_seconds() == 300
    assert deps["evaluate" + SERVED_SUFFIX].parameters["input_dir"] == "/srv/data/eval"
    # the run form shows each parameter with the flow docstring's help text
    props = deps["aural-run" + SERVED_SUFFIX]._parameter_openapi_schema.properties
    assert "demo corpus" in props["demo_if_empty"]["description"]
    assert all(p.get("description") for p in props.values())
    # typed settings: the form shows the renderer and embedder as choices, ranges as limits
    schema = deps["aural-run" + SERVED_SUFFIX]._parameter_openapi_schema.model_dump()
    definitions = schema["definitions"]
    assert definitions["RenderConfig"]["properties"]["renderer"]["enum"] == ["synth", "musicgen", "musicgen-melody"]
    assert definitions["FeatureConfig"]["properties"]["embedder"]["enum"] == ["dsp", "clap"]
    assert definitions["TrainConfig"]["properties"]["epochs"]["minimum"] == 1


def test_scheduler_schedules_an_interval_deployment(server):
    from datetime import timedelta

    import prefect.settings as ps
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.schedules import Interval

    from flows.watch import watch_inputs_flow

    dep = watch_inputs_flow.to_deployment(name="every-minute", schedules=[Interval(timedelta(minutes=1))])
    with ps.temporary_settings({ps.PREFECT_API_URL: server.url}):  # apply() talks to the configured API
        dep_id = dep.apply()
    with _client(server) as client:
        runs = _wait_for(lambda: client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[dep_id]))), 60, "scheduled runs")
    assert runs[0].state.is_scheduled() and runs[0].auto_scheduled
    assert "Can't evaluate bulk DML" not in server.log.read_text()


def test_deploy_all_registers_every_deployment(server):
    env = {"AURAL_TIMEZONE": "UTC"}
    created = server.run(str(BIN / "prefect"), "work-pool", "create", "aural-local", "--type", "process")
    assert created.returncode == 0, created.stdout + created.stderr
    deployed = server.run(str(BIN / "prefect"), "--no-prompt", "deploy", "--all", cwd=ROOT, env=env)
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]
    listed = server.run(str(BIN / "prefect"), "deployment", "ls")
    assert listed.returncode == 0, listed.stderr
    for spec in deployment_specs():
        assert spec.name in listed.stdout
    assert server.run(str(BIN / "prefect"), "flow-run", "ls").returncode == 0
    shown = server.run(str(BIN / "prefect"), "deployment", "inspect", "retrain/nightly-retrain")
    assert "set_working_directory" in shown.stdout and "$AURAL_HOME" in shown.stdout
    assert "'timezone': 'UTC'" in shown.stdout
    # the retrain deployment's trigger is an automation on the inputs event
    automations = httpx.post(f"{server.url}/automations/filter", json={}).json()
    triggered = [a for a in automations if a["trigger"].get("expect") == ["aural.inputs.changed"]]
    assert len(triggered) == 1 and triggered[0]["enabled"], automations
    assert triggered[0]["actions"][0]["type"] == "run-deployment"


def test_a_bad_parameter_fails_at_submission(server):
    """The server checks a run's parameters against the flow's typed signature: a renderer that
    does not exist is refused when the run is created, naming the field."""
    env = {"AURAL_TIMEZONE": "UTC"}
    server.run(str(BIN / "prefect"), "work-pool", "create", "aural-local", "--type", "process")
    deployed = server.run(str(BIN / "prefect"), "--no-prompt", "deploy", "--name", "aural-run", cwd=ROOT, env=env)
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]
    with _client(server) as client:
        dep = client.read_deployment_by_name("pipeline/aural-run")
        with pytest.raises(Exception, match="renderer") as refused:
            client.create_flow_run_from_deployment(dep.id, parameters={"config": {"render": {"renderer": "midi"}}})
        assert "synth" in str(refused.value)  # the message lists the allowed values
        ok = client.create_flow_run_from_deployment(dep.id, parameters={"config": {"train": {"epochs": 3}}})
        assert ok.parameters["config"]["train"]["epochs"] == 3


def test_served_interval_deployment_fires_by_itself(server, tmp_path):
    """aural-serve's on-new-inputs runs on its own within its interval (here 3 s)."""
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    (tmp_path / "data" / "inputs").mkdir(parents=True)
    serve = subprocess.Popen([str(BIN / "aural-serve"), "--data", str(tmp_path / "data"), "--poll-minutes", "0.05"],
                             env=server.env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        name = "on-new-inputs" + SERVED_SUFFIX

        def finished():
            with _client(server) as client:
                runs = client.read_flow_runs(deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[name])))
            return [r for r in runs if r.state and r.state.is_final()]

        done = _wait_for(finished, 120, f"a finished run of {name}")
        assert done[0].state.is_completed(), done[0].state
    finally:
        os.killpg(serve.pid, 15)
        serve.wait(30)
