"""The sections contract: one Parquet file per input (``CacheLayout.sections``, one row per
section) and ``sections.npz`` (``CacheLayout.sections_npz``: X and the y_* arrays the seed asks for)."""

from __future__ import annotations

import io
from dataclasses import fields
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from aural_core.errors import ParameterError
from aural_core.features import FEATURE_DIM
from aural_core.sections import LabelledSection, SectionEvidence
from aural_core.strong_labels import FIELDS
from aural_core.tempo import TEMPO_FINE_BPM
from aural_core.vocab import KEYS_FULL

from .atomic import write_bytes_atomic, write_parquet_atomic
from .frames import fixed_column

SECTIONS_SCHEMA_VERSION = "4"  # 2: beat_strength; 3: the heads' evidence, label_source and transform;
# 4: the file's opening and closing chroma
TEMPO_BINS = len(TEMPO_FINE_BPM)
# The heads' evidence (``aural_core.sections.SectionEvidence``): column -> values per row.
EVIDENCE = {"chroma": 12, "context_chroma": 12, "opening_chroma": 12, "closing_chroma": 12,
            "tempo_periodicity": TEMPO_BINS, "percussive_share": 1, "onset_rate": 1, "tracker_bpm": 1}

SECTIONS_SCHEMA = pa.schema([
    ("file_id", pa.string()),
    ("source", pa.string()),
    ("section", pa.string()),
    ("start_s", pa.float64()),
    ("end_s", pa.float64()),
    ("n_frames", pa.int32()),
    ("x", pa.list_(pa.float32(), FEATURE_DIM)),
    ("emotion", pa.string()),
    ("emotion_id", pa.int32()),
    ("bpm", pa.float32()),
    ("key", pa.string()),
    ("key_id", pa.int32()),
    ("key_full", pa.string()),
    ("style_id", pa.int32()),
    ("style_prompt", pa.string()),
    # extras for inspection
    ("spans", pa.list_(pa.list_(pa.float64(), 2))),
    ("energy", pa.float32()),
    ("beat_strength", pa.float32()),
    ("key_confidence", pa.float32()),
    # what the key and tempo heads read (aural_core/heads.py)
    ("chroma", pa.list_(pa.float32(), 12)),
    ("context_chroma", pa.list_(pa.float32(), 12)),
    ("opening_chroma", pa.list_(pa.float32(), 12)),
    ("closing_chroma", pa.list_(pa.float32(), 12)),
    ("tempo_periodicity", pa.list_(pa.float32(), TEMPO_BINS)),
    ("percussive_share", pa.float32()),
    ("onset_rate", pa.float32()),
    ("tracker_bpm", pa.float32()),
    # per label field: "weak", "tag" or "sidecar" (aural_core/strong_labels.py)
    ("label_source", pa.struct([(name, pa.string()) for name in FIELDS])),
    # "" for the file's own audio, else the transposed / time-stretched copy's transform
    ("transform", pa.string()),
])


def sections_table(rows: list[LabelledSection], *, file_id: str, source: str, metadata: dict) -> pa.Table:
    n = len(rows)
    x = np.stack([r.x for r in rows]).astype(np.float32) if rows else np.zeros((0, FEATURE_DIM), np.float32)
    cols = {
        "file_id": pa.array([file_id] * n, pa.string()),
        "source": pa.array([source] * n, pa.string()),
        "x": _fixed(x, FEATURE_DIM),
        "spans": pa.array([[list(s) for s in r.spans] for r in rows], pa.list_(pa.list_(pa.float64(), 2))),
        "label_source": pa.array([r.label_source for r in rows], SECTIONS_SCHEMA.field("label_source").type),
    }
    for name, width in EVIDENCE.items():
        values = [getattr(r.evidence, name) for r in rows]
        cols[name] = (_fixed(np.asarray(values, np.float32).reshape(n, width), width) if width > 1
                      else pa.array(values, pa.float32()))
    for field in SECTIONS_SCHEMA:
        if field.name not in cols:
            cols[field.name] = pa.array([getattr(r, field.name) for r in rows], field.type)
    schema = SECTIONS_SCHEMA.with_metadata(
        {k: str(v) for k, v in {"aural.sections_schema": SECTIONS_SCHEMA_VERSION, **metadata}.items()})
    return pa.Table.from_arrays([cols[f.name] for f in SECTIONS_SCHEMA], schema=schema)


