"""Where strong labels are read: the audio files' own tags and a ``labels.csv`` beside them.

``labels.csv`` (optional, in the analysed folder, UTF-8, a header row):

::

    file,bpm,key,emotion,style
    song.flac,124,F# minor,,
    live/take2.wav,92,Am,calm,3

``file`` is the file's path relative to the folder (or its name, when unique); any other column
may be empty or absent. A sidecar value wins over a tag of the same field. Nothing here stops a
run: an unreadable tag, row or value is a warning naming the file, the field and the value, and
that field keeps its weak label (``aural_core.strong_labels``).
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

from aural_core.labels import resolve_style
from aural_core.strong_labels import FIELDS, StrongLabels, read_fields
from aural_core.styles import StyleTable

from .atomic import write_text_atomic
from .manifest import display_name

SIDECAR = "labels.csv"
# Tag names (upper case; ID3 frames, Vorbis comments, MP4 atoms) -> label field.
TAG_FIELDS = {"TBPM": "bpm", "BPM": "bpm", "TMPO": "bpm", "----:COM.APPLE.ITUNES:BPM": "bpm",
              "TKEY": "key", "INITIALKEY": "key", "KEY": "key", "----:COM.APPLE.ITUNES:INITIALKEY": "key"}


def read_tags(path: str | Path) -> dict[str, str]:
    """The BPM and key a file's tags carry, as raw text (``{"bpm": "124", "key": "F#m"}``);
    empty when it has none or mutagen cannot read its tags (the analysis reports bad audio)."""
    import mutagen

    try:
        audio = mutagen.File(path)
    except (mutagen.MutagenError, OSError, ValueError):
        return {}
    tags = getattr(audio, "tags", None)
    if not tags:
        return {}
    found: dict[str, str] = {}
    for name, value in tags.items():
        label = TAG_FIELDS.get(str(name).upper())
        text = _tag_text(value)
        if label and text and label not in found:
            found[label] = text
    return found


def _tag_text(value) -> str:
    """One tag value as text: ID3 frames keep theirs in ``.text``, MP4 free-form atoms are bytes."""
    value = getattr(value, "text", value)
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).strip().strip("\x00")


def read_sidecar(folder: str | Path) -> tuple[dict[str, dict[str, str]], list[str]]:
    """The rows of ``folder/labels.csv`` by their ``file`` cell, and one warning per problem
    (no ``file`` column, an empty or repeated file name). No sidecar: nothing, no warning."""
    path = Path(folder) / SIDECAR
    if not path.is_file():
        return {}, []
    warnings, rows = [], {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = {c.strip().lower(): c for c in reader.fieldnames or []}
            if "file" not in columns:
                return {}, [f"{path}: no 'file' column (header: {', '.join(columns) or 'empty'}): ignored"]
            for line, row in enumerate(reader, start=2):
                name = (row.get(columns["file"]) or "").strip()
                if not name:
                    warnings.append(f"{path}: line {line} names no file: ignored")
                    continue
                if name in rows:
                    warnings.append(f"{path}: line {line} repeats {name!r}: ignored (the first row counts)")
                    continue
                rows[name] = {f: (row.get(columns[f]) or "") for f in FIELDS if f in columns}
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return {}, [f"{path}: unreadable ({exc}): ignored"]
    return rows, warnings


def write_sidecar(folder: str | Path, rows: dict[str, dict]) -> Path:
    """Write ``folder/labels.csv`` atomically: one row per file (``{name: {"bpm", "key", ...}}``,
    fields of ``FIELDS``, missing ones left empty), sorted by file name."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["file", *FIELDS])
    for name in sorted(rows):
        writer.writerow([name, *("" if rows[name].get(f) is None else rows[name][f] for f in FIELDS)])
    return write_text_atomic(Path(folder) / SIDECAR, buffer.getvalue())


def sidecar_fingerprint(folder: str | Path) -> str:
    """SHA-256 of ``folder/labels.csv`` ("" without one): a changed sidecar is a changed input set."""
    path = Path(folder) / SIDECAR
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def strong_labels_for(folder: str | Path, files: list[dict], styles: StyleTable
                      ) -> tuple[dict[str, StrongLabels], list[str]]:
    """Strong labels of every file of an analysed folder, by content id.

    Parameters
    ----------
    folder : path
        The analysed folder (a manifest's ``input_dir``).
    files : list of dict
        Its manifest entries: ``file_id``, ``source`` and ``path`` (relative to ``folder``).
    styles : StyleTable
        A sidecar's style must name one of its rows (by id or prompt).

    Returns
    -------
    labels : dict
        ``{file_id: StrongLabels}`` for the files that have any.
    warnings : list of str
        One line per value, row or file that could not be used, naming the file, the field
        and the value; those fields keep their weak labels.
    """
    folder = Path(folder)
    rows, warnings = read_sidecar(folder)
    names = [Path(f.get("path", f["source"])).name for f in files]
    labels, used = {}, set()
    for f in files:
        relative = f.get("path", f["source"])
        shown = display_name(relative)
        # A row names the file by its path in the folder, or by its name when no other file has it.
        row_key = relative if relative in rows else Path(relative).name
        row = rows.get(row_key) if row_key == relative or names.count(row_key) == 1 else None
        tagged, tag_problems = read_fields(read_tags(folder / relative), source="tag")
        sidecar, sidecar_problems = read_fields(row or {}, source="sidecar")
        if row is not None:
            used.add(row_key)
        for origin, items in (("tag", tag_problems), (SIDECAR, sidecar_problems)):
            warnings += [f"{shown}: {origin} {field}={value!r} unreadable ({reason.split(': ', 1)[-1]}): "
                         "its weak label is used" for field, value, reason in items]
        merged = sidecar.merged_over(tagged)
        if merged.style is not None and resolve_style(merged.style, table=styles) is None:
            warnings.append(f"{shown}: {SIDECAR} style={merged.style!r} names no row of the style table "
                            f"(an id 0-{len(styles) - 1} or a prompt): its weak style is used")
            merged = merged.without("style")
        if merged:
            labels[f["file_id"]] = merged
    for name in sorted(set(rows) - used):
        warnings.append(f"{folder / SIDECAR}: {name!r} is no analysed file of {folder}: its row is ignored")
    return labels, warnings
