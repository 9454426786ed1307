"""What the tasks return: small typed records (Prefect persists them; flows read their fields).

Every record is a frozen dataclass of plain values, so a cached result loads without the code
that made it doing anything, and ``dataclasses.asdict`` turns it into the JSON a flow returns
(``RunSummary.to_dict`` does). The per-section scores of the evaluation (``estimate_source``,
``score_render``) stay plain mappings: they are the rows of the report contract, which
``storage.report`` types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Self


@dataclass(frozen=True)
class _Record:
    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def of(cls, value: Self | Mapping) -> Self:
        """``value`` as this record: a record as is, a mapping (a cached result written before the
        tasks returned records) by its fields."""
        if isinstance(value, cls):
            return value
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in value.items() if k in names})


@dataclass(frozen=True)
class AnalysedFile(_Record):
    """One input's frames Parquet (``extract_frames``)."""

    file_id: str
    source: str
    frames: str                 # the frames Parquet
    frames_key: str
    n_frames: int
    seconds: float              # audio length
    compute_seconds: float      # time spent analysing it in the run that did


@dataclass(frozen=True)
class AugmentedCopy(_Record):
    """A transposed / time-stretched copy's frames (``augment_frames``); ``sections`` is the
    original's sections file its own sections are made from (set by ``augment_files``)."""

    file_id: str
    source: str
    transform: str
    semitones: int
    rate: float
    frames: str
    n_frames: int
    compute_seconds: float
    sections: str = ""


@dataclass(frozen=True)
class LabelledFile(_Record):
    """One file's (or one copy's) sections Parquet (``label_file``, ``label_copy``)."""

    file_id: str
    source: str
    sections: str
    n_sections: int
    transform: str = ""         # "" for the file's own audio


@dataclass(frozen=True)
class TrainingSet(_Record):
    """``sections.npz`` and what it holds (``build_training_set``)."""

    npz: str
    data_hash: str
    n_sections: int             # the files' own sections (not the augmented copies')
    n_files: int
    n_augmented_sections: int
    split: dict                 # files and sections that train and validate (training.split_summary)
    label_sources: dict         # sections per label field and source (weak, tag, sidecar)
    prior: dict                 # the corpus prior (evaluation.CorpusPrior)
    augmented_copies: dict = field(default_factory=dict)   # file id -> transforms


@dataclass(frozen=True)
class TrainedAdapter(_Record):
    """An adapter stored in the model store (``train_task``) and its training metadata."""

    ref: str
    metadata: dict


@dataclass(frozen=True)
class FittedProbe(_Record):
    """A stored linear probe (``fit_probe_task``) and its fit (``aural_core.probe.ProbeFit.summary``)."""

    ref: str
    name: str
    summary: dict

    def to_dict(self) -> dict:
        """Flat: ref, name and the fit's figures side by side (the train flow's ``probe``)."""
        return {"ref": self.ref, "name": self.name, **self.summary}


@dataclass(frozen=True)
class ReportFiles(_Record):
    """The evaluation report's files (``write_report``) and its headline figures."""

    report: str
    markdown: str
    html: str
    headline: dict
    verdict: str = ""           # the report's first line, in words


@dataclass(frozen=True)
class PieceFiles(_Record):
    """A whole-piece render (``assemble_piece``): its files and what was made."""

    wav: str
    json: str
    cue: str
    bpm: float
    bars: int
    n_sections: int
    seconds: float
    stretched: list             # sections time-stretched to the piece's tempo
    peak: float
