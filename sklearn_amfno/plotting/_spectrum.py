"""SpectrumDisplay: radial power spectrum of truth, prediction and error."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..metrics import _binned_power, _channels_first
from ._common import check_index, display_repr, estimator_layouts, predict_like, single_axes


class SpectrumDisplay:
    """Radial power spectrum of true and predicted fields, and of their difference.

    The power of shell ``s`` is the energy of the Fourier modes with ``s <= |k| < s + 1``
    (physical wavenumbers: cycles per unit domain), averaged over samples and channels, the shells
    of :func:`sklearn_amfno.metrics.spectral_error` with ``bands="shells"``: the shells of a field
    add up to its mean square, those of the error to the mean squared error. Drawn on a
    logarithmic power axis; empty shells are left out, and so are shells holding only float64
    round-off (power below ``5e-26`` times the curve's largest).

    Build it with :meth:`from_estimator` or :meth:`from_predictions`.

    Parameters
    ----------
    wavenumbers : ndarray of shape (n_shells,)
        The shells' lower wavenumbers ``s``.
    power_true : ndarray of shape (n_shells,)
        Power of the true fields per shell.
    power_pred : ndarray of shape (n_shells,)
        Power of the predictions per shell.
    power_error : ndarray of shape (n_shells,) or None, default=None
        Power of the error per shell; ``None``: not drawn.

    Attributes
    ----------
    figure_ : matplotlib Figure
        The figure drawn on.
    ax_ : matplotlib Axes
        The axes drawn on.
    lines_ : dict of str to matplotlib Line2D
        The lines "truth", "prediction" and (when given) "error"; their y data are the powers,
        with empty (or round-off) shells as NaN.

    See Also
    --------
    sklearn_amfno.metrics.spectral_error : The error per wavenumber band.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_amfno.plotting import SpectrumDisplay
    >>> x = np.arange(32) / 32
    >>> y = np.sin(2 * np.pi * x)[np.newaxis]
    >>> display = SpectrumDisplay.from_predictions(y, y + 0.1 * np.sin(2 * np.pi * 5 * x))
    >>> round(float(display.power_error[5]), 6)  # the error's mean square, 0.1**2 / 2
    0.005
    """

    def __init__(
        self, *, wavenumbers: Any, power_true: Any, power_pred: Any, power_error: Any = None
    ) -> None:
        self.wavenumbers = wavenumbers
        self.power_true = power_true
        self.power_pred = power_pred
        self.power_error = power_error

    def __repr__(self) -> str:
        def describe() -> str:
            curves = "truth and prediction" if self.power_error is None else "truth, prediction and error"
            return f"{np.size(self.wavenumbers)} shells of {curves}"

        return display_repr(self, describe)

    def plot(self, ax: Any = None, *, name: str | None = None) -> SpectrumDisplay:
        """Draw the spectra.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Where to draw; ``None``: a new figure.
        name : str or None, default=None
            Added to the legend labels of the prediction and the error (e.g. the model's name),
            to compare several models on one axes.

        Returns
        -------
        display : SpectrumDisplay
            ``self``, drawn.
        """
        ax = single_axes(ax, "SpectrumDisplay.plot")
        k = np.asarray(self.wavenumbers, dtype=float)
        suffix = f" ({name})" if name else ""

        def positive(power: Any) -> np.ndarray:
            # Log axis: empty shells are left out, and so are those holding only float64
            # round-off (amplitudes below 1e3 eps of the largest), which would stretch the axis.
            power = np.asarray(power, dtype=float)
            floor = (1e3 * np.finfo(float).eps) ** 2 * (power.max() if power.size else 0.0)
            return np.where(power > floor, power, np.nan)

        self.lines_ = {}
        (self.lines_["truth"],) = ax.plot(k, positive(self.power_true), color="black", label="truth")
        (self.lines_["prediction"],) = ax.plot(
            k, positive(self.power_pred), linestyle="--", label="prediction" + suffix
        )
        if self.power_error is not None:
            (self.lines_["error"],) = ax.plot(
                k, positive(self.power_error), linestyle=":", label="error" + suffix
            )
        ax.set_yscale("log")
        ax.set_xlabel("wavenumber |k| (shell)")
        ax.set_ylabel("power")
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
        channel_index: int | None = None,
        wavenumber: str = "radial",
        show_error: bool = True,
        ax: Any = None,
        name: str | None = None,
    ) -> SpectrumDisplay:
        """Predict ``X`` with a fitted estimator and draw the spectra against ``y``.

        Parameters
        ----------
        estimator : fitted estimator of sklearn_amfno
            An operator estimator or an ``AutoregressiveRegressor`` (which rolls out as many
            frames as ``y`` holds).
        X : array-like of shape (n_samples, *grid) or (n_samples, *grid, n_channels)
            Inputs (channel axis: the estimator's ``channel_axis``).
        y : array-like of shape (n_samples, *grid) or (n_samples, *grid, n_outputs)
            True targets on X's grid; their channel axis follows from their rank.
        channel_index : int or None, default=None
            The channel of ``y`` to analyse; ``None``: the average over all channels.
        wavenumber : {"radial", "max"}, default="radial"
            A mode's wavenumber: ``|k|`` or ``max_d |k_d|`` (see
            :func:`sklearn_amfno.metrics.spectral_error`).
        show_error : bool, default=True
            Also draw the spectrum of the error.
        ax : matplotlib Axes or None, default=None
            Where to draw; ``None``: a new figure.
        name : str or None, default=None
            Legend suffix, see :meth:`plot`; ``None``: the estimator's class name.

        Returns
        -------
        display : SpectrumDisplay
        """
        X, y, _, y_axis = estimator_layouts(estimator, X, y)
        pred = predict_like(estimator, X, y)
        return cls.from_predictions(
            y,
            pred,
            channel_axis=y_axis,
            channel_index=channel_index,
            wavenumber=wavenumber,
            show_error=show_error,
            ax=ax,
            name=type(estimator).__name__ if name is None else name,
        )

    @classmethod
    def from_predictions(
        cls,
        y_true: Any,
        y_pred: Any,
        *,
        channel_axis: int | None = None,
        channel_index: int | None = None,
        wavenumber: str = "radial",
        show_error: bool = True,
        ax: Any = None,
        name: str | None = None,
    ) -> SpectrumDisplay:
        """Draw the spectra of true and predicted fields.

        Parameters
        ----------
        y_true : array-like of shape (n_samples, *grid) or (n_samples, *grid, n_channels)
            True fields on a 1-D, 2-D or 3-D periodic grid (see ``channel_axis``).
        y_pred : array-like of the same shape
            Predicted fields.
        channel_axis : None or -1, default=None
            ``None``: ``(n_samples, *grid)``; ``-1``: channels last.
        channel_index : int or None, default=None
            The channel to analyse; ``None``: the average over all channels.
        wavenumber : {"radial", "max"}, default="radial"
            A mode's wavenumber: ``|k|`` or ``max_d |k_d|``.
        show_error : bool, default=True
            Also draw the spectrum of the error.
        ax : matplotlib Axes or None, default=None
            Where to draw; ``None``: a new figure.
        name : str or None, default=None
            Legend suffix, see :meth:`plot`.

        Returns
        -------
        display : SpectrumDisplay
        """
        if channel_axis not in (None, -1):
            raise ValueError(f"channel_axis must be None or -1, got {channel_axis!r}.")
        if wavenumber not in ("radial", "max"):
            raise ValueError(f"wavenumber must be 'radial' or 'max', got {wavenumber!r}.")
        y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
        if y_true.shape != y_pred.shape:
            raise ValueError(f"y_true and y_pred shapes differ: {y_true.shape} vs {y_pred.shape}.")
        if y_true.ndim == 0 or len(y_true) == 0:
            raise ValueError(f"Expected at least one sample in y_true, got shape {y_true.shape}.")
        true, pred = _channels_first(y_true, None, channel_axis), _channels_first(y_pred, None, channel_axis)
        if channel_index is not None:
            c = check_index(channel_index, true.shape[1], "channel_index", "channels")
            true, pred = true[:, c : c + 1], pred[:, c : c + 1]
        # One set of shells for all three (the error's can have no more shells than the grid).
        powers = [_binned_power(a, None, wavenumber) for a in (true, pred, pred - true)]
        display = cls(
            wavenumbers=np.arange(powers[0].size),
            power_true=powers[0],
            power_pred=powers[1],
            power_error=powers[2] if show_error else None,
        )
        return display.plot(ax=ax, name=name)
