"""The eval report contract: eval.json as written reads back through the schema, bad files are
refused with a clear error, and the Markdown and HTML views escape what they show. No Chromium."""

from __future__ import annotations

import json
import os
import re

import pytest
from markdown_it import MarkdownIt

from storage.report import REPORT_SCHEMA_VERSION, EvalReport, ReportFormatError, read_eval_json, write_eval_json
from storage.report_pages import markdown_code, markdown_escape

from ..report_fixture import ADAPTER, PROBE, SAMPLING, write_small_report

NASTY_NAME = "a|b*_c_[x](y)<b>.wav"
NASTY_PROMPT = "lo-fi | `tape` **hiss** [link](http://x) & <i>more</i>"
# Today's eval.json keys, in order: other tools read them, so a change here is a new schema version.
TOP_LEVEL = ["schema_version", "match_score", "baseline_match_score", "match_delta", "tempo_corr",
             "targets", "passed", "passed_ci", "n_sections", "n_files", "embedder", "renderer", "seconds", "bpm_mae",
             "agreement", "baseline_controls", "estimator", "controls_source", "prior", "ci_level", "attributes",
             "differences", "failed_inputs", "trained_on_eval_files", "sections", "probe", "adapter"]
SECTION = ["file_id", "source", "section", "start_s", "end_s", "spans", "predicted", "confidence", "weak_labels",
           "reference_bpm", "rendered_bpm", "baseline_rendered_bpm", "match", "baseline_match", "audio",
           "seconds", "source_file", "source_estimate", "renders"]
KINDS = ["adapter", "fixed", "prior", "shuffled", "oracle"]


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return write_small_report(tmp_path_factory.mktemp("report"), source=NASTY_NAME, style_prompt=NASTY_PROMPT)


@pytest.fixture
def written(reports) -> dict:
    """eval.json as plain JSON, a fresh copy per test."""
    return json.loads((reports / "eval.json").read_text())


# ---- eval.json ---------------------------------------------------------------------------------

def test_eval_json_keeps_todays_fields(written):
    assert list(written) == TOP_LEVEL
    assert written["schema_version"] == REPORT_SCHEMA_VERSION
    assert [list(s) for s in written["sections"]] == [SECTION, SECTION]
    first = written["sections"][0]
    assert list(first["predicted"]) == ["emotion", "bpm", "key", "style_id", "style_prompt", "stem_gains"]
    # label_source: optional, added after schema 2 (where each label came from)
    assert list(first["weak_labels"]) == ["emotion", "bpm", "key", "key_full", "style_id", "label_source"]
    assert written["sections"][1]["weak_labels"]["label_source"] == {"bpm": "tag", "key": "sidecar",
                                                                     "emotion": "weak", "style": "weak"}
    assert first["audio"] == {k: f"audio/abc-intro-{k}.ogg"
                              for k in ("source", "adapter", "baseline", "prior", "shuffled", "oracle")}
    assert list(first["renders"]) == KINDS and list(written["attributes"]) == KINDS
    assert list(written["differences"]) == KINDS[1:]
    # every scored render is named, relative to the report, so an outside tool can re-score it
    assert first["renders"]["oracle"]["file"] == "../intro-oracle.flac" and first["source_file"] == "../song.wav"
    assert written["differences"]["fixed"]["match"]["delta"] == pytest.approx(0.3)
    assert first["spans"] == [[0.0, 1.5]]
    assert written["failed_inputs"] == [{"source": "broken.wav", "error": "not audio"}]


def test_eval_json_round_trips_through_the_schema(reports, written, tmp_path):
    report = read_eval_json(reports / "eval.json")
    assert isinstance(report, EvalReport)
    assert report.model_dump(mode="json") == written
    assert report.sections[0].predicted.style_prompt == NASTY_PROMPT
    assert report.headline() == {"match_score": 0.6, "baseline_match_score": 0.3, "match_delta": 0.3,
                                 "tempo_corr": 1.0, "bpm_mae": 2.0, "n_sections": 2, "passed": True,
                                 "passed_ci": False}  # one file: no interval, so not passed at its bound
    again = write_eval_json(tmp_path / "eval.json", report)
    assert again.read_bytes() == (reports / "eval.json").read_bytes()
    assert read_eval_json(again) == report


def test_eval_json_records_conditioning_sampling_and_probe(written):
    renders = written["sections"][0]["renders"]
    assert renders["adapter"]["conditioning"] == "mix:0.5" and renders["fixed"]["conditioning"] == "prompt"
    assert all(r["sampling"] == SAMPLING for r in renders.values())
    assert written["probe"] == PROBE


def test_a_v2_report_without_the_later_optional_fields_still_reads(written, tmp_path):
    """Files written before conditioning, sampling, the probe and the adapter were recorded stay valid."""
    del written["probe"], written["adapter"]
    for section in written["sections"]:
        del section["weak_labels"]["label_source"]
        for render in section["renders"].values():
            del render["conditioning"], render["sampling"]
    path = tmp_path / "eval.json"
    path.write_text(json.dumps(written))
    report = read_eval_json(path)
    assert report.probe is None and report.sections[0].renders["adapter"].conditioning is None
    assert report.adapter is None and report.sections[0].weak_labels.label_source is None


