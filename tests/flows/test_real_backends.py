"""Seed section 8 and melody rendering end to end on tiny checkpoints, through a real Prefect
server: `aural run` with the probe on (fit -> store -> MusicGen renders conditioned on it ->
report), per-style temperatures in the report, the probe beside the synth renderer, and the
musicgen-melody renderer fed each section's source excerpt."""

import json
from pathlib import Path

import pytest

from aural_core.styles import DEFAULT_STYLES_PATH, load_style_table, style_table_hash
from cli.main import main
from demo_corpus import write_corpus
from flows.evaluate import evaluate_flow
from flows.train import train_flow
from storage.layout import ModelsLayout
from storage.probe_store import find_probe
from storage.report import read_eval_json
from storage.strong_labels import SIDECAR
from tasks.probe import probe_lookup

from ..tiny_models import tiny_musicgen_melody_path, tiny_musicgen_path  # noqa: F401  (session fixtures)

pytestmark = pytest.mark.usefixtures("prefect_harness")
TEMPERATURE = {"low": 0.7, "high": 1.3}  # per energy level: every style row gets its own


@pytest.fixture(scope="module")
def probed_run(tmp_path_factory, tiny_musicgen_path):  # noqa: F811
    root = tmp_path_factory.mktemp("probed")
    write_corpus(root / "data", n_inputs=5, n_eval=2, seed=3)
    # Weak labels: the demo's truth gives the one validation file one mood, hence one style, and
    # the probe's validation R² is undefined for targets that do not vary.
    (root / "data" / "inputs" / SIDECAR).unlink()
    table = json.loads(DEFAULT_STYLES_PATH.read_text())
    for row in table["styles"]:
        row["temperature"] = TEMPERATURE[row["energy"]]
    (root / "styles.json").write_text(json.dumps(table))
    config = root / "aural.toml"
    config.write_text(f'[labels]\nstyles_path = "{root / "styles.json"}"\n'
                      f'[render]\nrenderer = "musicgen"\nmusicgen_model = "{tiny_musicgen_path}"\nseconds = 0.5\n'
                      'probe = true\nprobe_mix = 0.5\n')
    code = main(["run", "--data", str(root / "data"), "--models", str(root / "models"),
                 "--reports", str(root / "reports"), "--config", str(config), "--quiet"])
    assert code == 0
    return root, config


def test_the_probe_is_fitted_stored_and_conditions_the_adapters_renders(probed_run, tiny_musicgen_path):  # noqa: F811
    root, config = probed_run
    from aural_core.config import load_config

    cfg, styles = load_config(config), load_style_table(root / "styles.json")
    meta = json.loads((root / "models" / "metadata.json").read_text())
    stored = find_probe(ModelsLayout(root / "models"), probe_lookup(cfg, styles, meta["data_hash"]))
    assert stored is not None and stored.probe.d_in == 512 and stored.probe.d_out == 16  # tiny T5 width
    assert stored.style_targets.shape == (len(styles), 16) and stored.metadata["embedder"] == "dsp"
    assert stored.metadata["val_files"] == sorted(meta["split"]["val_files"])
    report = read_eval_json(root / "reports" / "eval.json")
    assert report.renderer == "musicgen" and report.probe is not None
    assert report.probe.ref == stored.ref and report.probe.used_for_renders and report.probe.mix == 0.5
    assert report.probe.r2_validation == stored.metadata["r2_validation"] and report.probe.n_eval == report.n_sections
    for section in report.sections:
        renders = section.renders
        assert renders["adapter"].conditioning == "mix:0.5"
        assert renders["shuffled"].conditioning == "mix:0.5"  # the partner's probed vector
        assert {renders[k].conditioning for k in ("fixed", "prior", "oracle")} == {"prompt"}
        for render in renders.values():  # each render sampled at its own style row's temperature
            style = styles[render.controls.style_id]
            assert render.sampling.temperature == TEMPERATURE[style.energy]
            assert render.sampling.guidance_scale == 3.0 and render.sampling.do_sample
    temperatures = {r.sampling.temperature for s in report.sections for r in s.renders.values()}
    assert temperatures == {0.7, 1.3}  # both groups were rendered
    md = (root / "reports" / "eval.md").read_text()
    assert "## Conditioning and sampling" in md and "mix:0.5 · T" in md and "Linear probe" in md
    assert 'class="conditioning"' in (root / "reports" / "index.html").read_text()
    # the temperatures are render settings only: the labels (and the adapter) are the default table's
    assert style_table_hash(styles) == style_table_hash(load_style_table())


def test_the_probe_beside_the_synth_renderer(probed_run, tiny_musicgen_path, tmp_path):  # noqa: F811
    """dsp embedder and synth renders: the probe is still fitted (the MusicGen checkpoint makes
    its targets) and its R² reported; renders stay the synth's."""
    root, _ = probed_run
    config = tmp_path / "synth.toml"
    config.write_text(f'[render]\nseconds = 0.5\nprobe = true\nmusicgen_model = "{tiny_musicgen_path}"\n')
    trained = train_flow(cache_dir=str(root / "data" / "cache"), out_path=str(tmp_path / "models" / "adapter.pt"),
                         config_path=str(config), manifest="inputs", show_progress=False)
    assert trained["probe"]["r2_validation"] is not None and trained["probe"]["n_validation"] > 0
    result = evaluate_flow(input_dir=str(root / "data" / "eval"), adapter=str(tmp_path / "models" / "adapter.pt"),
                           report=str(tmp_path / "reports" / "eval.json"), cache_dir=str(root / "data" / "cache"),
                           config_path=str(config), show_progress=False)
    report = read_eval_json(result["report"])
    assert report.renderer == "synth" and report.probe is not None and not report.probe.used_for_renders
    assert report.probe.n_eval == report.n_sections
    assert {r.conditioning for s in report.sections for r in s.renders.values()} == {"controls"}
    assert all(r.sampling is None for s in report.sections for r in s.renders.values())


def test_without_the_checkpoint_the_synth_run_skips_the_probe(probed_run, tmp_path):
    root, _ = probed_run
    config = tmp_path / "absent.toml"
    config.write_text(f'[render]\nprobe = true\nmusicgen_model = "{tmp_path / "no-such-musicgen"}"\n')
    trained = train_flow(cache_dir=str(root / "data" / "cache"), out_path=str(tmp_path / "models" / "adapter.pt"),
                         config_path=str(config), manifest="inputs", show_progress=False)
    assert trained["probe"] is None and Path(trained["adapter"]).is_file()
    assert not (tmp_path / "models" / "probes").exists()


def test_melody_renders_are_conditioned_on_their_source_excerpt(probed_run, tiny_musicgen_melody_path):  # noqa: F811
    root, _ = probed_run
    config = root / "melody.toml"
    config.write_text(f'[render]\nrenderer = "musicgen-melody"\nmusicgen_melody_model = "{tiny_musicgen_melody_path}"\n'
                      'seconds = 0.5\n')
    result = evaluate_flow(input_dir=str(root / "data" / "eval"), adapter=str(root / "models" / "adapter.pt"),
                           report=str(root / "melody" / "eval.json"), cache_dir=str(root / "data" / "cache"),
                           config_path=str(config), show_progress=False)
    report = read_eval_json(result["report"])
    assert report.renderer == "musicgen-melody" and report.probe is None
    assert {r.conditioning for s in report.sections for r in s.renders.values()} == {"prompt+chroma"}
    assert all(s.match is not None for s in report.sections)
