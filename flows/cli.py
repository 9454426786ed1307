"""The ``aural`` command line: each command runs a Prefect flow and prints a summary."""

from __future__ import annotations

import argparse
import os
import sys


def _prefect_defaults() -> None:
    """Quiet, local-friendly Prefect defaults; the user's own settings win."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")


def _print_files_table(summary: dict) -> None:
    from rich.table import Table

    from tasks.progress import console

    table = Table(title=f"{summary['stage']} summary")
    for col in ("file", "status", "frames", "audio s", "detail"):
        table.add_column(col)
    for row in sorted(summary["files"], key=lambda r: r["source"]):
        res = row.get("result") or {}
        style = {"failed": "red", "cached": "cyan", "computed": "green"}[row["status"]]
        table.add_row(row["source"], f"[{style}]{row['status']}", str(res.get("n_frames", "")),
                      f"{res.get('seconds', 0):.1f}" if res else "", row.get("error") or "")
    console.print(table)
    console.print(f"computed {len(summary['computed'])} | cached {len(summary['cached'])} | "
                  f"failed {len(summary['failed'])}")


def cmd_demo(args) -> int:
    from .demo import demo_flow

    info = demo_flow(out_dir=args.out, n_inputs=args.n_inputs, n_eval=args.n_eval, seed=args.seed)
    print(f"demo corpus: {info['n_inputs']} inputs, {info['n_eval']} eval clips in {args.out}")
    return 0


def cmd_analyze(args) -> int:
    from .analyze import analyze_flow
    from .summary import run_flow

    summary, failed = run_flow(analyze_flow, input_dir=args.input, cache_dir=args.out, config_path=args.config,
                               show_progress=not args.quiet)
    _print_files_table(summary)
    return 1 if failed else 0


def _print_train(result: dict) -> None:
    from tasks.progress import console

    augmented = result["dataset"].get("n_augmented_sections", 0)
    console.print(f"adapter {result['adapter']} ({result['ref'][:19]}...), {result['dataset']['n_sections']} "
                  f"sections from {result['dataset']['n_files']} files"
                  + (f" (+{augmented} augmented)" if augmented else "")
                  + f", best epoch {result['best_epoch']}/{result['epochs_run']}")
    for split, metrics in result["metrics"].items():
        console.print(f"  {split:10s} " + "  ".join(f"{k} {v:.3f}" for k, v in metrics.items()))


def cmd_train(args) -> int:
    from .train import train_flow

    result = train_flow(cache_dir=args.cache, out_path=args.out, config_path=args.config,
                        manifest=args.manifest, show_progress=not args.quiet)
    _print_train(result)
    return 0


def _print_headline(result: dict) -> None:
    from rich.table import Table

    from tasks.progress import console

    h = result["headline"]
    table = Table(title="evaluation (held-out music)")
    for col in ("MatchScore", "baseline", "delta (>= 0.1)", "TempoCorr (>= 0.3)", "BPM MAE", "sections", "result"):
        table.add_column(col)
    verdict = "[green]PASSED" if h["passed"] else "[red]NOT PASSED"
    table.add_row(*(str(h[k]) for k in ("match_score", "baseline_match_score", "match_delta", "tempo_corr",
                                        "bpm_mae", "n_sections")), verdict)
    console.print(table)
    console.print(f"report: {result['report']} · {result['markdown']} · {result['html']}")


def cmd_eval(args) -> int:
    from .evaluate import evaluate_flow
    from .summary import run_flow

    result, failed = run_flow(evaluate_flow, input_dir=args.input, adapter=args.adapter, report=args.report,
                              cache_dir=args.cache, config_path=args.config, show_progress=not args.quiet)
    _print_headline(result)
    return 1 if failed else 0


def cmd_run(args) -> int:
    from storage.layout import DATA_DIR

    from .pipeline import pipeline_flow
    from .summary import run_flow

    # The demo corpus is written only for the default data folder: an explicit folder that is
    # empty or missing is a mistake to report, not a place to fill with synthetic music.
    result, failed = run_flow(pipeline_flow, data_dir=args.data or DATA_DIR, models_dir=args.models,
                              reports_dir=args.reports, config_path=args.config,
                              demo_if_empty=args.data is None, show_progress=not args.quiet)
    _print_files_table(result["analyze"])
    _print_train(result["train"])
    _print_headline(result["eval"])
    if failed:
        print(f"aural run: {failed}", file=sys.stderr)
    return 1 if failed else 0


def _common_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=None, help="TOML/JSON config file (defaults otherwise)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aural", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="write the deterministic demo corpus with ground truth")
    p.add_argument("--out", default="data", help="folder for inputs/ and eval/ (default: %(default)s)")
    p.add_argument("--n-inputs", type=int, default=24, help="training clips (default: %(default)s)")
    p.add_argument("--n-eval", type=int, default=6, help="held-out clips (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="corpus seed (default: %(default)s)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("analyze", help="per-frame features of every audio file into Parquet")
    p.add_argument("--in", dest="input", default="data/inputs", help="audio folder (default: %(default)s)")
    p.add_argument("--out", default="data/cache", help="cache folder for frames/ (default: %(default)s)")
    _common_options(p)
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("train", help="weak labels, sections and adapter training")
    p.add_argument("--cache", default="data/cache", help="analysis cache (default: %(default)s)")
    p.add_argument("--out", default="models/adapter.pt", help="published adapter (default: %(default)s)")
    p.add_argument("--manifest", default=None,
                   help="the analysed folder to train on, by name or path (default: the cache's only one)")
    _common_options(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="render held-out sections with predicted controls and score them")
    p.add_argument("--in", dest="input", default="data/eval", help="held-out audio (default: %(default)s)")
    p.add_argument("--adapter", default="models/adapter.pt", help="adapter file (default: %(default)s)")
    p.add_argument("--report", default="reports/eval.json",
                   help="report path; eval.md, index.html and audio/ go beside it (default: %(default)s)")
    p.add_argument("--cache", default="data/cache", help="analysis and render cache (default: %(default)s)")
    _common_options(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("run", help="the whole pipeline on the embedded default (demo corpus)")
    p.add_argument("--data", default=None,
                   help="inputs/, eval/ and cache/ live here (default: data, filled with the demo corpus when empty)")
    p.add_argument("--models", default="models", help="(default: %(default)s)")
    p.add_argument("--reports", default="reports", help="(default: %(default)s)")
    _common_options(p)
    p.set_defaults(func=cmd_run)
    return parser


def _check_paths(args) -> str | None:
    """Problems a user can fix before any flow starts (no Prefect server needed to say so)."""
    from pathlib import Path

    checks = {
        "analyze": [("input", "input folder")], "eval": [("input", "input folder"), ("adapter", "adapter file")],
        "train": [("cache", "cache folder")],
    }.get(args.command, [])
    for attr, what in checks:
        if not Path(getattr(args, attr)).exists():
            return f"{what} {getattr(args, attr)} does not exist"
    if args.command == "train":
        from aural_core.errors import InputsMissingError
        from storage.layout import CacheLayout
        from storage.manifest import resolve_manifest

        cache = CacheLayout(Path(args.cache))
        try:
            name = resolve_manifest(cache, args.manifest)
        except InputsMissingError as exc:
            return str(exc)
        if not cache.manifest(name).is_file():
            return (f"{args.cache} holds no analysis of a folder named {name!r}: "
                    f"run `aural analyze --in <.../{name}> --out {args.cache}` first, "
                    "or name the analysed folder with --manifest")
    if getattr(args, "config", None) and not Path(args.config).is_file():
        return f"config file {args.config} does not exist"
    return None


def main(argv: list[str] | None = None) -> int:
    _prefect_defaults()
    args = build_parser().parse_args(argv)
    problem = _check_paths(args)
    if problem:
        print(f"aural {args.command}: {problem}", file=sys.stderr)
        return 2
    from aural_core.errors import AuralError

    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (AuralError, FileNotFoundError, ValueError) as exc:
        # The flow run is marked failed in Prefect (with its traceback); here, one clear line.
        print(f"aural {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
