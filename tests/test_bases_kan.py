"""Bases and KAN layers against independent implementations (numpy.polynomial, scipy)."""

import numpy as np
import pytest
import torch
from numpy.polynomial import chebyshev, legendre
from scipy.interpolate import BSpline

from sklearn_amfno.nn.layers import KAN, KANLayer, basis_embedding, bspline_basis

T = torch.linspace(-1, 1, 41, dtype=torch.float64)


@pytest.mark.parametrize("name, family", [("chebyshev", chebyshev), ("legendre", legendre)])
def test_orthogonal_polynomials_match_numpy(name, family):
    out = basis_embedding(T, name, 6).numpy()
    for j in range(6):
        coef = np.zeros(j + 2)
        coef[j + 1] = 1.0
        np.testing.assert_allclose(
            out[:, j],
            family.chebval(T.numpy(), coef) if name == "chebyshev" else family.legval(T.numpy(), coef),
            atol=1e-12,
        )


def test_chebyshev_is_orthogonal_under_its_weight():
    # Gauss-Chebyshev nodes integrate T_i T_j / sqrt(1 - t^2) exactly for i + j < 2 * nodes.
    nodes = torch.cos((torch.arange(32, dtype=torch.float64) + 0.5) * np.pi / 32)
    b = basis_embedding(nodes, "chebyshev", 8)
    gram = (b.T @ b).numpy() * np.pi / 32
    np.testing.assert_allclose(gram, np.eye(8) * np.pi / 2, atol=1e-12)


def test_fourier_and_polynomial_bases():
    f = basis_embedding(T, "fourier", 5).numpy()
    t = T.numpy()
    expected = [
        np.cos(np.pi * t),
        np.sin(np.pi * t),
        np.cos(2 * np.pi * t),
        np.sin(2 * np.pi * t),
        np.cos(3 * np.pi * t),
    ]
    np.testing.assert_allclose(f, np.stack(expected, 1), atol=1e-12)
    p = basis_embedding(T, "polynomial", 3).numpy()
    np.testing.assert_allclose(p, np.stack([t, t**2, t**3], 1), atol=1e-12)


def test_basis_errors():
    with pytest.raises(ValueError, match="basis must be one of"):
        basis_embedding(T, "hermite", 3)
    with pytest.raises(ValueError, match="n_basis must be >= 1"):
        basis_embedding(T, "chebyshev", 0)


def test_bspline_basis_matches_scipy_and_sums_to_one():
    layer = KANLayer(1, 1, grid_size=5, spline_order=3)
    knots = layer.knots.double()
    x = torch.linspace(-1, 0.999, 57, dtype=torch.float64)
    ours = bspline_basis(x, knots, 3).numpy()
    n_basis = len(knots) - 4
    assert ours.shape == (57, n_basis) == (57, 8)
    for m in range(n_basis):
        coef = np.zeros(n_basis)
        coef[m] = 1.0
        np.testing.assert_allclose(ours[:, m], BSpline(knots.numpy(), coef, 3)(x.numpy()), atol=1e-12)
    np.testing.assert_allclose(ours.sum(1), 1.0, atol=1e-12)


def test_kan_layer_is_silu_plus_spline_sum():
    torch.manual_seed(0)
    layer = KANLayer(2, 3, grid_size=4, spline_order=2).double()
    x = torch.rand(5, 2, dtype=torch.float64) * 2 - 1
    splines = bspline_basis(x, layer.knots.double(), 2)
    expected = torch.nn.functional.silu(x) @ layer.base_weight.T + torch.einsum(
        "bim,oim->bo", splines, layer.spline_weight
    )
    torch.testing.assert_close(layer(x), expected)


@pytest.mark.slow
def test_kan_fits_a_smooth_function():
    torch.manual_seed(0)
    net = KAN([1, 4, 1], grid_size=8)
    x = torch.linspace(-1, 1, 64)[:, None]
    y = torch.exp(-3 * x**2) * torch.cos(4 * x)
    opt = torch.optim.Adam(net.parameters(), lr=2e-2)
    for _ in range(600):
        opt.zero_grad()
        loss = ((net(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
    assert loss.item() < 1e-4
