"""The evaluation report contract: the schema of ``eval.json``, used to write it and to read it.

Other tools read ``eval.json``; this module is the one place that says what it holds. Field
names, order and JSON types are those of schema version 2 (version 1 had no references, no
per-attribute agreement and no intervals).

To extend the report, add an optional field with a default (or a new nested model) to the
model it belongs to: files written before the change still validate. Renaming or removing a
field, or changing its type, is a new :data:`REPORT_SCHEMA_VERSION`.

Optional fields added since, all read as absent from older version-2 files: per render, the
``conditioning`` it was generated from ("controls" for synth, "prompt", "probe", "mix:<w>",
"prompt+chroma") and the ``sampling`` settings of a sampled backend; the run's ``probe``
figures (seed section 8); the ``adapter`` it scored (its version, lineage, input set and
whether this run published it); per section, where its labels came from
(``weak_labels.label_source``).

Models are built from Python values in lax mode (numpy scalars become floats); a file is read
back in strict mode, so a string where a number belongs is an error, not a conversion.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from aural_core.errors import AuralError

from .atomic import write_text_atomic

REPORT_SCHEMA_VERSION = "2"  # 2: references, per-attribute agreement, intervals, per-render files
# The figures shown first (Prefect table artifact), in this order.
HEADLINE_FIELDS = ("match_score", "baseline_match_score", "match_delta", "tempo_corr", "bpm_mae",
                   "n_sections", "passed", "passed_ci")


class ReportFormatError(AuralError, ValueError):
    """A file is not a valid eval report; the message names the file and each bad field."""


class _ReportModel(BaseModel):
    # Unknown fields are refused: a misspelt or newer field should fail loudly, not vanish.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Targets(_ReportModel):
    """Pass criteria: MatchScore >= baseline + ``match_delta_min`` and TempoCorr >= ``tempo_corr_min``
    (``passed``); ``passed_ci`` also needs the match delta's interval to start at
    ``match_delta_ci_low_min`` or above."""

    match_delta_min: float
    tempo_corr_min: float
    match_delta_ci_low_min: float


class Agreement(_ReportModel):
    """Fraction of sections whose predicted label equals the section's own label (weak or strong), per
    head; the key among 24 (reports written before the 24-key head compared 14-class keys)."""

    emotion: float
    key: float
    style: float


class RenderControls(_ReportModel):
    """The controls a segment was rendered with (as :class:`aural_core.controls.Controls`)."""

    emotion: str
    bpm: float
    key: str
    style_id: int
    style_prompt: str
    stem_gains: dict[str, float]


class FailedInput(_ReportModel):
    """An input file the analysis could not use."""

    source: str
    error: str | None = None


class Confidence(_ReportModel):
    """The adapter's top-class probability per classification head (the key among 24), and the
    tempo head's probability within 4 % of its BPM (absent from reports before the tempo head)."""

    emotion_prob: float
    key_prob: float
    bpm_prob: float | None = None


class WeakLabels(_ReportModel):
    """The section's labels, which the predictions are compared with: from analysis (weak) or,
    field by field, from the file's tags or labels.csv. ``label_source`` says which, per field
    (``{"bpm", "key", "emotion", "style"}`` → ``"weak"``, ``"tag"`` or ``"sidecar"``; absent
    from reports written before it was recorded)."""

    emotion: str
    bpm: float
    key: str
    key_full: str
    style_id: int
    label_source: dict[str, str] | None = None


class SectionAudio(_ReportModel):
    """Audio the report plays (Ogg copies), as paths relative to the report's folder.
    ``baseline`` is the fixed baseline's render; the other references are there when rendered."""

    source: str
    adapter: str
    baseline: str
    prior: str | None = None
    shuffled: str | None = None
    oracle: str | None = None


class IndependentReading(_ReportModel):
    """Tempo and key read from audio by the independent estimator (``EvalReport.estimator``)."""

    bpm: float | None
    key: str | None


class AttributeScores(_ReportModel):
    """Per-attribute agreement of a render with its source (means over sections for a kind).

    ``match``: embedding cosine (MatchScore's term); ``tempo_acc1`` / ``tempo_acc2``: tempo within
    4 % (octave errors allowed for Acc2) and ``tempo_log2_error``: |log2(render / source)|;
    ``key_weighted``: MIREX weighted key score; ``timbre``: similarity of the independent
    timbre descriptors. All but ``match`` read by the independent estimator.
    """

    match: float | None
    tempo_acc1: float | None
    tempo_acc2: float | None
    tempo_log2_error: float | None
    key_weighted: float | None
    timbre: float | None


class Sampling(_ReportModel):
    """Token sampling settings of a MusicGen render (``top_k`` None: the checkpoint's default)."""

    do_sample: bool
    temperature: float
    guidance_scale: float
    top_k: int | None = None


class RenderScore(AttributeScores):
    """One render of a section: which file was scored, with which controls, and its scores.

    ``conditioning`` and ``sampling``: what the renderer generated it from and how it sampled
    (absent from reports written before they were recorded; ``sampling`` None for synth).
    """

    file: str            # the scored render, relative to the report's folder
    controls: RenderControls
    tracker_bpm: float | None  # what our beat tracker reads (for TempoCorr)
    independent: IndependentReading
    conditioning: str | None = None
    sampling: Sampling | None = None


