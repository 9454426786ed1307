"""The ``aural`` command line: each command runs a Prefect flow and prints a summary.

Before any server starts or file is read, a command checks its paths, its config (value
ranges) and that its output folders are writable; every failure is one line on stderr with
exit status 2 (1 when only some files failed), or a full traceback with ``--debug``. When the
Prefect server stops answering mid-run the work goes on, unrecorded (one line says so), and a
command whose work succeeded exits 3: done and written, but not recorded. Without
``PREFECT_API_URL`` the command uses the server ``aural server start`` left running in this
folder (flows/server_cmd.py), else runs its own temporary Prefect server as a child that dies
with it (flows/local_server.py). ``aural models`` manages the model store without any server.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import logging
import os
import signal
import sys
import tempfile
from pathlib import Path


def _prefect_defaults() -> None:
    """Quiet, local-friendly Prefect defaults; the user's own settings win."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    # The heartbeat every aural flow run sends (deployments/automations.py: silent runs are Crashed).
    os.environ.setdefault("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "30")


def printable(text: str) -> str:
    """``text`` safe to print anywhere: a non-UTF-8 file name (surrogate escapes) shows as U+FFFD.

    (Same as storage.report_pages.printable, which would import Jinja2 before the preflight.)
    """
    return str(text).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _print_files_table(summary: dict) -> None:
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


def cmd_demo(args) -> int:
    from .demo import demo_flow

    info = demo_flow(out_dir=args.out, n_inputs=args.n_inputs, n_eval=args.n_eval, seed=args.seed)
    print(f"demo corpus: {info['n_inputs']} inputs, {info['n_eval']} eval clips in {args.out}")
    return 0


def cmd_analyze(args) -> int:
    from .analyze import analyze_flow
    from .summary import run_flow

    summary, failed = run_flow(analyze_flow, input_dir=args.input, cache_dir=args.out, config_path=args.config,
                               show_progress=not args.quiet, **_runner(args))
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
    if "decision" in result:
        from aural_core.selection import PublishDecision

        lineage = result.get("lineage") or {}
        console.print(PublishDecision(**result["decision"]).one_line()
                      + (f" · data folder {printable(lineage['name'])}" if lineage else ""), highlight=False)


def cmd_train(args) -> int:
    from .train import train_flow

    result = train_flow(cache_dir=args.cache, out_path=args.out, config_path=args.config,
                        manifest=args.manifest, show_progress=not args.quiet,
                        force_publish=args.force_publish, **_runner(args))
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


def cmd_eval(args) -> int:
    from .evaluate import evaluate_flow
    from .summary import run_flow

    result, failed = run_flow(evaluate_flow, input_dir=args.input, adapter=args.adapter, report=args.report,
                              cache_dir=args.cache, config_path=args.config, show_progress=not args.quiet,
                              **_runner(args))
    _print_headline(result)
    return 1 if failed else 0


def cmd_render(args) -> int:
    from tasks.progress import console

    from .render import render_piece_flow
    from .summary import display_path, run_flow

    result, failed = run_flow(render_piece_flow, input_path=args.input, adapter=args.adapter, out_dir=args.out,
                              cache_dir=args.cache, config_path=args.config, show_progress=not args.quiet)
    for row in result["files"]:
        piece = row.get("result") or {}
        detail = (f"{piece['bpm']} BPM, {piece['bars']} bars, {piece['seconds']} s -> {display_path(piece['wav'])} "
                  "(+ .json, .cue)" if piece else row.get("error") or "")
        console.print(f"{printable(row['source'])}: {row['status']}: {printable(detail)}", highlight=False)
    return 1 if failed else 0


def cmd_run(args) -> int:
    from storage.layout import DATA_DIR

    from .pipeline import pipeline_flow
    from .summary import run_flow

    # The demo corpus is written only for the default data folder: an explicit folder that is
    # empty or missing is a mistake to report, not a place to fill with synthetic music.
    # --models and --reports follow --data unless given (storage/layout.py: default_models_dir).
    result, failed = run_flow(pipeline_flow, data_dir=args.data or DATA_DIR, models_dir=args.models,
                              reports_dir=args.reports, config_path=args.config,
                              demo_if_empty=args.data is None, show_progress=not args.quiet, **_runner(args))
    _print_files_table(result["analyze"])
    _print_train(result["train"])
    _print_headline(result["eval"])
    if failed:
        print(f"aural run: {printable(failed)}", file=sys.stderr)
    return 1 if failed else 0


def _models_layouts(args) -> list:
    """The models folder and the folder of every other data folder's lineage nested in it."""
    from storage.layout import ModelsLayout
    from storage.lineage import lineage_layouts

    return lineage_layouts(ModelsLayout(Path(args.models).resolve()))


def cmd_models_list(args) -> int:
    from storage.models import list_versions

    layouts = _models_layouts(args)
    rows = [(models, row) for models in layouts for row in list_versions(models)]
    if not rows:
        print(f"no stored versions in {layouts[0].store}")
        return 0
    print(f"{'':2}{'version':19}  {'stored (UTC)':19}  {'data folder':16}  {'data hash':16}  {'val loss':>8}")
    for models, row in rows:
        mark = "*" if row["published"] else " "
        loss = f"{row['val_loss']:.4f}" if row["val_loss"] is not None else "-"
        note = "" if row["ok"] else "  CORRUPT (run `aural models verify`)"
        where = "" if models is layouts[0] else f"  ({printable(models.root.relative_to(layouts[0].root))})"
        print(f"{mark} {row['ref'][:19]}  {(row['stored_at'] or '-')[:19]:19}  "
              f"{printable(row['lineage'] or '-')[:16]:16}  {row['data_hash'] or '-':16}  {loss:>8}{note}{where}")
    print("* published as adapter.pt of its data folder" if any(r["published"] for _, r in rows)
          else "(none of them is published)")
    return 0


def cmd_models_verify(args) -> int:
    from storage.models import model_store, verify_models

    status = 0
    for models in _models_layouts(args):
        problems = verify_models(models)
        for problem in problems:
            print(f"aural models verify: {printable(problem)}", file=sys.stderr)
        if problems:
            status = 2
            continue
        print(f"{printable(models.root)}: {len(model_store(models).refs())} stored version(s) intact; "
              + ("published adapter matches metadata.json" if models.adapter.is_file() else "nothing published"))
    return status


def cmd_models_promote(args) -> int:
    from storage.artifacts import ArtifactIntegrityError
    from storage.models import model_store, promote

    def holds(models) -> bool:
        try:
            return bool(model_store(models).expand(args.ref))
        except ArtifactIntegrityError:
            return False

    layouts = _models_layouts(args)
    holders = [models for models in layouts if holds(models)]
    if len(holders) > 1:
        raise ArtifactIntegrityError(f"ref={args.ref!r} names versions of {len(holders)} data folders: "
                                     "give more characters")
    models = holders[0] if holders else layouts[0]  # none: promote says so, naming the store
    ref = promote(models, args.ref)
    print(f"published {ref[:19]} as {printable(models.adapter)}")
    return 0


def cmd_models_gc(args) -> int:
    from storage.models import gc

    deleted = [ref for models in _models_layouts(args) for ref in gc(models, args.keep)]
    print(f"deleted {len(deleted)} version(s)" + "".join(f"\n  {ref[:19]}" for ref in deleted))
    return 0


def _debug_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="print the full traceback of an error instead of one line")


