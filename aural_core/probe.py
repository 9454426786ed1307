"""Seed section 8's linear probe: section embeddings -> MusicGen's text-encoder space.

A ridge regression, closed form, from the embedding part of a section's adapter input
(``X[:, :EMBED_DIM]``, the section's mean CLAP or DSP embedding) to the mean-pooled text-encoder
output of the section's style prompt. The other 9 input columns (f0, energy, beat, tags) are
left out on purpose: the probe's job is to carry what the *audio embedding* says into the
space MusicGen is conditioned in, beside the prompt the adapter already derives from those
descriptors (which is how the weak style label itself is made).

The regularisation strength is chosen on a validation split from :data:`ALPHAS` (largest
held-out R²); inputs are standardised with the fitting rows' statistics, and targets centred.
One SVD of the standardised inputs serves every alpha:
``W = V diag(s / (s² + alpha)) Uᵀ (Y - ȳ)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import ParameterError

__all__ = ["ALPHAS", "LinearProbe", "ProbeFit", "fit_probe", "fit_ridge", "fit_section_probe", "r2_score"]

# Ridge strengths tried, on inputs standardised to unit variance per column.
ALPHAS: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)
_MIN_SCALE = 1e-8


@dataclass(frozen=True, eq=False)
class LinearProbe:
    """``y = ((x - x_mean) / x_scale) @ weight + bias``.

    Parameters
    ----------
    weight : np.ndarray [shape=(d_in, d_out), dtype=float32]
    bias : np.ndarray [shape=(d_out,)]
    x_mean, x_scale : np.ndarray [shape=(d_in,)]
        Standardisation of the inputs (statistics of the fitting rows).
    alpha : float
        The ridge strength it was fitted with.
    """

    weight: np.ndarray
    bias: np.ndarray
    x_mean: np.ndarray
    x_scale: np.ndarray
    alpha: float

    def __post_init__(self) -> None:
        d_in, d_out = np.shape(self.weight)
        for name, n in (("bias", d_out), ("x_mean", d_in), ("x_scale", d_in)):
            if np.shape(getattr(self, name)) != (n,):
                raise ParameterError(f"{name} has shape {np.shape(getattr(self, name))}; expected ({n},)")
        for name in ("weight", "bias", "x_mean", "x_scale"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise ParameterError(f"probe {name} holds non-finite values")

    @property
    def d_in(self) -> int:
        """Width of an input row."""
        return int(self.weight.shape[0])

    @property
    def d_out(self) -> int:
        """Width of a probed vector."""
        return int(self.weight.shape[1])

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Map input rows to probed vectors.

        Parameters
        ----------
        x : np.ndarray [shape=(n, d_in)]
            Finite input rows.

        Returns
        -------
        np.ndarray [shape=(n, d_out), dtype=float32]

        Raises
        ------
        ParameterError
            When ``x`` is not a finite 2-D array with ``d_in`` columns.
        """
        x = _matrix(x, "x")
        if x.shape[1] != self.d_in:
            raise ParameterError(f"x has {x.shape[1]} columns; the probe takes {self.d_in}")
        out = ((x - self.x_mean) / self.x_scale) @ self.weight.astype(np.float64) + self.bias
        return out.astype(np.float32)


