"""The whole `aural run` on a small demo corpus, the eval report contract, the rendered baseline
and the tiny-MusicGen path, through a real Prefect server."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from aural_core.config import load_config
from aural_core.evaluation import baseline_controls, section_seed
from aural_core.render import SynthRenderer
from aural_core.styles import load_style_table
from cli.main import main
from demo_corpus import write_corpus
from flows.evaluate import evaluate_flow
from storage.layout import CacheLayout
from storage.manifest import read_manifest
from storage.report import read_eval_json

from ..tiny_models import tiny_musicgen_path  # noqa: F401  (session fixture)

pytestmark = pytest.mark.usefixtures("prefect_harness")
CONTRACT = ("match_score", "baseline_match_score", "match_delta", "tempo_corr", "targets", "passed",
            "n_sections", "embedder", "renderer", "sections")
SECTION_FIELDS = ("predicted", "reference_bpm", "rendered_bpm", "match", "baseline_match")


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    write_corpus(root / "data", n_inputs=5, n_eval=2, seed=3)
    (root / "data" / "inputs" / "broken.wav").write_bytes(b"RIFF not really audio")  # fails alone
    config = root / "aural.toml"
    config.write_text("[render]\nseconds = 4.0\n")
    code = main(["run", "--data", str(root / "data"), "--models", str(root / "models"),
                 "--reports", str(root / "reports"), "--config", str(config), "--quiet"])
    return root, config, code


def test_run_with_a_bad_file_ends_failed(ran):
    """The bad file fails alone; training and evaluation go on; the runs are not Completed."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.client.schemas.sorting import FlowRunSort

    root, _, code = ran
    assert code == 1
    with get_client(sync_client=True) as client:
        latest = {}
        for name in ("pipeline", "analyze", "train"):
            runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[name])),
                                         sort=FlowRunSort.START_TIME_DESC, limit=3)
            latest[name] = runs
    pipeline = latest["pipeline"][0]
    assert pipeline.state.is_failed() and "broken.wav" in pipeline.state.message
    assert any(r.state.is_failed() and "broken.wav" in (r.state.message or "") for r in latest["analyze"])
    assert latest["train"][0].state.is_completed()


def test_run_end_to_end(ran):
    root, _, code = ran
    assert code == 1  # broken.wav
    assert (root / "models" / "adapter.pt").is_file() and (root / "models" / "metadata.json").is_file()
    report = json.loads((root / "reports" / "eval.json").read_text())
    for key in CONTRACT:
        assert key in report, key
    assert read_eval_json(root / "reports" / "eval.json").model_dump(mode="json") == report  # the schema reads it
    assert report["embedder"] == "dsp" and report["renderer"] == "synth"
    assert report["n_sections"] == len(report["sections"]) >= 2
    assert report["match_delta"] == pytest.approx(report["match_score"] - report["baseline_match_score"], abs=1e-3)
    assert report["passed"] == (report["match_delta"] >= 0.1 and report["tempo_corr"] is not None
                                and report["tempo_corr"] >= 0.3)
    for section in report["sections"]:
        for key in SECTION_FIELDS:
            assert key in section, key
        for rel in section["audio"].values():
            assert (root / "reports" / rel).stat().st_size > 1000
    page = (root / "reports" / "index.html").read_text()
    players = re.findall(r'<audio controls preload="none" src="([^"]+)"', page)
    assert len(players) == 6 * report["n_sections"]  # source and the five renders
    assert all((root / "reports" / p).is_file() for p in players)
    assert (root / "reports" / "eval.md").read_text().startswith("# Aural Architect evaluation")
    # eval files were analysed into the same cache but never trained on
    meta = json.loads((root / "models" / "metadata.json").read_text())
    held_out = {f["file_id"] for f in read_manifest(CacheLayout(root / "data" / "cache"), "eval")["files"]}
    assert not held_out & set(meta["split"]["train_files"] + meta["split"]["val_files"])