def _common_options(p: argparse.ArgumentParser) -> None:
    from .runners import RUNNER_KINDS

    p.add_argument("--config", default=None, help="TOML/JSON config file (defaults otherwise)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--task-runner", choices=RUNNER_KINDS, default="threads",
                   help="where per-file tasks run (default: %(default)s)")
    p.add_argument("--workers", type=int, default=2,
                   help="threads, processes or local Dask workers (default: %(default)s)")
    p.add_argument("--dask-address", default=None,
                   help="an existing Dask scheduler, e.g. tcp://host:8786 (with --task-runner dask)")
    _debug_option(p)


def _runner(args) -> dict:
    return {"task_runner": args.task_runner, "workers": args.workers, "dask_address": args.dask_address}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aural", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="print full tracebacks instead of one line")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="write the deterministic demo corpus with ground truth")
    p.add_argument("--out", default="data", help="folder for inputs/ and eval/ (default: %(default)s)")
    p.add_argument("--n-inputs", type=int, default=24, help="training clips (default: %(default)s)")
    p.add_argument("--n-eval", type=int, default=6, help="held-out clips (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="corpus seed (default: %(default)s)")
    _debug_option(p)
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
    p.add_argument("--force-publish", action="store_true",
                   help="publish the new adapter even when its held-out loss is worse than the published one's")
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

    p = sub.add_parser("render", help="render whole inputs as intro -> build -> release at one tempo (WAV + cue sheet)")
    p.add_argument("--in", dest="input", default="data/render",
                   help="an audio file, or a folder: every file in it (default: %(default)s)")
    p.add_argument("--out", default="reports/renders", help="folder for <name>.wav/.json/.cue (default: %(default)s)")
    p.add_argument("--adapter", default="models/adapter.pt", help="adapter file (default: %(default)s)")
    p.add_argument("--cache", default="data/cache", help="analysis and render cache (default: %(default)s)")
    _common_options(p)
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("run", help="the whole pipeline on the embedded default (demo corpus)")
    p.add_argument("--data", default=None,
                   help="inputs/, eval/ and cache/ live here (default: data, filled with the demo corpus when empty)")
    p.add_argument("--models", default=None,
                   help="adapter.pt, metadata.json and the model store (default: models/ for the default data "
                        "folder, <data>/models for any other)")
    p.add_argument("--reports", default=None,
                   help="eval.json, eval.md, index.html (default: reports/ for the default data folder, "
                        "<data>/reports for any other)")
    _common_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("models", help="list, verify, promote (roll back) and prune stored adapter versions")
    msub = p.add_subparsers(dest="models_command", required=True)
    for name, func, text in (("list", cmd_models_list, "stored versions, the published one marked"),
                             ("verify", cmd_models_verify, "re-hash every stored version and check the published pair"),
                             ("promote", cmd_models_promote, "publish a stored version as adapter.pt (rollback)"),
                             ("gc", cmd_models_gc, "delete all but the N newest unpublished versions")):
        m = msub.add_parser(name, help=text)
        m.add_argument("--models", default="models", help="models folder (default: %(default)s)")
        if name == "promote":
            m.add_argument("ref", help="version: sha256:<hex> or a unique hex prefix (see `aural models list`)")
        if name == "gc":
            m.add_argument("--keep", type=int, required=True, help="unpublished versions to keep (newest first)")
        _debug_option(m)
        m.set_defaults(func=func, server=False)

    from .server_cmd import add_server_parser

    add_server_parser(sub, _debug_option)
    return parser


def _check_paths(args) -> str | None:
    """Problems a user can fix before any flow starts (no Prefect server needed to say so)."""
    from pathlib import Path

    checks = {
        "analyze": [("input", "input folder")], "eval": [("input", "input folder"), ("adapter", "adapter file")],
        "render": [("input", "input file or folder"), ("adapter", "adapter file")],
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


def _cache_folders(root: str | Path) -> list[Path]:
    from storage.layout import CacheLayout

    cache = CacheLayout(Path(root))
    return [cache.root, *(IfPresent(p) for p in (cache.frames_dir, cache.sections_dir, cache.manifests,
                                          cache.renders, cache.prefect_results))]


class IfPresent(type(Path())):
    """A sub-folder to check only when it exists (its parent is created and checked)."""


def _output_folders(args) -> list[Path]:
    """The folders a command writes into (created when missing by the preflight); input
    folders are never among them (they may be read-only mounts)."""
    from storage.layout import CACHE, DATA_DIR

    if args.command == "demo":
        return [Path(args.out)]
    if args.command == "analyze":
        return _cache_folders(args.out)
    if args.command == "train":
        models = Path(args.out).resolve().parent
        return [*_cache_folders(args.cache), models, IfPresent(models / "store")]
    if args.command == "eval":
        reports = Path(args.report).resolve().parent
        return [*_cache_folders(args.cache), reports, IfPresent(reports / "audio")]
    if args.command == "render":
        return [*_cache_folders(args.cache), Path(args.out)]
    if args.command == "run":
        from storage.layout import DataLayout

        layout = DataLayout.resolve(args.data or DATA_DIR, args.models, args.reports)
        data, models, reports = layout.data, layout.models_root, layout.reports_root
        return [data, *_cache_folders(data / CACHE), models, IfPresent(models / "store"), reports,
                IfPresent(reports / "audio")]
    return []


def check_writable(folder: Path) -> str | None:
    """None when a file can be created in ``folder`` (created if missing); else
    "cannot write to <folder> (<reason>)"."""
    folder = Path(folder).resolve()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".aural-write-check-", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        return f"cannot write to {printable(str(folder))} ({exc.strerror or exc})"
    return None


def _preflight(args) -> str | None:
    """Config values and output folders, checked before any server starts or file is read."""
    from aural_core.config import load_config
    from aural_core.errors import AuralError

    if hasattr(args, "task_runner"):
        from .runners import check_runner

        try:
            check_runner(args.task_runner, args.workers, args.dask_address)
        except AuralError as exc:
            return one_line(exc)
    if hasattr(args, "config"):
        try:
            config = load_config(args.config)
            if config.labels.styles_path:
                from aural_core.styles import load_style_table

                load_style_table(config.labels.styles_path)
        except (AuralError, OSError, ValueError) as exc:
            return one_line(exc)
    for folder in _output_folders(args):
        if isinstance(folder, IfPresent) and not folder.is_dir():
            continue
        problem = check_writable(folder)
        if problem:
            return problem
    if args.command in ("eval", "render"):
        from storage.models import load_published

        try:
            load_published(args.adapter)
        except (AuralError, OSError) as exc:
            return one_line(exc)
    return None


def one_line(exc: BaseException) -> str:
    """An error as one line: "<path>: <reason>" for an OSError, else its message, lines joined."""
    from aural_core.errors import AuralError

    if isinstance(exc, OSError) and exc.strerror and not isinstance(exc, AuralError):
        where = exc.filename
        return printable(f"{where}: {exc.strerror}" if where is not None else exc.strerror)
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__
    if not isinstance(exc, AuralError | FileNotFoundError | ValueError):
        text = f"{type(exc).__name__}: {text}"
    return printable(text if len(text) <= 500 else text[:497] + "...")


class Terminated(BaseException):
    """SIGTERM reached the command: unwind (stopping the server) and exit 128 + signal."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"terminated by signal {signum}")


def _raise_terminated(signum, frame) -> None:
    raise Terminated(signum)


class _NoTraceback(logging.Formatter):
    """Formats a record as its own formatter would, without the exception's traceback."""

    def __init__(self, inner: logging.Formatter | None):
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        clean = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None, "stack_info": None})
        return self.inner.format(clean)


