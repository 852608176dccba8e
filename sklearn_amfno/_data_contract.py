"""Validation of gridded arrays: the data contract of docs/architecture.md, in one place.

Everything downstream sees float32, channels-first arrays ``(n_samples, n_channels, *grid)``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.validation import check_consistent_length

TargetKind = Literal["field", "vector", "scalar"]

#: The largest magnitude accepted in X and y: 1e8 below float32's largest value, so that
#: standardising (``x - mean``), the networks' sums and the de-standardised output cannot overflow.
MAX_ABS_VALUE = 1e30


def _check_finite_float32(array: np.ndarray, name: str, dtype=np.float32) -> np.ndarray:
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(array, dtype=dtype)
    if not out.flags.writeable:
        # torch warns on (and cannot share) read-only buffers such as memory-mapped inputs.
        out = out.copy()
    # One pass over the data: NaN was refused before, so a non-finite peak is an overflow.
    peak = float(np.abs(out).max()) if out.size else 0.0
    if not np.isfinite(peak):
        # float64 values beyond float32's range overflow to inf on conversion.
        raise ValueError(f"{name} has values that overflow float32 (|value| > 3.4e38).")
    if dtype == np.float32 and peak > MAX_ABS_VALUE:
        raise ValueError(
            f"{name} has values up to {peak:.3g} in magnitude; the networks compute "
            f"in float32 (largest value 3.4e38) and need headroom for scaling and sums: keep "
            f"|{name}| <= {MAX_ABS_VALUE:.0e}, e.g. by changing units."
        )
    return out


def check_grid_shape(
    shape: tuple[int, ...],
    *,
    channel_axis: int | None,
    n_dim: int | None = None,
    n_channels: int | None = None,
) -> tuple[tuple[int, ...], int]:
    """Check the shape of ``X`` (at least 2-D) against the data contract, without its values.

    The shape checks of :func:`check_grid_input`, on their own so that lazily loaded arrays are
    checked whole before any chunk is read.

    Returns
    -------
    grid : tuple of int
        The grid shape.
    n_channels : int
        The number of input channels.
    """
    shape = tuple(int(s) for s in shape)
    # Messages quote the shape the user passed, never the internal channels-first one.
    if channel_axis is None:
        grid, channels = shape[1:], 1
        layout = "(n_samples, *grid)"
    else:
        grid, channels = shape[1:-1], shape[-1]
        layout = "(n_samples, *grid, n_channels)"
    if len(grid) not in (1, 2, 3):
        raise ValueError(
            f"X must be {layout} with 1, 2 or 3 grid axes (channel_axis={channel_axis!r}); "
            f"got shape {shape}, i.e. {len(grid)} grid axes."
        )
    if min(grid) < 1:
        raise ValueError(f"X of shape {shape} has an empty grid axis (grid {tuple(grid)}).")
    if n_dim is not None and len(grid) != n_dim:
        raise ValueError(
            f"X of shape {shape} has {len(grid)} grid axes (grid {tuple(grid)}), but the estimator "
            f"was fitted on {n_dim}-D grids: pass {layout} with {n_dim} grid axes."
        )
    if n_channels is not None and channels != n_channels:
        raise ValueError(
            f"X of shape {shape} has {channels} channels, but the estimator was fitted with "
            f"{n_channels} (channel_axis={channel_axis!r})."
        )
    return grid, channels


def check_grid_input(
    X,
    *,
    channel_axis: int | None,
    n_dim: int | None = None,
    n_channels: int | None = None,
    estimator=None,
    dtype=np.float32,
) -> np.ndarray:
    """Validate ``X`` and return it as ``(n_samples, n_channels, *grid)`` of ``dtype``.

    Parameters
    ----------
    X : array-like
        ``(n_samples, *grid)`` when ``channel_axis`` is None, else ``(n_samples, *grid, n_channels)``.
    channel_axis : None or -1
        Where the channels are.
    n_dim, n_channels : int, optional
        When given (at predict), the number of grid axes and channels seen during fit.
    estimator : estimator, optional
        Named in error messages.
    dtype : numpy dtype, default=np.float32
        Output dtype (the networks compute in float32).

    Returns
    -------
    ndarray
    """
    X = check_array(
        X,
        allow_nd=True,
        dtype=(np.float64, np.float32),
        ensure_all_finite=True,
        estimator=estimator,
        input_name="X",
    )
    check_grid_shape(X.shape, channel_axis=channel_axis, n_dim=n_dim, n_channels=n_channels)
    X = X[:, np.newaxis] if channel_axis is None else np.moveaxis(X, -1, 1)
    return _check_finite_float32(X, "X", dtype)


def check_grid_target(y, grid: tuple[int, ...], n_samples: int) -> tuple[np.ndarray, TargetKind, bool]:
    """Validate ``y`` against X's grid and classify it.

    A ``y`` whose axes after the first equal X's grid, optionally followed by a channel axis, is a
    field. Otherwise a ``y`` of shape ``(n_samples,)`` or ``(n_samples, k)`` is a per-sample target.
    Anything else is a grid mismatch.

    Returns
    -------
    y : ndarray of float32
        ``(n_samples, n_channels, *grid)`` for a field, ``(n_samples, k)`` otherwise (``k = 1`` for
        a scalar).
    kind : {"field", "vector", "scalar"}
    has_channel_axis : bool
        Whether a field ``y`` came with a trailing channel axis.
    """
    if y is None:
        raise ValueError("This estimator requires y to be passed, but the target y is None.")
    y = check_array(
        y,
        ensure_2d=False,
        allow_nd=True,
        dtype=(np.float64, np.float32),
        ensure_all_finite=True,
        input_name="y",
    )
    check_consistent_length(np.empty((n_samples, 0)), y)
    d = len(grid)
    if y.ndim in (1 + d, 2 + d) and y.shape[1 : 1 + d] == tuple(grid):
        has_channels = y.ndim == 2 + d
        y = np.moveaxis(y, -1, 1) if has_channels else y[:, np.newaxis]
        return _check_finite_float32(y, "y"), "field", has_channels
    if y.ndim == 1:
        return _check_finite_float32(y[:, np.newaxis], "y"), "scalar", False
    if y.ndim == 2:
        return _check_finite_float32(y, "y"), "vector", False
    raise ValueError(
        f"y of shape {y.shape} does not lie on X's grid {tuple(grid)}: expected a field "
        f"(n_samples, *{tuple(grid)}[, n_channels]) or a per-sample target (n_samples,) or "
        "(n_samples, k)."
    )