def _fixed(values: np.ndarray, width: int) -> pa.Array:
    return pa.FixedSizeListArray.from_arrays(pa.array(np.asarray(values, np.float32).reshape(-1), pa.float32()),
                                             width)


def write_sections(path: str | Path, table: pa.Table) -> Path:
    """Write atomically (temp name, then rename)."""
    return write_parquet_atomic(path, table)


def read_sections(paths: list[str | Path]) -> pa.Table:
    """All sections of several files in one table (in the given order)."""
    tables = [pq.read_table(p) for p in paths]
    return pa.concat_tables(tables) if tables else SECTIONS_SCHEMA.empty_table()


def read_labelled_sections(path: str | Path) -> list[LabelledSection]:
    """The rows of one sections Parquet back as ``LabelledSection`` objects (in file order)."""
    table = pq.read_table(path)
    x = fixed_column(table, "x").astype(np.float32)
    evidence = _evidence_arrays(table)
    names = [f.name for f in fields(LabelledSection) if f.name not in ("x", "evidence")]
    columns = {name: table.column(name).to_pylist() for name in names}
    rows = []
    for i in range(table.num_rows):
        values = {name: columns[name][i] for name in names}
        values["spans"] = [tuple(s) for s in values["spans"]]
        found = {name: (a[i] if a.ndim > 1 else float(a[i])) for name, a in evidence.items()}
        rows.append(LabelledSection(x=x[i], evidence=SectionEvidence(**found), **values))
    return rows


def _evidence_arrays(table: pa.Table) -> dict[str, np.ndarray]:
    """The heads' evidence columns as arrays ((n, width), or (n,) for the scalars)."""
    missing = [name for name in EVIDENCE if name not in table.column_names]
    if missing:
        raise ParameterError(f"sections lack {missing}: written by an earlier release; "
                             "label them again (`aural train` does)")
    return {name: (fixed_column(table, name) if width > 1 else table.column(name).to_numpy()).astype(np.float32)
            for name, width in EVIDENCE.items()}


def training_arrays(table: pa.Table) -> dict[str, np.ndarray]:
    """X (n, 521), the heads' evidence, the y_* targets and file and section ids, from a
    sections table. ``y_key`` is the seed's 14-class key, ``y_key_full`` the 24-key index
    (``vocab.KEYS_FULL``) the key head learns."""
    return {
        "X": fixed_column(table, "x").astype(np.float32),
        **_evidence_arrays(table),
        "y_emotion": table.column("emotion_id").to_numpy().astype(np.int64),
        "y_bpm": table.column("bpm").to_numpy().astype(np.float32),
        "y_key": table.column("key_id").to_numpy().astype(np.int64),
        "y_key_full": np.array([KEYS_FULL.index(k) for k in table.column("key_full").to_pylist()], dtype=np.int64),
        "y_style": table.column("style_id").to_numpy().astype(np.int64),
        "file_id": np.asarray(table.column("file_id").to_pylist()),
        "section": np.asarray(table.column("section").to_pylist()),
        # augmented copies' sections carry their original's file id (aural_core/augment.py)
        "transform": np.asarray(table.column("transform").to_pylist(), dtype=str),
        "augmented": np.asarray([t != "" for t in table.column("transform").to_pylist()], dtype=bool),
        # which sections' key and BPM came from the user (tags, labels.csv), not the weak labeller
        **{f"strong_{name}": np.asarray([s[name] != "weak" for s in table.column("label_source").to_pylist()],
                                        dtype=bool) for name in ("key", "bpm")},
    }


def label_source_counts(table: pa.Table) -> dict[str, dict[str, int]]:
    """Sections of the files' own audio (not augmented copies) per label field and source:
    ``{"bpm": {"sidecar": 12, "weak": 3}, ...}``."""
    counts: dict[str, dict[str, int]] = {name: {} for name in FIELDS}
    own = [t == "" for t in table.column("transform").to_pylist()]
    for row, keep in zip(table.column("label_source").to_pylist(), own):
        if not keep:
            continue
        for name, origin in row.items():
            counts[name][origin] = counts[name].get(origin, 0) + 1
    return counts


def write_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    """``sections.npz`` with X, the evidence and the y_* arrays, written atomically."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return write_bytes_atomic(path, buf.getvalue())


def read_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of a ``sections.npz`` (``write_npz``), loaded into memory."""
    with np.load(path) as data:
        return {name: data[name] for name in data.files}
