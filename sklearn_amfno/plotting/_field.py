"""FieldDisplay: input, truth, prediction and error of one sample."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import (
    axes_for,
    channel_axis_by_rank,
    check_index,
    display_repr,
    estimator_layouts,
    grid_axes,
    predict_like,
)


def _select(
    a: np.ndarray,
    channel_axis: int | None,
    n_dim: int,
    sample_index: int,
    channel_index: int,
    slice_axis: int,
    slice_index: int | None,
    name: str,
    channel_name: str,
) -> np.ndarray:
    """One sample, one channel and, on a 3-D grid, one slice: a 1-D or 2-D array."""
    sample = a[check_index(sample_index, len(a), "sample_index", "samples")]
    if channel_axis is not None:
        sample = sample[
            ..., check_index(channel_index, sample.shape[-1], channel_name, f"channels in {name}")
        ]
    if n_dim == 3:
        axis = check_index(slice_axis, 3, "slice_axis", "grid axes")
        n = sample.shape[axis]
        index = n // 2 if slice_index is None else check_index(slice_index, n, "slice_index", "points")
        sample = np.take(sample, index, axis=axis)
    return np.asarray(sample, dtype=float)


class FieldDisplay:
    """Input, truth, prediction and error of one sample of gridded data.

    1-D grids: the input, truth and prediction (drawn on one axes) and the error as lines over
    ``x_j = j / n``. 2-D grids: images on the unit square, the first grid axis horizontal; truth
    and prediction share one colour scale (the range of both), the error has its own, symmetric
    about zero (diverging colour map). 3-D grids: the same images of one slice (from
    ``from_estimator`` and ``from_predictions``).

    Build it with :meth:`from_estimator` or :meth:`from_predictions`; the constructor takes the
    arrays to draw as they are.

    Parameters
    ----------
    y_true : ndarray of shape (n,) or (n, m)
        The true field (one sample, one channel, one slice).
    y_pred : ndarray of the same shape
        The predicted field.
    X : ndarray of the same shape or None, default=None
        The input field; ``None`` leaves out the input panel.

    Attributes
    ----------
    figure_ : matplotlib Figure
        The figure drawn on.
    ax_ : ndarray of matplotlib Axes
        The panels, in the order input (when ``X`` is given), truth (and prediction, in 1-D),
        prediction (2-D), error.
    lines_ : dict of str to matplotlib Line2D
        1-D: the lines "input", "truth", "prediction" and "error".
    images_ : dict of str to matplotlib AxesImage
        2-D: the images "input", "truth", "prediction" and "error" (their arrays are the fields
        transposed, so that the first grid axis runs horizontally).
    colorbars_ : dict of str to matplotlib Colorbar
        2-D: the colour bars of the input, of truth and prediction ("field"), and of the error.

    See Also
    --------
    SpectrumDisplay : The power spectrum of truth, prediction and error.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_amfno.plotting import FieldDisplay
    >>> x = np.arange(32) / 32
    >>> y = np.sin(2 * np.pi * x)[np.newaxis]
    >>> display = FieldDisplay.from_predictions(y, 1.1 * y, X=np.cos(2 * np.pi * x)[np.newaxis])
    >>> len(display.ax_)
    3
    """

    def __init__(self, *, y_true: Any, y_pred: Any, X: Any = None) -> None:
        self.y_true = y_true
        self.y_pred = y_pred
        self.X = X

    def __repr__(self) -> str:
        def describe() -> str:
            points = " x ".join(str(n) for n in np.shape(self.y_true))
            return f"field on {points} points" + ("" if self.X is None else " with its input")

        return display_repr(self, describe)

    def plot(
        self, ax: Any = None, *, cmap: str = "viridis", error_cmap: str = "RdBu_r", colorbar: bool = True
    ) -> FieldDisplay:
        """Draw the panels.

        Parameters
        ----------
        ax : sequence of matplotlib Axes or None, default=None
            One axes per panel: input (when ``X`` is given), truth and prediction (one axes in
            1-D, two in 2-D), error. ``None``: a new figure with the panels in a row.
        cmap : str, default="viridis"
            Colour map of the input, truth and prediction images (2-D).
        error_cmap : str, default="RdBu_r"
            Colour map of the error image (2-D), centred on zero.
        colorbar : bool, default=True
            Draw colour bars (2-D).

        Returns
        -------
        display : FieldDisplay
            ``self``, drawn.
        """
        true, pred = np.asarray(self.y_true, dtype=float), np.asarray(self.y_pred, dtype=float)
        x = None if self.X is None else np.asarray(self.X, dtype=float)
        if true.ndim not in (1, 2) or pred.shape != true.shape or (x is not None and x.shape != true.shape):
            shapes = [true.shape, pred.shape] + ([] if x is None else [x.shape])
            raise ValueError(
                "FieldDisplay.plot: expected y_true, y_pred (and X) as 1-D or 2-D arrays of one "
                f"shape (one sample, channel and slice); got shapes {shapes}."
            )
        error = pred - true
        if true.ndim == 1:
            self._plot_lines(ax, x, true, pred, error)
        else:
            self._plot_images(ax, x, true, pred, error, cmap, error_cmap, colorbar)
        self.figure_ = self.ax_[0].figure
        return self

    def _plot_lines(
        self, ax: Any, x: np.ndarray | None, true: np.ndarray, pred: np.ndarray, error: np.ndarray
    ) -> None:
        names = (["input"] if x is not None else []) + ["truth and prediction", "error"]
        axes = axes_for(ax, len(names), "FieldDisplay.plot", ", ".join(names))
        coords = np.arange(true.size) / true.size
        self.lines_ = {}
        panel = iter(axes)
        if x is not None:
            a = next(panel)
            (self.lines_["input"],) = a.plot(coords, x, color="tab:gray")
            a.set_title("input")
        a = next(panel)
        (self.lines_["truth"],) = a.plot(coords, true, color="black", label="truth")
        (self.lines_["prediction"],) = a.plot(
            coords, pred, color="tab:orange", linestyle="--", label="prediction"
        )
        a.set_title("truth and prediction")
        a.legend()
        a = next(panel)
        (self.lines_["error"],) = a.plot(coords, error, color="tab:red")
        a.axhline(0.0, color="black", linewidth=0.5)
        a.set_title("error (prediction - truth)")
        for a in axes:
            a.set_xlabel("x")
        self.ax_ = axes
        self.images_: dict[str, Any] = {}
        self.colorbars_: dict[str, Any] = {}

    def _plot_images(
        self,
        ax: Any,
        x: np.ndarray | None,
        true: np.ndarray,
        pred: np.ndarray,
        error: np.ndarray,
        cmap: str,
        error_cmap: str,
        colorbar: bool,
    ) -> None:
        names = (["input"] if x is not None else []) + ["truth", "prediction", "error"]
        axes = axes_for(ax, len(names), "FieldDisplay.plot", ", ".join(names))
        low, high = float(min(true.min(), pred.min())), float(max(true.max(), pred.max()))
        bound = float(np.abs(error).max()) or 1.0  # a perfect prediction still gets a scale
        panels: list[tuple[str, np.ndarray, str, float, float]] = []
        if x is not None:
            panels.append(("input", x, cmap, float(x.min()), float(x.max())))
        panels += [
            ("truth", true, cmap, low, high),
            ("prediction", pred, cmap, low, high),
            ("error", error, error_cmap, -bound, bound),
        ]
        self.images_, self.colorbars_ = {}, {}
        for a, (name, field, colours, vmin, vmax) in zip(axes, panels):
            image = a.imshow(
                field.T,
                origin="lower",
                extent=(0.0, 1.0, 0.0, 1.0),
                cmap=colours,
                vmin=vmin,
                vmax=vmax,
                interpolation="nearest",
            )
            self.images_[name] = image
            a.set_title("error (prediction - truth)" if name == "error" else name)
            a.set_xlabel("x")
            a.set_ylabel("y")
        if colorbar:
            figure = axes[0].figure
            if x is not None:
                self.colorbars_["input"] = figure.colorbar(self.images_["input"], ax=axes[0])
            shared = [a for a, (name, *_) in zip(axes, panels) if name in ("truth", "prediction")]
            self.colorbars_["field"] = figure.colorbar(self.images_["prediction"], ax=shared)
            self.colorbars_["error"] = figure.colorbar(self.images_["error"], ax=axes[-1])
        self.ax_ = axes
        self.lines_ = {}

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: Any,
        y: Any,
        *,
        sample_index: int = 0,
        channel_index: int = 0,
        input_channel_index: int = 0,
        slice_axis: int = -1,
        slice_index: int | None = None,
        ax: Any = None,
        cmap: str = "viridis",
        error_cmap: str = "RdBu_r",
        colorbar: bool = True,
    ) -> FieldDisplay:
        """Predict one sample with a fitted estimator and draw it.

        Parameters
        ----------
        estimator : fitted estimator of sklearn_amfno
            An operator estimator (``X``'s channel axis is its ``channel_axis``) or an
            ``AutoregressiveRegressor`` (frames on the last axis; it rolls out as many frames as
            ``y`` holds).
        X : array-like of shape (n_samples, *grid) or (n_samples, *grid, n_channels)
            Inputs.
        y : array-like of shape (n_samples, *grid) or (n_samples, *grid, n_outputs)
            True targets on X's grid; their channel axis follows from their rank.
        sample_index : int, default=0
            The sample drawn (only it is predicted).
        channel_index : int, default=0
            The channel of ``y`` drawn (e.g. a frame of a rollout).
        input_channel_index : int, default=0
            The channel of ``X`` drawn.
        slice_axis : int, default=-1
            3-D grids: the grid axis cut (0, 1, 2 or negative).
        slice_index : int or None, default=None
            3-D grids: where the slice is cut along ``slice_axis``; ``None``: the middle.
        ax : sequence of matplotlib Axes or None, default=None
            See :meth:`plot`.
        cmap : str, default="viridis"
            See :meth:`plot`.
        error_cmap : str, default="RdBu_r"
            See :meth:`plot`.
        colorbar : bool, default=True
            See :meth:`plot`.

        Returns
        -------
        display : FieldDisplay
        """
        X, y, x_axis, y_axis = estimator_layouts(estimator, X, y)
        if len(X) != len(y):
            raise ValueError(f"X and y hold different numbers of samples: {len(X)} and {len(y)}.")
        i = check_index(sample_index, len(X), "sample_index", "samples")
        pred = predict_like(estimator, X[i : i + 1], y[i : i + 1])
        if pred.shape != y[i : i + 1].shape:
            raise ValueError(
                f"The estimator predicts shape {pred.shape[1:]} per sample, but y has {y.shape[1:]}."
            )
        n_dim = y.ndim - 1 - (y_axis is not None)
        selection = dict(n_dim=n_dim, sample_index=0, slice_axis=slice_axis, slice_index=slice_index)
        true_field = _select(
            y[i : i + 1],
            y_axis,
            channel_index=channel_index,
            name="y",
            channel_name="channel_index",
            **selection,
        )
        pred_field = _select(
            pred, y_axis, channel_index=channel_index, name="y", channel_name="channel_index", **selection
        )
        input_field = _select(
            X[i : i + 1],
            x_axis,
            channel_index=input_channel_index,
            name="X",
            channel_name="input_channel_index",
            **selection,
        )
        display = cls(y_true=true_field, y_pred=pred_field, X=input_field)
        return display.plot(ax=ax, cmap=cmap, error_cmap=error_cmap, colorbar=colorbar)

    @classmethod
    def from_predictions(
        cls,
        y_true: Any,
        y_pred: Any,
        *,
        X: Any = None,
        channel_axis: int | None = None,
        sample_index: int = 0,
        channel_index: int = 0,
        input_channel_index: int = 0,
        slice_axis: int = -1,
        slice_index: int | None = None,
        ax: Any = None,
        cmap: str = "viridis",
        error_cmap: str = "RdBu_r",
        colorbar: bool = True,
    ) -> FieldDisplay:
        """Draw one sample of true and predicted fields (and their input).

        Parameters
        ----------
        y_true : array-like of shape (n_samples, *grid) or (n_samples, *grid, n_channels)
            True fields on a 1-D, 2-D or 3-D grid (see ``channel_axis``).
        y_pred : array-like of the same shape
            Predicted fields.
        X : array-like of shape (n_samples, *grid) or (n_samples, *grid, n_channels) or None, default=None
            Inputs on the same grid; their channel axis follows from their rank. ``None``: no
            input panel.
        channel_axis : None or -1, default=None
            ``None``: ``y_true`` is ``(n_samples, *grid)``; ``-1``: channels last.
        sample_index : int, default=0
            The sample drawn.
        channel_index : int, default=0
            The channel of ``y_true`` and ``y_pred`` drawn.
        input_channel_index : int, default=0
            The channel of ``X`` drawn.
        slice_axis : int, default=-1
            3-D grids: the grid axis cut (0, 1, 2 or negative).
        slice_index : int or None, default=None
            3-D grids: where the slice is cut along ``slice_axis``; ``None``: the middle.
        ax : sequence of matplotlib Axes or None, default=None
            See :meth:`plot`.
        cmap : str, default="viridis"
            See :meth:`plot`.
        error_cmap : str, default="RdBu_r"
            See :meth:`plot`.
        colorbar : bool, default=True
            See :meth:`plot`.

        Returns
        -------
        display : FieldDisplay
        """
        if channel_axis not in (None, -1):
            raise ValueError(f"channel_axis must be None or -1, got {channel_axis!r}.")
        y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
        if y_true.shape != y_pred.shape:
            raise ValueError(f"y_true and y_pred shapes differ: {y_true.shape} vs {y_pred.shape}.")
        n_dim = grid_axes(y_true.shape, channel_axis, "y_true")
        selection: dict[str, Any] = dict(
            n_dim=n_dim, sample_index=sample_index, slice_axis=slice_axis, slice_index=slice_index
        )
        names: dict[str, Any] = dict(name="y_true", channel_name="channel_index")
        true_field = _select(y_true, channel_axis, channel_index=channel_index, **names, **selection)
        pred_field = _select(y_pred, channel_axis, channel_index=channel_index, **names, **selection)
        input_field = None
        if X is not None:
            X = np.asarray(X, dtype=float)
            grid = y_true.shape[1 : 1 + n_dim]
            x_axis = channel_axis_by_rank(X.shape, grid, "X")
            if len(X) != len(y_true):
                raise ValueError(
                    f"X and y_true hold different numbers of samples: {len(X)} and {len(y_true)}."
                )
            input_field = _select(
                X,
                x_axis,
                channel_index=input_channel_index,
                name="X",
                channel_name="input_channel_index",
                **selection,
            )
        display = cls(y_true=true_field, y_pred=pred_field, X=input_field)
        return display.plot(ax=ax, cmap=cmap, error_cmap=error_cmap, colorbar=colorbar)
