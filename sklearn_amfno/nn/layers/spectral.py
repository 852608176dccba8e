"""Spectral convolution ``K v = IRFFT(R(k) * RFFT(v))`` and the kernels that provide ``R(k)``.

A kernel says which physical wavenumbers it acts on and returns one complex channel-mixing matrix
per such mode. Wavenumbers are integers (cycles per domain length), obtained from the grid at hand,
so the same physical mode gets the same kernel value on every grid: this is what makes prediction
on a finer grid than the training one (zero-shot super-resolution) meaningful.

Two kernels live here:

- :class:`DenseSpectralKernel` (FNO): one stored weight per kept mode.
- :class:`AmortizedSpectralKernel` (AM-FNO): the weights are produced by a small network of the
  scaled wavenumber ``t = phi(k) / phi(k_ref)``, where ``k_ref`` is the training grid's Nyquist
  wavenumber, fixed at construction, and ``phi`` the frequency map (:func:`scale_wavenumbers`).
  Modes above ``k_ref`` (present only on grids finer than the training grid) get a zero kernel:
  training data carry no information about them, and a zero multiplier is what a band-limited
  operator does there. Extrapolating the kernel network past ``|t| = 1`` would
  feed the bases arguments they were never fitted on (Chebyshev polynomials grow like ``|t|^n``).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from .bases import basis_embedding
from .kan import KAN


def grid_wavenumbers(shape: Sequence[int], device: torch.device | str | None = None) -> list[torch.Tensor]:
    """Integer wavenumbers of an ``rfftn`` spectrum of a grid of ``shape``, one tensor per axis.

    All axes but the last use the full FFT ordering ``0, 1, ..., -2, -1``; the last one the
    half-spectrum ``0 .. n // 2`` of the real FFT.
    """
    *full, last = shape
    ks = [torch.fft.fftfreq(n, 1.0 / n, device=device).round().long() for n in full]
    ks.append(torch.arange(last // 2 + 1, device=device))
    return ks


class SpectralKernel(nn.Module):
    """Interface: ``forward(shape) -> (R, index)`` for a grid of ``shape``.

    ``R`` is complex of shape ``(in_channels, out_channels, *m)`` and ``index`` a list with, for each
    axis, the positions (along that axis of the ``rfftn`` spectrum) of the ``m_d`` modes ``R`` acts
    on. Modes not indexed are multiplied by zero.
    """

    in_channels: int
    out_channels: int


def _channels_first(weight: torch.Tensor) -> torch.Tensor:
    """View a modes-first ``(*modes, in, out)`` tensor as ``(in, out, *modes)`` (no copy)."""
    n_dim = weight.ndim - 2
    return weight.permute(n_dim, n_dim + 1, *range(n_dim))


def _select(wavenumbers: torch.Tensor, limit_low: int, limit_high: int) -> torch.Tensor:
    return torch.nonzero((wavenumbers >= limit_low) & (wavenumbers <= limit_high)).flatten()


def resolve_modes(n_modes: int | Sequence[int] | None, limits: Sequence[int]) -> tuple[int, ...]:
    """Modes kept per axis: ``n_modes`` (int, sequence, or ``None`` for all) clipped to ``limits``.

    ``limits`` is what the training grid holds on each axis, in the convention of the kernel that
    keeps the modes (:meth:`DenseSpectralKernel.mode_limits`,
    :meth:`~sklearn_amfno.nn.layers.factorized.FactorizedSpectralWeights.mode_limits`). A grid too
    coarse for the requested modes keeps all it holds (as FNO code slicing the spectrum does), so
    default settings run on any data, including small test grids. Raises ValueError for anything
    but a positive int or a sequence of one positive int per axis.
    """
    d = len(limits)
    if n_modes is None:
        return tuple(int(m) for m in limits)
    modes: tuple[int | numbers.Integral, ...] = (
        (n_modes,) * d if isinstance(n_modes, (int, numbers.Integral)) else tuple(n_modes)
    )
    if len(modes) != d or not all(
        isinstance(m, numbers.Integral) and not isinstance(m, bool) and int(m) >= 1 for m in modes
    ):
        raise ValueError(
            f"n_modes must be a positive int or a tuple of {d} positive ints for a {d}-D grid, "
            f"got {n_modes!r}."
        )
    return tuple(min(int(m), int(lim)) for m, lim in zip(modes, limits))


class DenseSpectralKernel(SpectralKernel):
    """Classic FNO kernel: a learned complex matrix for each kept mode.

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts.
    n_modes : sequence of int
        Modes kept per axis: wavenumbers ``-m <= k < m`` on the full axes and ``0 <= k < m`` on the
        last (real-FFT) axis, i.e. the corner blocks of the classic FNO. On a grid too coarse to hold
        some of them, those weights are skipped.
    """

    def __init__(self, in_channels: int, out_channels: int, n_modes: Sequence[int]) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.n_modes = tuple(int(m) for m in n_modes)
        *full, last = self.n_modes
        kept = [torch.cat([torch.arange(m), torch.arange(-m, 0)]) for m in full]
        kept.append(torch.arange(last))
        for d, k in enumerate(kept):
            self.register_buffer(f"kept_{d}", k, persistent=False)
        scale = 1.0 / (in_channels * out_channels)
        # Stored modes-first, (*modes, in, out): the contraction reads it without a copy.
        shape = (*(len(k) for k in kept), in_channels, out_channels)
        self.weight = nn.Parameter(scale * torch.rand(*shape, dtype=torch.cfloat))

    @staticmethod
    def mode_limits(grid_shape: Sequence[int]) -> tuple[int, ...]:
        """Modes per axis that a grid of ``grid_shape`` holds in this kernel's convention.

        A full axis of ``n`` points holds ``-(n // 2) <= k <= (n - 1) // 2``, so the corner block
        ``-m <= k < m`` fits while ``m <= n // 2`` (on an odd axis its one-sidedness leaves
        ``k = (n - 1) / 2`` out: a larger ``m`` would store a weight for ``k = -m`` that the
        training grid never trains, yet a finer grid would use). The real-FFT axis holds
        ``n // 2 + 1`` modes ``0 <= k < m``.
        """
        *full, last = (int(n) for n in grid_shape)
        return tuple(n // 2 for n in full) + (last // 2 + 1,)

    def forward(self, shape: Sequence[int]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        weight: torch.Tensor = self.weight
        index: list[torch.Tensor] = []
        last = len(shape) - 1
        for d, n in enumerate(shape):
            kept = getattr(self, f"kept_{d}")
            low, high = (0, n // 2) if d == last else (-(n // 2), (n - 1) // 2)
            present = _select(kept, low, high)
            if len(present) < len(kept):
                weight = weight.index_select(d, present)
            index.append(torch.remainder(kept[present], n))
        return _channels_first(weight), index


FREQUENCY_MAPS = ("log", "linear")


def scale_wavenumbers(k: torch.Tensor, reference: int, frequency_map: str = "log") -> torch.Tensor:
    """Map integer wavenumbers ``|k| <= reference`` onto ``[-1, 1]``, odd and increasing.

    ``"linear"``: ``t = k / k_ref``. ``"log"``: ``t = sign(k) log(1 + |k|) / log(1 + k_ref)``,
    which spreads the low wavenumbers, where smooth solution operators keep most of their
    structure, over a large part of ``[-1, 1]``: with ``k_ref = 64`` the modes ``|k| <= 8`` take
    half of the interval instead of an eighth. The embedding's basis functions then resolve the
    kernel where it varies most (``docs/paper_results.md``: on Burgers the error halves). Both
    maps depend on the physical ``k`` and the fixed ``k_ref`` only, so super-resolution is kept.
    """
    k = k.float()
    if frequency_map == "linear":
        return k / reference
    if frequency_map == "log":
        return torch.sign(k) * torch.log1p(k.abs()) / torch.log1p(torch.tensor(float(reference)))
    raise ValueError(f"frequency_map must be one of {FREQUENCY_MAPS}, got {frequency_map!r}")


class AmortizedSpectralKernel(SpectralKernel):
    """AM-FNO kernel: ``R(k)`` generated by a network of the scaled wavenumber.

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts.
    reference : sequence of int
        Reference wavenumber ``k_ref`` per axis (the training grid's Nyquist ``n // 2``); the
        network sees ``t`` in ``[-1, 1]`` (see ``frequency_map``) and modes with ``|k| > k_ref``
        get zero.
    kernel : {"mlp", "kan"}, default="mlp"
        ``"mlp"``: basis embedding of ``t`` then an MLP; ``"kan"``: a B-spline KAN of ``t``.
    basis : {"chebyshev", "fourier", "legendre", "polynomial"}, default="chebyshev"
        Basis of the MLP variant's embedding.
    n_basis : int, default=32
        Number of basis functions per axis (MLP variant).
    hidden : int, default=None
        Hidden size of the kernel network; ``None`` means ``2 * n_basis`` for the MLP (the paper's
        ``n -> 2n -> c^2``) and 8 for the KAN.
    factorization : {"separable", "joint"}, default="separable"
        ``"separable"``: one network per axis, ``R(k) = prod_d R_d(k_d)`` elementwise (rank one over
        axes, as the public re-implementations do). ``"joint"``: one network of all coordinates.
    kan_grid_size : int, default=5
        Spline intervals of the KAN variant.
    frequency_map : {"log", "linear"}, default="log"
        How wavenumbers become the network's input ``t`` (:func:`scale_wavenumbers`): the paper
        and its public code feed the linear ``k / k_ref``; ``"log"`` resolves low modes better.
    rank : int, default=1
        Separable kernels only: ``R(k) = sum_{j<rank} prod_d R_{d,j}(k_d)``, each axis network
        giving ``rank`` factors. Rank one (the public code) cannot represent a kernel that does
        not factor over axes; the output layer, where nearly all parameters sit, grows with
        ``rank``. Ignored by the joint kernel and on 1-D grids.
    dense_modes : int, default=0
        The lowest wavenumbers, ``|k_d| < dense_modes`` on every axis, also get a stored complex
        weight of their own (FNO's per-mode weight), added to the generated ``R(k)``. A smooth
        network of ``k`` cannot give each of the few modes that carry most of a field's energy
        its own matrix; these ``(2 m - 1)^(d - 1) m`` weights can. They start at zero (the kernel
        starts as the amortized one) and act on the same physical wavenumbers on every grid, so
        the parameter count stays fixed and super-resolution is kept. 0: the paper's kernel.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        reference: Sequence[int],
        *,
        kernel: str = "mlp",
        basis: str = "chebyshev",
        n_basis: int = 32,
        hidden: int | None = None,
        factorization: str = "separable",
        kan_grid_size: int = 5,
        frequency_map: str = "log",
        rank: int = 1,
        dense_modes: int = 0,
    ) -> None:
        super().__init__()
        if frequency_map not in FREQUENCY_MAPS:
            raise ValueError(f"frequency_map must be one of {FREQUENCY_MAPS}, got {frequency_map!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.reference = tuple(max(int(r), 1) for r in reference)
        self.frequency_map = frequency_map
        self.kernel, self.basis, self.n_basis = kernel, basis, n_basis
        self.factorization = factorization
        n_dim = len(self.reference)
        n_nets = n_dim if factorization == "separable" else 1
        n_in = 1 if factorization == "separable" else n_dim
        if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
            raise ValueError(f"rank must be a positive int, got {rank!r}")
        self.rank = rank if factorization == "separable" and n_dim > 1 else 1
        n_out = 2 * in_channels * out_channels * self.rank
        if kernel == "mlp":
            hidden = hidden or 2 * n_basis
            self.nets = nn.ModuleList(
                nn.Sequential(nn.Linear(n_in * n_basis, hidden), nn.GELU(), nn.Linear(hidden, n_out))
                for _ in range(n_nets)
            )
        elif kernel == "kan":
            hidden = hidden or 8
            self.nets = nn.ModuleList(
                KAN([n_in, hidden, n_out], grid_size=kan_grid_size) for _ in range(n_nets)
            )
        else:
            raise ValueError(f"kernel must be 'mlp' or 'kan', got {kernel!r}")
        # Per-factor output scale so that the product kernel starts with entries of size
        # ~1/sqrt(in_channels), which keeps the contraction's output variance near its input's.
        # A sum of ``rank`` such products: divide its variance by ``rank``.
        self.output_scale = (in_channels * self.rank) ** (-0.5 / n_nets)
        if isinstance(dense_modes, bool) or not isinstance(dense_modes, numbers.Integral) or dense_modes < 0:
            raise ValueError(f"dense_modes must be a non-negative int, got {dense_modes!r}")
        self.dense_modes: int = int(dense_modes)
        if self.dense_modes:
            # (re, im) pairs; the full axes hold k = -(m-1) .. m-1 in FFT order, the last (real
            # FFT) axis k = 0 .. m-1. Zero: training starts from the amortized kernel alone.
            m = self.dense_modes
            shape = (*[2 * m - 1] * (n_dim - 1), m, in_channels, out_channels, 2)
            self.dense_weight: nn.Parameter | None = nn.Parameter(torch.zeros(shape))
        else:
            self.register_parameter("dense_weight", None)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # A kernel pickled before dense_modes existed has no dense weights.
        state.setdefault("dense_modes", 0)
        super().__setstate__(state)
        if "dense_weight" not in self._parameters:
            self.register_parameter("dense_weight", None)

    @staticmethod
    def reference_wavenumbers(grid_shape: Sequence[int]) -> tuple[int, ...]:
        """``k_ref`` per axis for a training grid of ``grid_shape``: its Nyquist ``n // 2``.

        The kernel acts on ``|k| <= k_ref`` (:func:`select_modes`) and is zero above.
        """
        return tuple(int(n) // 2 for n in grid_shape)

    def _features(self, t: torch.Tensor) -> torch.Tensor:
        if self.kernel == "mlp":
            return basis_embedding(t, self.basis, self.n_basis).flatten(-2)
        return t

    def _evaluate(self, net: nn.Module, t: torch.Tensor) -> torch.Tensor:
        """Kernel matrices at scaled wavenumbers ``t``: complex ``(m, [rank,] cin, cout)``."""
        out = net(self._features(t)) * self.output_scale  # (m, 2 * rank * cin * cout)
        factors = (self.rank,) if self.rank > 1 else ()
        return torch.view_as_complex(out.view(-1, *factors, self.in_channels, self.out_channels, 2))

    def forward(self, shape: Sequence[int]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        device = next(self.parameters()).device
        wavenumbers = grid_wavenumbers(shape, device)
        index = select_modes(wavenumbers, self.reference)
        scaled = [
            scale_wavenumbers(k[i], ref, self.frequency_map)
            for k, i, ref in zip(wavenumbers, index, self.reference)
        ]
        n_dim = len(scaled)
        if self.factorization == "separable":
            weight: torch.Tensor | None = None
            for d, t in enumerate(scaled):
                r = self._evaluate(self.nets[d], t.unsqueeze(-1))
                r = r.view(*[-1 if a == d else 1 for a in range(n_dim)], *r.shape[1:])
                weight = r if weight is None else weight * r
            if self.rank > 1:
                assert weight is not None
                weight = weight.sum(dim=n_dim)  # (*modes, rank, cin, cout) -> (*modes, cin, cout)
        else:
            mesh = torch.stack(torch.meshgrid(*scaled, indexing="ij"), dim=-1)
            r = self._evaluate(self.nets[0], mesh.reshape(-1, n_dim).unsqueeze(-2))
            weight = r.view(*(len(t) for t in scaled), *r.shape[1:])
        assert weight is not None  # the separable loop runs once per axis, and there is at least one
        if self.dense_weight is not None:
            weight = self._add_dense(weight, wavenumbers, index)
        return _channels_first(weight), index

    def _add_dense(
        self, weight: torch.Tensor, wavenumbers: Sequence[torch.Tensor], index: Sequence[torch.Tensor]
    ) -> torch.Tensor:
        """``weight`` (modes-first) plus the stored weights on the modes with ``|k_d| < dense_modes``."""
        assert self.dense_weight is not None
        m, n_dim = self.dense_modes, len(index)
        positions, slots = [], []
        for d, (k, i) in enumerate(zip(wavenumbers, index)):
            selected = k[i]
            p = torch.nonzero(selected.abs() < m).flatten()
            positions.append(p)
            # k's slot in the stored block: FFT order on full axes, k itself on the last axis.
            slots.append(selected[p] % (2 * m - 1) if d < n_dim - 1 else selected[p])
        dense = torch.view_as_complex(self.dense_weight)[torch.meshgrid(*slots, indexing="ij")]
        return weight.index_put(tuple(torch.meshgrid(*positions, indexing="ij")), dense, accumulate=True)


def contract_modes(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``out[b, o, m] = sum_i x[b, i, m] * weight[i, o, m]`` for complex tensors.

    Written as one real batched matmul over modes on interleaved (re, im) pairs: each complex
    weight becomes the real 2x2 block ``[[w_r, w_i], [-w_i, w_r]]``. This is faster on CPU than
    complex ``einsum`` or complex ``bmm`` (see ``benchmarks/bench_contraction.py``), and the
    interleaved layout turns the output back into complex numbers without a copy.
    """
    b, c, *modes = x.shape
    o = weight.shape[1]
    # (b, c, m) complex -> (m, b, c, [re, im]) -> (m, b, 2c)
    xr = torch.view_as_real(x.reshape(b, c, -1)).permute(2, 0, 1, 3).reshape(-1, b, 2 * c)
    # Modes-first weights (see _channels_first) make this permute free.
    w = weight.reshape(c, o, -1).permute(2, 0, 1)  # (m, c, o)
    # Row "re" of input channel i: [w_r, w_i]; row "im": [-w_i, w_r], the parts of i * w.
    block = torch.stack([torch.view_as_real(w), torch.view_as_real(w * 1j)], dim=2)  # (m, c, 2, o, 2)
    out = torch.bmm(xr, block.reshape(-1, 2 * c, 2 * o)).view(-1, b, o, 2)
    return torch.view_as_complex(out).permute(1, 2, 0).reshape(b, o, *modes)


def select_modes(wavenumbers: Sequence[torch.Tensor], limits: Sequence[int]) -> list[torch.Tensor]:
    """Per axis, the spectrum positions of the wavenumbers with ``|k| <= limit``."""
    return [_select(k, -limit, limit) for k, limit in zip(wavenumbers, limits)]


def map_modes(
    x_hat: torch.Tensor,
    index: Sequence[torch.Tensor],
    fn: Callable[[torch.Tensor], torch.Tensor],
    out_channels: int,
) -> torch.Tensor:
    """Apply ``fn`` to the modes of ``x_hat`` at ``index`` (positions per axis); zero elsewhere.

    ``x_hat`` is ``(batch, channels, *spectrum)``; ``fn`` maps the selected block
    ``(batch, channels, *m)`` to ``(batch, out_channels, *m)``. When ``index`` covers the whole
    spectrum (in order), ``fn`` runs on ``x_hat`` directly, without gathering or scattering.
    """
    spectrum_shape = x_hat.shape[2:]
    if all(len(i) == n for i, n in zip(index, spectrum_shape)):
        return fn(x_hat)
    out_hat = x_hat.new_zeros(x_hat.shape[0], out_channels, *spectrum_shape)
    if all(len(i) for i in index):
        selected = x_hat
        for d, i in enumerate(index):
            selected = selected.index_select(2 + d, i)
        grids = torch.meshgrid(*index, indexing="ij")
        position: tuple[slice | torch.Tensor, ...] = (slice(None), slice(None), *grids)
        out_hat[position] = fn(selected)
    return out_hat


class SpectralConv(nn.Module):
    """``K v = IRFFT(R(k) * RFFT(v))`` over the last ``n_dim`` axes, with ``R`` from ``kernel``.

    Parameters
    ----------
    kernel : SpectralKernel
        Provides ``R(k)`` and the modes it acts on.
    n_dim : int
        Number of spatial axes (the trailing axes of the input).
    """

    def __init__(self, kernel: SpectralKernel, n_dim: int) -> None:
        super().__init__()
        self.kernel, self.n_dim = kernel, n_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape[-self.n_dim :]
        dims = tuple(range(-self.n_dim, 0))
        x_hat = torch.fft.rfftn(x, dim=dims)
        weight, index = self.kernel(shape)
        out_hat = map_modes(x_hat, index, lambda z: contract_modes(z, weight), self.kernel.out_channels)
        return torch.fft.irfftn(out_hat, s=shape, dim=dims)
