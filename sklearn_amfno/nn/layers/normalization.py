"""Normalisations of channels-first tensors ``(batch, channels, *grid)`` for any number of grid axes."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channel axis of a channels-first tensor, at every grid point.

    Equals ``torch.nn.LayerNorm(channels)`` applied to the channels-last tensor (unlike
    ``GroupNorm(1, channels)``, which normalises over channels *and* grid).

    Parameters
    ----------
    channels : int
        Size of axis 1.
    eps : float, default=1e-6
        Added to the variance (the AFNO/FourCastNet reference uses 1e-6).
    """

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.layer_norm(x.movedim(1, -1), self.weight.shape, self.weight, self.bias, self.eps)
        return out.movedim(-1, 1)


class BatchNorm(nn.Module):
    """Batch normalisation over batch and grid for any number of grid axes.

    Same arithmetic as ``nn.BatchNorm{1,2,3}d``, except that a training batch holding a single value
    per channel (one sample on a one-point grid) is normalised with the running statistics instead
    of raising, so that tiny grids and a last batch of one sample still train.
    """

    running_mean: torch.Tensor
    running_var: torch.Tensor

    def __init__(self, channels: int, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch_stats = self.training and x.numel() > x.shape[1]
        return F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            training=batch_stats,
            momentum=self.momentum,
            eps=self.eps,
        )