def test_every_view_names_the_adapter_scored(reports, written):
    """eval.json, eval.md and index.html say which adapter was scored, for which data folder,
    and that this run kept an earlier one (and why)."""
    # the adapter file, like every path of the report, relative to the report's folder
    assert written["adapter"] == {**ADAPTER, "file": os.path.relpath(ADAPTER["file"], reports)}
    markdown, page = (reports / "eval.md").read_text(), (reports / "index.html").read_text()
    for view in (markdown, page):
        assert "sha256:cdcdcdcdcdcd" in view and "mine" in view and "kept from an earlier run" in view
        assert "worse than the published model" in view and "/music/mine/inputs" in view


def test_one_held_out_file_shows_no_interval_but_says_why(reports, written):
    """The fixture's sections come from one file: deltas are measured, their intervals are not."""
    assert written["differences"]["fixed"]["match"]["ci_low"] is None
    for view in ((reports / "eval.md").read_text(), (reports / "index.html").read_text()):
        assert "n/a — needs ≥ 2 held-out files" in view
        assert "None" not in view


def _drop(path):
    def edit(body):
        *parents, last = path
        for key in parents:
            body = body[key]
        del body[last]
    return edit


def _set(path, value):
    def edit(body):
        *parents, last = path
        for key in parents:
            body = body[key]
        body[last] = value
    return edit


@pytest.mark.parametrize("edit, field, message", [
    (_drop(["match_score"]), "match_score", "Field required"),
    (_drop(["sections", 0, "predicted", "bpm"]), "sections.0.predicted.bpm", "Field required"),
    (_drop(["sections", 1, "audio", "baseline"]), "sections.1.audio.baseline", "Field required"),
    (_set(["sections", 0, "match"], "0.6"), "sections.0.match", "valid number"),
    (_set(["passed"], "yes"), "passed", "valid boolean"),
    (_set(["n_files"], 1.5), "n_files", "valid integer"),
    (_set(["sections", 0, "spans"], [[0.0, 1.0, 2.0]]), "sections.0.spans.0", "at most 2 items"),
    (_set(["schema_version"], "1"), "schema_version", "Input should be '2'"),
    (_set(["bpm"], 120.0), "bpm", "Extra inputs are not permitted"),
    (_set(["n_sections"], 3), "n_sections=3", "do not match"),
], ids=["missing-top", "missing-nested", "missing-audio", "string-score", "string-bool", "float-count",
        "bad-span", "newer-version", "unknown-field", "count-mismatch"])
def test_bad_reports_are_refused_naming_the_field(written, tmp_path, edit, field, message):
    edit(written)
    path = tmp_path / "eval.json"
    path.write_text(json.dumps(written))
    with pytest.raises(ReportFormatError) as info:
        read_eval_json(path)
    text = str(info.value)
    assert str(path) in text and field in text and message in text, text


def test_a_file_that_is_not_json_is_refused(tmp_path):
    path = tmp_path / "eval.json"
    path.write_text("{ not json")
    with pytest.raises(ReportFormatError, match="not a valid eval report"):
        read_eval_json(path)


# ---- eval.md -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, escaped", [
    ("song.wav", "song.wav"),
    ("a|b", r"a\|b"),
    ("*_bold_*", r"\*\_bold\_\*"),
    ("[x](y)", r"\[x\](y)"),
    ("<b>&amp;", r"\<b\>\&amp;"),
    ("back\\slash `code` ~strike~", r"back\\slash \`code\` \~strike\~"),
    ("two\nlines", "two lines"),
    ("F# minor", "F# minor"),
])
def test_markdown_escape(text, escaped):
    assert markdown_escape(text) == escaped


@pytest.mark.parametrize("text, code", [("dsp", "`dsp`"), ("a`b", "``a`b``"), ("`x", "`` `x ``")])
def test_markdown_code(text, code):
    assert markdown_code(text) == code


def test_eval_md_shows_names_literally_in_one_table_cell(reports):
    md = (reports / "eval.md").read_text()
    assert md.startswith("# Aural Architect evaluation\n")
    html = MarkdownIt("commonmark").enable("table").render(md)
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    body_rows = [re.findall(r"<td>(.*?)</td>", r, re.S) for r in rows
                 if NASTY_NAME.replace("<", "&lt;").replace(">", "&gt;") in r]
    sections = [cells for cells in body_rows if len(cells) == 10]  # the file name's "|" did not split a row
    settings = [cells for cells in body_rows if len(cells) == 7]  # file, section and the five kinds
    assert len(sections) == len(settings) == 2 == len(body_rows) / 2
    for cells in sections:
        assert cells[0] == "a|b*_c_[x](y)&lt;b&gt;.wav"
        assert cells[7] == "2: lo-fi | `tape` **hiss** [link](http://x) &amp; &lt;i&gt;more&lt;/i&gt;"
        assert cells[3:6] == ["C major, 90.5", "calm", "90.0 → 92 → 91.0"]  # source read as; mood; BPM
    for cells in settings:
        assert cells[2:4] == ["mix:0.5 · T 0.7 · top-k 50 · cfg 3", "prompt · T 0.7 · top-k 50 · cfg 3"]
    assert "R² 0.35 on these 2 sections, 0.41 on its 6 validation sections" in md
    for injected in ("<a ", "<em>", "<strong>", "<code>tape", "<b>", "<i>"):
        assert injected not in html.split("<table>", 2)[-1], injected


