"""The stem balancer: gains from controls, stem splitting, gain application, loudness."""

import numpy as np
import pytest

from aural_core.controls import STEMS, Controls
from aural_core.errors import ParameterError
from aural_core.render import (
    NEUTRAL_GAINS,
    SynthRenderer,
    apply_stem_gains,
    split_stems,
    stem_gains_for,
    stem_share,
)
from aural_core.render.balance import EMOTION_DB, GAIN_RANGE
from aural_core.render.levels import PEAK_CEILING, peak_limit_gain, rms_gain
from aural_core.styles import Style, load_style_table

SR = 22050
STYLES = load_style_table()
MID = Style(id=0, emotion="calm", energy="low", prompt="", brightness=0.5, density=0.5,
            dynamics=0.5)


def _rms_db(y):
    return 20 * np.log10(np.sqrt(np.mean(np.asarray(y, dtype=np.float64) ** 2)))


@pytest.fixture(scope="module")
def render():
    # Two bars at 120 BPM: every stem plays, and HPSS (the slow part of split_stems) stays cheap.
    c = Controls(emotion="bright", bpm=120.0, key="D major", style_id=STYLES.style_id("bright", "high"),
                 style_prompt="")
    return SynthRenderer().render(c, seconds=4.0, seed=0)


@pytest.fixture(scope="module")
def split(render):
    return split_stems(render.mix, sr=render.sr)


# -- stem_gains_for ---------------------------------------------------------------------------

@pytest.mark.parametrize("emotion", sorted(EMOTION_DB))
def test_gains_cover_every_stem_within_range(emotion):
    for style in STYLES.styles:
        for desc in (None, {"energy": 0.0, "beat_strength": 0.0, "brightness": 0.0},
                     {"energy": 1.0, "beat_strength": 1.0, "brightness": 1.0}):
            g = stem_gains_for(emotion, style, section_descriptors=desc)
            assert set(g) == set(STEMS)
            assert all(GAIN_RANGE[0] <= v <= GAIN_RANGE[1] for v in g.values())


def test_neutral_inputs_give_the_emotion_offsets():
    g = stem_gains_for("calm", MID)
    expected = {s: 10 ** (db / 20) for s, db in zip(STEMS, EMOTION_DB["calm"])}
    assert g == pytest.approx(expected)


def test_gains_follow_the_documented_directions():
    lo = stem_gains_for("busy", MID, section_descriptors={"energy": 0.1, "beat_strength": 0.1})
    hi = stem_gains_for("busy", MID, section_descriptors={"energy": 0.9, "beat_strength": 0.9})
    assert hi["drums"] > lo["drums"]
    assert stem_gains_for("dark", MID)["bass"] > stem_gains_for("bright", MID)["bass"]
    assert stem_gains_for("tense", MID)["bass"] > stem_gains_for("calm", MID)["bass"]
    dull = stem_gains_for("bright", MID, section_descriptors={"brightness": 0.1})
    shiny = stem_gains_for("bright", MID, section_descriptors={"brightness": 0.9})
    assert shiny["melody"] > dull["melody"]
    assert stem_gains_for("calm", MID)["harmony"] > stem_gains_for("busy", MID)["harmony"]
    assert stem_gains_for("calm", MID)["drums"] < stem_gains_for("busy", MID)["drums"]


def test_style_stands_in_for_missing_descriptors():
    style = STYLES[STYLES.style_id("tense", "high")]
    measured = {"energy": style.dynamics, "beat_strength": style.density,
                "brightness": style.brightness}
    assert stem_gains_for("tense", style) == pytest.approx(
        stem_gains_for("tense", MID, section_descriptors=measured))
    c = Controls(emotion="tense", bpm=100, key="C minor", style_id=style.id, style_prompt="")
    assert stem_gains_for(c, style) == stem_gains_for("tense", style)


@pytest.mark.parametrize("emotion,desc,match", [
    ("grumpy", None, "grumpy"),
    ("calm", {"energy": 1.5}, "1.5"),
    ("calm", {"brightness": float("nan")}, "nan"),
    ("calm", {"beat_strength": "loud"}, "loud"),
])
def test_gains_bad_input(emotion, desc, match):
    with pytest.raises(ParameterError, match=match):
        stem_gains_for(emotion, MID, section_descriptors=desc)


# -- split_stems ------------------------------------------------------------------------------

def test_split_stems_sum_back_to_the_input(render, split):
    assert list(split) == list(STEMS)
    for s in split.values():
        assert s.shape == render.mix.shape and s.dtype == np.float32
    np.testing.assert_allclose(sum(split.values()), render.mix, atol=1e-5)
    assert not np.any(split["melody"])


def test_split_stems_find_the_drums_and_the_bass(render, split):
    def power(y):
        return np.abs(np.fft.rfft(y)) ** 2, np.fft.rfftfreq(len(y), 1 / SR)

    def centroid(y):
        p, f = power(y)
        return float(np.sum(f * p) / np.sum(p))

    p, f = power(split["bass"])
    assert p[f < 250].sum() / p.sum() > 0.95
    assert centroid(split["harmony"]) > centroid(split["bass"])
    # the percussive part follows the synth's drum stem more than its pads
    corr = lambda a, b: float(np.corrcoef(np.abs(a), np.abs(b))[0, 1])  # noqa: E731
    assert corr(split["drums"], render.stems["drums"]) > corr(split["drums"], render.stems["harmony"])


