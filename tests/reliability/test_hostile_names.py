"""A file name that is not UTF-8 is analysed like any other and shown escaped; nothing crashes
(it used to abort the whole analysis with "surrogates not allowed")."""

from __future__ import annotations

import os
import shutil

from cli.main import main

from .test_cli_preflight import write_wavs


def test_non_utf8_name_is_analysed_and_shown_escaped(tmp_path, capsys, prefect_harness):
    inputs = write_wavs(tmp_path / "in", n=2)
    shutil.move(inputs / "tone0.wav", os.fsencode(inputs) + b"/bad\xff.wav")
    code = main(["analyze", "--in", str(inputs), "--out", str(tmp_path / "cache"), "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Traceback" not in captured.err
    text = captured.out + captured.err
    assert "bad\\xff.wav" in text and "computed 2 | cached 0 | failed 0" in text
    assert len(list((tmp_path / "cache" / "frames").glob("*.parquet"))) == 2
