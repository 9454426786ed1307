"""Generation controls: what the adapter predicts and what a renderer consumes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

STEMS: tuple[str, ...] = ("drums", "bass", "harmony", "melody")


@dataclass(frozen=True)
class Controls:
    """Controls for one rendered segment.

    ``key`` is a full key name such as "F# minor"; ``stem_gains`` maps stem name to a linear gain.
    """

    emotion: str
    bpm: float
    key: str
    style_id: int
    style_prompt: str
    stem_gains: dict[str, float] = field(default_factory=lambda: {s: 1.0 for s in STEMS})

    def to_dict(self) -> dict:
        return asdict(self)
