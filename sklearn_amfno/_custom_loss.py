"""The estimators' ``loss`` parameter as a torch module: ``loss=torch.nn.MSELoss()``.

Besides the built-in names (``"auto"``, ``"relative_l2"``, ``"relative_h1"``, ``"mse"``), ``loss``
takes a ``torch.nn.Module`` instance, or a subclass built without arguments, that computes a
scalar loss from ``(prediction, target)``. The module sees what the built-in losses see:

- tensors in the network's layout, channels first: ``(n, n_outputs, *grid)`` for a field,
  ``(n, k)`` for a per-sample target (``(n, 1)`` for a scalar one);
- **physical units**: the model de-standardises its output inside (``OperatorNetwork``), and
  targets are never scaled, so a loss compares predictions and targets as given to ``fit``
  (``torch.nn.MSELoss()`` is then the MSE of the raw values, which large or small targets
  scale; the built-in ``"mse"`` standardises per-sample targets first).

Each fit uses its own deep copy of an instance (the estimator's parameter is never moved to a
device or changed), and the loss is tried on two training targets before training, so that a
module that cannot take the layout, or returns no scalar, is refused with a message instead of
failing inside the training loop. With ``sample_weight`` a fit needs one loss per sample
(:func:`~sklearn_amfno._sample_weight.per_sample_criterion`).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from .nn.losses import per_sample_losses

#: The loss names of the estimators.
LOSS_NAMES = frozenset({"auto", "relative_l2", "relative_h1", "mse"})


def is_loss_module(loss: Any) -> bool:
    """Whether ``loss`` is a torch module (instance or class) rather than a loss name."""
    return isinstance(loss, nn.Module) or (isinstance(loss, type) and issubclass(loss, nn.Module))


def check_loss_module(loss: Any) -> None:
    """Refuse a class that is not a torch module, or one that cannot be built without arguments."""
    if isinstance(loss, nn.Module) or isinstance(loss, str):
        return
    if not (isinstance(loss, type) and issubclass(loss, nn.Module)):
        raise TypeError(
            f"loss must be one of {sorted(LOSS_NAMES)}, a torch.nn.Module instance or a "
            f"torch.nn.Module subclass (built without arguments), got {loss!r}."
        )
    build_loss(loss)


def build_loss(loss: nn.Module | type) -> nn.Module:
    """The fit's own loss module: a deep copy of an instance, or the class built without arguments."""
    if isinstance(loss, nn.Module):
        return copy.deepcopy(loss)
    try:
        return loss()
    except TypeError as error:
        raise TypeError(
            f"loss={loss.__name__} is a class, built with no arguments, and that failed: {error}. "
            f"Pass an instance instead (loss={loss.__name__}(...))."
        ) from None


def probe_loss(criterion: nn.Module, target: torch.Tensor, loss: Any, per_sample: bool = False) -> None:
    """Refuse a loss module that cannot score ``target``'s layout, before any training.

    The module gets a prediction (the target shifted by its own scale) and the target, on the
    CPU; it must return a finite scalar tensor that depends on the prediction (its gradient
    trains the model) or, for a weighted fit (``per_sample``), per-sample or per-value losses.
    """
    name = loss.__name__ if isinstance(loss, type) else type(loss).__name__
    pred = (target + target.std().clamp(min=1.0) * 0.1).requires_grad_(True)
    try:
        out = criterion(pred, target)
    except Exception as error:  # noqa: BLE001 - the user's code: say where it failed, keep its words
        raise ValueError(
            f"loss={name} failed on a training batch: {type(error).__name__}: {error}. A loss "
            f"module gets (prediction, target) tensors of shape {tuple(target.shape)} here: "
            "(n_samples, n_outputs, *grid) for a field, (n_samples, k) for a per-sample target, "
            "in physical units."
        ) from error
    if not isinstance(out, torch.Tensor):
        raise ValueError(f"loss={name} must return a torch.Tensor, got {type(out).__name__}.")
    if per_sample:
        out = per_sample_losses(out, pred, f"loss={name}")
    elif out.ndim != 0:
        raise ValueError(
            f"loss={name} must return a scalar tensor (shape ()), got shape {tuple(out.shape)} for "
            f"predictions and targets of shape {tuple(target.shape)}: reduce it (e.g. "
            "reduction='mean' for torch's losses)."
        )
    if not torch.isfinite(out).all():
        raise ValueError(f"loss={name} is not finite on the training targets: got {out.detach()}.")
    if not out.requires_grad:
        raise ValueError(
            f"loss={name} does not depend on the prediction (its result has no gradient), so it "
            "cannot train the model."
        )
