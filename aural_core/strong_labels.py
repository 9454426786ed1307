"""Strong labels: BPM, key, emotion and style a user already knows for a file.

Music libraries often carry a file's tempo and key in its tags (ID3 ``TBPM``/``TKEY``, Vorbis
and FLAC ``BPM``/``INITIALKEY``/``KEY``, MP4 ``tmpo``), and a user may write them into a
``labels.csv`` beside the inputs. Where present they replace the weak label of that field for
every section of the file; each section records per field where its label came from
(``LABEL_SOURCES``). This module turns the raw text into labels and says plainly what it could
not read; reading tags and the sidecar is ``storage.strong_labels``.

Key spellings read: ``C major``, ``A minor``, ``F#m``, ``Bbmin``, ``Db`` (a bare root is
major), ID3's ``Am`` style, Camelot (``8A`` = A minor, ``8B`` = C major) and Open Key (``1m`` =
A minor, ``1d`` = C major). ``o`` (ID3's "off key") and empty values are no label.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field

from .errors import ParameterError
from .vocab import EMOTIONS, key_full_name, parse_key

LABEL_SOURCES = ("weak", "tag", "sidecar")
FIELDS = ("bpm", "key", "emotion", "style")
_NATURAL = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ID3_KEY = re.compile(r"^([A-Ga-g])([#b♯♭]?)\s*(m|min|minor|maj|major|M)?$")
_CAMELOT = re.compile(r"^(1[0-2]|[1-9])\s*([ABab])$")
_OPEN_KEY = re.compile(r"^(1[0-2]|[1-9])\s*([mdMD])$")


@dataclass(frozen=True)
class StrongLabels:
    """What is known of one file, field by field (None: not given).

    Parameters
    ----------
    bpm : float or None
        Tempo (beats per minute).
    key : str or None
        A 24-key name such as "F# minor".
    emotion : str or None
        One of ``vocab.EMOTIONS``.
    style : str or None
        A style id or prompt, resolved against the style table when labelling.
    source : dict
        Field name -> where its value came from ("tag" or "sidecar"), for the given fields.
    """

    bpm: float | None = None
    key: str | None = None        # a 24-key name, "F# minor"
    emotion: str | None = None
    style: str | None = None      # a style id or prompt, resolved against the style table when labelling
    source: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return any(getattr(self, f) is not None for f in FIELDS)

    def fingerprint(self) -> str:
        """A short hash of what these labels say, for the sections cache key.

        A changed tag or sidecar row changes it, so the file is labelled again.

        Returns
        -------
        str
            12 hex characters, or "" when the labels say nothing.
        """
        if not self:
            return ""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]

    def without(self, name: str) -> StrongLabels:
        """These labels without the field ``name``.

        Parameters
        ----------
        name : str
            One of ``FIELDS``.

        Returns
        -------
        StrongLabels
            A copy with ``name`` (and its source) set to None.
        """
        values = {f: getattr(self, f) for f in FIELDS if f != name}
        return StrongLabels(**values, source={k: v for k, v in self.source.items() if k != name})

    def merged_over(self, other: StrongLabels) -> StrongLabels:
        """These labels, with ``other``'s filling the fields these leave empty.

        Parameters
        ----------
        other : StrongLabels
            The labels of lower precedence (e.g. tags under the sidecar).

        Returns
        -------
        StrongLabels
            Field by field the first given value, with its source.
        """
        values = {f: getattr(self, f) if getattr(self, f) is not None else getattr(other, f) for f in FIELDS}
        source = {f: (self.source if getattr(self, f) is not None else other.source).get(f)
                  for f in FIELDS if values[f] is not None}
        return StrongLabels(**values, source=source)


def parse_bpm(text) -> float:
    """A tempo from a tag or cell: "120", "120.5", "120 BPM" -> 120.0.

    Parameters
    ----------
    text : str or number
        The raw value; a decimal comma is read as a point.

    Returns
    -------
    float
        Beats per minute, in [1, 1000].

    Raises
    ------
    ParameterError
        When it is not a finite number between 1 and 1000 BPM; the message quotes it.
    """
    raw = str(text).strip()
    match = re.fullmatch(r"([0-9]+(?:[.,][0-9]+)?)\s*(?:bpm)?", raw, flags=re.IGNORECASE)
    value = float(match.group(1).replace(",", ".")) if match else math.nan
    if not math.isfinite(value) or not 1.0 <= value <= 1000.0:
        raise ParameterError(f"bpm={raw!r} is not a tempo (a number of beats per minute, e.g. 120)")
    return value


def parse_key_label(text) -> str | None:
    """A key from a tag or cell as a 24-key name ("F# minor"); None for no key ("", "o").

    Parameters
    ----------
    text : str
        The raw value, in any of the spellings the module docstring lists.

    Returns
    -------
    str or None
        The full key name, or None when the value says there is none.

    Raises
    ------
    ParameterError
        When the text is none of the spellings in the module docstring; the message quotes it.
    """
    raw = str(text).strip()
    if raw in ("", "o", "O", "-"):
        return None
    try:
        tonic, minor = parse_key(raw.replace("♯", "#").replace("♭", "b"))
        return key_full_name(tonic, minor)
    except ParameterError:
        pass
    if match := _CAMELOT.fullmatch(raw):
        major_tonic = 7 * (int(match.group(1)) - 8) % 12       # 8B = C major, each step a fifth
        minor = match.group(2).upper() == "A"
        return key_full_name((major_tonic + 9) % 12 if minor else major_tonic, minor)
    if match := _OPEN_KEY.fullmatch(raw):
        major_tonic = 7 * (int(match.group(1)) - 1) % 12       # 1d = C major
        minor = match.group(2).lower() == "m"
        return key_full_name((major_tonic + 9) % 12 if minor else major_tonic, minor)
    if match := _ID3_KEY.fullmatch(raw):
        root, accidental, mode = match.groups()
        tonic = _NATURAL[root.upper()] + {"#": 1, "♯": 1, "b": -1, "♭": -1}.get(accidental, 0)
        minor = mode is not None and mode in ("m", "min", "minor")
        return key_full_name(tonic % 12, minor)
    raise ParameterError(f"key={raw!r} is not a key (e.g. 'F# minor', 'F#m', '11A' or '2m')")


def parse_emotion(text) -> str:
    """One of ``vocab.EMOTIONS`` (any case).

    Parameters
    ----------
    text : str
        The raw value.

    Returns
    -------
    str
        The emotion, lower case.

    Raises
    ------
    ParameterError
        When it is not one of them; the message quotes it and lists them.
    """
    raw = str(text).strip().lower()
    if raw not in EMOTIONS:
        raise ParameterError(f"emotion={str(text)!r} is not one of {', '.join(EMOTIONS)}")
    return raw


def read_fields(values: dict[str, str], *, source: str) -> tuple[StrongLabels, list[tuple[str, str, str]]]:
    """Strong labels from raw ``{field: text}`` (fields of ``FIELDS``; empty values skipped).

    An unreadable field stays weak; the others are kept.

    Parameters
    ----------
    values : dict
        Field name -> raw text; names outside ``FIELDS`` and empty values are ignored.
    source : str
        Where the values came from ("tag" or "sidecar"), recorded per field.

    Returns
    -------
    labels : StrongLabels
        The fields that could be read.
    problems : list of (str, str, str)
        ``(field, value, reason)`` per field that could not.
    """
    parsers = {"bpm": parse_bpm, "key": parse_key_label, "emotion": parse_emotion, "style": str.strip}
    parsed, problems = {}, []
    for name, text in values.items():
        if name not in parsers or text is None or not str(text).strip():
            continue
        try:
            value = parsers[name](str(text))
        except ParameterError as exc:
            problems.append((name, str(text), str(exc)))
            continue
        if value is not None:
            parsed[name] = value
    return StrongLabels(**parsed, source={name: source for name in parsed}), problems
