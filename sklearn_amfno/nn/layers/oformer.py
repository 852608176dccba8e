"""OFormer's processor (Li, Meidani, Barati Farimani, TMLR 2023): a Galerkin-attention encoder over
the grid points and a cross-attention decoder queried at coordinates.

The grid is flattened to points with physical coordinates ``j / n``; nothing depends on the number of
points, so the same weights run on any grid.
"""

from __future__ import annotations

import torch
from torch import nn

from .attention import FourierFeatures, GalerkinAttention, GeGLU
from .blocks import ffn_hidden
from .grid import grid_coordinates


class GalerkinLayer(nn.Module):
    """``x <- x + Attn(x, context)``; ``x <- x + GeGLU(LN(x))``: OFormer's encoder and decoder layer.

    Without a context it is the encoder's self-attention layer, with one the decoder's
    cross-attention layer (queries attend to the encoder latents). The attention has no layer norm
    in front: instance normalisation of keys and values plays that role in the Galerkin
    transformer (as in OFormer). The feed-forward is pre-normalised, ``channels -> ffn_ratio *
    channels -> channels``.
    """

    def __init__(
        self, channels: int, n_heads: int, n_dim: int, rotary_min_freq: float, ffn_ratio: int = 2
    ) -> None:
        super().__init__()
        self.attn = GalerkinAttention(channels, n_heads, n_dim=n_dim, rotary_min_freq=rotary_min_freq)
        self.norm = nn.LayerNorm(channels)
        self.ffn = GeGLU(channels, ffn_hidden(channels, ffn_ratio))

    def forward(
        self,
        x: torch.Tensor,
        coords: torch.Tensor,
        context: torch.Tensor | None = None,
        context_coords: torch.Tensor | None = None,
    ) -> torch.Tensor:
        x = x + self.attn(x, coords, context, context_coords)
        return x + self.ffn(self.norm(x))


class OFormerProcessor(nn.Module):
    """Encoder-decoder of OFormer on a grid: ``(batch, width, *grid)`` to the same shape.

    Encoder: ``n_layers`` Galerkin self-attention layers (rotary embedding of the point coordinates)
    on the lifted features, then a linear map to ``latent_width``. Decoder: the query points' coordinates
    go through random Fourier features and an MLP to ``latent_width``; ``n_decoder_layers`` Galerkin
    cross-attention layers to the latents; an MLP of ``[query features, coordinates]`` maps back to
    ``width`` channels. The queries are the input grid's own points.

    Parameters
    ----------
    width : int
        Channels of the lifted features (input and output).
    n_dim : int
        Grid axes.
    n_layers : int, default=4
        Encoder layers.
    n_heads : int, default=4
        Attention heads (encoder and decoder).
    latent_width : int, default=64
        Channels of the encoder output and of the decoder.
    n_decoder_layers : int, default=1
        Cross-attention layers of the decoder.
    fourier_feature_scale : float, default=2.0
        Standard deviation of the query Fourier features' random frequencies.
    rotary_min_freq : float, default=1/64
        See :class:`~sklearn_amfno.nn.layers.attention.RotaryEmbedding`.
    """

    def __init__(
        self,
        width: int,
        n_dim: int,
        n_layers: int = 4,
        n_heads: int = 4,
        latent_width: int = 64,
        n_decoder_layers: int = 1,
        fourier_feature_scale: float = 2.0,
        rotary_min_freq: float = 1 / 64,
    ) -> None:
        super().__init__()
        self.encoder = nn.ModuleList(
            GalerkinLayer(width, n_heads, n_dim, rotary_min_freq) for _ in range(n_layers)
        )
        self.to_latent = nn.Linear(width, latent_width)
        n_features = max(latent_width // 2, 1)
        self.query_features = FourierFeatures(n_dim, n_features, fourier_feature_scale)
        self.query_mlp = nn.Sequential(
            nn.Linear(2 * n_features, latent_width), nn.GELU(), nn.Linear(latent_width, latent_width)
        )
        self.decoder = nn.ModuleList(
            GalerkinLayer(latent_width, n_heads, n_dim, rotary_min_freq) for _ in range(n_decoder_layers)
        )
        self.out = nn.Sequential(
            nn.Linear(latent_width + n_dim, latent_width), nn.GELU(), nn.Linear(latent_width, width)
        )

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        b, c, *grid = v.shape
        coords = grid_coordinates(tuple(grid), v).flatten(1).T  # (n_points, n_dim)
        x = v.flatten(2).transpose(1, 2)  # (batch, n_points, width)
        for layer in self.encoder:
            x = layer(x, coords)
        z = self.to_latent(x)
        q = self.query_mlp(self.query_features(coords)).expand(b, -1, -1)
        for layer in self.decoder:
            q = layer(q, coords, z, coords)
        out = self.out(torch.cat([q, coords.expand(b, -1, -1)], dim=-1))
        return out.transpose(1, 2).reshape(b, -1, *grid)