class _NoRunErrors(logging.Filter):
    """Drops the errors of flow and task runs (Prefect's "Finished in state Failed(...)",
    "Encountered exception ..."): the command reports a failure itself, in its summary table or
    its one line. Their warnings (e.g. an adapter evaluated on its own training files) stay."""

    RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.ERROR or not record.name.startswith(self.RUN_LOGGERS)


def _quiet_tracebacks() -> None:
    """On the console, Prefect's log lines keep their messages but not their tracebacks, and the
    errors of flow and task runs are not shown (the command reports the error itself, in one
    line); Prefect's API handler still sends all of them to the server, for the UI."""
    import prefect.main  # noqa: F401  sets logging up, as any flow import would (once: each set-up costs)
    from prefect.logging.configuration import ensure_logging_setup

    ensure_logging_setup()  # Prefect's handlers exist from here on (later set-ups are incremental)

    loggers = [logging.getLogger()] + [lg for lg in logging.Logger.manager.loggerDict.values()
                                       if isinstance(lg, logging.Logger)]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler.formatter, _NoTraceback):
                handler.setFormatter(_NoTraceback(handler.formatter))
                handler.addFilter(_NoRunErrors())


def _import_analysis_modules() -> None:
    """What analysing a file imports (3-5 s: librosa's modules, their compiled kernels), done
    while a temporary server starts instead of in the first file's task."""
    from aural_core.warmup import import_analysis_modules

    import_analysis_modules()


