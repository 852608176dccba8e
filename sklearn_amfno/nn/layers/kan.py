"""Kolmogorov-Arnold network layers with B-spline edge functions (Liu et al., 2024)."""

from __future__ import annotations

import torch
from torch import nn


def bspline_basis(x: torch.Tensor, knots: torch.Tensor, order: int) -> torch.Tensor:
    """Evaluate all B-splines of ``order`` on ``knots`` at ``x`` (Cox-de Boor recursion).

    Parameters
    ----------
    x : torch.Tensor
        Points, any shape.
    knots : torch.Tensor
        Non-decreasing knot vector of length ``n_knots``.
    order : int
        Polynomial degree ``k`` (3 for cubic splines).

    Returns
    -------
    torch.Tensor
        Shape ``(*x.shape, n_knots - order - 1)``; inside the knots' inner span the values sum to one.
    """
    x = x.unsqueeze(-1)
    # Degree 0: indicator of each half-open knot interval.
    basis = ((x >= knots[:-1]) & (x < knots[1:])).to(x.dtype)
    for k in range(1, order + 1):
        left = (x - knots[: -(k + 1)]) / (knots[k:-1] - knots[: -(k + 1)])
        right = (knots[k + 1 :] - x) / (knots[k + 1 :] - knots[1:-k])
        basis = left * basis[..., :-1] + right * basis[..., 1:]
    return basis


class KANLayer(nn.Module):
    """One KAN layer: ``y_j = sum_i w_b[j, i] SiLU(x_i) + sum_i sum_m c[j, i, m] B_m(x_i)``.

    Parameters
    ----------
    in_features, out_features : int
        Layer sizes.
    grid_size : int, default=5
        Number of uniform spline intervals ``G`` on ``grid_range``.
    spline_order : int, default=3
        Spline degree ``k``; each edge has ``G + k`` spline coefficients.
    grid_range : tuple of float, default=(-1, 1)
        Span of the uniform grid. Inputs outside it keep only the SiLU term, so callers should keep
        inputs in range (the AM-FNO kernel feeds scaled frequencies in ``[-1, 1]``).
    """

    knots: torch.Tensor

    def __init__(
        self,
        in_features: int,
        out_features: int,
        grid_size: int = 5,
        spline_order: int = 3,
        grid_range: tuple[float, float] = (-1.0, 1.0),
    ) -> None:
        super().__init__()
        lo, hi = grid_range
        h = (hi - lo) / grid_size
        knots = lo + h * torch.arange(-spline_order, grid_size + spline_order + 1, dtype=torch.float32)
        self.register_buffer("knots", knots)
        self.spline_order = spline_order
        self.base_weight = nn.Parameter(torch.empty(out_features, in_features))
        self.spline_weight = nn.Parameter(torch.empty(out_features, in_features, grid_size + spline_order))
        nn.init.kaiming_uniform_(self.base_weight, a=5**0.5)
        # Small spline coefficients: the layer starts close to its SiLU part, as in the KAN paper.
        nn.init.normal_(self.spline_weight, std=0.1 / (in_features**0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        base = nn.functional.silu(x) @ self.base_weight.T
        splines = bspline_basis(x, self.knots, self.spline_order)  # (..., in, G + k)
        return base + torch.einsum("...im,oim->...o", splines, self.spline_weight)


class KAN(nn.Module):
    """A stack of :class:`KANLayer` with sizes ``sizes[0] -> sizes[1] -> ...``.

    Hidden activations pass through ``tanh`` before the next layer so that they stay inside the
    spline grid (a fixed grid replaces the original paper's adaptive grid updates).
    """

    def __init__(self, sizes: list[int], grid_size: int = 5, spline_order: int = 3) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            KANLayer(a, b, grid_size, spline_order) for a, b in zip(sizes[:-1], sizes[1:])
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            if i:
                x = torch.tanh(x)
            x = layer(x)
        return x
