"""reports/index.html in headless Chromium: it renders and every audio player loads its audio.

Needs Debian's chromium and chromium-driver (`.ci/run` installs them); skipped, saying so,
where they are missing.
"""

import functools
import http.server
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from aural_core.config import EvalConfig
from aural_core.controls import Controls
from aural_core.evaluation import Scores
from storage.reports import EvalSection, write_reports

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="Debian chromium + chromium-driver not installed (.ci/run installs them)")


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    """A small real report: two sections with source, adapter and baseline audio."""
    root = tmp_path_factory.mktemp("report")
    sr, t = 22050, np.arange(22050 * 3) / 22050
    src = root / "song.wav"
    sf.write(src, 0.3 * np.sin(2 * np.pi * 220 * t), sr)
    sections = []
    for i, name in enumerate(("intro", "release")):
        renders = {}
        for kind, f in (("adapter", 330), ("baseline", 440)):
            renders[kind] = root / f"{name}-{kind}.flac"
            sf.write(renders[kind], 0.3 * np.sin(2 * np.pi * f * t), sr)
        row = {"file_id": "abc", "source": "song.wav", "section": name, "start_s": 1.5 * i,
               "end_s": 1.5 * i + 1.5, "spans": [[1.5 * i, 1.5 * i + 1.5]], "emotion": "calm", "bpm": 90.0,
               "key": "C major", "key_full": "C major", "style_id": 2}
        sections.append(EvalSection(row=row, controls=Controls("calm", 92.0, "C major", 2, "calm piano"),
                                    adapter={"path": str(renders["adapter"]), "match": 0.6, "bpm": 92.0},
                                    baseline={"path": str(renders["baseline"]), "match": 0.3, "bpm": 90.0},
                                    prediction={"emotion_prob": 0.8, "key_prob": 0.5}))
    frames = [{"start_s": 0.0, "end_s": 1.5, "energy": 0.3}, {"start_s": 1.5, "end_s": 3.0, "energy": 0.7}]
    scores = Scores(0.6, 0.3, 0.3, 0.5, True, {"match_delta_min": 0.1, "tempo_corr_min": 0.3})
    write_reports(root / "reports" / "eval.json", sections=sections, scores=scores,
                  baseline=Controls("calm", 90.0, "C major", 3, "a piece of music"), energy={"abc": frames},
                  inputs={"abc": str(src)}, seconds=15.0, embedder="dsp", renderer="synth", failed=[])
    return root / "reports"


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 "--autoplay-policy=no-user-gesture-required", "--window-size=1200,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def served(report_dir):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(report_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()


def test_page_renders_and_players_load(served, browser, report_dir, tmp_path):
    browser.get(served)
    assert "Aural Architect evaluation" in browser.title
    assert browser.find_elements("css selector", "svg polyline"), "energy curve missing"
    players = browser.find_elements("css selector", "audio")
    assert len(players) == 6
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
