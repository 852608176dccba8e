"""AFNO as a torch module: pre-norm blocks around the adaptive Fourier filter."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from ..layers.afno import AFNOBlock, AFNOFilter
from ..layers.blocks import ffn_hidden
from ._docs import fill_model_doc
from .backbone import OperatorNetwork


class AFNO(OperatorNetwork):
    """Adaptive Fourier Neural Operator (Guibas et al., ICLR 2022) as a plain torch module.

    Each layer is ``y = x + Filter(LN x); out = y + FFN(LN y)``, the filter a block-diagonal complex
    MLP shared by all frequencies, with soft-shrinkage. The FFT is scaled by ``grid_shape``'s ortho
    factor and wavenumbers above its Nyquist get no filter, so one function gives the filter the
    same input on every grid.

    Parameters
    ----------
    {model_parameters}
    n_blocks : int, default=4
        Diagonal blocks of the complex MLP; ``width`` must be divisible by it.
    sparsity_threshold : float, default=0.01
        Soft-shrinkage ``lambda``.
    hard_thresholding_fraction : float, default=1.0
        Fraction of each axis' training-grid wavenumbers that pass the MLP.
    ffn_ratio : float, default=4.0
        Hidden channels of each block's feed-forward network relative to ``width``.
    {model_options}

    Examples
    --------
    >>> import torch
    >>> from sklearn_amfno.nn import AFNO
    >>> model = AFNO(1, 1, grid_shape=(32, 32), width=8, n_layers=2, n_blocks=2)
    >>> model(torch.randn(4, 1, 32, 32)).shape
    torch.Size([4, 1, 32, 32])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        grid_shape: Sequence[int],
        *,
        width: int = 32,
        n_layers: int = 4,
        n_blocks: int = 4,
        sparsity_threshold: float = 0.01,
        hard_thresholding_fraction: float = 1.0,
        ffn_ratio: float = 4.0,
        pooled: bool = False,
        add_grid: bool = True,
    ) -> None:
        grid_shape = tuple(int(n) for n in grid_shape)
        processor = nn.Sequential(
            *(
                AFNOBlock(
                    width,
                    AFNOFilter(
                        width,
                        grid_shape,
                        n_blocks=n_blocks,
                        sparsity_threshold=sparsity_threshold,
                        hard_thresholding_fraction=hard_thresholding_fraction,
                    ),
                    ffn_ratio=ffn_ratio,
                )
                for _ in range(n_layers)
            )
        )
        super().__init__(
            in_channels, out_channels, len(grid_shape), width, processor, pooled=pooled, add_grid=add_grid
        )
        self.grid_shape = grid_shape
        self.activation_channels = max(self.activation_channels, ffn_hidden(width, ffn_ratio))


fill_model_doc(AFNO)
