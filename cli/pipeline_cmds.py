"""The commands that run the pipeline's flows: ``demo``, ``analyze``, ``train``, ``eval``,
``render`` and ``run``; their parsers, and the summaries they print.

Each command runs its flow (under the Prefect API cli/prefect_session.py chose) and prints
what it did; exit status 1 when some files failed (the others are done and written).
"""

from __future__ import annotations

import sys

from storage.layout import (
    CACHE,
    DATA_DIR,
    DEFAULT_ADAPTER,
    DEFAULT_CACHE,
    DEFAULT_EVAL_INPUTS,
    DEFAULT_INPUTS,
    DEFAULT_RENDER_INPUTS,
    DEFAULT_RENDERS,
    DEFAULT_REPORT,
    DataLayout,
)

from .console import printable
from .options import common_options, debug_option, runner_parameters

# Command -> the flows module it runs (imported while a temporary server starts).
FLOW_MODULES = {"demo": "demo", "analyze": "analyze", "train": "train", "eval": "evaluate", "run": "pipeline",
                "render": "render"}


def cmd_demo(args) -> int:
    from flows.demo import demo_flow

    info = demo_flow(out_dir=args.out, n_inputs=args.n_inputs, n_eval=args.n_eval, seed=args.seed)
    print(f"demo corpus: {info['n_inputs']} inputs, {info['n_eval']} eval clips in {args.out}")
    return 0


def cmd_analyze(args) -> int:
    from flows.analyze import analyze_flow
    from flows.summary import run_flow

    summary, failed = run_flow(analyze_flow, input_dir=args.input, cache_dir=args.out, config_path=args.config,
                               show_progress=not args.quiet, **runner_parameters(args))
    print_files_table(summary)
    return 1 if failed else 0


def cmd_train(args) -> int:
    from flows.train import train_flow

    result = train_flow(cache_dir=args.cache, out_path=args.out, config_path=args.config,
                        manifest=args.manifest, show_progress=not args.quiet,
                        force_publish=args.force_publish, **runner_parameters(args))
    _print_train(result)
    return 0


def cmd_eval(args) -> int:
    from flows.evaluate import evaluate_flow
    from flows.summary import run_flow

    result, failed = run_flow(evaluate_flow, input_dir=args.input, adapter=args.adapter, report=args.report,
                              cache_dir=args.cache, config_path=args.config, show_progress=not args.quiet,
                              **runner_parameters(args))
    _print_headline(result)
    return 1 if failed else 0


def cmd_render(args) -> int:
    from flows.render import render_piece_flow
    from flows.summary import display_path, run_flow
    from tasks.progress import console

    result, failed = run_flow(render_piece_flow, input_path=args.input, adapter=args.adapter, out_dir=args.out,
                              cache_dir=args.cache, config_path=args.config, show_progress=not args.quiet)
    for row in result["files"]:
        piece = row.get("result") or {}
        detail = (f"{piece['bpm']} BPM, {piece['bars']} bars, {piece['seconds']} s -> {display_path(piece['wav'])} "
                  "(+ .json, .cue)" if piece else row.get("error") or "")
        console.print(f"{printable(row['source'])}: {row['status']}: {printable(detail)}", highlight=False)
    return 1 if failed else 0


def cmd_run(args) -> int:
    from flows.pipeline import pipeline_flow
    from flows.summary import run_flow

    # The demo corpus is written only for the default data folder: an explicit folder that is
    # empty or missing is a mistake to report, not a place to fill with synthetic music.
    # --models and --reports follow --data unless given (storage/layout.py: default_models_dir).
    result, failed = run_flow(pipeline_flow, data_dir=args.data or DATA_DIR, models_dir=args.models,
                              reports_dir=args.reports, config_path=args.config,
                              demo_if_empty=args.data is None, show_progress=not args.quiet,
                              **runner_parameters(args))
    print_files_table(result["analyze"])
    _print_train(result["train"])
    _print_headline(result["eval"])
    if failed:
        print(f"aural run: {printable(failed)}", file=sys.stderr)
    return 1 if failed else 0


