"""Exact Fourier-multiplier problems on the periodic unit torus: heat and linear advection.

Both problems are linear with constant coefficients, so every Fourier mode ``exp(2 pi i k.x)``
evolves independently by a known multiplier:

* heat ``u_t = kappa Lap u``: ``exp(-4 pi^2 kappa |k|^2 t)``;
* advection ``u_t + c.grad u = 0``: ``exp(-2 pi i k.c t)``, i.e. ``u(x, t) = u0(x - c t)``.

The generators draw random trigonometric polynomials and evaluate the initial and final states
*exactly* (no time stepping), from coefficients that do not depend on the grid.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
from joblib import Memory
from sklearn.utils import check_random_state

from .._compat import NON_NEGATIVE_INT, POSITIVE_INT, RANDOM_STATE, Interval, validate_params
from ._budget import _C16, _F8, Estimate, announce
from ._cache import budgeted_call
from ._constraints import FINITE_NON_NEGATIVE, FINITE_REAL, MEMORY, int_at_least
from ._grf import lattice_normals

__all__ = ["heat_solution", "advection_solution", "make_heat", "make_advection"]


# --------------------------------------------------------------------------------------------
# Solvers on grid functions
# --------------------------------------------------------------------------------------------
def _integer_wavenumbers(n: int) -> np.ndarray:
    """Integer wavenumbers of an ``n``-point FFT on the unit period (``fftfreq(n, 1/n)``)."""
    return np.fft.fftfreq(n, 1.0 / n)


def _spatial_axes(u0: np.ndarray, n_dim: int | None) -> tuple[int, ...]:
    """The last ``n_dim`` axes of ``u0`` (all of them for ``None``)."""
    if u0.ndim == 0:
        raise ValueError("u0 must have at least one spatial axis, got a scalar")
    if n_dim is None:
        n_dim = u0.ndim
    if n_dim > u0.ndim:
        raise ValueError(f"n_dim must be <= u0.ndim={u0.ndim} (the number of axes of u0), got {n_dim}")
    return tuple(range(u0.ndim - n_dim, u0.ndim))


def _apply_multiplier(u0: np.ndarray, axes: tuple[int, ...], multiplier) -> np.ndarray:
    """Multiply the spectrum of ``u0`` over ``axes`` by ``multiplier(k_grids)`` and return real."""
    ks = np.meshgrid(*[_integer_wavenumbers(u0.shape[a]) for a in axes], indexing="ij")
    u_hat = np.fft.fftn(u0, axes=axes)
    m = multiplier(ks)
    # Broadcast the multiplier against the leading (batch) axes.
    u_hat *= m.reshape((1,) * (u0.ndim - len(axes)) + m.shape)
    # The real part is exact for modes below Nyquist; for an even grid, the Nyquist mode of a
    # real function can only be kept as its real (cosine) part, the best band-limited answer.
    return np.fft.ifftn(u_hat, axes=axes).real


# Both solvers and both generators refuse the same values of the parameters they share.
_U0 = ["array-like"]
_N_DIM = [None] + POSITIVE_INT
#: A real velocity, the same in every direction, or one per axis (checked against ``n_dim``).
_VELOCITY = FINITE_REAL + ["array-like"]


@validate_params(
    {"u0": _U0, "diffusivity": FINITE_NON_NEGATIVE, "time": FINITE_NON_NEGATIVE, "n_dim": _N_DIM},
    prefer_skip_nested_validation=True,
)
def heat_solution(u0: np.ndarray, diffusivity: float, time: float, *, n_dim: int | None = None) -> np.ndarray:
    """Exact solution of the periodic heat equation ``u_t = diffusivity * Lap u``.

    The grid function ``u0`` is taken as samples of a band-limited function on the periodic unit
    torus at ``x_j = j / N`` and every Fourier mode is multiplied by
    ``exp(-4 pi^2 diffusivity |k|^2 time)``. The result is exact (to round-off) whenever ``u0``
    has no content at or above the Nyquist wavenumber (``N > 2 max|k|``).

    Parameters
    ----------
    u0 : ndarray of shape (..., N_1, ..., N_d)
        Initial condition; the last ``n_dim`` axes are spatial, leading axes are a batch.
    diffusivity : float
        Diffusion coefficient, ``>= 0``.
    time : float
        Final time, ``>= 0``.
    n_dim : int, default=None
        Number of trailing spatial axes; ``None`` means all axes of ``u0``.

    Returns
    -------
    u : ndarray of the same shape as ``u0``, float64
        Solution at ``time``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(32) / 32
    >>> u = heat_solution(np.sin(2 * np.pi * x), 0.01, 1.0)
    >>> bool(np.allclose(u, np.exp(-4 * np.pi**2 * 0.01) * np.sin(2 * np.pi * x)))
    True
    """
    u0 = np.asarray(u0, dtype=np.float64)
    kappa, t = float(diffusivity), float(time)
    axes = _spatial_axes(u0, n_dim)
    return _apply_multiplier(u0, axes, lambda ks: np.exp(-4 * np.pi**2 * kappa * t * sum(k**2 for k in ks)))


def _check_velocity(velocity, n_dim: int) -> np.ndarray:
    if isinstance(velocity, numbers.Real) and not isinstance(velocity, bool):
        vel = np.full(n_dim, float(velocity))
    else:
        try:
            vel = np.asarray(velocity, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise ValueError(
                f"velocity must be a real scalar or a sequence of {n_dim} reals, got {velocity!r}"
            ) from None
        if vel.shape != (n_dim,):
            raise ValueError(
                f"velocity must be a real scalar or a sequence of {n_dim} reals, got {velocity!r}"
            )
    if not np.all(np.isfinite(vel)):
        raise ValueError(f"velocity must be finite, got {velocity!r}")
    return vel


@validate_params(
    {"u0": _U0, "velocity": _VELOCITY, "time": FINITE_NON_NEGATIVE, "n_dim": _N_DIM},
    prefer_skip_nested_validation=True,
)
def advection_solution(
    u0: np.ndarray,
    velocity: float | Sequence[float],
    time: float,
    *,
    n_dim: int | None = None,
) -> np.ndarray:
    """Exact solution ``u(x, t) = u0(x - velocity * t)`` of periodic linear advection.

    Every Fourier mode of the grid function is multiplied by ``exp(-2 pi i k.velocity time)``,
    i.e. the band-limited interpolant of ``u0`` is translated exactly (any shift, not only whole
    grid cells).

    Parameters
    ----------
    u0 : ndarray of shape (..., N_1, ..., N_d)
        Initial condition on the periodic grid ``x_j = j / N``; the last ``n_dim`` axes are spatial.
    velocity : float or sequence of float
        Constant advection velocity, a scalar (same in every direction) or one per spatial axis.
    time : float
        Final time, ``>= 0``.
    n_dim : int, default=None
        Number of trailing spatial axes; ``None`` means all axes of ``u0``.

    Returns
    -------
    u : ndarray of the same shape as ``u0``, float64

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16) / 16
    >>> u = advection_solution(np.cos(2 * np.pi * x), 0.25, 1.0)
    >>> bool(np.allclose(u, np.cos(2 * np.pi * (x - 0.25))))
    True
    """
    u0 = np.asarray(u0, dtype=np.float64)
    t = float(time)
    axes = _spatial_axes(u0, n_dim)
    vel = _check_velocity(velocity, len(axes))
    return _apply_multiplier(
        u0,
        axes,
        lambda ks: np.exp(-2j * np.pi * t * sum(k * c for k, c in zip(ks, vel, strict=True))),
    )


# --------------------------------------------------------------------------------------------
# Random trigonometric polynomials, evaluated exactly at any resolution
# --------------------------------------------------------------------------------------------
def _draw_coefficients(rng, n_samples: int, n_dim: int, max_wavenumber: int, decay: float):
    """Complex coefficients ``c_k`` for ``k`` in ``[-K, K]^d``; independent of the grid.

    The initial condition is ``u0(x) = Re sum_k c_k exp(2 pi i k.x)`` with
    ``c_k = (xi_k + i eta_k) (1 + |k|^2)^(-decay/2)`` and i.i.d. standard normal ``xi, eta``.
    """
    real, imag, ks, ksq = lattice_normals(rng, n_samples, n_dim, max_wavenumber)
    return (real + 1j * imag) * (1.0 + ksq) ** (-decay / 2.0), ks


def _evaluate(coef: np.ndarray, max_wavenumber: int, resolution: int) -> np.ndarray:
    """Evaluate ``Re sum_k c_k exp(2 pi i k.x)`` at ``x_j = j / resolution`` on every axis."""
    k = np.arange(-max_wavenumber, max_wavenumber + 1)
    j = np.arange(resolution)
    # Reduce k*j modulo N in integers first: the phase is then computed from an exact fraction,
    # so a grid point shared by two resolutions (e.g. 2j/64 == j/32) gives bit-identical values.
    phase = np.mod(np.outer(j, k), resolution) / resolution
    e = np.exp(2j * np.pi * phase)  # (N, 2K+1)
    out = coef
    for _ in range(coef.ndim - 1):
        # Contract the first spatial coefficient axis; tensordot appends the new grid axis last,
        # so after n_dim contractions the grid axes are back in their original order.
        out = np.tensordot(out, e, axes=([1], [1]))
    return np.ascontiguousarray(out.real)


def _evaluate_pair(coef0, coef1, max_wavenumber, resolution):
    return _evaluate(coef0, max_wavenumber, resolution), _evaluate(coef1, max_wavenumber, resolution)


# --------------------------------------------------------------------------------------------
# Cost model (the checks that use it: _budget.py)
# --------------------------------------------------------------------------------------------
# 2 n sum_j N^j (2K + 1)^(d - j + 1) complex multiply-adds (the exact evaluation on the grid, d
# axes, K = max_wavenumber) at 5e8 per second.
def estimate_exact_fields(
    func: str, n_samples: int, resolution: int, *, n_dim: int, max_wavenumber: int
) -> Estimate:
    """make_heat / make_advection: exact evaluation of two trigonometric polynomials on the grid."""
    m = 2 * max_wavenumber + 1
    macs = 2 * n_samples * sum(resolution**j * m ** (n_dim - j + 1) for j in range(1, n_dim + 1))
    field_bytes = n_samples * resolution**n_dim * _F8
    # X and y, the complex result of the last contraction and its real part, the one before it,
    # and the coefficients (two complex sets, two normal draws).
    peak = (
        2 * field_bytes
        + n_samples * resolution**n_dim * (_C16 + _F8)
        + n_samples * resolution ** (n_dim - 1) * m * _C16
        + n_samples * m**n_dim * (2 * _C16 + 2 * _F8)
    )
    return Estimate(
        func,
        macs / 5e8,
        int(peak),
        2 * field_bytes,
        {"n_samples": n_samples, "resolution": resolution, "n_dim": n_dim},
        f"~{macs:.2g} complex multiply-adds for {n_samples} x {resolution}^{n_dim} points",
        "fewer n_samples, a coarser resolution or a smaller n_dim (the size grows like resolution^n_dim)",
    )


# --------------------------------------------------------------------------------------------
# The generators
# --------------------------------------------------------------------------------------------
#: The parameters make_heat and make_advection share.
_GENERATOR = {
    "n_samples": POSITIVE_INT,
    "resolution": int_at_least(2),
    "n_dim": [Interval(numbers.Integral, 1, 3, closed="both")],
    "time": FINITE_NON_NEGATIVE,
    "max_wavenumber": NON_NEGATIVE_INT,
    "decay": FINITE_NON_NEGATIVE,
    "random_state": RANDOM_STATE,
    "memory": MEMORY,
}


@validate_params({**_GENERATOR, "diffusivity": FINITE_NON_NEGATIVE}, prefer_skip_nested_validation=True)
def make_heat(
    n_samples: int = 100,
    resolution: int = 64,
    *,
    n_dim: int = 1,
    diffusivity: float = 0.01,
    time: float = 1.0,
    max_wavenumber: int = 8,
    decay: float = 2.0,
    random_state: int | np.random.RandomState | None = None,
    memory: Memory | str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate the periodic heat-equation operator ``u(., 0) -> u(., time)``.

    Solves ``u_t = diffusivity * Lap u`` on the unit torus ``[0, 1)^n_dim`` exactly. The initial
    condition is the random real trigonometric polynomial
    ``u0(x) = Re sum_{|k_i| <= K} c_k exp(2 pi i k.x)`` with
    ``c_k = (xi_k + i eta_k) (1 + |k|^2)^(-decay/2)``, ``xi, eta ~ N(0, 1)``, and the target is
    obtained by multiplying each coefficient by ``exp(-4 pi^2 diffusivity |k|^2 time)``.

    **Resolution independence.** The coefficients are drawn independently of ``resolution`` and
    both fields are evaluated exactly at the grid points ``x_j = j / resolution``. The same
    ``random_state`` therefore gives the *same continuous functions* at every resolution: e.g.
    the ``resolution=64`` samples at even indices equal the ``resolution=32`` samples. This is
    what zero-shot super-resolution tests rely on. (Below ``resolution = 2 K + 1`` the samples
    are still exact point values, but the grid no longer determines the function.)

    Parameters
    ----------
    n_samples : int, default=100
        Number of input/output pairs.
    resolution : int, default=64
        Grid points per axis, ``>= 2``.
    n_dim : int, default=1
        Spatial dimension, 1, 2 or 3.
    diffusivity : float, default=0.01
        Diffusion coefficient, ``>= 0``.
    time : float, default=1.0
        Final time, ``>= 0``.
    max_wavenumber : int, default=8
        Largest ``|k_i|`` of the initial condition ``K``.
    decay : float, default=2.0
        Spectral decay exponent, ``>= 0``.
    random_state : int, RandomState instance or None, default=None
        Seed for the coefficients.
    memory : joblib.Memory, str, path-like or None, default=None
        Cache for the evaluation (cheap here; accepted for a uniform API).

    Returns
    -------
    X : ndarray of shape (n_samples, resolution, ...) with ``n_dim`` grid axes, float64
        Initial conditions on the grid.
    y : ndarray of the same shape, float64
        Exact solutions at ``time``.

    Examples
    --------
    >>> X, y = make_heat(8, 64, n_dim=2, random_state=0)
    >>> X.shape, y.shape
    ((8, 64, 64), (8, 64, 64))
    """
    time, decay, diffusivity = float(time), float(decay), float(diffusivity)
    estimate = estimate_exact_fields(
        "make_heat", n_samples, resolution, n_dim=n_dim, max_wavenumber=max_wavenumber
    )
    announce(estimate, memory, None)
    rng = check_random_state(random_state)
    coef, ks = _draw_coefficients(rng, n_samples, n_dim, max_wavenumber, decay)
    ksq = sum(k**2 for k in ks)
    coef_t = coef * np.exp(-4 * np.pi**2 * diffusivity * time * ksq)
    return budgeted_call(memory, estimate, None, _evaluate_pair, coef, coef_t, max_wavenumber, resolution)


