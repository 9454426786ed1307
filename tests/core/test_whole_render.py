"""Whole-piece assembly on synthetic click tracks: beats on the bar grid, one-bar crossfades,
lengths in bars, tempo conforming, looping and the cue sheet."""

import json
import re

import numpy as np
import pytest

from aural_core.errors import ParameterError
from aural_core.render.whole import (
    align_render,
    assemble,
    beat_grid,
    cue_sheet,
    cue_text,
    downbeat_phase,
    loop_bars,
    render_seconds,
    section_bars,
)

SR = 22050
BPM = 120.0
BEAT = int(SR * 60 / BPM)       # 11025 samples
BAR = 4 * BEAT


def clicks(bpm: float, seconds: float, first_beat: float, *, freq: float = 2000.0, seed: int = 0) -> np.ndarray:
    """A click on every beat from ``first_beat`` on, over quiet noise (so the start is not silence)."""
    rng = np.random.default_rng(seed)
    y = 0.01 * rng.standard_normal(int(seconds * SR)).astype(np.float32)
    n = int(0.01 * SR)
    burst = 0.8 * np.exp(-np.arange(n) / (0.002 * SR)) * np.sin(2 * np.pi * freq * np.arange(n) / SR)
    t = first_beat
    while t < seconds - 0.02:
        i = int(round(t * SR))
        y[i:i + n] += burst[: len(y) - i]
        t += 60.0 / bpm
    return y


def click_onsets(y: np.ndarray) -> np.ndarray:
    """Onset times of clicks read straight off the waveform (independent of the module under test):
    the first sample over 30 % of the peak after 50 ms under it."""
    loud = np.abs(y) > 0.3 * np.max(np.abs(y))
    out, last = [], -SR
    for i in np.flatnonzero(loud):
        if i - last > 0.05 * SR:
            out.append(i)
        last = i
    return np.array(out) / SR


def grid_error(times: np.ndarray, period: float) -> np.ndarray:
    return np.abs((times + period / 2) % period - period / 2)


def thumps(y: np.ndarray, bpm: float, first_beat: float, every: int, skip: int) -> np.ndarray:
    """``y`` with a 60 Hz thump (a kick) on every ``every``-th beat from beat number ``skip``."""
    y = y.copy()
    n = int(0.12 * SR)
    t = np.arange(n) / SR
    thump = (0.9 * np.exp(-t / 0.04) * np.sin(2 * np.pi * 60.0 * t)).astype(np.float32)
    beat = first_beat + skip * 60.0 / bpm
    while beat < len(y) / SR - 0.15:
        i = int(round(beat * SR))
        y[i:i + n] += thump[: len(y) - i]
        beat += every * 60.0 / bpm
    return y


@pytest.mark.parametrize("skip", [0, 1, 2, 3])
def test_the_beat_that_opens_bars_is_found(skip):
    """Kicks on every bar's first beat, the render's first bar line ``skip`` beats in: the
    render is trimmed to that beat, not to its first beat."""
    y = thumps(clicks(BPM, 12.0, 0.23), BPM, 0.23, 4, skip)
    grid = beat_grid(y, sr=SR, bpm=BPM)
    assert downbeat_phase(y, sr=SR, grid=grid) == skip
    aligned, how = align_render(y, sr=SR, bpm=BPM)
    assert how.downbeat == skip and how.offset_s == pytest.approx(0.23 + skip * 0.5, abs=0.003)
    assert how.to_dict()["downbeat"] == skip


def test_no_downbeat_cue_keeps_the_first_beat():
    """Every beat alike, or kicks on every other beat (which of two is the bar's first is a
    guess): the first beat stays; so does a render under two bars."""
    even = clicks(BPM, 12.0, 0.23)
    assert downbeat_phase(even, sr=SR, grid=beat_grid(even, sr=SR, bpm=BPM)) == 0
    halves = thumps(even, BPM, 0.23, 2, 1)
    assert downbeat_phase(halves, sr=SR, grid=beat_grid(halves, sr=SR, bpm=BPM)) == 0
    short = thumps(clicks(BPM, 3.9, 0.1), BPM, 0.1, 4, 2)
    assert downbeat_phase(short, sr=SR, grid=beat_grid(short, sr=SR, bpm=BPM)) == 0


@pytest.mark.parametrize("cut", [1, 2])
def test_synth_render_cut_mid_bar_is_trimmed_to_its_next_bar_line(cut):
    """The synth renderer's bars (kick on 1 and 3, a chord per bar) read back from audio that
    starts ``cut`` beats and 0.11 s into its first bar."""
    from aural_core.controls import Controls
    from aural_core.render.synth import SynthRenderer

    bpm = 100.0
    out = SynthRenderer().render(Controls("calm", bpm, "C major", 1, "x"), seconds=15.0, seed=3)
    beat = 60.0 / bpm
    y = out.mix[int(round((cut * beat + 0.11) * out.sr)):]
    _, how = align_render(y, sr=out.sr, bpm=bpm)
    bar_line = (4 - cut) * beat - 0.11  # seconds into y
    assert how.offset_s == pytest.approx(bar_line, abs=0.02)


