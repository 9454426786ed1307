"""The linear probe's math: closed-form ridge, alpha chosen on validation, R², section fitting."""

import numpy as np
import pytest

from aural_core.errors import ParameterError
from aural_core.probe import ALPHAS, LinearProbe, fit_probe, fit_ridge, fit_section_probe, r2_score


def linear_data(rng, n, d_in=40, d_out=8, noise=0.05):
    w = rng.normal(size=(d_in, d_out))
    x = rng.normal(loc=3.0, scale=2.0, size=(n, d_in))
    return x, x @ w + 1.5 + noise * rng.normal(size=(n, d_out)), w


def test_ridge_is_the_normal_equations_solution(rng):
    x, y, _ = linear_data(rng, 30, d_in=6, d_out=3)
    probe = fit_ridge(x, y, alpha=2.5)
    xs = (x - x.mean(0)) / x.std(0)
    w = np.linalg.solve(xs.T @ xs + 2.5 * np.eye(6), xs.T @ (y - y.mean(0)))
    np.testing.assert_allclose(probe.weight, w, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(probe.predict(x), xs @ w + y.mean(0), rtol=1e-4, atol=1e-4)


def test_a_linear_map_is_recovered_and_little_regularised(rng):
    x, y, _ = linear_data(rng, 200)
    fit = fit_probe(x[:150], y[:150], x[150:], y[150:])
    assert fit.r2_validation > 0.99 and fit.alpha <= 1.0
    assert fit.probe.predict(x).shape == (200, 8) and fit.probe.predict(x).dtype == np.float32
    assert set(fit.r2_by_alpha) == set(ALPHAS) and fit.r2_validation == max(fit.r2_by_alpha.values())


def test_noise_targets_choose_strong_regularisation(rng):
    """More inputs than rows and targets unrelated to them: a strongly regularised map wins."""
    x = rng.normal(size=(40, 100))
    y = rng.normal(size=(40, 4))
    fit = fit_probe(x[:30], y[:30], x[30:], y[30:])
    assert fit.alpha >= 1000.0
    assert fit.r2_validation < 0.05 < fit.r2_train


def test_r2_score():
    y = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    assert r2_score(y, y) == 1.0
    assert r2_score(y, np.tile(y.mean(0), (3, 1))) == pytest.approx(0.0)
    assert r2_score(y, y + 1.0) == pytest.approx(1 - 6 / 16)
    assert r2_score(np.ones((4, 2)), np.zeros((4, 2))) is None  # targets that do not vary


@pytest.mark.parametrize("args, match", [
    ((np.zeros((1, 3)), np.zeros((1, 2))), "at least 2 rows"),
    ((np.zeros((4, 3)), np.zeros((3, 2))), "one target per row"),
    ((np.zeros(4), np.zeros((4, 2))), "2-D"),
    ((np.full((4, 3), np.nan), np.zeros((4, 2))), "non-finite"),
])
def test_bad_fits_raise(args, match):
    with pytest.raises(ParameterError, match=match):
        fit_ridge(*args, alpha=1.0)


def test_bad_alpha_and_missing_validation_raise(rng):
    x, y, _ = linear_data(rng, 10)
    with pytest.raises(ParameterError, match="alpha=0"):
        fit_ridge(x, y, alpha=0)
    with pytest.raises(ParameterError, match="validation rows"):
        fit_probe(x, y, x[:0], y[:0])
    probe = fit_ridge(x, y, alpha=1.0)
    with pytest.raises(ParameterError, match="takes 40"):
        probe.predict(x[:, :5])
    with pytest.raises(ParameterError, match="bias"):
        LinearProbe(weight=probe.weight, bias=probe.bias[:3], x_mean=probe.x_mean, x_scale=probe.x_scale, alpha=1.0)


def test_constant_input_columns_do_not_break_the_fit(rng):
    x, y, _ = linear_data(rng, 50, d_in=5)
    x = np.hstack([x, np.ones((50, 2))])  # e.g. an embedding dimension that never moves
    fit = fit_probe(x[:40], y[:40], x[40:], y[40:])
    assert np.all(np.isfinite(fit.probe.weight)) and fit.r2_validation > 0.9


def test_section_probe_splits_by_file_and_keeps_augmented_out_of_validation(rng):
    """Targets are the style rows' vectors; validation = the val files' original sections."""
    n_styles, d = 4, 6
    centres = rng.normal(scale=3.0, size=(n_styles, 20))
    style_targets = rng.normal(size=(n_styles, d))
    y_style = np.tile(np.arange(n_styles), 10)
    x = np.hstack([centres[y_style] + 0.1 * rng.normal(size=(40, 20)), rng.normal(size=(40, 9))])
    file_id = np.array([f"f{i // 4}" for i in range(40)])
    augmented = np.zeros(40, dtype=bool)
    augmented[[0, 1, 36, 37]] = True  # copies: f0's fit, f9's (a validation file's) are used nowhere
    arrays = {"X": x, "y_style": y_style, "file_id": file_id, "augmented": augmented}
    fit = fit_section_probe(arrays, style_targets, val_files=["f8", "f9"], embed_dim=20)
    assert (fit.n_fit, fit.n_validation) == (32, 6)
    assert fit.probe.d_in == 20 and fit.probe.d_out == d  # the embedding columns only
    assert fit.r2_validation > 0.9
    with pytest.raises(ParameterError, match="validation sections"):
        fit_section_probe(arrays, style_targets, val_files=["nobody"], embed_dim=20)
    with pytest.raises(ParameterError, match="style targets"):
        fit_section_probe(arrays, style_targets[:2], val_files=["f8"], embed_dim=20)
