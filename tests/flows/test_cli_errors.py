"""The CLI says what is wrong in one line, before any flow starts."""

import pytest

from flows.cli import main


@pytest.mark.parametrize("argv,message", [
    (["analyze", "--in", "/no/such/folder"], "input folder /no/such/folder does not exist"),
    (["eval", "--in", ".", "--adapter", "/no/adapter.pt"], "adapter file /no/adapter.pt does not exist"),
    (["analyze", "--in", ".", "--config", "/no/aural.toml"], "config file /no/aural.toml does not exist"),
])
def test_missing_paths(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_train_without_analysis(tmp_path, capsys):
    assert main(["train", "--cache", str(tmp_path)]) == 2
    assert "holds no analysis of a folder named 'inputs'" in capsys.readouterr().err


def test_empty_input_folder_is_an_error(tmp_path, capsys, prefect_harness):
    (tmp_path / "in").mkdir()
    assert main(["analyze", "--in", str(tmp_path / "in"), "--out", str(tmp_path / "cache"), "--quiet"]) == 1
    assert "no audio files" in capsys.readouterr().err
