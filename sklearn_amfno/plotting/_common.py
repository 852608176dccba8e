"""What the displays share: the lazy matplotlib import, axes handling, the data contract's layouts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

INSTALL_ADVICE = 'pip install "sklearn_amfno[plot]"'


def pyplot(caller: str) -> Any:
    """``matplotlib.pyplot``, imported on first use; an ImportError with install advice without it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{caller} needs matplotlib, which is not installed. Install it with: {INSTALL_ADVICE}"
        ) from exc
    return plt


def axes_for(ax: Any, n_panels: int, caller: str, panels: str) -> np.ndarray:
    """``n_panels`` axes: new ones in one row of a new figure, or the given ones checked."""
    plt = pyplot(caller)
    if ax is None:
        _, axes = plt.subplots(
            1, n_panels, figsize=(3.6 * n_panels, 3.2), layout="constrained", squeeze=False
        )
        return axes.ravel()
    axes = np.asarray(ax, dtype=object).ravel()
    if axes.size != n_panels:
        raise ValueError(f"{caller}: expected {n_panels} matplotlib axes ({panels}); got {axes.size}.")
    return axes


def single_axes(ax: Any, caller: str) -> Any:
    """The given axes, or those of a new figure."""
    if ax is None:
        _, ax = pyplot(caller).subplots(figsize=(5, 3.6), layout="constrained")
    return ax


def grid_axes(shape: tuple[int, ...], channel_axis: int | None, name: str) -> int:
    """Number of grid axes of ``(n_samples, *grid[, n_channels])``, checked to be 1, 2 or 3."""
    layout = "(n_samples, *grid)" if channel_axis is None else "(n_samples, *grid, n_channels)"
    n_dim = len(shape) - 1 - (channel_axis is not None)
    if n_dim not in (1, 2, 3):
        raise ValueError(
            f"Expected {name} of layout {layout} with 1, 2 or 3 grid axes (channel_axis={channel_axis!r}); "
            f"got shape {shape}."
        )
    return n_dim


def channel_axis_by_rank(shape: tuple[int, ...], grid: tuple[int, ...], name: str) -> int | None:
    """The channel axis of an array on ``grid``, read from its rank (the data contract's rule for y)."""
    n_dim = len(grid)
    if tuple(shape[1 : 1 + n_dim]) != tuple(grid) or len(shape) not in (1 + n_dim, 2 + n_dim):
        raise ValueError(
            f"Expected {name} on the grid {tuple(grid)}: (n_samples, *{tuple(grid)}) or "
            f"(n_samples, *{tuple(grid)}, n_channels); got shape {shape}."
        )
    return -1 if len(shape) == 2 + n_dim else None


def estimator_layouts(
    estimator: Any, X: Any, y: Any
) -> tuple[np.ndarray, np.ndarray, int | None, int | None]:
    """``X`` and ``y`` as arrays with their channel axes: X's from the estimator, y's from its rank.

    Package estimators say where X's channels are (``channel_axis``);
    ``AutoregressiveRegressor`` keeps frames on the last axis.
    """
    check_is_fitted(estimator)
    X, y = np.asarray(X), np.asarray(y)
    x_axis = getattr(estimator, "channel_axis", -1)
    n_dim = grid_axes(X.shape, x_axis, "X")
    grid = X.shape[1 : 1 + n_dim]
    return X, y, x_axis, channel_axis_by_rank(y.shape, grid, "y")


def predict_like(estimator: Any, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``estimator.predict(X)``; a rollout is asked for as many frames as ``y`` holds."""
    from ..estimators import AutoregressiveRegressor

    if isinstance(estimator, AutoregressiveRegressor):
        return np.asarray(estimator.predict(X, n_steps=y.shape[-1] // estimator.n_fields))
    return np.asarray(estimator.predict(X))


def display_repr(display: Any, describe: Callable[[], str]) -> str:
    """``<Name: description, drawn on n axes>``: what a display holds and whether it was drawn.

    The gallery and notebooks print the value of a cell's last expression, often a display; the
    default ``<... object at 0x...>`` says nothing. ``describe`` reads the display's data; data
    it cannot describe (a ragged list passed to the constructor) leave the default repr.
    """
    try:
        description = describe()
    except Exception:  # a repr never raises
        return object.__repr__(display)
    ax = getattr(display, "ax_", None)
    state = "not drawn" if ax is None else f"drawn on {np.asarray(ax, dtype=object).size} axes"
    return f"<{type(display).__name__}: {description}, {state}>"


def check_index(index: int, size: int, name: str, what: str) -> int:
    """``index`` as a non-negative index into ``size`` entries (negative ones count from the end)."""
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not -size <= index < size:
        raise ValueError(f"{name} must be an int in [{-size}, {size - 1}] ({size} {what}); got {index!r}.")
    return int(index) % size
