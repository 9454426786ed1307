"""k-means sectioning on energy (seed section 4c)."""

import numpy as np
import pytest

from aural_core.errors import ParameterError
from aural_core.sections import section_frames


def test_known_energy_arc():
    energy = np.array([0.2, 0.22, 0.21, 0.2, 0.5, 0.52, 0.55, 0.5, 0.8, 0.82, 0.85, 0.83])
    secs = section_frames(energy)
    assert [s.name for s in secs] == ["intro", "build", "release"]
    means = [energy[s.frames].mean() for s in secs]
    assert means[0] < means[1] < means[2]
    assert [s.spans for s in secs] == [[(0, 3)], [(4, 7)], [(8, 11)]]


def test_non_contiguous_section_spans():
    energy = np.array([0.8, 0.8, 0.2, 0.2, 0.5, 0.5, 0.8, 0.8])
    release = section_frames(energy)[2]
    assert release.spans == [(0, 1), (6, 7)]


def test_short_clips_give_fewer_sections():
    assert [s.name for s in section_frames(np.array([0.3, 0.6]))] == ["intro", "build"]
    assert [s.name for s in section_frames(np.array([0.3]))] == ["intro"]
    assert len(section_frames(np.zeros(6))) == 1       # silence: one flat section
    assert section_frames(np.array([])) == []


def test_deterministic():
    energy = np.random.default_rng(0).random(30)
    a, b = section_frames(energy, seed=3), section_frames(energy, seed=3)
    assert all(np.array_equal(x.frames, y.frames) for x, y in zip(a, b))


@pytest.mark.parametrize("n_sections", [0, -1, 2.5, True])
def test_bad_section_count(n_sections):
    with pytest.raises(ParameterError, match=f"n_sections={n_sections!r}"):
        section_frames(np.array([0.2, 0.5, 0.8]), n_sections=n_sections)
