"""The production topology, natively (no Docker engine here): PostgreSQL, a Prefect server on it
with an auth string, ``prefect deploy --all`` from a clean copy of the checkout, and a process
worker running the flows in that copy.

``native_topology()`` starts it all and tears it all down, failure or not; the ``Topology`` it
yields has the helpers test steps need (start and wait for deployment runs, read their subflow
runs, task runs and artifacts), so later steps can be appended without new plumbing.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas import filters as pf

from ..prefect_server import BIN, PrefectServer
from .postgres import Postgres

ROOT = Path(__file__).resolve().parents[2]
AUTH = "aural:e2e-secret"  # PREFECT_SERVER_API_AUTH_STRING (server) = PREFECT_API_AUTH_STRING (clients)
POOL = "aural-local"       # prefect.yaml's work pool


def copy_checkout(dest: Path) -> Path:
    """The checkout's tracked files (as they are in the working tree) under ``dest``: the worker
    runs from a clean tree, without data/, models/, reports/ or caches of this one."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():  # tracked but deleted in the working tree: skip
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def wait_for(predicate, timeout: float, what: str, every: float = 2.0):
    """``predicate()``'s first truthy value, polled until ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


class Topology:
    """A running topology: ``home`` is the worker's checkout copy (its AURAL_HOME), ``server`` the
    Prefect server, ``runs`` what earlier steps ran (by step name) for later ones to look at."""

    def __init__(self, home: Path, server: PrefectServer, postgres: Postgres):
        self.home, self.server, self.postgres = home, server, postgres
        self.ui = server.url.removesuffix("/api")
        self.runs: dict[str, object] = {}
        self.worker: subprocess.Popen | None = None
        self.worker_env: dict[str, str] = {}

    def start_worker(self) -> subprocess.Popen:
        """``make worker`` in the copy (again, after a kill: as a supervisor restarts it)."""
        self.worker = _start_worker(self, self.worker_env)
        return self.worker

    def kill_worker(self) -> None:
        """SIGKILL to the worker's process group, as a crash of its machine would end it (its flow
        runs' processes live in sessions of their own: see ``flow_run_processes``)."""
        if self.worker is not None and self.worker.poll() is None:
            os.killpg(self.worker.pid, signal.SIGKILL)
            self.worker.wait()

    def flow_run_processes(self, flow_run_id) -> list[int]:
        """The processes running ``flow_run_id`` (a worker names it in their environment)."""
        marker = f"PREFECT__FLOW_RUN_ID={flow_run_id}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:  # gone meanwhile
                pass
        return found

    def states(self, flow_run_id) -> list[str]:
        """The names of a flow run's states, oldest first."""
        with self.client() as client:
            return [s.name for s in sorted(client.read_flow_run_states(flow_run_id), key=lambda s: s.timestamp)]

    def client(self) -> SyncPrefectClient:
        return SyncPrefectClient(self.server.url, auth_string=AUTH)

    def start_run(self, deployment: str, parameters: dict | None = None):
        """A flow run of ``deployment`` ("flow/deployment") created through the API; its id."""
        with self.client() as client:
            dep = client.read_deployment_by_name(deployment)
            return client.create_flow_run_from_deployment(dep.id, parameters=parameters or {}).id

    def wait(self, flow_run_id, timeout: float = 600):
        """The flow run once it is in a final state (Completed, Failed, Crashed, Cancelled)."""
        def final():
            with self.client() as client:
                run = client.read_flow_run(flow_run_id)
            return run if run.state and run.state.is_final() else None

        return wait_for(final, timeout, f"flow run {flow_run_id} to finish (worker log: {self.worker_log})", 3)

    def run_deployment(self, deployment: str, parameters: dict | None = None, timeout: float = 600):
        """Start a run of ``deployment`` and wait for it to finish; the finished flow run."""
        return self.wait(self.start_run(deployment, parameters), timeout)

    def subflow_runs(self, flow_run_id, flow_name: str | None = None) -> list:
        """Flow runs started inside ``flow_run_id`` (of the flow ``flow_name`` when given)."""
        with self.client() as client:
            return client.read_flow_runs(
                flow_run_filter=pf.FlowRunFilter(parent_flow_run_id=pf.FlowRunFilterParentFlowRunId(any_=[flow_run_id])),
                flow_filter=pf.FlowFilter(name=pf.FlowFilterName(any_=[flow_name])) if flow_name else None)

    def task_runs(self, flow_run_id) -> list:
        """Task runs of one flow run (not of its subflows), by name."""
        with self.client() as client:
            runs = client.read_task_runs(task_run_filter=pf.TaskRunFilter(
                flow_run_id=pf.TaskRunFilterFlowRunId(any_=[flow_run_id])), limit=200)
        return sorted(runs, key=lambda r: r.name)

    def artifacts(self, key: str, flow_run_id=None) -> list:
        """Artifacts with ``key`` (every version), of one flow run when given."""
        flt = pf.ArtifactFilter(key=pf.ArtifactFilterKey(any_=[key]))
        if flow_run_id is not None:
            flt.flow_run_id = pf.ArtifactFilterFlowRunId(any_=[flow_run_id])
        with self.client() as client:
            return client.read_artifacts(artifact_filter=flt)

    def table(self, key: str, flow_run_id) -> list[dict]:
        """The rows of the table artifact ``key`` of one flow run."""
        found = self.artifacts(key, flow_run_id)
        assert len(found) == 1 and found[0].type == "table", f"flow run {flow_run_id}: {key}: {found}"
        data = found[0].data
        return json.loads(data) if isinstance(data, str) else data

    def auth_header(self) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(AUTH.encode()).decode()}

    @property
    def worker_log(self) -> Path:
        return self.server.home / "worker.log"


