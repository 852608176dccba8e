"""Training criteria. They take predictions and targets in physical units.

- :class:`RelativeL2Loss`: the relative L2 error per sample, averaged (the AM-FNO paper's loss);
- :class:`RelativeH1Loss`: the relative H1 (Sobolev) error per sample, averaged, with spectral
  derivatives on periodic axes and finite differences on the others (as neuraloperator's
  ``H1Loss``), equal to :func:`sklearn_amfno.metrics.relative_h1_error` on periodic data;
- :class:`ScaledMSELoss`: the mean squared error of standardised (per-sample) targets;
- :class:`StepwiseLoss`: a per-step loss summed over the steps of a rollout;
- :class:`LastStepLoss`: a per-step loss of the last step of a pushforward prediction;
- :class:`SampleWeightedLoss`: the weighted mean over samples of a per-sample criterion
  (the estimators' ``fit(X, y, sample_weight=...)``).

Every criterion here takes ``reduction`` as torch's losses do: ``"mean"`` (the default) returns
the mean over the batch, ``"none"`` one loss per sample, ``(n_samples,)`` (the relative errors
have no elementwise form, so ``"none"`` is per sample here, where torch's is per element).

Degenerate targets
------------------
The relative L2 error ``||pred_i - y_i|| / ||y_i||`` is undefined for an all-zero target and
meaningless for a target whose norm is tiny next to the others: it weighs sample ``i`` by
``1 / ||y_i||``, so one all-zero field among 32 made the loss ~1e10 and ruined training without a
word. :class:`RelativeL2Loss` (and :func:`sklearn_amfno.metrics.relative_l2_error`, with the same
rule; :class:`RelativeH1Loss` applies it to H1 norms) therefore call a sample **degenerate** when
``||y_i|| <= rel_threshold * ref``, where the **typical norm** ``ref`` is the root mean square
of the per-sample target norms (of the batch, or a fixed ``reference_norm``, e.g. the training
data's), and measure a degenerate sample's error against ``ref`` instead of its own norm:
``||pred_i - y_i|| / ref``, its error in units of a typical target. If ``ref`` is 0 (every
target is zero), the denominator is 1: the absolute error.

Why substitute ``ref`` rather than floor the norm (``max(||y_i||, rel_threshold * ref)``): a floor
bounds the loss but not the sample's weight, ``1 / rel_threshold`` times a typical sample's. With a
floor of ``1e-2 * ref`` the all-zero target above still dominated training (test error 0.68 against
0.02 on clean data); measured against ``ref`` it counts like any other sample (0.023). A sample
above the threshold keeps its own norm, so on ordinary data (no norm below 1 % of the typical one)
the loss is exactly the one of the paper, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

DEGENERATE_THRESHOLD = 1e-2
"""Default ``rel_threshold``: a target whose norm is at most 1 % of the typical norm is degenerate.

