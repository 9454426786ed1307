"""How a file name (or a message quoting one) is stored and shown: ``display_name``, the one
rule for undecodable bytes, used by manifests, Parquet ``source`` columns, reports, Prefect run
names and artifacts, and the CLI's console.

A name that is not valid UTF-8 reaches Python with surrogate escapes (``os.fsdecode(b"bad\\xff.wav")
== "bad\\udcff.wav"``), which no encoder of those outputs accepts. Its bytes are written as
``\\xNN`` (a literal backslash): what the manifest stores is what the console prints, and two
names that differ only in their undecodable bytes stay apart (U+FFFD would make them equal).
Without imports beyond ``os``: the CLI prints with it before any heavy module loads.
"""

from __future__ import annotations

import os


def display_name(value) -> str:
    """``value`` (a file name, a path, a message quoting one: anything ``str`` takes) safe to
    store and show: bytes that are not UTF-8 become ``\\xNN``; valid text is unchanged."""
    return os.fsencode(str(value)).decode("utf-8", "backslashreplace")
