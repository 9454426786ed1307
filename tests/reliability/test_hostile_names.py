"""A file name that is not UTF-8 fails that file only; the others finish and the summary prints."""

from __future__ import annotations

import os
import shutil

from flows.cli import main

from .test_cli_preflight import write_wavs


def test_non_utf8_name_fails_alone(tmp_path, capsys, prefect_harness):
    inputs = write_wavs(tmp_path / "in", n=2)
    shutil.move(inputs / "tone0.wav", os.fsencode(inputs) + b"/bad\xff.wav")
    code = main(["analyze", "--in", str(inputs), "--out", str(tmp_path / "cache"), "--quiet"])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    assert "Traceback" not in captured.err
    text = captured.out + captured.err
    assert "bad\ufffd.wav" in text and "computed 1 | cached 0 | failed 1" in text
    assert len(list((tmp_path / "cache" / "frames").glob("*.parquet"))) == 1  # the good file is kept
