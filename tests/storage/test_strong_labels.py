"""Strong labels read from real file tags (written with mutagen) and a labels.csv sidecar;
what cannot be used is a warning naming the file, the field and the value."""

import numpy as np
import pytest
import soundfile as sf

from aural_core.styles import load_style_table
from storage.strong_labels import SIDECAR, read_tags, strong_labels_for, write_sidecar

SR = 22050


def _flac(path, **tags):
    sf.write(path, np.zeros(SR, np.float32), SR, format="FLAC")
    if tags:
        from mutagen.flac import FLAC

        audio = FLAC(path)
        for name, value in tags.items():
            audio[name] = value
        audio.save()
    return path


def _wav_with_id3(path, **frames):
    from mutagen.id3 import TBPM, TKEY
    from mutagen.wave import WAVE

    sf.write(path, np.zeros(SR, np.float32), SR, format="WAV")
    audio = WAVE(path)
    audio.add_tags()
    kinds = {"TBPM": TBPM, "TKEY": TKEY}
    for name, value in frames.items():
        audio.tags.add(kinds[name](encoding=3, text=[value]))
    audio.save()
    return path


def test_tags_of_flac_and_id3(tmp_path):
    assert read_tags(_flac(tmp_path / "a.flac", BPM="124", INITIALKEY="8A")) == {"bpm": "124", "key": "8A"}
    assert read_tags(_wav_with_id3(tmp_path / "b.wav", TBPM="96", TKEY="F#m")) == {"bpm": "96", "key": "F#m"}
    assert read_tags(_flac(tmp_path / "c.flac")) == {}
    (tmp_path / "d.wav").write_bytes(b"RIFF broken")
    assert read_tags(tmp_path / "d.wav") == {}


def test_sidecar_over_tags_and_every_problem_named(tmp_path):
    _flac(tmp_path / "tagged.flac", BPM="124", INITIALKEY="Xm")
    _flac(tmp_path / "plain.flac")
    (tmp_path / "live").mkdir()
    _flac(tmp_path / "live" / "take.flac", BPM="88")
    (tmp_path / SIDECAR).write_text("file,bpm,key,emotion,style\n"
                                    "tagged.flac,,A minor,,\n"
                                    "plain.flac,fast,C major,calm,no such style\n"
                                    "live/take.flac,92,,,\n"
                                    "missing.flac,100,,,\n"
                                    "plain.flac,90,,,\n")
    files = [{"file_id": "t", "source": "tagged.flac", "path": "tagged.flac"},
             {"file_id": "p", "source": "plain.flac", "path": "plain.flac"},
             {"file_id": "l", "source": "take.flac", "path": "live/take.flac"}]
    labels, warnings = strong_labels_for(tmp_path, files, load_style_table())
    tagged = labels["t"]
    assert (tagged.bpm, tagged.key, tagged.source) == (124.0, "A minor", {"bpm": "tag", "key": "sidecar"})
    assert (labels["p"].bpm, labels["p"].key, labels["p"].emotion, labels["p"].style) == (None, "C major", "calm", None)
    assert labels["l"].bpm == 92.0 and labels["l"].source == {"bpm": "sidecar"}
    text = "\n".join(warnings)
    assert "tagged.flac: tag key='Xm'" in text                       # the tag's bad value, its weak label used
    assert "plain.flac: labels.csv bpm='fast'" in text
    assert "style='no such style'" in text
    assert "'missing.flac' is no analysed file" in text
    assert "line 6 repeats 'plain.flac'" in text
    assert all("weak" in w or "ignored" in w for w in warnings)


@pytest.mark.parametrize("content,problem", [("name,bpm\na.flac,90\n", "no 'file' column"),
                                            (b"\xff\xfe\x00bad", "unreadable")])
def test_a_sidecar_that_cannot_be_read_is_one_warning(tmp_path, content, problem):
    path = tmp_path / SIDECAR
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    _flac(tmp_path / "a.flac")
    labels, warnings = strong_labels_for(tmp_path, [{"file_id": "a", "source": "a.flac", "path": "a.flac"}],
                                         load_style_table())
    assert labels == {} and len(warnings) == 1 and problem in warnings[0]


def test_write_sidecar_round_trips(tmp_path):
    write_sidecar(tmp_path, {"b.wav": {"bpm": 120.0, "key": "C major"}, "a.wav": {"emotion": "dark"}})
    assert (tmp_path / SIDECAR).read_text() == "file,bpm,key,emotion,style\na.wav,,,dark,\nb.wav,120.0,C major,,\n"