def written_by(args) -> str:
    """Where a command's outputs are, in words (the last line of a command whose server went away)."""
    if args.command == "run":
        layout = DataLayout.resolve(args.data or DATA_DIR, args.models, args.reports)
        return f"cache in {args.data or DATA_DIR}/{CACHE}, models in {layout.models_root}, " \
               f"reports in {layout.reports_root}"
    outputs = {"analyze": lambda: f"frames and manifest in {args.out}", "train": lambda: f"adapter {args.out}",
               "eval": lambda: f"report {args.report}", "render": lambda: f"renders in {args.out}"}
    return outputs.get(args.command, lambda: f"outputs in {getattr(args, 'out', '.')}")()


# -- the summaries -------------------------------------------------------------------------------

def print_files_table(summary: dict) -> None:
    """The per-file table of a stage (file, status, frames, audio seconds, error) and its counts."""
    from rich.table import Table

    from tasks.progress import console

    table = Table(title=f"{summary['stage']} summary")
    for col in ("file", "status", "frames", "audio s", "detail"):
        table.add_column(col)
    for row in sorted(summary["files"], key=lambda r: r["source"]):
        res = row.get("result") or {}
        style = {"failed": "red", "cached": "cyan", "computed": "green"}[row["status"]]
        table.add_row(printable(row["source"]), f"[{style}]{row['status']}", str(res.get("n_frames", "")),
                      f"{res.get('seconds', 0):.1f}" if res else "", printable(row.get("error") or ""))
    console.print(table)
    console.print(f"computed {len(summary['computed'])} | cached {len(summary['cached'])} | "
                  f"failed {len(summary['failed'])}")


def _print_train(result: dict) -> None:
    from tasks.progress import console

    augmented = result["dataset"].get("n_augmented_sections", 0)
    console.print(f"adapter {result['adapter']} ({result['ref'][:19]}...), {result['dataset']['n_sections']} "
                  f"sections from {result['dataset']['n_files']} files"
                  + (f" (+{augmented} augmented)" if augmented else "")
                  + f", best epoch {result['best_epoch']}/{result['epochs_run']}")
    for split, metrics in result["metrics"].items():
        console.print(f"  {split:10s} " + "  ".join(f"{k} {v:.3f}" for k, v in metrics.items()))
    if "decision" in result:
        from aural_core.selection import PublishDecision

        lineage = result.get("lineage") or {}
        console.print(PublishDecision(**result["decision"]).one_line()
                      + (f" · data folder {printable(lineage['name'])}" if lineage else ""), highlight=False)


def _print_headline(result: dict) -> None:
    from rich.table import Table

    from tasks.progress import console

    h = result["headline"]
    if result.get("verdict"):
        console.print(printable(result["verdict"]), highlight=False)
    table = Table(title="evaluation (held-out music)")
    for col in ("MatchScore", "baseline", "delta (>= 0.1)", "TempoCorr (>= 0.3)", "BPM MAE", "sections", "result",
                "passed_ci (whole interval >= 0.1)"):
        table.add_column(col)
    passed = "[green]PASSED" if h["passed"] else "[red]NOT PASSED"
    passed_ci = "yes" if h.get("passed_ci") else "no"
    table.add_row(*(str(h[k]) for k in ("match_score", "baseline_match_score", "match_delta", "tempo_corr",
                                        "bpm_mae", "n_sections")), passed, passed_ci)
    console.print(table)
    if result.get("adapter"):
        from storage.report import AdapterReport

        console.print(f"adapter scored: {printable(AdapterReport(**result['adapter']).one_line())}", highlight=False)
    _print_attributes(result["report"])
    console.print(f"report: {result['report']} · {result['markdown']} · {result['html']}")


