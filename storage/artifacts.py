"""A local, content-addressed artifact store: flows pass references, not objects.

``put`` copies a file to ``<root>/objects/<sha256[:2]>/<sha256>`` and returns the reference
``sha256:<hex>``; ``get`` returns the stored path after checking its hash again, so a
corrupted or tampered artifact is refused instead of being used.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from aural_core.errors import AuralError

from .atomic import atomic_path, write_text_atomic


class ArtifactIntegrityError(AuralError):
    """A stored artifact no longer matches its content hash, or is missing."""


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ArtifactStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _object(self, digest: str) -> Path:
        return self.root / "objects" / digest[:2] / digest

    def put(self, path: str | Path, *, name: str | None = None, meta: dict | None = None) -> str:
        """Store a copy of ``path``; returns its reference. Idempotent for equal content."""
        digest = sha256_file(path)
        target = self._object(digest)
        if not target.exists():
            with atomic_path(target) as tmp:
                shutil.copyfile(path, tmp)
        if name:
            record = {"ref": f"sha256:{digest}", "source": str(path), **(meta or {})}
            write_text_atomic(self.root / "names" / f"{name}.json", json.dumps(record, indent=2))
        return f"sha256:{digest}"

    def get(self, ref: str) -> Path:
        """Path of a stored artifact after verifying its content hash."""
        if not ref.startswith("sha256:"):
            raise ArtifactIntegrityError(f"ref={ref!r} is not a 'sha256:<hex>' reference")
        digest = ref.split(":", 1)[1]
        path = self._object(digest)
        if not path.is_file():
            raise ArtifactIntegrityError(f"artifact {ref} is not in the store at {self.root}")
        actual = sha256_file(path)
        if actual != digest:
            raise ArtifactIntegrityError(f"artifact {ref} is corrupt: content hashes to sha256:{actual}")
        return path

    def resolve(self, name: str) -> str:
        """Reference last stored under ``name`` (e.g. "adapter")."""
        record = self.root / "names" / f"{name}.json"
        if not record.is_file():
            raise ArtifactIntegrityError(f"no artifact named {name!r} in {self.root}")
        return json.loads(record.read_text())["ref"]

    def publish(self, ref: str, target: str | Path) -> Path:
        """Copy a verified artifact to a well-known path (e.g. models/adapter.pt), atomically."""
        source = self.get(ref)
        with atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)
        return Path(target)
