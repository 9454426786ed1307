"""Caches verify what they serve (issue 13, item 1): outputs named by every setting their
content depends on, entries checked before reuse, content ids taken from the decoded bytes,
names that are not valid UTF-8. Through a real (temporary) Prefect server, on short WAVs."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from prefect import flow

import flows.analyze
from aural_core.config import AuralConfig
from aural_core.controls import Controls
from aural_core.styles import DEFAULT_STYLES_PATH
from flows.analyze import analyze_flow
from flows.settings import resolve_settings
from flows.summary import run_flow
from storage.integrity import problem
from storage.keys import frames_file, sections_file
from storage.layout import CacheLayout
from storage.manifest import file_id, read_manifest
from tasks.evaluate import render_all
from tasks.train import label_files

pytestmark = pytest.mark.usefixtures("prefect_harness")
SR = 22050


def clip(seconds: float, f0: float, bpm: float) -> np.ndarray:
    """A few seconds of plucked tone on a beat: enough for every feature and label."""
    t = np.arange(int(seconds * SR)) / SR
    beat = np.exp(-((t % (60 / bpm)) * 12.0))
    return (0.3 * beat * np.sin(2 * np.pi * f0 * t)).astype(np.float32)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    for name, f0, bpm in (("a.wav", 220.0, 100.0), ("b.wav", 330.0, 120.0), ("c.wav", 262.0, 90.0)):
        sf.write(folder / name, clip(6.0, f0, bpm), SR)
    return folder


@pytest.fixture
def inputs(corpus, tmp_path) -> Path:
    return Path(shutil.copytree(corpus, tmp_path / "inputs"))


@pytest.fixture
def styles_file(tmp_path) -> Path:
    path = tmp_path / "styles.json"
    shutil.copy(DEFAULT_STYLES_PATH, path)
    return path


def analyze(inputs: Path, cache: Path, config: AuralConfig | None = None) -> tuple[dict, Exception | None]:
    return run_flow(analyze_flow, input_dir=str(inputs), cache_dir=str(cache), show_progress=False,
                    config=config or AuralConfig())


@flow(name="label-and-render")
def label_and_render(cache_dir: str, folder: str, config: AuralConfig, items: list[dict]) -> dict:
    """The cached stages after analysis: label every analysed file, render ``items``."""
    cache = CacheLayout(Path(cache_dir))
    config, styles = resolve_settings(config, None)
    files = [f for f in read_manifest(cache, folder)["files"] if f["status"] != "failed"]
    summary = label_files(cache, files, config, styles)
    return {"labels": summary.to_dict(), "renders": render_all(items, config.render, styles, cache, "t")}


ITEMS = [{"controls": Controls(emotion="calm", bpm=96.0, key="D minor", style_id=0,
                               style_prompt="x").to_dict(), "seed": 1, "seconds": 1.0},
         {"controls": Controls(emotion="tense", bpm=128.0, key="A minor", style_id=2,
                               style_prompt="y").to_dict(), "seed": 2, "seconds": 1.0}]


def statuses(summary: dict) -> set[str]:
    return {"computed" if summary["computed"] else "", "cached" if summary["cached"] else ""} - {""}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.parquet"))}


def test_config_switch_back_and_forth_never_collides(inputs, tmp_path):
    cache = tmp_path / "cache"
    default, other = AuralConfig(), AuralConfig.model_validate(
        {"features": {"energy_floor_db": -70.0}, "sections": {"n_sections": 2}})
    first, _ = analyze(inputs, cache, default)
    labelled = label_and_render(str(cache), "inputs", default, [])
    frames_a, sections_a = snapshot(cache / "frames"), snapshot(cache / "sections")
    assert len(frames_a) == len(sections_a) == 3 and labelled["labels"]["computed"]

    switched, _ = analyze(inputs, cache, other)
    assert len(switched["computed"]) == 3                       # its own files ...
    label_and_render(str(cache), "inputs", other, [])
    assert len(snapshot(cache / "frames")) == len(snapshot(cache / "sections")) == 6
    for name, data in frames_a.items():                         # ... next to, not over, the default's
        assert (cache / "frames" / name).read_bytes() == data

    back, _ = analyze(inputs, cache, default)
    assert sorted(back["cached"]) == sorted(first["computed"]) and not back["computed"]
    relabelled = label_and_render(str(cache), "inputs", default, [])
    assert sorted(relabelled["labels"]["cached"]) == sorted(labelled["labels"]["computed"])
    rows = read_manifest(CacheLayout(cache), "inputs")["files"]
    for row in rows:                                            # the manifest names the default's frames
        assert cache / row["frames"] == frames_file(CacheLayout(cache), row["file_id"], default.features)
        table = pq.read_table(cache / row["frames"])
        assert table.schema.metadata[b"aural.feature_config_hash"].decode() == default.features.config_hash()
    for folder, before in (("frames", frames_a), ("sections", sections_a)):
        now = snapshot(cache / folder)
        assert {n: now[n] for n in before} == before           # byte-identical on the way back


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 40):      # 40 bytes inside the column data
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_truncate, _flip], ids=["truncated", "bit-flipped"])
def test_damaged_frames_are_recomputed_and_reported(inputs, tmp_path, damage):
    cache = tmp_path / "cache"
    analyze(inputs, cache)
    victim = frames_file(CacheLayout(cache), file_id(inputs / "b.wav"), AuralConfig().features)
    good = victim.read_bytes()
    damage(victim)
    assert problem(victim)

    result, error = analyze(inputs, cache)
    assert error is None and result["computed"] == ["b.wav"] and sorted(result["cached"]) == ["a.wav", "c.wav"]
    [repaired] = result["repaired"]
    assert repaired["source"] == "b.wav"
    assert f"cache entry for {victim.name} failed verification" in repaired["note"]
    assert repaired["note"].endswith(": recomputed")
    assert victim.read_bytes() == good and problem(victim) is None


def test_damaged_sections_and_renders_are_recomputed(inputs, tmp_path):
    cache = tmp_path / "cache"
    config = AuralConfig()
    analyze(inputs, cache)
    first = label_and_render(str(cache), "inputs", config, ITEMS)
    section = next((cache / "sections").glob("*.parquet"))
    render = Path(first["renders"][1])
    good = {section: section.read_bytes(), render: render.read_bytes()}
    _flip(section)
    _truncate(render)
    again = label_and_render(str(cache), "inputs", config, ITEMS)
    assert len(again["labels"]["computed"]) == 1 and len(again["labels"]["repaired"]) == 1
    assert again["renders"] == first["renders"]
    for path, data in good.items():
        assert path.read_bytes() == data and problem(path) is None


def test_file_replaced_mid_run_fails_clearly_and_is_not_cached(inputs, tmp_path, monkeypatch):
    cache, victim = tmp_path / "cache", inputs / "b.wav"
    old_id = file_id(victim)
    real_listing = flows.analyze.list_inputs

    def list_then_replace(folder):
        files = real_listing(folder)
        sf.write(victim, clip(6.0, 494.0, 140.0), SR)       # replaced after its id was taken
        return files

    monkeypatch.setattr(flows.analyze, "list_inputs", list_then_replace)
    result, error = analyze(inputs, cache)
    assert error is not None and [f["source"] for f in result["failed"]] == ["b.wav"]
    assert result["failed"][0]["error"] == f"{victim}: changed while being analysed; run again"
    assert sorted(result["computed"]) == ["a.wav", "c.wav"]
    features = AuralConfig().features
    assert not frames_file(CacheLayout(cache), old_id, features).exists()

    monkeypatch.setattr(flows.analyze, "list_inputs", real_listing)
    rerun, error = analyze(inputs, cache)                      # the next run reads the new audio
    assert error is None and rerun["computed"] == ["b.wav"]
    new_id = file_id(victim)
    assert new_id != old_id and frames_file(CacheLayout(cache), new_id, features).is_file()
    assert not frames_file(CacheLayout(cache), old_id, features).exists()


def test_a_name_that_is_not_utf8_is_analysed_and_shown_escaped(inputs, tmp_path):
    cache = tmp_path / "cache"
    raw = os.fsencode(inputs) + b"/bad\xff.wav"
    os.rename(os.fsencode(inputs / "c.wav"), raw)
    result, error = analyze(inputs, cache)
    assert error is None and sorted(result["computed"]) == ["a.wav", "b.wav", "bad\\xff.wav"]

    row = next(f for f in read_manifest(CacheLayout(cache), "inputs")["files"] if f["source"] == "bad\\xff.wav")
    assert os.fsencode(inputs / row["path"]) == raw            # the real name survives the JSON manifest
    table = pq.read_table(cache / row["frames"])
    assert set(table.column("source").to_pylist()) == {"bad\\xff.wav"}
    labelled = label_and_render(str(cache), "inputs", AuralConfig(), [])
    assert "bad\\xff.wav" in labelled["labels"]["computed"]


def _flip_style_row(path: Path) -> None:
    table = json.loads(path.read_text())
    table["styles"][0]["prompt"] += " with a rainstick"
    path.write_text(json.dumps(table))


# setting -> (how to flip it, expected frames, sections, renders: "cached" or "computed")
FLIPS = {
    "sections.min_section_seconds": ({"sections": {"min_section_seconds": 4.0}}, "cached", "computed", "cached"),
    "labels.key_profile": ({"labels": {"key_profile": "krumhansl"}}, "cached", "computed", "cached"),
    "style table row": (_flip_style_row, "cached", "computed", "computed"),
    "render.temperature": ({"render": {"temperature": 0.7}}, "cached", "cached", "computed"),
    "features.energy_floor_db": ({"features": {"energy_floor_db": -70.0}}, "computed", "computed", "cached"),
}


@pytest.mark.parametrize("setting", list(FLIPS))
def test_flipping_a_setting_recomputes_downstream_only(inputs, tmp_path, styles_file, setting):
    flip, frames, sections, renders = FLIPS[setting]
    cache = tmp_path / "cache"
    base = {"labels": {"styles_path": str(styles_file)}}
    analyze(inputs, cache, AuralConfig.model_validate(base))
    before = label_and_render(str(cache), "inputs", AuralConfig.model_validate(base), ITEMS)

    changed = json.loads(json.dumps(base))
    if callable(flip):
        flip(styles_file)                                      # same config, edited table
    else:
        for section, values in flip.items():
            changed.setdefault(section, {}).update(values)
    config = AuralConfig.model_validate(changed)
    analysed, _ = analyze(inputs, cache, config)
    after = label_and_render(str(cache), "inputs", config, ITEMS)

    assert statuses(analysed) == {frames}, analysed
    assert statuses(after["labels"]) == {sections}, after["labels"]
    assert (after["renders"] == before["renders"]) == (renders == "cached")
    if renders == "computed":                                  # the earlier renders are left as they were
        assert all(problem(p) is None for p in before["renders"] + after["renders"])
    styles = resolve_settings(config, None)[1]
    for row in read_manifest(CacheLayout(cache), "inputs")["files"]:
        assert sections_file(CacheLayout(cache), row["file_id"], config.features, config.labels,
                             config.sections, styles).is_file()
