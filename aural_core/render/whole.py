# Over 350 lines: the steps that conform renders to one bar grid and the piece they make, one pipeline.
"""Whole-piece renders: section renders laid end to end on one bar grid at one tempo (issue 12).

A piece is rendered section by section (intro, build, release), every section at the same
reference tempo. A generative renderer does not start its audio on a beat (MusicGen begins
wherever its first token lands) and may drift from the tempo it was asked for, so each render
is conformed before it is placed:

1. **beat tracking on the render** (librosa's tracker seeded with the reference tempo), each
   beat moved to the steepest energy rise near it, and a straight line fitted through the
   beats gives the render's own beat grid: its period (tempo) and first beat;
2. a render whose tempo is off (octaves folded, at most ``max_stretch``) is **time-stretched**
   to the reference tempo (phase vocoder: the key stays), its first beat moving with it;
3. **downbeat finding**: of the first bar's beats, the one that opens bars (the beat position
   whose beats bring the most bass attack and chord change, ``downbeat_phase``); with no clear
   winner, the first beat;
4. **trimming** to that beat: the render then starts on a bar line of its own, so its bars line
   up with the piece's;
5. **looping whole bars** when a render is shorter than its section (renders are capped at
   ``render.seconds``): the longest body of whole bars (a multiple of four bars when it fits)
   repeats, joined by the same bar-long crossfade.

Sections keep their length in the source, counted in bars at the reference tempo (bar lines
nearest the source's section boundaries). Section ``i`` starts on bar line ``B_i``; the
previous section plays on through the bar after ``B_i`` and the two cross-fade over that bar
(equal power, ``crossfade_beats`` beats, one bar by default), so every transition sits on the
bar grid and the piece lasts exactly its total number of bars.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..controls import check_bpm
from ..errors import ParameterError
from .levels import peak_limit_gain

__all__ = ["BEATS_PER_BAR", "Alignment", "PlacedSection", "Piece", "section_bars", "render_seconds",
           "track_beats", "BeatGrid", "beat_grid", "downbeat_phase", "align_render", "loop_bars", "assemble",
           "cue_sheet", "cue_text"]

BEATS_PER_BAR = 4
CUE_FORMAT = "aural-cue/1"
_TRACK_SR = 22050       # beats are tracked on a copy at this rate
_TRACK_HOP = 128        # 5.8 ms onset hops; n_fft 512 keeps the onset peaks near the attacks
_EDGE_SECONDS = 0.005   # a click-free end
_CUE_FPS = 75           # CD frames per second in .cue INDEX times
_EARLY_SECONDS = 0.02   # a beat this close before the start is the first beat
_BASS_HZ = 200.0        # kicks and bass notes: the band whose attacks mark bar lines
_DOWNBEAT_MARGIN = 1.1  # the winning beat position must beat the runner-up by 10 %


def section_bars(bounds: Sequence[tuple[float, float]], *, bpm: float,
                 beats_per_bar: int = BEATS_PER_BAR) -> list[int]:
    """Bars of each section at ``bpm``: the bar lines nearest the source's section ends.

    Bar lines are measured from the first section's start; every section gets at least one bar.

    Parameters
    ----------
    bounds : sequence of (float, float)
        Each section's (start, end) in the source, in seconds, in time order.
    bpm : float
        Tempo of the piece (beats per minute).
    beats_per_bar : int
        Beats in a bar.

    Returns
    -------
    list of int
        Bars per section, each >= 1.

    Raises
    ------
    ParameterError
        When ``bounds`` is empty, a section does not end after it starts, or ``bpm`` is not a
        finite, positive tempo.

    Examples
    --------
    >>> section_bars([(0.0, 10.0), (10.0, 22.0)], bpm=120.0)   # 2 s bars
    [5, 6]
    """
    bpm = check_bpm(bpm)
    if not bounds:
        raise ParameterError("bounds is empty; a piece needs at least one section")
    bar_s = beats_per_bar * 60.0 / bpm
    t0, out, placed = float(bounds[0][0]), [], 0
    for start, end in bounds:
        if not end > start:
            raise ParameterError(f"section ({start}, {end}) must end after it starts")
        n = max(1, int(round((float(end) - t0) / bar_s)) - placed)
        out.append(n)
        placed += n
    return out


def render_seconds(bars: int, *, bpm: float, longest: float, beats_per_bar: int = BEATS_PER_BAR,
                   crossfade_beats: int = BEATS_PER_BAR) -> float:
    """Seconds to render for a section of ``bars`` bars.

    That is the section, its crossfade tail and one bar of room to trim to the first beat,
    capped at ``longest`` (but never under the three bars a loop needs), rounded up to whole
    seconds so that sections of many inputs share lengths (one ``render_batch`` call per length).

    Parameters
    ----------
    bars : int
        The section's length in bars.
    bpm : float
        Tempo (beats per minute).
    longest : float
        Cap on the render (seconds); a shorter render is looped.
    beats_per_bar : int
        Beats in a bar.
    crossfade_beats : int
        Beats of the crossfade into the next section.

    Returns
    -------
    float
        Whole seconds.

    Raises
    ------
    ParameterError
        When ``bpm`` is not a finite, positive tempo.
    """
    beat_s = 60.0 / check_bpm(bpm)
    need = (bars * beats_per_bar + crossfade_beats + beats_per_bar) * beat_s
    floor = (crossfade_beats + 2 * beats_per_bar) * beat_s
    return float(math.ceil(min(need, max(longest, floor))))


def _resampled(y: np.ndarray, sr: int) -> np.ndarray:
    import soxr

    y = np.asarray(y, dtype=np.float32)
    return y if sr == _TRACK_SR else soxr.resample(y, sr, _TRACK_SR).astype(np.float32)


def track_beats(y: np.ndarray, *, sr: int, bpm: float) -> np.ndarray:
    """Beat times of ``y`` from librosa's tracker, seeded with ``bpm``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio.
    sr : int
        Sample rate of ``y`` (Hz); it is tracked on a 22050 Hz copy.
    bpm : float
        The tracker's starting tempo (beats per minute).

    Returns
    -------
    np.ndarray [shape=(k,)]
        Beat times in seconds, ascending; empty for a signal without onsets.

    Raises
    ------
    ParameterError
        When ``bpm`` is not a finite, positive tempo.
    """
    import librosa

    x = _resampled(y, sr)
    if len(x) < 4 * _TRACK_HOP:
        return np.zeros(0)
    env = librosa.onset.onset_strength(y=x, sr=_TRACK_SR, hop_length=_TRACK_HOP, n_fft=512)
    if not np.any(env > 0):
        return np.zeros(0)
    _, beats = librosa.beat.beat_track(onset_envelope=env, sr=_TRACK_SR, hop_length=_TRACK_HOP,
                                       start_bpm=check_bpm(bpm), trim=False, units="time")
    return np.asarray(beats, dtype=float)


def _onset_curve(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A 0.5 ms energy-rise curve (times, values): the positive slope of log energy in 2 ms windows."""
    hop = _TRACK_SR // 2000
    win = 4 * hop
    n = (len(x) - win) // hop
    if n < 2:
        return np.zeros(0), np.zeros(0)
    power = np.lib.stride_tricks.sliding_window_view(x.astype(np.float64) ** 2, win)[::hop][:n].mean(axis=1)
    log_e = np.log10(power + 1e-10)
    rise = np.maximum(0.0, np.diff(log_e, prepend=log_e[0]))
    return (np.arange(n) * hop + win / 2) / _TRACK_SR, rise


