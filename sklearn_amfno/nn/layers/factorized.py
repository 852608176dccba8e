"""The factorised Fourier layer of F-FNO (Tran et al., ICLR 2023).

``K z = sum_d IRFFT_d(R_d * RFFT_d(z))``: a one-dimensional real FFT along one axis at a time, the
first ``m_d`` modes of that axis mixed by a complex ``C x C`` matrix per mode, the other modes
zeroed, the inverse FFT along the same axis, and the sum over axes. The weights number
``C^2 * sum_d m_d`` instead of the ``C^2 * prod_d m_d`` of a dense FNO kernel.

Modes are physical wavenumbers ``k = 0 .. m_d - 1`` (cycles per domain length) on every grid, as in
:class:`~sklearn_amfno.nn.layers.spectral.DenseSpectralKernel`: a grid too coarse to hold some of them
skips those weights, a finer grid leaves the modes above ``m_d`` at zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .spectral import contract_modes


class FactorizedSpectralWeights(nn.Module):
    """The per-axis complex weights ``R_d`` of a factorised Fourier layer.

    A module of its own so that several layers can hold the same instance: that is how the F-FNO
    option of sharing the spectral weights across layers is expressed (``module.parameters()``
    then lists them once).

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts.
    n_modes : sequence of int
        Modes ``0 <= k < m_d`` kept on each axis; its length is the number of grid axes.

    Attributes
    ----------
    weights : nn.ParameterList
        ``weights[d]`` is complex of shape ``(in_channels, out_channels, n_modes[d])``.
    """

    def __init__(self, in_channels: int, out_channels: int, n_modes: Sequence[int]) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.n_modes = tuple(int(m) for m in n_modes)
        # Complex normal entries with E|w|^2 = 1 / (in_channels * n_dim): each axis term then
        # keeps its kept modes' energy, and the sum over the n_dim axes stays of the input's size.
        std = 1.0 / math.sqrt(in_channels * len(self.n_modes))
        self.weights = nn.ParameterList(
            nn.Parameter(std * torch.randn(in_channels, out_channels, m, dtype=torch.cfloat))
            for m in self.n_modes
        )

    @staticmethod
    def mode_limits(grid_shape: Sequence[int]) -> tuple[int, ...]:
        """Modes per axis that a grid of ``grid_shape`` holds: one real FFT per axis keeps
        ``0 <= k <= n // 2``, i.e. ``n // 2 + 1`` modes."""
        return tuple(int(n) // 2 + 1 for n in grid_shape)


class FactorizedSpectralConv(nn.Module):
    """``K z = sum_d IRFFT_d(R_d * RFFT_d(z))`` over the trailing axes of ``(batch, C, *grid)``.

    Parameters
    ----------
    weights : FactorizedSpectralWeights
        The per-axis weights; pass one instance to several layers to share them.
    """

    def __init__(self, weights: FactorizedSpectralWeights) -> None:
        super().__init__()
        self.weights = weights
        self.n_dim = len(weights.n_modes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, *grid = x.shape
        if len(grid) != self.n_dim:
            raise ValueError(f"Expected {self.n_dim} grid axes, got input of shape {tuple(x.shape)}.")
        out: torch.Tensor | None = None
        for d, n in enumerate(grid):
            axis = 2 + d
            weight = self.weights.weights[d]
            # Physical wavenumbers 0..m-1; a coarse axis holds only n // 2 + 1 of them.
            m = min(weight.shape[-1], self.weights.mode_limits((n,))[0])
            x_hat = torch.fft.rfft(x, dim=axis, norm="ortho").narrow(axis, 0, m)
            # The other grid axes act as a batch: put channels and the mixed axis last, fold the rest.
            others = [a for a in range(2, 2 + self.n_dim) if a != axis]
            order = [0, *others, 1, axis]
            x_hat = x_hat.permute(order)
            folded = x_hat.shape[:-2]
            mixed = contract_modes(x_hat.reshape(-1, c, m), weight[..., :m])
            mixed = mixed.reshape(*folded, -1, m).permute(_inverse(order))
            # irfft zero-pads the spectrum up to n // 2 + 1: the modes not kept come back as zero.
            term = torch.fft.irfft(mixed, n=n, dim=axis, norm="ortho")
            out = term if out is None else out + term
        assert out is not None  # n_dim >= 1: FactorizedSpectralWeights needs a grid axis
        return out


def _inverse(order: Sequence[int]) -> list[int]:
    """The permutation undoing ``order``."""
    inverse = [0] * len(order)
    for position, axis in enumerate(order):
        inverse[axis] = position
    return inverse
