"""The operator blocks built from a spectral convolution: FNO's ``act(K v + W v)`` and the
F-FNO / AM-FNO residual block ``act(v + FFN(K v))``.

Tensors are channels-first, ``(batch, channels, *grid)``, so FFTs run over the trailing axes.
"""

from __future__ import annotations

import torch
from torch import nn

from .pointwise import PointwiseLinear, PointwiseMLP


class FourierBlock(nn.Module):
    """FNO layer ``act(K v + W v)`` (Li et al., 2021); ``activation=False`` for the last layer.

    ``extra`` is an optional third branch added before the activation (U-FNO's U-Net path).
    """

    def __init__(
        self,
        spectral: nn.Module,
        width: int,
        activation: bool = True,
        extra: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.spectral, self.bypass, self.extra = spectral, PointwiseLinear(width, width), extra
        self.activation = activation

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        out = self.spectral(v) + self.bypass(v)
        if self.extra is not None:
            out = out + self.extra(v)
        return nn.functional.gelu(out) if self.activation else out


class ResidualFFNBlock(nn.Module):
    """F-FNO / AM-FNO layer ``act(v + FFN(K v))``, FFN ``width -> ffn_ratio * width -> width`` (GELU).

    No ``W v`` bypass and no normalisation, as in the AM-FNO reference code; the last layer has no
    activation (``activation=False``). ``ffn_ratio=4`` is the papers' expansion.
    """

    def __init__(
        self, spectral: nn.Module, width: int, activation: bool = True, ffn_ratio: float = 4
    ) -> None:
        super().__init__()
        self.spectral = spectral
        self.ffn = PointwiseMLP(width, ffn_hidden(width, ffn_ratio), width)
        self.activation = activation

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        out = v + self.ffn(self.spectral(v))
        return nn.functional.gelu(out) if self.activation else out


def ffn_hidden(width: int, ffn_ratio: float) -> int:
    """Hidden channels of a feed-forward network of expansion ``ffn_ratio`` (at least one)."""
    return max(1, round(ffn_ratio * width))
