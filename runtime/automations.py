"""The automations that make a dead run visible and retried, in Prefect's own terms.

A flow run whose process dies (kill -9, out of memory, its machine gone) cannot report its
end. With a worker alive, the worker reports it Crashed; when the worker dies too, nobody
does, and the run would read Running forever. Prefect's answer (docs: "Detect zombie flows")
is a heartbeat: every aural flow run sends one every ``HEARTBEAT_SECONDS``
(``PREFECT_FLOWS_HEARTBEAT_FREQUENCY``, set where aural's flows run: prefect.yaml's job
environment, ``aural-serve``, the CLI) and an automation marks a run Crashed when no event of
it arrives for ``SILENT_SECONDS``. A second automation retries a crashed run of an aural
deployment: it sets the run back to Scheduled ("AwaitingRetry", as the UI's Retry button does),
so a worker runs it again, every cached file reused, up to ``AURAL_CRASH_RETRIES`` times (the
run count in the Crashed event's resource says how often it ran).

    python -m runtime.automations     # create or update both on PREFECT_API_URL's server

``make deploy`` runs it after ``prefect deploy --all`` (so do Docker Compose's deploy service,
``aural-serve`` and ``aural server start``). The automations are found by name, so running it
again updates them; ``AURAL_CRASH_RETRIES=0`` turns the retry off (the automation is disabled).
"""

from __future__ import annotations

import os
from datetime import timedelta

HEARTBEAT_SECONDS = 30   # Prefect's minimum; the window below allows one heartbeat late or lost
SILENT_SECONDS = 75      # no event for this long: Crashed (within 90 s of the process's death)
CRASH_RETRIES_ENV = "AURAL_CRASH_RETRIES"
DEFAULT_CRASH_RETRIES = 1
ZOMBIE = "aural: crash runs that stopped sending heartbeats"
RETRY = "aural: retry crashed deployment runs"
TAG = "aural"  # every deployment of deployments/specs.py carries it
# Every flow of the project, inner ones included (tests/flows/test_automations.py checks the list).
AURAL_FLOWS = ("pipeline", "retrain", "watch-inputs", "analyze", "analyze-files", "train", "train-sections",
               "evaluate", "evaluate-sections", "render-piece", "demo-corpus")


def crash_retries() -> int:
    """How many times a crashed deployment run is run again (``AURAL_CRASH_RETRIES``, default 1)."""
    raw = os.environ.get(CRASH_RETRIES_ENV, str(DEFAULT_CRASH_RETRIES))
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{CRASH_RETRIES_ENV}={raw!r} must be a whole number") from None
    if value < 0:
        raise ValueError(f"{CRASH_RETRIES_ENV}={raw!r} must be 0 or more")
    return value


def zombie_automation():
    """Crashed, for an aural flow run from which no event came for ``SILENT_SECONDS`` after a
    heartbeat (a heartbeat, a state change: any event of that run disarms it)."""
    from prefect.automations import AutomationCore
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture

    return AutomationCore(
        name=ZOMBIE,
        description=f"An aural flow run sends a heartbeat every {HEARTBEAT_SECONDS} s while its process lives; "
                    f"after {SILENT_SECONDS} s without any event of it, its process is taken as dead.",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"}, expect={"prefect.flow-run.*"},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.role": "flow", "prefect.resource.name": list(AURAL_FLOWS)},
            for_each={"prefect.resource.id"}, posture=Posture.Proactive, threshold=1,
            within=timedelta(seconds=SILENT_SECONDS)),
        actions=[ChangeFlowRunState(
            state=StateType.CRASHED,
            message=f"No heartbeat for {SILENT_SECONDS} s: the process running this flow run died "
                    "(its worker or machine too). Automation: " + ZOMBIE)])


def retry_automation(retries: int):
    """Scheduled again ("AwaitingRetry"), for a crashed run of an aural deployment that has run
    at most ``retries`` times; disabled with 0 retries."""
    from prefect.automations import AutomationCore
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture

    return AutomationCore(
        name=RETRY,
        description=f"A crashed run of an aural deployment runs again, at most {retries} time(s) "
                    f"({CRASH_RETRIES_ENV}); its caches make the retry redo only unfinished work.",
        enabled=retries > 0,
        trigger=EventTrigger(
            expect={"prefect.flow-run.Crashed"},
            match={"prefect.resource.id": "prefect.flow-run.*",
                   "prefect.run-count": [str(n) for n in range(1, max(retries, 1) + 1)]},
            match_related=[{"prefect.resource.role": "deployment"},
                           {"prefect.resource.role": "tag", "prefect.resource.id": f"prefect.tag.{TAG}"}],
            posture=Posture.Reactive, threshold=1, within=timedelta(0)),
        actions=[ChangeFlowRunState(
            state=StateType.SCHEDULED, name="AwaitingRetry",
            message=f"Retried after a crash (at most {retries} time(s), {CRASH_RETRIES_ENV}). Automation: {RETRY}")])


def ensure_automations(client=None) -> list[str]:
    """Create or update (by name) both automations on the server of ``client`` (a sync Prefect
    client; PREFECT_API_URL's when None); returns their names."""
    from prefect.client.orchestration import get_client

    automations = [zombie_automation(), retry_automation(crash_retries())]
    if client is None:
        with get_client(sync_client=True) as own:
            return _upsert(own, automations)
    return _upsert(client, automations)


def _upsert(client, automations) -> list[str]:
    for automation in automations:
        existing = client.read_automations_by_name(automation.name)
        if existing:
            client.update_automation(existing[0].id, automation)
        else:
            client.create_automation(automation)
    return [a.name for a in automations]


def main() -> None:
    for name in ensure_automations():
        print(f"automation: {name}")


if __name__ == "__main__":
    main()
