"""Transformers on gridded arrays, for use in front of the operators in a ``Pipeline``.

- :class:`GridStandardScaler`: per-channel standardisation (any grid);
- :class:`GridResampler`: Fourier or linear resampling to another resolution, for training and
  testing at several resolutions (``docs/preprocessing.md``);
- :func:`channel_statistics`: the one per-channel scaling rule.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._compat import POSITIVE_INT, Options, StrOptions
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
    return mean, channel_scale(mean, std)


def channel_scale(mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """The scale :func:`channel_statistics` gives channels of this mean and standard deviation.

    The standard deviation, or 1 for a constant channel (deviation below
    ``1e-8 * max(|mean|, 1)``); one rule for in-memory and streamed statistics.

    Parameters
    ----------
    mean, std : ndarray of shape (n_channels,)
        Per-channel mean and standard deviation.

    Returns
    -------
    scale : ndarray of shape (n_channels,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_amfno.preprocessing import channel_scale
    >>> channel_scale(np.array([0.0, 5.0]), np.array([2.0, 0.0]))
    array([2., 1.])
    """
    return np.where(std > 1e-8 * np.maximum(np.abs(mean), 1.0), std, 1.0)


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


# -- resampling ------------------------------------------------------------------------------------


def _fourier_resample(a: np.ndarray, m: int, axis: int) -> np.ndarray:
    """The trigonometric interpolant of ``a`` along a periodic ``axis``, sampled at ``m`` points.

    Upsampling pads the spectrum with zeros: a band-limited periodic signal is reproduced exactly.
    Downsampling keeps the modes ``|k| <= m // 2`` (a low-pass filter, then sampling), so content
    above the new grid's Nyquist wavenumber is removed instead of aliased. The Nyquist mode of an
    even grid is a cosine: split in half between ``+-n/2`` when refining, and its cosine part
    kept when coarsening to an even grid.
    """
    n = a.shape[axis]
    spectrum = np.moveaxis(np.fft.rfft(a, axis=axis), axis, -1)
    out = np.zeros(spectrum.shape[:-1] + (m // 2 + 1,), dtype=spectrum.dtype)
    keep = min(n, m) // 2 + 1
    out[..., :keep] = spectrum[..., :keep]
    if m > n and n % 2 == 0:
        out[..., n // 2] *= 0.5
    elif m < n and m % 2 == 0:
        out[..., m // 2] = 2.0 * out[..., m // 2].real
    resampled = np.fft.irfft(out * (m / n), n=m, axis=-1)
    return np.moveaxis(resampled, -1, axis)


def _linear_resample(a: np.ndarray, m: int, axis: int, periodic: bool) -> np.ndarray:
    """Linear interpolation along ``axis`` from ``n`` to ``m`` points.

    Periodic: points ``j / n`` on ``[0, 1)``, the last interval wrapping to the first point.
    Otherwise: points ``linspace(0, 1, n)`` (both ends on the grid), so the ends map onto each
    other and, e.g., every second point of 2k + 1 is the grid of k + 1 points exactly.
    """
    n = a.shape[axis]
    i = np.arange(m)
    # Positions in units of the input spacing as exact fractions (numerator // denominator), so
    # that points shared by both grids are hit exactly.
    if periodic:
        numerator, denominator = i * n, m
    else:
        numerator, denominator = i * (n - 1), max(m - 1, 1)
    left = numerator // denominator
    if not periodic:
        left = np.minimum(left, max(n - 2, 0))
    frac = (numerator - left * denominator) / denominator
    right = (left + 1) % n if periodic else np.minimum(left + 1, n - 1)
    shape = [1] * a.ndim
    shape[axis] = m
    frac = frac.reshape(shape)
    return (1.0 - frac) * np.take(a, left, axis=axis) + frac * np.take(a, right, axis=axis)


class GridResampler(TransformerMixin, BaseEstimator):
    """Resample gridded data to another resolution (Fourier or linear interpolation).

    For training and testing at several resolutions in a ``Pipeline``: in front of an operator it
    brings every input to one grid, e.g. fine data down to the grid a model was trained on, or
    coarse data up to it. ``transform`` accepts any grid of the fitted dimension and returns
    ``grid_shape``; ``inverse_transform`` returns the grid seen in ``fit``. Each grid axis is
    resampled in turn (the methods are separable).

    - ``method="fourier"`` (periodic data, grid points ``x_j = j / n``, the convention of the
      package's periodic generators): the trigonometric interpolant. Exact for band-limited
      periodic signals, up and down, as long as the signal's wavenumbers are below the coarser
      grid's Nyquist wavenumber; content above it is cut off (low-pass), not aliased.
    - ``method="linear"``: piecewise-linear interpolation, exact for (multi)linear functions. With
      ``periodic=True`` on the grid ``j / n`` of ``[0, 1)`` (wrapping around); with
      ``periodic=False`` on ``linspace(0, 1, n)`` (both end points on the grid, the convention of
      ``make_darcy`` and of FNO's Darcy files), so that subsampling ``421 -> 211 -> 106`` points
      selects every second point exactly.

    A transformer in a ``Pipeline`` transforms only ``X``: to resample ``y`` as well, wrap the
    pipeline in :class:`~sklearn.compose.TransformedTargetRegressor` with a second resampler (it
    also maps predictions back to ``y``'s grid), or resample ``y`` before ``fit``
    (``docs/preprocessing.md``).

    Parameters
    ----------
    grid_shape : int, tuple of int or None, default=None
        The target grid: points per axis (one int for every axis). ``None``: the grid of the data
        seen in ``fit``, so that a fitted resampler brings data of any resolution to it.
    method : {"fourier", "linear"}, default="fourier"
        Trigonometric (spectral) or linear interpolation.
    periodic : bool, default=True
        Whether the data are periodic (grid ``j / n``) or sampled with both end points
        (``linspace(0, 1, n)``). ``method="fourier"`` requires periodic data.
    channel_axis : None or -1, default=None
        ``None``: ``X`` is ``(n_samples, *grid)``; ``-1``: ``(n_samples, *grid, n_channels)``.

    Attributes
    ----------
    grid_shape_ : tuple of int
        The grid ``transform`` returns.
    input_grid_shape_ : tuple of int
        The grid seen in ``fit``, which ``inverse_transform`` returns.
    n_dim_ : int
        Grid axes.
    n_channels_in_ : int
        Channels seen during fit.
    n_features_in_ : int
        Values per training sample.

    Examples
    --------
    A band-limited periodic signal, refined from 8 to 32 points and coarsened back, exactly:

    >>> import numpy as np
    >>> from sklearn_amfno.preprocessing import GridResampler
    >>> x8, x32 = np.arange(8) / 8, np.arange(32) / 32
    >>> X = np.sin(2 * np.pi * 3 * x8)[np.newaxis]
    >>> fine = GridResampler(32).fit_transform(X)
    >>> bool(np.allclose(fine, np.sin(2 * np.pi * 3 * x32)))
    True
    >>> bool(np.allclose(GridResampler(8).fit_transform(fine), X))
    True

    Linear resampling of end-point grids keeps the shared points:

    >>> Z = np.linspace(0, 1, 5)[np.newaxis] ** 2
    >>> GridResampler(3, method="linear", periodic=False).fit_transform(Z)
    array([[0.  , 0.25, 1.  ]])
    """

    _parameter_constraints: dict = {
        "grid_shape": [None, tuple, list] + POSITIVE_INT,
        "method": [StrOptions({"fourier", "linear"})],
        "periodic": ["boolean"],
        "channel_axis": [None, Options(numbers.Integral, {-1})],
    }

    def __init__(self, grid_shape=None, *, method="fourier", periodic=True, channel_axis=None):
        self.grid_shape = grid_shape
        self.method = method
        self.periodic = periodic
        self.channel_axis = channel_axis

    def _check(self, X, fitted: bool) -> np.ndarray:
        return check_grid_input(
            X,
            channel_axis=self.channel_axis,
            n_dim=self.n_dim_ if fitted else None,
            n_channels=self.n_channels_in_ if fitted else None,
            estimator=self,
            dtype=np.float64,
        )

    def fit(self, X, y=None):
        """Check the parameters against ``X`` and record its grid.

        Parameters
        ----------
        X : array-like of shape (n_samples, *grid) or (n_samples, *grid, n_channels)
            Gridded data (see ``channel_axis``).
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted resampler.
        """
        self._validate_params()
        if self.method == "fourier" and not self.periodic:
            raise ValueError(
                "GridResampler: method='fourier' interpolates periodic data (periodic=True); "
                "got periodic=False. Use method='linear' for data sampled with both end points."
            )
        Xc = self._check(X, fitted=False)
        grid = tuple(int(n) for n in Xc.shape[2:])
        if self.grid_shape is None:
            target = grid
        elif isinstance(self.grid_shape, numbers.Integral):
            target = (int(self.grid_shape),) * len(grid)
        else:
            target = tuple(self.grid_shape)
            if len(target) != len(grid) or not all(
                isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1 for n in target
            ):
                raise ValueError(
                    f"GridResampler: grid_shape must be an int >= 1 or {len(grid)} ints >= 1 (one "
                    f"per grid axis of X, grid {grid}); got grid_shape={self.grid_shape!r}."
                )
            target = tuple(int(n) for n in target)
        self.grid_shape_ = target
        self.input_grid_shape_ = grid
        self.n_dim_ = len(grid)
        self.n_channels_in_ = Xc.shape[1]
        self.n_features_in_ = int(np.prod(Xc.shape[1:]))
        return self

    def _resample(self, X, grid: tuple[int, ...]) -> np.ndarray:
        check_is_fitted(self)
        out = self._check(X, fitted=True)
        for axis, m in enumerate(grid, start=2):
            if out.shape[axis] == m:
                continue  # the identity, exactly
            if self.method == "fourier":
                out = _fourier_resample(out, m, axis)
            else:
                out = _linear_resample(out, m, axis, self.periodic)
        return np.moveaxis(out, 1, -1) if self.channel_axis == -1 else out[:, 0]

    def transform(self, X):
        """Resample ``X`` (any grid of the fitted dimension) to ``grid_shape_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, *grid) or (n_samples, *grid, n_channels)
            Gridded data.

        Returns
        -------
        X_new : ndarray
            float64, of shape ``(n_samples, *grid_shape_)`` or
            ``(n_samples, *grid_shape_, n_channels)``.
        """
        return self._resample(X, self.grid_shape_)

    def inverse_transform(self, X):
        """Resample ``X`` (any grid of the fitted dimension) to the grid seen in ``fit``.

        Exact after :meth:`transform` only for data the forward resampling represents exactly
        (e.g. refining, or coarsening band-limited periodic data).

        Parameters
        ----------
        X : array-like of shape (n_samples, *grid) or (n_samples, *grid, n_channels)
            Gridded data.

        Returns
        -------
        X_original : ndarray
            float64, of shape ``(n_samples, *input_grid_shape_)`` or
            ``(n_samples, *input_grid_shape_, n_channels)``.
        """
        return self._resample(X, self.input_grid_shape_)