@dataclass(frozen=True)
class BeatGrid:
    """A render's beat grid: its first beat (seconds) and beat period, fitted to its beats."""

    phase: float
    period: float
    n_beats: int

    @property
    def bpm(self) -> float:
        """The grid's tempo, in beats per minute."""
        return 60.0 / self.period


def beat_grid(y: np.ndarray, *, sr: int, bpm: float, search_seconds: float = 0.03) -> BeatGrid | None:
    """The beat grid of ``y`` (tracked with ``bpm`` as the prior); ``None`` under four beats.

    Each tracked beat moves within +-``search_seconds`` to the steepest energy rise (the
    tracker's beats sit on a 5.8 ms hop grid, often 10-30 ms off the attack); beats closer than
    half the median interval are dropped and a skipped beat counts twice. A line through
    (beat number, time) then gives the period, to a fraction of a per cent over a few seconds
    (a median interval is only good to a hop), and the first beat, in [-0.02, period - 0.02) s
    (a beat a few milliseconds before the first sample is the first beat). Beats off the line
    by over four times the median residual (at least 10 ms, at most a tenth of a beat), which
    the tracker invents where the music thins out, are left out and the line fitted again.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio.
    sr : int
        Sample rate of ``y`` (Hz).
    bpm : float
        The tracker's starting tempo (beats per minute).
    search_seconds : float
        How far (seconds) a tracked beat may move to the steepest energy rise.

    Returns
    -------
    BeatGrid or None
        First beat (seconds), period (seconds) and the beats fitted; None under four beats.

    Raises
    ------
    ParameterError
        When ``bpm`` is not a finite, positive tempo.
    """
    beats = track_beats(y, sr=sr, bpm=bpm)
    if len(beats) < 4:
        return None
    times, rise = _onset_curve(_resampled(y, sr))
    if len(times) and np.any(rise > 0):
        beats = np.array([_steepest_rise(b, times, rise, search_seconds) for b in beats])
    step = float(np.median(np.diff(beats)))
    kept = [beats[0]]
    for b in beats[1:]:
        if b - kept[-1] >= 0.5 * step:
            kept.append(b)
    kept = np.asarray(kept)
    index = np.concatenate([[0], np.cumsum(np.maximum(1, np.round(np.diff(kept) / step)))])
    fit = np.ones(len(kept), dtype=bool)
    for _ in range(3):  # beats the tracker invents (it guesses on at the ends) leave the line
        period, intercept = np.polyfit(index[fit], kept[fit], 1)
        resid = np.abs(kept - (intercept + period * index))
        on_line = resid <= min(0.1 * period, max(0.01, 4.0 * float(np.median(resid[fit]))))
        if on_line.sum() < 4 or np.array_equal(on_line, fit):
            break
        fit = on_line
    first = intercept % period
    return BeatGrid(float(first - period if first >= period - _EARLY_SECONDS else first), float(period),
                    int(fit.sum()))


