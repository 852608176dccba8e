"""The U-Net branch of U-FNO's U-Fourier layers (Wen et al., 2022), for 1-D, 2-D and 3-D grids.

A small encoder-decoder at constant width: each level halves the grid with a stride-2 3x3 convolution
(then a stride-1 one), BatchNorm and LeakyReLU(0.1); the decoder doubles it back with transposed
convolutions and concatenates the encoder features of the same level (skip connections); a last
3x3 convolution maps the concatenation with the branch input back to the width.

The convolutions are local stencils in grid-index units: the branch is tied to the grid spacing it
was trained on. On another grid it runs (the padding below makes any size work) but it is not
discretisation-invariant.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .normalization import BatchNorm

_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
_CONV_TRANSPOSE = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}


def _check_n_dim(n_dim: int) -> None:
    if n_dim not in _CONV:
        raise ValueError(f"n_dim must be 1, 2 or 3, got {n_dim!r}.")


def _conv_bn_act(n_dim: int, in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    """3x3 convolution (no bias: BatchNorm follows), BatchNorm, LeakyReLU(0.1)."""
    return nn.Sequential(
        _CONV[n_dim](in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False),
        BatchNorm(out_channels),
        nn.LeakyReLU(0.1),
    )


def padded_size(n: int, levels: int) -> int:
    """Smallest size ``>= n`` that ``levels`` halvings divide exactly."""
    step = 2**levels
    return math.ceil(n / step) * step


class UNetBranch(nn.Module):
    """U-Net mapping ``(batch, channels, *grid)`` to the same shape, any grid size.

    Parameters
    ----------
    channels : int
        Channels in and out, and at every level.
    n_dim : int
        Number of grid axes (1, 2 or 3): picks ``Conv1d``/``Conv2d``/``Conv3d``.
    levels : int, default=3
        Stride-2 levels (the reference uses 3).
    padding_mode : {"replicate", "constant"}, default="replicate"
        How the input is extended at the end of each axis to the next multiple of
        ``2 ** levels`` (see :func:`padded_size`) before the U-Net; the output is cropped back.
        Replicating the edge values avoids the artificial jump of zero padding.
    """

    def __init__(self, channels: int, n_dim: int, levels: int = 3, padding_mode: str = "replicate") -> None:
        super().__init__()
        _check_n_dim(n_dim)
        if levels < 1:
            raise ValueError(f"levels must be >= 1, got {levels!r}.")
        if padding_mode not in ("replicate", "constant"):
            raise ValueError(f"padding_mode must be 'replicate' or 'constant', got {padding_mode!r}.")
        self.n_dim, self.levels, self.padding_mode = n_dim, levels, padding_mode
        c = channels
        self.down = nn.ModuleList(
            nn.Sequential(_conv_bn_act(n_dim, c, c, stride=2), _conv_bn_act(n_dim, c, c, stride=1))
            for _ in range(levels)
        )
        # The deepest transposed convolution sees the bottleneck (c channels); the others see a
        # feature map concatenated with its skip connection (2c).
        self.up = nn.ModuleList(
            nn.Sequential(
                _CONV_TRANSPOSE[n_dim](c if i == 0 else 2 * c, c, kernel_size=4, stride=2, padding=1),
                nn.LeakyReLU(0.1),
            )
            for i in range(levels)
        )
        self.out = _CONV[n_dim](2 * c, c, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grid = tuple(x.shape[2:])
        if len(grid) != self.n_dim:
            raise ValueError(f"Expected {self.n_dim} grid axes, got input of shape {tuple(x.shape)}.")
        target = [padded_size(n, self.levels) for n in grid]
        # F.pad lists (before, after) pairs from the last axis backwards; pad only at the end.
        pad = [p for n, t in zip(reversed(grid), reversed(target)) for p in (0, t - n)]
        h = nn.functional.pad(x, pad, mode=self.padding_mode) if any(pad) else x
        skips = [h]
        for down in self.down:
            h = down(h)
            skips.append(h)
        h = skips.pop()
        for up in self.up:
            h = torch.cat([skips.pop(), up(h)], dim=1)
        out = self.out(h)
        crop = (slice(None), slice(None), *(slice(0, n) for n in grid))
        return out[crop]
