"""Error measures for gridded predictions."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import make_scorer


def relative_l2_error(y_true, y_pred, *, multioutput: str = "uniform_average") -> float | np.ndarray:
    """Relative L2 error ``||y_pred - y_true|| / ||y_true||`` per sample, averaged.

    The norm runs over every axis but the first (grid and channels), as in the AM-FNO and FNO papers.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, ...)
        Targets and predictions, same shape.
    multioutput : {"uniform_average", "raw_values"}, default="uniform_average"
        ``"raw_values"`` returns the error of each sample.

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
    """
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred shapes differ: {y_true.shape} vs {y_pred.shape}.")
    if y_true.ndim == 0 or len(y_true) == 0:
        raise ValueError(f"Expected at least one sample, got shape {y_true.shape}.")
    if multioutput not in ("uniform_average", "raw_values"):
        raise ValueError(f"multioutput must be 'uniform_average' or 'raw_values', got {multioutput!r}.")
    n = len(y_true)
    diff = np.linalg.norm((y_pred - y_true).reshape(n, -1), axis=1)
    norm = np.linalg.norm(y_true.reshape(n, -1), axis=1)
    errors = diff / np.maximum(norm, np.finfo(float).tiny)
    return errors if multioutput == "raw_values" else float(errors.mean())


relative_l2_scorer = make_scorer(relative_l2_error, greater_is_better=False)
"""Scorer for ``GridSearchCV(scoring=relative_l2_scorer)``: the negated relative L2 error."""
