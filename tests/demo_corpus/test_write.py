"""Tests of the written demo corpus: files, formats, truth.json, determinism and atomic writes."""

from __future__ import annotations

import json

import pytest
import soundfile as sf

import demo_corpus.write
from demo_corpus import plan_corpus, write_corpus
from storage.strong_labels import SIDECAR, read_sidecar


def test_write_corpus_files_match_truth(tmp_path):
    truths = write_corpus(tmp_path / "a", n_inputs=4, n_eval=2, seed=7)
    specs = {s.filename: s for s in plan_corpus(n_inputs=4, n_eval=2, seed=7)}
    for split, n in (("inputs", 4), ("eval", 2)):
        folder = tmp_path / "a" / split
        truth = json.loads((folder / "truth.json").read_text())
        assert truth == truths[split]
        assert truth["generator"] == "aural demo v1" and truth["seed"] == 7
        assert len(truth["clips"]) == n
        assert sorted(p.name for p in folder.iterdir()) == sorted([*truth["clips"], "truth.json", SIDECAR])
        # The sidecar states the truth as strong labels, one row per clip.
        sidecar, warnings = read_sidecar(folder)
        assert warnings == [] and set(sidecar) == set(truth["clips"])
        for filename, clip in truth["clips"].items():
            spec = specs[filename]
            assert clip["bpm"] == spec.bpm and clip["key"] == spec.key and clip["mood"] == spec.mood
            row = sidecar[filename]
            assert float(row["bpm"]) == clip["bpm"] and row["key"] == clip["key"] and row["emotion"] == clip["mood"]
            assert [s["name"] for s in clip["sections"]] == ["intro", "build", "release"]
            info = sf.info(str(folder / filename))
            assert info.samplerate == clip["sr"]
            assert info.channels == clip["channels"]
            assert info.subtype == "PCM_16"
            assert info.format == spec.fmt.upper()
            assert info.duration == pytest.approx(clip["seconds"], abs=1.0 / clip["sr"])

    # Same seed: byte-identical files.
    write_corpus(tmp_path / "b", n_inputs=4, n_eval=2, seed=7)
    for split in ("inputs", "eval"):
        for p in (tmp_path / "a" / split).iterdir():
            assert p.read_bytes() == (tmp_path / "b" / split / p.name).read_bytes(), p.name


def test_a_failed_write_leaves_no_file_behind(tmp_path, monkeypatch):
    """Writes go through storage.atomic: a crash mid-file leaves neither half a clip nor a temp file."""
    def crash_after_half_a_file(path, *args, **kwargs):
        with open(path, "wb") as f:
            f.write(b"RIFF half a wav")
        raise OSError("disk full")

    monkeypatch.setattr(demo_corpus.write.sf, "write", crash_after_half_a_file)
    with pytest.raises(OSError, match="disk full"):
        write_corpus(tmp_path, n_inputs=1, n_eval=0, seed=0)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
