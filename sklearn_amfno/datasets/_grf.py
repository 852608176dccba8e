"""Gaussian random fields with covariance ``sigma^2 (-Lap + tau^2)^(-alpha)``, sampled spectrally.

The field is a truncated Karhunen-Loeve series in the eigenfunctions of the Laplacian. The
number of modes is fixed independently of the output grid, so the same random draws give the
same continuous field at every resolution; fields are then evaluated *exactly* at the grid
points (no interpolation).
"""

from __future__ import annotations

import numpy as np


def grf_cosine_coefficients(
    rng: np.random.RandomState,
    n_samples: int,
    *,
    alpha: float,
    tau: float,
    max_wavenumber: int,
    zero_mean: bool = True,
) -> np.ndarray:
    """Coefficients of a Neumann (cosine-series) GRF on the unit square, ``k_i <= max_wavenumber``.

    Eigenfunctions ``cos(pi k1 x) cos(pi k2 y)`` with eigenvalues ``pi^2 |k|^2`` of ``-Lap``;
    coefficient ``(k1, k2)`` is ``xi * (pi^2 |k|^2 + tau^2)^(-alpha/2)``. The constant mode is
    removed by default so that a field thresholded at zero shows both phases.

    Returns an array of shape ``(n_samples, K + 1, K + 1)``, ``K = max_wavenumber``.
    """
    k = np.arange(max_wavenumber + 1)
    k1, k2 = np.meshgrid(k, k, indexing="ij")
    std = (np.pi**2 * (k1**2 + k2**2) + tau**2) ** (-alpha / 2.0)
    if zero_mean:
        std[0, 0] = 0.0
    return rng.standard_normal((n_samples, k.size, k.size)) * std


def evaluate_cosine_series(coef: np.ndarray, resolution: int) -> np.ndarray:
    """Evaluate a 2-D cosine series at ``linspace(0, 1, resolution)`` on both axes."""
    x = np.linspace(0.0, 1.0, resolution)
    c = np.cos(np.pi * np.outer(np.arange(coef.shape[-1]), x))  # (K, N)
    # field[n, i, j] = sum_ab coef[n, a, b] c[a, i] c[b, j]; two matmuls keep it O(n K N^2).
    return np.matmul(np.matmul(c.T, coef), c)


def lattice_normals(rng: np.random.RandomState, n_samples: int, n_dim: int, max_wavenumber: int):
    """Two standard-normal draws per wavevector ``k`` of the lattice ``[-K, K]^d``, and ``|k|^2``.

    The draws do not depend on any grid, which is what makes the fields built from them
    resolution independent. Returns ``xi, eta`` of shape ``(n_samples, 2K + 1, ..., 2K + 1)``
    (``xi`` drawn first), the wavenumber grids ``ks`` (one per axis) and ``|k|^2``.
    """
    m = 2 * max_wavenumber + 1
    shape = (n_samples,) + (m,) * n_dim
    xi = rng.standard_normal(shape)
    eta = rng.standard_normal(shape)
    k = np.arange(-max_wavenumber, max_wavenumber + 1)
    ks = np.meshgrid(*([k] * n_dim), indexing="ij")
    return xi, eta, ks, sum(kk**2 for kk in ks)


def grf_periodic_spectrum(
    rng: np.random.RandomState,
    n_samples: int,
    resolution: int,
    *,
    n_dim: int,
    alpha: float,
    tau: float,
    sigma: float,
    max_wavenumber: int,
    zero_mean: bool = True,
) -> np.ndarray:
    """Real periodic GRF on the unit torus, returned as its ``rfftn`` spectrum on the grid.

    ``u(x) = Re sum_k c_k exp(2 pi i k.x)`` over the full lattice ``|k_i| <= max_wavenumber``
    with ``c_k = s_k (xi_k - i eta_k)``, ``s_k = sigma (4 pi^2 |k|^2 + tau^2)^(-alpha/2)`` and
    i.i.d. standard normal ``xi, eta``; equivalently ``u = sum_k s_k (xi_k cos 2 pi k.x + eta_k
    sin 2 pi k.x)``, whose covariance is ``sum_k s_k^2 cos 2 pi k.(x - x')``, i.e. exactly the
    operator ``sigma^2 (-Lap + tau^2)^(-alpha)`` truncated to the lattice.

    The normal draws cover the full lattice ``[-K, K]^d`` whatever the grid; modes that the
    grid cannot represent (``|k_i| >= N / 2``) are dropped afterwards, so coarser grids see the
    band-limited projection of the same continuous field.

    Returns the ``rfftn`` of the grid values, shape ``(n_samples, N, ..., N // 2 + 1)``.
    """
    xi, eta, _, ksq = lattice_normals(rng, n_samples, n_dim, max_wavenumber)
    std = sigma * (4 * np.pi**2 * ksq + tau**2) ** (-alpha / 2.0)
    if zero_mean:
        std[(max_wavenumber,) * n_dim] = 0.0
    # u = Re sum_k c_k e^{2 pi i k.x} with c_k = std_k (xi_k - i eta_k) = sum_k std_k (xi cos +
    # eta sin). Its full complex spectrum has hat u_k = (c_k + conj(c_{-k})) / 2.
    c = std * (xi - 1j * eta)
    c_flip = np.conj(c[(slice(None),) + (slice(None, None, -1),) * n_dim])
    hat = 0.5 * (c + c_flip)
    # Place the modes that fit strictly below Nyquist into the grid spectrum.
    n = resolution
    kmax = min(max_wavenumber, (n - 1) // 2)
    sel = slice(max_wavenumber - kmax, max_wavenumber + kmax + 1)
    hat = hat[(slice(None),) + (sel,) * n_dim]
    full = np.zeros((n_samples,) + (n,) * n_dim, dtype=np.complex128)
    idx = np.arange(-kmax, kmax + 1) % n
    full[np.ix_(np.arange(n_samples), *([idx] * n_dim))] = hat
    full *= n**n_dim  # numpy's inverse FFT divides by the number of points
    return full[..., : n // 2 + 1]


def periodic_grid_values(spectrum: np.ndarray, resolution: int, n_dim: int) -> np.ndarray:
    """Inverse of the ``rfftn`` spectrum returned by :func:`grf_periodic_spectrum`."""
    axes = tuple(range(-n_dim, 0))
    return np.fft.irfftn(spectrum, s=(resolution,) * n_dim, axes=axes)


__all__ = [
    "lattice_normals",
    "grf_cosine_coefficients",
    "evaluate_cosine_series",
    "grf_periodic_spectrum",
    "periodic_grid_values",
]
