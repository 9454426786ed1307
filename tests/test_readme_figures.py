"""The demo figures the README quotes are those of ``benchmarks/results/eval.json``.

The README marks the quoted block with ``<!-- figures: benchmarks/results/eval.json -->`` and
``<!-- end figures -->``. Inside it: the commit and versions the file was measured at, the
headline table (MatchScore ... result), the match delta with its 95 % interval, TempoCorr, and
the per-attribute table (adapter and the four references). Each number must equal the file's,
rounded as the README quotes it (to the number of decimals written)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT / "benchmarks" / "results" / "eval.json"
START, END = "<!-- figures: benchmarks/results/eval.json -->", "<!-- end figures -->"
KINDS = ("adapter", "fixed", "prior", "shuffled", "oracle")
# README row label (start) -> eval.json attribute name
ATTRIBUTE_ROWS = {"MatchScore (": "match", "tempo Acc2": "tempo_acc2", "key (MIREX": "key_weighted",
                  "timbre": "timbre"}
HEADLINE = ("match_score", "baseline_match_score", "match_delta", "tempo_corr", "bpm_mae", "n_sections")


def figures_block(text: str) -> str:
    start = text.index(START)
    return text[start:text.index(END, start)]


def table_rows(block: str) -> list[list[str]]:
    """Markdown table rows as cells, header and separator rows included."""
    return [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in block.splitlines() if line.strip().startswith("|")]


def same(quoted: str, value: float) -> bool:
    """``quoted`` is ``value`` rounded to the decimals written (0.571 == 0.5710, 0.376 ~ 0.3756)."""
    decimals = len(quoted.split(".")[1]) if "." in quoted else 0
    return float(quoted) == round(float(value), decimals)


def mismatches(block: str, demo: dict, measured: dict) -> list[str]:
    """Every quoted figure that differs from eval.json's, as 'what: README x, file y'."""
    bad, rows = [], table_rows(block)
    headline = next(r for i, r in enumerate(rows) if i > 0 and rows[i - 1][0] == "---")
    for key, quoted in zip(HEADLINE, headline):
        if not same(quoted, demo[key]):
            bad.append(f"{key}: README {quoted}, file {demo[key]}")
    verdict = "PASSED" if demo["passed"] else "NOT PASSED"
    if headline[len(HEADLINE)] != verdict:
        bad.append(f"result: README {headline[len(HEADLINE)]}, file {verdict}")

    first = next((i for i, r in enumerate(rows) if r[0].startswith("attribute")), len(rows))
    attribute = {r[0]: r[1:] for r in rows[first + 1:]}
    for label, metric in ATTRIBUTE_ROWS.items():
        row = next((cells for name, cells in attribute.items() if name.startswith(label)), None)
        if row is None:
            bad.append(f"attribute row {label!r} missing")
            continue
        for kind, quoted in zip(KINDS, row):
            if not same(quoted, demo["attributes"][kind][metric]):
                bad.append(f"{metric}/{kind}: README {quoted}, file {demo['attributes'][kind][metric]}")

    match = demo["differences"]["fixed"]["match"]
    m = re.search(r"delta over the fixed baseline is ([\d.]+), 95 % interval \[([-\d.]+), ([-\d.]+)\] over "
                  r"(\d+) held-out\s+files", block)
    if not m:
        bad.append("the sentence with the match delta and its interval is missing")
    else:
        for quoted, value, what in zip(m.groups(), (match["delta"], match["ci_low"], match["ci_high"], demo["n_files"]),
                                       ("delta", "ci_low", "ci_high", "n_files")):
            if not same(quoted, value):
                bad.append(f"match {what}: README {quoted}, file {value}")
    t = re.search(r"TempoCorr is ([\d.]+)", block)
    if not t or not same(t.group(1), demo["tempo_corr"]):
        bad.append(f"TempoCorr sentence: README {t and t.group(1)}, file {demo['tempo_corr']}")
    for flag in ("passed_ci", "passed"):
        said = re.search(rf"`{flag}` is (true|false)", block)
        if not said or (said.group(1) == "true") != demo[flag]:
            bad.append(f"{flag}: README {said and said.group(1)}, file {demo[flag]}")

    extractor = str(measured["extractor_version"]).split("-")[0]
    provenance = f"commit {measured['commit'][:7]}, extractor {extractor}, labels {measured['labels_version']}"
    if provenance not in " ".join(block.split()):
        bad.append(f"provenance: README lacks '{provenance}'")
    return bad


def test_readme_quotes_the_demo_figures_of_eval_json():
    data = json.loads(EVAL.read_text())
    bad = mismatches(figures_block((ROOT / "README.md").read_text()), data["demo"], data["measured"])
    assert not bad, "README's demo figures differ from benchmarks/results/eval.json:\n" + "\n".join(bad)


def test_a_changed_figure_is_caught():
    """The check itself: the same block against a file with one figure moved fails, naming it."""
    data = json.loads(EVAL.read_text())
    block = figures_block((ROOT / "README.md").read_text())
    for path, delta in ((("match_score",), 0.01), (("attributes", "oracle", "key_weighted"), -0.1),
                        (("differences", "fixed", "match", "ci_low"), 0.01), (("tempo_corr",), 0.05)):
        demo = json.loads(json.dumps(data["demo"]))
        target = demo
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] += delta
        bad = mismatches(block, demo, data["measured"])
        assert any(path[-1] in line for line in bad), (path, bad)
    flipped = dict(data["demo"], passed_ci=not data["demo"]["passed_ci"])
    assert any(line.startswith("passed_ci") for line in mismatches(block, flipped, data["measured"]))
    other = dict(data["measured"], commit="0" * 40)
    assert any(line.startswith("provenance") for line in mismatches(block, data["demo"], other))


@pytest.mark.parametrize(("quoted", "value", "ok"), [("0.571", 0.571, True), ("0.5710", 0.571, True),
                                                     ("0.376", 0.3756, True), ("0.38", 0.3756, True),
                                                     ("0.375", 0.3756, False), ("17", 17, True)])
def test_rounding_as_quoted(quoted, value, ok):
    assert same(quoted, value) is ok
