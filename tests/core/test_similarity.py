"""Cosine similarity and unit length: the geometry the embedders and the evaluation share."""

import numpy as np
import pytest

from aural_core.errors import ParameterError
from aural_core.similarity import cosine, l2_normalize


@pytest.mark.parametrize("a,b,expected", [
    ([1.0, 0.0], [2.0, 0.0], 1.0),
    ([1.0, 0.0], [-3.0, 0.0], -1.0),
    ([1.0, 0.0], [0.0, 5.0], 0.0),
    ([1.0, 0.0], [1.0, 1.0], np.sqrt(0.5)),
    ([0.0, 0.0], [1.0, 1.0], 0.0),  # a zero vector is similar to nothing, without a warning
    ([0.0, 0.0], [0.0, 0.0], 0.0),
])
def test_cosine_values(a, b, expected):
    with np.errstate(all="raise"):
        assert cosine(np.array(a), np.array(b)) == pytest.approx(expected)


def test_cosine_is_scale_invariant_and_symmetric():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=512), rng.normal(size=512)
    assert cosine(a, b) == pytest.approx(cosine(3.0 * a, 0.5 * b)) == pytest.approx(cosine(b, a))
    assert isinstance(cosine(a.astype(np.float32), b), float)


@pytest.mark.parametrize("a,b,match", [
    (np.ones(3), np.ones(4), r"\(3,\) and \(4,\)"),
    (np.ones((2, 3)), np.ones((2, 3)), r"\(2, 3\)"),
    (np.array([1.0, np.nan]), np.ones(2), "NaN"),
])
def test_cosine_bad_input(a, b, match):
    with pytest.raises(ParameterError, match=match):
        cosine(a, b)


def test_l2_normalize_rows():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [-2.0, 0.0]])
    out = l2_normalize(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0], [-1.0, 0.0]])
