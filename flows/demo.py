"""The ``demo`` flow: write the deterministic demo corpus with its ground truth."""

from __future__ import annotations

from prefect import flow, get_run_logger

from demo_corpus import write_corpus
from storage.layout import DATA_DIR


@flow(name="demo-corpus")
def demo_flow(out_dir: str = DATA_DIR, n_inputs: int = 24, n_eval: int = 6, seed: int = 0) -> dict:
    """Generate ``n_inputs`` training clips and ``n_eval`` held-out clips under ``out_dir``."""
    write_corpus(out_dir, n_inputs=n_inputs, n_eval=n_eval, seed=seed)
    get_run_logger().info("demo corpus written to %s", out_dir)
    return {"out_dir": out_dir, "n_inputs": n_inputs, "n_eval": n_eval, "seed": seed}
