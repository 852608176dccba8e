"""Transformers on gridded arrays, for use in front of the operators in a ``Pipeline``."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._data_contract import check_grid_input


def channel_statistics(a: np.ndarray, axis: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and scale of gridded data, over samples and grid.

    Parameters
    ----------
    a : ndarray
        Gridded data, e.g. ``(n_samples, n_channels, *grid)``.
    axis : int, default=1
        The channel axis.

    Returns
    -------
    mean, scale : ndarray of shape (n_channels,)
        float64 statistics.

    Notes
    -----
    The scale is the standard deviation, except for a constant channel (deviation below
    ``1e-8 * max(|mean|, 1)``, i.e. rounding noise), whose scale is 1: it carries no scale, and
    dividing by ~0 would blow it up. The operators' input/target scaling and
    :class:`GridStandardScaler` both follow this one rule.
    """
    axes = tuple(d for d in range(a.ndim) if d != axis % a.ndim)
    mean = a.mean(axis=axes, dtype=np.float64)
    std = a.std(axis=axes, dtype=np.float64)
    scale = np.where(std > 1e-8 * np.maximum(np.abs(mean), 1.0), std, 1.0)
    return mean, scale


class GridStandardScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Standardise each channel of gridded data by its mean and deviation over samples and grid.

    Unlike :class:`sklearn.preprocessing.StandardScaler`, which scales every grid point on its
    own, the statistics here are per channel, so a fitted scaler applies unchanged to data on any
    grid (e.g. the finer grid of a super-resolution prediction).

    Parameters
    ----------
    channel_axis : None or -1, default=None
        ``None``: ``X`` is ``(n_samples, *grid)``; ``-1``: ``(n_samples, *grid, n_channels)``.

    Attributes
    ----------
    mean_ : ndarray of shape (n_channels,)
        Per-channel mean.
    scale_ : ndarray of shape (n_channels,)
        Per-channel standard deviation (1 for a constant channel, see :func:`channel_statistics`).
    n_channels_in_ : int
        Channels seen during fit.
    n_features_in_ : int
        Values per training sample.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_amfno.preprocessing import GridStandardScaler
    >>> X = np.arange(12.0).reshape(3, 4)
    >>> Xt = GridStandardScaler().fit_transform(X)
    >>> round(float(Xt.mean()), 12), round(float(Xt.std()), 12)
    (0.0, 1.0)
    """

    def __init__(self, channel_axis=None):
        self.channel_axis = channel_axis

    def _check(self, X, fitted: bool) -> np.ndarray:
        if self.channel_axis not in (None, -1):
            raise ValueError(f"channel_axis must be None or -1, got {self.channel_axis!r}.")
        return check_grid_input(
            X,
            channel_axis=self.channel_axis,
            n_channels=self.n_channels_in_ if fitted else None,
            estimator=self,
            dtype=np.float64,
        )

    def fit(self, X, y=None):
        """Compute the per-channel mean and standard deviation of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, *grid) or (n_samples, *grid, n_channels)
            Gridded data (see ``channel_axis``).
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted scaler.
        """
        Xc = self._check(X, fitted=False)
        self.mean_, self.scale_ = channel_statistics(Xc, axis=1)
        self.n_channels_in_ = Xc.shape[1]
        self.n_features_in_ = int(np.prod(Xc.shape[1:]))
        return self

    def _apply(self, X, forward: bool) -> np.ndarray:
        check_is_fitted(self)
        Xc = self._check(X, fitted=True)
        shape = (1, -1) + (1,) * (Xc.ndim - 2)
        mean, scale = self.mean_.reshape(shape), self.scale_.reshape(shape)
        out = (Xc - mean) / scale if forward else Xc * scale + mean
        return np.moveaxis(out, 1, -1) if self.channel_axis == -1 else out[:, 0]

    def transform(self, X):
        """Standardise ``X`` (any grid of the fitted channel count).

        Parameters
        ----------
        X : array-like of shape (n_samples, *grid) or (n_samples, *grid, n_channels)
            Gridded data.

        Returns
        -------
        X_new : ndarray of the same shape
        """
        return self._apply(X, forward=True)

    def inverse_transform(self, X):
        """Undo :meth:`transform`.

        Parameters
        ----------
        X : array-like of shape (n_samples, *grid) or (n_samples, *grid, n_channels)
            Standardised gridded data.

        Returns
        -------
        X_original : ndarray of the same shape
        """
        return self._apply(X, forward=False)
