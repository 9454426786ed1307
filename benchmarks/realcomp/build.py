"""Build the labelled real-composition set: real scores from music21's corpus rendered through
FluidSynth with a General-MIDI soundfont, with a known tempo and key per clip.

    python benchmarks/realcomp/build.py --out /tmp/realcomp        # ~3 min, ~90 MB
    python benchmarks/realcomp/build.py --out /tmp/realcomp2 --second /tmp/realcomp   # a disjoint set

Writes ``<out>/NN_<slug>.flac`` (mono, 22.05 kHz, 16 bit), ``<out>/truth.json``:
``{"clips": {filename: {"bpm", "key", "drums", "source", "transpose", ...}}}``, and the same BPM
and key as strong labels for the pipeline (``<out>/labels.csv``, ``storage.strong_labels``).

How each clip is made (deterministic: same script, same music21 corpus and FluidSynth -> same
files):

- Pieces: Bach chorales, Mozart/Haydn/Beethoven string-quartet movements, a few piano and
  ragtime pieces and folk tunes (Essen collection, Ryan's Mammoth Collection), taken in a fixed
  order; a candidate is kept only when its meter is 2/4, 3/4 or 4/4 throughout the excerpt (the
  beat is the quarter note, so "the tempo" is unambiguous), every part has the same key signature
  throughout the excerpt, and its final bass note is the tonic of the key signature's major key
  or its relative minor (this sets the mode; when the score states a mode as well the two must
  agree; pieces that end elsewhere — Phrygian or Dorian-notated chorales — are skipped).
  The excerpt starts at the beginning (where tonal pieces establish their key) and must start on
  the tonic or dominant in the bass.
- Mode check: the excerpt's notes must sound the mode's third above the tonic (the major third in
  major, the minor third in minor) longer than the other third. Where they do not, the notes
  contradict the signature's mode (Dorian and Aeolian folk tunes notated under a major
  signature, their flats written as accidentals; modal chorales) and no major/minor key is
  known: the clip stays in the set for its tempo, its ``key`` is null (``signature_key`` keeps
  what the signature said) and ``labels.csv`` leaves its key empty, so no key score counts it.
  The check reads the score, not the audio, so no estimator decides it.
- Tempo: stratified log-uniform over 60-180 quarter notes per minute (seeded), written into the
  MIDI file as one constant tempo; the score's own tempo marks and fermatas are ignored.
- Length: whole measures up to 60 s; pieces shorter than 30 s at their tempo are repeated.
- Key: transposed by -6..+5 semitones so that the majors cycle through the 12 major keys and the
  minors through the 12 minor keys; recorded like "F# minor".
- Instruments: GM programs varied by ensemble (piano, string quartet, church organ, guitar+bass,
  wind quartet, brass, electric piano+bass); tunes get one lead instrument.
- Drums: every other clip in tempo order gets a GM drum track (channel 10) at the piece's tempo
  aligned to the bar lines: kick on 1 (and 3), snare on the back beats, closed hi-hats in 8ths,
  16ths (slow tempi) or quarters (fast tempi), a crash on the first downbeat.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from storage.strong_labels import write_sidecar

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
SR = 22050
SEED = 20240610
MIN_S, MAX_S = 30.0, 60.0
BPM_LO, BPM_HI = 60.0, 180.0
PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

# Quotas per group, and the candidates of each group in the order they are tried.
QUARTETS = [f"mozart/k80/movement{i}" for i in range(1, 5)] + \
    [f"mozart/k155/movement{i}" for i in range(1, 4)] + [f"mozart/k156/movement{i}" for i in range(1, 5)] + \
    [f"mozart/k458/movement{i}" for i in range(1, 5)] + [f"haydn/opus1no1/movement{i}" for i in range(1, 6)] + \
    [f"haydn/opus74no1/movement{i}" for i in range(1, 5)] + \
    [f"beethoven/opus18no1/movement{i}.mxl" for i in range(1, 5)]
MISC = ["joplin/maple_leaf_rag", "liliuokalani/aloha_oe", "leadSheet/fosterBrownHair",
        "chopin/mazurka06-2.krn", "beethoven/opus18no1/movement2.krn"]
FOLK_OPUSES = ["essenFolksong/altdeu10"]
# (majors, minors) kept per group: enough minors that all 12 minor keys occur.
QUOTAS = {"chorale": (12, 12), "quartet": (10, 3), "misc": (2, 2), "folk": (6, 3)}
# The second set (--second): the first set used most quartet movements that qualify, so it takes
# twice the chorales and folk tunes instead.
QUOTAS_SECOND = {"chorale": (24, 24), "quartet": (10, 3), "misc": (2, 2), "folk": (12, 6)}

ENSEMBLES = {  # GM programs (0-based), top part first; the last entry plays the lowest part
    "piano": [0, 0, 0, 0],
    "strings": [40, 40, 41, 42],
    "organ": [19, 19, 19, 19],
    "guitar": [24, 24, 25, 32],
    "winds": [73, 68, 71, 70],
    "brass": [56, 60, 57, 58],
    "epiano": [4, 4, 4, 33],
}
LEADS = {"flute": 73, "violin": 40, "piano": 0, "guitar": 24, "clarinet": 71, "accordion": 21}


@dataclass
class Piece:
    source: str
    group: str
    notes: list            # (onset_q, dur_q, midi, part_index)
    bars: list             # (offset_q, bar_q) of the excerpt's measures, pickup included
    length_q: float        # excerpt length in quarter notes (one pass)
    meter: str
    tonic: int
    minor: bool
    n_parts: int
    mode_sounded: bool     # the excerpt sounds the mode's third longer than the other third


def _pc_name(tonic: int, minor: bool) -> str:
    return f"{PITCH_CLASSES[tonic % 12]} {'minor' if minor else 'major'}"


def _key_from_signature(sharps: int, final_bass_pc: int, stated_mode: str | None):
    """(tonic, minor) from the key signature and the final bass note, or None when they disagree."""
    major_tonic = (7 * sharps) % 12
    minor_tonic = (major_tonic + 9) % 12
    if final_bass_pc == major_tonic:
        tonic, minor = major_tonic, False
    elif final_bass_pc == minor_tonic:
        tonic, minor = minor_tonic, True
    else:
        return None
    if stated_mode in ("major", "minor") and (stated_mode == "minor") != minor:
        return None
    return tonic, minor


def _extract(score, source: str, group: str, max_q: float) -> Piece | None:
    """Notes of the excerpt of ``score`` (up to ``max_q`` quarters) or None when it is unfit."""
    from music21 import key as m21key
    from music21 import meter

    parts = list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]
    measures = list(parts[0].getElementsByClass("Measure"))
    if not measures:
        return None
    # Excerpt: whole measures while they fit in max_q (at least 4 measures).
    bars, end_q = [], 0.0
    for m in measures:
        ql = float(m.duration.quarterLength)
        if ql <= 0:
            continue
        if bars and float(m.offset) + ql > max_q and len(bars) >= 4:
            break
        bars.append((float(m.offset), ql))
        end_q = float(m.offset) + ql
    # Meter: x/4 with x in 2, 3, 4, unchanged in the excerpt.
    sigs = {ts.ratioString for p in parts for ts in p.recurse().getElementsByClass(meter.TimeSignature)
            if _flat_offset(ts, p) < end_q}
    if len(sigs) != 1 or next(iter(sigs)) not in ("2/4", "3/4", "4/4"):
        return None
    # Key signature: the same in every part through the excerpt; mode as stated, if stated.
    keysigs = [(k, _flat_offset(k, p)) for p in parts for k in p.recurse().getElementsByClass(m21key.KeySignature)]
    in_excerpt = [k for k, off in keysigs if off < end_q]
    if not in_excerpt or len({k.sharps for k in in_excerpt}) != 1:
        return None
    if any(k.sharps != in_excerpt[0].sharps for k, _ in keysigs):
        return None  # a key-signature change anywhere in the piece: skip it
    modes = {getattr(k, "mode", None) for k in in_excerpt} - {None}
    stated = next(iter(modes)) if len(modes) == 1 else None
    # Notes of the whole piece (final bass) and of the excerpt.
    notes_all = []
    for pi, p in enumerate(parts):
        for n in p.flatten().stripTies().notes:
            for pitch in getattr(n, "pitches", ()):
                notes_all.append((float(n.getOffsetInHierarchy(p)), float(n.duration.quarterLength),
                                  int(pitch.midi), pi))
    notes_all = [n for n in notes_all if n[1] > 0]
    if len(notes_all) < 16:
        return None
    last_on = max(n[0] for n in notes_all)
    final_bass = min(n[2] for n in notes_all if n[0] >= last_on - 1e-6 or n[0] + n[1] >= last_on + 1e-6)
    key = _key_from_signature(in_excerpt[0].sharps, final_bass % 12, stated)
    if key is None:
        return None
    tonic, minor = key
    notes = [(on, min(d, end_q - on), m, pi) for on, d, m, pi in notes_all if on < end_q]
    first_on = min(n[0] for n in notes)
    first_bass = min(n[2] for n in notes if n[0] <= first_on + 1e-6)
    if (first_bass - tonic) % 12 not in (0, 7):
        return None
    return Piece(source, group, notes, bars, end_q, next(iter(sigs)), tonic, minor, len(parts),
                 _sounds_its_mode(notes, tonic, minor))


def _sounds_its_mode(notes: list, tonic: int, minor: bool) -> bool:
    """Whether the notes (onset, duration, midi, part) sound the mode's third above ``tonic``
    (minor third in minor, major third in major) longer than the other third."""
    minor_third = sum(d for _, d, m, _ in notes if (m - tonic) % 12 == 3)
    major_third = sum(d for _, d, m, _ in notes if (m - tonic) % 12 == 4)
    return minor_third > major_third if minor else major_third > minor_third


def _flat_offset(element, part) -> float:
    try:
        return float(element.getOffsetInHierarchy(part))
    except Exception:  # noqa: BLE001 - music21 raises several kinds when an element is detached
        return 0.0


def _candidates(max_q: float, *, second: bool = False):
    """(group, source, score) in a fixed order. ``second``: the chorales and folk tunes at other
    offsets in their collections than the first set's (so the two sets share no piece there)."""
    from music21 import corpus

    shift = 1 if second else 0
    chorales = sorted(str(p).split("/corpus/")[1] for p in corpus.getPaths()
                      if "/corpus/bach/bwv" in str(p) and str(p).endswith(".mxl"))
    # Every 3rd chorale: spreads the choice over the collection instead of the first few numbers.
    for path in chorales[shift::3]:
        yield "chorale", path, lambda p=path: corpus.parse(p)
    for path in QUARTETS:
        yield "quartet", path, lambda p=path: corpus.parse(p)
    for path in MISC:
        yield "misc", path, lambda p=path: corpus.parse(p)
    for opus_path in FOLK_OPUSES:
        try:
            opus = corpus.parse(opus_path)
        except Exception:  # noqa: BLE001, S112 - a collection music21 cannot read is skipped
            continue
        for i, score in enumerate(opus.scores[5 * shift::11]):
            num = score.metadata.number if score.metadata is not None else None
            yield "folk", f"{opus_path}#{num or 5 * shift + i * 11}", lambda s=score: s
    tunes = sorted(str(p).split("/corpus/")[1] for p in corpus.getPaths() if "/corpus/ryansMammoth/" in str(p))
    for path in tunes[11 * shift::23]:
        yield "folk", path, lambda p=path: corpus.parse(p)


