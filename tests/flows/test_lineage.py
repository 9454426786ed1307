"""One model lineage per data folder: `aural run` on a second folder trains, publishes and reports
for that folder, never scores or overwrites the first one's adapter or report, and every report
names the adapter it scored (through a real Prefect server)."""

import hashlib
import json

import pytest

from cli.main import main
from demo_corpus import write_corpus
from storage.lineage import LINEAGES, Lineage
from storage.report import read_eval_json

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(*args: str) -> int:
    return main(["run", *args, "--quiet"])


@pytest.fixture(scope="module")
def two_folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("lineage")
    write_corpus(root / "first", n_inputs=4, n_eval=2, seed=5)
    write_corpus(root / "second", n_inputs=4, n_eval=2, seed=6)
    config = root / "aural.toml"
    config.write_text("[render]\nseconds = 3.0\n")
    assert _run("--data", str(root / "first"), "--config", str(config)) == 0
    return root, config


def test_models_and_reports_follow_the_data_folder(two_folders):
    root, _ = two_folders
    first = root / "first"
    report = read_eval_json(first / "reports" / "eval.json")
    assert (first / "models" / "adapter.pt").is_file()
    assert report.adapter.lineage == "first" and report.adapter.trained_on == str(first / "inputs")
    assert report.adapter.publication == "published by this run"
    meta = json.loads((first / "models" / "metadata.json").read_text())
    assert report.adapter.ref == meta["artifact"] and meta["lineage"]["folder"] == str(first / "inputs")
    assert report.adapter.n_train_files == len(meta["split"]["train_files"])
    paragraphs = (first / "reports" / "eval.md").read_text().split("\n\n")
    scored = next(p for p in paragraphs if p.startswith("Adapter scored"))
    assert "first" in scored  # the line naming it


def test_a_shared_models_folder_keeps_one_published_adapter_per_data_folder(two_folders, capsys):
    """The second folder's adapter is not compared with, nor replaces, the first one's; the
    first folder's adapter and report stay byte for byte; a worse retrain of the second folder
    keeps its earlier adapter, and its report says so."""
    root, config = two_folders
    first, second = root / "first", root / "second"
    shared = first / "models"
    before = {p: _sha(p) for p in (shared / "adapter.pt", shared / "metadata.json", first / "reports" / "eval.json")}

    assert _run("--data", str(second), "--models", str(shared), "--config", str(config)) == 0
    assert {p: _sha(p) for p in before} == before
    nested = shared / LINEAGES / Lineage.of_folder(second / "inputs").slug
    report = read_eval_json(second / "reports" / "eval.json")  # reports still follow --data
    assert (second / "reports" / report.adapter.file).resolve() == (nested / "adapter.pt").resolve()
    assert report.adapter.lineage == "second" and report.adapter.publication == "published by this run"
    assert report.adapter.reason == "first adapter for this data folder"

    capsys.readouterr()
    assert main(["models", "list", "--models", str(shared)]) == 0
    published = [line for line in capsys.readouterr().out.splitlines() if line.startswith("* sha256:")]
    assert len(published) == 2
    assert any(" first " in line and LINEAGES not in line for line in published)
    assert any(" second " in line and nested.name in line for line in published)

    barely = root / "barely.toml"
    barely.write_text("[render]\nseconds = 3.0\n[train]\nepochs = 1\nlr = 1e-6\n")
    kept_ref = json.loads((nested / "metadata.json").read_text())["artifact"]
    assert _run("--data", str(second), "--models", str(shared), "--config", str(barely)) == 0
    report = read_eval_json(second / "reports" / "eval.json")
    assert report.adapter.publication == "kept from an earlier run" and report.adapter.ref == kept_ref
    assert "was not published: worse than the published model" in report.adapter.reason
    assert {p: _sha(p) for p in before} == before
