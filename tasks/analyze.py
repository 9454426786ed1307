"""Per-file feature extraction as a cached, retried Prefect task."""

from __future__ import annotations

import time
from pathlib import Path

from prefect import task
from prefect.cache_policies import CacheKeyFnPolicy

from aural_core.config import FeatureConfig
from aural_core.features import analyze_file, extractor_fingerprint
from storage.frames import frames_table, write_frames
from storage.layout import CacheLayout

from .common import RETRY_DELAYS, embedder_for, retry_transient, short_hash, submit_cached, tagger_for


def frames_metadata(config: FeatureConfig) -> dict[str, str]:
    """What a frames Parquet records about the analysis that made it."""
    return {"aural.feature_config_hash": config.config_hash(), "aural.embedder": config.embedder,
            "aural.tagger": config.tagger, "aural.extractor_version": extractor_fingerprint(),
            "aural.feature_config": config.model_dump_json()}


def frames_cache_key(context, parameters) -> str:
    """Key = (file content, feature config, extractor version, output location)."""
    out = CacheLayout(Path(parameters["cache_dir"])).frames(parameters["file_id"])
    config: FeatureConfig = parameters["config"]
    return "frames-" + short_hash(parameters["file_id"], config.config_hash(),
                                  extractor_fingerprint(), out.resolve())


@task(
    name="extract-frames",
    task_run_name="analyze-{source}",
    cache_policy=CacheKeyFnPolicy(cache_key_fn=frames_cache_key),
    persist_result=True,
    retries=2,
    retry_delay_seconds=RETRY_DELAYS,
    retry_condition_fn=retry_transient,
)
def extract_frames(path: str, source: str, file_id: str, cache_dir: str, config: FeatureConfig) -> dict:
    """Compute one file's frame features and write its frames Parquet."""
    started = time.perf_counter()
    features = analyze_file(
        path, config=config,
        embedder=embedder_for(config.embedder, config.clap_model),
        tagger=tagger_for(config.tagger, config.clap_model),
    )
    out = write_frames(CacheLayout(Path(cache_dir)).frames(file_id),
                       frames_table(features, file_id=file_id, source=source, metadata=frames_metadata(config)))
    seconds = float(features.end_s[-1]) if len(features) else 0.0
    return {"file_id": file_id, "source": source, "frames": str(Path(out)),
            "n_frames": len(features), "seconds": seconds,
            "compute_seconds": round(time.perf_counter() - started, 3)}


def submit_extract(*, path: str, source: str, file_id: str, cache: CacheLayout, config: FeatureConfig):
    """Submit ``extract_frames`` (see ``submit_cached``)."""
    return submit_cached(extract_frames, output=cache.frames(file_id), cache=cache,
                         path=path, source=source, file_id=file_id, cache_dir=str(cache.root), config=config)
