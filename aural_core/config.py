"""Typed, hashed configuration.

One file (TOML or JSON) configures every stage; each section is a frozen pydantic model and
its hash is part of every cache key, Parquet metadata and ``models/metadata.json``.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ParameterError


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def config_hash(self) -> str:
        """The section's hash: part of every cache key, Parquet metadata and ``models/metadata.json``.

        Returns
        -------
        str
            First 12 hex characters of the SHA-256 of the section's canonical JSON (sorted keys).
        """
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


class FeatureConfig(_Frozen):
    """Analysis (seed section 1)."""

    sample_rate: int = Field(22050, ge=8000, description="Analysis sample rate (Hz).")
    frame_seconds: float = Field(2.0, ge=0.25, description="Analysis frame length in seconds.")
    # The last partial frame is kept when at least this long; a clip shorter than one frame
    # gives a single short frame when at least ``min_clip_seconds`` long.
    min_last_frame_seconds: float = Field(1.0, ge=0)
    min_clip_seconds: float = Field(0.25, gt=0)
    n_fft: int = Field(2048, ge=64)
    hop_length: int = Field(512, ge=1)
    n_mels: int = Field(64, ge=1)
    f0_fmin: float = Field(65.0, gt=0)
    f0_fmax: float = Field(1047.0, gt=0)
    # Energy is RMS on an absolute dBFS scale: floor_db -> 0, 0 dBFS -> 1.
    energy_floor_db: float = Field(-60.0, lt=0)
    embedder: Literal["dsp", "clap"] = Field("dsp",
        description="Frame embedding: dsp (offline, no weights) or clap (a local CLAP checkpoint in clap_model).")
    tagger: Literal["rules", "clap"] = Field("rules",
        description="Mood tags: rules (from the features) or clap (zero-shot, needs the CLAP checkpoint).")
    clap_model: str = Field("laion/larger_clap_music",
        description="CLAP checkpoint: a local folder or a Hugging Face id already in the local cache.")
    n_tags: int = 5

    @model_validator(mode="after")
    def _ordered(self):
        if self.f0_fmax <= self.f0_fmin:
            raise ValueError(f"f0_fmax={self.f0_fmax} must be above f0_fmin={self.f0_fmin}")
        return self


class LabelConfig(_Frozen):
    """Weak labels (seed section 4b)."""

    # Tempo labels keep their octave (tempo.estimate_tempo decides it); only tempi outside this
    # range are folded by octaves. The adapter's BPM head is clamped to it too.
    bpm_min: float = Field(40.0, gt=0)
    bpm_max: float = Field(250.0, gt=0)
    bpm_default: float = Field(90.0, gt=0)
    min_beat_strength: float = Field(0.05, ge=0)
    min_key_confidence: float = Field(0.2, ge=0, le=1)
    # Weight of the whole file's pitch-class histogram added to a section's (see labels.py).
    key_context_weight: float = Field(3.0, ge=0)
    # Key profile set (aural_core/key.py PROFILES), chosen on the labelled real-composition set.
    key_profile: Literal["krumhansl", "temperley", "albrecht", "edma"] = Field("albrecht",
        description="Key-profile set of the key labels.")
    # A key a fifth below the best within this correlation margin wins (key.estimate_key): the
    # profile often ranks the dominant first. Chosen with the two above on the labelled set.
    key_dominant_margin: float = Field(0.15, ge=0, le=2)
    styles_path: str | None = None
    # Section energy (0..1) at or above this is the "high" energy style variant.
    high_energy_threshold: float = Field(0.55, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self):
        if self.bpm_max <= self.bpm_min:
            raise ValueError(f"bpm_max={self.bpm_max} must be above bpm_min={self.bpm_min}")
        return self


class SectionConfig(_Frozen):
    """Sectioning (seed section 4c).

    Up to ``n_sections`` contiguous sections per clip, each at least ``min_section_seconds``
    long (see aural_core/sections.py).
    """

    n_sections: int = Field(3, ge=1, le=3, description="Sections per clip (intro, build, release), at most 3.")
    min_section_seconds: float = Field(8.0, ge=0, description="Shortest section in seconds.")


class TrainConfig(_Frozen):
    """Adapter training (seed sections 3, 5, 7)."""

    hidden: int = Field(128, ge=1)
    lr: float = Field(3e-4, gt=0, description="AdamW learning rate of the emotion and style heads.")
    head_lr: float = Field(1e-2, gt=0, description="AdamW learning rate of the key and tempo heads (few weights, "
                                                  "shared across keys and tempi).")
    head_epochs: int = Field(300, ge=0, description="Full-batch steps of the key and tempo heads (0: they stay the "
                                                    "weak labeller they start as).")
    head_labels: Literal["strong", "all"] = Field(
        "strong", description="Which labels the key and tempo heads learn from: 'strong' (file tags, labels.csv; "
                              "with none, each head stays the weak labeller it starts as, which is what weak labels "
                              "teach it) or 'all' (weak labels too).")
    min_strong_files: int = Field(8, ge=1, description="Fewest training files with a strong key (or BPM) for the "
                                                    "key (or tempo) head to learn from strong labels; with fewer "
                                                    "it stays the weak labeller (one tagged file taught the tempo "
                                                    "head its own tempo, not music).")
    head_check_folds: int = Field(5, ge=0, description="Before the key or tempo head keeps what it learnt from "
                                  "strong labels, it is trained on all but one of this many folds of its labelled "
                                  "files and scored on the one left out; a head that scores below the weak "
                                  "labeller there stays the weak labeller (0 or 1: no check).")
    weight_decay: float = Field(1e-3, ge=0)
    epochs: int = Field(60, ge=1, description="Most training epochs (early stopping may end sooner).")
    patience: int = Field(10, ge=1)
    # Feature-space augmentation, every epoch (exact for the evidence arrays, see training.py).
    rotate_keys: bool = Field(True, description="Transpose every training section by a fresh random shift "
                                                "each epoch (chroma rolled, key label moved).")
    tempo_shift_bins: int = Field(8, ge=0, le=24, description="Shift every training section's periodicity curve "
                                  "by up to this many bins (24 per octave) each epoch, the BPM label with it.")
    # "per_head": each head keeps its best validation epoch (see training.py); "total": seed rule.
    early_stopping: Literal["per_head", "total"] = Field("per_head",
        description="per_head: each head keeps its best validation epoch; total: the seed's rule.")
    batch_size: int = Field(16, ge=1)
    val_fraction: float = Field(0.2, gt=0, lt=1,
        description="Share of training files held out for validation (whole files).")
    seed: int = 0
    # The tempo term's L1 on the expected BPM is in units of 50 BPM, about as large as a CE term.
    bpm_scale: float = Field(50.0, gt=0)


class AugmentConfig(_Frozen):
    """Training-time augmentation (issue 10): transposed and time-stretched training files.

    The copies are re-analysed through the same feature extraction, with labels moved to match
    (see aural_core/augment.py). Only files on the training side of the split are augmented.

    Each training file gets ``copies_per_file`` copies. A copy draws a shift from
    ``pitch_shifts`` and, with ``combine``, also a rate from ``time_stretches`` (one analysis
    then moves both key and tempo); without ``combine`` copies alternate between a pure
    shift and a pure stretch. Draws are deterministic: seeded by ``seed`` and the file's
    content id, shifts without replacement. Off: ``copies_per_file = 0`` or both pools empty.

    The default shift pool, -5..+6 semitones, reaches each of the other 11 tonics exactly
    once; rates are about +-15 %. Off by default: the key and tempo heads see every section
    transposed and re-tempoed in feature space at every step (``training.augment_batch``,
    exact and free), and one audio copy per file added nothing the held-out evaluation could
    detect on the demo or on either real-music split, while it made ``aural run`` 11-19 %
    slower (benchmarks/results/augment.json).
    """

    copies_per_file: int = Field(0, ge=0, description="Transposed / time-stretched copies per training file (0: off).")
    pitch_shifts: tuple[int, ...] = (-5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6)
    time_stretches: tuple[float, ...] = (0.87, 1.15)
    combine: bool = True
    seed: int = 0

    @field_validator("pitch_shifts")
    @classmethod
    def _shifts_in_range(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        bad = [n for n in value if n == 0 or abs(n) > 12]
        if bad:
            raise ValueError(f"pitch_shifts={list(value)}: {bad} must be non-zero semitones within +-12")
        return value

    @field_validator("time_stretches")
    @classmethod
    def _rates_in_range(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        bad = [r for r in value if not 0.5 <= r <= 2.0 or r == 1.0]
        if bad:
            raise ValueError(f"time_stretches={list(value)}: {bad} must be rates in [0.5, 2], not 1")
        return value

    @property
    def enabled(self) -> bool:
        """Whether any copy is made: ``copies_per_file > 0`` and a non-empty pool."""
        return self.copies_per_file > 0 and bool(self.pitch_shifts or self.time_stretches)


class RenderConfig(_Frozen):
    """Rendering (seed sections 6 and 8).

    ``probe`` fits, during training, a linear map from section embeddings to the text-encoder
    space of ``musicgen_model`` (aural_core/probe.py); the ``musicgen`` renderer then conditions
    the adapter's renders on the probed vector, weighted ``probe_mix`` against the prompt's
    encoder states (1: the probe alone, 0: the prompt alone). Per-style sampling settings live
    in the style table (aural_core/styles.py).
    """

    renderer: Literal["synth", "musicgen", "musicgen-melody"] = Field("synth",
        description="synth (offline), musicgen (a local checkpoint in musicgen_model) or musicgen-melody "
                    "(musicgen_melody_model, conditioned on the source section's chroma too).")
    seconds: float = Field(15.0, gt=0, description="Longest render per section, in seconds.")
    seed: int = 0
    musicgen_model: str = Field("facebook/musicgen-small",
        description="MusicGen checkpoint: a local folder or a Hugging Face id already in the local cache.")
    musicgen_melody_model: str = Field("facebook/musicgen-melody",
        description="MusicGen-Melody checkpoint (renderer musicgen-melody): a local folder or a cached hub id.")
    probe: bool = Field(False,
        description="Fit the embedding -> MusicGen text-space probe when training; musicgen renders use it.")
    probe_mix: float = Field(0.5, ge=0, le=1,
        description="Weight of the probed vector against the prompt's encoder states (1: probe alone).")
    guidance_scale: float = Field(3.0, ge=0, description="MusicGen classifier-free guidance scale.")
    do_sample: bool = True
    temperature: float = Field(1.0, gt=0, description="MusicGen sampling temperature.")
    # Segments rendered per task (MusicGen batches its prompts in one generate call).
    batch_size: int = Field(8, ge=1)


class ControlsConfig(_Frozen):
    """Where each musical control comes from (issue 10).

    The adapter's prediction, or the section's own measurement (its weak label), to take
    tempo and key straight from the input.
    """

    key: Literal["adapter", "measured"] = Field("adapter",
        description="Key control: the adapter's prediction or the section's measured key.")
    bpm: Literal["adapter", "measured"] = Field("adapter",
        description="Tempo control: the adapter's prediction or the section's measured tempo.")


class EvalConfig(_Frozen):
    """Targets of seed section 6, the references and the statistics of the evaluation."""

    match_margin: float = Field(0.1, ge=0)
    min_tempo_corr: float = 0.3
    # File-level bootstrap of every adapter - reference difference.
    bootstrap_resamples: int = Field(2000, ge=100)
    ci_level: float = Field(0.95, gt=0.5, lt=1.0)
    baseline_prompt: str = "a piece of music"
    baseline_bpm: float = 90.0
    baseline_key: str = "C major"


class AuralConfig(_Frozen):
    """Every stage's settings."""

    features: FeatureConfig = FeatureConfig()
    labels: LabelConfig = LabelConfig()
    sections: SectionConfig = SectionConfig()
    train: TrainConfig = TrainConfig()
    augment: AugmentConfig = AugmentConfig()
    render: RenderConfig = RenderConfig()
    controls: ControlsConfig = ControlsConfig()
    eval: EvalConfig = EvalConfig()