def test_split_follows_the_rendered_balance():
    synth = SynthRenderer()
    base = dict(emotion="bright", bpm=120.0, key="D major", style_id=1, style_prompt="")
    shares = {}
    for stem in ("drums", "bass"):
        for g in (0.5, 2.0):
            out = synth.render(Controls(**base, stem_gains={stem: g}), seconds=3.0, seed=0)
            shares[stem, g] = stem_share(split_stems(out.mix, sr=out.sr))[stem]
    assert shares["drums", 2.0] > shares["drums", 0.5]
    assert shares["bass", 2.0] > shares["bass", 0.5]


@pytest.mark.parametrize("y,sr,match", [
    (np.zeros((2, 4096), dtype=np.float32), SR, "mono"),
    (np.array([0.0, np.nan] * 2048, dtype=np.float32), SR, "non-finite"),
    (np.zeros(4096, dtype=np.int16), SR, "floating"),
    (np.zeros(10, dtype=np.float32), SR, "10 samples"),
    (np.zeros(4096, dtype=np.float32), 0, "sr=0"),
    ([0.0] * 4096, SR, "numpy"),
])
def test_split_bad_input(y, sr, match):
    with pytest.raises(ParameterError, match=match):
        split_stems(y, sr=sr)


# -- apply_stem_gains / stem_share ------------------------------------------------------------

@pytest.mark.parametrize("source", ["synth", "split"])
def test_raising_a_gain_raises_the_share(render, split, source):
    stems = render.stems if source == "synth" else split
    base = stem_share(apply_stem_gains(stems, NEUTRAL_GAINS, sr=SR).stems)
    names = STEMS if source == "synth" else ("drums", "bass", "harmony")
    for name in names:
        out = apply_stem_gains(stems, {name: 2.0}, sr=SR)
        assert stem_share(out.stems)[name] > base[name], name
        out = apply_stem_gains(stems, {name: 0.5}, sr=SR)
        assert stem_share(out.stems)[name] < base[name], name


@pytest.mark.parametrize("target", [-16.0, -20.0, -26.0])
def test_loudness_hits_the_target_rms(render, target):
    out = apply_stem_gains(render.stems, {"bass": 1.5, "melody": 0.7}, sr=SR,
                           target_rms_dbfs=target)
    assert np.max(np.abs(out.mix)) <= 0.99
    if np.max(np.abs(out.mix)) < 0.98:  # the peak limit did not engage
        assert abs(_rms_db(out.mix) - target) < 0.5
    np.testing.assert_allclose(sum(out.stems.values()), out.mix, atol=1e-6)
    assert out.sr == SR and out.mix.dtype == np.float32


def test_loudness_target_reached_on_a_quiet_signal():
    t = np.arange(SR * 2) / SR
    stems = {s: (0.001 * np.sin(2 * np.pi * f * t)).astype(np.float32)
             for s, f in zip(STEMS, (60, 110, 330, 880))}
    out = apply_stem_gains(stems, {}, sr=SR, target_rms_dbfs=-18.0)
    assert abs(_rms_db(out.mix) - (-18.0)) < 0.5


def test_peak_limit_wins_over_a_loud_target(render):
    out = apply_stem_gains(render.stems, {}, sr=SR, target_rms_dbfs=-3.0)
    assert np.max(np.abs(out.mix)) == pytest.approx(0.99, abs=1e-4)
    np.testing.assert_allclose(sum(out.stems.values()), out.mix, atol=1e-6)


def test_no_target_keeps_the_level(render):
    out = apply_stem_gains(render.stems, {}, sr=SR, target_rms_dbfs=None)
    np.testing.assert_allclose(out.mix, render.mix, atol=1e-6)
    neutral = apply_stem_gains(render.stems, NEUTRAL_GAINS, sr=SR, target_rms_dbfs=None)
    np.testing.assert_array_equal(neutral.mix, out.mix)  # neutral gains are no gains at all


def test_silence_stays_silent():
    stems = {s: np.zeros(1000, dtype=np.float32) for s in STEMS}
    out = apply_stem_gains(stems, {}, sr=SR)
    assert not np.any(out.mix)
    assert stem_share(out.stems) == {s: 0.0 for s in STEMS}


def test_stem_share_sums_to_one(render):
    share = stem_share(render.stems)
    assert set(share) == set(STEMS)
    assert sum(share.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("stems,gains,match", [
    ({"drums": np.zeros(10, np.float32)}, {"vocals": 1.0}, "vocals"),
    ({"drums": np.zeros(10, np.float32)}, {"drums": -1.0}, "drums"),
    ({"drums": np.zeros(10, np.float32), "bass": np.zeros(11, np.float32)}, {}, "shapes"),
    ({}, {}, "empty"),
])
def test_apply_bad_input(stems, gains, match):
    with pytest.raises(ParameterError, match=match):
        apply_stem_gains(stems, gains, sr=SR)


# -- levels (shared by the renderers and the balancer) ----------------------------------------

def test_rms_gain_reaches_the_target_and_leaves_silence_alone():
    y = 0.01 * np.sin(np.linspace(0.0, 200.0 * np.pi, 4000))
    assert _rms_db(y * rms_gain(y, target_dbfs=-20.0)) == pytest.approx(-20.0)
    assert rms_gain(np.zeros(100), target_dbfs=-20.0) == 1.0


@pytest.mark.parametrize("peak", [0.2, PEAK_CEILING])
def test_peak_limit_leaves_a_quiet_signal_exactly_alone(peak):
    assert peak_limit_gain(peak) == 1.0


@pytest.mark.parametrize("peak", [0.995, 1.0, 37.0])
def test_peak_limit_puts_a_loud_peak_just_under_the_ceiling(peak):
    limited = np.float32(peak * peak_limit_gain(peak))
    assert limited < PEAK_CEILING and limited == pytest.approx(PEAK_CEILING, abs=1e-5)
    assert peak * peak_limit_gain(peak, ceiling=0.5) < 0.5
