"""The typed config: range checks, frozen sections, stable hashes, loading errors that name the file."""

import json
import re

import pytest
from pydantic import ValidationError

from aural_core.config import AuralConfig, FeatureConfig, LabelConfig, RenderConfig, load_config
from aural_core.errors import ParameterError


@pytest.mark.parametrize("section,field,value", [
    (FeatureConfig, "sample_rate", 4000),
    (FeatureConfig, "frame_seconds", 0.0),
    (FeatureConfig, "min_last_frame_seconds", -1.0),
    (FeatureConfig, "min_clip_seconds", 0.0),
    (FeatureConfig, "embedder", "wav2vec"),
    (RenderConfig, "batch_size", 0),
    (RenderConfig, "renderer", "theremin"),
])
def test_out_of_range_values_are_refused(section, field, value):
    with pytest.raises(ValidationError, match=field):
        section(**{field: value})


def test_sections_are_frozen_and_refuse_unknown_keys():
    config = FeatureConfig()
    with pytest.raises(ValidationError):
        config.n_fft = 1024
    with pytest.raises(ValidationError, match="n_ffts"):
        FeatureConfig(n_ffts=1024)


def test_hash_depends_on_values_only():
    default = FeatureConfig().config_hash()
    assert re.fullmatch("[0-9a-f]{12}", default)
    assert FeatureConfig(n_fft=2048, frame_seconds=2).config_hash() == default  # 2 and 2.0 agree
    assert FeatureConfig(n_fft=1024).config_hash() != default
    assert FeatureConfig(clap_model="other/clap").config_hash() != default


def test_a_section_hash_ignores_the_other_sections(tmp_path):
    path = tmp_path / "labels_only.toml"
    path.write_text("[labels]\nbpm_default = 100.0\n")
    loaded = load_config(path)
    assert loaded.features.config_hash() == FeatureConfig().config_hash()  # analysis caches survive
    assert loaded.labels.config_hash() != LabelConfig().config_hash()


def test_toml_and_json_load_the_same_config(tmp_path):
    toml = tmp_path / "aural.toml"
    toml.write_text('[features]\nn_mels = 32\n\n[render]\nseconds = 8.0\nrenderer = "synth"\n')
    as_json = tmp_path / "aural.json"
    as_json.write_text(json.dumps({"render": {"renderer": "synth", "seconds": 8}, "features": {"n_mels": 32}}))
    a, b = load_config(toml), load_config(as_json)
    assert a == b and a.features.n_mels == 32 and a.render.seconds == 8.0
    assert a.features.config_hash() == b.features.config_hash()
    assert a.labels == LabelConfig()  # sections left out keep their defaults
    assert load_config(None) == AuralConfig()


@pytest.mark.parametrize("name,text,reason", [
    ("broken.toml", "[features\nn_fft = 1", "invalid config"),
    ("broken.json", '{"features": ', "invalid config"),
    ("unknown.toml", "[features]\nn_ffts = 1024\n", "n_ffts"),
    ("section.toml", "[mixing]\nloud = true\n", "mixing"),
    ("range.json", '{"features": {"sample_rate": 100}}', "sample_rate"),
])
def test_loading_errors_name_the_file(tmp_path, name, text, reason):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ParameterError, match=reason) as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_missing_file_is_named(tmp_path):
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ParameterError, match="nowhere.toml"):
        load_config(path)