def select_pieces(verbose: bool = True, *, exclude: frozenset[str] = frozenset()) -> list[Piece]:
    """Pieces in candidate order until every quota is filled; a source in ``exclude`` (the first
    set's, when building the second) is never taken."""
    # Longest excerpt needed: 60 s at the slowest tempo = 60 quarters.
    max_q = MAX_S * BPM_LO / 60.0
    quotas = QUOTAS_SECOND if exclude else QUOTAS
    pieces, counts = [], {(g, m): 0 for g in quotas for m in (0, 1)}
    for group, source, load in _candidates(max_q, second=bool(exclude)):
        if all(counts[key] >= quotas[key[0]][key[1]] for key in counts):
            break  # every quota filled: no need to parse the rest of the corpus
        if source in exclude or all(counts[group, m] >= quotas[group][m] for m in (0, 1)):
            continue
        try:
            piece = _extract(load(), source, group, max_q)
        except Exception as exc:  # noqa: BLE001 - a corpus file music21 cannot read is skipped
            if verbose:
                print(f"skip {source}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        if piece is None or counts[group, piece.minor] >= quotas[group][piece.minor]:
            continue
        pieces.append(piece)
        counts[group, piece.minor] += 1
        if verbose:
            print(f"{group:8s} {source:50s} {_pc_name(piece.tonic, piece.minor):9s} {piece.meter}", file=sys.stderr)
    return pieces


def _assign(pieces: list[Piece], seed: int) -> list[dict]:
    """Tempo, transposition, instruments and drums of every piece (seeded, stratified)."""
    rng = np.random.default_rng(seed)
    order = sorted(range(len(pieces)), key=lambda i: hashlib.sha256(pieces[i].source.encode()).hexdigest())
    n = len(pieces)
    u = rng.uniform(0, 1, n)
    bpm = {}
    for rank, i in enumerate(order):  # stratified log-uniform: one tempo per 1/n of the log range
        bpm[i] = round(float(BPM_LO * (BPM_HI / BPM_LO) ** ((rank + u[rank]) / n)), 1)
    # Keys: the majors cycle through the 12 major keys, the minors through the 12 minor keys.
    target = {}
    for minor in (False, True):
        idx = [i for i in order if pieces[i].minor == minor]
        for j, i in enumerate(idx):
            target[i] = (j * 7) % 12  # a fifth apart, so neighbouring pieces differ a lot
    by_tempo = sorted(range(n), key=lambda i: bpm[i])
    drums = {i: (rank % 2 == 0) for rank, i in enumerate(by_tempo)}
    ens_names, lead_names = list(ENSEMBLES), list(LEADS)
    out = []
    for k in range(n):
        p = pieces[k]
        shift = (target[k] - p.tonic) % 12
        shift = shift - 12 if shift > 5 else shift
        rank = order.index(k)
        out.append({"bpm": bpm[k], "transpose": shift, "drums": drums[k],
                    "ensemble": lead_names[rank % len(lead_names)] if p.n_parts == 1
                    else ens_names[rank % len(ens_names)]})
    return out


def _midi(piece: Piece, a: dict):
    import pretty_midi

    spq = 60.0 / a["bpm"]
    loops = max(1, int(np.ceil(MIN_S / (piece.length_q * spq))))
    while loops > 1 and (loops - 1) * piece.length_q * spq >= MIN_S:
        loops -= 1
    pm = pretty_midi.PrettyMIDI(initial_tempo=a["bpm"], resolution=960)
    if piece.n_parts == 1:
        programs = [LEADS[a["ensemble"]]]
    else:
        progs = ENSEMBLES[a["ensemble"]]
        programs = [progs[min(i, len(progs) - 2)] for i in range(piece.n_parts - 1)] + [progs[-1]]
    insts = [pretty_midi.Instrument(program=pg, name=f"part{i}") for i, pg in enumerate(programs)]
    for loop in range(loops):
        base = loop * piece.length_q
        for on, dur, m, pi in piece.notes:
            pitch = m + a["transpose"]
            while pitch < 28:
                pitch += 12
            while pitch > 100:
                pitch -= 12
            vel = 88 if pi == 0 else 76
            start = (base + on) * spq
            insts[pi].notes.append(pretty_midi.Note(velocity=vel, pitch=pitch, start=start,
                                                    end=start + max(dur * spq * 0.95, 0.05)))
    pm.instruments.extend(insts)
    if a["drums"]:
        pm.instruments.append(_drums(piece, a["bpm"], loops))
    return pm, loops * piece.length_q * spq


def _drums(piece: Piece, bpm: float, loops: int):
    import pretty_midi

    spq = 60.0 / bpm
    beats = int(piece.meter.split("/")[0])
    hat_div = 4 if bpm < 90 else (2 if bpm < 150 else 1)  # hats per quarter
    kit = pretty_midi.Instrument(program=0, is_drum=True, name="drums")

    def hit(note, q, vel):
        kit.notes.append(pretty_midi.Note(velocity=vel, pitch=note, start=q * spq, end=q * spq + 0.1))

    first = True
    for loop in range(loops):
        base = loop * piece.length_q
        for offset, bar_q in piece.bars:
            if bar_q + 1e-6 < beats:  # pickup or short bar: no groove, keep the grid
                continue
            b0 = base + offset
            if first:
                hit(49, b0, 100)
                first = False
            for beat in range(beats):
                q = b0 + beat
                kick = beat == 0 or (beats == 4 and beat == 2)
                snare = (beats == 4 and beat in (1, 3)) or (beats == 3 and beat in (1, 2)) or (beats == 2 and beat == 1)
                if kick:
                    hit(36, q, 110)
                if snare:
                    hit(38, q, 100 if beats != 3 else 80)
                for h in range(hat_div):
                    hit(42, q + h / hat_div, 80 if h == 0 else 60)
    return kit


def render(pm, seconds: float, wav_path: Path, out_path: Path) -> None:
    import soundfile as sf

    mid = wav_path.with_suffix(".mid")
    pm.write(str(mid))
    subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", str(SR), "-F", str(wav_path),
                    str(SOUNDFONT), str(mid)], check=True, capture_output=True)
    y, sr = sf.read(wav_path, dtype="float64", always_2d=True)
    assert sr == SR, sr
    y = y.mean(axis=1)[: int((seconds + 1.0) * SR)]  # the last second keeps the release tail
    y = 0.89 * y / (np.abs(y).max() + 1e-12)  # peak at -1 dBFS
    sf.write(out_path, y.astype(np.float32), SR, subtype="PCM_16", format="FLAC")


