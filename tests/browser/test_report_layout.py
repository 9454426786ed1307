"""reports/index.html at 1400 px in headless Chromium: nothing cut off, the verdict on top.

The report is the small real one of tests/report_fixture.py, with a long unbroken file name
and a long style prompt, the text most likely to push a page wider than its window. A
screenshot of the page is kept ($AURAL_SCREENSHOTS, else the test's temp folder) for a person
to look at.

Needs Debian's chromium and chromium-driver (`.ci/run` installs them); skipped, saying so,
where they are missing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from storage.report import EvalReport, read_eval_json, write_eval_json
from storage.report_pages import render_html
from storage.report_verdict import verdict

from ..chromium import CHROMIUM, DRIVER, MISSING, serving, start_chromium
from ..report_fixture import write_small_report

pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason=MISSING)

WINDOW = (1400, 900)
LONG_NAME = "field_recording_of_the_whole_rehearsal_take_seven_" * 3 + ".wav"
LONG_PROMPT = ("warm analogue synthesizer pads over a slow hip-hop beat with vinyl crackle, "
               "muted trumpet and a walking upright bass, recorded live in a small club ") * 2
# The parts a reader must see whole: their boxes must lie inside the window's width.
KEY_ELEMENTS = ("#verdict", "table.headline", "table.attributes", "svg.deltas", "svg.energy", "table.sections",
                "h2", "audio", ".players figure", "table.sections td")


@pytest.fixture(scope="module", params=["one file", "two files"])
def report_dir(request, tmp_path_factory):
    """The small report as written (one held-out file: no intervals, "n/a" in their place), and
    the same with its sections in two files and every difference with an interval, re-rendered
    through the page's own renderer: the widest text each difference cell can hold."""
    folder = write_small_report(tmp_path_factory.mktemp("report"), source=LONG_NAME, style_prompt=LONG_PROMPT)
    if request.param == "two files":
        body = json.loads((folder / "eval.json").read_text())
        body["n_files"], body["sections"][1]["file_id"] = 2, "def"
        for diffs in body["differences"].values():
            for d in diffs.values():
                d.update(ci_low=-0.4567, ci_high=0.5678)
        report = EvalReport.model_validate_json(json.dumps(body), strict=True)
        frames = [{"start_s": 0.0, "end_s": 1.5, "energy": 0.3}, {"start_s": 1.5, "end_s": 3.0, "energy": 0.7}]
        write_eval_json(folder / "eval.json", report)
        (folder / "index.html").write_text(render_html(report, {"abc": frames, "def": frames}))
    return folder


@pytest.fixture(scope="module")
def page(report_dir):
    """The page opened at 1400 x 900, as a browser on a laptop shows it."""
    browser = start_chromium(f"{WINDOW[0]},{WINDOW[1]}")
    try:
        with serving(report_dir) as url:
            browser.get(url)
            yield browser
    finally:
        browser.quit()


# Every element's box, in window coordinates; the audio players' own controls live in their
# shadow trees, which the box of each <audio> covers.
_BOXES = """
    return [...document.querySelectorAll('body *')].map(e => {
        const r = e.getBoundingClientRect();
        return {tag: e.tagName.toLowerCase(), id: e.id, cls: e.getAttribute('class'), left: r.left, right: r.right,
                width: r.width, text: (e.textContent || '').trim().slice(0, 40)};
    }).filter(b => b.width > 0);"""


def cut_off(page) -> tuple[dict, list[dict]]:
    """The page's widths and every element that reaches beyond the window's left or right edge."""
    view = page.execute_script("return {inner: window.innerWidth, client: document.documentElement.clientWidth, "
                               "scroll: document.documentElement.scrollWidth}")
    outside = [b for b in page.execute_script(_BOXES) if b["left"] < -0.5 or b["right"] > view["client"] + 0.5]
    return view, outside


