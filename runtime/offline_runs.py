"""The runs a command makes while its Prefect server does not answer, and what the server is owed.

runtime/prefect_offline.py answers the flow engine's calls locally while the server is gone; the
runs it creates so are *offline* (``OfflineRuns``): the server never hears of them, nor of any
run inside them, even once it answers again. For the runs the server does know, the last state
each one reached meanwhile is kept (flow runs: their state; task runs: their last state event)
to be sent when it answers again. What it does not get is counted in the command's
``ServerWatch.not_recorded`` (runtime/server_watch.py), which the command's last line reports.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from uuid import UUID, uuid4

import httpx

from .server_watch import current


class ServerUnreachable(httpx.TransportError):
    """The watched Prefect server does not answer (a transport error Prefect does not retry)."""


def _uuid(value) -> UUID | None:
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except ValueError:
        return None


def _accepted(state):
    """``state`` as the server returns an accepted one: with an id and a timestamp."""
    accepted = state.model_copy()
    accepted.id = uuid4()
    accepted.timestamp = datetime.now(UTC)
    return accepted


class OfflineRuns:
    """The runs this process made up while the server was away, and what it owes the server."""

    def __init__(self):
        self._lock = threading.Lock()
        self.flow_runs: dict[UUID, object] = {}  # offline FlowRun objects, kept current
        self.task_runs: set[UUID] = set()
        self.flows: dict[str, UUID] = {}
        self.known: dict[UUID, object] = {}      # the server's flow runs, as last seen
        self.unsent_states: dict[UUID, object] = {}  # the server's flow runs: state accepted here
        self.unsent_events: dict[str, object] = {}   # task run id -> its last state event

    def touches(self, ids) -> bool:
        ids = [_uuid(i) for i in ids if i is not None]
        with self._lock:
            return any(i in self.flow_runs or i in self.task_runs for i in ids)

    def is_offline(self, run_id) -> bool:
        return run_id is not None and self.touches([run_id])

    def remember(self, flow_run) -> None:
        with self._lock:
            self.known[flow_run.id] = flow_run

    def flow_run(self, flow, name=None, parameters=None, context=None, tags=None, parent_task_run_id=None,
                 state=None, **_):
        """A flow run as ``create_flow_run`` returns it."""
        from prefect.client.schemas.objects import FlowRun, FlowRunPolicy
        from prefect.states import Pending

        with self._lock:
            flow_id = self.flows.setdefault(flow.name, uuid4())
        run = FlowRun(flow_id=flow_id, flow_version=flow.version, parameters=parameters or {},
                      context=context or {}, tags=list(tags or []), parent_task_run_id=parent_task_run_id,
                      empirical_policy=FlowRunPolicy(retries=flow.retries,
                                                     retry_delay=int(flow.retry_delay_seconds or 0)),
                      **({"name": name} if name else {}))
        run.state = _accepted(state or Pending())
        with self._lock:
            self.flow_runs[run.id] = run
        missing(flow_run=run.id)
        return run

    def task_run(self, task, flow_run_id, dynamic_key, id=None, name=None, extra_tags=None, state=None, **_):
        """A task run as ``create_task_run`` returns it (a subflow's placeholder in its parent)."""
        from prefect.client.schemas.objects import TaskRun
        from prefect.states import Pending

        run = TaskRun(id=id or uuid4(), flow_run_id=flow_run_id, task_key=task.task_key, dynamic_key=str(dynamic_key),
                      tags=sorted(set(task.tags).union(extra_tags or [])), task_version=task.version,
                      state=_accepted(state or Pending()), **({"name": name} if name else {}))
        with self._lock:
            self.task_runs.add(run.id)
        return run

    def read_flow_run(self, flow_run_id):
        run_id = _uuid(flow_run_id)
        with self._lock:
            run = self.flow_runs.get(run_id) or self.known.get(run_id)
        if run is None:
            raise ServerUnreachable(f"flow run {flow_run_id}: the Prefect server does not answer")
        return run

    def set_state(self, flow_run_id, state, force=False):
        """Accept ``state`` as the server would (entering Running counts a run, as it does); a
        run the server knows gets it at the command's end if the server answers by then."""
        from prefect.client.schemas.responses import OrchestrationResult, SetStateStatus, StateAcceptDetails

        accepted = _accepted(state)
        run_id = _uuid(flow_run_id)
        with self._lock:
            run = self.flow_runs.get(run_id) or self.known.get(run_id)
            if run_id not in self.flow_runs:
                self.unsent_states[run_id] = accepted
        if run is not None:
            run.state = accepted
            if accepted.is_running():
                run.run_count += 1
        missing(flow_run=run_id)
        return OrchestrationResult(state=accepted, status=SetStateStatus.ACCEPT, details=StateAcceptDetails())

    def state_sent(self, flow_run_id) -> None:
        """The server took a state of this run: nothing older is owed."""
        run_id = _uuid(flow_run_id)
        with self._lock:
            self.unsent_states.pop(run_id, None)
        missing(flow_run=run_id, taken_back=True)

    def artifact(self, artifact):
        from prefect.client.schemas.objects import Artifact

        return Artifact(**artifact.model_dump(exclude_unset=True))

    def keep_event(self, event) -> bool:
        """Keep the state event of a task run the server knows of, to send it again later (the
        last one per task run: the server keeps a task run's newest state anyway)."""
        task_run = event.payload.get("task_run") if isinstance(event.payload, dict) else None
        if not event.event.startswith("prefect.task-run.") or not isinstance(task_run, dict):
            return False
        flow_run_id = task_run.get("flow_run_id")
        if self.is_offline(flow_run_id):
            return False
        if flow_run_id and not any(r.get("prefect.resource.role") == "flow-run" for r in event.related):
            from prefect.events.schemas.events import RelatedResource

            # what the events worker would have attached from the run's context
            event.related.append(RelatedResource.model_validate(
                {"prefect.resource.id": f"prefect.flow-run.{flow_run_id}", "prefect.resource.role": "flow-run"}))
        with self._lock:
            self.unsent_events[event.resource.id] = event
        return True

    def take_events(self) -> list:
        """The kept task-run state events, to send now (the server answers again)."""
        with self._lock:
            events = list(self.unsent_events.values())
            self.unsent_events.clear()
        return events

    def take_states(self) -> dict:
        """{flow run id: its last state} the server has not got, to send at the command's end."""
        with self._lock:
            states = dict(self.unsent_states)
            self.unsent_states.clear()
        return states


OFFLINE = OfflineRuns()


def missing(*, flow_run=None, task_run=None, logs: int = 0, taken_back: bool = False) -> None:
    """Count (or, ``taken_back``, uncount) what the server has not got."""
    watch = current()
    if watch is None:
        return
    missing = watch.not_recorded
    for ids, run in ((missing.flow_runs, flow_run), (missing.task_runs, task_run)):
        if run is not None:
            (ids.discard if taken_back else ids.add)(str(run))
    missing.logs += logs
