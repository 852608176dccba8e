"""LSM as a torch module: a U-Net whose skips and bottleneck pass Neural Spectral Blocks."""

from __future__ import annotations

from collections.abc import Sequence

from ..layers.lsm import LSMProcessor
from ._docs import fill_model_doc
from .backbone import OperatorNetwork


class LSM(OperatorNetwork):
    """Latent Spectral Model (Wu et al., ICML 2023) as a plain torch module.

    A U-Net of ``unet_levels`` halvings whose skip connections and bottleneck pass Neural Spectral
    Blocks (patches, latent tokens, attention both ways, a sin/cos token map of
    ``n_frequencies`` terms). Inputs are padded to a multiple of ``2 ** unet_levels * patch_size``
    and cropped back.

    Parameters
    ----------
    {model_parameters}
    unet_levels : int, default=4
        Times the U-Net halves the grid (LSM's 5 scales).
    patch_size : int, default=4
        Patch side in grid points, at every level.
    n_tokens : int, default=4
        Latent tokens per patch.
    n_frequencies : int, default=12
        Frequencies of the token map.
    n_heads : int, default=8
        Attention heads of the spectral blocks; ``width`` must be divisible by it.
    {model_options}

    Examples
    --------
    >>> import torch
    >>> from sklearn_amfno.nn import LSM
    >>> model = LSM(1, 1, grid_shape=(32,), width=8, unet_levels=2, patch_size=2, n_heads=2)
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
        n_layers: int = 1,
        unet_levels: int = 4,
        patch_size: int = 4,
        n_tokens: int = 4,
        n_frequencies: int = 12,
        n_heads: int = 8,
        pooled: bool = False,
        add_grid: bool = True,
    ) -> None:
        n_dim = len(grid_shape)
        processor = LSMProcessor(
            width,
            n_dim,
            unet_levels=unet_levels,
            patch_size=patch_size,
            n_tokens=n_tokens,
            n_frequencies=n_frequencies,
            n_heads=n_heads,
            n_layers=n_layers,
        )
        super().__init__(in_channels, out_channels, n_dim, width, processor, pooled=pooled, add_grid=add_grid)
        self.grid_shape = tuple(int(n) for n in grid_shape)


fill_model_doc(LSM, n_layers_doc="Neural Spectral Blocks in sequence on every skip and at the bottleneck.")