Per-sample norms of ordinary operator-learning data stay within a factor of ~10 of their root mean
square (``make_heat``: 0.11 to 2.1), so 1 % leaves ordinary samples untouched, while a sample
below it would count more than 100 times a typical one in the relative error.
"""


REDUCTIONS = ("mean", "none")
"""The ``reduction`` values of the criteria here: the batch mean, or one loss per sample."""


def _check_reduction(reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be 'mean' or 'none' (one loss per sample), got {reduction!r}.")
    return reduction


def _reduce(per_sample: torch.Tensor, reduction: str) -> torch.Tensor:
    """The batch mean of per-sample losses, or the losses themselves (``reduction="none"``)."""
    return per_sample.mean() if reduction == "mean" else per_sample


def relative_l2_denominators(
    target_norms: torch.Tensor,
    rel_threshold: float = DEGENERATE_THRESHOLD,
    reference_norm: float | None = None,
) -> torch.Tensor:
    """What each sample's error is divided by in the relative L2 loss (see the module docstring).

    Parameters
    ----------
    target_norms : torch.Tensor of shape (n_samples,)
        ``||y_i||`` per sample.
    rel_threshold : float, default=1e-2
        A sample with ``||y_i|| <= rel_threshold * ref`` is degenerate.
    reference_norm : float or None, default=None
        The typical norm ``ref``; ``None``: the root mean square of ``target_norms``.

    Returns
    -------
    torch.Tensor of shape (n_samples,)
        ``||y_i||``, or ``ref`` for a degenerate sample (1 if ``ref`` is 0).
    """
    if reference_norm is None:
        # The root mean square, rescaled by the largest norm so that the squares cannot overflow.
        if target_norms.numel() == 0:
            return target_norms
        top = target_norms.amax().clamp(min=torch.finfo(target_norms.dtype).tiny)
        ref = (target_norms / top).square().mean().sqrt() * top
    else:
        ref = torch.as_tensor(float(reference_norm), dtype=target_norms.dtype, device=target_norms.device)
    scale = torch.where(ref > 0, ref, torch.ones_like(ref))
    return torch.where(target_norms <= rel_threshold * ref, scale, target_norms)


class RelativeL2Loss(nn.Module):
    """Mean over samples of ``||pred - y|| / ||y||`` (the AM-FNO paper's metric and loss).

    A sample whose target norm is at most ``rel_threshold`` times the typical norm ``ref`` (the
    root mean square of the batch's per-sample target norms, or ``reference_norm``) is
    degenerate: its error is divided by ``ref`` instead (by 1 if ``ref`` is 0, i.e. every target
    of the batch is zero). The reasons are in :mod:`sklearn_amfno.nn.losses`. A batch without
    degenerate samples gives exactly ``mean(||pred_i - y_i|| / (||y_i|| + eps))``.

    Parameters
    ----------
    eps : float, default=1e-12
        Added to every denominator (as before degenerate targets were handled).
    rel_threshold : float, default=1e-2
        Relative norm at or below which a target sample is degenerate.
    reference_norm : float or None, default=None
        A fixed typical target norm (e.g. the root mean square of the training targets' norms,
        :func:`sklearn_amfno.metrics.typical_norm`). ``None``: that of each batch. A fixed value
        makes the rule independent of how samples are batched (a batch holding only a zero
        target is then still measured in units of a typical target).
    reduction : {"mean", "none"}, default="mean"
        ``"mean"``: the mean over the batch; ``"none"``: one loss per sample.

    Examples
    --------
    >>> import torch
    >>> from sklearn_amfno.nn.losses import RelativeL2Loss
    >>> y = torch.tensor([[3.0, 4.0], [0.0, 0.0]])
    >>> pred = torch.tensor([[3.3, 4.4], [0.3, 0.4]])
    >>> round(RelativeL2Loss()(pred, y).item(), 4)  # (0.1 + 0.5 / (5 / sqrt(2))) / 2
    0.1207
    """

    def __init__(
        self,
        eps: float = 1e-12,
        rel_threshold: float = DEGENERATE_THRESHOLD,
        reference_norm: float | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        self.eps = eps
        self.rel_threshold = rel_threshold
        self.reference_norm = reference_norm
        self.reduction = _check_reduction(reduction)

    def _ratios(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``||pred_i - y_i||`` over the denominators, per sample (inputs flattened)."""
        denominators = relative_l2_denominators(target.norm(dim=1), self.rel_threshold, self.reference_norm)
        return (pred - target).norm(dim=1) / (denominators + self.eps)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The mean relative L2 error of the batch (samples along axis 0).

        Parameters
        ----------
        pred : torch.Tensor of shape (n_samples, ...)
            Predictions, in physical units.
        target : torch.Tensor of shape (n_samples, ...)
            Targets, same shape as ``pred``.

        Returns
        -------
        loss : torch.Tensor of shape () or (n_samples,)
            The loss, a scalar; each sample's with ``reduction="none"``.
        """
        pred, target = pred.flatten(1), target.flatten(1)
        if target.dtype == torch.float64 or target.shape[1] == 0:
            return _reduce(self._ratios(pred, target), self.reduction)
        # In float32 the squares of the norms overflow beyond |y| ~ 1e19 (and underflow below
        # ~1e-19), and pred - y may overflow: such a batch is measured in float64. Both are
        # computed and one is selected, so that no value is read back from the device; an
        # ordinary batch keeps exactly its float32 value. The branch not taken sees zeros, so
        # that its infinities cannot turn the gradient into NaN.
        info = torch.finfo(target.dtype)
        with torch.no_grad():
            target_norms = target.norm(dim=1)
            ordinary = (
                torch.isfinite(self._ratios(pred, target)).all()
                & torch.isfinite(target_norms).all()
                & (target_norms >= (info.tiny / info.eps) ** 0.5).all()
            )
        zero = torch.zeros((), dtype=target.dtype, device=target.device)
        narrow = self._ratios(torch.where(ordinary, pred, zero), torch.where(ordinary, target, zero))
        wide = self._ratios(
            torch.where(ordinary, zero, pred).double(), torch.where(ordinary, zero, target).double()
        )
        return _reduce(torch.where(ordinary, narrow, wide.to(narrow.dtype)), self.reduction)


def _axis_flags(periodic: bool | Sequence[bool], n_dim: int) -> tuple[bool, ...]:
    """``periodic`` as one flag per grid axis, checked against ``n_dim``."""
    if isinstance(periodic, bool):
        return (periodic,) * n_dim
    flags = tuple(periodic)
    if len(flags) != n_dim or not all(isinstance(f, bool) for f in flags):
        raise ValueError(
            f"periodic must be a bool or one bool per grid axis ({n_dim} here); got {periodic!r}."
        )
    return flags


def h1_norms(u: torch.Tensor, periodic: bool | Sequence[bool] = True) -> torch.Tensor:
    """H1 norm of each sample of gridded data on the unit domain, channels summed.

    ``||u||_H1^2 = sum_c [ mean(u_c^2) + sum_d mean((d u_c / d x_d)^2) ]``, the means over the
    grid (so that the value does not grow with the number of grid points). The derivative along
    a **periodic** axis of ``n`` points (``x_j = j / n``, the package's convention) is spectral:
    its mean square is ``sum_k (2 pi k)^2 |u_k|^2 / n^2`` over the axis's Fourier coefficients
    (Parseval; the Nyquist mode of an even axis counted as a cosine), exact for trigonometric
    polynomials and equal to the norm of :func:`sklearn_amfno.metrics.relative_h1_error`. Along
    a **non-periodic** axis the grid holds both end points (``x = linspace(0, 1, n)``, as
    ``make_darcy``) and the derivative is a central difference, one-sided at the two ends (as
    neuraloperator's ``H1Loss``).

    Parameters
    ----------
    u : torch.Tensor of shape (n_samples, n_channels, *grid)
        Real fields, channels first, on 1, 2 or 3 grid axes.
    periodic : bool or sequence of bool, default=True
        Whether each grid axis is periodic; one bool applies to all.

    Returns
    -------
    torch.Tensor of shape (n_samples,)

    Examples
    --------
    ``sin(2 pi 3 x)`` has mean square 1/2 and a derivative of mean square ``(6 pi)^2 / 2``:

    >>> import math, torch
    >>> from sklearn_amfno.nn.losses import h1_norms
    >>> x = torch.arange(32, dtype=torch.float64) / 32
    >>> u = torch.sin(2 * math.pi * 3 * x).reshape(1, 1, 32)
    >>> abs(h1_norms(u).item() ** 2 - (1 + (6 * math.pi) ** 2) / 2) < 1e-9
    True
    """
    n_dim = u.ndim - 2
    flags = _axis_flags(periodic, n_dim)
    grid = u.shape[2:]
    n_points = math.prod(grid)
    # Rescaled per sample so that the squares cannot overflow or underflow; the norm is
    # homogeneous, so the (detached) scale changes neither its value nor its gradient.
    scale = u.detach().abs().flatten(1).amax(1).clamp(min=torch.finfo(u.dtype).tiny)
    v = u / scale.view(-1, *([1] * (u.ndim - 1)))
    # Components whose squares add up to ||u||_H1^2; one vector norm takes care of a zero norm's
    # gradient.
    parts = [v.flatten(1) / math.sqrt(n_points)]
    for axis, (n, is_periodic) in enumerate(zip(grid, flags)):
        dim = 2 + axis
        if is_periodic:
            k = torch.fft.rfftfreq(n, d=1.0 / n, dtype=v.dtype, device=v.device)
            # A mode and its mirror -k are one entry of the halved spectrum: weight 2, except
            # k = 0 and the Nyquist mode of an even axis.
            multiplicity = torch.full_like(k, 2.0)
            multiplicity[0] = 1.0
            if n % 2 == 0:
                multiplicity[-1] = 1.0
            weight = 2 * math.pi * k * multiplicity.sqrt() / (n * math.sqrt(n_points / n))
            shape = [1] * v.ndim
            shape[dim] = -1
            coefficients = torch.fft.rfft(v, dim=dim) * weight.view(shape)
            parts.append(torch.view_as_real(coefficients).flatten(1))
        elif n > 1:
            derivative = torch.gradient(v, spacing=1.0 / (n - 1), dim=dim, edge_order=1)[0]
            parts.append(derivative.flatten(1) / math.sqrt(n_points))
    return torch.linalg.vector_norm(torch.cat(parts, dim=1), dim=1) * scale


class RelativeH1Loss(nn.Module):
    """Mean over samples of ``||pred - y||_H1 / ||y||_H1`` (relative Sobolev error).

    The H1 norm (:func:`h1_norms`) adds the mean square of the gradient to that of the field, so
    the loss weighs an error of wavenumber ``k`` by about ``sqrt(1 + 4 pi^2 k^2)`` against the
    relative L2 loss: errors in the fine scales count more. Derivatives are spectral on
    periodic axes (unit domain, ``x_j = j / n``), central differences on non-periodic ones
    (``x = linspace(0, 1, n)``), as neuraloperator's ``H1Loss``. On periodic data it equals
    :func:`sklearn_amfno.metrics.relative_h1_error`.

    A sample whose target H1 norm is at most ``rel_threshold`` times the typical H1 norm ``ref``
    (the root mean square of the batch's target H1 norms, or ``reference_norm``) is degenerate:
    its error is divided by ``ref`` instead (by 1 if ``ref`` is 0), the rule of
    :class:`RelativeL2Loss`.

    Parameters
    ----------
    periodic : bool or sequence of bool, default=True
        Whether each grid axis is periodic; one bool applies to all axes.
    eps : float, default=1e-12
        Added to every denominator.
    rel_threshold : float, default=1e-2
        Relative H1 norm at or below which a target sample is degenerate.
    reference_norm : float or None, default=None
        A fixed typical target **H1** norm; ``None``: that of each batch.
    reduction : {"mean", "none"}, default="mean"
        ``"mean"``: the mean over the batch; ``"none"``: one loss per sample.

    Examples
    --------
    An error ``0.1 sin(2 pi 3 x)`` on ``y = sin(2 pi x)``: about 3 times the relative L2 error,
    ``0.1 * sqrt((1 + 36 pi^2) / (1 + 4 pi^2))``:

    >>> import math, torch
    >>> from sklearn_amfno.nn.losses import RelativeH1Loss
    >>> x = torch.arange(64, dtype=torch.float64) / 64
    >>> y = torch.sin(2 * math.pi * x).reshape(1, 1, 64)
    >>> pred = y + 0.1 * torch.sin(2 * math.pi * 3 * x)
    >>> round(RelativeH1Loss()(pred, y).item(), 6)
    0.296688
    """

    def __init__(
        self,
        periodic: bool | Sequence[bool] = True,
        eps: float = 1e-12,
        rel_threshold: float = DEGENERATE_THRESHOLD,
        reference_norm: float | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        self.periodic = periodic
        self.eps = eps
        self.rel_threshold = rel_threshold
        self.reference_norm = reference_norm
        self.reduction = _check_reduction(reduction)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The mean relative H1 error of the batch (1 to 3 grid axes).

        Parameters
        ----------
        pred : torch.Tensor of shape (n_samples, n_channels, *grid)
            Predictions, in physical units.
        target : torch.Tensor of shape (n_samples, n_channels, *grid)
            Targets, same shape as ``pred``.

        Returns
        -------
        loss : torch.Tensor of shape () or (n_samples,)
            The loss, a scalar; each sample's with ``reduction="none"``.
        """
        if target.ndim not in (3, 4, 5) or pred.shape != target.shape:
            raise ValueError(
                "RelativeH1Loss expects prediction and target of one shape (n_samples, n_channels, "
                f"*grid) with 1, 2 or 3 grid axes; got {tuple(pred.shape)} and {tuple(target.shape)}."
            )
        denominators = relative_l2_denominators(
            h1_norms(target, self.periodic), self.rel_threshold, self.reference_norm
        )
        ratios = h1_norms(pred - target, self.periodic) / (denominators + self.eps)
        return _reduce(ratios, self.reduction)


class ScaledMSELoss(nn.Module):
    """Mean squared error of ``(pred - y) / scale``: MSE of standardised targets.

    Used for per-sample targets, where a relative error per sample is ill-posed (a scalar target
    near zero would dominate the loss). Where ``pred - y`` or the mean of squares overflows
    float32 (values near float32's limit, 3.4e38), the batch is computed in float64; otherwise the
    value is exactly the float32 one.

    Parameters
    ----------
    scale : torch.Tensor or float, default=1.0
        The targets' scale (broadcast against them), e.g. their standard deviation.
    reduction : {"mean", "none"}, default="mean"
        ``"mean"``: the mean over every value of the batch; ``"none"``: the mean over each
        sample's values, one loss per sample (their mean is the ``"mean"`` loss).
    """

    scale: torch.Tensor

    def __init__(self, scale: torch.Tensor | float = 1.0, reduction: str = "mean") -> None:
        super().__init__()
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))
        self.reduction = _check_reduction(reduction)

    def _reduce(self, squares: torch.Tensor) -> torch.Tensor:
        if self.reduction == "mean":
            return squares.mean()
        return squares.flatten(1).mean(1) if squares.ndim > 1 else squares

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The mean squared error of ``(pred - target) / scale``.

        Parameters
        ----------
        pred : torch.Tensor of shape (n_samples, ...)
            Predictions, in physical units.
        target : torch.Tensor of shape (n_samples, ...)
            Targets, same shape as ``pred``.

        Returns
        -------
        loss : torch.Tensor of shape () or (n_samples,)
            The loss, a scalar; each sample's with ``reduction="none"``.
        """
        if target.dtype == torch.float64:
            return self._reduce(((pred - target) / self.scale) ** 2)
        with torch.no_grad():
            ordinary = torch.isfinite(self._reduce(((pred - target) / self.scale) ** 2)).all()
        zero = torch.zeros((), dtype=target.dtype, device=target.device)
        narrow = self._reduce(
            ((torch.where(ordinary, pred, zero) - torch.where(ordinary, target, zero)) / self.scale) ** 2
        )
        wide = self._reduce(
            (
                (torch.where(ordinary, zero, pred).double() - torch.where(ordinary, zero, target).double())
                / self.scale.double()
            )
            ** 2
        )
        return torch.where(ordinary, narrow, wide.to(narrow.dtype))


class StepwiseLoss(nn.Module):
    """The sum over ``n_steps`` equal chunks of the channel axis of a per-step criterion.

    Trains a model through its own rollout (as the FNO Navier-Stokes scripts do): the prediction
    and the target hold ``n_steps`` consecutive outputs along axis 1, and each step's loss counts
    once.

    Parameters
    ----------
    criterion : torch.nn.Module
        The loss of one step, ``criterion(pred_k, target_k)``.
    n_steps : int
        Steps along axis 1.
    """

    def __init__(self, criterion: nn.Module, n_steps: int) -> None:
        super().__init__()
        self.criterion, self.n_steps = criterion, n_steps

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The sum of ``criterion`` over the ``n_steps`` chunks of axis 1.

        Parameters
        ----------
        pred : torch.Tensor of shape (n_samples, n_steps * n_channels, ...)
            Predictions, in physical units.
        target : torch.Tensor of shape (n_samples, n_steps * n_channels, ...)
            Targets, same shape as ``pred``.

        Returns
        -------
        loss : torch.Tensor
            The loss: a scalar, or one per sample when ``criterion`` gives per-sample losses.
        """
        total = pred.new_zeros(())
        for p, t in zip(pred.chunk(self.n_steps, dim=1), target.chunk(self.n_steps, dim=1)):
            total = total + self.criterion(p, t)
        return total


class LastStepLoss(nn.Module):
    """A per-step criterion on the last step a prediction holds (pushforward training).

    The target holds ``n_steps`` consecutive outputs along axis 1; the prediction holds the
    first ``k <= n_steps`` of them (:class:`~sklearn_amfno.nn.models.Pushforward` returns ``k``
    steps, ``k`` drawn per batch), and its ``k``-th step is compared with the target's ``k``-th.

    Parameters
    ----------
    criterion : torch.nn.Module
        The loss of one step, ``criterion(pred_k, target_k)``.
    n_steps : int
        Steps the target holds along axis 1.
    """

    def __init__(self, criterion: nn.Module, n_steps: int) -> None:
        super().__init__()
        self.criterion, self.n_steps = criterion, n_steps

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``criterion`` of the prediction's last step against the same step of the target.

        Parameters
        ----------
        pred : torch.Tensor of shape (n_samples, k * n_channels, ...)
            The first ``k`` steps of a rollout, ``1 <= k <= n_steps``, in physical units.
        target : torch.Tensor of shape (n_samples, n_steps * n_channels, ...)
            Targets of all ``n_steps`` steps.

        Returns
        -------
        loss : torch.Tensor
            ``criterion``'s value: a scalar, or one per sample for a per-sample criterion.
        """
        width = target.shape[1] // self.n_steps
        steps_ok = width * self.n_steps == target.shape[1]
        if not steps_ok or pred.shape[1] % width or not 0 < pred.shape[1] <= target.shape[1]:
            raise ValueError(
                f"expected a target of n_steps={self.n_steps} steps along axis 1 and a prediction of "
                f"1 to {self.n_steps} such steps, got shapes {tuple(pred.shape)} and {tuple(target.shape)}."
            )
        stop = pred.shape[1]
        return self.criterion(pred[:, stop - width :], target[:, stop - width : stop])


class SampleWeightedLoss(nn.Module):
    """The weighted mean over samples of a criterion's per-sample losses (sample weights).

    ``criterion(pred, target)`` must return one loss per sample, ``(n_samples,)`` (the criteria
    here with ``reduction="none"``), or one per value, of ``pred``'s shape (torch's losses with
    ``reduction="none"``), whose mean over every axis but the first is the sample's loss. The
    weighted loss of a batch is ``mean_i(w_i * l_i)``: the estimators pass weights divided by
    their mean over the data being fitted (the training or the validation split), so that the
    batch's value is an unbiased estimate of the weighted mean ``sum_i w_i l_i / sum_i w_i`` over
    those data, and equal to it for a batch holding all of them (scikit-learn's normalisation:
    weights ``c * w`` fit as ``w``, a weight 0 drops the sample, an integer weight ``k`` counts
    as ``k`` copies). Without weights it is the plain mean of the per-sample losses.

    Parameters
    ----------
    criterion : torch.nn.Module
        A per-sample (or per-value) criterion.

    Examples
    --------
    >>> import torch
    >>> from sklearn_amfno.nn.losses import RelativeL2Loss, SampleWeightedLoss
    >>> y = torch.tensor([[3.0, 4.0], [6.0, 8.0]])
    >>> pred = y * torch.tensor([[1.1], [1.2]])                # relative errors 0.1 and 0.2
    >>> loss = SampleWeightedLoss(RelativeL2Loss(reduction="none"))
    >>> round(loss(pred, y).item(), 6)
    0.15
    >>> round(loss(pred, y, sample_weight=torch.tensor([1.5, 0.5])).item(), 6)  # mean weight 1
    0.125
    """

    def __init__(self, criterion: nn.Module) -> None:
        super().__init__()
        self.criterion = criterion

    def forward(
        self, pred: torch.Tensor, target: torch.Tensor, sample_weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The (weighted) mean over the batch of the per-sample losses.

        Parameters
        ----------
        pred : torch.Tensor of shape (n_samples, ...)
            Predictions.
        target : torch.Tensor of shape (n_samples, ...)
            Targets.
        sample_weight : torch.Tensor of shape (n_samples,) or None, default=None
            Non-negative weights, normalised by the caller (see above); ``None``: all equal.

        Returns
        -------
        loss : torch.Tensor of shape ()
            The loss, a scalar.
        """
        losses = per_sample_losses(self.criterion(pred, target), pred, type(self.criterion).__name__)
        if sample_weight is None:
            return losses.mean()
        return (losses * sample_weight.to(device=losses.device, dtype=losses.dtype)).mean()


def per_sample_losses(losses: torch.Tensor, pred: torch.Tensor, name: str = "the loss") -> torch.Tensor:
    """One loss per sample from a criterion's ``reduction="none"`` output.

    Parameters
    ----------
    losses : torch.Tensor
        Per-sample losses ``(n_samples,)``, or per-value losses of ``pred``'s shape (averaged
        over every axis but the first).
    pred : torch.Tensor of shape (n_samples, ...)
        The prediction the losses were computed for.
    name : str, default="the loss"
        The criterion's name, for the error message.

    Returns
    -------
    torch.Tensor of shape (n_samples,)
    """
    n = pred.shape[0]
    if isinstance(losses, torch.Tensor) and losses.shape == pred.shape and losses.ndim > 1:
        return losses.flatten(1).mean(1)
    if isinstance(losses, torch.Tensor) and losses.shape == (n,):
        return losses
    shape = tuple(losses.shape) if isinstance(losses, torch.Tensor) else type(losses).__name__
    raise ValueError(
        f"{name} with reduction='none' must return one loss per sample, shape ({n},), or one per "
        f"value, the prediction's shape {tuple(pred.shape)}; got {shape}. Sample weights need "
        "per-sample losses."
    )
