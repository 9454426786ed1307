"""End to end against the real parts (``make e2e``): Postgres, a Prefect server with an auth
string, ``prefect deploy --all``, a process worker, a pipeline deployment run through the API,
a bad file failing only its own task, and the flow-run page in headless Chromium.

The steps run in file order and share one topology (conftest.py); a step that needs an earlier
step's run finds it in ``topology.runs``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from deployments.specs import deployment_specs

from ..chromium import CHROMIUM, DRIVER, MISSING, start_chromium
from .topology import AUTH, POOL

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]

PIPELINE = "pipeline/aural-run"
PARAMETERS = {"reports_dir": "reports-e2e"}  # prefect.yaml says "reports": the run must use this one
BAD = "broken.wav"
# The demo corpus, smaller than `aural demo`'s 24 + 6 clips (`aural demo --n-inputs 8 --n-eval 2`):
# on a busy 2-core machine a cold pipeline run on the full corpus takes about 6 minutes.
DEMO = {"n_inputs": 8, "n_eval": 2, "seed": 0}


def _post(url: str, headers: dict | None = None) -> int:
    """The HTTP status of an empty flow-run query."""
    request = urllib.request.Request(url + "/flow_runs/filter", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _inputs_analysis(topology, flow_run_id):
    """The flow run that analysed the training folder's files (the pipeline also analyses
    eval/): the inner ``analyze-files`` run of its analyze run, which holds the per-file tasks."""
    runs = [run for run in topology.subflow_runs(flow_run_id, "analyze")
            if Path(run.parameters["input_dir"]).name == "inputs"]
    assert len(runs) == 1, f"{len(runs)} analyze runs of inputs/ in {flow_run_id}"
    inner = topology.subflow_runs(runs[0].id, "analyze-files")
    assert len(inner) == 1, f"{len(inner)} analyze-files runs in {runs[0].id}"
    return inner[0]


def _needs(topology, step: str):
    if step not in topology.runs:
        pytest.skip(f"needs the run of the step {step!r}, which did not finish")
    return topology.runs[step]


def test_server_needs_credentials_and_keeps_its_state_in_postgres(topology):
    wrong = "Basic " + base64.b64encode(b"aural:wrong").decode()
    assert _post(topology.server.url) == 401
    assert _post(topology.server.url, {"Authorization": wrong}) == 401
    assert _post(topology.server.url, topology.auth_header()) == 200
    assert not list(topology.server.home.glob("*.db")), "the server made a SQLite database"

    async def deployments_in_postgres():
        import asyncpg

        connection = await asyncpg.connect(topology.postgres.url.replace("+asyncpg", ""))
        try:
            return {row["name"] for row in await connection.fetch("SELECT name FROM deployment")}
        finally:
            await connection.close()

    # prefect deploy --all (from the copy's prefect.yaml) registered every deployment, in Postgres
    assert asyncio.run(deployments_in_postgres()) == {spec.name for spec in deployment_specs()}
    with topology.client() as client:
        assert [w.status.value for w in client.read_workers_for_work_pool(POOL)] == ["ONLINE"]


def test_pipeline_deployment_run_through_the_api(topology):
    from demo_corpus import write_corpus

    data = topology.home / "data"
    write_corpus(data, **DEMO)
    inputs = sorted(p.name for p in (data / "inputs").iterdir() if p.suffix in {".wav", ".flac"})
    run = topology.run_deployment(PIPELINE, PARAMETERS, timeout=720)
    assert run.state.is_completed(), f"{run.state.name}: {run.state.message} (worker log: {topology.worker_log})"
    assert run.parameters["reports_dir"] == "reports-e2e"
    analysis = _inputs_analysis(topology, run.id)
    rows = topology.table("analyze-inputs-files", analysis.id)
    assert len(inputs) == DEMO["n_inputs"] and [row["file"] for row in rows] == inputs
    assert {row["status"] for row in rows} == {"computed"} and all(row["seconds"] > 0 for row in rows)
    assert {t.name: t.state.name for t in topology.task_runs(analysis.id)} == {
        f"analyze-{name}": "Completed" for name in inputs}
    # the changed parameter took effect in the worker's checkout (its AURAL_HOME), not the default
    reports = topology.home / "reports-e2e"
    for name in ("eval.json", "eval.md", "index.html"):
        assert (reports / name).stat().st_size > 0, name
    assert "match_score" in json.loads((reports / "eval.json").read_text())
    assert not (topology.home / "reports").exists()
    assert (topology.home / "models" / "adapter.pt").is_file()
    topology.runs["pipeline"] = run


def test_a_bad_file_fails_only_its_own_task(topology):
    first = _needs(topology, "pipeline")
    bad = topology.home / "data" / "inputs" / BAD
    bad.write_bytes(b"RIFF\x24\x10\x00\x00WAVE" + bytes(range(256)) * 16)  # a WAV header, then noise
    try:
        run = topology.run_deployment(PIPELINE, PARAMETERS, timeout=480)
    finally:
        bad.unlink()  # later steps start from the demo corpus again
    assert run.state.is_failed(), f"{run.state.name}: {run.state.message}"
    assert BAD in run.state.message
    analysis = _inputs_analysis(topology, run.id)
    states = {t.name: t.state.name for t in topology.task_runs(analysis.id)}
    before = {t.name for t in topology.task_runs(_inputs_analysis(topology, first.id).id)}
    assert states == {**{name: "Cached" for name in before}, f"analyze-{BAD}": "Failed"}
    rows = {row["file"]: row for row in topology.table("analyze-inputs-files", analysis.id)}
    assert rows.pop(BAD)["status"] == "failed"
    assert {row["status"] for row in rows.values()} == {"cached"}
    topology.runs["bad-file"] = run


@pytest.mark.skipif(not (CHROMIUM and DRIVER), reason=MISSING)
def test_flow_run_page_shows_per_file_task_states(topology, artifacts_dir, capsys):
    from selenium.webdriver.support.ui import WebDriverWait

    analysis = _inputs_analysis(topology, _needs(topology, "bad-file").id)
    expected = {t.name: t.state.name for t in topology.task_runs(analysis.id)}
    browser = start_chromium("1400,1800")
    try:
        wait = WebDriverWait(browser, 90, poll_frequency=1)
        # With an auth string the UI asks for it first (and keeps it in localStorage).
        browser.get(f"{topology.ui}/login")
        wait.until(lambda b: b.find_elements("css selector", "input[type=password]"))[0].send_keys(AUTH)
        browser.find_element("css selector", "button[type=submit]").click()
        wait.until(lambda b: "/login" not in b.current_url)
        browser.get(f"{topology.ui}/runs/flow-run/{analysis.id}")
        wait.until(lambda b: b.find_elements("css selector", "li#task-runs"))[0].click()

        def shown_states(b):
            lines = [line.strip() for line in b.find_element("tag name", "body").text.splitlines()]
            states = {lines[i]: lines[i + 1] for i in range(len(lines) - 1) if lines[i] in expected}
            return states if len(states) == len(expected) else None

        shown = wait.until(shown_states, message=f"the page did not list the task runs {sorted(expected)}")
        assert shown == expected
        shot = artifacts_dir / "e2e-flow-run.png"
        browser.save_screenshot(str(shot))
    finally:
        browser.quit()
    assert shot.stat().st_size > 20_000
    with capsys.disabled():
        print(f"\nscreenshot of the flow-run page: {shot}")
