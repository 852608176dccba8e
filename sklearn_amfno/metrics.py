"""Error measures for gridded predictions.

The relative L2 error of a sample whose target is zero (or tiny next to the others) is undefined
(or meaningless): such a **degenerate** sample is measured against the typical target norm
instead of its own, by the rule of :class:`sklearn_amfno.nn.losses.RelativeL2Loss` (the module
docstring of :mod:`sklearn_amfno.nn.losses` gives the reasons). :func:`degenerate_target_mask`
tells which samples that concerns.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import make_scorer

from .nn.losses import DEGENERATE_THRESHOLD


def _sample_norms(a: np.ndarray) -> np.ndarray:
    """L2 norm of each row of a 2-D float64 array, without overflow or underflow of the squares."""
    with np.errstate(over="ignore", under="ignore"):
        norms = np.linalg.norm(a, axis=1) if a.shape[1] else np.zeros(len(a))
    info = np.finfo(a.dtype)
    unsafe = ~np.isfinite(norms) | ((norms < np.sqrt(info.tiny / info.eps)) & (norms > 0))
    if unsafe.any():
        rows = a[unsafe]
        scale = np.abs(rows).max(axis=1, keepdims=True)
        norms[unsafe] = np.linalg.norm(rows / scale, axis=1) * scale[:, 0]
    return norms


def _as_samples(y, name: str) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    if y.ndim == 0 or len(y) == 0:
        raise ValueError(f"Expected at least one sample in {name}, got shape {y.shape}.")
    return y.reshape(len(y), -1)


def _root_mean_square(norms: np.ndarray) -> float:
    top = norms.max()
    return float(np.sqrt(np.mean((norms / top) ** 2)) * top) if top > 0 else 0.0


def typical_norm(y) -> float:
    """The typical target norm: the root mean square of the per-sample L2 norms.

    The norm of a sample runs over every axis but the first (grid and channels).

    Parameters
    ----------
    y : array-like of shape (n_samples, ...)
        Targets.

    Returns
    -------
    float
        ``sqrt(mean_i ||y_i||^2)``; 0 if every sample is zero.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_amfno.metrics import typical_norm
    >>> typical_norm(np.array([[3.0, 4.0], [0.0, 0.0]]))  # sqrt((25 + 0) / 2)
    3.5355339059327378
    """
    return _root_mean_square(_sample_norms(_as_samples(y, "y")))


def degenerate_target_mask(y, *, rel_threshold: float = DEGENERATE_THRESHOLD, reference_norm=None):
    """Which target samples are degenerate: norm at most ``rel_threshold`` times the typical norm.

    Their relative L2 error (in :func:`relative_l2_error` and in the training loss
    :class:`sklearn_amfno.nn.losses.RelativeL2Loss`) is measured against the typical norm instead
    of their own. Every zero sample is degenerate, also when all are zero.

    Parameters
    ----------
    y : array-like of shape (n_samples, ...)
        Targets; the norm of a sample runs over every axis but the first.
    rel_threshold : float, default=1e-2
        Relative norm at or below which a sample is degenerate.
    reference_norm : float or None, default=None
        The typical norm; ``None``: :func:`typical_norm` of ``y``.

    Returns
    -------
    ndarray of bool, shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_amfno.metrics import degenerate_target_mask
    >>> y = np.ones((4, 8))
    >>> y[2] = 0.0
    >>> degenerate_target_mask(y)
    array([False, False,  True, False])
    """
    norms = _sample_norms(_as_samples(y, "y"))
    ref = _root_mean_square(norms) if reference_norm is None else float(reference_norm)
    return norms <= rel_threshold * ref


def relative_l2_error(
    y_true,
    y_pred,
    *,
    multioutput: str = "uniform_average",
    rel_threshold: float = DEGENERATE_THRESHOLD,
) -> float | np.ndarray:
    """Relative L2 error ``||y_pred - y_true|| / ||y_true||`` per sample, averaged.

    The norm runs over every axis but the first (grid and channels), as in the AM-FNO and FNO papers.

    A sample whose true norm is at most ``rel_threshold`` times the typical norm ``ref`` (the root
    mean square of the per-sample norms of ``y_true``, :func:`typical_norm`) is degenerate: its
    relative error is undefined (zero target) or dominated by its tiny norm, so its error is
    measured against ``ref`` instead, ``||y_pred_i - y_true_i|| / ref``: the error in units of a
    typical target. A zero target predicted exactly scores 0. Without degenerate samples this is
    exactly the plain relative error. If every true sample is zero (``ref = 0``), the relative
    error is undefined for all: the absolute error ``||y_pred_i - y_true_i||`` is returned, with
    an :class:`~sklearn.exceptions.UndefinedMetricWarning`. The training loss
    :class:`sklearn_amfno.nn.losses.RelativeL2Loss` follows the same rule.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, ...)
        Targets and predictions, same shape.
    multioutput : {"uniform_average", "raw_values"}, default="uniform_average"
        ``"raw_values"`` returns the error of each sample.
    rel_threshold : float, default=1e-2
        Relative norm at or below which a true sample is degenerate (see
        :func:`degenerate_target_mask`).

    Returns
    -------
    float or ndarray of shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_amfno.metrics import relative_l2_error
    >>> y = np.array([[3.0, 4.0]])
    >>> round(relative_l2_error(y, y + np.array([[0.3, 0.4]])), 12)
    0.1

    A zero target is measured against the typical norm (here ``5 / sqrt(2)``):

    >>> y = np.array([[3.0, 4.0], [0.0, 0.0]])
    >>> relative_l2_error(y, y + 0.1, multioutput="raw_values").round(4)
    array([0.0283, 0.04  ])
    """
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred shapes differ: {y_true.shape} vs {y_pred.shape}.")
    if multioutput not in ("uniform_average", "raw_values"):
        raise ValueError(f"multioutput must be 'uniform_average' or 'raw_values', got {multioutput!r}.")
    true, pred = _as_samples(y_true, "y_true"), _as_samples(y_pred, "y_pred")
    with np.errstate(over="ignore"):
        diff = _sample_norms(pred - true)
    norms = _sample_norms(true)
    ref = _root_mean_square(norms)
    if ref == 0:
        warnings.warn(
            "relative_l2_error: every true sample is zero, so the relative error is undefined; "
            "returning the absolute L2 error of each sample instead.",
            UndefinedMetricWarning,
            stacklevel=2,
        )
    denominators = np.where(norms <= rel_threshold * ref, ref if ref > 0 else 1.0, norms)
    errors = diff / denominators
    return errors if multioutput == "raw_values" else float(errors.mean())


relative_l2_scorer = make_scorer(relative_l2_error, greater_is_better=False)
"""Scorer for ``GridSearchCV(scoring=relative_l2_scorer)``: the negated relative L2 error."""
