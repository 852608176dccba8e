"""Validation of gridded arrays: the data contract of docs/architecture.md, in one place.

Everything downstream sees float32, channels-first arrays ``(n_samples, n_channels, *grid)``.
"""

from __future__ import annotations

import math
import warnings
from typing import Literal

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.validation import check_consistent_length

TargetKind = Literal["field", "vector", "scalar"]

#: The values of the estimators' ``target_kind`` parameter.
TARGET_KINDS = ("auto", "field", "vector")

#: With ``target_kind="auto"``, a ``y`` of shape ``(n_samples, k)`` off X's grid is read as a
#: per-sample vector, with a :class:`TargetKindWarning` when it looks like a field: on a 1-D grid
#: (where the rank cannot tell a field from a vector) when ``k`` is at least this; on 2-D and 3-D
#: grids when ``k`` is also a multiple of the grid's point count (a flattened field). Vector
#: targets are usually a few numbers (scikit-learn's own checks use 5 outputs); fields have tens
#: of points per axis.
FIELD_LIKE_VALUES = 8


class TargetKindWarning(UserWarning):
    """A target off X's grid that looks like a field was read as a per-sample vector.

    Raised by ``fit`` with ``target_kind="auto"``; ``target_kind="vector"`` confirms the vector
    and silences it, ``target_kind="field"`` refuses such a target.
    """


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
        raise ValueError(
            f"X of shape {shape} has an empty grid axis (grid {tuple(grid)}): expected {layout} "
            "with at least one point on every grid axis."
        )
    if channels < 1:
        raise ValueError(
            f"X of shape {shape} has an empty channel axis (0 channels, channel_axis="
            f"{channel_axis!r}): expected {layout} with at least one channel."
        )
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


def classify_target(
    y_shape: tuple[int, ...],
    grid: tuple[int, ...],
    *,
    target_kind: str = "auto",
    x_shape: tuple[int, ...] | None = None,
) -> tuple[TargetKind, bool]:
    """Classify ``y`` by its shape against X's grid, without its values.

    The shape rules of :func:`check_grid_target`, on their own so that lazily loaded targets are
    classified before any chunk is read.

    Parameters
    ----------
    y_shape : tuple of int
        The shape of ``y`` as passed.
    grid : tuple of int
        X's grid.
    target_kind : {"auto", "field", "vector"}, default="auto"
        The estimator's ``target_kind``. ``"auto"``: a ``y`` on X's grid is a field, otherwise
        ``(n_samples,)`` a scalar and ``(n_samples, k)`` a vector. ``"field"``: ``y`` must lie on
        X's grid. ``"vector"``: ``y`` must be ``(n_samples,)`` or ``(n_samples, k)``, even when
        ``k`` equals the points of a 1-D grid.
    x_shape : tuple of int, optional
        X's shape as passed, quoted in error messages.

    Returns
    -------
    kind : {"field", "vector", "scalar"}
    has_channel_axis : bool
        Whether a field ``y`` has a trailing channel axis.
    """
    y_shape, grid = tuple(int(s) for s in y_shape), tuple(int(n) for n in grid)
    d = len(grid)
    x = f"X's grid {grid}" if x_shape is None else f"X of shape {tuple(x_shape)} (grid {grid})"
    points = ", ".join(str(n) for n in grid)  # the grid inside a layout: "(n_samples, 16, 16)"
    if len(y_shape) >= 2 and min(y_shape[1:]) < 1:
        raise ValueError(
            f"y of shape {y_shape} has an empty axis: expected at least one value per sample, a "
            f"field (n_samples, {points}[, n_outputs]) or a per-sample target (n_samples, k) with "
            f"n_outputs, k >= 1 ({x})."
        )
    on_grid = len(y_shape) in (1 + d, 2 + d) and y_shape[1 : 1 + d] == grid
    if target_kind == "vector":
        if len(y_shape) <= 2:
            return ("scalar" if len(y_shape) == 1 else "vector"), False
        what = " (a field on X's grid)" if on_grid else ""
        raise ValueError(
            f"target_kind='vector' expects a per-sample target of shape (n_samples,) or "
            f"(n_samples, k); got y of shape {y_shape}{what} with {x}. Pass target_kind='field' "
            "(or 'auto') to learn it as a field, or flatten it (y.reshape(len(y), -1)) to learn "
            "its values as one vector per sample."
        )
    if on_grid:
        return "field", len(y_shape) == 2 + d
    if target_kind == "field":
        raise ValueError(
            f"target_kind='field' expects y on X's grid, (n_samples, {points}) or "
            f"(n_samples, {points}, n_outputs); got y of shape {y_shape} with {x}. Bring y onto "
            "X's grid (e.g. sklearn_amfno.preprocessing.GridResampler, docs/preprocessing.md), "
            "or pass target_kind='vector' for a per-sample target."
        )
    if len(y_shape) == 1:
        return "scalar", False
    if len(y_shape) == 2:
        return "vector", False
    raise ValueError(
        f"y of shape {y_shape} does not lie on X's grid {grid}: expected a field "
        f"(n_samples, {points}[, n_channels]) or a per-sample target (n_samples,) or "
        f"(n_samples, k) ({x})."
    )


