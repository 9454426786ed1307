"""The linear probe's task: fit it beside the adapter during training (``[render] probe = true``)."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task

from aural_core.config import AuralConfig, RenderConfig
from aural_core.embedders import EMBED_DIM
from aural_core.errors import ModelNotFoundError
from aural_core.probe import ALPHAS, fit_section_probe
from aural_core.styles import StyleTable, style_table_hash
from storage.layout import ModelsLayout
from storage.probe_store import PROBE_FORMAT, probe_name, store_probe
from storage.sections import read_npz

from .evaluate import renderer_for
from .results import FittedProbe


def text_encoder_for(render: RenderConfig, styles: StyleTable):
    """The MusicGen renderer of ``render.musicgen_model`` (its text encoder makes the probe's
    targets), shared with the evaluation's renderer when that is the same MusicGen."""
    return renderer_for(render.model_copy(update={"renderer": "musicgen"}), styles)


def probe_lookup(config: AuralConfig, styles: StyleTable, data_hash: str) -> str:
    """The store name of the probe for a training set under these settings."""
    return probe_name(data_hash=data_hash, text_model=config.render.musicgen_model,
                      styles_hash=style_table_hash(styles))


@task(name="fit-probe")
def fit_probe_task(npz: str, val_files: list[str], config: AuralConfig, styles: StyleTable, models_root: str,
                   data_hash: str) -> FittedProbe | None:
    """Fit the embedding -> MusicGen text-space probe on the adapter's training sections (alpha
    and R² on its validation files) and store it in ``models/probes``; None when skipped.

    Its targets are text-encoder outputs of ``render.musicgen_model``: without that checkpoint
    on this machine the probe is skipped with a warning, unless the renderer is ``musicgen``,
    whose renders would need it (then the missing checkpoint is the error).
    """
    logger = get_run_logger()
    try:
        encoder = text_encoder_for(config.render, styles)
    except ModelNotFoundError as exc:
        if config.render.renderer == "musicgen":
            raise
        logger.warning("probe not fitted: its targets are the text encoder's outputs of render.musicgen_model "
                       "and that checkpoint is not here (%s)", exc)
        return None
    style_targets = encoder.encode_prompts([s.prompt for s in styles.styles])
    arrays = read_npz(npz)
    fit = fit_section_probe(arrays, style_targets, val_files=val_files, embed_dim=EMBED_DIM)
    name = probe_lookup(config, styles, data_hash)
    metadata = {"format": PROBE_FORMAT, "data_hash": data_hash, "text_model": config.render.musicgen_model,
                "text_dim": int(style_targets.shape[1]), "styles_hash": style_table_hash(styles),
                "input": f"X[:, :{EMBED_DIM}] (the section's mean {config.features.embedder} embedding)",
                "embedder": config.features.embedder, "features_hash": config.features.config_hash(),
                "alphas": list(ALPHAS), "val_files": sorted(val_files), **fit.summary()}
    ref = store_probe(ModelsLayout(Path(models_root)), fit.probe, style_targets=style_targets, metadata=metadata,
                      name=name)
    logger.info("probe %s: alpha %g, R² %.3f on %d validation sections (%.3f on %d fitting sections)",
                ref[:19], fit.alpha, fit.r2_validation if fit.r2_validation is not None else float("nan"),
                fit.n_validation, fit.r2_train if fit.r2_train is not None else float("nan"), fit.n_fit)
    return FittedProbe(ref=ref, name=name, summary=fit.summary())