# ---- index.html --------------------------------------------------------------------------------

def test_index_html_escapes_names_and_links_every_player(reports, written):
    page = (reports / "index.html").read_text()
    assert "<h2>a|b*_c_[x](y)&lt;b&gt;.wav</h2>" in page and NASTY_NAME not in page
    assert "&lt;i&gt;more&lt;/i&gt;" in page and "<i>more" not in page
    assert page.count("<polyline ") == 1  # one energy curve per file
    assert page.count('opacity="0.35"') == 2  # one shaded span per section
    assert 'class="deltas"' in page and "key (MIREX weighted) − oracle" in page  # the references plot
    players = re.findall(r'<audio controls preload="none" src="([^"]+)"></audio>', page)
    expected = [s["audio"][k] for s in written["sections"]
                for k in ("source", "adapter", "baseline", "prior", "shuffled", "oracle")]
    assert players == expected
    assert all(not p.startswith("/") and (reports / p).stat().st_size > 1000 for p in players)
    assert page.count('class="bar"') == 4 and 'style="width:60px;background:#219ebc"' in page
    # under each render: what it was conditioned on and sampled with; the probe's figures on top
    notes = re.findall(r'<small class="conditioning">([^<]*)</small>', page)
    assert notes == ["mix:0.5 · T 0.7 · top-k 50 · cfg 3"] + ["prompt · T 0.7 · top-k 50 · cfg 3"] * 4 \
        + ["mix:0.5 · T 0.7 · top-k 50 · cfg 3"] + ["prompt · T 0.7 · top-k 50 · cfg 3"] * 4
    assert 'class="probe"' in page and "R² 0.35 on these 2 sections" in page


def test_index_html_speaks_to_a_musician(reports):
    """Both verdicts side by side, each render kind explained where it appears, the source's own
    reading and labels beside each section, and no bare jargon."""
    page = (reports / "index.html").read_text()
    headline = page[page.index('<table class="headline">'):]
    headline = headline[:headline.index("</table>")]
    assert "<th>passed<br>" in headline and "<th>passed_ci<br>" in headline
    assert re.findall(r'<td class="(?:passed|failed)"><b>(yes|no)</b>', headline) == ["yes", "no"]
    for stale in ("interval's lower bound", "predicted controls", "weak labels)"):
        assert stale not in page, stale
    for kind in ("prior", "shuffled", "oracle"):
        assert re.search(rf"<dt>.*?{kind}</dt><dd>[^<]{{40,}}</dd>", page), kind  # named, then explained
    readings = re.findall(r'<td class="source-reading">(.*?)</td>', page, re.S)
    assert [r.split("<br>")[0].strip() for r in readings] == ["key C major · 90.5 BPM"] * 2
    assert "(from the analysis)" in readings[0]
    assert "(tempo from the file&#39;s tags; key from labels.csv; the rest from the analysis)" in readings[1]
    assert page.count('<span class="ok">tempo kept</span>') == 2 and page.count('<span class="ok">key kept</span>') == 2


def test_the_plots_have_axes_ticks_and_labels(reports):
    page = (reports / "index.html").read_text()
    deltas = page[page.index('<svg class="deltas"'):]
    deltas = deltas[:deltas.index("</svg>")]
    assert '<line class="zero"' in deltas and '<line class="axis"' in deltas
    ticks = re.findall(r'<text class="tick"[^>]*>([^<]+)</text>', deltas)
    assert "0" in ticks and ticks == sorted(ticks, key=lambda t: float(t.replace("−", "-"))) and len(ticks) >= 5
    assert ticks[0] == "−" + ticks[-1].lstrip("+")  # symmetric around the zero line
    assert re.search(r'<text [^>]*font-weight="600"><tspan[^>]*>overall match \(MatchScore\)</tspan>', deltas)
    assert deltas.count(">+0.30</text>") == 1  # the match difference with the fixed baseline, printed by its bar
    energy = page[page.index('<svg class="energy"'):]
    energy = energy[:energy.index("</svg>")]
    assert ">time (s)</text>" in energy and ">energy</text>" in energy
    assert re.findall(r'<text class="section-name"[^>]*>([^<]+)</text>', energy) == ["intro", "release"]
    # beside each section, the source's own key and tempo as the independent estimator hears them
    assert re.findall(r'<text class="section-reading"[^>]*>([^<]+)</text>', energy) == ["C major · 90.5 BPM"] * 2
    assert energy.count('stroke-dasharray="3 3"') == 3  # bounds at 0, 1.5 and 3 s
