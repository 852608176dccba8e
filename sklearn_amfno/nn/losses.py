"""Training criteria. Both take predictions and targets in physical units."""

from __future__ import annotations

import torch
from torch import nn


class RelativeL2Loss(nn.Module):
    """Mean over samples of ``||pred - y|| / ||y||`` (the AM-FNO paper's metric and loss).

    Parameters
    ----------
    eps : float, default=1e-12
        Added to ``||y||`` so that an all-zero target sample does not divide by zero.
    """

    def __init__(self, eps: float = 1e-12) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        diff = (pred - target).flatten(1).norm(dim=1)
        return (diff / (target.flatten(1).norm(dim=1) + self.eps)).mean()


class ScaledMSELoss(nn.Module):
    """Mean squared error of ``(pred - y) / scale``: MSE of standardised targets.

    Used for per-sample targets, where a relative error per sample is ill-posed (a scalar target
    near zero would dominate the loss).
    """

    scale: torch.Tensor

    def __init__(self, scale: torch.Tensor | float = 1.0) -> None:
        super().__init__()
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return (((pred - target) / self.scale) ** 2).mean()