class ProbeReport(_ReportModel):
    """The linear probe (render.probe): which stored probe, its fit, and its R² on the evaluated
    sections (targets: the text-encoder states of their weak style's prompt)."""

    ref: str
    text_model: str
    alpha: float
    r2_validation: float | None
    n_validation: int | None
    r2_eval: float | None
    n_eval: int
    mix: float
    used_for_renders: bool


class AdapterReport(_ReportModel):
    """The adapter the report scored: which stored version, what it was trained for and on,
    and how it came to be the one evaluated.

    ``publication``: ``published by this run``, ``kept from an earlier run`` (the run's new
    adapter was not published; ``reason`` says why), ``published`` (a published adapter
    evaluated on its own) or ``file`` (an adapter file outside a models folder).
    """

    file: str                     # the adapter file evaluated, relative to the report's folder
    ref: str | None               # its version in the model store (sha256:...)
    trained_at: str | None        # when it was stored (UTC, ISO 8601)
    lineage: str | None           # the data folder it was trained for (its name)
    trained_on: str | None        # the training folder (absolute)
    input_set: str | None         # hash of the training files' content ids
    n_train_files: int | None     # files it trained on (the validation files excluded)
    n_sections: int | None        # original sections of its training set
    publication: Literal["published by this run", "kept from an earlier run", "published", "file"]
    reason: str | None = None

    def one_line(self) -> str:
        """E.g. "sha256:1a2b3c4d5e6f trained 2026-12-06 02:05 UTC for mymusic (12 files) · published by this run"."""
        when = f" trained {self.trained_at[:16].replace('T', ' ')} UTC" if self.trained_at else ""
        what = f" for {self.lineage}" if self.lineage else ""
        files = f" ({self.n_train_files} training files)" if self.n_train_files is not None else ""
        why = f" ({self.reason})" if self.reason else ""
        return f"{(self.ref or self.file)[:19]}{when}{what}{files} · {self.publication}{why}"


class Difference(_ReportModel):
    """Adapter minus a reference: the mean over sections and its file-level bootstrap interval."""

    delta: float | None
    ci_low: float | None
    ci_high: float | None


class CorpusPriorReport(_ReportModel):
    """The training corpus's most frequent emotion, key and style, and its median BPM."""

    emotion: str
    bpm: float
    key: str
    style_id: int


class SectionReport(_ReportModel):
    """One scored section: where it is, what was predicted and rendered, and how it matched.

    Scores are ``None`` where they could not be measured (NaN is never written).
    """

    file_id: str
    source: str
    section: str
    start_s: float
    end_s: float
    spans: list[tuple[float, float]]
    predicted: RenderControls
    confidence: Confidence
    weak_labels: WeakLabels
    reference_bpm: float | None
    rendered_bpm: float | None
    baseline_rendered_bpm: float | None
    match: float | None
    baseline_match: float | None
    audio: SectionAudio
    seconds: float                      # length of the source excerpt and of every render
    source_file: str                    # the input file, relative to the report's folder
    source_estimate: IndependentReading
    renders: dict[str, RenderScore]     # by kind: adapter, fixed, prior, shuffled, oracle


class EvalReport(_ReportModel):
    """The whole ``eval.json``: headline scores, run settings and one entry per section."""

    schema_version: Literal[REPORT_SCHEMA_VERSION] = REPORT_SCHEMA_VERSION
    match_score: float | None
    baseline_match_score: float | None
    match_delta: float | None
    tempo_corr: float | None
    targets: Targets
    passed: bool
    passed_ci: bool
    n_sections: int
    n_files: int
    embedder: str
    renderer: str
    seconds: float
    bpm_mae: float
    agreement: Agreement
    baseline_controls: RenderControls
    estimator: str                          # the independent estimator and its settings
    controls_source: dict[str, str]         # per control: "adapter" or "measured"
    prior: CorpusPriorReport | None
    ci_level: float
    attributes: dict[str, AttributeScores]  # by kind
    differences: dict[str, dict[str, Difference]]  # by reference, then metric: adapter - reference
    failed_inputs: list[FailedInput]
    trained_on_eval_files: list[str]
    sections: list[SectionReport]
    probe: ProbeReport | None = None
    adapter: AdapterReport | None = None

    @model_validator(mode="after")
    def _counts_match_sections(self) -> EvalReport:
        n_files = len({s.file_id for s in self.sections})
        if self.n_sections != len(self.sections) or self.n_files != n_files:
            raise ValueError(f"n_sections={self.n_sections}, n_files={self.n_files} do not match the "
                             f"{len(self.sections)} sections of {n_files} files listed")
        return self

    def headline(self) -> dict:
        """The :data:`HEADLINE_FIELDS` as a plain dict."""
        return {name: getattr(self, name) for name in HEADLINE_FIELDS}


def write_eval_json(path: str | Path, report: EvalReport) -> Path:
    """Write ``report`` to ``path`` atomically, as indented JSON in the schema's field order."""
    return write_text_atomic(path, json.dumps(report.model_dump(mode="json"), indent=2))


def read_eval_json(path: str | Path) -> EvalReport:
    """Read and validate an ``eval.json``.

    Raises
    ------
    ReportFormatError
        When the file is not JSON, lacks a required field, has an unknown field or a value of
        the wrong type; the message names the file and every offending field.
    """
    path = Path(path)
    try:
        return EvalReport.model_validate_json(path.read_bytes(), strict=True)
    except ValidationError as exc:
        raise ReportFormatError(
            f"{path} is not a valid eval report (schema {REPORT_SCHEMA_VERSION}): {exc}") from exc
