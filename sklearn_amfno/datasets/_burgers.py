"""Viscous Burgers equation ``u_t + (u^2 / 2)_x = nu u_xx`` on the periodic unit interval."""

from __future__ import annotations

import math

import numpy as np
from joblib import Memory
from sklearn.utils import check_random_state

from .._compat import NON_NEGATIVE_INT, POSITIVE_INT, RANDOM_STATE, StrOptions, validate_params
from ._budget import _C16, _F8, Estimate, announce, check_solver
from ._cache import budgeted_call
from ._constraints import FINITE_NON_NEGATIVE, FINITE_POSITIVE, MEMORY, int_at_least
from ._grf import grf_periodic_spectrum, periodic_grid_values
from ._progress import progress

__all__ = ["solve_burgers", "make_burgers"]


def _wavenumbers(n: int) -> np.ndarray:
    """Angular wavenumbers ``2 pi k`` of the ``rfft`` bins of an ``n``-point unit-period grid."""
    return 2 * np.pi * np.arange(n // 2 + 1)


# Below this ratio of the smallest to the largest value of the evolved ``phi``, the Fourier
# solve of the heat equation loses accuracy: its absolute error is round-off times max(phi), so
# ``phi_x / phi`` is off by about 1e-16 / ratio where phi is smallest (measured: 3e-10 relative
# error of u at a ratio of 2.6e-7, 2e-6 at 5e-12, NaN once the smallest phi rounds to <= 0).
_PHI_RATIO_FLOOR = 1e-6
# Largest disagreement, relative to max|u - mean|, of the two half-grid quadratures (even and
# odd points) accepted in the log-space Cole-Hopf solve; the full grid's error is then far
# smaller, since trapezoidal sums of a resolved smooth integrand converge exponentially.
_HALF_GRID_TOLERANCE = 1e-4
# Elements per block of the log-space quadrature (float64 arrays of this size, a few at once).
_QUADRATURE_BLOCK = 2**22


def _potential(u0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean ``c`` of ``u0`` (shape ``(..., 1)``) and the periodic antiderivative ``W`` of
    ``u0 - c``, batched over leading axes."""
    n = u0.shape[-1]
    kk = _wavenumbers(n)
    u_hat = np.fft.rfft(u0, axis=-1)
    c = u_hat[..., :1].real / n
    # Antiderivative of w = u0 - c: divide by i*2*pi*k (the constant of integration is irrelevant).
    W_hat = np.zeros_like(u_hat)
    W_hat[..., 1:] = u_hat[..., 1:] / (1j * kk[1:])
    if n % 2 == 0:
        # The Nyquist bin of a real signal carries no derivative information.
        W_hat[..., -1] = 0.0
    return c, np.fft.irfft(W_hat, n=n, axis=-1)


def _cole_hopf_fourier(W: np.ndarray, c: np.ndarray, nu: float, t: float) -> tuple[np.ndarray, np.ndarray]:
    """Cole-Hopf with the heat equation solved in Fourier space, for 2-D ``W`` (samples, n).

    Returns ``u`` and, per sample, ``min(phi) / max(phi)`` of the evolved ``phi``: below
    ``_PHI_RATIO_FLOOR`` that sample's ``u`` is not accurate (see :func:`_cole_hopf`).
    """
    n = W.shape[-1]
    kk = _wavenumbers(n)
    expo = -W / (2 * nu)
    # Shift the exponent so its maximum is 0: phi lies in (0, 1] and never overflows; the shift
    # is a constant factor of phi, which cancels in phi_x / phi.
    expo -= expo.max(axis=-1, keepdims=True)
    phi_hat = np.fft.rfft(np.exp(expo), axis=-1) * np.exp(-nu * kk**2 * t)
    phi = np.fft.irfft(phi_hat, n=n, axis=-1)
    ratio = phi.min(axis=-1) / phi.max(axis=-1)
    phi_x = np.fft.irfft(1j * kk * phi_hat, n=n, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # Samples where phi reaches 0 give inf/NaN here; their ratio sends them to the log-space
        # solve, so the warnings would only be noise.
        w = -2 * nu * phi_x / phi
        # Back to the rest frame: translate by c t (exact spectral shift) and add the mean.
        w_hat = np.fft.rfft(w, axis=-1) * np.exp(-1j * kk * c * t)
        return np.fft.irfft(w_hat, n=n, axis=-1) + c, ratio


def _cole_hopf_log_space(W: np.ndarray, c: float, nu: float, t: float) -> np.ndarray:
    """Cole-Hopf for one sample as the Gaussian average of its integral form, in log space.

    ``w(x, t) = sum_y ((x - y) / t) p(y)`` with ``p(y)`` proportional to
    ``exp(-W(y) / (2 nu) - (x - y)^2 / (4 nu t))`` over the grid points ``y`` of the real line
    (``W`` is periodic): the heat kernel applied to ``phi`` by the trapezoidal rule. Each
    exponent is shifted by its maximum before ``exp`` (log-sum-exp), so no term overflows and the
    dominant ones never underflow, whatever the dynamic range of ``phi``. ``u(x) = c + w(x - c t)``
    is evaluated directly at the shifted points. Raises ValueError when the two half-grid sums
    disagree: the grid does not resolve the kernel.
    """
    n = W.shape[-1]
    a = -W / (2 * nu)
    # Terms whose exponent lies more than 40 below the largest (at most a - min(a)) add < e^-40.
    reach = math.sqrt(4 * nu * t * (float(a.max() - a.min()) + 40.0))
    offsets = np.arange(-math.ceil(reach * n) - 1, math.ceil(reach * n) + 2)
    x = (np.arange(n) / n - c * t) % 1.0
    u = np.empty(n)
    rows = max(1, _QUADRATURE_BLOCK // len(offsets))
    half_grid_gap = 0.0
    for start in range(0, n, rows):
        xb = x[start : start + rows, None]
        idx = np.floor(xb * n).astype(np.int64) + offsets[None, :]
        d = xb - idx / n
        e = a[idx % n] - d**2 / (4 * nu * t)
        weights = np.exp(e - e.max(axis=1, keepdims=True))
        wd = weights * d
        u[start : start + rows] = wd.sum(axis=1) / weights.sum(axis=1) / t
        # The even and the odd points (indices on the real line) are two trapezoidal rules of
        # twice the spacing: their disagreement bounds the error of the full grid's rule.
        is_even = idx % 2 == 0
        mean_even = (wd * is_even).sum(axis=1) / (weights * is_even).sum(axis=1)
        mean_odd = (wd * ~is_even).sum(axis=1) / (weights * ~is_even).sum(axis=1)
        with np.errstate(invalid="ignore"):
            gap = np.abs(mean_even - mean_odd) / t
        half_grid_gap = max(half_grid_gap, float(np.nan_to_num(gap, nan=np.inf).max()))
    if not half_grid_gap <= _HALF_GRID_TOLERANCE * max(float(np.abs(u).max()), np.finfo(float).tiny):
        raise ValueError(
            f"The Cole-Hopf solution at viscosity={nu:g}, time={t:g} is not resolved by the {n}-point "
            f"grid of u0: two quadratures on every other grid point differ by {half_grid_gap:.2g}, "
            f"against max|u - mean| = {float(np.abs(u).max()):.3g}. Use a finer grid (more points in "
            "u0; make_burgers: a larger solver_resolution or resolution), or a larger viscosity or time."
        )
    return c + u


def _cole_hopf(u0: np.ndarray, nu: float, t: float) -> np.ndarray:
    """Exact solution via the Cole-Hopf transform, batched over leading axes.

    The mean ``c`` of ``u0`` is removed first (Galilean change of frame): ``w = u - c`` solves
    the same equation in the frame moving with speed ``c`` and has a *periodic* potential
    ``W = int w``, so ``phi = exp(-W / (2 nu))`` is periodic and solves the heat equation
    ``phi_t = nu phi_xx``; then ``w = -2 nu phi_x / phi`` and ``u(x, t) = c + w(x - c t, t)``.

    The heat equation is solved exactly in Fourier space, fast, unless ``phi`` spans too many
    orders of magnitude (small ``nu`` or ``t``: ``phi`` varies like ``exp(range(W) / (2 nu))``),
    where round-off in the Fourier sums swamps the small values of ``phi`` and ``phi_x / phi``
    turns inaccurate, then NaN. Those samples are solved again in log space
    (:func:`_cole_hopf_log_space`), which has no such limit.
    """
    if t == 0:
        return u0.copy()
    shape = u0.shape
    flat = u0.reshape(-1, shape[-1])
    c, W = _potential(flat)
    u, ratio = _cole_hopf_fourier(W, c, nu, t)
    for i in np.flatnonzero(~(ratio >= _PHI_RATIO_FLOOR)):
        u[i] = _cole_hopf_log_space(W[i], float(c[i, 0]), nu, t)
    return u.reshape(shape)


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


def _spectral(u0: np.ndarray, nu: float, t: float, dt: float | None, verbose: int) -> np.ndarray:
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


# --------------------------------------------------------------------------------------------
# Cost model (the checks that use it: _budget.py)
# --------------------------------------------------------------------------------------------
# Cole-Hopf: 0.6 ms (N log2 N) / (1024 * 10) per sample (measured 0.6 and 3.3 ms at 1024 and
# 8192 points); the ETDRK4 stepper: T / dt steps (dt = min(0.2 / (N max|u0|), 1e-3), with
# max|u0| ~ 4 standard deviations of the random field) of 0.021 ms (N log2 N) / (1024 * 10)
# each (486 ms per sample measured at 1024 points).
def _burgers_std(alpha: float, tau: float, sigma: float, max_wavenumber: int, resolution: int) -> float:
    kmax = min(max_wavenumber, (resolution - 1) // 2)
    return math.sqrt(
        sum(
            (sigma * (4 * math.pi**2 * k * k + tau * tau) ** (-alpha / 2)) ** 2
            for k in range(-kmax, kmax + 1)
        )
    )


def _burgers_fft_scale(resolution: int) -> float:
    return resolution * math.log2(max(resolution, 2)) / (1024 * 10)


def _burgers_spectral_steps(time: float, resolution: int, umax: float, dt: float | None) -> int:
    if time == 0:
        return 0
    if dt is None:
        dt = min(0.2 / (resolution * max(umax, 1e-12)), 1e-3)
    return max(1, math.ceil(time / dt - 1e-12))


def estimate_burgers(
    n_samples: int,
    resolution: int,
    *,
    solver_resolution: int,
    viscosity: float,
    time: float,
    alpha: float,
    tau: float,
    sigma: float,
    max_wavenumber: int,
    method: str,
) -> Estimate:
    """make_burgers: Cole-Hopf (a few FFTs) or ETDRK4 steps on the solver grid."""
    fine = solver_resolution
    if method == "cole_hopf":
        per_sample = 0.6e-3 * _burgers_fft_scale(fine)
        work = f"the exact Cole-Hopf solution on {fine} points"
    else:
        umax = 4 * _burgers_std(alpha, tau, sigma, max_wavenumber, fine)
        steps = _burgers_spectral_steps(time, fine, umax, None)
        per_sample = steps * 2.1e-5 * _burgers_fft_scale(fine)
        work = f"~{steps} ETDRK4 steps on {fine} points per sample"
    out = 2 * n_samples * resolution * _F8
    m = 2 * max_wavenumber + 1
    peak = out + n_samples * (fine * (_C16 + 14 * _F8) + 5 * m * _C16)
    sizes: dict[str, object] = {"n_samples": n_samples, "resolution": resolution}
    if fine != resolution:
        sizes["solver_resolution"] = fine
    if method != "cole_hopf":
        sizes["method"] = method
    return Estimate(
        "make_burgers",
        n_samples * per_sample,
        int(peak),
        out,
        sizes,
        work,
        "fewer n_samples or a coarser resolution or solver_resolution"
        + ('; method="cole_hopf" is exact and far faster' if method != "cole_hopf" else ""),
    )


def estimate_solve_burgers(
    n_samples: int, resolution: int, time: float, *, method: str, umax: float, dt: float | None
) -> Estimate:
    """solve_burgers on ``n_samples`` initial conditions of ``resolution`` points."""
    if method == "cole_hopf":
        seconds = n_samples * 0.6e-3 * _burgers_fft_scale(resolution)
        work = "the exact Cole-Hopf solution"
    else:
        steps = _burgers_spectral_steps(time, resolution, umax, dt)
        seconds = n_samples * steps * 2.1e-5 * _burgers_fft_scale(resolution)
        work = f"~{steps} ETDRK4 steps"
    out = n_samples * resolution * _F8
    return Estimate(
        "solve_burgers",
        seconds,
        int(out + n_samples * resolution * 14 * _F8),
        out,
        {"n_samples": n_samples, "resolution": resolution, "time": time, "method": method},
        work,
        "fewer samples, a coarser grid or a shorter time",
    )


# --------------------------------------------------------------------------------------------
# Solver and generator
# --------------------------------------------------------------------------------------------
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
    verbose: int = 0,
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
        Galilean shift, exponent shifted to avoid overflow). Where ``phi`` spans more than six
        orders of magnitude (small ``nu`` or ``time``: it varies like
        ``exp(range(int u) / (2 nu))``), Fourier round-off would swamp its small values, so those
        samples are solved instead from the integral form of the transform, a Gaussian average
        computed in log space (about ``N^2 sqrt(nu time)`` operations per sample rather than
        ``N log N``). Accurate to about 1e-9 relative either way when the grid resolves the
        solution; ValueError when it does not.
        ``"spectral"``: Fourier pseudo-spectral ETDRK4 (Kassam & Trefethen 2005) with 2/3
        dealiasing; the initial condition is projected onto the retained modes.
    dt : float, default=None
        Time step of the spectral method (rounded down so steps end at ``time``); ``None``
        picks ``min(0.2 h / max|u0|, 1e-3)``. Ignored by Cole-Hopf.
    verbose : int, default=0
        0 is silent; 1 or more shows a progress bar over time steps (spectral method). True and False work
        as 1 and 0.

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
        estimate_solve_burgers(
            u0.size // u0.shape[-1],
            u0.shape[-1],
            t,
            method=method,
            umax=float(np.abs(u0).max()) if method == "spectral" and u0.size else 0.0,
            dt=dt,
        ),
        verbose if method == "spectral" else None,
    )
    return _solve_burgers(u0, nu, t, method=method, dt=dt, verbose=verbose)


def _solve_burgers(
    u0: np.ndarray,
    viscosity: float,
    time: float,
    *,
    method: str = "cole_hopf",
    dt: float | None = None,
    verbose: int = 0,
) -> np.ndarray:
    """:func:`solve_burgers` on a checked float64 ``u0`` and float parameters, without the cost check.

    ``make_burgers`` calls it directly (through its cache): it has checked the cost of the whole
    request.
    """
    if method == "cole_hopf":
        return _cole_hopf(u0, viscosity, time)
    return _spectral(u0, viscosity, time, dt, verbose)


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
    verbose: int = 0,
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
    verbose : int, default=0
        0 is silent; 1 or more shows a progress bar over time steps (spectral method). True and False work
        as 1 and 0.
    memory : joblib.Memory, str, path-like or None, default=None
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
    u0 = periodic_grid_values(spec, fine, 1)  # float64, (n_samples, fine): what solve_burgers checks
    u = budgeted_call(
        memory, estimate, bar, _solve_burgers, u0, viscosity, time, method=method, verbose=verbose
    )
    step = fine // resolution
    return np.ascontiguousarray(u0[:, ::step]), np.ascontiguousarray(u[:, ::step])