def _steepest_rise(beat: float, times: np.ndarray, rise: np.ndarray, search_seconds: float) -> float:
    near = (times >= beat - search_seconds) & (times <= beat + search_seconds)
    return float(times[near][np.argmax(rise[near])]) if np.any(near) and rise[near].max() > 0 else beat


def downbeat_phase(y: np.ndarray, *, sr: int, grid: BeatGrid, beats_per_bar: int = BEATS_PER_BAR) -> int:
    """Which of the grid's first ``beats_per_bar`` beats is a downbeat (0 = the first beat).

    Bars open with a bass attack (kick, bass note) and a chord change more than their other
    beats do. Each beat gets two cues, each divided by its mean over all beats so that neither
    dominates: the strongest bass-band (< 200 Hz) onset within 30 ms of it, and how far the
    chroma of the beat it opens moved from the previous beat's (cosine distance). The beat
    position (beat number modulo ``beats_per_bar``) with the highest mean score wins if it
    beats the runner-up by 10 %; two whole bars at least are needed. Otherwise 0: without a
    clear cue the first beat is kept, as before.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio.
    sr : int
        Sample rate of ``y`` (Hz).
    grid : BeatGrid
        The beat grid of ``y`` (``beat_grid``).
    beats_per_bar : int
        Beats in a bar.

    Returns
    -------
    int
        In ``[0, beats_per_bar)``: beats to skip after the grid's first to reach a downbeat.
    """
    import librosa

    x = _resampled(y, sr)
    n_beats = int((len(x) / _TRACK_SR - grid.phase) // grid.period)
    if n_beats < 2 * beats_per_bar:
        return 0
    beats = grid.phase + grid.period * np.arange(n_beats)
    bass = librosa.onset.onset_strength(y=x, sr=_TRACK_SR, hop_length=_TRACK_HOP, n_fft=2048,
                                        fmax=_BASS_HZ, n_mels=16)
    frames = np.arange(len(bass)) * _TRACK_HOP / _TRACK_SR
    attack = np.array([bass[(frames >= b - 0.03) & (frames <= b + 0.03)].max(initial=0.0) for b in beats])
    chroma = librosa.feature.chroma_stft(y=x, sr=_TRACK_SR, hop_length=_TRACK_HOP * 4, n_fft=2048)
    edges = np.clip(np.round(np.append(beats, beats[-1] + grid.period) * _TRACK_SR / (_TRACK_HOP * 4)).astype(int),
                    0, chroma.shape[1])
    per_beat = np.stack([chroma[:, a:max(b, a + 1)].mean(axis=1) if a < chroma.shape[1] else np.zeros(12)
                         for a, b in zip(edges[:-1], edges[1:])])
    norm = np.linalg.norm(per_beat, axis=1) + 1e-9
    change = np.concatenate([[0.0], 1.0 - np.sum(per_beat[1:] * per_beat[:-1], axis=1) / (norm[1:] * norm[:-1])])
    change[0] = np.mean(change[1:])  # the first beat has no previous one: neutral
    score = sum(cue / cue.mean() for cue in (attack, change) if cue.mean() > 1e-9)
    if np.isscalar(score):
        return 0
    by_position = np.array([score[k::beats_per_bar].mean() for k in range(beats_per_bar)])
    best, runner_up = np.sort(by_position)[::-1][:2]
    return int(np.argmax(by_position)) if best >= _DOWNBEAT_MARGIN * runner_up else 0


@dataclass(frozen=True)
class Alignment:
    """What was done to one render before it was placed."""

    offset_s: float               # audio before the first beat, trimmed (after any stretch)
    measured_bpm: float | None    # the render's tempo fitted to its beats, before stretching
    stretch: float                # time-stretch rate applied (1.0: none)
    n_beats: int                  # beats the grid was fitted to (0: no pulse; placed untrimmed)
    downbeat: int = 0             # beats skipped after the first to reach the first downbeat

    def to_dict(self) -> dict:
        """This alignment as a JSON-ready dict, rounded as the cue sheet records it.

        Returns
        -------
        dict
            ``offset_s`` and ``stretch`` (4 decimals), ``n_beats``, ``downbeat`` and
            ``measured_bpm`` (2 decimals, or None).
        """
        return {"offset_s": round(self.offset_s, 4), "stretch": round(self.stretch, 4), "n_beats": self.n_beats,
                "downbeat": self.downbeat,
                "measured_bpm": None if self.measured_bpm is None else round(self.measured_bpm, 2)}


def _fold_ratio(ratio: float) -> float:
    """``ratio`` moved by octaves into [1/sqrt(2), sqrt(2)): a tracker reading 2x is on tempo."""
    while ratio >= math.sqrt(2.0):
        ratio /= 2.0
    while ratio < 1.0 / math.sqrt(2.0):
        ratio *= 2.0
    return ratio


def align_render(y: np.ndarray, *, sr: int, bpm: float, tolerance: float = 0.002,
                 max_stretch: float = 0.2, beats_per_bar: int = BEATS_PER_BAR) -> tuple[np.ndarray, Alignment]:
    """``y`` conformed to ``bpm`` and trimmed to start on its first downbeat.

    See the module docstring; the first beat is used when no beat stands out as the downbeat.
    A render whose fitted tempo (octaves folded) is off by more than ``tolerance`` but at most
    ``max_stretch`` is time-stretched to ``bpm`` (phase vocoder: the key stays), and its first
    beat moves with it; farther off, it is left as it is (stretching that far would smear it)
    and the alignment says so. Without a beat grid the render is placed as it is.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono render.
    sr : int
        Sample rate of ``y`` (Hz).
    bpm : float
        The piece's tempo (beats per minute).
    tolerance : float
        Relative tempo error left as it is (0.002 = 0.2 %).
    max_stretch : float
        Largest relative tempo error that is stretched away.
    beats_per_bar : int
        Beats in a bar.

    Returns
    -------
    audio : np.ndarray [shape=(m,), dtype=float32]
        The render, stretched and trimmed.
    alignment : Alignment
        What was done to it.

    Raises
    ------
    ParameterError
        When ``bpm`` is not a finite, positive tempo.
    """
    bpm = check_bpm(bpm)
    y = np.asarray(y, dtype=np.float32)
    grid = beat_grid(y, sr=sr, bpm=bpm)
    if grid is None:
        return y, Alignment(0.0, None, 1.0, 0)
    downbeat = downbeat_phase(y, sr=sr, grid=grid, beats_per_bar=beats_per_bar)
    rate, first = 1.0, grid.phase + downbeat * grid.period
    ratio = _fold_ratio(grid.bpm / bpm)
    if tolerance < abs(ratio - 1.0) <= max_stretch:
        import librosa

        rate = 1.0 / ratio  # > 1 speeds up: a slow render is played faster
        y = librosa.effects.time_stretch(y, rate=rate).astype(np.float32)
        first = first / rate
    offset = int(round(max(first, 0.0) * sr))
    return y[offset:], Alignment(offset / sr, grid.bpm, rate, grid.n_beats, downbeat)


def _fades(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Equal-power fade-in and fade-out of ``n`` samples (sum of powers = 1)."""
    t = (np.arange(n) + 0.5) / max(n, 1)
    return np.sin(0.5 * np.pi * t).astype(np.float32), np.cos(0.5 * np.pi * t).astype(np.float32)


def _overlap_add(pieces: Sequence[tuple[int, np.ndarray]], n: int, crossfade: int) -> np.ndarray:
    """Sum ``(start, audio)`` pieces into ``n`` samples; each piece after the first fades in over
    its first ``crossfade`` samples and each piece before the last fades out over its last."""
    out = np.zeros(n, dtype=np.float32)
    fade_in, fade_out = _fades(crossfade)
    for i, (start, audio) in enumerate(pieces):
        seg = np.array(audio[: n - start], dtype=np.float32)
        if i > 0:
            seg[:crossfade] *= fade_in[: len(seg)]
        if i < len(pieces) - 1:
            tail = min(crossfade, len(seg))
            seg[len(seg) - tail:] *= fade_out[crossfade - tail:]
        out[start:start + len(seg)] += seg
    return out


def loop_bars(y: np.ndarray, *, length: int, bar_samples: float, crossfade: int) -> tuple[np.ndarray, bool]:
    """``y`` cut to ``length`` samples, or, when shorter, its longest body of whole bars repeated.

    The body is a multiple of four bars when that fits; each repeat is cross-faded over
    ``crossfade`` samples with the body's own continuation.

    Parameters
    ----------
    y : np.ndarray [shape=(m,)]
        Mono render, starting on a bar line.
    length : int
        Samples wanted.
    bar_samples : float
        Samples per bar (not rounded).
    crossfade : int
        Samples of each crossfade.

    Returns
    -------
    audio : np.ndarray [shape=(length,), dtype=float32]
    looped : bool
        True when ``y`` was shorter and had to be repeated.

    Raises
    ------
    ParameterError
        When ``y`` is shorter than ``length`` and holds no whole bar plus a crossfade.
    """
    y = np.asarray(y, dtype=np.float32)
    if len(y) >= length:
        return y[:length], False
    k = int((len(y) - crossfade) // bar_samples)
    if k < 1:
        raise ParameterError(f"a render of {len(y)} samples holds no whole bar of {bar_samples:.0f} samples "
                             f"plus a crossfade of {crossfade}; render longer sections")
    k = k - k % 4 if k >= 4 else k
    starts = [int(round(j * k * bar_samples)) for j in range(int(math.ceil(length / (k * bar_samples))) + 1)]
    pieces = [(a, y[: b - a + crossfade]) for a, b in zip(starts, starts[1:]) if a < length]
    return _overlap_add(pieces, length, crossfade), True


@dataclass(frozen=True)
class PlacedSection:
    """Where one section's render sits in a ``Piece`` and how it got there."""

    start: int                    # first sample (on bar line ``bar``)
    bar: int                      # 0-based bar index of its first bar
    bars: int
    alignment: Alignment
    looped: bool


@dataclass(frozen=True, eq=False)
class Piece:
    """An assembled piece: mono ``audio`` at ``sr``; ``sections`` in order."""

    audio: np.ndarray
    sr: int
    bpm: float
    beats_per_bar: int
    crossfade: int                # samples of each crossfade
    sections: list[PlacedSection]

    @property
    def bar_samples(self) -> float:
        """Samples per bar (not rounded)."""
        return self.beats_per_bar * 60.0 / self.bpm * self.sr

    @property
    def total_bars(self) -> int:
        """The piece's length in bars."""
        return sum(s.bars for s in self.sections)


def assemble(renders: Sequence[np.ndarray], bars: Sequence[int], *, sr: int, bpm: float,
             beats_per_bar: int = BEATS_PER_BAR, crossfade_beats: int = BEATS_PER_BAR,
             align: bool = True) -> Piece:
    """Lay ``renders`` (one per section, all at ``sr``) end to end on the bar grid of ``bpm``.

    Each render is aligned (``align_render``: tempo conformed, trimmed to its first downbeat; skip
    with ``align=False`` for renders known to start on a beat), looped when short
    (``loop_bars``) and placed on its bar line; consecutive sections cross-fade over
    ``crossfade_beats`` beats after the bar line. The piece lasts ``sum(bars)`` bars; its peak is
    limited to full scale.

    Parameters
    ----------
    renders : sequence of np.ndarray [shape=(n_i,)]
        One mono render per section, all at ``sr``.
    bars : sequence of int
        Each section's length in bars (``section_bars``), >= 1.
    sr : int
        Sample rate (Hz).
    bpm : float
        The piece's tempo (beats per minute).
    beats_per_bar : int
        Beats in a bar.
    crossfade_beats : int
        Beats of each crossfade, in ``1..beats_per_bar * min(bars)``.
    align : bool
        Align each render first (``align_render``).

    Returns
    -------
    Piece
        ``audio`` [shape=(round(sum(bars) * bar_samples),), dtype=float32] and the placed sections.

    Raises
    ------
    ParameterError
        When renders and bars differ in number or are empty, a bar count is not a positive
        integer, ``crossfade_beats`` is out of range, ``bpm`` is not a finite, positive tempo,
        or a render is too short to loop (``loop_bars``).
    """
    bpm = check_bpm(bpm)
    if len(renders) != len(bars) or not renders:
        raise ParameterError(f"got {len(renders)} renders for {len(bars)} sections; expected one each, at least one")
    if any(isinstance(b, bool) or int(b) != b or b < 1 for b in bars):
        raise ParameterError(f"bars={list(bars)} must be positive integers")
    if not 1 <= crossfade_beats <= beats_per_bar * min(bars):
        raise ParameterError(f"crossfade_beats={crossfade_beats} must be in 1..{beats_per_bar * min(bars)} "
                             "(the shortest section)")
    bar_samples = beats_per_bar * 60.0 / bpm * sr
    crossfade = int(round(crossfade_beats * 60.0 / bpm * sr))
    first_bar = np.concatenate([[0], np.cumsum(bars)]).astype(int)
    starts = [int(round(b * bar_samples)) for b in first_bar]
    total = starts[-1]
    pieces, placed = [], []
    for i, y in enumerate(renders):
        if align:
            aligned, how = align_render(y, sr=sr, bpm=bpm, beats_per_bar=beats_per_bar)
        else:
            aligned, how = np.asarray(y, np.float32), Alignment(0.0, None, 1.0, 0)
        last = i == len(renders) - 1
        need = starts[i + 1] - starts[i] + (0 if last else crossfade)
        audio, looped = loop_bars(aligned, length=need, bar_samples=bar_samples, crossfade=crossfade)
        pieces.append((starts[i], audio))
        placed.append(PlacedSection(starts[i], int(first_bar[i]), int(bars[i]), how, looped))
    out = _overlap_add(pieces, total, crossfade)
    edge = min(int(_EDGE_SECONDS * sr), total // 2)  # the end only: the start is the first beat's attack
    out[total - edge:] *= np.linspace(1.0, 0.0, edge, dtype=np.float32)
    out *= peak_limit_gain(float(np.max(np.abs(out), initial=0.0)))
    return Piece(out, int(sr), bpm, beats_per_bar, crossfade, placed)


def cue_sheet(piece: Piece, *, title: str, audio: str, sections: Sequence[Mapping],
              extra: Mapping | None = None) -> dict:
    """The cue sheet of ``piece`` as a JSON-ready dict (``format`` ``aural-cue/1``).

    ``sections[i]`` gives section ``i``'s ``name`` and ``controls`` (a dict) and any further
    fields to record (its span in the source, its seed); each entry gets its start time, its
    first bar (1-based), its length in bars and what alignment did to its render. ``extra``
    adds top-level fields (the renderer that made it).

    Parameters
    ----------
    piece : Piece
        The assembled piece.
    title : str
        The piece's title.
    audio : str
        The audio file's name, as the cue sheet refers to it.
    sections : sequence of Mapping
        One per placed section, each with ``name`` and ``controls``.
    extra : Mapping, optional
        Further top-level fields.

    Returns
    -------
    dict
        ``format``, ``title``, ``audio``, ``sr``, ``bpm``, ``beats_per_bar``, ``crossfade_s``,
        ``bars``, ``seconds`` and ``sections`` (plus ``extra``).

    Raises
    ------
    ParameterError
        When ``sections`` and the piece's sections differ in number.
    """
    if len(sections) != len(piece.sections):
        raise ParameterError(f"got {len(sections)} section descriptions for {len(piece.sections)} sections")
    rows = []
    for placed, info in zip(piece.sections, sections):
        rows.append({**info, "name": info["name"], "start_s": round(placed.start / piece.sr, 4),
                     "bar": placed.bar + 1, "bars": placed.bars, "controls": dict(info["controls"]),
                     "render": {**placed.alignment.to_dict(), "looped": placed.looped}})
    return {**(extra or {}), "format": CUE_FORMAT, "title": title, "audio": audio, "sr": piece.sr,
            "bpm": round(piece.bpm, 2),
            "beats_per_bar": piece.beats_per_bar, "crossfade_s": round(piece.crossfade / piece.sr, 4),
            "bars": piece.total_bars, "seconds": round(len(piece.audio) / piece.sr, 4), "sections": rows}


def _quoted(text: str) -> str:
    return '"' + " ".join(str(text).replace('"', "'").split()) + '"'


def _cue_time(seconds: float) -> str:
    frames = int(round(seconds * _CUE_FPS))
    return f"{frames // (_CUE_FPS * 60):02d}:{frames // _CUE_FPS % 60:02d}:{frames % _CUE_FPS:02d}"


def cue_text(sheet: Mapping) -> str:
    """The cue sheet as a ``.cue`` file: one TRACK per section with its INDEX time.

    Tempo, bar and controls ride along in REM lines (players ignore them).

    Parameters
    ----------
    sheet : Mapping
        A ``cue_sheet`` dict.

    Returns
    -------
    str
        The file's text, newline-terminated.
    """
    lines = [f"REM GENERATOR {_quoted('aural render')}", f"REM BPM {sheet['bpm']}",
             f"REM BEATS_PER_BAR {sheet['beats_per_bar']}", f"TITLE {_quoted(sheet['title'])}",
             f"FILE {_quoted(sheet['audio'])} WAVE"]
    for n, row in enumerate(sheet["sections"], start=1):
        c = row["controls"]
        controls = ", ".join(f"{k}={c[k]}" for k in ("emotion", "bpm", "key", "style_id") if k in c)
        lines += [f"  TRACK {n:02d} AUDIO", f"    TITLE {_quoted(row['name'])}",
                  f"    REM BAR {row['bar']}", f"    REM BARS {row['bars']}",
                  f"    REM CONTROLS {_quoted(controls)}", f"    REM PROMPT {_quoted(c.get('style_prompt', ''))}",
                  f"    INDEX 01 {_cue_time(row['start_s'])}"]
    return "\n".join(lines) + "\n"
