"""Generation controls: what the adapter predicts and what a renderer consumes.

A ``Controls`` checks its own fields when made (``ParameterError`` naming the field and the value):
an emotion and a key of the vocabularies (``aural_core.vocab``), a finite, positive BPM, a style
id, finite non-negative stem gains. The product's tempo range is the labels' (``LabelConfig``
``bpm_min``..``bpm_max``, 40-250 BPM by default): labels are folded into it, the adapter
predicts within it, and the evaluation checks every control it makes against it
(``check_bpm`` with ``bpm_range``); renderers take any positive tempo.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, field

from .errors import ParameterError
from .vocab import EMOTIONS, key_full_name, parse_key

STEMS: tuple[str, ...] = ("drums", "bass", "harmony", "melody")


def check_bpm(bpm, *, bpm_range: tuple[float, float] | None = None, name: str = "bpm") -> float:
    """``bpm`` as a float when it is a finite, positive tempo (inside ``bpm_range`` when given).

    Parameters
    ----------
    bpm : float
        Beats per minute.
    bpm_range : (float, float), optional
        Inclusive bounds, e.g. ``(labels.bpm_min, labels.bpm_max)``.
    name : str
        The field's name in the error message.

    Returns
    -------
    float

    Raises
    ------
    ParameterError
        Not a number, not finite, not positive, or outside ``bpm_range``; the message quotes it.
    """
    try:
        value = float(bpm)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}={bpm!r} must be a number of beats per minute") from None
    if not math.isfinite(value) or value <= 0:
        raise ParameterError(f"{name}={bpm!r} must be a finite, positive tempo")
    if bpm_range is not None and not bpm_range[0] <= value <= bpm_range[1]:
        raise ParameterError(f"{name}={bpm!r} must be in [{bpm_range[0]:g}, {bpm_range[1]:g}] BPM")
    return value


@dataclass(frozen=True)
class Controls:
    """Controls for one rendered segment.

    Parameters
    ----------
    emotion : str
        One of ``vocab.EMOTIONS``.
    bpm : float
        Tempo (beats per minute), finite and positive.
    key : str
        A full key name such as "F# minor" (flats are read as sharps: "Bb minor" is "A# minor").
    style_id : int >= 0
        Row of the style table.
    style_prompt : str
        The text prompt of that row (MusicGen's conditioning).
    stem_gains : dict
        Stem name (``STEMS``) -> linear gain, finite and >= 0; 1.0 each by default.

    Raises
    ------
    ParameterError
        A field is not valid; the message names it and quotes its value.
    """

    emotion: str
    bpm: float
    key: str
    style_id: int
    style_prompt: str
    stem_gains: dict[str, float] = field(default_factory=lambda: {s: 1.0 for s in STEMS})

    def __post_init__(self) -> None:
        if self.emotion not in EMOTIONS:
            raise ParameterError(f"emotion={self.emotion!r} is not one of {', '.join(EMOTIONS)}")
        check_bpm(self.bpm)
        object.__setattr__(self, "key", key_full_name(*parse_key(self.key)))
        if isinstance(self.style_id, bool) or not isinstance(self.style_id, numbers.Integral) or self.style_id < 0:
            raise ParameterError(f"style_id={self.style_id!r} must be a row of the style table (an integer >= 0)")
        for stem, gain in self.stem_gains.items():
            if stem not in STEMS:
                raise ParameterError(f"stem_gains has {stem!r}, not one of {', '.join(STEMS)}")
            if not isinstance(gain, numbers.Real) or not math.isfinite(gain) or gain < 0:
                raise ParameterError(f"stem_gains[{stem!r}]={gain!r} must be a finite gain >= 0")

    def to_dict(self) -> dict:
        return asdict(self)
