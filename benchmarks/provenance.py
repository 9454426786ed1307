"""What every benchmark result records about how it was measured, and where results go.

Every results file under ``benchmarks/results/`` carries a ``"measured"`` block (``stamp``):
the commit, whether the working tree had uncommitted changes (other than to results files),
the extractor and labels versions the figures depend on, the date, the machine and its 1-minute
load average. The README quotes only figures whose recorded versions match the code
(tests/benchmarks/test_results_current.py compares them).

Every script has a ``--smoke`` mode on a tiny input (tests/benchmarks/test_smoke.py runs them
all in ``make test``): it runs the same code path in seconds and writes its results where
``AURAL_BENCH_RESULTS`` points (a temporary folder), never over the real ones.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMOKE_HELP = "tiny input, results under $AURAL_BENCH_RESULTS (a check that the script runs; no figures)"


def results_dir() -> Path:
    """``$AURAL_BENCH_RESULTS`` when set (smoke runs), else benchmarks/results."""
    return Path(os.environ.get("AURAL_BENCH_RESULTS") or ROOT / "benchmarks" / "results")


def results_path(name: str) -> Path:
    return results_dir() / name


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def code_versions() -> dict[str, str]:
    """The versions a figure depends on: the extractor fingerprint and the labels version."""
    from aural_core.features import extractor_fingerprint
    from aural_core.sections import LABELS_VERSION

    return {"extractor_version": extractor_fingerprint(), "labels_version": LABELS_VERSION}


def stamp(*, smoke: bool = False) -> dict:
    """The ``measured`` block of a results file (see module docstring)."""
    # Results files a benchmark run has just written are not code: without the exclusion every
    # benchmark after the first of a `make bench` stamped itself "uncommitted".
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)benchmarks/results"))
    return {"commit": _git("rev-parse", "HEAD") or None, "uncommitted_changes": dirty, **code_versions(),
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "machine": f"{os.cpu_count()} cores", "load_average_1min": round(os.getloadavg()[0], 2),
            "smoke": smoke}


def write_results(name: str, result: dict, *, key: str | None = None, smoke: bool = False) -> Path:
    """Write ``result`` (stamped) to results file ``name``, atomically; with ``key``, only that
    key of the file is replaced (other scripts own the file's other keys)."""
    from storage.atomic import write_text_atomic

    path = results_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamped = {"measured": stamp(smoke=smoke), **result}
    if key is not None:
        current = json.loads(path.read_text()) if path.is_file() else {}
        current[key] = stamped
        stamped = current
    write_text_atomic(path, json.dumps(stamped, indent=2, default=float) + "\n")
    return path


def tiny_corpus(folder: Path, *, n_inputs: int = 3, n_eval: int = 2) -> Path:
    """A small demo corpus (deterministic synthesis, ``truth.json`` per split) in ``folder``."""
    from demo_corpus import write_corpus

    if not (folder / "inputs" / "truth.json").is_file():
        write_corpus(folder, n_inputs=n_inputs, n_eval=n_eval, seed=0)
    return folder


def tiny_labelled_set(folder: Path) -> Path:
    """A stand-in for the labelled composition set: demo clips with a ``truth.json`` in the
    set's format (``bpm``, ``key``, ``drums``) and names that fall in both halves."""
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "truth.json").is_file():
        return folder
    corpus = tiny_corpus(folder.parent / (folder.name + "-corpus"), n_inputs=4, n_eval=0)
    truth = json.loads((corpus / "inputs" / "truth.json").read_text())["clips"]
    clips = {}
    for name, t in sorted(truth.items()):
        (folder / name).write_bytes((corpus / "inputs" / name).read_bytes())
        clips[name] = {"bpm": t["bpm"], "key": t["key"], "drums": bool(t.get("drums", False))}
    (folder / "truth.json").write_text(json.dumps({"clips": clips}, indent=2))
    return folder


def tiny_tracks(folder: Path) -> Path:
    """A stand-in for the real-music folder: demo clips named like the Warzone tracks
    (``..._<bpm>bpm``), so that scripts reading tempi from file names have some."""
    folder.mkdir(parents=True, exist_ok=True)
    corpus = tiny_corpus(folder.parent / (folder.name + "-corpus"), n_inputs=2, n_eval=0)
    truth = json.loads((corpus / "inputs" / "truth.json").read_text())["clips"]
    for name, t in sorted(truth.items()):
        stem, ext = name.rsplit(".", 1)
        target = folder / f"{stem}_{round(t['bpm'])}bpm.{ext}"
        if not target.exists():
            target.write_bytes((corpus / "inputs" / name).read_bytes())
    return folder


def backfill(path: Path) -> bool:
    """Give a results file written before these stamps a ``measured`` block reconstructed from
    git: the last commit that changed it and the extractor and labels versions declared in the
    code at that commit (``reconstructed: true``; the fingerprint's table hash is unknown).
    Returns whether the file changed."""
    result = json.loads(path.read_text())
    commit = _git("log", "-1", "--format=%H", "--", str(path.relative_to(ROOT)))
    if not commit:
        return False

    def declared(name: str, *files: str) -> str | None:
        import re

        for file in files:
            found = re.search(rf'^{name} = "([^"]+)"', _git("show", f"{commit}:{file}"), re.M)
            if found:
                return found.group(1)
        return None

    block = {"commit": commit, "uncommitted_changes": None,
             "extractor_version": declared("EXTRACTOR_VERSION", "aural_core/features.py"),
             "labels_version": declared("LABELS_VERSION", "aural_core/sections.py", "tasks/train.py"),
             "date": _git("log", "-1", "--format=%cI", commit), "reconstructed": True, "smoke": False}
    keyed = [k for k, v in result.items() if isinstance(v, dict)] if path.name == "scale.json" else []
    changed = False
    if keyed:
        for k in keyed:
            if "measured" not in result[k]:
                result[k] = {"measured": block, **result[k]}
                changed = True
    elif "measured" not in result:
        result = {"measured": block, **result}
        changed = True
    if changed:
        text = path.read_text()
        indent = 1 if text.startswith("{\n \"") else 2  # keep the file's layout: a small diff
        path.write_text(json.dumps(result, indent=indent) + ("\n" if text.endswith("\n") else ""))
    return changed


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--backfill"]:  # one-off: stamp results files older than these stamps
        for p in sorted((ROOT / "benchmarks" / "results").glob("*.json")):
            print(p.name, "stamped" if backfill(p) else "unchanged")
