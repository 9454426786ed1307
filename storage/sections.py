"""The sections contract: one Parquet file per input (``CacheLayout.sections``, one row per
section) and ``sections.npz`` (``CacheLayout.sections_npz``: X and the y_* arrays the seed asks for)."""

from __future__ import annotations

import io
from dataclasses import fields
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from aural_core.features import FEATURE_DIM
from aural_core.sections import LabelledSection

from .atomic import write_bytes_atomic, write_parquet_atomic
from .frames import fixed_column

SECTIONS_SCHEMA_VERSION = "2"  # 2: beat_strength

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
])


def sections_table(rows: list[LabelledSection], *, file_id: str, source: str, metadata: dict) -> pa.Table:
    n = len(rows)
    x = np.stack([r.x for r in rows]).astype(np.float32) if rows else np.zeros((0, FEATURE_DIM), np.float32)
    cols = {
        "file_id": pa.array([file_id] * n, pa.string()),
        "source": pa.array([source] * n, pa.string()),
        "x": pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1), pa.float32()), FEATURE_DIM),
        "spans": pa.array([[list(s) for s in r.spans] for r in rows], pa.list_(pa.list_(pa.float64(), 2))),
    }
    for field in SECTIONS_SCHEMA:
        if field.name not in cols:
            cols[field.name] = pa.array([getattr(r, field.name) for r in rows], field.type)
    schema = SECTIONS_SCHEMA.with_metadata(
        {k: str(v) for k, v in {"aural.sections_schema": SECTIONS_SCHEMA_VERSION, **metadata}.items()})
    return pa.Table.from_arrays([cols[f.name] for f in SECTIONS_SCHEMA], schema=schema)


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
    names = [f.name for f in fields(LabelledSection) if f.name != "x"]
    columns = {name: table.column(name).to_pylist() for name in names}
    rows = []
    for i in range(table.num_rows):
        values = {name: columns[name][i] for name in names}
        values["spans"] = [tuple(s) for s in values["spans"]]
        rows.append(LabelledSection(x=x[i], **values))
    return rows


def training_arrays(table: pa.Table) -> dict[str, np.ndarray]:
    """X (n, 521) and the y_* targets, plus file and section ids, from a sections table."""
    return {
        "X": fixed_column(table, "x").astype(np.float32),
        "y_emotion": table.column("emotion_id").to_numpy().astype(np.int64),
        "y_bpm": table.column("bpm").to_numpy().astype(np.float32),
        "y_key": table.column("key_id").to_numpy().astype(np.int64),
        "y_style": table.column("style_id").to_numpy().astype(np.int64),
        "file_id": np.asarray(table.column("file_id").to_pylist()),
        "section": np.asarray(table.column("section").to_pylist()),
    }


def write_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    """``sections.npz`` with X and y_*, written atomically."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return write_bytes_atomic(path, buf.getvalue())
