"""Cache keys: what every cached output is named by (the one rule; ``layout`` turns them into paths).

A key is the first 12 hex chars of the SHA-256 of everything the output's content depends on:

- frames ``<file_id>-<frames key>``: the input's content id, the feature config hash, the
  extractor fingerprint (``EXTRACTOR_VERSION`` + the tables the features follow) and the
  frames schema version;
- sections ``<file_id>-<sections key>``: the frames key (so everything above), the label and
  section config hashes, the style table's hash, the labelling and sections schema versions
  and the file's strong labels (a tag or ``labels.csv`` row changed: labelled again);
- renders: ``tasks.evaluate.render_key`` (controls, seeds, lengths, renderer settings, style
  table, renderer version).

A reader never guesses: it recomputes the key from the config it runs with (``frames_file``,
``sections_file``), so a run with another config neither overwrites nor reads these files.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from aural_core.config import FeatureConfig, LabelConfig, SectionConfig
from aural_core.features import extractor_fingerprint
from aural_core.sections import LABELS_VERSION
from aural_core.styles import StyleTable, style_table_hash

from .frames import FRAMES_SCHEMA_VERSION
from .layout import CacheLayout
from .sections import SECTIONS_SCHEMA_VERSION

KEY_CHARS = 12


def _key(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:KEY_CHARS]


def frames_key(file_id: str, features: FeatureConfig) -> str:
    """Key of one input's frames under ``features``."""
    return _key("frames", file_id, features.config_hash(), extractor_fingerprint(), FRAMES_SCHEMA_VERSION)


def sections_key(frames: str, labels: LabelConfig, sections: SectionConfig, styles: StyleTable,
                 strong: str = "") -> str:
    """Key of one input's sections, computed from the frames of key ``frames``; ``strong`` is
    the fingerprint of the file's strong labels (``StrongLabels.fingerprint``, "" for none)."""
    return _key("sections", frames, labels.config_hash(), sections.config_hash(), style_table_hash(styles),
                LABELS_VERSION, SECTIONS_SCHEMA_VERSION, strong)


def frames_file(cache: CacheLayout, file_id: str, features: FeatureConfig) -> Path:
    """Path of the frames of ``file_id`` computed with ``features``."""
    return cache.frames(file_id, frames_key(file_id, features))


def sections_file(cache: CacheLayout, file_id: str, features: FeatureConfig, labels: LabelConfig,
                  sections: SectionConfig, styles: StyleTable, strong: str = "") -> Path:
    """Path of the sections of ``file_id`` under these settings and strong labels."""
    return cache.sections(file_id, sections_key(frames_key(file_id, features), labels, sections, styles, strong))


def augmented_sections_file(cache: CacheLayout, sections: str | Path, transform: str) -> Path:
    """Path of the sections of the copy ``transform`` of a file, made from its sections file
    ``sections`` (``<file_id>-<sections key>.parquet``): named by the same key, so settings or
    strong labels that change the original's sections name a new copy too."""
    file_id, key = Path(sections).stem.split("-", 1)
    return cache.augmented_sections(file_id, transform, key)
