"""Rendering, scoring and report tasks of the evaluation flow."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf
from prefect import task
from prefect.cache_policies import CacheKeyFnPolicy

from aural_core.agreement import (
    KEY_PROFILE,
    TEMPO_METHOD,
    estimate_attributes,
    key_agreement,
    tempo_agreement,
    timbre_similarity,
)
from aural_core.audio import load_audio
from aural_core.config import FeatureConfig, LabelConfig, RenderConfig
from aural_core.controls import Controls
from aural_core.features import analyze_signal
from aural_core.labels import bpm_label
from aural_core.render import build_renderer
from aural_core.similarity import cosine
from aural_core.styles import StyleTable, style_rows_hash
from storage.atomic import atomic_path
from storage.integrity import record_checksum
from storage.layout import CacheLayout
from storage.reports import write_reports

from .common import RETRY_DELAYS, embedder_for, retry_transient, short_hash, submit_cached, tagger_for
from .results import ReportFiles

RENDER_VERSION = "4"  # 2: the renderer owns stem gains and level; 3: per-item lengths; 4: synth thirds
# Bump when the independent estimator or its settings change (cached estimates and scores).
ESTIMATOR_VERSION = f"essentia-{TEMPO_METHOD}-{KEY_PROFILE}-1"
ANALYSIS_SR = FeatureConfig().sample_rate


@lru_cache(maxsize=2)
def renderer_for(config: RenderConfig, styles: StyleTable):
    """One renderer per process, configuration and style table (MusicGen weights load once)."""
    sampling = {"guidance_scale": config.guidance_scale, "do_sample": config.do_sample,
                "temperature": config.temperature, "styles": styles}
    if config.renderer == "musicgen":
        return build_renderer("musicgen", model=config.musicgen_model, probe_mix=config.probe_mix, **sampling)
    if config.renderer == "musicgen-melody":
        return build_renderer("musicgen-melody", model=config.musicgen_melody_model, **sampling)
    return build_renderer(config.renderer, styles=styles)


def render_key(items: list[dict], config: RenderConfig, styles: StyleTable) -> str:
    """Key = (every item's controls, seed, length, probed vector and source excerpt, renderer
    settings (probe and mix included), every style row (per-style sampling included), version).

    A source excerpt counts by content (file id, start, length), not by the path it is read from.
    """
    items = [{**it, "reference": {k: v for k, v in it["reference"].items() if k != "path"}}
             if it.get("reference") else it for it in items]
    blob = json.dumps([items, config.model_dump(), style_rows_hash(styles), RENDER_VERSION], sort_keys=True)
    return short_hash(blob)


def render_paths(out_dir: Path, items: list[dict], config: RenderConfig, styles: StyleTable) -> list[Path]:
    key = render_key(items, config, styles)
    return [Path(out_dir) / f"{key}-{i}.flac" for i in range(len(items))]


def _render_cache_key(context, p) -> str:
    return "render-" + render_key(p["items"], p["config"], p["styles"]) + short_hash(Path(p["out_dir"]).resolve())


@task(name="render", task_run_name="render-{label}",
      cache_policy=CacheKeyFnPolicy(cache_key_fn=_render_cache_key), persist_result=True,
      retries=2, retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=retry_transient)
def render_items(items: list[dict], config: RenderConfig, styles: StyleTable, out_dir: str, label: str) -> list[str]:
    """Render a batch of {"controls", "seed", "seconds"} items and write FLAC files.

    An item may also carry ``"probe"`` (a probed text-space vector) and ``"reference"`` (its
    source excerpt: ``{"path", "file_id", "start_s", "seconds"}``); each reaches only a renderer
    that declares it uses it (``uses_probe``, ``uses_reference_audio``).

    The renderer applies each item's stem gains and levels the mix for its style's dynamics;
    items of one length are rendered in one ``render_batch`` call (MusicGen batches prompts,
    one ``generate`` call per sampling setting).
    """
    renderer = renderer_for(config, styles)
    paths = render_paths(out_dir, items, config, styles)
    by_length: dict[float, list[int]] = {}
    for i, it in enumerate(items):
        by_length.setdefault(float(it["seconds"]), []).append(i)
    for seconds, idx in by_length.items():
        extra = {}
        if getattr(renderer, "uses_probe", False) and any(items[i].get("probe") for i in idx):
            extra["probe"] = [np.asarray(items[i]["probe"], dtype=np.float32) if items[i].get("probe") else None
                              for i in idx]
        if getattr(renderer, "uses_reference_audio", False) and any(items[i].get("reference") for i in idx):
            extra["reference_audio"] = [_excerpt(items[i]["reference"], renderer.reference_sr)
                                        if items[i].get("reference") else None for i in idx]
        rendered = renderer.render_batch([Controls(**items[i]["controls"]) for i in idx], seconds=seconds,
                                         seeds=[items[i]["seed"] for i in idx], **extra)
        for i, r in zip(idx, rendered):
            with atomic_path(paths[i]) as tmp:
                sf.write(tmp, r.mix, r.sr, format="FLAC", subtype="PCM_16")
            record_checksum(paths[i])
    return [str(p) for p in paths]


def _excerpt(reference: dict, sr: int) -> np.ndarray:
    """The source excerpt ``reference`` names, mono at ``sr``."""
    y = load_audio(reference["path"], sr=sr)
    start = int(round(float(reference["start_s"]) * sr))
    return y[start: start + int(round(float(reference["seconds"]) * sr))]


def render_all(items: list[dict], config: RenderConfig, styles: StyleTable, cache: CacheLayout,
               tag: str) -> list[str]:
    """Render items in cached batches of ``render.batch_size``; paths in the items' order."""
    futures = []
    size = max(1, config.batch_size)
    for start in range(0, len(items), size):
        batch = items[start:start + size]
        outputs = render_paths(cache.renders, batch, config, styles)
        futures.append(submit_cached(render_items, output=outputs, cache=cache, items=batch, config=config,
                                     styles=styles, out_dir=str(cache.renders), label=f"{tag}-{start // size}"))
    return [p for fut in futures for p in fut.result()]


