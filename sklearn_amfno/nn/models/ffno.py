"""F-FNO as a torch module: residual FFN blocks around factorised (per-axis) Fourier layers."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from ..layers.blocks import ResidualFFNBlock, ffn_hidden
from ..layers.factorized import FactorizedSpectralConv, FactorizedSpectralWeights
from ..layers.spectral import resolve_modes
from ._docs import fill_model_doc
from .backbone import OperatorNetwork


class FFNO(OperatorNetwork):
    """Factorised Fourier Neural Operator (Tran et al., ICLR 2023) as a plain torch module.

    Each layer is ``z + FFN(sum_d IRFFT_d(R_d RFFT_d z))``: one real FFT per axis, the first
    ``n_modes`` modes of that axis mixed by a complex matrix per mode.

    Parameters
    ----------
    {model_parameters}
    n_modes : int, tuple of int or None, default=16
        Modes ``0 <= k < m`` kept per axis, clipped to the ``n // 2 + 1`` an axis of ``n`` points
        of ``grid_shape`` holds; ``None`` keeps them all.
    share_weights : bool, default=False
        One set of spectral weights ``R_d`` for every layer (the FFNs stay per layer).
    ffn_ratio : float, default=4
        Hidden channels of each block's feed-forward network relative to ``width``.
    {model_options}

    Attributes
    ----------
    n_modes : tuple of int
        The modes kept per axis.

    Examples
    --------
    >>> import torch
    >>> from sklearn_amfno.nn import FFNO
    >>> model = FFNO(1, 1, grid_shape=(32, 32), n_modes=8, width=8, n_layers=2)
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
        n_modes: int | Sequence[int] | None = 16,
        share_weights: bool = False,
        ffn_ratio: float = 4,
        pooled: bool = False,
        add_grid: bool = True,
    ) -> None:
        modes = resolve_modes(n_modes, FactorizedSpectralWeights.mode_limits(grid_shape))

        def weights() -> FactorizedSpectralWeights:
            return FactorizedSpectralWeights(width, width, modes)

        # Sharing = one weights module held by every layer (listed once by .parameters()).
        shared = weights() if share_weights else None
        processor = nn.Sequential(
            *(
                ResidualFFNBlock(
                    FactorizedSpectralConv(shared if shared is not None else weights()),
                    width,
                    activation=False,
                    ffn_ratio=ffn_ratio,
                )
                for _ in range(n_layers)
            )
        )
        super().__init__(
            in_channels, out_channels, len(grid_shape), width, processor, pooled=pooled, add_grid=add_grid
        )
        self.grid_shape, self.n_modes = tuple(int(n) for n in grid_shape), modes
        self.activation_channels = max(self.activation_channels, ffn_hidden(width, ffn_ratio))


fill_model_doc(FFNO)
