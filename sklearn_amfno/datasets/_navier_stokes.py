"""2-D incompressible Navier-Stokes in vorticity form on the periodic unit torus.

``w_t + u . grad w = nu Lap w + f``, ``u = (psi_y, -psi_x)``, ``-Lap psi = w``, solved with a
Fourier pseudo-spectral method: the nonlinear term is evaluated on the grid from 2/3-rule
dealiased fields and advanced with the low-storage three-stage Runge-Kutta scheme of Spalart,
Moser & Rogers (1991), while diffusion is treated implicitly by Crank-Nicolson in every stage
(the "RK3-CN" scheme; like the FNO data generator's scheme, diffusion is Crank-Nicolson, but
the explicit part is third-order RK instead of forward Euler, which is stable at the advective
CFL limit instead of needing ``dt = 1e-4``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.fft as sfft
from joblib import Memory
from sklearn.utils import check_random_state
from tqdm.auto import tqdm

from .._compat import POSITIVE_INT, RANDOM_STATE, StrOptions, renamed_parameters, validate_params
from ._budget import _C16, _F8, Estimate, announce, check_solver, format_seconds
from ._cache import budgeted_call
from ._constraints import CFL, FINITE_NON_NEGATIVE, FINITE_POSITIVE, MEMORY, N_JOBS, int_at_least
from ._grf import grf_periodic_spectrum, periodic_grid_values

__all__ = ["solve_navier_stokes", "make_navier_stokes", "kolmogorov_forcing"]

# Spalart-Moser-Rogers coefficients: explicit weights (gamma, zeta) for the nonlinear term at
# the current and previous stage, and Crank-Nicolson-like weights (alpha, beta) for diffusion;
# alpha_k + beta_k = gamma_k + zeta_k and the three sum to 1 (a full step).
_GAMMA = (8 / 15, 5 / 12, 3 / 4)
_ZETA = (0.0, -17 / 60, -5 / 12)
_ALPHA = (29 / 96, -3 / 40, 1 / 6)
_BETA = (37 / 160, 5 / 24, 1 / 6)
# Largest stable |lambda dt| of the explicit part on the imaginary axis is sqrt(3).
_RK3_LIMIT = math.sqrt(3.0)


_PRECISION = [StrOptions({"double", "single"})]


@validate_params({"resolution": POSITIVE_INT}, prefer_skip_nested_validation=True)
def kolmogorov_forcing(resolution: int) -> np.ndarray:
    """The FNO benchmark forcing ``0.1 (sin 2 pi (x + y) + cos 2 pi (x + y))`` on the grid.

    Parameters
    ----------
    resolution : int
        Points per axis of the periodic unit square (points at ``j / resolution``).

    Returns
    -------
    forcing : ndarray of shape (resolution, resolution)
    """
    x = np.arange(resolution) / resolution
    s = x[:, None] + x[None, :]
    return 0.1 * (np.sin(2 * np.pi * s) + np.cos(2 * np.pi * s))


class _Spectral2D:
    """Wavenumbers, dealiasing mask and FFT helpers for an ``N x N`` rfft2 layout."""

    def __init__(self, n: int, n_jobs: int | None, real_dtype=np.float64) -> None:
        self.n = n
        self.n_jobs = n_jobs  # scipy.fft's workers
        self.real_dtype = real_dtype
        complex_dtype = np.result_type(real_dtype, np.complex64)
        k = 2 * np.pi * np.fft.fftfreq(n, 1.0 / n)
        l = 2 * np.pi * np.arange(n // 2 + 1)
        self.kx = k[:, None]  # first axis (x)
        self.ky = l[None, :]  # last axis (y), half spectrum
        self.k2 = self.kx**2 + self.ky**2
        inv = np.zeros_like(self.k2)
        inv[self.k2 > 0] = 1.0 / self.k2[self.k2 > 0]
        self.inv_k2 = inv
        ki = np.fft.fftfreq(n, 1.0 / n)[:, None]
        li = np.arange(n // 2 + 1)[None, :]
        # 2/3 rule on each axis: products of retained modes alias only into discarded modes.
        self.mask = (np.abs(ki) < n / 3) & (li < n / 3)
        # Only the first n_cols columns (|k_y| < n/3) of the half spectrum survive dealiasing:
        # the nonlinear term is computed on that block only ("pruned" transforms: the x-axis
        # FFT runs on n_cols columns instead of n // 2 + 1, about a quarter less work).
        self.n_cols = int(np.count_nonzero(li[0] < n / 3))
        self.row_mask = (np.abs(ki) < n / 3).astype(real_dtype)
        # Spectral multipliers taking w_hat to (u, v, w_x, w_y), with the dealiasing mask and the
        # inverse Laplacian folded in, so one broadcast product feeds one stacked inverse FFT.
        c = slice(0, self.n_cols)
        m = self.mask[:, c] * (1.0 + 0j)
        kx, ky, inv = self.kx, self.ky[:, c], self.inv_k2[:, c]
        self.to_fields = np.stack([1j * ky * inv * m, -1j * kx * inv * m, 1j * kx * m, 1j * ky * m])[
            :, None
        ].astype(complex_dtype)
        self.k2 = self.k2.astype(real_dtype)

    def rfft2(self, a):
        a = np.asarray(a, dtype=self.real_dtype)
        return sfft.rfft2(a, axes=(-2, -1), workers=self.n_jobs)

    def irfft2(self, a):
        return sfft.irfft2(a, s=(self.n, self.n), axes=(-2, -1), workers=self.n_jobs, overwrite_x=True)

    def velocity_and_nonlinear(self, w_hat, need_speed=True):
        """Max speed and the dealiased ``-(u . grad w)`` on the first ``n_cols`` columns."""
        fields = self.to_fields * w_hat[None, ..., : self.n_cols]
        # Inverse 2-D transform of the pruned block: complex FFT along x on the retained
        # columns, then a real inverse FFT along y that zero-pads the missing columns.
        fields = sfft.ifft(fields, axis=-2, workers=self.n_jobs, overwrite_x=True)
        u, v, wx, wy = sfft.irfft(fields, n=self.n, axis=-1, workers=self.n_jobs)
        # max(|u| + |v|) bounds |u k_x + v k_y| / k_max pointwise: the advective rate.
        speed = float(np.max(np.abs(u) + np.abs(v))) if need_speed else 0.0
        wx *= u
        wy *= v
        wx += wy
        nl = sfft.rfft(wx, axis=-1, workers=self.n_jobs)[..., : self.n_cols]
        nl = sfft.fft(nl, axis=-2, workers=self.n_jobs, overwrite_x=True)
        nl *= -self.row_mask
        return speed, nl


# --------------------------------------------------------------------------------------------
# Cost model (the checks that use it: _budget.py)
# --------------------------------------------------------------------------------------------
# About 22 T (N / 64) adaptive CFL steps (measured 431 and 785 steps to T = 20 at 64^2 and
# 128^2), at least T / max_dt, or T / dt for a fixed step; each step 0.35 ms (N / 64)^2.2 in
# single precision (measured 0.22-0.47, 1.1, 5.4 ms at 64, 128, 256), twice that in double:
# ~0.15 s per sample for the FNO setting (64^2, T = 20).
def _ns_steps(time: float, resolution: int, dt: float | None, max_dt: float = 0.1) -> int:
    if dt is not None:
        return max(1, math.ceil(time / dt))
    return max(1, math.ceil(max(22.0 * time * resolution / 64, time / max_dt)))


def _ns_step_seconds(resolution: int, precision: str) -> float:
    return 0.35e-3 * (resolution / 64) ** 2.2 * (2.0 if precision == "double" else 1.0)


def _ns_batch_bytes(batch: int, resolution: int, n_records: int, precision: str) -> int:
    # Spectral state and ~12 work arrays of the half spectrum, plus the batch's records.
    c = _C16 if precision == "double" else 8
    return int(batch * (12 * resolution * (resolution // 2 + 1) * c + resolution**2 * n_records * _F8))


def estimate_navier_stokes(
    n_samples: int,
    resolution: int,
    *,
    n_steps_in: int,
    n_steps_out: int,
    record_interval: float,
    dt: float | None,
    max_wavenumber: int,
    batch_size: int,
    precision: str,
) -> Estimate:
    """make_navier_stokes: RK3-CN steps to ``(n_steps_in + n_steps_out) record_interval``."""
    n_rec = n_steps_in + n_steps_out
    time = n_rec * record_interval
    steps = _ns_steps(time, resolution, dt)
    per_sample = steps * _ns_step_seconds(resolution, precision)
    records = n_samples * resolution**2 * n_rec * _F8
    m = 2 * max_wavenumber + 1
    inputs = n_samples * (resolution**2 * (_F8 + _C16) + 5 * m * m * _C16)
    peak = 2 * records + inputs + _ns_batch_bytes(min(batch_size, n_samples), resolution, n_rec, precision)
    return Estimate(
        "make_navier_stokes",
        n_samples * per_sample,
        int(peak),
        records,
        {
            "n_samples": n_samples,
            "resolution": resolution,
            "n_steps_in": n_steps_in,
            "n_steps_out": n_steps_out,
            "record_interval": record_interval,
        },
        f"~{steps} time steps to T={time:g} per sample, ~{format_seconds(per_sample)} per sample",
        "fewer n_samples, a coarser resolution (the cost grows like resolution^3), or fewer or "
        "closer frames (n_steps_in, n_steps_out, record_interval)"
        + ('; precision="single" is ~2x faster' if precision == "double" else ""),
    )


def estimate_solve_navier_stokes(
    n_samples: int,
    resolution: int,
    time: float,
    n_records: int,
    *,
    dt: float | None,
    max_dt: float,
    batch_size: int,
    precision: str,
) -> Estimate:
    """solve_navier_stokes on ``n_samples`` initial vorticities."""
    steps = _ns_steps(time, resolution, dt, max_dt)
    out = n_samples * resolution**2 * n_records * _F8
    peak = (
        out
        + n_samples * resolution**2 * _F8
        + _ns_batch_bytes(min(batch_size, n_samples), resolution, n_records, precision)
    )
    return Estimate(
        "solve_navier_stokes",
        n_samples * steps * _ns_step_seconds(resolution, precision),
        int(peak),
        out,
        {"n_samples": n_samples, "resolution": resolution, "time": time},
        f"~{steps} time steps per sample",
        "fewer samples, a coarser grid or a shorter time",
    )


# --------------------------------------------------------------------------------------------
# Solver and generator
# --------------------------------------------------------------------------------------------
def _check_forcing(forcing, n: int) -> np.ndarray | None:
    if isinstance(forcing, bool | np.bool_):
        return kolmogorov_forcing(n) if forcing else None
    if forcing is None:
        return None
    f = np.asarray(forcing, dtype=np.float64)
    if f.shape != (n, n):
        raise ValueError(
            f"forcing must be True, False/None or an array of shape {(n, n)}, got shape {f.shape}"
        )
    return f


@renamed_parameters({"t_final": "time", "workers": "n_jobs"}, since="0.2.0", removed_in="0.4.0")
@validate_params(
    {
        "w0": ["array-like"],
        "viscosity": FINITE_POSITIVE,
        "time": FINITE_POSITIVE,
        "record_times": [None, "array-like"],
        "forcing": ["boolean", None, "array-like"],
        "dt": [None] + FINITE_POSITIVE,
        "cfl": CFL,
        "max_dt": FINITE_POSITIVE,
        "batch_size": POSITIVE_INT,
        "n_jobs": N_JOBS,
        "precision": _PRECISION,
        "verbose": ["verbose"],
    },
    prefer_skip_nested_validation=True,
)
def solve_navier_stokes(
    w0: np.ndarray,
    viscosity: float,
    time: float,
    record_times: Sequence[float] | None = None,
    *,
    forcing: bool | np.ndarray | None = True,
    dt: float | None = None,
    cfl: float = 0.8,
    max_dt: float = 0.1,
    batch_size: int = 100,
    n_jobs: int | None = -1,
    precision: str = "double",
    verbose: int = 0,
) -> np.ndarray:
    """Solve 2-D Navier-Stokes (vorticity form) on the unit torus, batched over samples.

    ``w_t + u . grad w = viscosity Lap w + forcing`` with ``u = (psi_y, -psi_x)`` and
    ``-Lap psi = w`` (``psi`` mean zero), on the grid ``x_j = j / N``. Fourier pseudo-spectral
    discretisation with 2/3-rule dealiasing of the nonlinear term, and the RK3-CN scheme
    (three-stage low-storage Runge-Kutta for advection, Crank-Nicolson for diffusion).

    Parameters
    ----------
    w0 : ndarray of shape (N, N) or (n_samples, N, N)
        Initial vorticity.
    viscosity : float
        ``nu > 0``.
    time : float
        Final time, ``> 0``.

        .. versionchanged:: 0.2.0
           Renamed from ``t_final``.
    record_times : sequence of float, default=None
        Increasing times in ``(0, time]`` at which to store the vorticity; steps are
        shortened to land on them exactly. ``None`` records ``time`` only.
    forcing : bool or ndarray of shape (N, N), default=True
        ``True``: the FNO forcing ``0.1 (sin 2 pi (x + y) + cos 2 pi (x + y))``; ``False`` or
        ``None``: unforced; an array: a custom time-independent forcing.
    dt : float, default=None
        Fixed time step. ``None`` adapts the step every step to ``cfl`` times the stability
        limit of the explicit stages (per batch of samples), capped at ``max_dt``.
    cfl : float, default=0.8
        Fraction of the RK3 advective stability limit used when ``dt`` is ``None``.
    max_dt : float, default=0.1
        Upper bound of the adaptive step (accuracy at low speeds).
    batch_size : int, default=100
        Samples advanced together (memory/cache trade-off; results do not depend on it when
        ``dt`` is fixed).
    n_jobs : int or None, default=-1
        Threads for ``scipy.fft`` (``None``: one, -1: all cores).

        .. versionchanged:: 0.2.0
           Renamed from ``workers``.
    precision : {"double", "single"}, default="double"
        Floating-point precision of the time stepping (the output is float64 either way).
        ``"single"`` is about 3x faster; for the FNO setting (``nu = 1e-3``, 64^2, T = 20) its
        results differ from double precision by at most ~3e-5 relative (round-off amplified by the
        dynamics), far below the accuracy of any learned surrogate, so it is the generator's
        default.
    verbose : int, default=0
        0 is silent; 1 or more shows a progress bar over simulated time. True and False work as 1 and 0.

    Returns
    -------
    w : ndarray of shape (..., N, N, n_records), float64
        Vorticity at ``record_times`` (time on the last axis, leading axes as ``w0``).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(32) / 32
    >>> w0 = np.cos(2 * np.pi * x)[:, None] * np.ones(32)
    >>> w = solve_navier_stokes(w0, 0.01, 1.0, forcing=False, dt=0.01)
    >>> bool(np.allclose(w[..., 0], np.exp(-4 * np.pi**2 * 0.01) * w0, rtol=1e-6))
    True
    """
    w0 = np.asarray(w0, dtype=np.float64)
    single = w0.ndim == 2
    if single:
        w0 = w0[None]
    if w0.ndim != 3 or w0.shape[1] != w0.shape[2] or w0.shape[1] < 4:
        raise ValueError(f"w0 must have shape (N, N) or (n_samples, N, N) with N >= 4, got {w0.shape}")
    nu, time = float(viscosity), float(time)
    times = np.array([time] if record_times is None else record_times, dtype=np.float64)
    times = times.reshape(-1)
    if times.size == 0 or np.any(np.diff(times) <= 0) or times[0] <= 0 or times[-1] > time:
        raise ValueError(f"record_times must be increasing values in (0, time={time}], got {record_times!r}")
    if dt is not None:
        dt = float(dt)
    cfl, max_dt = float(cfl), float(max_dt)
    n = w0.shape[1]
    f = _check_forcing(forcing, n)
    check_solver(
        estimate_solve_navier_stokes(
            w0.shape[0],
            n,
            float(times[-1]),
            times.size,
            dt=dt,
            max_dt=max_dt,
            batch_size=batch_size,
            precision=precision,
        ),
        verbose,
    )
    out = _solve_navier_stokes(
        w0,
        nu,
        times,
        f,
        dt=dt,
        cfl=cfl,
        max_dt=max_dt,
        batch_size=batch_size,
        n_jobs=n_jobs,
        precision=precision,
        verbose=verbose,
    )
    return out[0] if single else out


def _solve_navier_stokes(
    w0: np.ndarray,
    viscosity: float,
    times: np.ndarray,
    forcing: np.ndarray | None,
    *,
    dt: float | None = None,
    cfl: float = 0.8,
    max_dt: float = 0.1,
    batch_size: int = 100,
    n_jobs: int | None = -1,
    precision: str = "double",
    verbose: int = 0,
) -> np.ndarray:
    """:func:`solve_navier_stokes` on checked inputs, without the cost check.

    ``w0`` is float64 of shape ``(n_samples, N, N)``, ``times`` the increasing float64 record
    times (the last one the final time), ``forcing`` the ``(N, N)`` array or None
    (:func:`_check_forcing`); the result is ``(n_samples, N, N, len(times))``.
    ``make_navier_stokes`` calls it directly (through its cache): it has checked the cost of the
    whole request.
    """
    sp = _Spectral2D(w0.shape[1], n_jobs, np.float64 if precision == "double" else np.float32)
    f_hat = None if forcing is None else sp.rfft2(forcing)

    out = np.empty(w0.shape + (times.size,))
    bar = tqdm(
        total=w0.shape[0] * float(times[-1]), disable=not verbose, desc="Navier-Stokes", unit="sample-time"
    )
    for start in range(0, w0.shape[0], batch_size):
        sl = slice(start, start + batch_size)
        out[sl] = _integrate(sp, w0[sl], viscosity, times, f_hat, dt, cfl, max_dt, bar)
    bar.close()
    return out


def _integrate(sp, w0, nu, times, f_hat, dt, cfl, max_dt, bar):
    w_hat = sp.rfft2(w0)
    lap = -sp.k2
    rec = np.empty(w0.shape + (times.size,))
    t = 0.0
    speed, nl = sp.velocity_and_nonlinear(w_hat)
    nc = sp.n_cols
    # Largest retained angular wavenumber per axis (|k| < n / 3 survives dealiasing).
    k_max = 2 * np.pi * math.ceil(sp.n / 3 - 1)
    for i, t_rec in enumerate(times.tolist()):
        while t < t_rec - 1e-12:
            if dt is None:
                # Advective eigenvalues lie on the imaginary axis with modulus at most
                # max(|u| + |v|) k_max; keep their product with the step inside RK3's
                # stability interval [-sqrt(3), sqrt(3)].
                h = cfl * _RK3_LIMIT / (k_max * max(speed, 1e-12))
                h = min(h, max_dt)
            else:
                h = dt
            if t + h > t_rec - 1e-12 * max(1.0, t_rec):
                h = t_rec - t
            elif t + 1.5 * h > t_rec:
                # Split the remainder evenly rather than leaving a sliver of a step.
                h = 0.5 * (t_rec - t)
            # A Python float keeps single-precision arrays single (NEP 50 weak scalars).
            h = float(h)
            prev = None
            for k in range(3):
                explicit = _GAMMA[k] * nl
                if prev is not None:
                    explicit += _ZETA[k] * prev
                implicit = 1 - _BETA[k] * h * nu * lap
                # ((1 + A) w + h N) / (1 - B), with N non-zero only on the retained columns.
                w_hat *= (1 + _ALPHA[k] * h * nu * lap) / implicit
                w_hat[..., :nc] += (h * explicit) / implicit[:, :nc]
                if f_hat is not None:
                    # The forcing is constant in time: its stage weights sum to one step.
                    w_hat += ((_GAMMA[k] + _ZETA[k]) * h) * f_hat / implicit
                prev = nl
                # The speed (for the next step size) is only needed after the last stage.
                speed, nl = sp.velocity_and_nonlinear(w_hat, need_speed=k == 2)
            t += h
            bar.update(w0.shape[0] * h)
        rec[..., i] = sp.irfft2(w_hat.copy())  # float64 storage whatever the precision
    return rec


@validate_params(
    {
        "n_samples": POSITIVE_INT,
        "resolution": int_at_least(8),
        "viscosity": FINITE_POSITIVE,
        "n_steps_in": POSITIVE_INT,
        "n_steps_out": POSITIVE_INT,
        "record_interval": FINITE_POSITIVE,
        "dt": [None] + FINITE_POSITIVE,
        "forcing": ["boolean"],
        "alpha": FINITE_POSITIVE,
        "tau": FINITE_NON_NEGATIVE,
        "max_wavenumber": POSITIVE_INT,
        "batch_size": POSITIVE_INT,
        "precision": _PRECISION,
        "random_state": RANDOM_STATE,
        "verbose": ["verbose"],
        "memory": MEMORY,
    },
    prefer_skip_nested_validation=True,
)
def make_navier_stokes(
    n_samples: int = 100,
    resolution: int = 64,
    *,
    viscosity: float = 1e-3,
    n_steps_in: int = 10,
    n_steps_out: int = 10,
    record_interval: float = 1.0,
    dt: float | None = None,
    forcing: bool = True,
    alpha: float = 2.5,
    tau: float = 7.0,
    max_wavenumber: int = 32,
    batch_size: int = 100,
    precision: str = "single",
    random_state: int | np.random.RandomState | None = None,
    verbose: int = 0,
    memory: Memory | str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate the 2-D Navier-Stokes vorticity benchmark (FNO setting).

    Initial vorticities are Gaussian random fields with covariance
    ``sigma^2 (-Lap + tau^2)^(-alpha)``, ``alpha = 2.5``, ``tau = 7``,
    ``sigma = sqrt(2) tau^(alpha - 1)`` (the FNO amplitude), mean zero, wavenumbers
    ``|k_i| <= max_wavenumber`` drawn independently of the grid. They are evolved by
    :func:`solve_navier_stokes` with the forcing ``0.1 (sin 2 pi (x + y) + cos 2 pi (x + y))``
    and snapshots are recorded every ``record_interval`` time units.

    Following the FNO data sets, the initial field (``t = 0``) is **not** part of ``X``:
    ``X[..., j]`` is the vorticity at ``t = (j + 1) * record_interval`` for
    ``j < n_steps_in`` and ``y[..., j]`` at ``t = (n_steps_in + j + 1) * record_interval``.
    The solve runs directly at ``resolution`` (FNO solved at 256 and subsampled).

    Parameters
    ----------
    n_samples : int, default=100
        Number of trajectories.
    resolution : int, default=64
        Grid points per axis, ``>= 8``.
    viscosity : float, default=1e-3
        ``nu > 0``; the FNO benchmarks use 1e-3, 1e-4 and 1e-5 (the latter two need a finer
        grid to be resolved).
    n_steps_in, n_steps_out : int, default=10
        Number of input and output snapshots (``>= 1``).
    record_interval : float, default=1.0
        Time between snapshots, ``> 0``.
    dt : float, default=None
        Fixed step; ``None`` is adaptive (CFL), see :func:`solve_navier_stokes`.
    forcing : bool, default=True
        Apply the FNO forcing.
    alpha, tau : float, default=2.5, 7.0
        Covariance parameters of the initial condition.
    max_wavenumber : int, default=32
        Largest wavenumber of the initial condition.
    batch_size : int, default=100
        Samples stepped together.
    precision : {"single", "double"}, default="single"
        Arithmetic of the time stepping, see :func:`solve_navier_stokes`; the returned arrays
        are float64 in both cases.
    random_state : int, RandomState instance or None, default=None
        Seed.
    verbose : int, default=0
        0 is silent; 1 or more shows a progress bar over simulated time. True and False work as 1 and 0.
    memory : joblib.Memory, str, path-like or None, default=None
        Cache for the solve, keyed on the initial vorticities and parameters.

    Returns
    -------
    X : ndarray of shape (n_samples, resolution, resolution, n_steps_in), float64
    y : ndarray of shape (n_samples, resolution, resolution, n_steps_out), float64

    Examples
    --------
    >>> X, y = make_navier_stokes(2, 32, n_steps_in=2, n_steps_out=1, random_state=0)
    >>> X.shape, y.shape
    ((2, 32, 32, 2), (2, 32, 32, 1))
    """
    viscosity, record_interval = float(viscosity), float(record_interval)
    if dt is not None:
        dt = float(dt)
    alpha, tau = float(alpha), float(tau)
    estimate = estimate_navier_stokes(
        n_samples,
        resolution,
        n_steps_in=n_steps_in,
        n_steps_out=n_steps_out,
        record_interval=record_interval,
        dt=dt,
        max_wavenumber=max_wavenumber,
        batch_size=batch_size,
        precision=precision,
    )
    announce(estimate, memory, verbose)
    rng = check_random_state(random_state)
    spec = grf_periodic_spectrum(
        rng,
        n_samples,
        resolution,
        n_dim=2,
        alpha=alpha,
        tau=tau,
        sigma=np.sqrt(2) * tau ** (alpha - 1),
        max_wavenumber=max_wavenumber,
    )
    w0 = periodic_grid_values(spec, resolution, 2)
    n_rec = n_steps_in + n_steps_out
    times = record_interval * np.arange(1, n_rec + 1)
    # The inputs are what solve_navier_stokes's checks would make of them: w0 float64
    # (n_samples, N, N), times increasing from record_interval > 0.
    w = budgeted_call(
        memory,
        estimate,
        verbose,
        _solve_navier_stokes,
        w0,
        viscosity,
        times,
        _check_forcing(bool(forcing), resolution),
        dt=dt,
        batch_size=batch_size,
        precision=precision,
        verbose=verbose,
    )
    return np.ascontiguousarray(w[..., :n_steps_in]), np.ascontiguousarray(w[..., n_steps_in:])
