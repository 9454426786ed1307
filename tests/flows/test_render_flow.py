"""Whole-piece renders through a real Prefect server: one WAV and cue sheet per input, one tempo
across sections (read back by the independent estimator), the `gpu` concurrency limit, a bad
file failing alone, a cached rerun, and `aural render` on one file."""

import re
import shutil

import numpy as np
import pytest
import soundfile as sf

from aural_core.agreement import estimate_attributes, tempo_agreement
from aural_core.config import AugmentConfig, AuralConfig, RenderConfig, TrainConfig
from cli.main import main
from flows.render import render_piece_flow
from flows.summary import run_flow
from flows.train import train_flow
from storage.pieces import read_cue_sheet

from ..tiny_models import tiny_musicgen_path  # noqa: F401  (session fixture)
from .corpus import analysed_clips

pytestmark = pytest.mark.usefixtures("prefect_harness")
CONFIG = AuralConfig(train=TrainConfig(epochs=3), augment=AugmentConfig(copies_per_file=0))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """An adapter trained on 4 demo clips of 20 s, then a folder of 2 of them plus a broken file rendered."""
    root, cache = analysed_clips(tmp_path_factory.mktemp("piece"), n=4, seed=4, seconds=20)
    train_flow(cache_dir=str(cache), out_path=str(root / "models" / "adapter.pt"), show_progress=False, config=CONFIG)
    folder = root / "render"
    folder.mkdir()
    for clip in sorted((root / "inputs").iterdir())[:2]:
        shutil.copy(clip, folder / clip.name)
    (folder / "broken.wav").write_bytes(b"RIFF not really audio")
    args = {"input_path": str(folder), "adapter": str(root / "models" / "adapter.pt"), "out_dir": str(root / "out"),
            "cache_dir": str(cache), "show_progress": False, "config": CONFIG}
    result, failed = run_flow(render_piece_flow, **args)
    return root, args, result, failed


def pieces(result):
    return {row["source"]: row for row in result["files"] if row["status"] != "failed"}


def test_one_piece_and_cue_sheet_per_input_a_bad_file_fails_alone(rendered):
    root, _, result, failed = rendered
    assert failed is not None and "broken.wav" in str(failed)
    assert [f["source"] for f in result["failed"]] == ["broken.wav"]
    done = pieces(result)
    assert len(done) == 2 and all(row["status"] == "computed" for row in done.values())
    assert sorted(p.name for p in (root / "out").iterdir() if not p.name.startswith(".")) == sorted(
        f"{name.rsplit('.', 1)[0]}.{ext}" for name in done for ext in ("wav", "json", "cue"))
    for name, row in done.items():
        sheet = read_cue_sheet(row["result"]["json"])
        audio, sr = sf.read(row["result"]["wav"])
        assert sheet["title"] == name and sheet["audio"].endswith(".wav") and sr == sheet["sr"]
        bar = 4 * 60 / sheet["bpm"]
        assert len(audio) == pytest.approx(sheet["bars"] * bar * sr, abs=1)
        starts = [s["start_s"] for s in sheet["sections"]]
        assert starts == pytest.approx([(s["bar"] - 1) * bar for s in sheet["sections"]], abs=1e-3)
        cue = (root / "out" / sheet["audio"]).with_suffix(".cue").read_text()
        assert len(re.findall(r"INDEX 01 \d\d:\d\d:\d\d", cue)) == len(sheet["sections"])
        assert sheet["renderer"] == {"name": "synth"}
        for s in sheet["sections"]:
            assert s["name"] in ("intro", "build", "release") and s["controls"]["bpm"] == sheet["bpm"]
            assert s["render"]["offset_s"] < 0.03 and s["render"]["stretch"] == 1.0  # synth renders start on a beat