FLOW_MODULES = {"demo": "demo", "analyze": "analyze", "train": "train", "eval": "evaluate", "run": "pipeline",
                "render": "render"}


@contextlib.contextmanager
def prefect_api(prepare=None, announce=False, while_starting=None):
    """A Prefect API for the command: the configured one, the server ``aural server start`` left
    running in this folder (named on stderr when ``announce``), or a temporary server of its own.

    ``prepare`` (e.g. importing the flow's modules) runs while that server starts;
    ``while_starting`` only then (work that is free beside a starting server, a cost otherwise).
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME

    from .prefect_offline import carry_on_without

    if PREFECT_API_URL.value():
        if prepare:
            prepare()
        with carry_on_without(PREFECT_API_URL.value(), restart=f"start it again (PREFECT_API_URL) and {RERUN}"):
            yield None
        return
    from .server_cmd import running_server

    # PREFECT_HOME stays the user's: the cache records every cached task reads and writes live
    # beside the data (CacheLayout.prefect_results), whichever server records the runs.
    running = running_server()
    if running:
        if announce:
            print(f"aural: using the Prefect server at {running.ui_url} (`aural server stop` stops it)",
                  file=sys.stderr)
        if prepare:
            prepare()
        with _api_at(running.api_url, restart=f"start it again with `aural server start` and {RERUN}"):
            yield running
        return
    from .local_server import LocalServer, ServerStartError

    home = Path(PREFECT_HOME.value())
    problem = check_writable(home)
    if problem:
        raise ServerStartError(f"PREFECT_HOME: {problem}")
    timeout = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90"))
    server = LocalServer(home, timeout=timeout)
    try:
        server.spawn()
        if prepare:
            prepare()
        if while_starting:
            while_starting()
        server.wait_ready()
        with _api_at(server.api_url, wait_for_records=True,
                     restart=f"it was this command's own temporary server (its log: {server.log}): {RERUN}"):
            yield server
    finally:
        server.stop()


RERUN = "re-run the command to record them (the cached work is reused)"


@contextlib.contextmanager
def _api_at(url: str, *, wait_for_records: bool = False, restart: str = ""):
    """The command's flows (and any process they start) talk to ``url``, and go on without it
    if it stops answering (flows/prefect_offline.py; ``restart`` says how to bring it back).
    With ``wait_for_records`` (a temporary server, stopped right after), the command also waits
    until the server has recorded every task run it sent (flows/task_run_records.py)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from .prefect_offline import carry_on_without

    os.environ["PREFECT_API_URL"] = url
    watch = None
    try:
        with temporary_settings(updates={PREFECT_API_URL: url}):
            tally = _start_task_run_tally() if wait_for_records else None
            try:
                with carry_on_without(url, restart=restart) as watch:  # drains Prefect's queues on exit
                    yield
            finally:
                if tally is not None and watch is not None and not watch.ever_lost:
                    _wait_for_task_run_records(url, tally)
    finally:
        os.environ.pop("PREFECT_API_URL", None)


