"""The frames contract: one Parquet file per input (``CacheLayout.frames``), one row per 2 s frame.

This module owns the column names and Arrow types; readers and writers go through it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from aural_core.embedders.base import EMBED_DIM
from aural_core.features import FrameFeatures, feature_vectors
from aural_core.tempo import TEMPO_FINE_BPM
from aural_core.vocab import EMOTIONS

from .atomic import write_parquet_atomic

FRAMES_SCHEMA_VERSION = "2"  # 2: label columns for the tempo and key estimators
N_CHROMA, N_TEMPO_ACF = 12, 16
N_TEMPO_FINE = len(TEMPO_FINE_BPM)

FRAMES_SCHEMA = pa.schema([
    ("file_id", pa.string()),
    ("source", pa.string()),
    ("frame", pa.int32()),
    ("start_s", pa.float64()),
    ("end_s", pa.float64()),
    ("clap", pa.list_(pa.float32(), EMBED_DIM)),
    ("f0_median", pa.float32()),
    ("f0_iqr", pa.float32()),
    ("energy", pa.float32()),
    ("beat_strength", pa.float32()),
    ("tags", pa.list_(pa.float32(), len(EMOTIONS))),
    ("top_tags", pa.list_(pa.string())),
    # raw inspection columns
    ("f0_median_hz", pa.float32()),
    ("f0_iqr_semitones", pa.float32()),
    ("voiced_fraction", pa.float32()),
    ("rms_db", pa.float32()),
    ("tempo_bpm", pa.float32()),
    ("chroma", pa.list_(pa.float32(), N_CHROMA)),
    ("tempo_acf", pa.list_(pa.float32(), N_TEMPO_ACF)),
    # label columns: what aural_core.tempo.estimate_tempo and key.estimate_key read
    ("chroma_cqt", pa.list_(pa.float32(), N_CHROMA)),
    ("tempo_acf_fine", pa.list_(pa.float32(), N_TEMPO_FINE)),
    ("percussive_share", pa.float32()),
    ("onset_rate", pa.float32()),
])


def _fixed(values: np.ndarray, width: int) -> pa.FixedSizeListArray:
    flat = pa.array(np.asarray(values, dtype=np.float32).reshape(-1), type=pa.float32())
    return pa.FixedSizeListArray.from_arrays(flat, width)


def frames_table(features: FrameFeatures, *, file_id: str, source: str, metadata: dict[str, str]) -> pa.Table:
    """Arrow table of one file's frames, with the contract's schema and metadata."""
    n = len(features)
    columns = {
        "file_id": pa.array([file_id] * n, pa.string()),
        "source": pa.array([source] * n, pa.string()),
        "frame": pa.array(np.arange(n, dtype=np.int32)),
        "start_s": pa.array(features.start_s, pa.float64()),
        "end_s": pa.array(features.end_s, pa.float64()),
        "clap": _fixed(features.clap, EMBED_DIM),
        "tags": _fixed(features.tags, len(EMOTIONS)),
        "top_tags": pa.array(features.top_tags, pa.list_(pa.string())),
        "chroma": _fixed(features.chroma, N_CHROMA),
        "tempo_acf": _fixed(features.tempo_acf, N_TEMPO_ACF),
        "chroma_cqt": _fixed(features.chroma_cqt, N_CHROMA),
        "tempo_acf_fine": _fixed(features.tempo_acf_fine, N_TEMPO_FINE),
    }
    for name in ("f0_median", "f0_iqr", "energy", "beat_strength", "f0_median_hz",
                 "f0_iqr_semitones", "voiced_fraction", "rms_db", "tempo_bpm", "percussive_share", "onset_rate"):
        columns[name] = pa.array(np.asarray(getattr(features, name), dtype=np.float32), pa.float32())
    meta = {"aural.frames_schema": FRAMES_SCHEMA_VERSION, **metadata}
    schema = FRAMES_SCHEMA.with_metadata({k: str(v) for k, v in meta.items()})
    return pa.Table.from_arrays([columns[f.name] for f in FRAMES_SCHEMA], schema=schema)


def write_frames(path: str | Path, table: pa.Table) -> Path:
    """Write atomically (temp name, then rename)."""
    return write_parquet_atomic(path, table)


def read_frames(path: str | Path) -> pa.Table:
    return pq.read_table(path)


def read_metadata(path: str | Path) -> dict[str, str]:
    raw = pq.read_schema(path).metadata or {}
    return {k.decode(): v.decode() for k, v in raw.items()}


def frame_vectors(table: pa.Table) -> np.ndarray:
    """x_t of every row, shape (n, 521), from the stored columns."""
    def col(name):
        return table.column(name).to_numpy()

    return feature_vectors(fixed_column(table, "clap"), col("f0_median"), col("f0_iqr"),
                           col("energy"), col("beat_strength"), fixed_column(table, "tags"))


def fixed_column(table: pa.Table, name: str) -> np.ndarray:
    """A fixed-size-list column as a 2-D numpy array."""
    col = table.column(name).combine_chunks()
    return col.flatten().to_numpy().reshape(len(col), -1)


def frame_arrays(table: pa.Table):
    """The columns labelling needs, as ``aural_core.sections.FrameArrays``."""
    from aural_core.sections import FrameArrays

    def col(name):
        return table.column(name).to_numpy().astype(np.float64)

    return FrameArrays(
        x=frame_vectors(table), start_s=col("start_s"), end_s=col("end_s"), energy=col("energy"),
        beat_strength=col("beat_strength"), tempo_bpm=col("tempo_bpm"),
        chroma=fixed_column(table, "chroma").astype(np.float64),
        top_tags=table.column("top_tags").to_pylist(),
        chroma_cqt=fixed_column(table, "chroma_cqt").astype(np.float64),
        tempo_acf_fine=fixed_column(table, "tempo_acf_fine").astype(np.float64),
        percussive_share=col("percussive_share"), onset_rate=col("onset_rate"),
    )
