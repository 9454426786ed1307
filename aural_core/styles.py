"""The style prompt table: user-editable data mapping (emotion, energy level) to a prompt.

The default table ships as ``styles.json`` beside this module; a config may point at another
file with the same shape. Its entries also carry the timbre the ``synth`` renderer uses and,
optionally, the sampling settings the MusicGen renderers use for that style (``temperature``,
``top_k``, ``guidance_scale``: seed section 8's per-style temperature schedule); a row without
them samples with the ``[render]`` config's values.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from .errors import ParameterError
from .vocab import EMOTIONS

DEFAULT_STYLES_PATH = Path(__file__).with_name("styles.json")
ENERGY_LEVELS = ("low", "high")
# Optional per-row sampling settings: read by renderers only, so they are left out of
# ``style_table_hash`` (which keys labels and sections) and covered by the render keys instead.
SAMPLING_FIELDS = ("temperature", "top_k", "guidance_scale")


@dataclass(frozen=True)
class Style:
    """One row of the style table."""

    id: int
    emotion: str
    energy: str
    prompt: str
    brightness: float
    density: float
    dynamics: float
    temperature: float | None = None
    top_k: int | None = None
    guidance_scale: float | None = None

    def to_json(self) -> dict:
        """The row as written in a table file.

        Returns
        -------
        dict
            Every field; unset sampling settings are left out.
        """
        return {k: v for k, v in self.__dict__.items() if not (k in SAMPLING_FIELDS and v is None)}


@dataclass(frozen=True)
class StyleTable:
    """All styles, indexable by id, with the rule from (emotion, energy level) to a style id."""

    styles: tuple[Style, ...]

    def __len__(self) -> int:
        return len(self.styles)

    def __getitem__(self, style_id: int) -> Style:
        return self.styles[style_id]

    def style_id(self, emotion: str, energy_level: str) -> int:
        """Id of the entry for an emotion and energy level.

        Falls back to any entry of the emotion, then to entry 0, so that a trimmed table still works.

        Parameters
        ----------
        emotion : str
            One of ``EMOTIONS``.
        energy_level : str
            ``"low"`` or ``"high"``.

        Returns
        -------
        int
        """
        for s in self.styles:
            if s.emotion == emotion and s.energy == energy_level:
                return s.id
        for s in self.styles:
            if s.emotion == emotion:
                return s.id
        return 0

    def to_json(self) -> list[dict]:
        """The rows as written in a table file's ``styles`` list.

        Returns
        -------
        list of dict
            :meth:`Style.to_json` of each row, in id order.
        """
        return [s.to_json() for s in self.styles]


def load_style_table(path: str | Path | None = None) -> StyleTable:
    """Read a style table file.

    Parameters
    ----------
    path : str, Path or None
        A JSON file ``{"styles": [{"emotion", "energy", "prompt", ...}, ...]}``; None (or
        empty) reads the shipped ``styles.json``.

    Returns
    -------
    StyleTable
        Row ``i`` has id ``i``; brightness, density and dynamics default to 0.5.

    Raises
    ------
    ParameterError
        When the file is not a style table, is empty, or has a malformed entry, an unknown
        emotion or energy level, or a bad sampling setting; the message names the file and
        the entry.
    """
    path = Path(path) if path else DEFAULT_STYLES_PATH
    try:
        raw = json.loads(path.read_text())
        rows = raw["styles"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ParameterError(f"{path}: not a style table ({exc})") from exc
    styles = []
    for i, row in enumerate(rows):
        try:
            style = Style(
                id=i, emotion=str(row["emotion"]), energy=str(row["energy"]),
                prompt=str(row["prompt"]), brightness=float(row.get("brightness", 0.5)),
                density=float(row.get("density", 0.5)), dynamics=float(row.get("dynamics", 0.5)),
                **_sampling(row),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ParameterError(f"{path}: style entry {i} is malformed ({exc})") from exc
        if style.emotion not in EMOTIONS or style.energy not in ENERGY_LEVELS:
            raise ParameterError(
                f"{path}: style entry {i} has emotion={style.emotion!r} energy={style.energy!r}; "
                f"expected one of {EMOTIONS} and {ENERGY_LEVELS}"
            )
        styles.append(style)
    if not styles:
        raise ParameterError(f"{path}: the style table is empty")
    return StyleTable(tuple(styles))


def _sampling(row: dict) -> dict:
    """A row's optional sampling settings, checked: temperature > 0, top_k >= 1, guidance >= 0."""
    out = {}
    if row.get("temperature") is not None:
        t = row["temperature"]
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not (math.isfinite(t) and t > 0):
            raise ValueError(f"temperature={t!r} must be a number > 0")
        out["temperature"] = float(t)
    if row.get("top_k") is not None:
        k = row["top_k"]
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"top_k={k!r} must be an integer >= 1")
        out["top_k"] = k
    if row.get("guidance_scale") is not None:
        g = row["guidance_scale"]
        if isinstance(g, bool) or not isinstance(g, (int, float)) or not (math.isfinite(g) and g >= 0):
            raise ValueError(f"guidance_scale={g!r} must be a number >= 0")
        out["guidance_scale"] = float(g)
    return out


def style_table_hash(table: StyleTable) -> str:
    """The table's hash: part of every key that depends on it (labels, sections, adapters).

    The per-style sampling settings are left out: they change renders only (see
    :func:`style_rows_hash`), not labels, sections or what an adapter learns.

    Parameters
    ----------
    table : StyleTable

    Returns
    -------
    str
        First 12 hex characters of the SHA-256 of the rows' canonical JSON.
    """
    rows = [{k: v for k, v in row.items() if k not in SAMPLING_FIELDS} for row in table.to_json()]
    return _hash(rows)


def style_rows_hash(table: StyleTable) -> str:
    """The hash of every field, sampling settings included: part of the render keys.

    Parameters
    ----------
    table : StyleTable

    Returns
    -------
    str
        First 12 hex characters of the SHA-256 of the rows' canonical JSON.
    """
    return _hash(table.to_json())


def _hash(rows: list[dict]) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:12]
