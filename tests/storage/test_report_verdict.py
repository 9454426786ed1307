"""The verdict line: whether the adapter helped, in plain words, for every case a report can be in.

Each case edits a real eval.json (tests/report_fixture.py: two sections of one file) as a
newer run would have written it, reads it back through the schema and checks the whole line.
"""

from __future__ import annotations

import json

import pytest

from storage.report import EvalReport
from storage.report_verdict import carried, verdict, verdict_basis

from ..report_fixture import write_small_report


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return write_small_report(tmp_path_factory.mktemp("report"))


@pytest.fixture
def written(reports) -> dict:
    return json.loads((reports / "eval.json").read_text())


def _report(body: dict) -> EvalReport:
    return EvalReport.model_validate_json(json.dumps(body), strict=True)


def _two_files(body: dict, delta: float, low: float | None, high: float | None) -> dict:
    """The release section moved to a second file, and the match difference set as a two-file bootstrap gives it."""
    body["sections"][1]["file_id"] = "def"
    body["n_files"] = 2
    body["differences"]["fixed"]["match"] = {"delta": delta, "ci_low": low, "ci_high": high}
    return body


CARRY = "carry its tempo in 2 of 2 sections and its key in 2 of 2."


@pytest.mark.parametrize("delta, low, high, claim", [
    (0.2221, 0.0712, 0.3840, "match your music better than the fixed baseline (match +0.22, 95 % interval "
                             "+0.07…+0.38)"),
    (-0.12, -0.204, -0.031, "match your music worse than the fixed baseline (match −0.12, 95 % interval "
                            "−0.20…−0.03)"),
    (0.05, -0.04, 0.14, "do not clearly match your music better than the fixed baseline (match +0.05, but the "
                        "95 % interval −0.04…+0.14 includes 0)"),
    (-0.03, -0.10, 0.05, "do not match your music better than the fixed baseline (match −0.03, 95 % interval "
                         "−0.10…+0.05)"),
    (0.3, None, None, "match your music better than the fixed baseline (match +0.30; no 95 % interval: the "
                      "match was measured in one file only)"),
], ids=["better", "worse", "not-clearly-better", "not-better", "two-files-no-interval"])
def test_the_verdict_says_better_only_when_the_whole_interval_is_above_zero(written, delta, low, high, claim):
    line = verdict(_report(_two_files(written, delta, low, high)))
    assert line == f"The adapter's renders {claim}, and {CARRY}"


def test_one_held_out_file_has_no_interval_and_the_verdict_says_why(written):
    report = _report(written)  # the fixture: both sections from one file, so no interval
    assert report.differences["fixed"].get("match").ci_low is None
    assert verdict(report) == ("The adapter's renders match your music better than the fixed baseline on the one "
                               "held-out file (match +0.30; no 95 % interval, which needs ≥ 2 held-out files), "
                               f"and {CARRY}")


def test_a_worse_single_file_reads_worse(written):
    written["differences"]["fixed"]["match"]["delta"] = -0.2
    assert "match your music worse than the fixed baseline on the one held-out file (match −0.20;" \
        in verdict(_report(written))


def test_no_section_scored(written):
    written.update(sections=[], n_sections=0, n_files=0)
    assert verdict(_report(written)) == ("No section was scored (1 input file could not be analysed), so this "
                                         "report cannot say whether the adapter helped.")
    written["failed_inputs"] = []
    assert verdict(_report(written)) == "No section was scored, so this report cannot say whether the adapter helped."


def test_no_match_measured(written):
    written["differences"]["fixed"]["match"] = {"delta": None, "ci_low": None, "ci_high": None}
    assert verdict(_report(written)) == (
        "The adapter's renders could not be compared with the fixed baseline (no match was measured), so this "
        "report cannot say whether the adapter helped; they carry your music's tempo in 2 of 2 sections and its "
        "key in 2 of 2.")


def test_tempo_and_key_counts_come_from_the_adapters_renders(written):
    """Tempo: Acc2 (octave errors allowed); key: the very same key (a fifth, MIREX 0.5, is not kept);
    a source the estimator could not read is left out of the count, and the line says so."""
    intro, release = (s["renders"]["adapter"] for s in written["sections"])
    intro.update(tempo_acc1=0.0, tempo_acc2=1.0)      # heard at double the tempo: kept
    release.update(tempo_acc1=0.0, tempo_acc2=0.0, key_weighted=0.5)   # tempo lost, a fifth off
    report = _report(written)
    assert carried(report).__dict__ == {"tempo": 1, "same_tempo": 0, "tempo_read": 2, "key": 1, "key_read": 2}
    assert verdict(report).endswith(", and carry its tempo in 1 of 2 sections and its key in 1 of 2.")
    assert "at the very same tempo in 0 of 2 sections" in verdict_basis(report)
    written["sections"][1]["source_estimate"] = {"bpm": None, "key": None}
    assert verdict(_report(written)).endswith(
        ", and carry its tempo in 1 of 1 sections whose tempo could be read and its key in 1 of 1 sections whose "
        "key could be read.")
    for section in written["sections"]:
        section["source_estimate"] = {"bpm": None, "key": None}
    assert verdict(_report(written)).endswith(
        ", and carry its tempo in no section (no tempo could be read from the sources) and its key in no section "
        "(no key could be read from the sources).")


def test_the_basis_says_where_tempo_and_key_came_from(written):
    assert "not from the adapter" not in verdict_basis(_report(written))
    written["controls_source"] = {"key": "measured", "bpm": "measured"}
    assert "The renders' tempo and key came from what was measured in your music, not from the adapter." \
        in verdict_basis(_report(written))


def test_the_verdict_comes_first_in_both_views(reports):
    """eval.md (also the Prefect artifact's text) and index.html open with the line."""
    report = _report(json.loads((reports / "eval.json").read_text()))
    line = verdict(report)
    md = (reports / "eval.md").read_text().splitlines()
    assert md[:3] == ["# Aural Architect evaluation", "", f"**{line}**"]
    page = (reports / "index.html").read_text()
    assert page.index('<p class="verdict" id="verdict">' + line.replace("'", "&#39;") + "</p>") \
        < page.index("<table")
