"""Every benchmark script runs: its ``--smoke`` mode on a tiny input, as a fresh process.

A script that no longer runs (an API it calls changed, a field it builds went missing) fails
here instead of on the next ``make bench``. Nothing is timed: the smoke modes check that the
code path works and that every results file records what measured it (``measured``: commit,
extractor and labels versions, date; benchmarks/provenance.py). Results go to a temporary
folder (``AURAL_BENCH_RESULTS``), never over benchmarks/results. The CLI-driven scripts share
one real Prefect server (``PREFECT_API_URL``), except those whose subject is the servers the
CLI starts itself (soak, the cached re-run on ``aural server``).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"
# script (relative to benchmarks/) -> why it may be skipped here (None: never)
SMOKE = {
    "agreement_check.py": None,
    "agreement_settings.py": None,
    "bench_augment.py": None,
    "bench_analyze.py": None,
    "bench_cache_verify.py": None,
    "bench_cli_server.py": None,
    "bench_downbeats.py": None,
    "bench_eval.py": None,
    "bench_first_run.py": None,
    "bench_heads.py": None,
    "bench_labels.py": None,
    "bench_scale.py": None,
    "bench_soak.py": None,
    "fit_agreement_reference.py": None,
    "fit_dsp_reference.py": None,
    "gpu_check.py": None,
    "profile_cli.py": None,
    "realcomp/build.py": "needs fluidsynth, fluid-soundfont-gm and music21 (`make bench` installs them)",
    "realcomp/score_labels.py": None,
}
LIBRARIES = {"provenance.py", "full_size_models.py"}  # imported by the scripts, no __main__


def scripts_on_disk() -> set[str]:
    return {p.relative_to(BENCH).as_posix() for p in BENCH.rglob("*.py")
            if "__main__" in p.read_text() and p.name not in LIBRARIES}


def test_every_script_has_a_smoke_run():
    assert scripts_on_disk() == set(SMOKE), "add the new script (with a --smoke mode) to SMOKE"
    for name in SMOKE:
        assert "--smoke" in (BENCH / name).read_text(), f"{name} has no --smoke mode"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.prefect_server import PrefectServer

    srv = PrefectServer(tmp_path_factory.mktemp("bench-smoke-prefect")).start()
    yield srv
    srv.stop()


def _tools_missing(name: str) -> bool:
    if name != "realcomp/build.py":
        return False
    return shutil.which("fluidsynth") is None or importlib.util.find_spec("music21") is None or \
        not Path("/usr/share/sounds/sf2/FluidR3_GM.sf2").exists()


# About 6 minutes on 2 cores, over a third of the unit suite: `make bench-smoke` runs them and
# .ci/run calls it after `make test`, so a plain `pytest` run stays well under 15 minutes.
@pytest.mark.bench_smoke
@pytest.mark.parametrize("name", sorted(SMOKE))
def test_smoke(name, server, tmp_path):
    if SMOKE[name] and _tools_missing(name):
        pytest.skip(SMOKE[name])
    results = tmp_path / "results"
    env = {**server.env, "AURAL_BENCH_RESULTS": str(results), "PYTHONPATH": str(ROOT), "COLUMNS": "200",
           "TMPDIR": str(tmp_path)}
    before = committed_results()
    proc = subprocess.run([sys.executable, str(BENCH / name), "--smoke"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert committed_results() == before, "a smoke run wrote into benchmarks/results"
    assert proc.returncode == 0, f"{name} --smoke: exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    for path in results.glob("*.json") if results.is_dir() else []:
        for block in measured_blocks(json.loads(path.read_text())):
            assert block["smoke"] is True and re.fullmatch(r"[0-9a-f]{40}", block["commit"] or ""), (path, block)
            assert block["extractor_version"] and block["labels_version"] and block["date"], (path, block)


def committed_results() -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (BENCH / "results").glob("*")}


def measured_blocks(result: dict) -> list[dict]:
    """The ``measured`` blocks of a results file: its own, or one per key (files that several
    scripts write, one key each)."""
    if "measured" in result:
        return [result["measured"]]
    return [v["measured"] for v in result.values() if isinstance(v, dict) and "measured" in v]
