"""Generic attention pieces for point-cloud operators: Galerkin (linear) attention, rotary
position embeddings from physical coordinates, the GeGLU feed-forward and random Fourier features.

Tensors here are token-major, ``(batch, n_points, channels)`` (or ``(batch, heads, n_points,
head_dim)`` inside attention); the grid processors flatten their grid into points before using
them. Coordinates are ``(n_points, n_dim)`` and shared by the batch.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def instance_normalize(x: torch.Tensor, dim: int = -2, eps: float = 1e-5) -> torch.Tensor:
    """Normalise each channel to zero mean and unit variance over the points axis ``dim``.

    This is ``InstanceNorm1d`` without affine parameters (biased variance), the normalisation the
    Galerkin transformer puts on keys and values in place of a softmax.

    Parameters
    ----------
    x : Tensor
        Any shape; statistics run over ``dim`` only.
    dim : int, default=-2
        The points axis.
    eps : float, default=1e-5
        Added to the variance; a single point (or a constant channel) normalises to zero.

    Returns
    -------
    Tensor of the shape of ``x``.
    """
    mean = x.mean(dim, keepdim=True)
    var = x.var(dim, unbiased=False, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps)


def galerkin_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, normalize: bool = True, eps: float = 1e-5
) -> torch.Tensor:
    """Galerkin-type linear attention ``q (k^T v) / N`` (Cao, 2021; used by OFormer).

    Parameters
    ----------
    q : Tensor of shape (..., n_queries, d)
    k, v : Tensor of shape (..., n_keys, d)
    normalize : bool, default=True
        Instance-normalise ``k`` and ``v`` over their points first.
    eps : float, default=1e-5
        Variance floor of the normalisation.

    Returns
    -------
    Tensor of shape (..., n_queries, d)
        The cost is linear in the number of points: ``k^T v`` is a ``d x d`` matrix, an
        approximation of an integral over the domain (hence the division by ``N``).
    """
    if normalize:
        k, v = instance_normalize(k, -2, eps), instance_normalize(v, -2, eps)
    return torch.matmul(q, torch.matmul(k.transpose(-1, -2), v)) / k.shape[-2]


class RotaryEmbedding(nn.Module):
    """Rotary position embedding (RoPE) from continuous coordinates, one block of channels per axis.

    The head dimension is split into ``n_dim`` blocks of ``2 p`` channels (``p = head_dim //
    (2 n_dim)``); in the block of axis ``a`` the channel pairs ``(j, j + p)`` are rotated by the
    angle ``x_a / min_freq * base^(-j / p)``. Rotations preserve norms and ``R(x) q . R(y) k =
    q . R(y - x) k``, so attention scores depend on coordinate differences only. Channels left over
    when ``head_dim`` is not a multiple of ``2 n_dim`` are not rotated (a head smaller than
    ``2 n_dim`` gets no rotation at all).

    Parameters
    ----------
    head_dim : int
        Channels per head.
    n_dim : int
        Number of coordinate axes.
    min_freq : float, default=1/64
        Coordinates are divided by it: the slowest-turning pair completes ``1 / (2 pi min_freq)``
        turns per unit length at most. Keep it fixed between training and prediction: the
        coordinates are physical (``j / n``), so the embedding then means the same on every grid.
    base : float, default=10000.0
        Ratio between the fastest and slowest angular frequencies, as in RoPE.
    """

    inv_freq: torch.Tensor

    def __init__(self, head_dim: int, n_dim: int, min_freq: float = 1 / 64, base: float = 10000.0) -> None:
        super().__init__()
        self.head_dim, self.n_dim, self.min_freq = head_dim, n_dim, float(min_freq)
        self.n_pairs = head_dim // (2 * n_dim)
        exponents = torch.arange(self.n_pairs, dtype=torch.float32) / max(self.n_pairs, 1)
        self.register_buffer("inv_freq", base ** (-exponents), persistent=True)

    def forward(self, x: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
        """Rotate ``x`` of shape ``(..., n_points, head_dim)`` by ``coords`` ``(n_points, n_dim)``."""
        p = self.n_pairs
        if p == 0:
            return x
        blocks = []
        for a in range(self.n_dim):
            angle = coords[:, a : a + 1].to(x.dtype) / self.min_freq * self.inv_freq.to(x.dtype)
            cos, sin = torch.cos(angle), torch.sin(angle)
            x1 = x[..., 2 * p * a : 2 * p * a + p]
            x2 = x[..., 2 * p * a + p : 2 * p * (a + 1)]
            blocks += [x1 * cos - x2 * sin, x2 * cos + x1 * sin]
        blocks.append(x[..., 2 * p * self.n_dim :])
        return torch.cat(blocks, dim=-1)


class GalerkinAttention(nn.Module):
    """Multi-head Galerkin attention, self- or cross-, with optional rotary position embedding.

    ``out = W_o concat_h[ R(x) q_h (R(y) k_h^T v_h) / N ]`` with ``k_h, v_h`` instance-normalised
    over the key points (before the rotation, as in OFormer), ``q = W_q x``, ``k = W_k c``,
    ``v = W_v c`` and ``c`` the context (the input itself for self-attention).

    Parameters
    ----------
    channels : int
        Channels of the queries' input and of the output.
    n_heads : int
        Heads.
    head_dim : int or None, default=None
        Channels per head; ``None`` gives every head ``channels`` channels, as OFormer's code does
        (``dim_head = dim``). Small heads leave the rotary embedding few frequencies per axis.
    context_channels : int or None, default=None
        Channels of the context (cross-attention); ``None`` means ``channels``.
    n_dim : int, default=1
        Coordinate axes (for the rotary embedding).
    rotary : bool, default=True
        Rotate queries and keys by their coordinates.
    rotary_min_freq : float, default=1/64
        See :class:`RotaryEmbedding`.
    """

    def __init__(
        self,
        channels: int,
        n_heads: int,
        *,
        head_dim: int | None = None,
        context_channels: int | None = None,
        n_dim: int = 1,
        rotary: bool = True,
        rotary_min_freq: float = 1 / 64,
    ) -> None:
        super().__init__()
        context_channels = channels if context_channels is None else context_channels
        self.n_heads = n_heads
        self.head_dim = channels if head_dim is None else head_dim
        inner = self.n_heads * self.head_dim
        self.to_q = nn.Linear(channels, inner, bias=False)
        self.to_k = nn.Linear(context_channels, inner, bias=False)
        self.to_v = nn.Linear(context_channels, inner, bias=False)
        self.to_out = nn.Linear(inner, channels)
        self.rotary = RotaryEmbedding(self.head_dim, n_dim, rotary_min_freq) if rotary else None
        # (k^T v) / N holds correlations in [-1, 1]: a q of unit-variance entries would sum
        # head_dim of them. Small projections (as the Galerkin transformer's xavier gain) keep the
        # residual branch near zero at the start, which trains more stably.
        for lin in (self.to_q, self.to_k, self.to_v):
            nn.init.xavier_uniform_(lin.weight, gain=1.0 / math.sqrt(self.head_dim))

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        return x.view(b, n, self.n_heads, self.head_dim).transpose(1, 2)

    def forward(
        self,
        x: torch.Tensor,
        coords: torch.Tensor,
        context: torch.Tensor | None = None,
        context_coords: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Attend from ``x`` ``(batch, n_q, channels)`` at ``coords`` ``(n_q, n_dim)`` to ``context``.

        ``context`` ``(batch, n_k, context_channels)`` at ``context_coords`` ``(n_k, n_dim)`` defaults
        to ``x`` at ``coords`` (self-attention).
        """
        if context is None:
            context, context_coords = x, coords
        q = self._split(self.to_q(x))
        k = instance_normalize(self._split(self.to_k(context)))
        v = instance_normalize(self._split(self.to_v(context)))
        if self.rotary is not None:
            q, k = self.rotary(q, coords), self.rotary(k, context_coords)
        out = galerkin_attention(q, k, v, normalize=False)
        b, _, n, _ = out.shape
        return self.to_out(out.transpose(1, 2).reshape(b, n, -1))


