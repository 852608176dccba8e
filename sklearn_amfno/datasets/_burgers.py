"""Viscous Burgers equation ``u_t + (u^2 / 2)_x = nu u_xx`` on the periodic unit interval."""

from __future__ import annotations

import math

import numpy as np
from joblib import Memory
from sklearn.utils import check_random_state

from .._compat import NON_NEGATIVE_INT, POSITIVE_INT, RANDOM_STATE, StrOptions, validate_params
from ._budget import announce, check_solver, estimate_burgers, estimate_solve_burgers
from ._cache import budgeted_call
from ._constraints import FINITE_NON_NEGATIVE, FINITE_POSITIVE, MEMORY, int_at_least
from ._grf import grf_periodic_spectrum, periodic_grid_values
from ._progress import progress

__all__ = ["solve_burgers", "make_burgers"]


def _wavenumbers(n: int) -> np.ndarray:
    """Angular wavenumbers ``2 pi k`` of the ``rfft`` bins of an ``n``-point unit-period grid."""
    return 2 * np.pi * np.arange(n // 2 + 1)


def _cole_hopf(u0: np.ndarray, nu: float, t: float) -> np.ndarray:
    """Exact solution via the Cole-Hopf transform, batched over leading axes.

    The mean ``c`` of ``u0`` is removed first (Galilean change of frame): ``w = u - c`` solves
    the same equation in the frame moving with speed ``c`` and has a *periodic* potential
    ``W = int w``, so ``phi = exp(-W / (2 nu))`` is periodic and solves the heat equation
    ``phi_t = nu phi_xx`` exactly in Fourier space; then ``w = -2 nu phi_x / phi`` and
    ``u(x, t) = c + w(x - c t, t)``.
    """
    n = u0.shape[-1]
    kk = _wavenumbers(n)
    u_hat = np.fft.rfft(u0, axis=-1)
    c = u_hat[..., :1].real / n  # the mean, shape (..., 1)
    w_hat = u_hat.copy()
    w_hat[..., 0] = 0.0
    # Antiderivative of w: divide by i*2*pi*k (the constant of integration is irrelevant).
    W_hat = np.zeros_like(w_hat)
    W_hat[..., 1:] = w_hat[..., 1:] / (1j * kk[1:])
    if n % 2 == 0:
        # The Nyquist bin of a real signal carries no derivative information.
        W_hat[..., -1] = 0.0
    W = np.fft.irfft(W_hat, n=n, axis=-1)
    expo = -W / (2 * nu)
    # Shift the exponent so its maximum is 0: phi lies in (0, 1] and never overflows; the shift
    # is a constant factor of phi, which cancels in phi_x / phi.
    expo -= expo.max(axis=-1, keepdims=True)
    phi_hat = np.fft.rfft(np.exp(expo), axis=-1) * np.exp(-nu * kk**2 * t)
    phi = np.fft.irfft(phi_hat, n=n, axis=-1)
    phi_x = np.fft.irfft(1j * kk * phi_hat, n=n, axis=-1)
    w = -2 * nu * phi_x / phi
    # Back to the rest frame: translate by c t (exact spectral shift) and add the mean.
    w_hat = np.fft.rfft(w, axis=-1) * np.exp(-1j * kk * c * t)
    return np.fft.irfft(w_hat, n=n, axis=-1) + c


def _etdrk4_coefficients(lin: np.ndarray, h: float, n_contour: int = 32):
    """Kassam-Trefethen ETDRK4 coefficients for a diagonal linear operator ``lin``.

    The phi-functions are evaluated as means over a circle of radius 1 around each ``h * lin``,
    which avoids the cancellation of the explicit formulas for small ``|h lin|``.
    """
    r = np.exp(1j * np.pi * (np.arange(1, n_contour + 1) - 0.5) / n_contour)
    lr = h * lin[:, None] + r[None, :]
    e = np.exp(h * lin)
    e2 = np.exp(h * lin / 2)
    q = h * np.real(np.mean((np.exp(lr / 2) - 1) / lr, axis=1))
    f1 = h * np.real(np.mean((-4 - lr + np.exp(lr) * (4 - 3 * lr + lr**2)) / lr**3, axis=1))
    f2 = h * np.real(np.mean((2 + lr + np.exp(lr) * (-2 + lr)) / lr**3, axis=1))
    f3 = h * np.real(np.mean((-4 - 3 * lr - lr**2 + np.exp(lr) * (4 - lr)) / lr**3, axis=1))
    return e, e2, q, f1, f2, f3


def _spectral(u0: np.ndarray, nu: float, t: float, dt: float | None, verbose: bool) -> np.ndarray:
    """Pseudo-spectral ETDRK4 time stepping with 2/3-rule dealiasing, batched."""
    n = u0.shape[-1]
    kk = _wavenumbers(n)
    if t == 0:
        return u0.copy()
    if dt is None:
        # Stable and, for smooth solutions, well below 1e-6 relative error: a fraction of the
        # advective CFL limit, capped for accuracy.
        umax = max(float(np.abs(u0).max()), 1e-12)
        dt = min(0.2 / (n * umax), 1e-3)
    n_steps = max(1, math.ceil(t / dt - 1e-12))
    h = t / n_steps
    lin = -nu * kk**2
    e, e2, q, f1, f2, f3 = _etdrk4_coefficients(lin, h)
    # 2/3 rule: modes |k| < n/3 are kept, so quadratic products alias only into discarded modes.
    keep = np.arange(n // 2 + 1) < n / 3
    g = -0.5j * kk * keep  # d/dx of u^2 / 2, with the dealiasing mask folded in

    def nonlinear(v_hat):
        u = np.fft.irfft(v_hat, n=n, axis=-1)
        return g * np.fft.rfft(u * u, axis=-1)

    v = np.fft.rfft(u0, axis=-1) * keep
    for _ in progress(range(n_steps), verbose=verbose, total=n_steps, desc="Burgers"):
        nv = nonlinear(v)
        a = e2 * v + q * nv
        na = nonlinear(a)
        b = e2 * v + q * na
        nb = nonlinear(b)
        c = e2 * a + q * (2 * nb - nv)
        nc = nonlinear(c)
        v = e * v + f1 * nv + 2 * f2 * (na + nb) + f3 * nc
    return np.fft.irfft(v, n=n, axis=-1)


_METHOD = [StrOptions({"cole_hopf", "spectral"})]


@validate_params(
    {
        "u0": ["array-like"],
        "viscosity": FINITE_POSITIVE,
        "time": FINITE_NON_NEGATIVE,
        "method": _METHOD,
        "dt": [None] + FINITE_POSITIVE,
        "verbose": ["verbose"],
    },
    prefer_skip_nested_validation=True,
)
def solve_burgers(
    u0: np.ndarray,
    viscosity: float,
    time: float,
    *,
    method: str = "cole_hopf",
    dt: float | None = None,
    verbose: bool = False,
) -> np.ndarray:
    """Solve ``u_t + (u^2/2)_x = viscosity * u_xx`` on the periodic unit interval.

    Parameters
    ----------
    u0 : ndarray of shape (..., N)
        Initial condition(s) at ``x_j = j / N``; leading axes are a batch.
    viscosity : float
        ``nu > 0``.
    time : float
        Final time, ``>= 0``.
    method : {"cole_hopf", "spectral"}, default="cole_hopf"
        ``"cole_hopf"``: exact solution through the Cole-Hopf transform (heat equation for
        ``phi = exp(-int u / (2 nu))`` solved exactly in Fourier space, mean flow handled by a
        Galilean shift, exponent shifted to avoid overflow). Accurate to round-off when ``phi``
        is resolved by the grid; for very small ``nu`` the dynamic range of ``phi`` grows like
        ``exp(range(int u) / (2 nu))`` and the spectral time stepper is the better choice.
        ``"spectral"``: Fourier pseudo-spectral ETDRK4 (Kassam & Trefethen 2005) with 2/3
        dealiasing; the initial condition is projected onto the retained modes.
    dt : float, default=None
        Time step of the spectral method (rounded down so steps end at ``time``); ``None``
        picks ``min(0.2 h / max|u0|, 1e-3)``. Ignored by Cole-Hopf.
    verbose : bool, default=False
        Progress bar over time steps (spectral method).

    Returns
    -------
    u : ndarray of the same shape as ``u0``, float64
        Solution at ``time``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(256) / 256
    >>> u0 = np.sin(2 * np.pi * x)
    >>> a = solve_burgers(u0, 0.1, 0.2)
    >>> b = solve_burgers(u0, 0.1, 0.2, method="spectral")
    >>> bool(np.max(np.abs(a - b)) < 1e-8)
    True
    """
    u0 = np.asarray(u0, dtype=np.float64)
    if u0.ndim < 1 or u0.shape[-1] < 4:
        raise ValueError(f"u0 must have at least 4 grid points on its last axis, got shape {u0.shape}")
    nu, t = float(viscosity), float(time)
    if dt is not None:
        dt = float(dt)
    check_solver(
        lambda: estimate_solve_burgers(
            u0.size // u0.shape[-1],
            u0.shape[-1],
            t,
            method=method,
            umax=float(np.abs(u0).max()) if method == "spectral" and u0.size else 0.0,
            dt=dt,
        ),
        verbose if method == "spectral" else None,
    )
    if method == "cole_hopf":
        return _cole_hopf(u0, nu, t)
    return _spectral(u0, nu, t, dt, verbose)


@validate_params(
    {
        "n_samples": POSITIVE_INT,
        "resolution": int_at_least(4),
        "viscosity": FINITE_POSITIVE,
        "time": FINITE_NON_NEGATIVE,
        "alpha": FINITE_POSITIVE,
        "tau": FINITE_NON_NEGATIVE,
        "sigma": FINITE_NON_NEGATIVE,
        "max_wavenumber": NON_NEGATIVE_INT,
        "method": _METHOD,
        "solver_resolution": [None] + POSITIVE_INT,
        "random_state": RANDOM_STATE,
        "verbose": ["verbose"],
        "memory": MEMORY,
    },
    prefer_skip_nested_validation=True,
)
def make_burgers(
    n_samples: int = 100,
    resolution: int = 1024,
    *,
    viscosity: float = 0.1,
    time: float = 1.0,
    alpha: float = 2.0,
    tau: float = 5.0,
    sigma: float = 25.0,
    max_wavenumber: int = 256,
    method: str = "cole_hopf",
    solver_resolution: int | None = None,
    random_state: int | np.random.RandomState | None = None,
    verbose: bool = False,
    memory: Memory | str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate the 1-D viscous Burgers operator ``u(., 0) -> u(., time)`` (FNO benchmark).

    Initial conditions are drawn from the Gaussian measure
    ``N(0, sigma^2 (-Lap + tau^2)^(-alpha))`` on the periodic unit interval, by default
    ``N(0, 625 (-Lap + 25 I)^(-2))`` as in the FNO paper, truncated to wavenumbers
    ``|k| <= max_wavenumber`` (mean mode included). The normal draws do not depend on the grid;
    a grid keeps the modes below its Nyquist wavenumber. Targets come from
    :func:`solve_burgers`.

    Parameters
    ----------
    n_samples : int, default=100
        Number of pairs.
    resolution : int, default=1024
        Output grid points ``x_j = j / resolution``, ``>= 4``.
    viscosity : float, default=0.1
        ``nu > 0``.
    time : float, default=1.0
        Final time, ``>= 0``.
    alpha, tau, sigma : float, default=2.0, 5.0, 25.0
        Covariance ``sigma^2 (-Lap + tau^2)^(-alpha)`` of the initial condition.
    max_wavenumber : int, default=256
        Largest wavenumber drawn.
    method : {"cole_hopf", "spectral"}, default="cole_hopf"
        Solver, see :func:`solve_burgers`.
    solver_resolution : int, default=None
        Solve on this finer grid (a multiple of ``resolution``) and subsample, as the FNO data
        were made (8192 points subsampled). ``None`` solves at ``resolution``.
    random_state : int, RandomState instance or None, default=None
        Seed.
    verbose : bool, default=False
        Progress bar (spectral method).
    memory : joblib.Memory, str or None, default=None
        Cache for the solve, keyed on the initial conditions.

    Returns
    -------
    X : ndarray of shape (n_samples, resolution), float64
        Initial conditions.
    y : ndarray of shape (n_samples, resolution), float64
        Solutions at ``time``.

    Examples
    --------
    >>> X, y = make_burgers(4, 256, random_state=0)
    >>> X.shape, y.shape
    ((4, 256), (4, 256))
    """
    viscosity, time = float(viscosity), float(time)
    alpha, tau, sigma = float(alpha), float(tau), float(sigma)
    fine = resolution if solver_resolution is None else solver_resolution
    if fine % resolution:
        raise ValueError(
            f"solver_resolution must be None or a multiple of resolution={resolution}, got {fine}"
        )
    estimate = estimate_burgers(
        n_samples,
        resolution,
        solver_resolution=fine,
        viscosity=viscosity,
        time=time,
        alpha=alpha,
        tau=tau,
        sigma=sigma,
        max_wavenumber=max_wavenumber,
        method=method,
    )
    # Only the spectral stepper has a progress bar.
    bar = verbose if method == "spectral" else None
    announce(estimate, memory, bar)
    rng = check_random_state(random_state)
    spec = grf_periodic_spectrum(
        rng,
        n_samples,
        fine,
        n_dim=1,
        alpha=alpha,
        tau=tau,
        sigma=sigma,
        max_wavenumber=max_wavenumber,
        zero_mean=False,
    )
    u0 = periodic_grid_values(spec, fine, 1)
    u = budgeted_call(
        memory, estimate, bar, solve_burgers, u0, viscosity, time, method=method, verbose=verbose
    )
    step = fine // resolution
    return np.ascontiguousarray(u0[:, ::step]), np.ascontiguousarray(u[:, ::step])
