"""Basis embeddings of a scaled frequency coordinate ``t`` in ``[-1, 1]``.

The amortized kernel network never sees a raw wavenumber: each frequency coordinate is first expanded
in a small set of basis functions, which is what lets a tiny MLP represent kernels with fine spectral
structure. ``chebyshev`` is the AM-FNO paper's default; ``polynomial`` (monomials) is the
non-orthogonal basis of the paper's ablation.
"""

from __future__ import annotations

import math

import torch

BASES = ("chebyshev", "fourier", "legendre", "polynomial")


def _chebyshev(t: torch.Tensor, n: int) -> list[torch.Tensor]:
    # Three-term recurrence; arccos-based formulas have unbounded gradients at +-1.
    out, prev, cur = [], torch.ones_like(t), t
    for _ in range(n):
        out.append(cur)
        prev, cur = cur, 2 * t * cur - prev
    return out


def _legendre(t: torch.Tensor, n: int) -> list[torch.Tensor]:
    out, prev, cur = [], torch.ones_like(t), t
    for j in range(1, n + 1):
        out.append(cur)
        prev, cur = cur, ((2 * j + 1) * t * cur - j * prev) / (j + 1)
    return out


def _fourier(t: torch.Tensor, n: int) -> list[torch.Tensor]:
    # The paper's "triangular" basis: cos(j pi t), sin(j pi t) for j = 1, 2, ...
    out = []
    for j in range(1, n // 2 + 2):
        out.extend([torch.cos(j * math.pi * t), torch.sin(j * math.pi * t)])
    return out[:n]


def _polynomial(t: torch.Tensor, n: int) -> list[torch.Tensor]:
    return [t**j for j in range(1, n + 1)]


_FUNCTIONS = {
    "chebyshev": _chebyshev,
    "fourier": _fourier,
    "legendre": _legendre,
    "polynomial": _polynomial,
}


def basis_embedding(t: torch.Tensor, basis: str, n_basis: int) -> torch.Tensor:
    """Expand each entry of ``t`` in ``n_basis`` basis functions.

    Parameters
    ----------
    t : torch.Tensor
        Scaled frequencies, any shape; the bases are designed for ``[-1, 1]``.
    basis : {"chebyshev", "fourier", "legendre", "polynomial"}
        Chebyshev ``T_1..T_n``, triangular ``cos(j pi t), sin(j pi t)``, Legendre ``P_1..P_n`` or
        monomials ``t^1..t^n``. The constant function is left out: the network's bias plays its role.
    n_basis : int
        Number of basis functions.

    Returns
    -------
    torch.Tensor
        Shape ``(*t.shape, n_basis)``.
    """
    if basis not in _FUNCTIONS:
        raise ValueError(f"basis must be one of {BASES}, got {basis!r}")
    if n_basis < 1:
        raise ValueError(f"n_basis must be >= 1, got {n_basis}")
    return torch.stack(_FUNCTIONS[basis](t, n_basis), dim=-1)
