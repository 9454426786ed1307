"""Label vocabularies: emotions, keys, the tag vocabulary and the default style prompt table.

One module owns every vocabulary so that labels, training, rendering and reports agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ParameterError

EMOTIONS: tuple[str, ...] = ("bright", "calm", "tense", "dark", "busy")

PITCH_CLASSES: tuple[str, ...] = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
MODES: tuple[str, ...] = ("major", "minor")

# 24 keys, index = 2 * tonic_pitch_class + (0 major, 1 minor); names like "F# minor".
KEYS_FULL: tuple[str, ...] = tuple(f"{pc} {mode}" for pc in PITCH_CLASSES for mode in MODES)

# The seed's 14-class key label: 7 natural roots x major/minor.
NATURAL_ROOTS: tuple[str, ...] = ("C", "D", "E", "F", "G", "A", "B")
KEYS_14: tuple[str, ...] = tuple(f"{root} {mode}" for root in NATURAL_ROOTS for mode in MODES)

_FLATS = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#", "Cb": "B", "Fb": "E"}


def key_full_name(tonic: int, minor: bool) -> str:
    """Name of a key among 24 from its tonic and mode.

    Parameters
    ----------
    tonic : int
        Pitch class of the tonic, 0 = C (taken modulo 12).
    minor : bool

    Returns
    -------
    str
        E.g. ``"F# minor"`` (sharps, never flats).
    """
    return f"{PITCH_CLASSES[tonic % 12]} {'minor' if minor else 'major'}"


def parse_key(name: str) -> tuple[int, bool]:
    """Inverse of :func:`key_full_name`: ``"F# minor"`` -> ``(6, True)``.

    Accepts sharps or flats (``"Bb minor"``) and any case of the mode.

    Parameters
    ----------
    name : str
        A root and a mode separated by a space.

    Returns
    -------
    tonic : int
        Pitch class, 0 = C.
    minor : bool

    Raises
    ------
    ParameterError
        When ``name`` is not a root among ``PITCH_CLASSES`` (or a flat) followed by "major"
        or "minor"; the message quotes it.
    """
    words = name.split() if isinstance(name, str) else []
    if len(words) != 2 or _FLATS.get(words[0], words[0]) not in PITCH_CLASSES or words[1].lower() not in MODES:
        raise ParameterError(f"key={name!r} is not a key name like 'F# minor'")
    root, mode = words
    return PITCH_CLASSES.index(_FLATS.get(root, root)), mode.lower() == "minor"


def fold_key_14(tonic: int, minor: bool) -> int:
    """Fold a 24-key estimate to the seed's 14 classes.

    A natural root keeps its name; a sharp root folds down to the natural root a semitone
    below (C# -> C, D# -> D, F# -> F, G# -> G, A# -> A), keeping the mode. Flats are sharps
    here (Bb == A#), so Bb major folds to A major.

    Parameters
    ----------
    tonic : int
        Pitch class of the tonic, 0 = C (taken modulo 12).
    minor : bool

    Returns
    -------
    int
        Index into ``KEYS_14``.
    """
    name = PITCH_CLASSES[tonic % 12].rstrip("#")
    return NATURAL_ROOTS.index(name) * 2 + (1 if minor else 0)


@dataclass(frozen=True)
class Tag:
    """One entry of the tag vocabulary and the emotion bin it votes for."""

    name: str
    emotion: str


# AudioSet-style music mood / genre / instrument names. Each votes for one emotion bin.
TAG_VOCABULARY: tuple[Tag, ...] = (
    Tag("Happy music", "bright"), Tag("Pop music", "bright"), Tag("Funk", "bright"),
    Tag("Ukulele", "bright"), Tag("Glockenspiel", "bright"), Tag("Disco", "bright"),
    Tag("Tender music", "calm"), Tag("Ambient music", "calm"), Tag("New-age music", "calm"),
    Tag("Lullaby", "calm"), Tag("Piano", "calm"), Tag("Acoustic guitar", "calm"),
    Tag("Angry music", "tense"), Tag("Heavy metal", "tense"), Tag("Distortion", "tense"),
    Tag("Exciting music", "tense"), Tag("Drum roll", "tense"), Tag("Punk rock", "tense"),
    Tag("Sad music", "dark"), Tag("Scary music", "dark"), Tag("Drone", "dark"),
    Tag("Bass guitar", "dark"), Tag("Cello", "dark"), Tag("Dark ambient", "dark"),
    Tag("Electronic dance music", "busy"), Tag("Drum and bass", "busy"), Tag("Techno", "busy"),
    Tag("Hi-hat", "busy"), Tag("Drum kit", "busy"), Tag("Jazz", "busy"),
)
TAG_NAMES: tuple[str, ...] = tuple(t.name for t in TAG_VOCABULARY)
TAG_EMOTION: dict[str, str] = {t.name: t.emotion for t in TAG_VOCABULARY}
