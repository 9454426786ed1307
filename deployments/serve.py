"""Deployments of the Aural Architect flows, served from this machine.

    .venv/bin/prefect server start            # the UI, in another terminal
    PREFECT_API_URL=http://127.0.0.1:4200/api .venv/bin/aural-serve

gives, in the Prefect UI:
- ``pipeline/aural-run``: the whole pipeline, run on demand (Run button, editable parameters);
- ``pipeline/nightly-retrain``: the same on a cron schedule (03:00 by default);
- ``watch-inputs/on-new-inputs``: polls the input folder and retrains when files land;
- ``analyze/analyze``, ``train/train``, ``evaluate/evaluate``: each stage on demand.
"""

from __future__ import annotations

import argparse
from datetime import timedelta


def build_deployments(*, data_dir: str = "data", models_dir: str = "models", reports_dir: str = "reports",
                      retrain_cron: str = "0 3 * * *", poll_minutes: float = 10.0) -> list:
    """The deployments to serve; paths are resolved by the serving process's working directory."""
    from flows.analyze import analyze_flow
    from flows.evaluate import evaluate_flow
    from flows.pipeline import pipeline_flow
    from flows.train import train_flow
    from flows.watch import watch_inputs_flow

    run = {"data_dir": data_dir, "models_dir": models_dir, "reports_dir": reports_dir, "show_progress": False}
    return [
        pipeline_flow.to_deployment(name="aural-run", parameters=run, tags=["aural"]),
        pipeline_flow.to_deployment(name="nightly-retrain", parameters=run, cron=retrain_cron, tags=["aural"]),
        watch_inputs_flow.to_deployment(name="on-new-inputs", parameters={k: v for k, v in run.items() if k != "show_progress"},
                                        interval=timedelta(minutes=poll_minutes), tags=["aural"]),
        analyze_flow.to_deployment(name="analyze", tags=["aural"], parameters={
            "input_dir": f"{data_dir}/inputs", "cache_dir": f"{data_dir}/cache", "show_progress": False}),
        train_flow.to_deployment(name="train", tags=["aural"], parameters={
            "cache_dir": f"{data_dir}/cache", "out_path": f"{models_dir}/adapter.pt", "show_progress": False}),
        evaluate_flow.to_deployment(name="evaluate", tags=["aural"], parameters={
            "input_dir": f"{data_dir}/eval", "adapter": f"{models_dir}/adapter.pt",
            "report": f"{reports_dir}/eval.json", "cache_dir": f"{data_dir}/cache", "show_progress": False}),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="aural-serve", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="data")
    parser.add_argument("--models", default="models")
    parser.add_argument("--reports", default="reports")
    parser.add_argument("--retrain-cron", default="0 3 * * *")
    parser.add_argument("--poll-minutes", type=float, default=10.0)
    args = parser.parse_args(argv)
    from prefect import serve

    serve(*build_deployments(data_dir=args.data, models_dir=args.models, reports_dir=args.reports,
                             retrain_cron=args.retrain_cron, poll_minutes=args.poll_minutes),
          limit=2)  # two cores: at most two flow runs at once


if __name__ == "__main__":
    main()
