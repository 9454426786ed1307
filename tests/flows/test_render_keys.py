"""The render cache key covers every setting that changes a render: probe, mix, per-style
sampling, the melody renderer and its checkpoint, an item's probed vector and source excerpt."""

import json

import pytest

from aural_core.config import RenderConfig
from aural_core.controls import Controls
from aural_core.styles import load_style_table, style_table_hash
from tasks.evaluate import render_key

ITEM = {"controls": Controls("calm", 90.0, "C major", 2, "calm ambient piano").to_dict(), "seed": 7, "seconds": 4.0}
STYLES = load_style_table()
BASE = render_key([ITEM], RenderConfig(renderer="musicgen"), STYLES)


@pytest.mark.parametrize("change", [
    {"probe": True},
    {"probe_mix": 0.75},
    {"renderer": "musicgen-melody"},
    {"musicgen_melody_model": "/ckpt/melody"},
    {"temperature": 0.8},
])
def test_each_render_setting_changes_the_key(change):
    assert render_key([ITEM], RenderConfig(**{"renderer": "musicgen", **change}), STYLES) != BASE


@pytest.mark.parametrize("field, value", [("temperature", 0.6), ("top_k", 50), ("guidance_scale", 1.0)])
def test_a_style_rows_sampling_setting_changes_the_render_key_not_the_labels_key(tmp_path, field, value):
    rows = STYLES.to_json()
    rows[2][field] = value
    path = tmp_path / "styles.json"
    path.write_text(json.dumps({"styles": rows}))
    edited = load_style_table(path)
    assert render_key([ITEM], RenderConfig(renderer="musicgen"), edited) != BASE
    assert style_table_hash(edited) == style_table_hash(STYLES)  # sections and adapters stay valid


def test_an_items_probe_vector_and_source_excerpt_change_the_key():
    config = RenderConfig(renderer="musicgen", probe=True)
    plain = render_key([ITEM], config, STYLES)
    probed = render_key([{**ITEM, "probe": [0.1, 0.2]}], config, STYLES)
    assert len({plain, probed, render_key([{**ITEM, "probe": [0.1, 0.3]}], config, STYLES)}) == 3
    melody = RenderConfig(renderer="musicgen-melody")
    ref = {"path": "/data/eval/a.wav", "file_id": "f1", "start_s": 3.0, "seconds": 4.0}
    keyed = render_key([{**ITEM, "reference": ref}], melody, STYLES)
    assert keyed != render_key([ITEM], melody, STYLES)
    assert keyed != render_key([{**ITEM, "reference": {**ref, "start_s": 5.0}}], melody, STYLES)
    assert keyed != render_key([{**ITEM, "reference": {**ref, "file_id": "f2"}}], melody, STYLES)
    # the excerpt counts by content (file id), not by where the folder lies today
    assert keyed == render_key([{**ITEM, "reference": {**ref, "path": "/moved/a.wav"}}], melody, STYLES)