def _start_task_run_tally():
    """Note the task runs this command sends to its temporary server (flows/task_run_records.py)."""
    from .task_run_records import start_tally

    return start_tally()


def _wait_for_task_run_records(api_url: str, tally) -> None:
    """The server records task runs from events in the background: let it finish before it
    stops (called in a ``finally``; not after Ctrl-C or SIGTERM, when the user wants out)."""
    stopping = sys.exc_info()[0]
    if stopping is not None and not issubclass(stopping, Exception):
        return
    from .task_run_records import wait_until_recorded

    wait_until_recorded(api_url, tally)


def main(argv: list[str] | None = None) -> int:
    _prefect_defaults()
    args = build_parser().parse_args(argv)
    debug = getattr(args, "debug", False)
    name = f"{args.command} {getattr(args, f'{args.command}_command', '')}".strip()  # "models list"
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM,)}
    try:
        signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread (a test runner): no handler
        previous = {}
    try:
        if args.command in ("models", "server"):
            return args.func(args)
        problem = _check_paths(args) or _preflight(args)
        if problem:
            print(f"aural {name}: {problem}", file=sys.stderr)
            return 2
        if not debug:
            from .console_hygiene import quiet_console

            _quiet_tracebacks()
            quiet_console()
        module = FLOW_MODULES.get(args.command)
        with prefect_api(prepare=lambda: importlib.import_module(f"{__package__ or 'flows'}.{module}"),
                         announce=not getattr(args, "quiet", False), while_starting=_import_analysis_modules):
            status = args.func(args)
        from .server_watch import command_end

        return command_end(status, args, name)  # exit 3 when the server missed some of the work
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Terminated as exc:
        print(f"aural {name}: terminated", file=sys.stderr)
        return 128 + exc.signum
    except Exception as exc:  # every failure the user sees is one line (the trace with --debug)
        if debug:
            import traceback

            traceback.print_exc()
        print(f"aural {name}: {one_line(exc)}", file=sys.stderr)
        return 2
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if argv is None:  # the process ends next: its final garbage collection over every object
            gc.freeze()   # Prefect and pydantic made would take seconds, for nothing


if __name__ == "__main__":
    sys.exit(main())
