"""Input manifests and the folder layout: content ids, listing, the manifest-name rule and which
analysed folder training picks."""

import json

import pytest

from aural_core.errors import InputsMissingError
from storage.layout import CacheLayout, DataLayout, ModelsLayout, ReportsLayout, manifest_name
from storage.manifest import file_id, list_inputs, read_manifest, resolve_manifest, write_manifest


def test_file_id_follows_content_not_name(tmp_path):
    a, b, c = tmp_path / "a.wav", tmp_path / "b.wav", tmp_path / "c.wav"
    a.write_bytes(b"same bytes")
    b.write_bytes(b"same bytes")
    c.write_bytes(b"other bytes")
    assert file_id(a) == file_id(b) != file_id(c) and len(file_id(a)) == 16


def test_list_inputs_recursive_sorted_audio_only(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("b.WAV", "sub/a.flac", "notes.txt", "c.mp3"):
        (tmp_path / name).write_bytes(name.encode())
    assert [f.path.relative_to(tmp_path).as_posix() for f in list_inputs(tmp_path)] == ["b.WAV", "c.mp3", "sub/a.flac"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        list_inputs(tmp_path / "nope")


def test_manifest_round_trip_sorted_and_named_after_the_folder(tmp_path):
    cache = CacheLayout(tmp_path / "cache")
    folder = tmp_path / "data" / "inputs"
    folder.mkdir(parents=True)
    path = write_manifest(cache, folder, [{"source": "z.wav", "file_id": "1", "status": "computed"},
                                          {"source": "a.wav", "file_id": "2", "status": "failed"}])
    assert path == cache.manifest("inputs") == cache.manifest_for(folder) and manifest_name(folder) == "inputs"
    body = read_manifest(cache, "inputs")
    assert [f["source"] for f in body["files"]] == ["a.wav", "z.wav"] and body["input_dir"] == str(folder)
    assert json.loads(path.read_text()) == body
    with pytest.raises(InputsMissingError, match="aural analyze"):
        read_manifest(cache, "eval")


def test_training_folder_is_the_only_analysed_one_or_named(tmp_path):
    cache = CacheLayout(tmp_path / "cache")
    with pytest.raises(InputsMissingError, match="no analysed folder"):
        resolve_manifest(cache, None)
    for name in ("tracks", "eval"):
        (tmp_path / name).mkdir()
        write_manifest(cache, tmp_path / name, [])
    assert resolve_manifest(cache, None) == "tracks"          # eval is never the default
    assert resolve_manifest(cache, str(tmp_path / "tracks")) == "tracks"  # a path works too
    (tmp_path / "more").mkdir()
    write_manifest(cache, tmp_path / "more", [])
    with pytest.raises(InputsMissingError, match="name the one to train on"):
        resolve_manifest(cache, None)


def test_layout_resolves_every_path_from_three_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    layout = DataLayout.resolve("d", "m", "r")
    assert layout.inputs == tmp_path / "d" / "inputs" and layout.eval == tmp_path / "d" / "eval"
    assert layout.cache.frames("ab", "k1") == tmp_path / "d" / "cache" / "frames" / "ab-k1.parquet"
    assert layout.cache.prefect_results == tmp_path / "d" / "cache" / ".prefect-results"
    assert layout.models.adapter == tmp_path / "m" / "adapter.pt" == ModelsLayout.of_adapter("m/adapter.pt").adapter
    assert layout.reports.index_html == ReportsLayout.of_report("r/eval.json").index_html
