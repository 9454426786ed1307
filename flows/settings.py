"""Settings of a flow run: the config, loaded once at the top and passed down as typed objects."""

from __future__ import annotations

from aural_core.config import AuralConfig, load_config
from aural_core.errors import ParameterError
from aural_core.styles import StyleTable, load_style_table


def resolve_settings(config: AuralConfig | None, config_path: str | None) -> tuple[AuralConfig, StyleTable]:
    """The run's config (given as an object by a parent flow, or read from ``config_path``) and
    the style table it names, which travels with it to labels, renderer and reports."""
    if config is not None and config_path:
        raise ParameterError(f"give a config or config_path={config_path!r}, not both")
    config = config if config is not None else load_config(config_path)
    return config, load_style_table(config.labels.styles_path)
