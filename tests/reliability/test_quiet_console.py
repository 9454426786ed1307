"""Without ``--debug`` a failing command's stderr is the command's own output (progress, tables,
its one line): the errors Prefect logs for flow and task runs ("Finished in state Failed(...)",
"Encountered exception ...", their tracebacks) go to the server's logs only, where the UI shows
them."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from .cli_runs import aural, statuses, write_clips
from .conftest import one_line


def error_logs(server, text: str) -> list[str]:
    """Messages of the server's ERROR logs that contain ``text``."""
    body = {"logs": {"level": {"ge_": 40}}, "limit": 200, "sort": "TIMESTAMP_DESC"}
    req = urllib.request.Request(f"{server.url}/logs/filter", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as response:
        return [log["message"] for log in json.loads(response.read()) if text in log["message"]]


def test_missing_adapter_is_one_line(shared_server, tmp_path):
    inputs = write_clips(tmp_path / "eval", 1)
    adapter = tmp_path / "models" / "adapter.pt"
    done = aural(shared_server, "eval", "--in", str(inputs), "--adapter", str(adapter),
                 "--report", str(tmp_path / "reports" / "eval.json"), "--cache", str(tmp_path / "cache"))
    assert done.returncode == 2
    assert one_line(done.stderr) == f"aural eval: adapter file {adapter} does not exist"


@pytest.mark.timeout(240)
def test_eval_failing_inside_its_flow_is_one_line(shared_server, published, tmp_path):
    """The eval flow (and its analysis subflow) fails: held-out folder without audio."""
    models, _ = published
    empty = tmp_path / "held-out"
    empty.mkdir()
    done = aural(shared_server, "eval", "--in", str(empty), "--adapter", str(models.adapter),
                 "--report", str(tmp_path / "reports" / "eval.json"), "--cache", str(tmp_path / "cache"), timeout=180)
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert line.startswith("aural eval: input folder") and str(empty) in line and "holds no audio files" in line
    assert error_logs(shared_server, str(empty)), "Prefect's error of the run is missing from the server's logs"


@pytest.mark.timeout(240)
def test_analysis_with_a_broken_file_shows_only_the_summary(shared_server, tmp_path):
    inputs = write_clips(tmp_path / "in", 2)
    broken = inputs / "broken.wav"
    broken.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(64))
    done = aural(shared_server, "analyze", "--in", str(inputs), "--out", str(tmp_path / "cache"), timeout=180)
    assert done.returncode == 1, done.stderr
    assert statuses(done.stderr) == {"broken.wav": "failed", "clip0.wav": "computed", "clip1.wav": "computed"}
    assert "Traceback" not in done.stderr and "Finished in state" not in done.stderr, done.stderr
    assert "Encountered exception" not in done.stderr, done.stderr
    # every line is the table's or its closing count (the progress bars are off: --quiet)
    table = [line for line in done.stderr.splitlines() if line.strip()]
    assert all(line[0] in "┏┃┡│└" or "summary" in line for line in table[:-1]), done.stderr
    assert table[-1] == "computed 2 | cached 0 | failed 1"
    assert error_logs(shared_server, f"{Path(broken).name}"), "the failed task run is missing from the server's logs"