def test_baseline_really_rendered_with_baseline_controls(ran):
    root, config, _ = ran
    cfg = load_config(config)
    report = json.loads((root / "reports" / "eval.json").read_text())
    base = baseline_controls(load_style_table(), config=cfg.eval)
    assert report["baseline_controls"] == base.to_dict()
    assert base.bpm == 90 and base.key == "C major" and set(base.stem_gains.values()) == {1.0}
    import soundfile as sf

    first = report["sections"][0]
    heard, sr = sf.read(root / "reports" / first["audio"]["baseline"])
    seed = section_seed(cfg.render.seed, first["file_id"], first["section"])
    rendered = SynthRenderer().render(base, seconds=4.0, seed=seed)
    expected = rendered.mix  # the renderer owns the stem balance and the level
    assert sr == rendered.sr and abs(len(heard) - len(expected)) <= 1
    n = min(len(heard), len(expected))
    assert np.corrcoef(heard[:n], expected[:n])[0, 1] > 0.99  # OGG is lossy: same signal, not same bits
    assert abs(first["baseline_rendered_bpm"] - 90) <= 2


def test_tiny_musicgen_eval_path(ran, tiny_musicgen_path):  # noqa: F811
    root, _, _ = ran
    config = root / "musicgen.toml"
    config.write_text(f'[render]\nrenderer = "musicgen"\nmusicgen_model = "{tiny_musicgen_path}"\nseconds = 1.0\n')
    result = evaluate_flow(input_dir=str(root / "data" / "eval"), adapter=str(root / "models" / "adapter.pt"),
                           report=str(root / "mg" / "eval.json"), cache_dir=str(root / "data" / "cache"),
                           config_path=str(config), show_progress=False)
    report = json.loads(Path(result["report"]).read_text())
    assert report["renderer"] == "musicgen" and report["n_sections"] >= 2
    assert all(np.isfinite(s["match"]) for s in report["sections"])


def test_rerun_from_scratch_is_identical(ran, tmp_path):
    """Same inputs, config and seeds in fresh folders -> the same adapter bytes and scores."""
    import hashlib
    import shutil

    root, config, _ = ran
    shutil.copytree(root / "data" / "inputs", tmp_path / "data" / "inputs")
    shutil.copytree(root / "data" / "eval", tmp_path / "data" / "eval")
    assert main(["run", "--data", str(tmp_path / "data"), "--models", str(tmp_path / "models"),
                 "--reports", str(tmp_path / "reports"), "--config", str(config), "--quiet"]) == 1  # broken.wav

    def sha(p):
        return hashlib.sha256(p.read_bytes()).hexdigest()

    assert sha(tmp_path / "models" / "adapter.pt") == sha(root / "models" / "adapter.pt")
    a, b = (json.loads((d / "reports" / "eval.json").read_text()) for d in (root, tmp_path))
    for key in ("match_score", "baseline_match_score", "tempo_corr", "bpm_mae"):
        assert a[key] == b[key], key


def test_the_run_artifacts_open_with_the_verdict_and_show_passed_ci(ran):
    """What the Prefect UI shows of the run: the pipeline summary and the evaluation's artifacts say
    whether the adapter helped in the report's own words, and show passed_ci beside passed."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from storage.report_verdict import verdict

    root = ran[0]
    report = read_eval_json(root / "reports" / "eval.json")
    line = verdict(report)
    keys = ["pipeline-summary", "eval-report", "eval-headline"]
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys)))
    newest = {key: max((a for a in found if a.key == key), key=lambda a: a.created) for key in keys}
    summary = newest["pipeline-summary"].data.splitlines()
    assert summary[2] == f"**{line}**"  # under the title
    header = summary.index("| MatchScore | baseline | delta | TempoCorr | BPM MAE | sections | passed | passed_ci |")
    assert summary[header + 2].endswith(f"| {report.passed} | {report.passed_ci} |")
    assert newest["eval-report"].data.splitlines()[2] == f"**{line}**"
    assert newest["eval-headline"].description == line
    table = newest["eval-headline"].data
    rows = json.loads(table) if isinstance(table, str) else table
    assert rows[0]["passed"] == report.passed and rows[0]["passed_ci"] == report.passed_ci