def _kill_marked(token: str, spare_group: int | None = None) -> None:
    """End every process this topology started (they carry ``token`` in their environment:
    flow-run processes of the worker run in sessions of their own), but ``spare_group``'s."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if f"AURAL_E2E_TOKEN={token}".encode() not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            pid = int(entry.name)
            if spare_group is None or os.getpgid(pid) != spare_group:
                os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError):  # gone meanwhile, or not ours to read
            pass


def _start_worker(topo: Topology, env: dict[str, str]) -> subprocess.Popen:
    """``make worker`` in the copy: a process worker whose runs resolve relative paths there."""
    worker = subprocess.Popen(
        [str(BIN / "prefect"), "worker", "start", "--pool", POOL, "--type", "process"], cwd=topo.home, env=env,
        stdout=topo.worker_log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)

    def online():
        if worker.poll() is not None:
            raise RuntimeError(f"worker exited {worker.returncode}:\n{topo.worker_log.read_text()[-3000:]}")
        with topo.client() as client:
            return client.read_workers_for_work_pool(POOL)

    wait_for(online, 120, "the worker to register with its pool")
    return worker


def _deploy(topo: Topology) -> None:
    """``make deploy`` in the copy: the process pool, every deployment of prefect.yaml, then the
    automations (runtime/automations.py)."""
    from deployments.serve import local_timezone

    for args in ([str(BIN / "prefect"), "work-pool", "create", POOL, "--type", "process"],
                 [str(BIN / "prefect"), "--no-prompt", "deploy", "--all"],
                 [str(BIN / "python"), "-m", "runtime.automations"]):
        env = {"AURAL_TIMEZONE": local_timezone(), "PYTHONPATH": str(topo.home)}
        done = topo.server.run(*args, cwd=topo.home, env=env)
        assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"


@contextlib.contextmanager
def native_topology(root: Path) -> Iterator[Topology]:
    """Postgres, the server with auth on it, the deployments and a worker; all stopped after."""
    token = uuid.uuid4().hex
    postgres, server, topo = Postgres(), None, None
    try:
        postgres.start()
        home = copy_checkout(root / "checkout")
        server = PrefectServer(root / "prefect-home", extra_env={
            "AURAL_E2E_TOKEN": token,
            "PREFECT_API_DATABASE_CONNECTION_URL": postgres.url,
            "PREFECT_SERVER_API_AUTH_STRING": AUTH,
            "PREFECT_API_AUTH_STRING": AUTH,
            # No scheduler: the interval deployment (on-new-inputs) would start runs on the same
            # data folder as the test's own, at times the test does not choose.
            "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
        })
        server.start(timeout=240)  # the first start on Postgres runs every migration
        topo = Topology(home, server, postgres)
        _deploy(topo)
        topo.worker_env = {**server.env, "AURAL_HOME": str(home), "PYTHONPATH": str(home),
                           "PREFECT_WORKER_QUERY_SECONDS": "2"}
        topo.start_worker()
        yield topo
    finally:
        worker = topo.worker if topo is not None else None
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.wait(20)
        if server is not None:
            _kill_marked(token, spare_group=server.proc.pid if server.proc else None)
            server.stop()
            _kill_marked(token)
        postgres.stop()