def test_the_page_fits_a_1400_px_window(page, tmp_path):
    view, outside = cut_off(page)
    assert view["inner"] == WINDOW[0]
    assert view["scroll"] <= view["client"] <= WINDOW[0], f"the page scrolls sideways: {view}"
    assert not outside, f"cut off at the {view['client']} px the window shows: {outside[:5]}"
    found = set(page.execute_script(
        "return arguments[0].filter(sel => document.querySelector(sel) !== null)", list(KEY_ELEMENTS)))
    assert found == set(KEY_ELEMENTS), f"missing from the page: {set(KEY_ELEMENTS) - found}"
    shot = Path(os.environ.get("AURAL_SCREENSHOTS") or tmp_path) / "report-1400.png"
    page.save_screenshot(str(shot))
    print(f"screenshot of the report page at 1400 px: {shot}")
    assert shot.stat().st_size > 20_000


def test_the_width_check_sees_what_a_wider_page_would_cut_off(page):
    """The check above fails on a page that is too wide: a section cell with an unbreakable
    1500 px line, as a long file name would be without the page's wrapping rules."""
    cell = "table.sections td"
    page.execute_script("const w = document.createElement('span'); w.id = 'too-wide';"
                        "w.style.cssText = 'display:inline-block;white-space:nowrap;width:1500px';"
                        "w.textContent = 'x'; document.querySelector(arguments[0]).appendChild(w);", cell)
    try:
        view, outside = cut_off(page)
        assert view["scroll"] > WINDOW[0]
        assert "too-wide" in {b["id"] for b in outside}
    finally:
        page.execute_script("document.getElementById('too-wide').remove()")
    view, outside = cut_off(page)
    assert view["scroll"] <= view["client"] and not outside


def test_no_plot_text_is_cut_or_tiny(page):
    """Every label of the plots lies inside its plot and reads at 11 px or more on screen."""
    texts = page.execute_script("""
        return [...document.querySelectorAll('svg text')].map(t => {
            const svg = t.ownerSVGElement, r = t.getBoundingClientRect(), s = svg.getBoundingClientRect();
            const scale = s.width / svg.viewBox.baseVal.width;
            return {plot: svg.getAttribute('class'), text: t.textContent, left: r.left - s.left,
                    right: r.right - s.left, top: r.top - s.top, bottom: r.bottom - s.top, width: s.width,
                    height: s.height, px: parseFloat(getComputedStyle(t).fontSize) * scale};
        });""")
    assert {t["plot"] for t in texts} == {"deltas", "energy"}
    cut = [t for t in texts if t["left"] < -0.5 or t["top"] < -0.5 or t["right"] > t["width"] + 0.5
           or t["bottom"] > t["height"] + 0.5]
    assert not cut, cut
    tiny = [(t["text"], t["px"]) for t in texts if t["px"] < 11]
    assert not tiny, tiny


def test_the_verdict_is_the_first_thing_read(page, report_dir):
    line = verdict(read_eval_json(report_dir / "eval.json"))
    element = page.find_element("css selector", "#verdict")
    assert element.is_displayed() and element.text == line
    first = page.execute_script("return document.querySelector('h1 + p')")
    assert first == element  # straight under the title
    box = page.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.top, r.bottom];", element)
    assert 0 <= box[0] and box[1] <= WINDOW[1] / 2, f"the verdict is not in the top half of the window: {box}"
    assert float(element.value_of_css_property("font-size").removesuffix("px")) >= 18


def test_each_measured_interval_reads_on_one_line(page, report_dir):
    """"[−0.46, 0.57]" is never broken over two lines in the attributes table."""
    measured = [d for diffs in read_eval_json(report_dir / "eval.json").differences.values() for d in diffs.values()
                if d.ci_low is not None and d.ci_high is not None]
    lines = page.execute_script("return [...document.querySelectorAll('table.attributes small.ci')]"
                                ".map(e => [e.textContent, e.getClientRects().length])")
    assert len(lines) == len(measured)  # 0 for one held-out file, every difference for two
    assert all(n == 1 for _, n in lines), lines
