"""Serve the Aural Architect deployments from this machine (no work pool needed).

    .venv/bin/prefect server start            # the UI, in another terminal
    PREFECT_API_URL=http://127.0.0.1:4200/api .venv/bin/aural-serve

gives, in the Prefect UI (names end in ``-served``; ``prefect.yaml`` registers the same set
without the suffix for a work pool):
- ``pipeline/aural-run-served``: the whole pipeline, run on demand (Run button, editable parameters);
- ``watch-inputs/on-new-inputs-served``: polls the input folder and emits ``aural.inputs.changed``
  when files land;
- ``retrain/retrain-served``: runs on that event (an automation), once per input set;
- ``retrain/nightly-retrain-served``: the same check on a cron schedule (03:00 in --timezone);
- ``analyze/analyze-served``, ``train/train-served``, ``evaluate/evaluate-served``: each stage;
- ``render-piece/render-served``: whole-piece renders of every file in ``data/render``.

Relative --data/--models/--reports resolve against the directory aural-serve starts in.
"""

from __future__ import annotations

import argparse
import importlib
import os
from datetime import timedelta

from runtime.automations import HEARTBEAT_SECONDS, ensure_automations
from storage.layout import DATA_DIR, MODELS_DIR, REPORTS_DIR

from .specs import POLL_MINUTES, RETRAIN_CRON, DeploymentSpec, deployment_specs


def local_timezone() -> str:
    """This machine's IANA time zone name (UTC when it cannot be told)."""
    try:
        import tzlocal

        return tzlocal.get_localzone_name() or "UTC"
    except Exception:  # no zone configured (a bare container): schedules run in UTC
        return "UTC"


def _flow(spec: DeploymentSpec):
    path, attr = spec.entrypoint.split(":")
    return getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), attr)


def _triggers(spec: DeploymentSpec) -> list:
    """The automation of an event-driven deployment (shown under Automations in the UI)."""
    if not spec.trigger_event:
        return []
    from prefect.events import DeploymentEventTrigger

    return [DeploymentEventTrigger(name=f"{spec.served_name} on {spec.trigger_event}",
                                   expect={spec.trigger_event}, match={"prefect.resource.id": spec.trigger_match})]


def _concurrency(spec: DeploymentSpec):
    if spec.concurrency_limit is None:
        return None
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

    return ConcurrencyLimitConfig(limit=spec.concurrency_limit, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)


def build_deployments(*, data_dir: str = DATA_DIR, models_dir: str = MODELS_DIR, reports_dir: str = REPORTS_DIR,
                      retrain_cron: str = RETRAIN_CRON, poll_minutes: float = POLL_MINUTES,
                      timezone: str | None = None) -> list:
    """The served deployments, from ``deployment_specs``."""
    from prefect.schedules import Cron, Interval

    timezone = timezone or local_timezone()
    out = []
    for spec in deployment_specs(data_dir=data_dir, models_dir=models_dir, reports_dir=reports_dir,
                                 retrain_cron=retrain_cron, poll_minutes=poll_minutes):
        schedules = []
        if spec.cron:
            schedules.append(Cron(spec.cron, timezone=timezone))
        if spec.interval_minutes:
            schedules.append(Interval(timedelta(minutes=spec.interval_minutes), timezone=timezone))
        out.append(_flow(spec).to_deployment(name=spec.served_name, parameters=spec.parameters,
                                             description=spec.description, tags=list(spec.tags),
                                             schedules=schedules, triggers=_triggers(spec),
                                             concurrency_limit=_concurrency(spec)))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="aural-serve", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=DATA_DIR, help="data folder (default: %(default)s)")
    parser.add_argument("--models", default=MODELS_DIR, help="models folder (default: %(default)s)")
    parser.add_argument("--reports", default=REPORTS_DIR, help="reports folder (default: %(default)s)")
    parser.add_argument("--retrain-cron", default=RETRAIN_CRON, help="nightly retrain (default: %(default)s)")
    parser.add_argument("--timezone", default=local_timezone(),
                        help="IANA time zone of the cron schedule (default: this machine's, %(default)s)")
    parser.add_argument("--poll-minutes", type=float, default=POLL_MINUTES,
                        help="how often on-new-inputs looks at the training folder (default: %(default)s)")
    args = parser.parse_args(argv)
    # The heartbeat of every run it starts, and the automations that use it (runtime/automations.py).
    os.environ.setdefault("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", str(HEARTBEAT_SECONDS))
    from prefect import serve

    ensure_automations()

    serve(*build_deployments(data_dir=args.data, models_dir=args.models, reports_dir=args.reports,
                             retrain_cron=args.retrain_cron, poll_minutes=args.poll_minutes,
                             timezone=args.timezone),
          limit=2)  # two cores: at most two flow runs at once


if __name__ == "__main__":
    main()
