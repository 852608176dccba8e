"""U-FNO as a torch module: Fourier layers, the last ones with a U-Net branch."""

from __future__ import annotations

from collections.abc import Sequence

from ..layers.spectral import DenseSpectralKernel, resolve_modes
from ..layers.unet import UNetBranch
from ._docs import fill_model_doc
from .backbone import OperatorNetwork
from .fno import fourier_layers


class UFNO(OperatorNetwork):
    """U-FNO (Wen et al., 2022) as a plain torch module.

    ``n_layers - n_unet_layers`` FNO layers ``act(K v + W v)`` followed by ``n_unet_layers``
    U-Fourier layers ``act(K v + W v + U(v))``, each with its own U-Net ``U`` of ``unet_levels``
    stride-2 levels. The spectral convolutions keep modes exactly as :class:`FNO` does.

    Parameters
    ----------
    {model_parameters}
    n_modes : int, tuple of int or None, default=12
        Modes kept per axis, as in :class:`FNO`.
    n_unet_layers : int, default=3
        How many of the last layers carry a U-Net; clipped to ``n_layers``.
    unet_levels : int, default=3
        Times each U-Net halves the grid.
    {model_options}

    Attributes
    ----------
    n_modes : tuple of int
        The modes kept per axis.
    n_unet_layers : int
        The number of U-Fourier layers after clipping.

    Examples
    --------
    >>> import torch
    >>> from sklearn_amfno.nn import UFNO
    >>> model = UFNO(1, 1, grid_shape=(32,), n_modes=8, width=8, n_layers=2, n_unet_layers=1)
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
        n_layers: int = 6,
        n_modes: int | Sequence[int] | None = 12,
        n_unet_layers: int = 3,
        unet_levels: int = 3,
        pooled: bool = False,
        add_grid: bool = True,
    ) -> None:
        n_dim = len(grid_shape)
        modes = resolve_modes(n_modes, DenseSpectralKernel.mode_limits(grid_shape))
        n_unet = min(n_unet_layers, n_layers)
        first_unet = n_layers - n_unet
        processor = fourier_layers(
            width,
            n_layers,
            modes,
            extra=lambda i: UNetBranch(width, n_dim, unet_levels) if i >= first_unet else None,
        )
        super().__init__(in_channels, out_channels, n_dim, width, processor, pooled=pooled, add_grid=add_grid)
        self.grid_shape, self.n_modes, self.n_unet_layers = tuple(int(n) for n in grid_shape), modes, n_unet


fill_model_doc(UFNO)
