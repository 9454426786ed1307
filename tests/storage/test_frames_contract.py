"""The frames Parquet contract: names, types, widths, metadata and atomic writes."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aural_core.config import FeatureConfig
from aural_core.embedders import build_embedder, build_tagger
from aural_core.features import analyze_signal
from storage.frames import FRAMES_SCHEMA, frame_vectors, frames_table, read_frames, read_metadata, write_frames

SR = 22050
CONTRACT = ["file_id", "source", "frame", "start_s", "end_s", "clap", "f0_median", "f0_iqr",
            "energy", "beat_strength", "tags", "top_tags"]


@pytest.fixture(scope="module")
def table():
    t = np.arange(SR * 7) / SR
    y = (0.3 * np.sin(2 * np.pi * 330 * t) * (np.sin(2 * np.pi * 2 * t) > 0)).astype(np.float32)
    cfg = FeatureConfig()
    f = analyze_signal(y, sr=SR, config=cfg, embedder=build_embedder("dsp"), tagger=build_tagger("rules"))
    return frames_table(f, file_id="0123456789abcdef", source="x.wav",
                        metadata={"aural.feature_config_hash": cfg.config_hash(), "aural.embedder": "dsp"}), f


def test_columns_types_and_widths(tmp_path, table):
    tab, f = table
    path = write_frames(tmp_path / "frames" / "0123456789abcdef.parquet", tab)
    back = read_frames(path)
    assert back.column_names[: len(CONTRACT)] == CONTRACT
    assert back.schema.field("clap").type == pa.list_(pa.float32(), 512)
    assert back.schema.field("tags").type == pa.list_(pa.float32(), 5)
    assert back.schema.field("top_tags").type == pa.list_(pa.string())
    assert back.schema.remove_metadata() == FRAMES_SCHEMA
    assert back.num_rows == 4  # 7 s: three 2 s frames + a 1 s tail
    x = frame_vectors(back)
    assert x.shape == (4, 521)
    np.testing.assert_allclose(x, f.vectors(), rtol=1e-6)


def test_metadata(tmp_path, table):
    path = write_frames(tmp_path / "f.parquet", table[0])
    meta = read_metadata(path)
    assert meta["aural.feature_config_hash"] == FeatureConfig().config_hash()
    assert meta["aural.embedder"] == "dsp"


def test_failed_write_leaves_no_partial_file(tmp_path, table, monkeypatch):
    target = tmp_path / "f.parquet"

    def boom(tab, where, **kw):
        open(where, "wb").write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", boom)
    with pytest.raises(OSError):
        write_frames(target, table[0])
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_published_files_get_normal_permissions(tmp_path):
    import os

    from storage.atomic import write_text_atomic

    path = write_text_atomic(tmp_path / "x.json", "{}")
    mask = os.umask(0)
    os.umask(mask)
    assert (path.stat().st_mode & 0o777) == (0o666 & ~mask)  # not mkstemp's 0600