def looks_like_field(y_shape: tuple[int, ...], grid: tuple[int, ...]) -> bool:
    """Whether a ``y`` read as a per-sample vector looks like a field (``FIELD_LIKE_VALUES``).

    True for ``(n_samples, k)`` with ``k >= FIELD_LIKE_VALUES`` on a 1-D grid, or on a 2-D or
    3-D grid when ``k`` is also a multiple of the grid's point count (a flattened field).
    """
    if len(y_shape) != 2 or y_shape[1] < FIELD_LIKE_VALUES:
        return False
    return len(grid) == 1 or y_shape[1] % math.prod(grid) == 0


def warn_if_field_like(
    y_shape: tuple[int, ...], x_shape: tuple[int, ...], grid: tuple[int, ...], *, stacklevel: int = 2
) -> None:
    """Warn (:class:`TargetKindWarning`) when ``target_kind="auto"`` read a field-like ``y`` as a vector.

    Call it after :func:`classify_target` returned ``"vector"`` in ``"auto"`` mode.
    """
    y_shape, grid = tuple(int(s) for s in y_shape), tuple(int(n) for n in grid)
    if not looks_like_field(y_shape, grid):
        return
    warnings.warn(
        f"y of shape {y_shape} does not lie on the grid of X of shape {tuple(x_shape)} (grid "
        f"{grid}), so it is read as a per-sample vector of {y_shape[1]} outputs "
        "(target_kind_='vector', through a pooled head), not as a field. If y is a field, bring "
        "it onto X's grid (resample it as X was, docs/preprocessing.md): target_kind='field' "
        "refuses such a y; target_kind='vector' confirms a per-sample target and silences this "
        "warning.",
        TargetKindWarning,
        stacklevel=stacklevel + 1,
    )


def check_grid_target(
    y,
    grid: tuple[int, ...],
    n_samples: int,
    *,
    target_kind: str = "auto",
    x_shape: tuple[int, ...] | None = None,
) -> tuple[np.ndarray, TargetKind, bool]:
    """Validate ``y`` against X's grid and classify it (:func:`classify_target`).

    A ``y`` whose axes after the first equal X's grid, optionally followed by a channel axis, is a
    field. Otherwise a ``y`` of shape ``(n_samples,)`` or ``(n_samples, k)`` is a per-sample target.
    Anything else is a grid mismatch. ``target_kind`` ("auto", "field", "vector") states the kind
    instead; this function never warns (``fit`` calls :func:`warn_if_field_like` once).

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
    kind, has_channels = classify_target(y.shape, grid, target_kind=target_kind, x_shape=x_shape)
    if kind == "field":
        y = np.moveaxis(y, -1, 1) if has_channels else y[:, np.newaxis]
    elif kind == "scalar":
        y = y[:, np.newaxis]
    return _check_finite_float32(y, "y"), kind, has_channels


def to_target_layout(out: np.ndarray, kind: str, has_channels: bool) -> np.ndarray:
    """Channels-first model outputs (or targets) ``(n, c, ...)`` in the layout of the training ``y``.

    A scalar target ``(n,)``; a field ``(n, *grid, c)`` when ``y`` had a channel axis, else
    ``(n, *grid)``; a vector ``(n, k)`` as it is. The layout ``predict`` returns.

    Parameters
    ----------
    out : ndarray of shape (n_samples, n_outputs, *grid) or (n_samples, n_outputs)
        Channels-first values, as the torch model gives them.
    kind : {"field", "vector", "scalar"}
        What the training ``y`` was (``target_kind_``).
    has_channels : bool
        Whether a field ``y`` had a channel axis.

    Returns
    -------
    y : ndarray
    """
    if kind == "scalar":
        return out[:, 0]
    if kind == "field":
        # Several channels without a channel axis: the steps of a rollout's target, kept.
        return np.moveaxis(out, 1, -1) if has_channels or out.shape[1] != 1 else out[:, 0]
    return out