@validate_params({**_GENERATOR, "velocity": _VELOCITY}, prefer_skip_nested_validation=True)
def make_advection(
    n_samples: int = 100,
    resolution: int = 64,
    *,
    n_dim: int = 1,
    velocity: float | Sequence[float] = 0.25,
    time: float = 1.0,
    max_wavenumber: int = 8,
    decay: float = 2.0,
    random_state: int | np.random.RandomState | None = None,
    memory: Memory | str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate the periodic linear-advection operator ``u0(x) -> u0(x - velocity * time)``.

    Same random initial conditions as :func:`make_heat` (identical for the same
    ``random_state``, ``n_dim``, ``max_wavenumber`` and ``decay``), translated exactly by
    multiplying each coefficient by ``exp(-2 pi i k.velocity time)``. The resolution-independence
    property of :func:`make_heat` holds here too.

    Parameters
    ----------
    n_samples : int, default=100
        Number of input/output pairs.
    resolution : int, default=64
        Grid points per axis, ``>= 2``.
    n_dim : int, default=1
        Spatial dimension, 1, 2 or 3.
    velocity : float or sequence of float, default=0.25
        Advection velocity, a scalar or one value per axis.
    time : float, default=1.0
        Final time, ``>= 0``.
    max_wavenumber : int, default=8
        Largest ``|k_i|`` of the initial condition.
    decay : float, default=2.0
        Spectral decay exponent, ``>= 0``.
    random_state : int, RandomState instance or None, default=None
        Seed for the coefficients.
    memory : joblib.Memory, str, path-like or None, default=None
        Cache for the evaluation.

    Returns
    -------
    X : ndarray of shape (n_samples, resolution, ...), float64
        Initial conditions on the grid.
    y : ndarray of the same shape, float64
        Translated fields at ``time``.

    Examples
    --------
    >>> X, y = make_advection(4, 32, velocity=0.5, random_state=0)
    >>> X.shape
    (4, 32)
    """
    time, decay = float(time), float(decay)
    vel = _check_velocity(velocity, n_dim)
    estimate = estimate_exact_fields(
        "make_advection", n_samples, resolution, n_dim=n_dim, max_wavenumber=max_wavenumber
    )
    announce(estimate, memory, None)
    rng = check_random_state(random_state)
    coef, ks = _draw_coefficients(rng, n_samples, n_dim, max_wavenumber, decay)
    kdotc = sum(k * c for k, c in zip(ks, vel, strict=True))
    coef_t = coef * np.exp(-2j * np.pi * time * kdotc)
    return budgeted_call(memory, estimate, None, _evaluate_pair, coef, coef_t, max_wavenumber, resolution)
