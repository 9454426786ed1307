"""A local, content-addressed artifact store: flows pass references, not objects.

``put`` copies a file to ``<root>/objects/<sha256[:2]>/<sha256>`` and returns the reference
``sha256:<hex>``; ``get`` returns the stored path after checking its hash again, so a
corrupted or tampered artifact is refused instead of being used.

Safe under concurrent writers: an object is written under a unique temporary name in its own
folder and renamed into place (``os.replace``), so a reader sees a whole object or none; ``put``
rewrites an existing object whose bytes no longer match its name (it heals the store), and
every change holds the store's folder lock (by default ``<root>/../.lock``, i.e. the
``models/.lock`` of a models folder), which ``gc`` and publishing share.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from aural_core.errors import AuralError

from .atomic import write_text_atomic
from .locking import folder_lock

_HEX = re.compile(r"^[0-9a-f]{64}$")


class ArtifactIntegrityError(AuralError):
    """A stored artifact no longer matches its content hash, or is missing."""


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def copy_durably(source: str | Path, target: str | Path) -> Path:
    """Copy ``source`` to a unique temporary name beside ``target``, flush it to disk and rename
    it onto ``target``; on any error (disk full, ...) the temporary file is removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")  # orders puts within one second


class ArtifactStore:
    def __init__(self, root: str | Path, *, lock: str | Path | None = None):
        self.root = Path(root)
        self.lock_file = Path(lock) if lock is not None else self.root.parent / ".lock"

    def lock(self):
        """The store's folder lock (a context manager; nested use in one thread is fine)."""
        return folder_lock(self.lock_file)

    def _object(self, digest: str) -> Path:
        return self.root / "objects" / digest[:2] / digest

    def _record(self, digest: str) -> Path:
        return self.root / "records" / f"{digest}.json"

    def put(self, path: str | Path, *, name: str | None = None, meta: dict | None = None) -> str:
        """Store a copy of ``path``; returns its reference. Idempotent for equal content.

        An object already stored under this hash is kept when its bytes still match, and
        replaced (atomically) when they do not.
        """
        digest = sha256_file(path)
        target = self._object(digest)
        ref = f"sha256:{digest}"
        with self.lock():
            if not (target.is_file() and sha256_file(target) == digest):
                copy_durably(path, target)
                if sha256_file(target) != digest:  # the source changed while it was copied
                    target.unlink(missing_ok=True)
                    raise ArtifactIntegrityError(f"{path} changed while it was being stored: not stored")
            if name:
                record = {"ref": ref, "name": name, "stored_at": _now(), **(meta or {})}
                write_text_atomic(self._record(digest), json.dumps(record, indent=2))
                write_text_atomic(self.root / "names" / f"{name}.json",
                                  json.dumps({"ref": ref, "source": str(path), **(meta or {})}, indent=2))
        return ref

    def get(self, ref: str) -> Path:
        """Path of a stored artifact after verifying its content hash."""
        digest = self.digest(ref)
        path = self._object(digest)
        if not path.is_file():
            raise ArtifactIntegrityError(f"artifact {ref} is not in the store at {self.root}")
        actual = sha256_file(path)
        if actual != digest:
            raise ArtifactIntegrityError(f"artifact {ref} is corrupt: content hashes to sha256:{actual}")
        return path

    @staticmethod
    def digest(ref: str) -> str:
        """The hex digest of a full ``sha256:<hex>`` reference."""
        digest = ref.split(":", 1)[1] if ref.startswith("sha256:") else ""
        if not _HEX.match(digest):
            raise ArtifactIntegrityError(f"ref={ref!r} is not a 'sha256:<hex>' reference")
        return digest

    def refs(self) -> list[str]:
        """Every stored object's reference (temporary files of unfinished writes excluded)."""
        objects = self.root / "objects"
        if not objects.is_dir():
            return []
        return sorted(f"sha256:{p.name}" for p in objects.glob("*/*") if _HEX.match(p.name) and p.is_file())

    def expand(self, ref: str) -> str:
        """A full reference from ``sha256:<hex>`` or a unique hex prefix (at least 6 characters)."""
        prefix = ref.removeprefix("sha256:").lower()
        if len(prefix) < 6 or not re.fullmatch(r"[0-9a-f]+", prefix):
            raise ArtifactIntegrityError(f"ref={ref!r} is not a 'sha256:<hex>' reference or a hex prefix of 6+ chars")
        matches = [r for r in self.refs() if r[7:].startswith(prefix)]
        if not matches:
            raise ArtifactIntegrityError(f"no artifact {ref!r} in the store at {self.root}")
        if len(matches) > 1:
            raise ArtifactIntegrityError(f"ref={ref!r} is ambiguous in {self.root}: give more characters")
        return matches[0]

    def record(self, ref: str) -> dict:
        """What ``put`` recorded about ``ref`` (name, stored_at, meta); stored_at falls back to
        the object's modification time."""
        digest = self.digest(ref)
        try:
            return json.loads(self._record(digest).read_text())
        except (OSError, ValueError):
            path = self._object(digest)
            stamp = datetime.fromtimestamp(path.stat().st_mtime, UTC) if path.exists() else None
            return {"ref": ref, "stored_at": stamp.isoformat(timespec="microseconds") if stamp else None}

    def verify(self) -> list[str]:
        """Re-hash every object; one line per problem (an empty list: the store is intact)."""
        problems = []
        for ref in self.refs():
            digest = ref[7:]
            actual = sha256_file(self._object(digest))
            if actual != digest:
                problems.append(f"{self._object(digest)}: corrupt, content hashes to sha256:{actual[:12]}")
        return problems

    def delete(self, ref: str) -> None:
        """Remove a stored object and its record."""
        digest = self.digest(ref)
        with self.lock():
            self._object(digest).unlink(missing_ok=True)
            self._record(digest).unlink(missing_ok=True)

    def resolve(self, name: str) -> str:
        """Reference last stored under ``name`` (e.g. "adapter")."""
        record = self.root / "names" / f"{name}.json"
        if not record.is_file():
            raise ArtifactIntegrityError(f"no artifact named {name!r} in {self.root}")
        return json.loads(record.read_text())["ref"]

    def publish(self, ref: str, target: str | Path) -> Path:
        """Copy a verified artifact to a well-known path (e.g. models/adapter.pt), atomically."""
        with self.lock():
            return copy_durably(self.get(ref), target)
