"""Preflight: bad config values and unwritable folders are one line, before any server starts."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import runtime.local_server
from cli.console import one_line
from cli.main import main

from .conftest import one_line as single_line


@pytest.fixture
def no_server(monkeypatch):
    """Fail the test if the command gets as far as starting a Prefect server."""
    def start(self):
        raise AssertionError("a Prefect server was started")
    monkeypatch.setattr(runtime.local_server.LocalServer, "start", start)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)


def write_wavs(folder: Path, n: int = 2, seconds: float = 1.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(22050 * seconds)) / 22050
    for i in range(n):
        sf.write(folder / f"tone{i}.wav", (0.3 * np.sin(2 * np.pi * (220 + 40 * i) * t)).astype(np.float32), 22050)
    return folder


@pytest.mark.parametrize("toml,field", [
    ("[train]\nepochs = -1\n", "train.epochs"),
    ("[train]\nbatch_size = 0\n", "train.batch_size"),
    ("[train]\nval_fraction = 5\n", "train.val_fraction"),
    ("[sections]\nn_sections = 0\n", "sections.n_sections"),
    ("[features]\nframe_seconds = 0.001\n", "features.frame_seconds"),
    ("[render]\nseconds = 0\n", "render.seconds"),
])
def test_out_of_range_config_is_one_line_before_any_server(tmp_path, capsys, no_server, toml, field):
    config = tmp_path / "aural.toml"
    config.write_text(toml)
    inputs = write_wavs(tmp_path / "in")
    assert main(["analyze", "--in", str(inputs), "--out", str(tmp_path / "cache"), "--config", str(config)]) == 2
    line = single_line(capsys.readouterr().err)
    assert line.startswith(f"aural analyze: {config}: invalid config: {field}: ")
    assert not (tmp_path / "cache" / "frames").exists()  # nothing was analysed


def test_unwritable_folder_is_one_line(tmp_path, capsys, no_server):
    """As any user: a regular file where a folder must go cannot be written to."""
    inputs = write_wavs(tmp_path / "in")
    (tmp_path / "blocked").write_text("a file, not a folder")
    assert main(["analyze", "--in", str(inputs), "--out", str(tmp_path / "blocked" / "cache")]) == 2
    line = single_line(capsys.readouterr().err)
    assert line == f"aural analyze: cannot write to {tmp_path / 'blocked' / 'cache'} (Not a directory)"


def test_errors_are_one_line_and_debug_shows_the_trace(tmp_path, capsys, monkeypatch, no_server):
    import cli.main
    import cli.pipeline_cmds

    def boom(args):
        raise OSError(28, "No space left on device", str(tmp_path / "x.parquet"))
    monkeypatch.setattr(cli.main, "prefect_api", lambda **kw: __import__("contextlib").nullcontext())
    monkeypatch.setattr(cli.pipeline_cmds, "cmd_analyze", boom)
    inputs = write_wavs(tmp_path / "in")
    argv = ["analyze", "--in", str(inputs), "--out", str(tmp_path / "cache")]
    parser_func = cli.main.build_parser
    monkeypatch.setattr(cli.main, "build_parser", lambda: _with_func(parser_func(), boom))
    assert main(argv) == 2
    assert single_line(capsys.readouterr().err) == f"aural analyze: {tmp_path / 'x.parquet'}: No space left on device"
    assert main([*argv, "--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().endswith("No space left on device")
    assert one_line(RuntimeError("flow\nfailed\n  badly")) == "RuntimeError: flow failed badly"
    # undecodable bytes as the manifests store them (storage/names.py): \xNN, not U+FFFD
    assert one_line(ValueError("bad\udcffname")) == "bad\\xffname"


def _with_func(parser, func):
    parser._subparsers._group_actions[0].choices["analyze"].set_defaults(func=func)
    return parser


def _run_as(user, argv: list[str]) -> tuple[int, str]:
    """``main(argv)`` in a forked child running as ``user`` (None: as this user); exit code, stderr.

    The fork keeps the modules this process already imported: the interpreter itself may lie
    where the other user cannot read (e.g. under /root), so exec-ing it as that user fails.
    """
    import aural_core.config  # noqa: F401  (imported before the fork, see above)
    import aural_core.styles  # noqa: F401
    import storage.layout  # noqa: F401

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 99
        try:
            os.close(read)
            if user is not None:
                os.setgroups([])
                os.setgid(user.pw_gid)
                os.setuid(user.pw_uid)
            sys.stderr = os.fdopen(write, "w")
            code = main(argv)
            sys.stderr.flush()
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as fh:
        err = fh.read()
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), err


def test_read_only_output_folder_as_a_non_root_user(tmp_path, no_server):
    """A read-only folder (for a non-root user) fails in one line, exit 2, before any analysis."""
    user = None
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("nobody")
        except KeyError:
            pytest.skip("running as root (which writes anywhere) and there is no 'nobody' user to drop to")
    base = Path(tempfile.mkdtemp(prefix="aural-ro-", dir="/tmp"))
    try:
        os.chmod(base, 0o755)
        inputs = write_wavs(base / "in")
        for p in [inputs, *inputs.iterdir()]:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
        read_only = base / "ro"
        read_only.mkdir()
        os.chmod(read_only, 0o555)
        cache = base / "cache"  # writable, but its frames/ is not
        (cache / "frames").mkdir(parents=True)
        os.chmod(cache, 0o777)
        os.chmod(cache / "frames", 0o555)
        for out, bad in ((read_only, read_only), (read_only / "cache", read_only / "cache"), (cache, cache / "frames")):
            code, err = _run_as(user, ["analyze", "--in", str(inputs), "--out", str(out), "--quiet"])
            assert code == 2, err
            assert single_line(err) == f"aural analyze: cannot write to {bad} (Permission denied)"
        assert list(read_only.iterdir()) == [] and list((cache / "frames").iterdir()) == []
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(base)], check=False)
        subprocess.run(["rm", "-rf", str(base)], check=False)


def test_non_utf8_names_print_without_crashing(capsys):
    from cli.pipeline_cmds import print_files_table

    print_files_table({"stage": "analyze", "computed": [], "cached": [],
                        "failed": [{"source": "bad\udcff.wav", "error": "x"}],
                        "files": [{"source": "bad\udcff.wav", "status": "failed", "error": "cannot decode \udcff"}]})
    captured = capsys.readouterr()
    assert "bad\\xff.wav" in captured.out + captured.err
