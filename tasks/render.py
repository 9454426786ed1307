"""Whole-piece render tasks: the plan of a piece, the `gpu` concurrency slot, and the cached
assembly of a piece from its section renders."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import soundfile as sf
from prefect import task
from prefect.cache_policies import CacheKeyFnPolicy

from aural_core.config import AuralConfig
from aural_core.controls import Controls
from aural_core.errors import ParameterError
from aural_core.evaluation import section_seed
from aural_core.render.whole import assemble, cue_sheet, cue_text, render_seconds, section_bars
from storage.artifacts import sha256_file
from storage.integrity import recorded_checksum
from storage.pieces import write_piece

from .common import short_hash
from .results import PieceFiles

GPU_LIMIT = "gpu"
PIECE_VERSION = "2"  # bump when the assembly changes its output


def piece_plan(rows: Sequence[Mapping], controls: Sequence[Controls], config: AuralConfig) -> dict:
    """What to render for one input (its sections' rows, in time order, and their predicted
    controls): one reference tempo, the median of the sections' (so every section renders at
    it), each section's length in bars at that tempo, and its render length and seed."""
    bpm = round(statistics.median(c.bpm for c in controls), 1)
    bars = section_bars([(r["start_s"], r["end_s"]) for r in rows], bpm=bpm)
    sections = []
    for row, c, n in zip(rows, controls, bars):
        sections.append({"name": row["section"], "controls": dataclasses.replace(c, bpm=bpm).to_dict(),
                         "source_start_s": round(row["start_s"], 3), "source_end_s": round(row["end_s"], 3),
                         "seed": section_seed(config.render.seed, row["file_id"], row["section"]),
                         "seconds": render_seconds(n, bpm=bpm, longest=config.render.seconds)})
    renderer = {"name": config.render.renderer}
    if config.render.renderer == "musicgen":
        renderer["model"] = config.render.musicgen_model
    return {"title": rows[0]["source"], "file_id": rows[0]["file_id"], "renderer": renderer, "bpm": bpm,
            "bars": bars, "sections": sections}


def plan_items(plan: dict) -> list[dict]:
    """The render task's items of a plan: controls, seed and seconds per section."""
    return [{"controls": s["controls"], "seed": s["seed"], "seconds": s["seconds"]} for s in plan["sections"]]


def ensure_gpu_limit(slots: int = 1) -> bool:
    """Create the global concurrency limit ``gpu`` (``slots`` slots) when it does not exist;
    True when this call created it. An existing limit is left as it is: its size is the
    operator's (``prefect gcl update gpu --limit 2`` for two GPUs).

    Prefect 3.8 does not create limits on use: ``concurrency("gpu")`` on a missing limit logs
    "do not exist - skipping acquisition" and runs unlimited.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(GPU_LIMIT)
            return False
        except ObjectNotFound:
            pass
        try:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=GPU_LIMIT, limit=slots))
        except ObjectAlreadyExists:  # another run created it first
            return False
    return True


@contextlib.contextmanager
def gpu_slot():
    """Hold one slot of the ``gpu`` limit (created when missing) while the body runs; strict, so
    a limit deleted in between fails loudly instead of letting GPU work run unlimited."""
    from prefect.concurrency.sync import concurrency

    ensure_gpu_limit()
    with concurrency(GPU_LIMIT, occupy=1, strict=True):
        yield


def _piece_cache_key(context, p) -> str:
    """Key = (the renders' content, the plan, the assembly version, where the piece goes)."""
    renders = [recorded_checksum(r) or sha256_file(r) for r in p["renders"]]
    return "piece-" + short_hash(json.dumps(p["plan"], sort_keys=True), renders, PIECE_VERSION,
                                 Path(p["paths"]["wav"]).resolve())


@task(name="assemble-piece", task_run_name="piece-{label}",
      cache_policy=CacheKeyFnPolicy(cache_key_fn=_piece_cache_key), persist_result=True)
def assemble_piece(renders: list[str], plan: dict, paths: dict[str, str], label: str) -> PieceFiles:
    """Align the section renders of one piece on its bar grid, cross-fade them at the bar lines
    and write the WAV with its cue sheet (JSON and .cue)."""
    audio, rates = [], set()
    for path in renders:
        y, sr = sf.read(path, dtype="float32", always_2d=True)
        audio.append(y.mean(axis=1))
        rates.add(sr)
    if len(rates) != 1:
        raise ParameterError(f"{label}: section renders have different sample rates {sorted(rates)}")
    piece = assemble(audio, plan["bars"], sr=rates.pop(), bpm=plan["bpm"])
    sheet = cue_sheet(piece, title=plan["title"], audio=Path(paths["wav"]).name,
                      sections=[{k: v for k, v in s.items() if k != "seconds"} for s in plan["sections"]],
                      extra={"renderer": plan["renderer"]})
    written = write_piece({k: Path(v) for k, v in paths.items()}, piece.audio, piece.sr, sheet, cue_text(sheet))
    stretched = [s["name"] for s, p in zip(plan["sections"], piece.sections) if p.alignment.stretch != 1.0]
    return PieceFiles(**written, bpm=plan["bpm"], bars=piece.total_bars, n_sections=len(piece.sections),
                      seconds=round(len(piece.audio) / piece.sr, 2), stretched=stretched,
                      peak=float(np.max(np.abs(piece.audio), initial=0.0)))
