"""Error measures for gridded predictions.

- :func:`relative_l2_error`: the papers' relative L2 error per sample, averaged;
- :func:`rollout_error`: the relative L2 error of each time step of a rollout (frame-major
  channels, as the time-dependent data of :mod:`sklearn_amfno.datasets`);
- :func:`spectral_error`: the mean squared error split into wavenumber bands ("low", "mid",
  "high", PDEBench's band edges 4 and 12), or into radial wavenumber shells; the bands add up to
  the mean squared error (Parseval);
- :func:`relative_h1_error`: the relative H1 error on the periodic unit domain (spectral
  derivatives);
- scorers for :class:`~sklearn.model_selection.GridSearchCV`: ``relative_l2_scorer``,
  ``rollout_error_scorer``, ``spectral_high_error_scorer``, ``relative_h1_scorer`` (each the
  negated error, so that greater is better), and :func:`field_scorer`, which makes any of
  scikit-learn's scorers (``field_scorer("r2")``) score fields.

Gridded arrays follow the package's data contract: ``(n_samples, *grid)`` with
``channel_axis=None``, or ``(n_samples, *grid, n_channels)`` with ``channel_axis=-1``, on 1-D,
2-D and 3-D grids.

The relative L2 error of a sample whose target is zero (or tiny next to the others) is undefined
(or meaningless): such a **degenerate** sample is measured against the typical target norm
instead of its own, by the rule of :class:`sklearn_amfno.nn.losses.RelativeL2Loss` (the module
docstring of :mod:`sklearn_amfno.nn.losses` gives the reasons). :func:`degenerate_target_mask`
tells which samples that concerns. :func:`rollout_error` applies the rule to each time step and
:func:`relative_h1_error` to the H1 norms.

Like scikit-learn's metrics, every function here refuses NaN and infinite values in its inputs
(ValueError naming the argument and counting the samples concerned): a NaN error would
otherwise pass silently through averages, comparisons and model selection.
"""

from __future__ import annotations

import inspect
import math
import numbers
import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import get_scorer, make_scorer, r2_score
from sklearn.utils.validation import _check_sample_weight

from ._compat import POSITIVE_INT, BaseScorer, Options, StrOptions, validate_params
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


def _check_finite(a: np.ndarray, name: str) -> None:
    """Refuse NaN and infinity in ``a`` (at least 1-D), counting the samples that hold them.

    scikit-learn's metrics refuse them too ("Input contains NaN"); a NaN error would otherwise
    reach averages and model selection silently.
    """
    finite = np.isfinite(a)
    if finite.all():
        return
    bad = ~finite.reshape(len(a), -1)
    n_nan = int(np.isnan(a).reshape(len(a), -1).any(axis=1).sum())
    cause = " (a diverged or overflowing model)" if name == "y_pred" else ""
    raise ValueError(
        f"Input {name} contains NaN or infinity in {int(bad.any(axis=1).sum())} of {len(a)} samples "
        f"({n_nan} with NaN){cause}: expected finite values. Drop or repair those samples before "
        "measuring."
    )


def _as_samples(y, name: str) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    if y.ndim == 0 or len(y) == 0:
        raise ValueError(f"Expected at least one sample in {name}, got shape {y.shape}.")
    _check_finite(y, name)
    return y.reshape(len(y), -1)


