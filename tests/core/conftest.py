"""Fixtures of the core tests, found by name: tiny CLAP, MusicGen and MusicGen-Melody checkpoints built on first use."""

from tests.tiny_models import tiny_clap_path, tiny_musicgen_melody_path, tiny_musicgen_path  # noqa: F401