def _print_attributes(report_path: str) -> None:
    """The per-attribute tables against the references, as eval.md shows them (compact)."""
    from rich.table import Table

    from storage.report import read_eval_json
    from storage.report_pages import attribute_rows, interval
    from tasks.progress import console

    def num(v) -> str:
        return "–" if v is None else f"{v:.2f}"

    report = read_eval_json(report_path)
    rows = attribute_rows(report)
    values = Table(title="each render vs its source (independent estimator; match: embedding)")
    deltas = Table(title=f"adapter - reference, [{report.ci_level:.0%} file-level interval]")
    for table, columns in ((values, list(report.attributes)), (deltas, list(report.differences))):
        table.add_column("attribute")
        for c in columns:
            table.add_column(c, justify="right")
    for row in rows:
        values.add_row(row["metric"], *(num(row["values"][k]) for k in report.attributes))
        deltas.add_row(row["metric"], *(f"{num(d.delta)} {interval(d, '{:.2f}')}"
                                        for d in (row["deltas"][ref] for ref in report.differences)))
    console.print(values)
    console.print(deltas)


# -- the parsers ---------------------------------------------------------------------------------

def add_parsers(sub) -> None:
    """The pipeline's commands under the CLI's sub-commands ``sub``."""
    p = sub.add_parser("demo", help="write the deterministic demo corpus with ground truth")
    p.add_argument("--out", default=DATA_DIR, help="folder for inputs/ and eval/ (default: %(default)s)")
    p.add_argument("--n-inputs", type=int, default=24, help="training clips (default: %(default)s)")
    p.add_argument("--n-eval", type=int, default=6, help="held-out clips (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="corpus seed (default: %(default)s)")
    debug_option(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("analyze", help="per-frame features of every audio file into Parquet")
    p.add_argument("--in", dest="input", default=DEFAULT_INPUTS, help="audio folder (default: %(default)s)")
    p.add_argument("--out", default=DEFAULT_CACHE, help="cache folder for frames/ (default: %(default)s)")
    common_options(p)
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("train", help="weak labels, sections and adapter training")
    p.add_argument("--cache", default=DEFAULT_CACHE, help="analysis cache (default: %(default)s)")
    p.add_argument("--out", default=DEFAULT_ADAPTER, help="published adapter (default: %(default)s)")
    p.add_argument("--manifest", default=None,
                   help="the analysed folder to train on, by name or path (default: the cache's only one)")
    p.add_argument("--force-publish", action="store_true",
                   help="publish the new adapter even when its held-out loss is worse than the published one's")
    common_options(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="render held-out sections with predicted controls and score them")
    p.add_argument("--in", dest="input", default=DEFAULT_EVAL_INPUTS, help="held-out audio (default: %(default)s)")
    p.add_argument("--adapter", default=DEFAULT_ADAPTER, help="adapter file (default: %(default)s)")
    p.add_argument("--report", default=DEFAULT_REPORT,
                   help="report path; eval.md, index.html and audio/ go beside it (default: %(default)s)")
    p.add_argument("--cache", default=DEFAULT_CACHE, help="analysis and render cache (default: %(default)s)")
    common_options(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("render", help="render whole inputs as intro -> build -> release at one tempo (WAV + cue sheet)")
    p.add_argument("--in", dest="input", default=DEFAULT_RENDER_INPUTS,
                   help="an audio file, or a folder: every file in it (default: %(default)s)")
    p.add_argument("--out", default=DEFAULT_RENDERS, help="folder for <name>.wav/.json/.cue (default: %(default)s)")
    p.add_argument("--adapter", default=DEFAULT_ADAPTER, help="adapter file (default: %(default)s)")
    p.add_argument("--cache", default=DEFAULT_CACHE, help="analysis and render cache (default: %(default)s)")
    common_options(p)
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("run", help="analyse, train, evaluate and report on --data (the demo corpus when "
                                          "no --data is given and data/ is empty)")
    p.add_argument("--data", default=None,
                   help="inputs/, eval/ and cache/ live here (default: data, filled with the demo corpus when empty)")
    p.add_argument("--models", default=None,
                   help="adapter.pt, metadata.json and the model store (default: models/ for the default data "
                        "folder, <data>/models for any other)")
    p.add_argument("--reports", default=None,
                   help="eval.json, eval.md, index.html (default: reports/ for the default data folder, "
                        "<data>/reports for any other)")
    common_options(p)
    p.set_defaults(func=cmd_run)