def describe_validation_error(exc: ValidationError) -> str:
    """A pydantic validation error as one line, for messages.

    Parameters
    ----------
    exc : pydantic.ValidationError

    Returns
    -------
    str
        ``"section.field: reason (got value)"`` for each problem, joined by ``"; "``.
    """
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ())) or "config"
        msg = err.get("msg", "invalid").removeprefix("Value error, ")
        got = f" (got {err['input']!r})" if "input" in err and not isinstance(err["input"], dict) else ""
        parts.append(f"{where}: {msg}{got}")
    return "; ".join(parts)


def load_config(path: str | Path | None = None) -> AuralConfig:
    """Load a TOML or JSON config file; ``None`` gives the defaults.

    Parameters
    ----------
    path : str, Path or None
        A ``.json`` file is read as JSON, any other as TOML; sections and keys left out keep
        their defaults.

    Returns
    -------
    AuralConfig

    Raises
    ------
    ParameterError
        When the file cannot be read or parsed, or holds an unknown key or an out-of-range
        value; one line naming the file and every problem.
    """
    if path is None:
        return AuralConfig()
    path = Path(path)
    try:
        text = path.read_text()
        raw = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
        return AuralConfig.model_validate(raw)
    except ValidationError as exc:
        raise ParameterError(f"{path}: invalid config: {describe_validation_error(exc)}") from exc
    except (OSError, ValueError, tomllib.TOMLDecodeError) as exc:
        reason = " ".join(str(exc).split())
        raise ParameterError(f"{path}: invalid config ({reason})") from exc
