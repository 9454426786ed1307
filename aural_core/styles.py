"""The style prompt table: user-editable data mapping (emotion, energy level) to a prompt.

The default table ships as ``styles.json`` beside this module; a config may point at another
file with the same shape. Its entries also carry the timbre the ``synth`` renderer uses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import ParameterError
from .vocab import EMOTIONS

DEFAULT_STYLES_PATH = Path(__file__).with_name("styles.json")
ENERGY_LEVELS = ("low", "high")


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


@dataclass(frozen=True)
class StyleTable:
    """All styles, indexable by id, with the rule from (emotion, energy level) to a style id."""

    styles: tuple[Style, ...]

    def __len__(self) -> int:
        return len(self.styles)

    def __getitem__(self, style_id: int) -> Style:
        return self.styles[style_id]

    def style_id(self, emotion: str, energy_level: str) -> int:
        """Id of the entry for this emotion and energy level ("low" / "high").

        Falls back to any entry of the emotion, then to entry 0, so that a trimmed table still works.
        """
        for s in self.styles:
            if s.emotion == emotion and s.energy == energy_level:
                return s.id
        for s in self.styles:
            if s.emotion == emotion:
                return s.id
        return 0

    def to_json(self) -> list[dict]:
        return [s.__dict__.copy() for s in self.styles]


def load_style_table(path: str | Path | None = None) -> StyleTable:
    """Read a style table; raises ``ParameterError`` naming the file and the bad entry."""
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


def style_table_hash(table: StyleTable) -> str:
    """First 12 hex chars of the SHA-256 of the table's rows: part of every key that depends on it."""
    import hashlib

    return hashlib.sha256(json.dumps(table.to_json(), sort_keys=True).encode()).hexdigest()[:12]
