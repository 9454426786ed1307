"""The folder layout: the one owner of every path the pipeline reads or writes.

::

    data/                      DataLayout      (``--data``)
      inputs/                  training audio
      eval/                    held-out audio
      render/                  audio to render whole (the render deployment's folder)
      cache/                   CacheLayout     (``--cache``)
        frames/<file_id>-<frames key>.parquet       (keys: storage/keys.py)
        sections/<file_id>-<sections key>.parquet
        (each with a hidden checksum record .<name>.sha256 beside it: storage/integrity.py)
        augmented/<file_id>/<transform>-<frames key>.parquet   a transformed copy (training only)
        augmented/<file_id>/sections/<transform>-<sections key>.parquet   its sections
        sections.npz
        manifests/<folder name>.json
        renders/
        .prefect-results/      Prefect's result and cache records
    models/                    ModelsLayout    (``--models``)
      adapter.pt, metadata.json, store/, .lock
      probes/                  linear probes (render.probe), a store of their own (storage/probe_store.py)
    reports/                   ReportsLayout   (``--reports``)
      eval.json, eval.md, index.html, audio/
      renders/                 whole-piece renders: <name>.wav, .json and .cue (storage/pieces.py)

Flows, the CLI and the deployments take the three top folders (or one of the inner ones) and
derive everything else here. Relative folders resolve against the current working directory
(for a deployment: the working directory its pull step sets) when a flow starts.

Models and reports follow the data folder unless named: the default ``data/`` keeps ``models/``
and ``reports/`` beside it; any other data folder ``D`` gets ``D/models`` and ``D/reports``, so
two data folders never share or overwrite each other's adapter and report (storage/lineage.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DATA_DIR, MODELS_DIR, REPORTS_DIR = "data", "models", "reports"
INPUTS, EVAL, CACHE = "inputs", "eval", "cache"
RENDER = "render"  # data/render: the folder a scheduled whole-piece render job renders
ADAPTER_FILE, EVAL_JSON, RENDERS = "adapter.pt", "eval.json", "renders"

# The default paths of the stage commands (`aural analyze`, ...), their flows and deployments:
# relative, so resolved against the working directory of the process that runs the flow.
DEFAULT_INPUTS = f"{DATA_DIR}/{INPUTS}"            # data/inputs
DEFAULT_EVAL_INPUTS = f"{DATA_DIR}/{EVAL}"         # data/eval
DEFAULT_RENDER_INPUTS = f"{DATA_DIR}/{RENDER}"     # data/render
DEFAULT_CACHE = f"{DATA_DIR}/{CACHE}"              # data/cache
DEFAULT_ADAPTER = f"{MODELS_DIR}/{ADAPTER_FILE}"   # models/adapter.pt
DEFAULT_REPORT = f"{REPORTS_DIR}/{EVAL_JSON}"      # reports/eval.json
DEFAULT_RENDERS = f"{REPORTS_DIR}/{RENDERS}"       # reports/renders


def manifest_name(input_dir: str | Path) -> str:
    """The manifest of an analysed folder is named after the folder (``inputs``, ``eval``)."""
    return Path(input_dir).resolve().name


def default_models_dir(data_dir: str | Path) -> Path:
    """``models/`` for the default data folder, else ``<data>/models``."""
    return _follows_data(data_dir, MODELS_DIR)


def default_reports_dir(data_dir: str | Path) -> Path:
    """``reports/`` for the default data folder, else ``<data>/reports``."""
    return _follows_data(data_dir, REPORTS_DIR)


def _follows_data(data_dir: str | Path, name: str) -> Path:
    data = Path(data_dir).resolve()
    return Path(name).resolve() if data == Path(DATA_DIR).resolve() else data / name


@dataclass(frozen=True)
class CacheLayout:
    """Everything derived from the audio: frames, sections, manifests, renders."""

    root: Path

    @property
    def frames_dir(self) -> Path:
        return self.root / "frames"

    @property
    def sections_dir(self) -> Path:
        return self.root / "sections"

    def frames(self, file_id: str, key: str) -> Path:
        """Frames of one input, named by its content id and ``keys.frames_key`` (the settings
        they were computed with), so that two configs never share a file."""
        return self.frames_dir / f"{file_id}-{key}.parquet"

    def sections(self, file_id: str, key: str) -> Path:
        """Sections of one input, named by its content id and ``keys.sections_key``."""
        return self.sections_dir / f"{file_id}-{key}.parquet"

    def augmented_frames(self, file_id: str, transform: str, key: str) -> Path:
        """Frames of a transposed/stretched copy of a training file (``Transform.slug``), named
        like its frames by the settings they were computed with (``keys.frames_key``)."""
        return self.root / "augmented" / file_id / f"{transform}-{key}.parquet"

    def augmented_sections(self, file_id: str, transform: str, key: str) -> Path:
        """Sections of a transposed/stretched copy, named by the transform and the sections key
        of the original's sections they are made from (``keys.sections_key``)."""
        return self.root / "augmented" / file_id / "sections" / f"{transform}-{key}.parquet"

    @property
    def sections_npz(self) -> Path:
        return self.root / "sections.npz"

    @property
    def manifests(self) -> Path:
        return self.root / "manifests"

    def manifest(self, name: str) -> Path:
        """``manifests/<name>.json``: which files the analysis of folder ``name`` covered."""
        return self.manifests / f"{name}.json"

    def manifest_for(self, input_dir: str | Path) -> Path:
        return self.manifest(manifest_name(input_dir))

    def analysed_folders(self) -> list[str]:
        """Names of the folders analysed into this cache (one manifest each), sorted."""
        return sorted(p.stem for p in self.manifests.glob("*.json"))

    @property
    def renders(self) -> Path:
        return self.root / RENDERS

    @property
    def prefect_results(self) -> Path:
        """Prefect's result/cache records live beside the data they describe."""
        return self.root / ".prefect-results"


