"""Per-file feature extraction as a cached, retried Prefect task."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from prefect import task
from prefect.cache_policies import CacheKeyFnPolicy

from aural_core.config import FeatureConfig
from aural_core.errors import AudioError
from aural_core.features import analyze_file, extractor_fingerprint
from storage.frames import frames_table, write_frames
from storage.integrity import record_checksum
from storage.keys import frames_file, frames_key
from storage.layout import CacheLayout
from storage.manifest import ID_CHARS, display_name

from .common import RETRY_DELAYS, embedder_for, retry_transient, short_hash, submit_cached, tagger_for
from .results import AnalysedFile


def frames_metadata(config: FeatureConfig) -> dict[str, str]:
    """What a frames Parquet records about the analysis that made it."""
    return {"aural.feature_config_hash": config.config_hash(), "aural.embedder": config.embedder,
            "aural.tagger": config.tagger, "aural.extractor_version": extractor_fingerprint(),
            "aural.feature_config": config.model_dump_json()}


def frames_cache_key(context, parameters) -> str:
    """Key = the output file (named by file content, feature config and extractor version)."""
    out = frames_file(CacheLayout(Path(parameters["cache_dir"])), parameters["file_id"], parameters["config"])
    return "frames-" + short_hash(out.resolve())


def read_listed(path: str, file_id: str) -> bytes:
    """The bytes of ``path``, checked against the content id it was listed with.

    The id is the hash of the bytes that are decoded, never of an earlier read: a file replaced
    between listing and analysis fails instead of caching the new audio under the old id.
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise AudioError(display_name(path), "file not found (it may have been moved or deleted)") from exc
    if hashlib.sha256(data).hexdigest()[:ID_CHARS] != file_id:
        raise AudioError(display_name(path), "changed while being analysed; run again")
    return data


@task(
    name="extract-frames",
    task_run_name="analyze-{source}",
    cache_policy=CacheKeyFnPolicy(cache_key_fn=frames_cache_key),
    persist_result=True,
    retries=2,
    retry_delay_seconds=RETRY_DELAYS,
    retry_condition_fn=retry_transient,
)
def extract_frames(path: str, source: str, file_id: str, cache_dir: str, config: FeatureConfig) -> AnalysedFile:
    """Compute one file's frame features and write its frames Parquet (and its checksum)."""
    started = time.perf_counter()
    features = analyze_file(  # messages name the file as shown (see manifest.display_name)
        display_name(path), config=config, data=read_listed(path, file_id),
        embedder=embedder_for(config.embedder, config.clap_model),
        tagger=tagger_for(config.tagger, config.clap_model),
    )
    key = frames_key(file_id, config)
    out = write_frames(CacheLayout(Path(cache_dir)).frames(file_id, key),
                       frames_table(features, file_id=file_id, source=source,
                                    metadata={**frames_metadata(config), "aural.frames_key": key}))
    record_checksum(out)
    seconds = float(features.end_s[-1]) if len(features) else 0.0
    return AnalysedFile(file_id=file_id, source=source, frames=str(Path(out)), frames_key=key,
                        n_frames=len(features), seconds=seconds,
                        compute_seconds=round(time.perf_counter() - started, 3))


def submit_extract(*, path: str, source: str, file_id: str, cache: CacheLayout, config: FeatureConfig,
                   notes: list[str] | None = None):
    """Submit ``extract_frames`` (see ``submit_cached``)."""
    return submit_cached(extract_frames, output=frames_file(cache, file_id, config), cache=cache, notes=notes,
                         path=path, source=source, file_id=file_id, cache_dir=str(cache.root), config=config)