def test_section_bars_keep_source_lengths():
    assert section_bars([(0.0, 10.0), (10.0, 22.0), (22.0, 30.0)], bpm=120.0) == [5, 6, 4]
    # cumulative rounding: the total follows the source, not the sum of rounded sections
    bars = section_bars([(3.0, 6.9), (6.9, 10.8), (10.8, 14.7)], bpm=120.0)
    assert sum(bars) == round(11.7 / 2.0) and min(bars) >= 1
    assert section_bars([(0.0, 0.5)], bpm=60.0) == [1]  # never under one bar


def test_render_seconds_cover_section_crossfade_and_trim_but_are_capped():
    assert render_seconds(5, bpm=120.0, longest=60.0) == 14.0   # 5 + 1 + 1 bars of 2 s
    assert render_seconds(20, bpm=120.0, longest=15.0) == 15.0  # capped (the section loops)
    assert render_seconds(20, bpm=60.0, longest=5.0) == 12.0    # never under three bars


@pytest.mark.parametrize("first_beat", [0.0, 0.07, 0.23, 0.41])
def test_beat_grid_finds_the_first_beat_and_the_tempo(first_beat):
    grid = beat_grid(clicks(BPM, 8.0, first_beat), sr=SR, bpm=BPM)
    assert grid.phase == pytest.approx(first_beat, abs=0.002)
    assert grid.bpm == pytest.approx(BPM, rel=0.001)
    slow = beat_grid(clicks(117.0, 8.0, first_beat), sr=SR, bpm=BPM)  # read, not assumed
    assert slow.bpm == pytest.approx(117.0, rel=0.002)


def test_no_beats_no_grid():
    assert beat_grid(np.zeros(SR * 4, np.float32), sr=SR, bpm=BPM) is None
    aligned, how = align_render(np.zeros(SR * 4, np.float32), sr=SR, bpm=BPM)
    assert len(aligned) == SR * 4 and how.offset_s == 0.0 and how.n_beats == 0


def test_assembled_beats_sit_on_the_bar_grid():
    """Three renders whose first beats are 0.23, 0.41 and 0.07 s in: every click of the piece lies
    on the beat grid of the reference tempo, each section starts on its bar line, and the piece
    lasts exactly its bars."""
    offsets = [0.23, 0.41, 0.07]
    renders = [clicks(BPM, 12.0, off, freq=f, seed=i) for i, (off, f) in enumerate(zip(offsets, (1500, 2000, 3000)))]
    piece = assemble(renders, [3, 4, 2], sr=SR, bpm=BPM)
    assert len(piece.audio) == 9 * BAR and piece.total_bars == 9
    assert piece.crossfade == BAR
    assert [s.start for s in piece.sections] == [0, 3 * BAR, 7 * BAR]
    for placed, off in zip(piece.sections, offsets):
        assert placed.alignment.offset_s == pytest.approx(off, abs=0.002)
        assert placed.alignment.stretch == 1.0 and not placed.looped
    onsets = click_onsets(piece.audio)
    assert len(onsets) == 9 * 4  # one click per beat, none missing or doubled at the seams
    assert grid_error(onsets, 60 / BPM).max() < 0.003


def test_crossfades_last_one_bar_after_the_bar_line():
    """A constant section followed by silence: the first one sounds through exactly one bar
    after the second's bar line, on an equal-power fade; the reverse fades the second in."""
    ones, zeros = np.ones(6 * BAR, np.float32), np.zeros(6 * BAR, np.float32)
    out = assemble([ones, zeros], [2, 2], sr=SR, bpm=BPM, align=False).audio
    out = out / out.max()  # the peak limit scales the whole piece
    fade = np.cos(0.5 * np.pi * (np.arange(BAR) + 0.5) / BAR)
    np.testing.assert_allclose(out[:2 * BAR], 1.0, atol=1e-6)
    np.testing.assert_allclose(out[2 * BAR:3 * BAR], fade, atol=1e-6)   # one bar, from the bar line
    assert np.all(out[3 * BAR:] == 0)
    rising = assemble([zeros, ones], [2, 2], sr=SR, bpm=BPM, align=False).audio
    rising = rising / rising.max()
    assert np.all(rising[:2 * BAR] == 0)
    np.testing.assert_allclose(out[2 * BAR:3 * BAR] ** 2 + rising[2 * BAR:3 * BAR] ** 2, 1.0, atol=1e-5)


def energy_centres(y: np.ndarray, times: np.ndarray, half_window: float = 0.25) -> np.ndarray:
    """Where each click's energy is centred (seconds), near each of ``times``: a time stretch
    smears a click over its analysis window but keeps its energy centre in time."""
    out = []
    for t in times:
        a, b = max(0, int((t - half_window) * SR)), min(len(y), int((t + half_window) * SR))
        e = y[a:b].astype(float) ** 2
        e = np.maximum(e - np.median(e), 0.0)
        out.append((e * np.arange(a, b)).sum() / e.sum() / SR)
    return np.array(out)


