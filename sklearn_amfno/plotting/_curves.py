"""Curves over epochs and rollout steps: TrainingCurveDisplay, RolloutErrorDisplay."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..metrics import rollout_error
from ._common import display_repr, estimator_layouts, predict_like, single_axes


def _history_of(estimator: Any) -> tuple[Any, str | None]:
    """The skorch history behind ``estimator`` and its criterion's name.

    A package estimator keeps its skorch net as ``net_``, an ``AutoregressiveRegressor`` its
    fitted one-step estimator as ``estimator_``; a skorch net is its own.
    """
    if hasattr(estimator, "history") and hasattr(estimator, "module"):  # a skorch net
        net = estimator
    else:
        check_is_fitted(estimator)
        inner = getattr(estimator, "estimator_", estimator)
        net = getattr(inner, "net_", None)
        if net is None:
            raise TypeError(
                "TrainingCurveDisplay.from_estimator: expected a fitted estimator of sklearn_amfno "
                f"(with net_) or a skorch net; got {type(estimator).__name__}."
            )
    criterion = getattr(net, "criterion_", None)
    return net.history, None if criterion is None else type(criterion).__name__


class TrainingCurveDisplay:
    """Training (and validation) loss per epoch, from a fitted estimator's skorch history.

    Parameters
    ----------
    epochs : ndarray of shape (n_epochs,)
        Epoch numbers (from 1).
    train_loss : ndarray of shape (n_epochs,)
        Mean training loss of each epoch.
    valid_loss : ndarray of shape (n_epochs,) or None, default=None
        Validation loss of each epoch (present when the estimator had ``validation_fraction``).
    loss_name : str or None, default=None
        The criterion's name, shown on the y axis.

    Attributes
    ----------
    figure_ : matplotlib Figure
        The figure drawn on.
    ax_ : matplotlib Axes
        The axes drawn on.
    lines_ : dict of str to matplotlib Line2D
        "train" and, when present, "valid".

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_amfno.plotting import TrainingCurveDisplay
    >>> display = TrainingCurveDisplay(epochs=np.arange(1, 4), train_loss=np.array([1.0, 0.5, 0.2]))
    >>> display = display.plot()
    >>> display.ax_.get_yscale()
    'log'
    """

    def __init__(
        self, *, epochs: Any, train_loss: Any, valid_loss: Any = None, loss_name: str | None = None
    ) -> None:
        self.epochs = epochs
        self.train_loss = train_loss
        self.valid_loss = valid_loss
        self.loss_name = loss_name

    def __repr__(self) -> str:
        def describe() -> str:
            curves = "training" if self.valid_loss is None else "training and validation"
            loss = "" if not self.loss_name else f" ({self.loss_name})"
            return f"{np.size(self.epochs)} epochs of {curves} loss{loss}"

        return display_repr(self, describe)

    def plot(
        self, ax: Any = None, *, log_scale: bool = True, name: str | None = None
    ) -> TrainingCurveDisplay:
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Where to draw; ``None``: a new figure.
        log_scale : bool, default=True
            A logarithmic loss axis (kept linear if a loss is not positive).
        name : str or None, default=None
            Prefix of the legend labels (e.g. the model's name), to compare fits on one axes.

        Returns
        -------
        display : TrainingCurveDisplay
            ``self``, drawn.
        """
        ax = single_axes(ax, "TrainingCurveDisplay.plot")
        epochs = np.asarray(self.epochs)
        prefix = f"{name}: " if name else ""
        self.lines_ = {}
        (self.lines_["train"],) = ax.plot(
            epochs, np.asarray(self.train_loss, dtype=float), label=prefix + "train"
        )
        losses = [np.asarray(self.train_loss, dtype=float)]
        if self.valid_loss is not None:
            valid = np.asarray(self.valid_loss, dtype=float)
            (self.lines_["valid"],) = ax.plot(epochs, valid, linestyle="--", label=prefix + "validation")
            losses.append(valid)
        if log_scale and all(np.all(loss[np.isfinite(loss)] > 0) for loss in losses):
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss" if not self.loss_name else f"loss ({self.loss_name})")
        ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_estimator(
        cls, estimator: Any, *, ax: Any = None, log_scale: bool = True, name: str | None = None
    ) -> TrainingCurveDisplay:
        """Draw the losses recorded while ``estimator`` was fitted.

        Parameters
        ----------
        estimator : fitted estimator of sklearn_amfno or skorch net
            An operator estimator (its ``net_.history``), an ``AutoregressiveRegressor`` (that of
            its one-step estimator) or a skorch ``NeuralNet``.
        ax : matplotlib Axes or None, default=None
            Where to draw; ``None``: a new figure.
        log_scale : bool, default=True
            A logarithmic loss axis (kept linear if a loss is not positive).
        name : str or None, default=None
            Prefix of the legend labels.

        Returns
        -------
        display : TrainingCurveDisplay
        """
        history, loss_name = _history_of(estimator)
        if len(history) == 0:
            raise ValueError("TrainingCurveDisplay: the history is empty (no epoch was trained).")
        epochs = np.asarray([row["epoch"] for row in history])
        train = np.asarray([row.get("train_loss", np.nan) for row in history], dtype=float)
        valid = [row.get("valid_loss") for row in history]
        valid_loss = (
            None
            if all(v is None for v in valid)
            else np.asarray([np.nan if v is None else v for v in valid], dtype=float)
        )
        display = cls(epochs=epochs, train_loss=train, valid_loss=valid_loss, loss_name=loss_name)
        return display.plot(ax=ax, log_scale=log_scale, name=name)


