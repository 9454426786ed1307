"""Rendering, scoring and report tasks of the evaluation flow."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf
from prefect import task
from prefect.cache_policies import CacheKeyFnPolicy

from aural_core.audio import load_audio
from aural_core.config import FeatureConfig, LabelConfig, RenderConfig
from aural_core.controls import Controls
from aural_core.features import analyze_signal
from aural_core.labels import bpm_label
from aural_core.render import build_renderer
from aural_core.styles import StyleTable, style_table_hash
from storage.atomic import atomic_path
from storage.layout import CacheLayout
from storage.reports import write_reports

from .common import RETRY_DELAYS, embedder_for, retry_transient, short_hash, submit_cached, tagger_for

RENDER_VERSION = "2"  # 2: the renderer owns stem gains and the style-dependent level


@lru_cache(maxsize=2)
def renderer_for(config: RenderConfig, styles: StyleTable):
    """One renderer per process, configuration and style table (MusicGen weights load once)."""
    if config.renderer == "musicgen":
        return build_renderer("musicgen", model=config.musicgen_model, guidance_scale=config.guidance_scale,
                              do_sample=config.do_sample, temperature=config.temperature, styles=styles)
    return build_renderer(config.renderer, styles=styles)


def render_key(items: list[dict], config: RenderConfig, styles: StyleTable, seconds: float) -> str:
    """Key = (every item's controls and seed, renderer settings, style table, length, version)."""
    blob = json.dumps([items, config.model_dump(), style_table_hash(styles), seconds, RENDER_VERSION],
                      sort_keys=True)
    return short_hash(blob)


def render_paths(out_dir: Path, items: list[dict], config: RenderConfig, styles: StyleTable,
                 seconds: float) -> list[Path]:
    key = render_key(items, config, styles, seconds)
    return [Path(out_dir) / f"{key}-{i}.flac" for i in range(len(items))]


def _render_cache_key(context, p) -> str:
    return "render-" + render_key(p["items"], p["config"], p["styles"], p["seconds"]) + short_hash(
        Path(p["out_dir"]).resolve())


@task(name="render", task_run_name="render-{label}",
      cache_policy=CacheKeyFnPolicy(cache_key_fn=_render_cache_key), persist_result=True,
      retries=2, retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=retry_transient)
def render_items(items: list[dict], config: RenderConfig, styles: StyleTable, seconds: float, out_dir: str,
                 label: str) -> list[str]:
    """Render a batch of {"controls", "seed"} items and write FLAC files.

    The renderer applies each item's stem gains and levels the mix for its style's dynamics.
    """
    renderer = renderer_for(config, styles)
    controls = [Controls(**it["controls"]) for it in items]
    rendered = renderer.render_batch(controls, seconds=seconds, seeds=[it["seed"] for it in items])
    paths = render_paths(out_dir, items, config, styles, seconds)
    for r, path in zip(rendered, paths):
        with atomic_path(path) as tmp:
            sf.write(tmp, r.mix, r.sr, format="FLAC", subtype="PCM_16")
    return [str(p) for p in paths]


def render_all(items: list[dict], config: RenderConfig, styles: StyleTable, seconds: float,
               cache: CacheLayout, tag: str) -> list[str]:
    """Render items in cached batches of ``render.batch_size`` (MusicGen batches its prompts)."""
    futures = []
    size = max(1, config.batch_size)
    for start in range(0, len(items), size):
        batch = items[start:start + size]
        last = render_paths(cache.renders, batch, config, styles, seconds)[-1]
        futures.append(submit_cached(render_items, output=last, cache=cache, items=batch, config=config,
                                     styles=styles, seconds=seconds, out_dir=str(cache.renders),
                                     label=f"{tag}-{start // size}"))
    return [p for fut in futures for p in fut.result()]


def _score_cache_key(context, p) -> str:
    """Key = (render file content, source embedding, feature + label config, extractor)."""
    from aural_core.features import extractor_fingerprint
    from storage.artifacts import sha256_file

    return "score-" + short_hash(sha256_file(p["path"]), json.dumps(p["source_embedding"]),
                                 p["features"].config_hash(), p["labels"].config_hash(), extractor_fingerprint())


@task(name="score-render", task_run_name="score-{label}",
      cache_policy=CacheKeyFnPolicy(cache_key_fn=_score_cache_key), persist_result=True)
def score_render(path: str, source_embedding: list[float], features: FeatureConfig, labels: LabelConfig,
                 label: str) -> dict:
    """Embedding match with the source section and the tempo the beat tracker reads."""
    y = load_audio(path, sr=features.sample_rate)
    f = analyze_signal(y, sr=features.sample_rate, config=features,
                       embedder=embedder_for(features.embedder, features.clap_model),
                       tagger=tagger_for(features.tagger, features.clap_model))
    emb = f.clap.astype(np.float64).mean(axis=0)
    src = np.asarray(source_embedding, dtype=np.float64)
    match = float(emb @ src / (np.linalg.norm(emb) * np.linalg.norm(src) + 1e-12))
    return {"path": path, "match": match, "bpm": bpm_label(f.tempo_bpm, f.beat_strength, labels)}


def score_all(jobs: list[tuple[str, list[float], str]], features: FeatureConfig, labels: LabelConfig,
              cache: CacheLayout) -> list[dict]:
    """Score (render path, source embedding, label) jobs, in order; results beside the data."""
    scorer = score_render.with_options(result_storage=cache.prefect_results)
    futures = [scorer.submit(path, source, features, labels, label=label) for path, source, label in jobs]
    return [f.result() for f in futures]


@task(name="write-report")
def write_report(report: str, **contents) -> dict:
    """eval.json, eval.md, index.html and the audio they play (see ``storage.reports``)."""
    return write_reports(report, **contents)