def test_tempo_is_the_reference_tempo_in_every_section(rendered):
    """The independent estimator (essentia) reads the piece's tempo in each section's bars."""
    _, _, result, _ = rendered
    checked = 0
    for row in pieces(result).values():
        sheet = read_cue_sheet(row["result"]["json"])
        assert len(sheet["sections"]) >= 2  # 20 s clips: at least intro and build
        audio, sr = sf.read(row["result"]["wav"], dtype="float32")
        ends = [s["start_s"] for s in sheet["sections"][1:]] + [sheet["seconds"]]
        for s, end in zip(sheet["sections"], ends):
            heard = estimate_attributes(audio[int(s["start_s"] * sr): int(end * sr)], sr=sr).bpm
            assert tempo_agreement(sheet["bpm"], heard)["acc1"], (s["name"], sheet["bpm"], heard)
            checked += 1
    assert checked >= 4


def test_renders_ran_inside_the_gpu_concurrency_limit(rendered):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name("gpu")
    assert limit.limit == 1 and limit.active_slots == 0  # created by the run, released after it


def test_cached_rerun_rewrites_nothing(rendered):
    root, args, result, _ = rendered
    before = {p: p.stat().st_mtime_ns for p in (root / "out").iterdir()}
    again, failed = run_flow(render_piece_flow, **args)
    assert [f["source"] for f in failed.result["failed"]] == ["broken.wav"]
    assert all(row["status"] == "cached" for row in pieces(again).values()) and len(pieces(again)) == 2
    assert {p: p.stat().st_mtime_ns for p in (root / "out").iterdir()} == before


def test_a_damaged_piece_is_rendered_again(rendered):
    root, args, result, _ = rendered
    wav = next(iter(pieces(result).values()))["result"]["wav"]
    good = sf.read(wav)[0]
    with open(wav, "r+b") as fh:  # flip bytes in the audio
        fh.seek(1000)
        fh.write(b"\x7f" * 64)
    again, _ = run_flow(render_piece_flow, **args)
    statuses = sorted(row["status"] for row in pieces(again).values())
    assert statuses == ["cached", "computed"]
    np.testing.assert_array_equal(sf.read(wav)[0], good)


def test_cli_renders_one_file(rendered, capsys):
    root, args, _, _ = rendered
    clip = next(p for p in sorted((root / "render").iterdir()) if p.name != "broken.wav")
    code = main(["render", "--in", str(clip), "--out", str(root / "cli"), "--adapter", args["adapter"],
                 "--cache", args["cache_dir"], "--quiet"])
    assert code == 0
    assert sorted(p.suffix for p in (root / "cli").iterdir() if not p.name.startswith(".")) == [".cue", ".json", ".wav"]
    assert "BPM" in capsys.readouterr().err
    assert main(["render", "--in", str(root / "nowhere.wav"), "--adapter", args["adapter"]]) == 2
    assert "nowhere.wav does not exist" in capsys.readouterr().err


def test_tiny_musicgen_renders_the_sections_of_every_input_in_one_task(rendered, tiny_musicgen_path):  # noqa: F811
    """With MusicGen, the sections of both inputs go to one render task (one ``generate`` call
    per render length) and each piece is assembled from them on its bar grid."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    root, args, _, _ = rendered
    config = CONFIG.model_copy(update={"render": RenderConfig(renderer="musicgen", seconds=2.0,
                                                             musicgen_model=str(tiny_musicgen_path))})
    state = render_piece_flow(**{**args, "out_dir": str(root / "musicgen"), "config": config}, return_state=True)
    result = state.result(raise_on_failure=False).result  # broken.wav fails the run, as before
    done = pieces(result)
    assert len(done) == 2
    n_sections = 0
    for row in done.values():
        sheet = read_cue_sheet(row["result"]["json"])
        audio, sr = sf.read(row["result"]["wav"])
        assert sheet["renderer"] == {"name": "musicgen", "model": str(tiny_musicgen_path)} and sr == 32000
        assert len(audio) == pytest.approx(sheet["bars"] * 4 * 60 / sheet["bpm"] * sr, abs=1)
        n_sections += len(sheet["sections"])
    with get_client(sync_client=True) as client:
        this_run = FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        runs = client.read_task_runs(flow_run_filter=this_run)
    renders = [r for r in runs if r.name.startswith("render-piece")]
    assert len(renders) == 1 and n_sections >= 4
