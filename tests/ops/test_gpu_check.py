"""`make gpu-check`'s decisions: which checkpoints it finds without downloading, and what it tells
a user who has no GPU or no weights (the timing runs themselves are benchmarks/gpu_check.py's)."""

import importlib.util
from pathlib import Path

import pytest

from ..tiny_models import tiny_musicgen_path  # noqa: F401  (session fixture)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gpu_check(monkeypatch_module):
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")  # a lookup must never reach the network
        yield mp


def test_locate_finds_local_checkpoints_only(gpu_check, tiny_musicgen_path, tmp_path):  # noqa: F811
    assert gpu_check.locate(str(tiny_musicgen_path)) == str(Path(tiny_musicgen_path).resolve())
    assert gpu_check.locate(str(tmp_path)) is None                 # a folder without a checkpoint
    assert gpu_check.locate("nobody/no-such-musicgen") is None     # not in the local cache


def test_the_explanation_names_what_is_missing_and_how_to_provide_it(gpu_check):
    text = gpu_check.why_not(False, ["facebook/musicgen-small"])
    assert "sees no CUDA GPU" in text and "`hf download facebook/musicgen-small`" in text
    assert "HF_HOME" in text and "--musicgen DIR" in text and "tiny-cpu" in text
    assert "\n" not in text  # one paragraph
    assert "CUDA" not in gpu_check.why_not(True, ["laion/larger_clap_music"]).split("To take them")[0]
