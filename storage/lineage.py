"""Model lineages: an adapter belongs to the data folder it was trained for.

"Publish only a no-worse model" (``aural_core.selection``) is right for one data folder retrained
as its inputs change, and wrong across folders: a model trained on other music is not the
user's model. So every adapter records its *lineage* (the training folder it was trained on)
and a models folder keeps one published adapter per lineage:

::

    models/                       the folder's first lineage publishes here (adapter.pt, store/)
      adapter.pt, metadata.json, store/
      lineages/<name>-<id>/       every other lineage that shares this models folder
        adapter.pt, metadata.json, store/

By default each data folder has a models folder of its own (``layout.default_models_dir``), so
the nested form appears only when ``--models`` names one folder for several data folders.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from .layout import INPUTS, ModelsLayout

LINEAGES = "lineages"


@dataclass(frozen=True)
class Lineage:
    """The training folder an adapter was made for.

    ``folder`` is the absolute path of the analysed training folder (e.g. ``/music/mine/inputs``)
    and ``name`` the data folder's name (``mine``), or the folder's own name when it is not
    called ``inputs``.
    """

    name: str
    folder: str

    @property
    def id(self) -> str:
        """12 hex characters of the SHA-256 of ``folder``: two folders of one name differ."""
        return hashlib.sha256(self.folder.encode("utf-8", "surrogateescape")).hexdigest()[:12]

    @property
    def slug(self) -> str:
        """``<name>-<id[:8]>``: the sub-folder of a shared models folder (file-name safe)."""
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", self.name).strip("._") or "data"
        return f"{safe[:40]}-{self.id[:8]}"

    def to_dict(self) -> dict:
        return {**asdict(self), "id": self.id}

    @classmethod
    def of_folder(cls, folder: str | Path) -> Lineage:
        """The lineage of the analysed training folder ``folder``."""
        path = Path(folder).resolve()
        name = path.parent.name if path.name == INPUTS and path.parent.name else path.name
        return cls(name=name or "data", folder=str(path))

    @classmethod
    def from_metadata(cls, metadata: dict | None) -> Lineage | None:
        """The lineage an adapter's metadata records (None for adapters made before lineages)."""
        record = (metadata or {}).get("lineage")
        if not isinstance(record, dict) or not {"name", "folder"} <= record.keys():
            return None
        return cls(name=str(record["name"]), folder=str(record["folder"]))


def _published_lineage(models: ModelsLayout) -> Lineage | None | bool:
    """The lineage of ``models``'s published adapter: False when nothing is published there,
    None when its metadata records none (an adapter made before lineages, or unreadable)."""
    if not models.metadata.is_file() and not models.adapter.is_file():
        return False
    try:
        return Lineage.from_metadata(json.loads(models.metadata.read_text()))
    except (OSError, ValueError):
        return None


def publication_layout(models: ModelsLayout, lineage: Lineage) -> ModelsLayout:
    """Where ``lineage`` publishes in the models folder ``models``.

    The folder itself when its published adapter is of this lineage, when nothing is published
    there, or when the published one records no lineage (made before lineages: the user's own
    folder); otherwise ``models/lineages/<slug>/``, a models folder of its own.
    """
    nested = ModelsLayout(models.root / LINEAGES / lineage.slug)
    if nested.root.is_dir():
        return nested
    published = _published_lineage(models)
    if published is False or published is None or published == lineage:
        return models
    return nested


def lineage_layouts(models: ModelsLayout) -> list[ModelsLayout]:
    """The folder itself and every lineage folder nested in it (sorted)."""
    nested = sorted(p for p in (models.root / LINEAGES).glob("*") if p.is_dir())
    return [models, *(ModelsLayout(p) for p in nested)]
