"""``aural models list|verify|promote|gc``: the model store, without any Prefect server.

Each acts on the models folder and on the folder of every other data folder's lineage nested
in it (storage/lineage.py), so one command covers every adapter trained from it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from storage.layout import MODELS_DIR

from .console import printable
from .options import command_group


def _models_layouts(args) -> list:
    """The models folder and the folder of every other data folder's lineage nested in it."""
    from storage.layout import ModelsLayout
    from storage.lineage import lineage_layouts

    return lineage_layouts(ModelsLayout(Path(args.models).resolve()))


def cmd_models_list(args) -> int:
    from storage.models import list_versions

    layouts = _models_layouts(args)
    rows = [(models, row) for models in layouts for row in list_versions(models)]
    if not rows:
        print(f"no stored versions in {layouts[0].store}")
        return 0
    print(f"{'':2}{'version':19}  {'stored (UTC)':19}  {'data folder':16}  {'data hash':16}  {'val loss':>8}")
    for models, row in rows:
        mark = "*" if row["published"] else " "
        loss = f"{row['val_loss']:.4f}" if row["val_loss"] is not None else "-"
        note = "" if row["ok"] else "  CORRUPT (run `aural models verify`)"
        where = "" if models is layouts[0] else f"  ({printable(models.root.relative_to(layouts[0].root))})"
        print(f"{mark} {row['ref'][:19]}  {(row['stored_at'] or '-')[:19]:19}  "
              f"{printable(row['lineage'] or '-')[:16]:16}  {row['data_hash'] or '-':16}  {loss:>8}{note}{where}")
    print("* published as adapter.pt of its data folder" if any(r["published"] for _, r in rows)
          else "(none of them is published)")
    return 0


def cmd_models_verify(args) -> int:
    from storage.models import model_store, verify_models

    status = 0
    for models in _models_layouts(args):
        problems = verify_models(models)
        for problem in problems:
            print(f"aural models verify: {printable(problem)}", file=sys.stderr)
        if problems:
            status = 2
            continue
        print(f"{printable(models.root)}: {len(model_store(models).refs())} stored version(s) intact; "
              + ("published adapter matches metadata.json" if models.adapter.is_file() else "nothing published"))
    return status


def cmd_models_promote(args) -> int:
    from storage.artifacts import ArtifactIntegrityError
    from storage.models import model_store, promote

    def holds(models) -> bool:
        try:
            return bool(model_store(models).expand(args.ref))
        except ArtifactIntegrityError:
            return False

    layouts = _models_layouts(args)
    holders = [models for models in layouts if holds(models)]
    if len(holders) > 1:
        raise ArtifactIntegrityError(f"ref={args.ref!r} names versions of {len(holders)} data folders: "
                                     "give more characters")
    models = holders[0] if holders else layouts[0]  # none: promote says so, naming the store
    ref = promote(models, args.ref)
    print(f"published {ref[:19]} as {printable(models.adapter)}")
    return 0


def cmd_models_gc(args) -> int:
    from storage.models import gc

    deleted = [ref for models in _models_layouts(args) for ref in gc(models, args.keep)]
    print(f"deleted {len(deleted)} version(s)" + "".join(f"\n  {ref[:19]}" for ref in deleted))
    return 0


def add_parser(sub) -> None:
    """``aural models ...`` under the CLI's sub-commands ``sub``."""
    commands = (("list", cmd_models_list, "stored versions, the published one marked"),
                ("verify", cmd_models_verify, "re-hash every stored version and check the published pair"),
                ("promote", cmd_models_promote, "publish a stored version as adapter.pt (rollback)"),
                ("gc", cmd_models_gc, "delete all but the N newest unpublished versions"))
    for name, m in command_group(sub, "models", "list, verify, promote (roll back) and prune stored adapter versions",
                                 commands):
        m.add_argument("--models", default=MODELS_DIR, help="models folder (default: %(default)s)")
        if name == "promote":
            m.add_argument("ref", help="version: sha256:<hex> or a unique hex prefix (see `aural models list`)")
        if name == "gc":
            m.add_argument("--keep", type=int, required=True, help="unpublished versions to keep (newest first)")