class RolloutErrorDisplay:
    """Relative L2 error of each step of an autoregressive rollout.

    The errors are those of :func:`sklearn_amfno.metrics.rollout_error` (frame-major channels,
    averaged over samples). Several models can share one axes: pass ``ax`` and ``name``.

    Parameters
    ----------
    errors : ndarray of shape (n_steps,)
        The error of each step.
    steps : ndarray of shape (n_steps,) or None, default=None
        Step numbers; ``None``: 1, 2, ..., n_steps.

    Attributes
    ----------
    figure_ : matplotlib Figure
        The figure drawn on.
    ax_ : matplotlib Axes
        The axes drawn on.
    line_ : matplotlib Line2D
        The error curve.

    See Also
    --------
    sklearn_amfno.metrics.rollout_error : The errors drawn.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_amfno.plotting import RolloutErrorDisplay
    >>> y = np.random.default_rng(0).standard_normal((4, 32, 3))  # 3 frames of one field
    >>> display = RolloutErrorDisplay.from_predictions(y, y * np.array([1.0, 1.1, 1.2]))
    >>> display.line_.get_ydata().round(6)
    array([0. , 0.1, 0.2])
    """

    def __init__(self, *, errors: Any, steps: Any = None) -> None:
        self.errors = errors
        self.steps = steps

    def __repr__(self) -> str:
        def describe() -> str:
            errors = np.asarray(self.errors, dtype=float).ravel()
            if errors.size == 0:
                return "no steps"
            return f"{errors.size} steps, relative L2 error {errors[0]:.3g} to {errors[-1]:.3g}"

        return display_repr(self, describe)

    def plot(
        self, ax: Any = None, *, log_scale: bool = False, name: str | None = None
    ) -> RolloutErrorDisplay:
        """Draw the error curve.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Where to draw; ``None``: a new figure.
        log_scale : bool, default=False
            A logarithmic error axis.
        name : str or None, default=None
            Legend label (e.g. the model's name).

        Returns
        -------
        display : RolloutErrorDisplay
            ``self``, drawn.
        """
        ax = single_axes(ax, "RolloutErrorDisplay.plot")
        errors = np.asarray(self.errors, dtype=float)
        steps = np.arange(1, errors.size + 1) if self.steps is None else np.asarray(self.steps)
        (self.line_,) = ax.plot(steps, errors, marker="o", label=name)
        if log_scale:
            ax.set_yscale("log")
        ax.set_xlabel("rollout step")
        ax.set_ylabel("relative L2 error")
        if name:
            ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: Any,
        y: Any,
        *,
        ax: Any = None,
        log_scale: bool = False,
        name: str | None = None,
    ) -> RolloutErrorDisplay:
        """Roll out a fitted ``AutoregressiveRegressor`` from ``X`` and draw its error against ``y``.

        Parameters
        ----------
        estimator : fitted AutoregressiveRegressor
            Rolls out as many frames as ``y`` holds; its ``n_fields`` says how many channels a
            frame has. A package estimator whose outputs are frames (``n_fields=1``) also works.
        X : array-like of shape (n_samples, *grid, n_in * n_fields)
            The first frames.
        y : array-like of shape (n_samples, *grid, n_steps * n_fields)
            The true following frames, frame-major.
        ax : matplotlib Axes or None, default=None
            Where to draw; ``None``: a new figure.
        log_scale : bool, default=False
            A logarithmic error axis.
        name : str or None, default=None
            Legend label; ``None``: the class name of the estimator's one-step model.

        Returns
        -------
        display : RolloutErrorDisplay
        """
        X, y, _, y_axis = estimator_layouts(estimator, X, y)
        pred = predict_like(estimator, X, y)
        inner = getattr(estimator, "estimator_", estimator)
        return cls.from_predictions(
            y,
            pred,
            n_fields=getattr(estimator, "n_fields", 1),
            channel_axis=y_axis,
            ax=ax,
            log_scale=log_scale,
            name=type(inner).__name__ if name is None else name,
        )

    @classmethod
    def from_predictions(
        cls,
        y_true: Any,
        y_pred: Any,
        *,
        n_fields: int = 1,
        channel_axis: int | None = -1,
        ax: Any = None,
        log_scale: bool = False,
        name: str | None = None,
    ) -> RolloutErrorDisplay:
        """Draw the error per step of predicted trajectories.

        Parameters
        ----------
        y_true : array-like of shape (n_samples, *grid, n_steps * n_fields)
            True frames, frame-major on the last axis.
        y_pred : array-like of the same shape
            Predicted frames.
        n_fields : int, default=1
            Fields per frame.
        channel_axis : -1 or None, default=-1
            ``-1``: frames on the last axis; ``None``: a single frame ``(n_samples, *grid)``.
        ax : matplotlib Axes or None, default=None
            Where to draw; ``None``: a new figure.
        log_scale : bool, default=False
            A logarithmic error axis.
        name : str or None, default=None
            Legend label.

        Returns
        -------
        display : RolloutErrorDisplay
        """
        errors = rollout_error(y_true, y_pred, n_fields, channel_axis=channel_axis)
        return cls(errors=errors).plot(ax=ax, log_scale=log_scale, name=name)
