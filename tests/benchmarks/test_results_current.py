"""The README's benchmark figures are those of the code: each results file the "Benchmarks"
section cites records the extractor and labels versions it was measured with, and those are
the code's, or the README says, where it cites the file, which versions its figures are of."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "benchmarks"))

from provenance import code_versions  # noqa: E402

from tests.benchmarks.test_smoke import measured_blocks  # noqa: E402


def benchmarks_section() -> list[str]:
    text = (ROOT / "README.md").read_text()
    start = text.index("\n## Benchmarks")
    end = text.index("\n## ", start + 1)
    return text[start:end].splitlines()


def cited(lines: list[str]) -> dict[str, list[str]]:
    """results file name -> the README lines (paragraph lines joined) that cite it."""
    paragraphs, current = [], []
    for line in lines + [""]:
        if line.strip() and not line.startswith("|"):
            current.append(line)
            continue
        if current:
            paragraphs.append(" ".join(current))
            current = []
        if line.startswith("|"):
            paragraphs.append(line)
    names = {p.name for p in RESULTS.glob("*.json")}
    out: dict[str, list[str]] = {}
    for para in paragraphs:
        for name in set(re.findall(r"([a-z_]+\.json)", para)) & names:
            out.setdefault(name, []).append(para)
    return out


def stale_note(block: dict) -> str:
    """How the README marks figures of other versions, e.g. "extractor 2, labels 2"."""
    extractor = str(block["extractor_version"]).split("-")[0]
    return f"extractor {extractor}, labels {block['labels_version']}"


def test_every_cited_results_file_records_its_versions():
    for name in cited(benchmarks_section()):
        blocks = measured_blocks(json.loads((RESULTS / name).read_text()))
        assert blocks, f"{name} records no 'measured' block (benchmarks/provenance.py)"
        for block in blocks:
            assert block.get("extractor_version") and block.get("labels_version"), (name, block)
            assert not block.get("smoke"), f"{name} holds smoke-run figures"


def test_cited_figures_are_current_or_say_which_versions_they_are_of():
    current = code_versions()
    for name, paragraphs in cited(benchmarks_section()).items():
        for block in measured_blocks(json.loads((RESULTS / name).read_text())):
            same = (block["extractor_version"] == current["extractor_version"]
                    and block["labels_version"] == current["labels_version"])
            if not same:
                note = stale_note(block)
                assert all(note in p for p in paragraphs), (
                    f"README cites {name} (measured with {note}) as if current (code: "
                    f"{current['extractor_version']}, labels {current['labels_version']}): re-measure it "
                    f"(make bench) or say '{note}' where it is cited")


def test_the_check_sees_a_stale_citation():
    """The comparison itself: a block of another version needs the note, the current one does not."""
    old = {"extractor_version": "2", "labels_version": "2"}
    assert stale_note(old) == "extractor 2, labels 2"
    assert stale_note({"extractor_version": "3-02463b5285", "labels_version": "3"}) == "extractor 3, labels 3"
    lines = ["**Labels** (`labels.json`): 0.8", "", "| x | `scale.json` |"]
    assert set(cited(lines)) == {"labels.json", "scale.json"}