def checksum_record(output: str | Path) -> Path:
    """Where the checksum of a cached output is recorded: a hidden ``.<name>.sha256`` beside it
    (hidden, so that Parquet dataset readers of the folder skip it)."""
    output = Path(output)
    return output.with_name(f".{output.name}.sha256")


@dataclass(frozen=True)
class ModelsLayout:
    root: Path

    @property
    def adapter(self) -> Path:
        return self.root / ADAPTER_FILE

    @property
    def metadata(self) -> Path:
        return self.root / "metadata.json"

    @property
    def store(self) -> Path:
        return self.root / "store"

    @property
    def probes(self) -> Path:
        """The probes' artifact store: apart from ``store/``, whose every object is an adapter."""
        return self.root / "probes"

    @property
    def lock(self) -> Path:
        """Held (``fcntl.flock``) by whoever changes the store or publishes (storage/locking.py)."""
        return self.root / ".lock"

    @classmethod
    def of_adapter(cls, adapter: str | Path) -> ModelsLayout:
        """The models folder an adapter file is published in (its metadata sits beside it)."""
        return cls(Path(adapter).resolve().parent)


@dataclass(frozen=True)
class ReportsLayout:
    root: Path

    @property
    def eval_json(self) -> Path:
        return self.root / EVAL_JSON

    @property
    def eval_md(self) -> Path:
        return self.root / "eval.md"

    @property
    def index_html(self) -> Path:
        return self.root / "index.html"

    @property
    def audio(self) -> Path:
        return self.root / "audio"

    @property
    def renders(self) -> Path:
        """Whole-piece renders (``aural render``)."""
        return self.root / RENDERS

    @classmethod
    def of_report(cls, report: str | Path) -> ReportsLayout:
        """The reports folder of an ``eval.json`` path (eval.md, index.html go beside it)."""
        return cls(Path(report).resolve().parent)


@dataclass(frozen=True)
class DataLayout:
    """The three top folders, resolved to absolute paths."""

    data: Path
    models_root: Path
    reports_root: Path

    @classmethod
    def resolve(cls, data_dir: str | Path = DATA_DIR, models_dir: str | Path | None = None,
                reports_dir: str | Path | None = None) -> DataLayout:
        """Absolute folders; models and reports follow ``data_dir`` when not given (None or "")."""
        models = Path(models_dir).resolve() if models_dir else default_models_dir(data_dir)
        reports = Path(reports_dir).resolve() if reports_dir else default_reports_dir(data_dir)
        return cls(Path(data_dir).resolve(), models, reports)

    @property
    def inputs(self) -> Path:
        return self.data / INPUTS

    @property
    def eval(self) -> Path:
        return self.data / EVAL

    @property
    def cache(self) -> CacheLayout:
        return CacheLayout(self.data / CACHE)

    @property
    def models(self) -> ModelsLayout:
        return ModelsLayout(self.models_root)

    @property
    def reports(self) -> ReportsLayout:
        return ReportsLayout(self.reports_root)

    def describe(self) -> str:
        """One log line naming the absolute folders a run uses."""
        return f"data {self.data} · models {self.models_root} · reports {self.reports_root}"
