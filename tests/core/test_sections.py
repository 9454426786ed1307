"""Contiguous sectioning (seed section 4c, issue 10): the least-variance partition in time order."""

import numpy as np
import pytest

from aural_core.errors import ParameterError
from aural_core.sections import edge_chroma, section_frames


def frames(energy, frame_s=2.0):
    energy = np.asarray(energy, float)
    start = np.arange(len(energy)) * frame_s
    return energy, {"start_s": start, "end_s": start + frame_s}


def test_known_energy_arc_in_time_order():
    energy, t = frames([0.2, 0.22, 0.21, 0.2, 0.5, 0.52, 0.55, 0.5, 0.8, 0.82, 0.85, 0.83])
    secs = section_frames(energy, **t, min_section_seconds=8)
    assert [s.name for s in secs] == ["intro", "build", "release"]
    assert [s.spans for s in secs] == [[(0, 3)], [(4, 7)], [(8, 11)]]


def test_sections_are_contiguous_and_cover_every_frame():
    """A loud start, a quiet middle and a loud end: k-means made one scattered "release" of
    the two loud ends; here every section is one span, in time order."""
    energy, t = frames([0.8] * 6 + [0.2] * 6 + [0.8] * 6)
    secs = section_frames(energy, **t, min_section_seconds=8)
    assert [s.spans for s in secs] == [[(0, 5)], [(6, 11)], [(12, 17)]]
    assert np.array_equal(np.concatenate([s.frames for s in secs]), np.arange(18))


def test_a_short_fade_does_not_become_a_section():
    energy, t = frames([0.7] * 20 + [0.05])  # 40 s of music, a 2 s fade
    secs = section_frames(energy, **t, min_section_seconds=8)
    assert all(len(s.frames) * 2.0 >= 8 for s in secs)


def test_minimum_length_gives_fewer_sections_for_short_clips():
    energy, t = frames([0.3, 0.6, 0.4, 0.9, 0.2, 0.5, 0.8, 0.1])  # 16 s
    assert [s.name for s in section_frames(energy, **t, min_section_seconds=8)] == ["intro", "build"]
    energy, t = frames([0.3, 0.6, 0.4])  # 6 s
    assert [s.name for s in section_frames(energy, **t, min_section_seconds=8)] == ["intro"]
    assert section_frames(np.array([]), start_s=np.array([]), end_s=np.array([])) == []


def test_optimal_partition_beats_every_other_cut():
    rng = np.random.default_rng(0)
    energy, t = frames(rng.random(14))
    secs = section_frames(energy, **t, min_section_seconds=4)

    def sse(parts):
        return sum(((energy[a:b] - energy[a:b].mean()) ** 2).sum() for a, b in parts)

    found = sse([(s.frames[0], s.frames[-1] + 1) for s in secs])
    for i in range(2, 13):
        for j in range(i + 2, 13):
            assert found <= sse([(0, i), (i, j), (j, 14)]) + 1e-12


@pytest.mark.parametrize("n_sections", [0, -1, 2.5, True])
def test_bad_section_count(n_sections):
    energy, t = frames([0.2, 0.5, 0.8])
    with pytest.raises(ParameterError, match=f"n_sections={n_sections!r}"):
        section_frames(energy, **t, n_sections=n_sections)


def test_edge_chroma_reads_the_first_and_last_audible_frames():
    """Leading silence and a fading tail are skipped: the opening is the first frame with music,
    the closing the last one, each normalised to sum 1."""
    chroma = np.full((8, 12), 0.01)
    chroma[2, [0, 4, 7]] = 1.0       # the first chord: C major
    chroma[5, [9, 0, 4]] = 1.0       # the last chord: A minor
    energy = np.array([0.0, 0.001, 0.5, 0.6, 0.4, 0.5, 0.01, 0.0])
    opening, closing = edge_chroma(chroma, energy)
    assert set(np.argsort(opening)[-3:].tolist()) == {0, 4, 7}
    assert set(np.argsort(closing)[-3:].tolist()) == {9, 0, 4}
    assert opening.sum() == pytest.approx(1.0) and closing.sum() == pytest.approx(1.0)
