"""OFormer as a torch module: a Galerkin-attention encoder and a cross-attention decoder."""

from __future__ import annotations

from collections.abc import Sequence

from ..layers.oformer import OFormerProcessor
from ._docs import fill_model_doc
from .backbone import OperatorNetwork


class OFormer(OperatorNetwork):
    """Operator Transformer (Li, Meidani, Barati Farimani, TMLR 2023) as a plain torch module.

    Galerkin self-attention with a rotary embedding of the point coordinates, then a decoder whose
    queries (Fourier features of the output coordinates) cross-attend to the encoder latents.
    Nothing depends on the number of points, so the weights run on any grid.

    Parameters
    ----------
    {model_parameters}
    n_heads : int, default=4
        Attention heads (encoder and decoder).
    latent_width : int, default=64
        Channels of the encoder output and of the decoder.
    n_decoder_layers : int, default=1
        Cross-attention layers of the decoder.
    fourier_feature_scale : float, default=2.0
        Standard deviation of the query Fourier features' random frequencies.
    rotary_min_freq : float, default=1/64
        Lowest rotary frequency (see :class:`~sklearn_amfno.nn.layers.RotaryEmbedding`).
    {model_options}

    Examples
    --------
    >>> import torch
    >>> from sklearn_amfno.nn import OFormer
    >>> model = OFormer(1, 1, grid_shape=(32,), width=8, n_layers=1, latent_width=8, n_heads=2)
    >>> model(torch.randn(4, 1, 32)).shape
    torch.Size([4, 1, 32])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        grid_shape: Sequence[int],
        *,
        width: int = 32,
        n_layers: int = 4,
        n_heads: int = 4,
        latent_width: int = 64,
        n_decoder_layers: int = 1,
        fourier_feature_scale: float = 2.0,
        rotary_min_freq: float = 1 / 64,
        pooled: bool = False,
        add_grid: bool = True,
    ) -> None:
        n_dim = len(grid_shape)
        processor = OFormerProcessor(
            width,
            n_dim,
            n_layers=n_layers,
            n_heads=n_heads,
            latent_width=latent_width,
            n_decoder_layers=n_decoder_layers,
            fourier_feature_scale=float(fourier_feature_scale),
            rotary_min_freq=float(rotary_min_freq),
        )
        super().__init__(in_channels, out_channels, n_dim, width, processor, pooled=pooled, add_grid=add_grid)
        self.grid_shape = tuple(int(n) for n in grid_shape)
        self.activation_channels = max(self.activation_channels, n_heads * max(width, latent_width))


fill_model_doc(OFormer, n_layers_doc="Encoder layers (Galerkin self-attention + GeGLU).")
