"""A custom style table with more rows than the default travels from the config to labels,
training and the renderer (issue 9: the synth renderer used to load the default table)."""

import json

import numpy as np
import pytest
import soundfile as sf

from aural_core.config import AuralConfig, LabelConfig, RenderConfig
from aural_core.controls import Controls
from aural_core.render import SynthRenderer
from aural_core.styles import DEFAULT_STYLES_PATH, load_style_table
from flows.settings import resolve_settings
from tasks.evaluate import render_items

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def custom_styles(tmp_path):
    table = json.loads(DEFAULT_STYLES_PATH.read_text())
    table["styles"].append({"emotion": "calm", "energy": "low", "prompt": "a very dark, sparse, quiet drone",
                            "brightness": 0.02, "density": 0.05, "dynamics": 0.05})
    path = tmp_path / "styles.json"
    path.write_text(json.dumps(table))
    return path


def test_settings_carry_the_configured_table(custom_styles):
    config, styles = resolve_settings(AuralConfig(labels=LabelConfig(styles_path=str(custom_styles))), None)
    assert len(styles) == 11 and styles[10].prompt == "a very dark, sparse, quiet drone"


def test_render_task_plays_the_eleventh_style(custom_styles, tmp_path):
    styles = load_style_table(custom_styles)
    controls = Controls(emotion="calm", bpm=96.0, key="D minor", style_id=10, style_prompt=styles[10].prompt)
    config = RenderConfig(seconds=3.0)
    [path] = render_items.fn([{"controls": controls.to_dict(), "seed": 7, "seconds": 3.0}], config, styles,
                             str(tmp_path / "renders"), "t")
    heard, sr = sf.read(path)
    direct = SynthRenderer(styles=styles).render(controls, seconds=3.0, seed=7)
    expected = direct.mix
    assert sr == direct.sr and len(heard) == len(expected)
    assert np.max(np.abs(heard - expected)) < 1e-3  # 16-bit FLAC of the same signal
    # the default table has no row 10: rendering it there is refused, not silently swapped
    with pytest.raises(Exception, match="style_id=10"):
        SynthRenderer().render(controls, seconds=1.0, seed=7)


def test_calm_quiet_style_renders_quieter_than_busy_loud_after_the_whole_chain(tmp_path):
    """One owner for stem gains and level (the renderer): the style's dynamics reach the file."""
    from aural_core.evaluation import predicted_controls

    styles = load_style_table()
    calm = next(s for s in styles.styles if s.emotion == "calm" and s.energy == "low")
    busy = next(s for s in styles.styles if s.emotion == "busy" and s.energy == "high")
    pred = {"emotion": np.array([1, 4]), "style": np.array([calm.id, busy.id]), "key_full": np.array([0, 0]),
            "bpm": np.array([100.0, 100.0])}
    controls = predicted_controls(pred, styles, [{"energy": 0.5, "beat_strength": 0.5}] * 2)
    paths = render_items.fn([{"controls": c.to_dict(), "seed": 3, "seconds": 6.0} for c in controls], RenderConfig(),
                            styles, str(tmp_path / "renders"), "levels")
    rms_db = [20 * np.log10(np.sqrt(np.mean(sf.read(p)[0] ** 2))) for p in paths]
    assert rms_db[0] < rms_db[1] - 3.0, rms_db  # dynamics 0.2 vs 0.85: about 5 dB apart