def _root_mean_square(norms: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    if sample_weight is None:
        top = norms.max()
        return float(np.sqrt(np.mean((norms / top) ** 2)) * top) if top > 0 else 0.0
    # Weighted: a sample of weight 0 counts for nothing, one of weight k as k copies.
    top = norms[sample_weight > 0].max()
    return float(np.sqrt(np.average((norms / top) ** 2, weights=sample_weight)) * top) if top > 0 else 0.0


def _weights(sample_weight, y: np.ndarray) -> np.ndarray | None:
    """Checked sample weights (scikit-learn's rules: finite, non-negative, one per sample)."""
    if sample_weight is None:
        return None
    weights = _check_sample_weight(sample_weight, y, dtype=np.float64, ensure_non_negative=True)
    if not weights.any():
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return weights


def typical_norm(y) -> float:
    """The typical target norm: the root mean square of the per-sample L2 norms.

    The norm of a sample runs over every axis but the first (grid and channels).

    Parameters
    ----------
    y : array-like of shape (n_samples, ...)
        Targets, finite (NaN or infinity raises ValueError).

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
        Targets, finite; the norm of a sample runs over every axis but the first.
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
    sample_weight=None,
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
        Targets and predictions, same shape, finite (NaN or infinity raises ValueError).
    multioutput : {"uniform_average", "raw_values"}, default="uniform_average"
        ``"raw_values"`` returns the error of each sample.
    rel_threshold : float, default=1e-2
        Relative norm at or below which a true sample is degenerate (see
        :func:`degenerate_target_mask`).
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights: the average over samples and the typical norm ``ref`` are weighted (a
        sample of weight 0 counts for nothing, one of weight ``k`` as ``k`` copies).

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
    weights = _weights(sample_weight, true)
    errors = _relative_errors(
        diff, _sample_norms(true), rel_threshold, "relative_l2_error", "L2", sample_weight=weights
    )
    return errors if multioutput == "raw_values" else float(np.average(errors, weights=weights))


def _relative_errors(
    diff: np.ndarray,
    norms: np.ndarray,
    rel_threshold: float,
    caller: str,
    norm: str,
    where: str = "",
    stacklevel: int = 3,
    sample_weight: np.ndarray | None = None,
) -> np.ndarray:
    """``diff / norms`` per sample by the degenerate-target rule of :func:`relative_l2_error`.

    A sample with ``norms <= rel_threshold * ref`` (``ref``: the root mean square of ``norms``,
    weighted by ``sample_weight``) is divided by ``ref`` instead; if ``ref`` is 0, by 1 (the
    absolute error), with a warning that blames the caller of ``caller`` (``stacklevel=4``
    behind :func:`validate_params`).
    """
    ref = _root_mean_square(norms, sample_weight)
    if ref == 0:
        warnings.warn(
            f"{caller}: every true sample is zero{where}, so the relative error is undefined; "
            f"returning the absolute {norm} error of each sample instead.",
            UndefinedMetricWarning,
            stacklevel=stacklevel,
        )
    denominators = np.where(norms <= rel_threshold * ref, ref if ref > 0 else 1.0, norms)
    return diff / denominators


relative_l2_scorer = make_scorer(relative_l2_error, greater_is_better=False)
"""Scorer for ``GridSearchCV(scoring=relative_l2_scorer)``: the negated relative L2 error."""


# -- gridded arrays --------------------------------------------------------------------------------

_CHANNEL_AXIS = [None, Options(numbers.Integral, {-1})]
_N_DIM = [None] + POSITIVE_INT
_MULTIOUTPUT = [StrOptions({"uniform_average", "raw_values"})]


def _check_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """``y_true`` and ``y_pred`` as finite float64 arrays of one shape, with at least one sample."""
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred shapes differ: {y_true.shape} vs {y_pred.shape}.")
    if y_true.ndim == 0 or len(y_true) == 0:
        raise ValueError(f"Expected at least one sample in y_true, got shape {y_true.shape}.")
    _check_finite(y_true, "y_true")
    _check_finite(y_pred, "y_pred")
    return y_true, y_pred


def _channels_first(y: np.ndarray, n_dim: int | None, channel_axis: int | None) -> np.ndarray:
    """``y`` of the data contract's layout as ``(n_samples, n_channels, *grid)``."""
    if channel_axis is None:
        grid, layout = y.shape[1:], "(n_samples, *grid)"
    else:
        grid, layout = y.shape[1:-1], "(n_samples, *grid, n_channels)"
    if n_dim is not None and n_dim > 3:
        raise ValueError(f"Expected n_dim of 1, 2 or 3 (grid axes), got n_dim={n_dim!r}.")
    expected = (n_dim,) if n_dim is not None else (1, 2, 3)
    if len(grid) not in expected:
        wanted = f"{n_dim} grid axes" if n_dim is not None else "1, 2 or 3 grid axes"
        raise ValueError(
            f"Expected y_true and y_pred of layout {layout} with {wanted} (n_dim={n_dim!r}, "
            f"channel_axis={channel_axis!r}); got shape {y.shape}, i.e. {len(grid)} grid axes."
        )
    if min(grid) < 1 or (channel_axis is not None and y.shape[-1] < 1):
        raise ValueError(f"y_true of shape {y.shape} has an empty grid or channel axis.")
    return y[:, np.newaxis] if channel_axis is None else np.moveaxis(y, -1, 1)


def _mode_power(a: np.ndarray, n_dim: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Energy of each Fourier mode of ``a`` (real, ``(..., *grid)``), and the modes' wavenumbers.

    Real FFT over the last ``n_dim`` axes; a mode ``k`` and its mirror ``-k`` (same magnitude for
    real data) are held once on the halved last axis, so that row counts twice except ``k_d = 0``
    and, on an even axis, the Nyquist row. Normalised by ``N^2`` (``N`` grid points), so that by
    Parseval the energies of all modes add up to the **mean over the grid** of ``a**2``.
    The wavenumbers are physical (integer cycles per unit domain, ``fftfreq(n, 1 / n)``), one
    array per grid axis, shaped to broadcast against the last ``n_dim`` axes of the energies.
    """
    grid = a.shape[-n_dim:]
    coefficients = np.fft.rfftn(a, axes=tuple(range(-n_dim, 0)))
    power = coefficients.real**2 + coefficients.imag**2
    last = grid[-1]
    weight = np.full(last // 2 + 1, 2.0)
    weight[0] = 1.0
    if last % 2 == 0:
        weight[-1] = 1.0
    power *= weight / float(math.prod(grid)) ** 2
    axes = [np.fft.fftfreq(n, 1.0 / n) for n in grid[:-1]] + [np.fft.rfftfreq(last, 1.0 / last)]
    wavenumbers = [np.abs(k).reshape((1,) * d + (-1,) + (1,) * (n_dim - d - 1)) for d, k in enumerate(axes)]
    return power, wavenumbers


# -- rollouts --------------------------------------------------------------------------------------


@validate_params(
    {
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "n_fields": POSITIVE_INT,
        "channel_axis": _CHANNEL_AXIS,
    },
    prefer_skip_nested_validation=True,
)
def rollout_error(y_true, y_pred, n_fields: int = 1, *, channel_axis: int | None = -1) -> np.ndarray:
    """Relative L2 error of each time step of a rollout, averaged over samples.

    Time-dependent targets are **frame-major** in the channel axis (docs/architecture.md): all
    ``n_fields`` fields of step 1, then those of step 2, ..., so ``n_channels = n_steps * n_fields``.
    The error of step ``k`` is :func:`relative_l2_error` of that step's frames alone:
    ``||pred_k - true_k|| / ||true_k||`` per sample, the norm over the grid and the step's fields,
    averaged over samples, with the same degenerate-target rule (a sample whose step-``k`` norm is
    at most 1 % of the typical step-``k`` norm is measured against the typical norm).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, *grid, n_steps * n_fields)
        True and predicted trajectories, 1-D, 2-D or 3-D grids, finite (NaN or infinity raises
        ValueError). With ``channel_axis=None`` the arrays are ``(n_samples, *grid)``: a single
        frame of one field.
    n_fields : int, default=1
        Fields per time step (e.g. 2 for velocity components); must divide the channel count.
    channel_axis : -1 or None, default=-1
        ``-1``: the last axis holds the frames. ``None``: there is no channel axis, so the
        trajectory is one frame and the result has one entry.

    Returns
    -------
    ndarray of shape (n_steps,)
        The error of each step, in time order.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_amfno.metrics import rollout_error
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((4, 32, 3))  # 3 steps of one field on a 1-D grid
    >>> pred = y * np.array([1.0, 1.1, 1.2])  # an error growing by 10 % per step
    >>> rollout_error(y, pred).round(6)
    array([0. , 0.1, 0.2])

    Two fields per step (channels: step 1 field a, step 1 field b, step 2 field a, ...):

    >>> rollout_error(np.ones((2, 8, 8, 4)), np.full((2, 8, 8, 4), 1.5), n_fields=2)
    array([0.5, 0.5])
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    true = _channels_first(y_true, None, channel_axis)
    pred = _channels_first(y_pred, None, channel_axis)
    n_samples, n_channels = true.shape[:2]
    if n_channels % n_fields:
        raise ValueError(
            f"rollout_error: expected a channel count divisible by n_fields={n_fields} "
            f"(n_steps * n_fields, frame-major); got {n_channels} channels in shape {y_true.shape}."
        )
    n_steps = n_channels // n_fields
    # (n, n_steps * n_fields, *grid) -> (n_steps, n, n_fields * grid points)
    true = true.reshape(n_samples, n_steps, -1).swapaxes(0, 1)
    pred = pred.reshape(n_samples, n_steps, -1).swapaxes(0, 1)
    errors = np.empty(n_steps)
    for step in range(n_steps):
        with np.errstate(over="ignore"):
            diff = _sample_norms(pred[step] - true[step])
        per_sample = _relative_errors(
            diff,
            _sample_norms(true[step]),
            DEGENERATE_THRESHOLD,
            "rollout_error",
            "L2",
            where=f" at step {step}",
            stacklevel=4,
        )
        errors[step] = per_sample.mean()
    return errors


# -- wavenumber bands ------------------------------------------------------------------------------

#: PDEBench's band edges (``iLow=4``, ``iHigh=12``): low ``[0, 4)``, mid ``[4, 12)``, high ``[12, inf)``.
PDEBENCH_BANDS = (4, 12)


def _band_names(edges: list[float]) -> list[str]:
    if len(edges) == 1:
        return ["low", "high"]
    if len(edges) == 2:
        return ["low", "mid", "high"]
    bounds = [0.0, *edges, math.inf]
    return [f"[{low:g}, {high:g})" for low, high in zip(bounds[:-1], bounds[1:])]


def _binned_power(a: np.ndarray, edges: np.ndarray | None, wavenumber: str) -> np.ndarray:
    """Energy of ``a`` ``(n_samples, n_channels, *grid)`` per wavenumber band, averaged over
    samples and channels: by Parseval the bands add up to the mean of ``a**2``.

    ``edges=None``: one bin per unit shell ``s <= |k| < s + 1`` up to the grid's highest mode (the
    radial power spectrum); otherwise the bands cut at ``edges``. ``wavenumber`` is "radial"
    (``|k|``) or "max" (``max_d |k_d|``). Shared by :func:`spectral_error` (on the error) and
    ``sklearn_amfno.plotting.SpectrumDisplay`` (on the fields themselves).
    """
    with np.errstate(over="ignore"):
        power, ks = _mode_power(a, a.ndim - 2)
    per_mode = power.mean(axis=(0, 1))
    if wavenumber == "radial":
        magnitude = np.sqrt(sum(k**2 for k in ks))
    else:
        magnitude = np.maximum.reduce(np.broadcast_arrays(*ks))
    magnitude = np.broadcast_to(magnitude, per_mode.shape)
    if edges is None:
        index = np.floor(magnitude).astype(int)
        n_bins = int(index.max()) + 1
    else:
        index = np.searchsorted(edges, magnitude, side="right")
        n_bins = edges.size + 1
    return np.bincount(index.ravel(), weights=per_mode.ravel(), minlength=n_bins)


@validate_params(
    {
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "bands": [StrOptions({"shells"}), "array-like"],
        "n_dim": _N_DIM,
        "channel_axis": _CHANNEL_AXIS,
        "wavenumber": [StrOptions({"radial", "max"})],
        "relative": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def spectral_error(
    y_true,
    y_pred,
    bands=PDEBENCH_BANDS,
    *,
    n_dim: int | None = None,
    channel_axis: int | None = None,
    wavenumber: str = "radial",
    relative: bool = False,
) -> dict[str, float] | np.ndarray:
    """Mean squared error split into wavenumber bands (the AM-FNO paper's Table 3, PDEBench's fRMSE).

    The error ``e = y_pred - y_true`` of each sample and channel is expanded in Fourier modes on
    its grid (periodic, physical wavenumbers: integer cycles per domain). A mode's wavenumber is
    ``|k| = sqrt(sum_d k_d^2)`` (``wavenumber="radial"``, as PDEBench) or ``max_d |k_d|``
    (``"max"``: the box of modes FNO's per-axis ``n_modes`` keeps). The value of a band is

    ``sum over the band's modes k of |FFT(e)_k|^2 / N^2``  (``N`` grid points),

    averaged over samples and channels: by Parseval, the band values **add up to the mean squared
    error** ``mean((y_pred - y_true)**2)``, so each is the part of the MSE carried by that band.
    The values are MSEs, in the squared units of ``y`` (take the square root for an RMSE).
    A mode and its mirror ``-k`` count together (the real FFT's halved axis, weighted).

    PDEBench reports, per band, the root of the shell-averaged energy over one quadrant of the
    spectrum; its numbers are not these, only the band edges are shared. The additive MSE
    split is used here because the bands then say which share of the error each band carries.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, *grid) or (n_samples, *grid, n_channels)
        True and predicted fields on 1-D, 2-D or 3-D periodic grids, finite (NaN or infinity
        raises ValueError).
    bands : sequence of float or "shells", default=(4, 12)
        Increasing band edges ``e_1 < e_2 < ...`` (> 0) on the wavenumber: bands ``[0, e_1)``,
        ``[e_1, e_2)``, ..., ``[e_last, inf)`` (the last one reaches the grid's highest mode).
        Keys: "low", "mid", "high" for two edges (PDEBench's ``iLow=4, iHigh=12`` by default:
        low ``[0, 4)``, mid ``[4, 12)``, high ``[12, Nyquist]``), "low", "high" for one edge, and
        ``"[e_i, e_j)"`` for more. ``"shells"``: one value per unit shell ``s <= |k| < s + 1``,
        ``s = 0, 1, ...`` up to the grid's highest mode, as an array (the paper's per-mode
        error figure; in 2-D and 3-D the shells past the Nyquist wavenumber hold only the
        corners of the spectrum).
    n_dim : int or None, default=None
        Number of grid axes (1, 2 or 3); ``None``: read from the shape and ``channel_axis``. When
        given, the shape must agree.
    channel_axis : None or -1, default=None
        ``None``: one channel, ``(n_samples, *grid)``; ``-1``: channels last.
    wavenumber : {"radial", "max"}, default="radial"
        How a mode's wavenumber vector becomes the number the bands are cut on.
    relative : bool, default=False
        Divide every band by the mean of ``y_true**2`` (over samples, channels and grid): the
        bands then add up to the squared relative L2 error of the pooled data,
        ``||y_pred - y_true||^2 / ||y_true||^2``. If ``y_true`` is all zero, the MSEs are returned
        with an :class:`~sklearn.exceptions.UndefinedMetricWarning`.

    Returns
    -------
    dict of str to float, or ndarray of shape (n_shells,)
        The MSE (or relative squared error) of each band, in band order; an array for
        ``bands="shells"``.

    Examples
    --------
    An error that is a pure cosine of wavenumber 5 lies in the "mid" band ``[4, 12)``; its mean
    square is ``0.1**2 / 2``:

    >>> import numpy as np
    >>> from sklearn_amfno.metrics import spectral_error
    >>> x = np.arange(32) / 32
    >>> y = np.sin(2 * np.pi * x)[np.newaxis]
    >>> errors = spectral_error(y, y + 0.1 * np.cos(2 * np.pi * 5 * x))
    >>> {band: round(value, 12) for band, value in errors.items()}
    {'low': 0.0, 'mid': 0.005, 'high': 0.0}
    >>> spectral_error(y, y + 0.1 * np.cos(2 * np.pi * 5 * x), bands="shells").round(4)[:7]
    array([0.   , 0.   , 0.   , 0.   , 0.   , 0.005, 0.   ])
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    if isinstance(bands, str):
        edges = None
    else:
        edges = np.asarray(bands, dtype=float).reshape(-1) if np.ndim(bands) <= 1 else None
        if (
            edges is None
            or edges.size == 0
            or not np.isfinite(edges).all()
            or edges[0] <= 0
            or (np.diff(edges) <= 0).any()
        ):
            raise ValueError(
                "spectral_error: expected bands as 'shells' or a non-empty sequence of increasing, "
                f"finite, positive band edges such as (4, 12); got {bands!r}."
            )
    true = _channels_first(y_true, n_dim, channel_axis)
    error = _channels_first(y_pred, n_dim, channel_axis) - true
    values = _binned_power(error, edges, wavenumber)
    if relative:
        energy = float(np.mean(true**2))
        if energy > 0:
            values = values / energy
        else:
            warnings.warn(
                "spectral_error: y_true is zero everywhere, so the relative error is undefined; "
                "returning the mean squared error of each band instead.",
                UndefinedMetricWarning,
                stacklevel=3,
            )
    if edges is None:
        return values
    return {name: float(value) for name, value in zip(_band_names(list(edges)), values)}


# -- Sobolev norm ----------------------------------------------------------------------------------


def _h1_norms(a: np.ndarray, n_dim: int) -> np.ndarray:
    """H1 norm of each sample of ``a`` ``(n, c, *grid)`` on the periodic unit domain ``[0, 1)^n_dim``.

    ``||u||^2 + ||grad u||^2 = sum_k (1 + 4 pi^2 |k|^2) |u_k|^2`` over the Fourier coefficients of
    the trigonometric interpolant (Parseval), summed over channels.
    """
    with np.errstate(over="ignore"):
        power, ks = _mode_power(a, n_dim)
    weight = 1.0 + 4.0 * np.pi**2 * sum(k**2 for k in ks)
    squares = (power * weight).reshape(len(a), -1).sum(axis=1)
    return np.sqrt(squares)


@validate_params(
    {
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "n_dim": _N_DIM,
        "channel_axis": _CHANNEL_AXIS,
        "multioutput": _MULTIOUTPUT,
        "sample_weight": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def relative_h1_error(
    y_true,
    y_pred,
    *,
    n_dim: int | None = None,
    channel_axis: int | None = None,
    multioutput: str = "uniform_average",
    sample_weight=None,
) -> float | np.ndarray:
    """Relative H1 (Sobolev) error per sample, averaged.

    ``sqrt(||e||^2 + ||grad e||^2) / sqrt(||y||^2 + ||grad y||^2)`` with ``e = y_pred - y_true``,
    the norms over the grid and the channels (the gradient's components summed), as
    neuraloperator's H1 loss. The fields are taken as **periodic on the unit domain**
    ``[0, 1)^n_dim`` (grid points ``x_j = j / n``, the convention of
    :mod:`sklearn_amfno.datasets`), and the derivatives are spectral: by Parseval,
    ``||u||^2 + ||grad u||^2 = sum_k (1 + 4 pi^2 |k|^2) |u_k|^2`` over the Fourier coefficients of
    the trigonometric interpolant (an even grid's Nyquist mode counted as a cosine). On another
    domain length ``L`` the gradient term scales by ``1 / L^2``; on non-periodic data the jump at
    the boundary adds spurious high-wavenumber content.

    Samples whose H1 norm is at most 1 % of the root mean square H1 norm are degenerate and are
    measured against that typical norm, the rule of :func:`relative_l2_error`.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, *grid) or (n_samples, *grid, n_channels)
        True and predicted fields on 1-D, 2-D or 3-D periodic grids, finite (NaN or infinity
        raises ValueError).
    n_dim : int or None, default=None
        Number of grid axes (1, 2 or 3); ``None``: read from the shape and ``channel_axis``. When
        given, the shape must agree.
    channel_axis : None or -1, default=None
        ``None``: one channel, ``(n_samples, *grid)``; ``-1``: channels last.
    multioutput : {"uniform_average", "raw_values"}, default="uniform_average"
        ``"raw_values"`` returns the error of each sample.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights, as in :func:`relative_l2_error`.

    Returns
    -------
    float or ndarray of shape (n_samples,)

    Examples
    --------
    ``y = sin(2 pi x)`` with an error ``0.1 sin(2 pi 3 x)``: the ratio is
    ``0.1 * sqrt((1 + 36 pi^2) / (1 + 4 pi^2))``, about 3 times the relative L2 error 0.1:

    >>> import numpy as np
    >>> from sklearn_amfno.metrics import relative_h1_error
    >>> x = np.arange(64) / 64
    >>> y = np.sin(2 * np.pi * x)[np.newaxis]
    >>> round(relative_h1_error(y, y + 0.1 * np.sin(2 * np.pi * 3 * x)), 6)
    0.296688
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    true = _channels_first(y_true, n_dim, channel_axis)
    pred = _channels_first(y_pred, n_dim, channel_axis)
    n_dim = true.ndim - 2
    weights = _weights(sample_weight, y_true)
    errors = _relative_errors(
        _h1_norms(pred - true, n_dim),
        _h1_norms(true, n_dim),
        DEGENERATE_THRESHOLD,
        "relative_h1_error",
        "H1",
        stacklevel=4,
        sample_weight=weights,
    )
    return errors if multioutput == "raw_values" else float(np.average(errors, weights=weights))


# -- scorers ---------------------------------------------------------------------------------------


def flat_r2_score(y, y_pred, sample_weight=None) -> float:
    """R² of outputs flattened to ``(n_samples, n_values)``, weighted by their variance.

    The estimators' ``score``: grid points with a constant target (e.g. a Dirichlet boundary)
    neither reward nor punish.

    Parameters
    ----------
    y : array-like of shape (n_samples, ...)
        True values.
    y_pred : array-like of the same shape
        Predicted values.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    score : float
    """
    y, y_pred = np.asarray(y), np.asarray(y_pred)
    n = len(y)
    return float(
        r2_score(
            y.reshape(n, -1),
            y_pred.reshape(n, -1),
            sample_weight=sample_weight,
            multioutput="variance_weighted",
        )
    )


def _mean_rollout_error(y_true, y_pred) -> float:
    return float(rollout_error(y_true, y_pred).mean())


def _spectral_high_error(y_true, y_pred) -> float:
    return spectral_error(y_true, y_pred)["high"]


rollout_error_scorer = make_scorer(_mean_rollout_error, greater_is_better=False)
"""Scorer: the negated mean over steps of :func:`rollout_error`, for targets
``(n_samples, *grid, n_steps)`` of one field. For several fields per step, make one with
``make_scorer(lambda t, p: rollout_error(t, p, n_fields=2).mean(), greater_is_better=False)``."""

spectral_high_error_scorer = make_scorer(_spectral_high_error, greater_is_better=False)
"""Scorer: the negated "high" band (radial ``|k| >= 12``) of :func:`spectral_error`, for targets
``(n_samples, *grid)`` (one channel)."""

relative_h1_scorer = make_scorer(relative_h1_error, greater_is_better=False)
"""Scorer: the negated :func:`relative_h1_error`, for targets ``(n_samples, *grid)``."""


class _FlatMetric:
    """A metric of ``(y_true, y_pred)`` applied to both flattened to ``(n_samples, n_values)``.

    Arrays of at most two axes pass unchanged, so the metric's own result on tables is kept.
    A class (not a closure) so that scorers made from it pickle, for ``n_jobs`` searches.
    """

    def __init__(self, metric) -> None:
        self.metric = metric
        self.__name__ = f"field_{getattr(metric, '__name__', type(metric).__name__)}"
        # The metric's own signature: scikit-learn reads it to tell whether a scorer takes
        # sample_weight (searches forward fit's weights to such scorers).
        self.__signature__ = inspect.signature(metric)

    def __call__(self, y_true, y_pred, **kwargs):
        return self.metric(_flat(y_true), _flat(y_pred), **kwargs)


def _flat(y):
    y = np.asarray(y)
    return y.reshape(len(y), -1) if y.ndim > 2 else y


def field_scorer(scoring):
    """A scorer of scikit-learn that scores fields: ``field_scorer("r2")``.

    scikit-learn's metrics take at most 2-D targets, so ``GridSearchCV(est, grid,
    scoring="r2")`` fails on fields on 2-D and 3-D grids (or with channels): the search hands
    ``r2_score`` the targets as sliced from ``y``, ``(n_samples, *grid)``, and ``r2_score``
    refuses them ("Found array with dim 3, while dim <= 2 is required"). A scoring name resolves
    to scikit-learn's own scorer, which no estimator can change, so the package cannot make the
    name itself work; this makes the same scorer flatten the targets and the predictions to
    ``(n_samples, n_values)`` first (as the estimators' ``score`` does). On targets of at most
    two axes it gives the scorer's own value.

    Parameters
    ----------
    scoring : str or scorer
        A scorer name of scikit-learn (``"r2"``, ``"neg_mean_squared_error"``,
        ``"explained_variance"``, ... see :func:`sklearn.metrics.get_scorer_names`) or a scorer
        made by :func:`sklearn.metrics.make_scorer` (its metric and keyword arguments are kept;
        a metadata request set on it is not: set it on the result).

    Returns
    -------
    scorer : callable
        A scorer (``make_scorer``'s) for ``scoring=``, in a dict of several scorers too. With
        metadata routing, ``field_scorer("r2").set_score_request(sample_weight=True)`` weighs
        the samples.

    Notes
    -----
    ``"r2"`` averages the R² of the grid points uniformly (scikit-learn's default), where the
    estimators' ``score`` (``scoring=None``) weighs them by their variance: a point of constant
    target (a Dirichlet boundary) scores 1 or 0 in the first and does not count in the second.
    ``field_scorer(make_scorer(r2_score, multioutput="variance_weighted"))`` gives the latter.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn_amfno import FNORegressor
    >>> from sklearn_amfno.datasets import make_darcy
    >>> from sklearn_amfno.metrics import field_scorer
    >>> X, y = make_darcy(16, resolution=8, random_state=0)       # fields on an 8 x 8 grid
    >>> est = FNORegressor(n_modes=4, width=8, max_epochs=2, random_state=0)
    >>> search = GridSearchCV(est, {"lr": [1e-3, 1e-2]}, scoring=field_scorer("r2"), cv=2)
    >>> bool(np.isfinite(search.fit(X, y).cv_results_["mean_test_score"]).all())
    True
    """
    scorer = get_scorer(scoring) if isinstance(scoring, str) else scoring
    if not isinstance(scorer, BaseScorer):
        raise TypeError(
            "field_scorer expects a scorer name of scikit-learn (e.g. 'r2') or a scorer made by "
            f"sklearn.metrics.make_scorer, got {scoring!r}."
        )
    # scikit-learn keeps a scorer's parts in private attributes, unchanged since 1.4.
    return make_scorer(
        _FlatMetric(scorer._score_func),
        response_method=scorer._response_method,
        greater_is_better=scorer._sign > 0,
        **scorer._kwargs,
    )