def _slug(source: str) -> str:
    s = source.replace("/", "_").replace("#", "_").replace(".mxl", "")
    return "".join(c if c.isalnum() or c in "_-." else "_" for c in s)


def build(out: Path, verbose: bool = True, *, first_set: Path | None = None) -> dict:
    """Render the set into ``out``. ``first_set``: a built set's folder; the set built here is
    then a second, disjoint one (none of its pieces, chorales and folk tunes from other offsets,
    another seed for tempi and keys): files that no label setting was ever chosen on."""
    if not SOUNDFONT.exists():
        raise SystemExit(f"{SOUNDFONT} not found: apt-get install fluidsynth fluid-soundfont-gm")
    exclude = frozenset()
    if first_set is not None:
        exclude = frozenset(c["source"] for c in json.loads((first_set / "truth.json").read_text())["clips"].values())
    seed = SEED + 1 if exclude else SEED
    out.mkdir(parents=True, exist_ok=True)
    pieces = select_pieces(verbose, exclude=exclude)
    assign = _assign(pieces, seed)
    clips = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (piece, a) in enumerate(zip(pieces, assign)):
            name = f"{i:02d}_{_slug(piece.source)}.flac"
            pm, seconds = _midi(piece, a)
            render(pm, seconds, Path(tmp) / f"{i:02d}.wav", out / name)
            tonic = (piece.tonic + a["transpose"]) % 12
            signature_key = _pc_name(tonic, piece.minor)
            clips[name] = {
                "bpm": a["bpm"], "key": signature_key if piece.mode_sounded else None,
                "signature_key": signature_key, "drums": a["drums"],
                "source": piece.source, "transpose": a["transpose"], "group": piece.group,
                "original_key": _pc_name(piece.tonic, piece.minor), "meter": piece.meter,
                "ensemble": a["ensemble"], "seconds": round(seconds, 2),
            }
    truth = {"description": "music21 corpus excerpts rendered with FluidSynth + FluidR3_GM; "
                            "bpm = quarter notes per minute; see benchmarks/realcomp/build.py",
             "seed": seed, "sample_rate": SR, "clips": clips,
             "disjoint_from": str(first_set) if first_set is not None else None}
    (out / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    write_sidecar(out, {name: {"bpm": clip["bpm"], "key": clip["key"]} for name, clip in clips.items()})
    return truth


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/realcomp"))
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--second", type=Path, default=None, metavar="FIRST_SET",
                    help="build a second set that shares no piece with FIRST_SET (a built set's folder)")
    ap.add_argument("--smoke", action="store_true", help="two chorales into a temporary folder (a check that it runs)")
    args = ap.parse_args()
    if args.smoke:
        QUOTAS.update({group: (1, 1) if group == "chorale" else (0, 0) for group in QUOTAS})
        args.out = Path(tempfile.mkdtemp(prefix="realcomp-smoke-"))
    start = time.perf_counter()
    truth = build(args.out, verbose=not args.quiet, first_set=args.second)
    clips = truth["clips"].values()
    keys = {c["key"] for c in clips} - {None}
    print(f"{len(truth['clips'])} clips, {len(keys)} distinct keys "
          f"({sum(c['key'] is None for c in clips)} without: their notes contradict the signature's mode), "
          f"{sum(c['drums'] for c in clips)} with drums, tempi {min(c['bpm'] for c in clips)}-"
          f"{max(c['bpm'] for c in clips)} BPM, {sum(c['seconds'] for c in clips) / 60:.1f} min audio, "
          f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
