"""Fixtures of the core tests, found by name: tiny CLAP and MusicGen checkpoints built on first use."""

from tests.tiny_models import tiny_clap_path, tiny_musicgen_path  # noqa: F401