class GeGLU(nn.Module):
    """Feed-forward ``channels -> hidden -> channels`` with a GELU-gated linear unit (Shazeer, 2020).

    ``out = W_2 (a * gelu(g))`` with ``[a, g] = W_1 x``.
    """

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(channels, 2 * hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, g = self.fc1(x).chunk(2, dim=-1)
        return self.fc2(a * nn.functional.gelu(g))


class FourierFeatures(nn.Module):
    """Random (Gaussian) Fourier features of coordinates (Tancik et al., 2020).

    ``[sin(2 pi x B), cos(2 pi x B)]`` with ``B`` of shape ``(n_dim, n_features)`` drawn once from
    ``N(0, scale^2)`` at construction (from torch's global generator, which the estimators seed) and
    stored as a buffer: it is not trained, and it travels with the state dict.

    Parameters
    ----------
    n_dim : int
        Coordinate axes.
    n_features : int
        Random frequencies; the output has ``2 * n_features`` channels.
    scale : float, default=8.0
        Standard deviation of the frequencies (cycles per unit length).
    """

    frequencies: torch.Tensor

    def __init__(self, n_dim: int, n_features: int, scale: float = 8.0) -> None:
        super().__init__()
        self.register_buffer("frequencies", torch.randn(n_dim, n_features) * scale)

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        """Features of ``coords`` ``(..., n_dim)``: ``(..., 2 * n_features)``."""
        phase = 2 * math.pi * torch.matmul(coords, self.frequencies.to(coords.dtype))
        return torch.cat([torch.sin(phase), torch.cos(phase)], dim=-1)
