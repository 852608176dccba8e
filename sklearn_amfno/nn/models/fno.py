"""FNO (and FNO+, every mode) as a torch module: Fourier blocks with one stored weight per mode."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn

from ..layers.blocks import FourierBlock
from ..layers.spectral import DenseSpectralKernel, SpectralConv, resolve_modes
from ._docs import fill_model_doc
from .backbone import OperatorNetwork, padded_shape


def fourier_layers(
    width: int,
    n_layers: int,
    n_modes: tuple[int, ...],
    extra: Callable[[int], nn.Module | None] | None = None,
) -> nn.Sequential:
    """``n_layers`` FNO layers ``act(K v + W v [+ extra(v)])``, no activation after the last.

    ``extra(i)`` returns layer ``i``'s third branch or ``None`` (U-FNO's U-Nets).
    """
    return nn.Sequential(
        *(
            FourierBlock(
                SpectralConv(DenseSpectralKernel(width, width, n_modes), len(n_modes)),
                width,
                activation=i < n_layers - 1,
                extra=None if extra is None else extra(i),
            )
            for i in range(n_layers)
        )
    )


class FNO(OperatorNetwork):
    """Fourier Neural Operator (Li et al., ICLR 2021) as a plain torch module; FNO+ with ``n_modes=None``.

    Each layer is ``act(K v + W v)``, ``K`` keeping the lowest ``n_modes`` wavenumbers per axis
    (the corner blocks of the spectrum) with a learned complex matrix per mode.

    Parameters
    ----------
    {model_parameters}
    n_modes : int, tuple of int or None, default=12
        Modes kept per axis (``-m <= k < m``; ``0 <= k < m`` on the last axis), clipped to what
        ``grid_shape`` holds; ``None`` keeps all of them (FNO+).
    domain_padding : float, default=0
        Zero padding per axis as a fraction of its length, for non-periodic problems
        (:class:`~sklearn_amfno.nn.OperatorNetwork`).
    {model_options}

    Attributes
    ----------
    n_modes : tuple of int
        The modes kept per axis.

    Examples
    --------
    >>> import torch
    >>> from sklearn_amfno.nn import FNO
    >>> model = FNO(in_channels=1, out_channels=1, grid_shape=(32, 32), n_modes=8, width=8)
    >>> model.n_modes
    (8, 8)
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
        n_modes: int | Sequence[int] | None = 12,
        domain_padding: float = 0.0,
        pooled: bool = False,
        add_grid: bool = True,
    ) -> None:
        limits = DenseSpectralKernel.mode_limits(padded_shape(grid_shape, domain_padding))
        modes = resolve_modes(n_modes, limits)
        processor = fourier_layers(width, n_layers, modes)
        super().__init__(
            in_channels,
            out_channels,
            len(grid_shape),
            width,
            processor,
            pooled=pooled,
            add_grid=add_grid,
            domain_padding=domain_padding,
        )
        self.grid_shape, self.n_modes = tuple(int(n) for n in grid_shape), modes


fill_model_doc(FNO)