@dataclass(frozen=True, eq=False)
class ProbeFit:
    """A fitted probe and how it was chosen: R² per alpha on the validation rows."""

    probe: LinearProbe
    alpha: float
    r2_train: float | None
    r2_validation: float | None
    n_fit: int
    n_validation: int
    r2_by_alpha: dict[float, float | None] = field(default_factory=dict)

    def summary(self) -> dict:
        """Plain-type figures for metadata and reports.

        Returns
        -------
        dict
            ``alpha``, ``r2_train``, ``r2_validation`` (rounded to 4 decimals or None),
            ``n_fit``, ``n_validation`` and ``r2_by_alpha`` (keyed by ``f"{alpha:g}"``).
        """
        return {"alpha": self.alpha, "r2_train": _round(self.r2_train), "r2_validation": _round(self.r2_validation),
                "n_fit": self.n_fit, "n_validation": self.n_validation,
                "r2_by_alpha": {f"{a:g}": _round(r) for a, r in self.r2_by_alpha.items()}}


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float | None:
    """Variance-weighted coefficient of determination over every output dimension.

    ``1 - Σ(y - ŷ)² / Σ(y - ȳ)²`` with ȳ the per-dimension mean of ``y_true``.

    Parameters
    ----------
    y_true, y_pred : np.ndarray [shape=(n, d)]
        Finite targets and predictions.

    Returns
    -------
    float or None
        R² (at most 1); ``None`` when the targets do not vary (a single row, or one style
        only): R² is undefined there.

    Raises
    ------
    ParameterError
        When either is not a finite 2-D array, or their shapes differ.
    """
    y_true, y_pred = _matrix(y_true, "y_true"), _matrix(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ParameterError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ in shape")
    total = float(((y_true - y_true.mean(axis=0)) ** 2).sum())
    if total <= 1e-12 * max(1.0, float((y_true ** 2).sum())):
        return None
    return 1.0 - float(((y_true - y_pred) ** 2).sum()) / total


def fit_ridge(x: np.ndarray, y: np.ndarray, *, alpha: float) -> LinearProbe:
    """Closed-form ridge regression of ``y`` on standardised ``x`` (see the module docstring).

    Parameters
    ----------
    x : np.ndarray [shape=(n, d_in)]
        Finite inputs, at least 2 rows.
    y : np.ndarray [shape=(n, d_out)]
        Finite targets, one row per input row.
    alpha : float > 0
        Ridge strength on the standardised inputs.

    Returns
    -------
    LinearProbe

    Raises
    ------
    ParameterError
        Fewer than 2 rows, mismatched rows, non-finite values or a bad ``alpha``.
    """
    return _fit_all(x, y, alphas=(alpha,))[alpha]


def fit_probe(x_fit: np.ndarray, y_fit: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, *,
              alphas: tuple[float, ...] = ALPHAS) -> ProbeFit:
    """Fit on ``(x_fit, y_fit)`` for every alpha; keep the one with the best R² on ``(x_val, y_val)``.

    Ties and undefined validation R² (targets that do not vary) go to the larger alpha: the
    more regularised map is the safer guess. The returned probe is the one fitted on the
    fitting rows only, so ``r2_validation`` describes it.

    Parameters
    ----------
    x_fit : np.ndarray [shape=(n_fit, d_in)]
    y_fit : np.ndarray [shape=(n_fit, d_out)]
        The fitting rows and their targets.
    x_val : np.ndarray [shape=(n_val, d_in)]
    y_val : np.ndarray [shape=(n_val, d_out)]
        The validation rows and their targets.
    alphas : tuple of float > 0
        Ridge strengths tried (default ``ALPHAS``).

    Returns
    -------
    ProbeFit

    Raises
    ------
    ParameterError
        Fewer than 2 fitting rows, no validation rows, mismatched shapes or a bad alpha.
    """
    x_val, y_val = _matrix(x_val, "x_val"), _matrix(y_val, "y_val")
    if len(x_val) == 0 or len(x_val) != len(y_val):
        raise ParameterError(f"need validation rows with one target each; got {len(x_val)} and {len(y_val)}")
    probes = _fit_all(x_fit, y_fit, alphas=alphas)
    scores = {a: r2_score(y_val, p.predict(x_val)) for a, p in probes.items()}
    best = max(sorted(probes), key=lambda a: (scores[a] if scores[a] is not None else -np.inf, a))
    probe = probes[best]
    return ProbeFit(probe=probe, alpha=best, r2_train=r2_score(y_fit, probe.predict(x_fit)),
                    r2_validation=scores[best], n_fit=len(np.asarray(x_fit)), n_validation=len(x_val),
                    r2_by_alpha=scores)


def _fit_all(x: np.ndarray, y: np.ndarray, *, alphas) -> dict[float, LinearProbe]:
    x, y = _matrix(x, "x"), _matrix(y, "y")
    if len(x) != len(y):
        raise ParameterError(f"x has {len(x)} rows and y {len(y)}; expected one target per row")
    if len(x) < 2:
        raise ParameterError(f"need at least 2 rows to fit a probe, got {len(x)}")
    for a in alphas:
        if isinstance(a, bool) or not isinstance(a, (int, float)) or not (np.isfinite(a) and a > 0):
            raise ParameterError(f"alpha={a!r} must be a finite number > 0")
    x_mean = x.mean(axis=0)
    x_scale = x.std(axis=0)
    x_scale = np.where(x_scale < _MIN_SCALE, 1.0, x_scale)
    y_mean = y.mean(axis=0)
    u, s, vt = np.linalg.svd((x - x_mean) / x_scale, full_matrices=False)
    uty = u.T @ (y - y_mean)
    out = {}
    for a in alphas:
        weight = vt.T @ ((s / (s ** 2 + a))[:, None] * uty)
        out[a] = LinearProbe(weight=weight.astype(np.float32), bias=y_mean.astype(np.float32),
                             x_mean=x_mean.astype(np.float32), x_scale=x_scale.astype(np.float32), alpha=float(a))
    return out


def _matrix(a, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2:
        raise ParameterError(f"{name} must be a 2-D array (rows, columns), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ParameterError(f"{name} holds non-finite values")
    return a


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def fit_section_probe(arrays: dict[str, np.ndarray], style_targets: np.ndarray, *, val_files,
                      embed_dim: int, alphas: tuple[float, ...] = ALPHAS) -> ProbeFit:
    """Fit the probe on a training set (``sections.npz`` arrays) against style-prompt targets.

    Inputs are ``X[:, :embed_dim]``; a section's target is ``style_targets[y_style]``. Sections of
    ``val_files`` (the adapter's validation files) choose alpha and measure R²; the others fit,
    augmented copies included (validation keeps original sections only, as the adapter's does).

    Parameters
    ----------
    arrays : dict of str to np.ndarray
        The training set: ``X`` [shape=(n, FEATURE_DIM)], ``y_style`` and ``file_id``
        [shape=(n,)], optionally ``augmented`` [shape=(n,), dtype=bool].
    style_targets : np.ndarray [shape=(n_styles, d_out)]
        The target vector of each style (its prompt's text-encoder output).
    val_files : collection of str
        File ids of the validation sections.
    embed_dim : int
        Input columns used (the embedding part of ``X``).
    alphas : tuple of float > 0
        Ridge strengths tried (default ``ALPHAS``).

    Returns
    -------
    ProbeFit

    Raises
    ------
    ParameterError
        A style id outside ``style_targets``, or no fitting or validation sections.
    """
    x = np.asarray(arrays["X"])[:, :embed_dim]
    styles = np.asarray(arrays["y_style"], dtype=np.int64)
    style_targets = _matrix(style_targets, "style_targets")
    if len(styles) and not (0 <= styles.min() and styles.max() < len(style_targets)):
        raise ParameterError(f"y_style holds ids up to {styles.max()}; only {len(style_targets)} style targets")
    val = np.isin(np.asarray(arrays["file_id"]), list(val_files))
    augmented = np.asarray(arrays.get("augmented", np.zeros(len(x), dtype=bool)), dtype=bool)
    fit_rows, val_rows = ~val, val & ~augmented
    if not fit_rows.any() or not val_rows.any():
        raise ParameterError(f"the probe needs fitting and validation sections; got {int(fit_rows.sum())} "
                             f"and {int(val_rows.sum())} (val_files={sorted(val_files)})")
    y = style_targets[styles]
    return fit_probe(x[fit_rows], y[fit_rows], x[val_rows], y[val_rows], alphas=alphas)
