"""The style prompt table: loading, its errors, and the (emotion, energy) -> style id rule."""

import json

import pytest

from aural_core.errors import ParameterError
from aural_core.styles import StyleTable, load_style_table
from aural_core.vocab import EMOTIONS


def write_table(path, rows):
    path.write_text(json.dumps({"styles": rows}))
    return path


def row(emotion, energy, **extra):
    return {"emotion": emotion, "energy": energy, "prompt": f"{emotion} {energy}", **extra}


def test_default_table_has_one_style_per_emotion_and_level():
    table = load_style_table()
    for emotion in EMOTIONS:
        for level in ("low", "high"):
            style = table[table.style_id(emotion, level)]
            assert (style.emotion, style.energy) == (emotion, level)
    assert [s.id for s in table.styles] == list(range(len(table)))


def test_custom_table_ids_and_timbre_defaults(tmp_path):
    path = write_table(tmp_path / "styles.json", [row("dark", "low", brightness=0.1), row("calm", "high")])
    table = load_style_table(path)
    assert len(table) == 2 and table[1].prompt == "calm high"
    assert (table[0].brightness, table[0].density, table[0].dynamics) == (0.1, 0.5, 0.5)
    assert (table[1].brightness, table[1].density, table[1].dynamics) == (0.5, 0.5, 0.5)


def test_table_round_trips_through_to_json(tmp_path):
    table = load_style_table()
    path = write_table(tmp_path / "copy.json", table.to_json())
    assert load_style_table(path) == table


@pytest.mark.parametrize("emotion,level,expected", [
    ("dark", "high", 1),   # exact match
    ("dark", "low", 0),    # exact match
    ("calm", "low", 2),    # no low calm entry: any calm entry
    ("busy", "high", 0),   # no busy entry at all: entry 0
])
def test_style_id_fallbacks(tmp_path, emotion, level, expected):
    table = load_style_table(write_table(tmp_path / "trimmed.json", [
        row("dark", "low"), row("dark", "high"), row("calm", "high"),
    ]))
    assert table.style_id(emotion, level) == expected


@pytest.mark.parametrize("content,reason", [
    ("not json", "not a style table"),
    ('{"rows": []}', "not a style table"),
    ('{"styles": []}', "empty"),
    (json.dumps({"styles": [{"emotion": "calm", "energy": "low"}]}), "entry 0 is malformed"),
    (json.dumps({"styles": [row("calm", "low"), row("calm", "low", density="thick")]}), "entry 1 is malformed"),
    (json.dumps({"styles": [row("sleepy", "low")]}), "emotion='sleepy'"),
    (json.dumps({"styles": [row("calm", "medium")]}), "energy='medium'"),
])
def test_bad_tables_raise_naming_the_file(tmp_path, content, reason):
    path = tmp_path / "bad_styles.json"
    path.write_text(content)
    with pytest.raises(ParameterError, match=reason) as info:
        load_style_table(path)
    assert str(path) in str(info.value)


def test_missing_table_is_named(tmp_path):
    with pytest.raises(ParameterError, match="absent.json"):
        load_style_table(tmp_path / "absent.json")


def test_table_is_a_value():
    table = load_style_table()
    assert isinstance(table, StyleTable) and table == load_style_table()
    with pytest.raises(AttributeError):
        table.styles = ()
