"""LSM's processor (Wu et al., ICML 2023, Latent Spectral Models): a multi-scale U-Net whose skip
connections and bottleneck pass Neural Spectral Blocks.

Convolutions, pooling and interpolation are chosen by the number of grid axes (1-D, 2-D, 3-D). The
model is grid-tied: each axis is zero-padded at its end to a multiple of
``2 ** unet_levels * patch_size`` and cropped back after the U-Net.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .normalization import BatchNorm

_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
_POOL = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}
_INTERPOLATION = {1: "linear", 2: "bilinear", 3: "trilinear"}


class DoubleConv(nn.Module):
    """``(conv 3 -> BatchNorm -> ReLU) x 2``, convolutions without bias, zero padding (as in LSM)."""

    def __init__(
        self, n_dim: int, in_channels: int, out_channels: int, mid_channels: int | None = None
    ) -> None:
        super().__init__()
        mid = out_channels if mid_channels is None else mid_channels
        conv = _CONV[n_dim]
        self.block = nn.Sequential(
            conv(in_channels, mid, kernel_size=3, padding=1, bias=False),
            BatchNorm(mid),
            nn.ReLU(),
            conv(mid, out_channels, kernel_size=3, padding=1, bias=False),
            BatchNorm(out_channels),
            nn.ReLU(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class Down(nn.Module):
    """Max-pool by 2 on every axis, then :class:`DoubleConv`."""

    def __init__(self, n_dim: int, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.pool = _POOL[n_dim](2)
        self.conv = DoubleConv(n_dim, in_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.pool(x))


class Up(nn.Module):
    """Upsample by 2 ((bi/tri)linear, corners aligned), concatenate the skip, :class:`DoubleConv`.

    ``in_channels`` counts both the upsampled tensor and the skip (equal halves), as in LSM.
    """

    def __init__(self, n_dim: int, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.mode = _INTERPOLATION[n_dim]
        self.conv = DoubleConv(n_dim, in_channels, out_channels, in_channels // 2)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        # Padding makes every level exactly twice the next, so the sizes always match.
        x = F.interpolate(x, size=skip.shape[2:], mode=self.mode, align_corners=True)
        return self.conv(torch.cat([skip, x], dim=1))


class SpectralTokenMap(nn.Module):
    """LSM's latent transition: ``t + sum_{i<K} a_i sin(pi i t / K) + b_i cos(pi i t / K)``.

    Applied to every token value ``t`` (shape ``(batch, channels, n_tokens)``), with learned
    coefficients per channel and token. ``i = 0`` gives a constant (``b_0``): a learned bias.

    Parameters
    ----------
    channels, n_tokens : int
        Coefficients are per (channel, token).
    n_frequencies : int
        ``K``, frequencies ``0 .. K - 1``.
    """

    orders: torch.Tensor

    def __init__(self, channels: int, n_tokens: int, n_frequencies: int) -> None:
        super().__init__()
        self.n_frequencies = n_frequencies
        self.register_buffer("orders", torch.arange(n_frequencies, dtype=torch.float32))
        # Small positive coefficients, as in the LSM code (uniform in [0, 1 / channels)).
        self.weight = nn.Parameter(torch.rand(channels, n_tokens, 2 * n_frequencies) / channels)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        # pi / K is applied as a Python float so a float64 module computes in full precision.
        phase = t[..., None] * self.orders.to(t.dtype) * (math.pi / self.n_frequencies)
        basis = torch.cat([torch.sin(phase), torch.cos(phase)], dim=-1)
        return t + (basis * self.weight).sum(-1)


def patchify(x: torch.Tensor, patch_size: int) -> torch.Tensor:
    """``(batch, c, *grid)`` to ``(batch * n_patches, patch_size ** n_dim, c)``: cubes of pixels."""
    b, c, *grid = x.shape
    d, p = len(grid), patch_size
    x = x.reshape(b, c, *(m for n in grid for m in (n // p, p)))
    # (b, c, P1, p, P2, p, ...) -> (b, P1, P2, ..., p, p, ..., c)
    order = [0, *(2 + 2 * a for a in range(d)), *(3 + 2 * a for a in range(d)), 1]
    return x.permute(order).reshape(-1, p**d, c)


def unpatchify(x: torch.Tensor, grid: tuple[int, ...], patch_size: int) -> torch.Tensor:
    """Inverse of :func:`patchify` for a grid of shape ``grid``."""
    d, p, c = len(grid), patch_size, x.shape[-1]
    x = x.reshape(-1, *(n // p for n in grid), *(p,) * d, c)
    # (b, P1, .., Pd, p, .., p, c) -> (b, c, P1, p, P2, p, ...)
    order = [0, 1 + 2 * d, *(m for a in range(d) for m in (1 + a, 1 + d + a))]
    return x.permute(order).reshape(x.shape[0], c, *grid)


class NeuralSpectralBlock(nn.Module):
    """LSM's Neural Spectral Block on ``(batch, channels, *grid)``, grid a multiple of ``patch_size``.

    In each patch of ``patch_size ** n_dim`` pixels, ``n_tokens`` learned latent tokens attend to
    the pixels (multi-head softmax attention, keys and values a pointwise map of the pixels); each
    token value passes the :class:`SpectralTokenMap`; the pixels attend back to the tokens; the
    result is added to the input.

    Parameters
    ----------
    channels : int
        Feature channels, divisible by ``n_heads``.
    patch_size : int
        Pixels per patch along each axis.
    n_tokens : int
        Latent tokens per patch (M).
    n_frequencies : int
        Sine/cosine frequencies of the token map (K).
    n_heads : int
        Attention heads.
    """

    def __init__(
        self, channels: int, patch_size: int, n_tokens: int, n_frequencies: int, n_heads: int
    ) -> None:
        super().__init__()
        if channels % n_heads:
            raise ValueError(f"channels={channels} must be divisible by n_heads={n_heads}.")
        self.patch_size, self.n_heads, self.n_tokens = patch_size, n_heads, n_tokens
        head_dim = channels // n_heads
        self.tokens = nn.Parameter(torch.rand(n_heads, n_tokens, head_dim) / channels)
        self.encoder_kv = nn.Linear(channels, 2 * channels)
        self.decoder_q = nn.Linear(channels, channels)
        self.token_map = SpectralTokenMap(channels, n_tokens, n_frequencies)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        n, length, c = x.shape
        return x.view(n, length, self.n_heads, c // self.n_heads).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grid = tuple(x.shape[2:])
        pixels = patchify(x, self.patch_size)  # (n, L, c)
        n, _, c = pixels.shape
        # (1) tokens attend to the pixels of their patch.
        k, v = self._heads(self.encoder_kv(pixels)).chunk(2, dim=-1)
        k, v = k.contiguous(), v.contiguous()
        tokens = self.tokens.expand(n, -1, -1, -1)
        tokens = F.scaled_dot_product_attention(tokens, k, v) + tokens  # (n, h, M, c/h)
        # (2) spectral transition of each token value, channel index = head * head_dim + j.
        tokens = tokens.permute(0, 1, 3, 2).reshape(n, c, self.n_tokens)
        tokens = self.token_map(tokens)
        tokens = tokens.reshape(n, self.n_heads, c // self.n_heads, self.n_tokens).transpose(2, 3)
        # (3) pixels attend to the tokens; residual.
        q = self._heads(self.decoder_q(pixels))
        out = F.scaled_dot_product_attention(q, tokens, tokens).transpose(1, 2).reshape(n, -1, c)
        return unpatchify(out + pixels, grid, self.patch_size)


class LSMProcessor(nn.Module):
    """Multi-scale U-Net with Neural Spectral Blocks on the skips and the bottleneck.

    Channels per level are ``width * 2 ** i`` (``i < unet_levels``), the bottleneck repeating the
    level above it (LSM's bilinear variant, ``factor = 2``). Inputs are zero-padded at the end of
    each axis to a multiple of ``2 ** unet_levels * patch_size`` and cropped back.

    Parameters
    ----------
    width : int
        Input and output channels (the lifted features), divisible by ``n_heads``.
    n_dim : int
        Grid axes (1, 2 or 3).
    unet_levels : int, default=4
        Times the U-Net halves the grid (LSM's 5 scales are 4 levels below the full resolution).
    patch_size : int, default=4
        Patch side in pixels, at every level.
    n_tokens : int, default=4
        Latent tokens per patch.
    n_frequencies : int, default=12
        Frequencies of the token map.
    n_heads : int, default=8
        Attention heads of the spectral blocks.
    n_layers : int, default=1
        Neural Spectral Blocks in sequence on each skip and the bottleneck.
    """

    def __init__(
        self,
        width: int,
        n_dim: int,
        unet_levels: int = 4,
        patch_size: int = 4,
        n_tokens: int = 4,
        n_frequencies: int = 12,
        n_heads: int = 8,
        n_layers: int = 1,
    ) -> None:
        super().__init__()
        self.n_dim, self.patch_size = n_dim, patch_size
        self.multiple = 2**unet_levels * patch_size
        channels = [width * 2**i for i in range(max(unet_levels, 1))]
        if unet_levels > 0:
            channels.append(channels[-1])
        self.inc = DoubleConv(n_dim, width, channels[0])
        self.downs = nn.ModuleList(
            Down(n_dim, channels[i - 1], channels[i]) for i in range(1, unet_levels + 1)
        )
        self.spectral = nn.ModuleList(
            nn.Sequential(
                *(
                    NeuralSpectralBlock(c, patch_size, n_tokens, n_frequencies, n_heads)
                    for _ in range(n_layers)
                )
            )
            for c in channels
        )
        self.ups = nn.ModuleList(
            Up(n_dim, 2 * channels[i], channels[i - 1] if i > 0 else width) for i in range(unet_levels)
        )
        self.outc = _CONV[n_dim](width, width, kernel_size=1)

    def padding(self, grid: tuple[int, ...]) -> tuple[int, ...]:
        """Zeros appended to each axis: up to the next multiple of ``2**unet_levels * patch_size``."""
        return tuple(-n % self.multiple for n in grid)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        grid = tuple(v.shape[2:])
        pad = self.padding(grid)
        # F.pad lists (before, after) pairs from the last axis backwards.
        x = F.pad(v, [m for p in reversed(pad) for m in (0, p)])
        levels = [self.inc(x)]
        for down in self.downs:
            levels.append(down(levels[-1]))
        x = self.spectral[-1](levels[-1])
        for i in reversed(range(len(self.ups))):
            x = self.ups[i](x, self.spectral[i](levels[i]))
        x = self.outc(x)
        crop = (..., *(slice(0, n) for n in grid))
        return x[crop]
