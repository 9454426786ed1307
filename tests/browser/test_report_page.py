"""reports/index.html in headless Chromium: it renders and every audio player loads its audio.

Needs Debian's chromium and chromium-driver (`.ci/run` installs them); skipped, saying so,
where they are missing.
"""

from pathlib import Path

import pytest

from ..chromium import CHROMIUM, DRIVER, MISSING, serving, start_chromium
from ..report_fixture import write_small_report

pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason=MISSING)


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    """A small real report: two sections, each with its source and five renders."""
    return write_small_report(tmp_path_factory.mktemp("report"))


@pytest.fixture
def browser():
    driver = start_chromium()
    yield driver
    driver.quit()


@pytest.fixture
def served(report_dir):
    with serving(report_dir) as url:
        yield url


def test_page_renders_and_players_load(served, browser, report_dir, tmp_path):
    browser.get(served)
    assert "Aural Architect evaluation" in browser.title
    assert browser.find_elements("css selector", "svg polyline"), "energy curve missing"
    assert browser.find_elements("css selector", "svg.deltas rect"), "references plot missing"
    players = browser.find_elements("css selector", "audio")
    assert len(players) == 2 * 6  # per section: the source and its five renders
    # Play every player (muted) until it has decoded and played 0.3 s of audio.
    played = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const audios = [...document.querySelectorAll('audio')];
        Promise.all(audios.map(a => new Promise(ok => {
            a.addEventListener('timeupdate', () => { if (a.currentTime > 0.3) { a.pause(); ok(a.currentTime); } });
            a.addEventListener('error', () => ok(-1), {once: true});
            a.muted = true; a.play().catch(() => ok(-2));
        }))).then(done);
    """)
    assert all(t > 0.3 for t in played), played  # every player decoded and played real audio
    shot = Path(tmp_path) / "report.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
