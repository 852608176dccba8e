"""The Adaptive Fourier Neural Operator mixer (Guibas et al., ICLR 2022) on channels-first grids.

:class:`AFNOFilter` is the token mixer: a real FFT over the grid, at every frequency a block-diagonal
complex two-layer MLP (the same weights at every frequency), soft-shrinkage for sparsity, the
inverse FFT, plus the filter's input. :class:`AFNOBlock` wraps it in the pre-norm transformer block
``y = x + Filter(LN x); out = y + MLP(LN y)`` with :class:`ChannelLayerNorm`.

**Grid independence.** The reference transforms with ``norm="ortho"``, whose coefficients of the
same function grow like ``sqrt(N)`` with the number of grid points ``N``; as the MLP has biases,
ReLUs and a soft threshold, it would then act differently on every grid. Here the coefficients are
``rfftn(x, norm="forward") * sqrt(N_ref)`` with ``N_ref`` the points of the training grid (the
``reference_shape``): on the training grid this *is* the ortho transform, and on any other grid the
MLP sees the same numbers for the same band-limited function. Likewise only wavenumbers the
training grid holds (``|k_d| <= n_d // 2``) go through the MLP; higher ones, present only on finer
grids, get a zero filter output (the residual still carries them), as nothing was learned there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .blocks import ffn_hidden
from .normalization import ChannelLayerNorm
from .pointwise import PointwiseMLP
from .spectral import grid_wavenumbers, map_modes, select_modes


class AFNOFilter(nn.Module):
    """AFNO token mixer ``x + IRFFTN(S_lambda(MLP_blockdiag(RFFTN(x))))`` over the trailing axes.

    Parameters
    ----------
    channels : int
        Channels; must be divisible by ``n_blocks``.
    reference_shape : sequence of int
        The training grid: fixes the FFT normalisation and the wavenumbers the MLP acts on (see
        the module docstring). Its length is the number of grid axes.
    n_blocks : int, default=8
        Diagonal blocks of the complex MLP's weight matrices.
    sparsity_threshold : float, default=0.01
        ``lambda`` of the soft-shrinkage applied to real and imaginary parts of the MLP output.
    hard_thresholding_fraction : float, default=1.0
        Fraction of each axis' ``n_d // 2 + 1`` training-grid wavenumbers kept: modes with
        ``|k_d| < int((n_d // 2 + 1) * fraction)`` on every axis go through the MLP, the others
        get a zero filter output.
    hidden_factor : int, default=1
        Hidden width of the complex MLP relative to the block size (1 in the reference).
    """

    def __init__(
        self,
        channels: int,
        reference_shape: Sequence[int],
        n_blocks: int = 8,
        sparsity_threshold: float = 0.01,
        hard_thresholding_fraction: float = 1.0,
        hidden_factor: int = 1,
    ) -> None:
        super().__init__()
        if channels % n_blocks:
            raise ValueError(f"channels ({channels}) must be divisible by n_blocks ({n_blocks}).")
        if not 0 < hard_thresholding_fraction <= 1:
            raise ValueError(
                f"hard_thresholding_fraction must be in (0, 1], got {hard_thresholding_fraction!r}."
            )
        self.channels, self.n_blocks = channels, n_blocks
        self.block_size = channels // n_blocks
        self.reference_shape = tuple(int(n) for n in reference_shape)
        self.n_dim = len(self.reference_shape)
        self.sparsity_threshold = float(sparsity_threshold)
        self.hard_thresholding_fraction = float(hard_thresholding_fraction)
        # Largest |k| kept per axis; -1 keeps none.
        self.max_wavenumber = tuple(
            int((n // 2 + 1) * self.hard_thresholding_fraction) - 1 for n in self.reference_shape
        )
        self.scale = math.sqrt(math.prod(self.reference_shape))
        bs, hidden = self.block_size, self.block_size * hidden_factor
        # Index 0 holds real parts, index 1 imaginary parts. The reference draws every entry with
        # std 0.02, tuned for its 96-channel blocks; with small blocks the MLP output then starts
        # below the soft threshold everywhere, where softshrink passes no gradient. Here the first
        # layer is fan-in scaled (each complex output sums 2 * fan_in real products), so hidden
        # units have the input's size, and the second layer starts at 2% of that: the filter
        # starts near its identity (its residual), as in the reference, while a good part of
        # the outputs exceed lambda=0.01 so gradients flow. (Measured: a fully fan-in scaled
        # second layer learns markedly slower.)
        self.w1 = nn.Parameter(torch.randn(2, n_blocks, bs, hidden) / math.sqrt(2 * bs))
        self.b1 = nn.Parameter(0.02 * torch.randn(2, n_blocks, hidden))
        self.w2 = nn.Parameter(0.02 * torch.randn(2, n_blocks, hidden, bs) / math.sqrt(2 * hidden))
        self.b2 = nn.Parameter(0.02 * torch.randn(2, n_blocks, bs))

    def _mix(self, z: torch.Tensor) -> torch.Tensor:
        """Block-diagonal complex 2-layer MLP and soft-shrinkage at every frequency of ``z``."""
        b, c, *modes = z.shape
        nb, bs = self.n_blocks, self.block_size
        # Real layout (sample, block, frequency, [re | im] x block_size): each complex linear map
        # is then one real matmul per block (see _real_block). Broadcasting over the samples keeps
        # every sample's arithmetic independent of the others (BLAS results for a matrix row can
        # depend on its position in a larger product), so predictions ignore the batch's order.
        zr = torch.view_as_real(z.reshape(b, nb, bs, -1))  # (b, nb, bs, m, 2)
        h = zr.permute(0, 1, 3, 4, 2).reshape(b, nb, -1, 2 * bs)
        # ReLU on real and imaginary parts separately, as in the reference.
        h = torch.relu(torch.matmul(h, _real_block(self.w1)) + self.b1.permute(1, 0, 2).reshape(nb, 1, -1))
        h = torch.matmul(h, _real_block(self.w2)) + self.b2.permute(1, 0, 2).reshape(nb, 1, -1)
        h = nn.functional.softshrink(h, self.sparsity_threshold)
        h = h.view(b, nb, -1, 2, bs).permute(0, 1, 4, 2, 3)  # (b, nb, bs, m, 2)
        # Not .contiguous() + view_as_complex: torch 2.2 rejects the odd stride .contiguous()
        # leaves on a size-1 axis (block_size=1); torch.complex copies the parts instead.
        return torch.complex(h[..., 0], h[..., 1]).reshape(b, c, *modes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = tuple(x.shape[2:])
        if len(shape) != self.n_dim:
            raise ValueError(f"Expected {self.n_dim} grid axes, got input of shape {tuple(x.shape)}.")
        dims = tuple(range(-self.n_dim, 0))
        # Ortho normalisation of the training grid, whatever the grid at hand (module docstring).
        x_hat = torch.fft.rfftn(x, dim=dims, norm="forward") * self.scale
        index = select_modes(grid_wavenumbers(shape, x.device), self.max_wavenumber)
        out_hat = map_modes(x_hat, index, self._mix, x_hat.shape[1])
        out = torch.fft.irfftn(out_hat / self.scale, s=shape, dim=dims, norm="forward")
        return out + x


def _real_block(w: torch.Tensor) -> torch.Tensor:
    """Real form ``[[wr, wi], [-wi, wr]]`` of the complex block weights ``w = (wr, wi)``.

    A row ``[ar | ai]`` times it gives ``[ar wr - ai wi | ar wi + ai wr]``: the real and
    imaginary parts of ``(ar + i ai)(wr + i wi)``. ``w`` has shape ``(2, blocks, in, out)``; the
    result ``(blocks, 2 in, 2 out)``.
    """
    wr, wi = w[0], w[1]
    return torch.cat([torch.cat([wr, wi], dim=2), torch.cat([-wi, wr], dim=2)], dim=1)


class AFNOBlock(nn.Module):
    """Pre-norm AFNO block ``y = x + Filter(LN x); out = y + MLP(LN y)``.

    Parameters
    ----------
    channels : int
        Channels in and out.
    filter : AFNOFilter
        The token mixer.
    ffn_ratio : float, default=4.0
        Hidden width of the pointwise GELU MLP relative to ``channels``.
    """

    def __init__(self, channels: int, filter: AFNOFilter, ffn_ratio: float = 4.0) -> None:
        super().__init__()
        self.norm1, self.filter = ChannelLayerNorm(channels), filter
        self.norm2 = ChannelLayerNorm(channels)
        self.mlp = PointwiseMLP(channels, ffn_hidden(channels, ffn_ratio), channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x + self.filter(self.norm1(x))
        return y + self.mlp(self.norm2(y))