def test_a_render_off_tempo_is_stretched_onto_the_grid():
    """A render at 126 BPM asked for 120: stretched to 120, its clicks centre on the 120 grid."""
    piece = assemble([clicks(126.0, 14.0, 0.3)], [5], sr=SR, bpm=BPM)
    how = piece.sections[0].alignment
    assert how.measured_bpm == pytest.approx(126.0, rel=0.002)
    assert how.stretch == pytest.approx(120.0 / 126.0, rel=0.002)
    grid = np.arange(1, 20) * 60 / BPM   # the first click is cut at its attack: from the second on
    errors = np.abs(energy_centres(piece.audio, grid) - grid)
    assert np.median(errors) < 0.005 and errors.max() < 0.01


def test_far_off_tempo_is_left_alone():
    _, how = align_render(clicks(150.0, 10.0, 0.1), sr=SR, bpm=BPM)  # 25 % off: not stretched
    assert how.stretch == 1.0 and how.measured_bpm == pytest.approx(150.0, rel=0.02)


def test_a_short_render_loops_whole_bars_on_the_grid():
    short = clicks(BPM, 7.5, 0.2)                      # 3 bars after trimming, plus a bit
    piece = assemble([short], [8], sr=SR, bpm=BPM)
    assert piece.sections[0].looped and len(piece.audio) == 8 * BAR
    onsets = click_onsets(piece.audio)
    assert len(onsets) == 32 and grid_error(onsets, 60 / BPM).max() < 0.003


def test_loop_bars_prefers_four_bar_bodies_and_refuses_too_short():
    y = np.arange(11 * BAR, dtype=np.float32)
    out, looped = loop_bars(y, length=20 * BAR, bar_samples=BAR, crossfade=BAR)
    assert looped and len(out) == 20 * BAR
    np.testing.assert_array_equal(out[BAR:8 * BAR - 1], y[BAR:8 * BAR - 1])  # 8-bar body, untouched
    np.testing.assert_array_equal(out[9 * BAR:16 * BAR - 1], y[BAR:8 * BAR - 1])  # its repeat
    with pytest.raises(ParameterError, match="no whole bar"):
        loop_bars(np.zeros(BAR, np.float32), length=4 * BAR, bar_samples=BAR, crossfade=BAR)


def test_cue_sheet_and_cue_text():
    renders = [clicks(BPM, 10.0, 0.1), clicks(BPM, 10.0, 0.3)]
    piece = assemble(renders, [2, 3], sr=SR, bpm=BPM)
    controls = {"emotion": "calm", "bpm": 120.0, "key": "F# minor", "style_id": 2, "style_prompt": 'soft "pads"'}
    sheet = cue_sheet(piece, title="song.wav", audio="song.wav",
                      sections=[{"name": "intro", "controls": controls, "source_start_s": 0.0},
                                {"name": "build", "controls": controls, "source_start_s": 4.0}])
    json.dumps(sheet)  # JSON-ready
    assert sheet["bpm"] == 120.0 and sheet["bars"] == 5 and sheet["seconds"] == pytest.approx(10.0)
    assert sheet["crossfade_s"] == pytest.approx(2.0)
    assert [(r["name"], r["start_s"], r["bar"], r["bars"]) for r in sheet["sections"]] == [
        ("intro", 0.0, 1, 2), ("build", 4.0, 3, 3)]
    assert sheet["sections"][1]["source_start_s"] == 4.0
    assert sheet["sections"][1]["render"]["offset_s"] == pytest.approx(0.3, abs=0.002)
    text = cue_text(sheet)
    assert 'FILE "song.wav" WAVE' in text and "REM BPM 120.0" in text
    assert re.findall(r"INDEX 01 (\d\d:\d\d:\d\d)", text) == ["00:00:00", "00:04:00"]
    assert "TRACK 02 AUDIO" in text and "REM BAR 3" in text and "key=F# minor" in text
    assert "soft 'pads'" in text  # quotes cannot break the cue syntax


@pytest.mark.parametrize("kwargs, match", [
    ({"renders": [np.zeros(SR)], "bars": [1, 2]}, "renders"),
    ({"renders": [np.zeros(SR)], "bars": [0]}, "bars"),
    ({"renders": [np.zeros(SR)], "bars": [1], "bpm": float("nan")}, "bpm"),
    ({"renders": [np.zeros(SR)], "bars": [1], "crossfade_beats": 8}, "crossfade_beats"),
])
def test_bad_arguments(kwargs, match):
    kwargs = {"sr": SR, "bpm": BPM, **kwargs}
    with pytest.raises(ParameterError, match=match):
        assemble(kwargs.pop("renders"), kwargs.pop("bars"), **kwargs)
