"""The whole pipeline on one command: demo corpus (when needed) -> analyze -> train -> evaluate."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from aural_core.audio import AUDIO_EXTENSIONS

from .analyze import analyze_flow
from .demo import demo_flow
from .evaluate import evaluate_flow
from .train import train_flow


def _has_audio(folder: Path) -> bool:
    return folder.is_dir() and any(p.suffix.lower() in AUDIO_EXTENSIONS for p in folder.rglob("*"))


@flow(name="pipeline")
def pipeline_flow(data_dir: str = "data", models_dir: str = "models", reports_dir: str = "reports",
                  config_path: str | None = None, show_progress: bool = True) -> dict:
    """Run every stage on ``data_dir`` (writes the demo corpus first if it holds no inputs)."""
    data = Path(data_dir)
    result: dict = {}
    if not _has_audio(data / "inputs"):
        result["demo"] = demo_flow(out_dir=str(data))
    result["analyze"] = analyze_flow(input_dir=str(data / "inputs"), cache_dir=str(data / "cache"),
                                     config_path=config_path, show_progress=show_progress)
    result["train"] = train_flow(cache_dir=str(data / "cache"), out_path=str(Path(models_dir) / "adapter.pt"),
                                 config_path=config_path, show_progress=show_progress)
    result["eval"] = evaluate_flow(input_dir=str(data / "eval"), adapter=result["train"]["adapter"],
                                   report=str(Path(reports_dir) / "eval.json"), cache_dir=str(data / "cache"),
                                   config_path=config_path, show_progress=show_progress)
    return result
