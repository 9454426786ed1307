"""Synthesis of one demo clip: an :class:`Arranger` lays out a four-part song and mixes it.

Each clip is a small arrangement (drums, bass, chords, melody) over an intro -> build ->
release energy arc. Every random draw comes from one generator seeded by the clip's spec, in
a fixed order, so the same spec always gives the same samples: keep that order when editing.
"""

from __future__ import annotations

import numpy as np

from aural_core.vocab import parse_key

from .moods import LEVEL, MAJOR, MINOR, MOODS, PAN, PEAK, PROGRESSIONS, Mood
from .plan import ClipSpec, check_spec, section_beats
from .sounds import additive_note, drum_kit, nearest_note


def synthesize_clip(spec: ClipSpec) -> np.ndarray:
    """Synthesise one demo clip.

    Parameters
    ----------
    spec : ClipSpec

    Returns
    -------
    y : np.ndarray [shape=(n_samples, channels), dtype=float32]
        ``n_samples = round(spec.seconds * spec.sr)``; peak at most 0.99.
    """
    return Arranger(spec).render()


class Arranger:
    """Places the notes and drum hits of one clip on per-part buffers, then mixes them.

    Positions are in beats from the start of the clip; ``parts`` holds one mono buffer per
    part of :data:`~demo_corpus.moods.PAN`.
    """

    def __init__(self, spec: ClipSpec):
        check_spec(spec)
        self.spec = spec
        self.rng = np.random.default_rng(spec.seed)
        self.mood: Mood = MOODS[spec.mood]
        self.tonic, minor = parse_key(spec.key)
        self.scale = MINOR if minor else MAJOR
        self.sr = int(spec.sr)
        self.n_total = int(round(spec.seconds * self.sr))
        self.beat = 60.0 / spec.bpm
        self.n_beats, self.b1, self.b2 = section_beats(spec)

        family = "tense" if spec.mood == "tense" else ("minor" if minor else "major")
        options = PROGRESSIONS[family]
        self.prog = options[int(self.rng.integers(len(options)))]
        self.bars_per_chord = 1 if spec.bpm < 100 else 2
        self.phrase = melody_phrase(self.rng, spec.mood, self.mood, self.prog, self.bars_per_chord)
        self.cycle = 4 * self.bars_per_chord * len(self.prog)  # beats per loop of the progression

        self.parts = {name: np.zeros(self.n_total) for name in PAN}
        self.kit = drum_kit(self.rng, self.sr, self.mood, self.tonic)
        self._notes: dict[tuple, np.ndarray] = {}
        self.tense = spec.mood == "tense"
        self.sparse = spec.mood in ("calm", "dark")
        self.melody_from = self.b1 + max(0, ((self.b2 - self.b1) // 2) // 4 * 4)  # second half of the build

    # ---- placing sounds ------------------------------------------------------------------

    def sample_at(self, pos: float) -> int:
        """Sample index of beat position ``pos``."""
        return int(round(pos * self.beat * self.sr))

    def place(self, part: str, pos: float, x: np.ndarray, gain: float) -> None:
        """Add ``gain * x`` into ``part`` from beat ``pos`` on, cut at the end of the clip."""
        buf, start = self.parts[part], self.sample_at(pos)
        if start >= buf.size or gain == 0.0:
            return
        stop = min(buf.size, start + x.size)
        buf[start:stop] += gain * x[: stop - start]

    def note(self, role: str, midi: int, dur_beats: float) -> np.ndarray:
        """A pitched note of ``role`` ("chords", "melody" or "bass"); repeated notes are reused."""
        n = max(16, int(round(dur_beats * self.beat * self.sr)))
        key = (role, midi, n)
        if key not in self._notes:
            tim = {"chords": self.mood.chord, "melody": self.mood.lead, "bass": self.mood.bass}[role]
            self._notes[key] = additive_note(midi, n, self.sr, tim)
        return self._notes[key]

    def hit(self, name: str, part: str, pos: float, gain: float) -> None:
        """A drum hit: a random variant of ``name`` with a slightly random gain (2 draws)."""
        sounds = self.kit[name]
        x = sounds[int(self.rng.integers(len(sounds)))]
        self.place(part, pos, x, gain * (1.0 + 0.06 * self.rng.standard_normal()))

    def level(self, pos: float) -> float:
        """Section dynamics: quiet intro, crescendo through the build, full release."""
        if pos < self.b1:
            return 0.45
        if pos < self.b2:
            return 0.6 + 0.25 * (pos - self.b1) / max(1, self.b2 - self.b1)
        return 1.0

    def chord_degree(self, section_start: int, pos: float) -> int:
        """Scale degree of the chord at ``pos``; the progression restarts with each section."""
        index = int(((pos - section_start) % self.cycle) // (4 * self.bars_per_chord))
        return self.prog[index % len(self.prog)]

    # ---- the arrangement -----------------------------------------------------------------

    def render(self) -> np.ndarray:
        """Arrange the whole clip and return the mix, as :func:`synthesize_clip` documents."""
        sections = ((0, self.b1, "intro"), (self.b1, self.b2, "build"),
                    (self.b2, self.n_beats, "release"))
        for start, stop, section in sections:
            for bar0 in range(start, stop, 4):
                degree = self.chord_degree(start, bar0)
                chord = chord_notes(degree, self.tonic, self.scale, self.mood.chord_center,
                                    tense=self.tense)
                if section == "intro":
                    self._intro_bar(bar0, stop, chord)
                else:
                    self._groove_bar(bar0, stop, chord, degree, release=section == "release")
            if section == "release":
                self.hit("crash", "crash", start, 1.0)
            if section != "intro":
                self._melody(start, stop)
        self._final_hit()
        return self._mix()

    def _intro_bar(self, bar0: int, stop: int, chord: list[int]) -> None:
        """Pulsing chords on every beat keep the tempo audible before the drums enter."""
        g = self.level(bar0)
        hat_gain = self.mood.hat_gain
        for b in range(4):
            pos = bar0 + b
            if pos >= stop:
                break
            accent = 1.0 if b == 0 else 0.7
            for m in chord:
                self.place("chords", pos, self.note("chords", m, 0.95), 3.0 * g * accent)
            if not self.sparse or b % 2 == 0:
                self.hit("hat", "hats", pos, 0.5 * g * hat_gain)
            if not self.sparse:
                self.hit("hat", "hats", pos + 0.5, 0.3 * g * hat_gain)

    def _groove_bar(self, bar0: int, stop: int, chord: list[int], degree: int, *, release: bool) -> None:
        """One bar of the full groove (build and release): chords, bass and drums."""
        mood = self.mood
        for onset, dur in mood.chord_rhythm:
            pos = bar0 + onset
            if pos >= stop:
                break
            for m in chord:
                self.place("chords", pos, self.note("chords", m, dur), self.level(pos))
            if release:  # doubled an octave up: fuller
                self.place("chords", pos, self.note("chords", chord[0] + 12, dur), 0.6 * self.level(pos))
        bass_root = nearest_note((self.tonic + self.scale[degree]) % 12, mood.bass_center)
        for onset, dur, up in mood.bass_rhythm:
            pos = bar0 + onset
            if pos >= stop:
                break
            self.place("bass", pos, self.note("bass", bass_root + 12 * up, dur), self.level(pos))
        for b in range(4):
            pos = bar0 + b
            if pos >= stop:
                break
            g = self.level(pos)
            if pos % 2 == 0:
                self.hit("kick", "kick", pos, g)
            else:
                self.hit("snare", "snare", pos, g * mood.snare_gain)
            n_h = mood.hats_per_beat
            for q in range(n_h):
                accent = (1.0, 0.45, 0.7, 0.45)[q] if n_h == 4 else (1.0, 0.6)[q]
                self.hit("hat", "hats", pos + q / n_h, g * accent * mood.hat_gain)
            if release and b == 3 and not self.sparse:
                self.hit("open", "hats", pos + 0.5, 0.8 * g * mood.hat_gain)

    def _melody(self, start: int, stop: int) -> None:
        """The phrase loops from the section start; it enters halfway through the build."""
        lead_tonic = nearest_note(self.tonic, self.mood.lead_center)
        first = max(start, self.melody_from)
        for k0 in range(start, stop, self.cycle):
            for onset, dur, deg in self.phrase:
                pos = k0 + onset
                if pos < first or pos >= stop:
                    continue
                midi = lead_tonic + self.scale[deg % 7] + 12 * (deg // 7)
                strong = 1.0 if float(onset) % 1 == 0 else 0.75
                self.place("melody", pos, self.note("melody", midi, dur), strong * self.level(pos))

    def _final_hit(self) -> None:
        """Final hit on the downbeat after the last bar, ringing out through the tail."""
        end = self.n_beats
        tail_beats = self.spec.seconds / self.beat - end
        for m in chord_notes(0, self.tonic, self.scale, self.mood.chord_center, tense=False):
            self.place("chords", end, self.note("chords", m, tail_beats), 1.0)
        bass = nearest_note(self.tonic, self.mood.bass_center)
        self.place("bass", end, self.note("bass", bass, tail_beats), 1.0)
        self.hit("kick", "kick", end, 1.0)
        self.hit("crash", "crash", end, 0.8)

    def _mix(self) -> np.ndarray:
        """Levels, constant-power pan, fades and peak normalisation; float32 in [-0.99, 0.99]."""
        n_total, sr = self.n_total, self.sr
        channels = self.spec.channels
        y = np.zeros((n_total, channels))
        for name, x in self.parts.items():
            x = x * LEVEL[name]
            if channels == 1:
                y[:, 0] += x
            else:
                theta = (PAN[name] + 1.0) * np.pi / 4
                y[:, 0] += np.cos(theta) * np.sqrt(2) * x
                y[:, 1] += np.sin(theta) * np.sqrt(2) * x
        fade_in = min(n_total // 4, int(0.005 * sr))
        y[:fade_in] *= np.linspace(0.0, 1.0, fade_in)[:, None]
        n_tail = n_total - self.sample_at(self.n_beats)
        if n_tail > 1:
            y[n_total - n_tail:] *= np.linspace(1.0, 0.0, n_tail)[:, None] ** 1.5
        peak = np.abs(y).max()
        if peak > 0:
            y *= PEAK[self.spec.mood] / peak
        return np.clip(y, -0.99, 0.99).astype(np.float32)


def chord_notes(root_degree: int, tonic: int, scale, center: int, *, tense: bool) -> list[int]:
    """Root-position triad (in the scale) voiced near ``center``; tense adds a clash."""
    root_pc = (tonic + scale[root_degree % 7]) % 12
    root = nearest_note(root_pc, center - 4)
    notes = [root]
    for step in (2, 4):
        d = root_degree + step
        notes.append(root + (scale[d % 7] + 12 * (d // 7)) - scale[root_degree % 7])
    if tense and root_degree % 7 == 0:
        notes.append(root + 8)  # minor 6th over the root: a minor second above the fifth
    return notes


def melody_phrase(rng, mood_name: str, mood: Mood, prog, bars_per_chord: int) -> list[tuple]:
    """One loop of melody over the progression: (onset beat, duration beats, scale degree)."""
    n_bars = len(prog) * bars_per_chord
    events = []
    for bar in range(n_bars):
        events.extend((4 * bar + on, dur) for on, dur in _bar_rhythm(rng, mood.lead_rhythm))

    degrees = []
    d = 2 if rng.random() < 0.5 else 4
    for onset, _ in events:
        chord_root = prog[int(onset // (4 * bars_per_chord)) % len(prog)]
        if mood.lead_rhythm == "sixteenths":
            step = int(rng.choice([-2, -1, 1, 2, 2, -2]))
        elif mood_name == "tense":
            step = int(rng.choice([-1, 1, 1, -1, 0, 2, -2]))
        else:
            step = int(rng.choice([-2, -1, -1, 0, 1, 1, 2]))
        d += step
        if d > 9:
            d -= 2 * (d - 9)
        if d < -2:
            d += 2 * (-2 - d)
        if float(onset) % 2 == 0:  # beats 1 and 3: land on the nearest chord tone
            if (d - chord_root) % 7 not in (0, 2, 4):
                d += 1 if (d + 1 - chord_root) % 7 in (0, 2, 4) and d < 9 else -1
        degrees.append(d)
    if degrees:
        degrees[-1] = 0 if abs(degrees[-1]) < abs(degrees[-1] - 7) else 7
    return [(on, dur, deg) for (on, dur), deg in zip(events, degrees)]


def _bar_rhythm(rng, lead_rhythm: str):
    """(onset, duration) in beats of the melody notes in one bar."""
    if lead_rhythm == "slow":
        return ((0, 2), (2, 2)) if rng.random() < 0.6 else ((0, 1), (1, 1), (2, 2))
    if lead_rhythm == "staccato":
        pattern = []
        for b in range(4):
            pattern.append((b, 0.3))
            if rng.random() < 0.3:
                pattern.append((b + 0.5, 0.25))
        return pattern
    if lead_rhythm == "sixteenths":
        return tuple((b + q / 4, 0.24) for b in range(4) for q in range(4))
    pattern = []  # lively: quarters, some beats split into two eighths
    for b in range(4):
        if rng.random() < 0.35:
            pattern += [(b, 0.45), (b + 0.5, 0.45)]
        else:
            pattern.append((b, 0.9))
    return pattern