def _estimate_cache_key(context, p) -> str:
    return "estimate-" + short_hash(p["file_id"], p["start_s"], p["seconds"], ESTIMATOR_VERSION)


@task(name="estimate-source", task_run_name="estimate-{label}",
      cache_policy=CacheKeyFnPolicy(cache_key_fn=_estimate_cache_key), persist_result=True)
def estimate_source(path: str, file_id: str, start_s: float, seconds: float, label: str) -> dict:
    """Tempo, key and timbre of a source excerpt, read by the independent estimator."""
    y = load_audio(path, sr=ANALYSIS_SR)
    excerpt = y[int(start_s * ANALYSIS_SR): int((start_s + seconds) * ANALYSIS_SR)]
    return _estimate_dict(estimate_attributes(excerpt, sr=ANALYSIS_SR))


def _estimate_dict(est) -> dict:
    return {"bpm": _finite(est.bpm), "key": est.key, "key_strength": _finite(est.key_strength),
            "timbre": [float(v) for v in est.timbre]}


def _finite(x) -> float | None:
    return float(x) if x is not None and np.isfinite(x) else None


def _score_cache_key(context, p) -> str:
    """Key = (render file content, the source's embedding and estimate, settings, versions)."""
    from aural_core.features import extractor_fingerprint
    from storage.artifacts import sha256_file

    return "score-" + short_hash(sha256_file(p["path"]), json.dumps(p["source_embedding"]),
                                 json.dumps(p["source_estimate"], sort_keys=True), p["features"].config_hash(),
                                 p["labels"].config_hash(), extractor_fingerprint(), ESTIMATOR_VERSION)


@task(name="score-render", task_run_name="score-{label}",
      cache_policy=CacheKeyFnPolicy(cache_key_fn=_score_cache_key), persist_result=True)
def score_render(path: str, source_embedding: list[float], source_estimate: dict, features: FeatureConfig,
                 labels: LabelConfig, label: str) -> dict:
    """One render against its source section: the embedding match and the tempo our beat
    tracker reads (the seed's scores), and tempo / key / timbre agreement read independently."""
    y = load_audio(path, sr=features.sample_rate)
    f = analyze_signal(y, sr=features.sample_rate, config=features,
                       embedder=embedder_for(features.embedder, features.clap_model),
                       tagger=tagger_for(features.tagger, features.clap_model), label_columns=False)
    heard = estimate_attributes(y, sr=features.sample_rate)
    tempo = tempo_agreement(source_estimate["bpm"], heard.bpm)
    return {"path": path, "match": cosine(f.clap.astype(np.float64).mean(axis=0), source_embedding),
            "bpm": bpm_label(f.tempo_bpm, f.beat_strength, config=labels),
            "independent": {"bpm": _finite(heard.bpm), "key": heard.key},
            "tempo_acc1": float(tempo["acc1"]), "tempo_acc2": float(tempo["acc2"]),
            "tempo_log2_error": _finite(tempo["log2_error"]),
            "key_weighted": key_agreement(source_estimate["key"], heard.key),
            "timbre": _finite(timbre_similarity(np.asarray(source_estimate["timbre"]), heard.timbre))}


def estimate_sources(jobs: list[dict], cache: CacheLayout) -> list[dict]:
    """Independent estimates of source excerpts ({"path", "file_id", "start_s", "seconds", "label"})."""
    task_ = estimate_source.with_options(result_storage=cache.prefect_results)
    return [f.result() for f in [task_.submit(**job) for job in jobs]]


def score_all(jobs: list[tuple[str, list[float], dict, str]], features: FeatureConfig, labels: LabelConfig,
              cache: CacheLayout) -> list[dict]:
    """Score (render path, source embedding, source estimate, label) jobs, in order."""
    scorer = score_render.with_options(result_storage=cache.prefect_results)
    futures = [scorer.submit(path, emb, est, features, labels, label=label) for path, emb, est, label in jobs]
    return [f.result() for f in futures]


@task(name="write-report")
def write_report(report: str, **contents) -> ReportFiles:
    """eval.json, eval.md, index.html and the audio they play (see ``storage.reports``)."""
    return ReportFiles.of(write_reports(report, **contents))
