"""The CLI says what is wrong in one line, before any flow starts."""

import pytest

from cli.main import main


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
    assert "holds no analysed folder" in capsys.readouterr().err
    assert main(["train", "--cache", str(tmp_path), "--manifest", "inputs"]) == 2
    assert "holds no analysis of a folder named 'inputs'" in capsys.readouterr().err


def test_empty_input_folder_is_an_error(tmp_path, capsys, prefect_harness):
    (tmp_path / "in").mkdir()
    assert main(["analyze", "--in", str(tmp_path / "in"), "--out", str(tmp_path / "cache"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "holds no audio files" in err and str(tmp_path / "in") in err


@pytest.mark.parametrize("make_folder", [False, True])
def test_explicit_empty_data_folder_is_refused(tmp_path, capsys, monkeypatch, make_folder):
    """Only the default data folder is ever filled with the demo corpus; another one without
    audio (a typo) is answered before any Prefect server starts, saying how to get the demo."""
    import cli.main

    def no_server(*args, **kwargs):
        raise AssertionError("a Prefect API was asked for")

    monkeypatch.setattr(cli.main, "prefect_api", no_server)
    data = tmp_path / "data"
    if make_folder:
        (data / "inputs").mkdir(parents=True)
    code = main(["run", "--data", str(data), "--models", str(tmp_path / "m"), "--reports", str(tmp_path / "r"),
                 "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"aural run: {data / 'inputs'} is missing or holds no audio files")
    assert f"`aural demo --out {data}`" in err
    assert not any(data.rglob("*.wav")) and not any(data.rglob("*.flac"))
