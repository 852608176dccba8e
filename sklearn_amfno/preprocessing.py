"""Transformers on gridded arrays, for use in front of the operators in a ``Pipeline``.

- :class:`GridStandardScaler`: per-channel standardisation (any grid);
- :class:`GridResampler`: Fourier or linear resampling to another resolution, for training and
  testing at several resolutions (``docs/preprocessing.md``);
- :class:`GridFunctionTransformer`: a function and its inverse on gridded data (scikit-learn's
  ``FunctionTransformer`` for fields, e.g. ``np.log1p`` of a target in a
  ``TransformedTargetRegressor``);
- :func:`channel_statistics`: the one per-channel scaling rule.

Feature names (``get_feature_names_out``) follow the data contract: a "feature" is one value
of a sample, a grid point of a channel, counted in ``n_features_in_`` (``X.shape[1]`` for a
2-D ``X``, as in scikit-learn). The transformers that keep every value in place
(:class:`GridStandardScaler`, :class:`GridFunctionTransformer`) pass the input names through
(``x0, x1, ...``, in the C order of the array); :class:`GridResampler`, whose outputs are values
on another grid, names them after itself (``gridresampler0, gridresampler1, ...``), as
scikit-learn's ``PCA`` does.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    OneToOneFeatureMixin,
    TransformerMixin,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._compat import POSITIVE_INT, Options, StrOptions
from ._data_contract import check_grid_input

__all__ = [
    "GridFunctionTransformer",
    "GridResampler",
    "GridStandardScaler",
    "channel_mean_std",
    "channel_scale",
    "channel_statistics",
]


def channel_statistics(
    a: np.ndarray, axis: int = 1, sample_weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and scale of gridded data, over samples and grid.

    Parameters
    ----------
    a : ndarray
        Gridded data, e.g. ``(n_samples, n_channels, *grid)``.
    axis : int, default=1
        The channel axis.
    sample_weight : ndarray of shape (n_samples,) or None, default=None
        Weights of the samples (axis 0; not all zero): the weighted mean and standard deviation,
        as for ``k`` copies of a sample of weight ``k`` (a sample of weight 0 counts for nothing).

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
    mean, std = channel_mean_std(a, axis=axis, sample_weight=sample_weight)
    return mean, channel_scale(mean, std)


def channel_mean_std(
    a: np.ndarray, axis: int = 1, sample_weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of gridded data, over samples and grid.

    :func:`channel_statistics` before its scale rule; also what ``fit``'s pass over its data
    computes of each chunk (``_streaming.ChannelMoments`` merges them).

    Parameters
    ----------
    a : ndarray
        Gridded data, e.g. ``(n_samples, n_channels, *grid)``.
    axis : int, default=1
        The channel axis.
    sample_weight : ndarray of shape (n_samples,) or None, default=None
        Weights of the samples (axis 0; not all zero), as in :func:`channel_statistics`.

    Returns
    -------
    mean, std : ndarray of shape (n_channels,)
        float64 statistics.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_amfno.preprocessing import channel_mean_std
    >>> channel_mean_std(np.array([[[1.0, 3.0]], [[5.0, 7.0]]]))
    (array([4.]), array([2.23606798]))
    """
    axes = tuple(d for d in range(a.ndim) if d != axis % a.ndim)
    if sample_weight is None:
        return a.mean(axis=axes, dtype=np.float64), a.std(axis=axes, dtype=np.float64)
    # Every value of a sample carries the sample's weight.
    shape = [1] * a.ndim
    shape[0] = -1
    weights = np.broadcast_to(np.asarray(sample_weight, dtype=np.float64).reshape(shape), a.shape)
    mean = np.average(a, axis=axes, weights=weights)
    keep = [1] * a.ndim
    keep[axis % a.ndim] = -1
    std = np.sqrt(np.average((a - mean.reshape(keep)) ** 2, axis=axes, weights=weights))
    return mean, std


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
    per_point : bool, default=False
        ``True``: one mean and deviation per grid point and channel, over the samples
        (:class:`sklearn.preprocessing.StandardScaler` of the flattened data, neuraloperator's
        ``UnitGaussianNormalizer``). For inputs that vary between samples much less than over
        the grid, such as the body-fitted meshes of ``make_airfoil`` and ``make_pipe``: per
        channel, a mesh's deformation is ~0.1 % of its scale and the model sees nearly the same
        input for every sample; per point, each node's displacement from the mean mesh has unit
        deviation (on Airfoil, 20 epochs: AM-FNO 0.060 against the mean field's 0.135, see
        ``docs/paper_results.md``). The statistics then belong to the training grid: ``transform``
        refuses data on another grid. Points that never vary keep scale 1 (the rule of
        :func:`channel_statistics`), so they map to 0.

    Attributes
    ----------
    mean_ : ndarray of shape (n_channels,)
        Per-channel mean; with ``per_point=True``, the shape of one sample (``grid`` or
        ``(*grid, n_channels)``): the mean sample.
    scale_ : ndarray of shape (n_channels,)
        Per-channel standard deviation (1 for a constant channel, see :func:`channel_statistics`);
        with ``per_point=True``, per point, the shape of one sample.
    n_channels_in_ : int
        Channels seen during fit.
    n_features_in_ : int
        Values per training sample.

    Notes
    -----
    ``get_feature_names_out()`` passes the input names through (``x0, ..., x{n-1}`` for the
    ``n_features_in_`` values of a training sample, in the C order of the array), as
    scikit-learn's one-to-one transformers do: each output value is its input value, rescaled.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_amfno.preprocessing import GridStandardScaler
    >>> X = np.arange(12.0).reshape(3, 4)
    >>> Xt = GridStandardScaler().fit_transform(X)
    >>> round(float(Xt.mean()), 12), round(float(Xt.std()), 12)
    (0.0, 1.0)
    """

    def __init__(self, channel_axis=None, per_point=False):
        self.channel_axis = channel_axis
        self.per_point = per_point

    def _check(self, X, fitted: bool) -> np.ndarray:
        if self.channel_axis not in (None, -1):
            raise ValueError(f"channel_axis must be None or -1, got {self.channel_axis!r}.")
        if not isinstance(self.per_point, bool | np.bool_):
            raise TypeError(
                f"per_point must be a bool, got {self.per_point!r} of type {type(self.per_point).__name__}."
            )
        Xc = check_grid_input(
            X,
            channel_axis=self.channel_axis,
            n_channels=self.n_channels_in_ if fitted else None,
            estimator=self,
            dtype=np.float64,
        )
        if fitted and self.per_point and Xc.shape[2:] != self._grid:
            raise ValueError(
                f"GridStandardScaler(per_point=True) was fitted on the grid {self._grid} and has one "
                f"mean and scale per point of it; X is on the grid {Xc.shape[2:]}. Resample X to the "
                "fitted grid (GridResampler), or use per_point=False, whose statistics apply to any grid."
            )
        return Xc

    @property
    def _grid(self) -> tuple[int, ...]:
        """The fitted grid (per-point statistics)."""
        shape = self.mean_.shape
        return tuple(shape[:-1] if self.channel_axis == -1 else shape)

    def _user_layout(self, Xc: np.ndarray) -> np.ndarray:
        """Checked ``(n_samples, n_channels, *grid)`` data in the caller's layout, where both kinds of
        statistics broadcast: per channel over a trailing channel axis (or the one channel), per
        point as one sample."""
        return np.moveaxis(Xc, 1, -1) if self.channel_axis == -1 else Xc[:, 0]

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
        if self.per_point:
            Xu = self._user_layout(Xc)
            mean, std = Xu.mean(axis=0, dtype=np.float64), Xu.std(axis=0, dtype=np.float64)
            self.mean_, self.scale_ = mean, channel_scale(mean, std)
        else:
            self.mean_, self.scale_ = channel_statistics(Xc, axis=1)
        self.n_channels_in_ = Xc.shape[1]
        self.n_features_in_ = int(np.prod(Xc.shape[1:]))
        return self

    def _apply(self, X, forward: bool) -> np.ndarray:
        check_is_fitted(self)
        Xu = self._user_layout(self._check(X, fitted=True))
        return (Xu - self.mean_) / self.scale_ if forward else Xu * self.scale_ + self.mean_

    def transform(self, X):
        """Standardise ``X`` (any grid of the fitted channel count; the fitted grid with
        ``per_point=True``).

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


