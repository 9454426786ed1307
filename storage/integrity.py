"""Checksums of cached outputs: a cached entry is served only while its file is intact.

Every cached output (frames and sections Parquet, rendered FLAC) is written atomically and
then its SHA-256 is recorded beside it (``layout.checksum_record``: ``.<name>.sha256``, which
also names the output's key). Before a cached task run is reused, ``problem`` re-hashes the
file and compares: a missing, truncated or bit-flipped file, or one without a record (a crash
between the two writes), fails and is recomputed. Hashing costs about 1 ms per MB.
"""

from __future__ import annotations

import json
from pathlib import Path

from .artifacts import sha256_file
from .atomic import write_text_atomic
from .layout import checksum_record

__all__ = ["problem", "record_checksum", "recorded_checksum", "sha256_file"]


def record_checksum(output: str | Path) -> str:
    """Hash ``output`` (just written) and record it; returns the hex digest."""
    output = Path(output)
    digest = sha256_file(output)
    write_text_atomic(checksum_record(output), json.dumps({"name": output.name, "sha256": digest}))
    return digest


def recorded_checksum(output: str | Path) -> str | None:
    """The SHA-256 recorded for ``output`` when it was written (None when there is no record)."""
    output = Path(output)
    try:
        record = json.loads(checksum_record(output).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("name") != output.name:
        return None
    return record.get("sha256")


def problem(output: str | Path) -> str | None:
    """None when ``output`` exists and hashes to its recorded checksum, else what is wrong."""
    output = Path(output)
    if not output.is_file():
        return "missing"
    expected = recorded_checksum(output)
    if expected is None:
        return "no checksum recorded"
    try:
        actual = sha256_file(output)
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    if actual != expected:
        return f"content does not match its checksum (sha256 {actual[:12]}, recorded {expected[:12]})"
    return None
