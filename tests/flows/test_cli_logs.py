"""A command's flow runs log their INFO lines to the Prefect server (the UI shows them with each
run) while its console shows none of them, against a real ``prefect server start``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from demo_corpus import plan_corpus, synthesize_clip
from tests.prefect_server import PrefectServer

AURAL = str(Path(sys.executable).parent / "aural")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = PrefectServer(tmp_path_factory.mktemp("cli-logs-prefect")).start()
    yield srv
    srv.stop()


def test_info_lines_reach_the_server_not_the_console(server, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for spec in plan_corpus(n_inputs=2, n_eval=0, seed=3):
        sf.write(inputs / spec.filename, synthesize_clip(spec)[: spec.sr * 6], spec.sr)
    # the user's environment: no PREFECT_LOGGING_LEVEL (the test server's env pins WARNING)
    env = {k: v for k, v in server.env.items() if k != "PREFECT_LOGGING_LEVEL"}
    proc = subprocess.run([AURAL, "analyze", "--in", str(inputs), "--out", str(tmp_path / "cache")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| INFO" not in proc.stderr + proc.stdout

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterLevel
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: server.url}), get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(level=LogFilterLevel(ge_=20, le_=20)))
    messages = [log.message for log in logs]
    assert any(m.endswith(": 2 computed, 0 cached, 0 failed") for m in messages), messages[:20]