# -- functions ---------------------------------------------------------------------------------------


def _identity(X):
    return X


class GridFunctionTransformer(TransformerMixin, BaseEstimator):
    """Apply a function (and its inverse) to gridded data: scikit-learn's ``FunctionTransformer`` for fields.

    :class:`sklearn.preprocessing.FunctionTransformer` checks its input as a 2-D table when
    ``validate=True``, which :class:`~sklearn.compose.TransformedTargetRegressor` sets for its
    ``func``/``inverse_func``: a field target ``(n_samples, *grid)`` of a 2-D or 3-D grid is
    refused (``Found array with dim 3``). This transformer checks ``X`` against the package's
    data contract instead (1-D, 2-D and 3-D grids, optionally channels last; finite values),
    and applies the function to the array in the layout it came in. Give it to
    ``TransformedTargetRegressor(transformer=...)`` to learn a transformed field target.

    Parameters
    ----------
    func : callable or None, default=None
        The function applied by ``transform``, ``func(X, **kw_args)``, on the array in its
        layout (``(n_samples, *grid)`` or ``(n_samples, *grid, n_channels)``); it must return
        an array of that shape. ``None``: the identity.
    inverse_func : callable or None, default=None
        The function applied by ``inverse_transform``, ``inverse_func(X, **inv_kw_args)``.
        ``None``: the identity.
    validate : bool, default=True
        Check ``X`` (``fit``, ``transform`` and ``inverse_transform``) against the data
        contract: 1 to 3 grid axes, the channel count and number of grid axes seen in ``fit``,
        finite numbers (converted to float64). ``False`` hands ``X`` to the function as it
        came.
    check_inverse : bool, default=True
        At ``fit``, warn (``UserWarning``) when ``inverse_func(func(X))`` is not ``X`` on every
        100th sample (``np.allclose``), as scikit-learn does. Only when both functions are given.
    feature_names_out : "one-to-one", callable or None, default="one-to-one"
        What ``get_feature_names_out`` returns: ``"one-to-one"`` (the default, unlike
        scikit-learn's ``None``: a function of a field acts on each value, so each output value
        keeps its input's name), a callable ``feature_names_out(transformer, input_features)``,
        or ``None`` (no ``get_feature_names_out``).
    channel_axis : None or -1, default=None
        ``None``: ``X`` is ``(n_samples, *grid)``; ``-1``: ``(n_samples, *grid, n_channels)``.
    kw_args : dict or None, default=None
        Keyword arguments of ``func``.
    inv_kw_args : dict or None, default=None
        Keyword arguments of ``inverse_func``.

    Attributes
    ----------
    n_dim_ : int
        Grid axes seen in ``fit`` (with ``validate=True``).
    n_channels_in_ : int
        Channels seen in ``fit`` (with ``validate=True``).
    n_features_in_ : int
        Values per training sample (with ``validate=True``).

    See Also
    --------
    sklearn.preprocessing.FunctionTransformer : the same for 2-D tables.

    Examples
    --------
    A log-transformed field target on a 2-D grid:

    >>> import numpy as np
    >>> from sklearn.compose import TransformedTargetRegressor
    >>> from sklearn_amfno import FNORegressor
    >>> from sklearn_amfno.preprocessing import GridFunctionTransformer
    >>> X = np.random.default_rng(0).standard_normal((8, 8, 8))
    >>> log = GridFunctionTransformer(np.log1p, np.expm1)
    >>> model = TransformedTargetRegressor(
    ...     regressor=FNORegressor(n_modes=2, width=4, max_epochs=1, random_state=0),
    ...     transformer=log,
    ... ).fit(X, np.exp(X))
    >>> model.predict(X).shape
    (8, 8, 8)
    >>> log.fit(np.exp(X)).get_feature_names_out()[:3]
    array(['x0', 'x1', 'x2'], dtype=object)
    """

    _parameter_constraints: dict = {
        "func": [callable, None],
        "inverse_func": [callable, None],
        "validate": ["boolean"],
        "check_inverse": ["boolean"],
        "feature_names_out": [callable, StrOptions({"one-to-one"}), None],
        "channel_axis": [None, Options(numbers.Integral, {-1})],
        "kw_args": [dict, None],
        "inv_kw_args": [dict, None],
    }

    def __init__(
        self,
        func: Callable | None = None,
        inverse_func: Callable | None = None,
        *,
        validate: bool = True,
        check_inverse: bool = True,
        feature_names_out: str | Callable | None = "one-to-one",
        channel_axis: int | None = None,
        kw_args: dict | None = None,
        inv_kw_args: dict | None = None,
    ):
        self.func = func
        self.inverse_func = inverse_func
        self.validate = validate
        self.check_inverse = check_inverse
        self.feature_names_out = feature_names_out
        self.channel_axis = channel_axis
        self.kw_args = kw_args
        self.inv_kw_args = inv_kw_args

    def _check(self, X, fitted: bool):
        """``X`` checked against the data contract, in its own layout (float64); as given without
        ``validate``."""
        if not self.validate:
            return X
        Xc = check_grid_input(
            X,
            channel_axis=self.channel_axis,
            n_dim=getattr(self, "n_dim_", None) if fitted else None,
            n_channels=getattr(self, "n_channels_in_", None) if fitted else None,
            estimator=self,
            dtype=np.float64,
        )
        return np.moveaxis(Xc, 1, -1) if self.channel_axis == -1 else Xc[:, 0]

    def _apply(self, func: Callable | None, X, kw_args: dict | None):
        out = (func or _identity)(X, **(kw_args or {}))
        if self.validate and np.shape(out) != np.shape(X):
            name = getattr(func, "__name__", repr(func))
            raise ValueError(
                f"GridFunctionTransformer: {name} turned X of shape {np.shape(X)} into an array of "
                f"shape {np.shape(out)}; a function of gridded data must keep the shape (or pass "
                "validate=False)."
            )
        return out

    def fit(self, X, y=None):
        """Check ``X`` and, with ``check_inverse``, that ``inverse_func`` undoes ``func``.

        Parameters
        ----------
        X : array-like of shape (n_samples, *grid) or (n_samples, *grid, n_channels)
            Gridded data (see ``channel_axis``); anything ``func`` takes with ``validate=False``.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        self._validate_params()
        Xc = self._check(X, fitted=False)
        if self.validate:
            shape = np.shape(Xc)
            self.n_dim_ = len(shape) - (1 if self.channel_axis is None else 2)
            self.n_channels_in_ = 1 if self.channel_axis is None else int(shape[-1])
            self.n_features_in_ = int(np.prod(shape[1:]))
        if self.check_inverse and self.func is not None and self.inverse_func is not None:
            sample = Xc[:: max(1, len(Xc) // 100)]
            round_trip = self._apply(
                self.inverse_func, self._apply(self.func, sample, self.kw_args), self.inv_kw_args
            )
            if not np.allclose(sample, round_trip, equal_nan=True):
                warnings.warn(
                    "GridFunctionTransformer: inverse_func(func(X)) differs from X on the samples "
                    "checked: the functions are not inverses of each other. Pass "
                    "check_inverse=False if that is intended.",
                    UserWarning,
                    stacklevel=2,
                )
        return self

    def transform(self, X):
        """Apply ``func`` to ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, *grid) or (n_samples, *grid, n_channels)
            Gridded data: any grid of the fitted dimension and channel count.

        Returns
        -------
        X_new : ndarray of the same shape
        """
        check_is_fitted(self)
        return self._apply(self.func, self._check(X, fitted=True), self.kw_args)

    def inverse_transform(self, X):
        """Apply ``inverse_func`` to ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, *grid) or (n_samples, *grid, n_channels)
            Transformed gridded data.

        Returns
        -------
        X_original : ndarray of the same shape
        """
        check_is_fitted(self)
        return self._apply(self.inverse_func, self._check(X, fitted=True), self.inv_kw_args)

    @available_if(lambda self: self.feature_names_out is not None)
    def get_feature_names_out(self, input_features=None):
        """Names of the output values of a sample.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Names of the ``n_features_in_`` input values; ``None``: ``x0, ..., x{n-1}``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            The input names (``feature_names_out="one-to-one"``) or what the callable returns.
        """
        names = OneToOneFeatureMixin.get_feature_names_out(self, input_features)
        if callable(self.feature_names_out):
            names = self.feature_names_out(self, names)
        return np.asarray(names, dtype=object)

    def __sklearn_is_fitted__(self) -> bool:
        # Stateless without validation, as scikit-learn's FunctionTransformer; with it, fit
        # records the grid and channels that transform checks.
        return not self.validate or hasattr(self, "n_features_in_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = self.validate
        tags.input_tags.allow_nan = not self.validate
        return tags


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


class GridResampler(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
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

    Notes
    -----
    ``get_feature_names_out()`` names the values of a transformed sample
    ``gridresampler0, ..., gridresampler{m-1}`` (``m = prod(grid_shape_) * n_channels_in_``, in
    the C order of the output array): they lie on a new grid, so the input names do not carry
    over (scikit-learn's rule for transformers that make new features, as ``PCA``).

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

    @property
    def _n_features_out(self) -> int:
        """Values per transformed sample (``get_feature_names_out``'s count)."""
        return int(np.prod(self.grid_shape_)) * self.n_channels_in_

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
