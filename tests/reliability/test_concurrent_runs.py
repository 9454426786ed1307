"""Two `aural analyze` commands on one cache folder at once, same inputs, one Prefect server
(issue 13, item 6): both exit 0 and every frames file is intact and readable."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from storage.integrity import problem

from .cli_runs import frames_bytes, start, statuses, write_clips
from .conftest import temp_files

N_FILES = 8


@pytest.mark.timeout(300)  # ~55 s on an idle 2-core machine
def test_two_analyses_share_one_cache(shared_server, tmp_path):
    inputs, cache = write_clips(tmp_path / "inputs", N_FILES), tmp_path / "cache"
    procs = [start(shared_server, "analyze", "--in", str(inputs), "--out", str(cache)) for _ in range(2)]
    try:
        outputs = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        rows = statuses(err)
        assert len(rows) == N_FILES and set(rows.values()) <= {"computed", "cached"}, err

    frames = sorted((cache / "frames").glob("*.parquet"))
    assert len(frames) == N_FILES
    for path in frames:
        assert problem(path) is None, f"{path.name}: {problem(path)}"
        table = pq.read_table(path)
        assert table.num_rows > 0
    assert temp_files(cache) == []
    assert len(frames_bytes(cache)) == N_FILES
