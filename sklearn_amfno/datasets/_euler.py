"""1-D compressible Euler / Navier-Stokes equations: batched finite-volume solver and generator.

Conserved variables ``U = (rho, rho v, E)`` with ``E = p / (gamma - 1) + rho v^2 / 2``. The
scheme is a MUSCL finite-volume method: limited linear reconstruction of the primitive
variables ``(rho, v, p)`` (minmod or monotonised-central limiter), the HLLC (or HLL)
approximate Riemann solver at cell faces, and the three-stage strong-stability-preserving
Runge-Kutta scheme (SSP-RK3) with a CFL-limited time step. All samples of a batch are
advanced together with numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from joblib import Memory
from scipy.optimize import brentq
from sklearn.utils import check_random_state
from tqdm.auto import tqdm

from ._cache import cached_call
from ._validation import check_choice, check_int, check_real

__all__ = ["solve_euler_1d", "exact_riemann_euler", "make_cfd_1d"]


# --------------------------------------------------------------------------------------------
# Finite-volume building blocks (arrays of shape (batch, cells))
# --------------------------------------------------------------------------------------------
def _primitive(u, gamma):
    rho, mom, ene = u
    v = mom / rho
    p = (gamma - 1) * (ene - 0.5 * mom * v)
    return rho, v, p


def _conserved(rho, v, p, gamma):
    return np.stack([rho, rho * v, p / (gamma - 1) + 0.5 * rho * v * v])


def _limited_slope(q, limiter):
    """Limited slope of each interior cell of the padded array ``q`` (drops one cell per side)."""
    dl = q[..., 1:-1] - q[..., :-2]
    dr = q[..., 2:] - q[..., 1:-1]
    # (sign(dl) + sign(dr)) / 2 is +-1 where both differences agree in sign and 0 at extrema.
    sgn = 0.5 * (np.sign(dl) + np.sign(dr))
    adl = np.abs(dl)
    adr = np.abs(dr)
    if limiter == "minmod":
        return sgn * np.minimum(adl, adr)
    # Monotonised central: minmod(2 dl, (dl + dr) / 2, 2 dr).
    return sgn * np.minimum(2 * np.minimum(adl, adr), 0.5 * np.abs(dl + dr))


def _flux_and_state(w, gamma):
    """Physical flux and conserved state of stacked primitive states ``w = (rho, v, p)``."""
    rho, v, p = w
    mom = rho * v
    ene = p / (gamma - 1) + 0.5 * mom * v
    return np.stack([mom, mom * v + p, v * (ene + p)]), np.stack([rho, mom, ene])


def _riemann_flux(left, right, gamma, solver):
    """HLLC / HLL numerical flux between stacked primitive states ``left``, ``right``."""
    rl, vl, pl = left
    rr, vr, pr = right
    cl = np.sqrt(gamma * pl / rl)
    cr = np.sqrt(gamma * pr / rr)
    # Davis wave-speed bounds: simple and positivity-preserving with HLL(C).
    sl = np.minimum(vl - cl, vr - cr)
    sr = np.maximum(vl + cl, vr + cr)
    fl, ul = _flux_and_state(left, gamma)
    fr, ur = _flux_and_state(right, gamma)
    if solver == "hll":
        slm = np.minimum(sl, 0.0)
        srp = np.maximum(sr, 0.0)
        # Reduces to F_L for sl >= 0 and to F_R for sr <= 0.
        return (srp * fl - slm * fr + slm * srp * (ur - ul)) / (srp - slm)
    ml = rl * (sl - vl)
    mr = rr * (sr - vr)
    s_star = (pr - pl + vl * ml - vr * mr) / (ml - mr)

    def star(rho, v, p, m, s, ene):
        # HLLC star state (Toro, eq. 10.39).
        fac = m / (s - s_star)
        return np.stack([fac, fac * s_star, fac * (ene / rho + (s_star - v) * (s_star + p / m))])

    # F_L + min(S_L, 0) (U*_L - U_L) covers both "left of the fan" (F_L) and the left star
    # region; symmetrically on the right. The contact speed picks the side.
    flux_l = fl + np.minimum(sl, 0.0) * (star(rl, vl, pl, ml, sl, ul[2]) - ul)
    flux_r = fr + np.maximum(sr, 0.0) * (star(rr, vr, pr, mr, sr, ur[2]) - ur)
    return np.where(s_star >= 0, flux_l, flux_r)


class _Scheme:
    def __init__(self, n, dx, gamma, boundary, limiter, riemann, viscosity):
        self.n, self.dx, self.gamma = n, dx, gamma
        self.mode = "wrap" if boundary == "periodic" else "edge"
        self.limiter, self.riemann, self.viscosity = limiter, riemann, viscosity

    def rhs(self, u):
        """``dU/dt = -(F_{i+1/2} - F_{i-1/2}) / dx``, with two ghost cells per side."""
        g = self.gamma
        up = np.pad(u, ((0, 0), (0, 0), (2, 2)), mode=self.mode)
        w = np.stack(_primitive(up, g))
        slopes = _limited_slope(w, self.limiter)  # cells 1..n+2 of the padded array
        # Faces between padded cells i and i+1 for i = 1..n+1 (n + 1 faces).
        left = w[..., 1:-2] + 0.5 * slopes[..., :-1]
        right = w[..., 2:-1] - 0.5 * slopes[..., 1:]
        # Where a reconstructed density or pressure is not positive, fall back to first order.
        bad = (left[0] <= 0) | (left[2] <= 0) | (right[0] <= 0) | (right[2] <= 0)
        if np.any(bad):
            left = np.where(bad, w[..., 1:-2], left)
            right = np.where(bad, w[..., 2:-1], right)
        f = _riemann_flux(left, right, g, self.riemann)
        if self.viscosity > 0:
            # Viscous stress mu v_x on faces (central difference) in momentum and energy.
            v = w[1]
            tau = self.viscosity * (v[..., 2:-1] - v[..., 1:-2]) / self.dx
            f[1] -= tau
            f[2] -= 0.5 * (v[..., 2:-1] + v[..., 1:-2]) * tau
        return -(f[..., 1:] - f[..., :-1]) / self.dx

    def max_dt(self, u, cfl):
        rho, v, p = _primitive(u, self.gamma)
        speed = float(np.max(np.abs(v) + np.sqrt(self.gamma * p / rho)))
        dt = cfl * self.dx / speed
        if self.viscosity > 0:
            # Explicit diffusion limit for the kinematic viscosity mu / rho.
            dt = min(dt, 0.4 * self.dx**2 * float(rho.min()) / self.viscosity)
        return dt


def solve_euler_1d(
    rho: np.ndarray,
    v: np.ndarray,
    p: np.ndarray,
    t_final: float,
    *,
    gamma: float = 5.0 / 3.0,
    boundary: str = "periodic",
    record_times: Sequence[float] | None = None,
    dx: float | None = None,
    cfl: float = 0.5,
    limiter: str = "mc",
    riemann: str = "hllc",
    viscosity: float = 0.0,
    verbose: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solve the 1-D Euler equations (optionally with viscosity) by MUSCL-HLLC-SSPRK3.

    Parameters
    ----------
    rho, v, p : ndarray of shape (N,) or (n_samples, N)
        Initial density (> 0), velocity and pressure (> 0), cell averages.
    t_final : float
        Final time, ``>= 0``.
    gamma : float, default=5/3
        Ratio of specific heats, ``> 1``.
    boundary : {"periodic", "outflow"}, default="periodic"
        Periodic, or zero-gradient (transmissive) ghost cells as used for shock tubes.
    record_times : sequence of float, default=None
        Increasing times in ``[0, t_final]`` to store; ``None`` stores ``t_final`` only.
    dx : float, default=None
        Cell width; ``None`` means ``1 / N`` (the unit interval).
    cfl : float, default=0.5
        Courant number of the step ``dt = cfl dx / max(|v| + c)`` (recomputed every step over
        the whole batch), in ``(0, 1]``.
    limiter : {"mc", "minmod"}, default="mc"
        Slope limiter of the MUSCL reconstruction of ``(rho, v, p)``.
    riemann : {"hllc", "hll"}, default="hllc"
        Approximate Riemann solver.
    viscosity : float, default=0.0
        Dynamic viscosity ``mu >= 0`` of the viscous stress ``mu v_x`` (0: Euler).
    verbose : bool, default=False
        Progress bar over simulated time.

    Returns
    -------
    rho, v, p : ndarrays of shape ``(..., N)``, or ``(..., N, n_records)`` when
        ``record_times`` is given (leading axes as the input).

    Examples
    --------
    >>> import numpy as np
    >>> x = (np.arange(200) + 0.5) / 200
    >>> rho0 = np.where(x < 0.5, 1.0, 0.125)
    >>> p0 = np.where(x < 0.5, 1.0, 0.1)
    >>> rho, v, p = solve_euler_1d(rho0, 0 * x, p0, 0.2, gamma=1.4, boundary="outflow")
    >>> rho.shape
    (200,)
    """
    rho = np.asarray(rho, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if not (rho.shape == v.shape == p.shape) or rho.ndim not in (1, 2) or rho.shape[-1] < 2:
        raise ValueError(
            "rho, v and p must have the same shape (N,) or (n_samples, N) with N >= 2, got "
            f"{rho.shape}, {v.shape}, {p.shape}"
        )
    if not (np.all(np.isfinite(rho)) and np.all(np.isfinite(v)) and np.all(np.isfinite(p))):
        raise ValueError("rho, v and p must be finite")
    if np.any(rho <= 0) or np.any(p <= 0):
        raise ValueError(f"rho and p must be > 0, got min(rho)={rho.min()!r}, min(p)={p.min()!r}")
    t_final = check_real(t_final, "t_final", low=0)
    gamma = check_real(gamma, "gamma", low=1, low_inclusive=False)
    check_choice(boundary, "boundary", ("periodic", "outflow"))
    check_choice(limiter, "limiter", ("mc", "minmod"))
    check_choice(riemann, "riemann", ("hllc", "hll"))
    cfl = check_real(cfl, "cfl", low=0, high=1, low_inclusive=False)
    viscosity = check_real(viscosity, "viscosity", low=0)
    single = rho.ndim == 1
    n = rho.shape[-1]
    dx = 1.0 / n if dx is None else check_real(dx, "dx", low=0, low_inclusive=False)
    times = [t_final] if record_times is None else [float(t) for t in record_times]
    if (
        not times
        or any(b <= a for a, b in zip(times[:-1], times[1:], strict=True))
        or times[0] < 0
        or times[-1] > t_final
    ):
        raise ValueError(
            f"record_times must be increasing values in [0, t_final={t_final}], got {record_times!r}"
        )
    scheme = _Scheme(n, dx, gamma, boundary, limiter, riemann, viscosity)
    u = _conserved(np.atleast_2d(rho), np.atleast_2d(v), np.atleast_2d(p), gamma)
    rec = np.empty((3, u.shape[1], n, len(times)))
    t = 0.0
    with tqdm(total=times[-1], disable=not verbose, desc="Euler 1-D") as bar:
        for i, t_rec in enumerate(times):
            while t < t_rec - 1e-14 * max(1.0, t_rec):
                dt = min(scheme.max_dt(u, cfl), t_rec - t)
                # SSP-RK3 (Shu-Osher): convex combinations of forward-Euler steps.
                u1 = u + dt * scheme.rhs(u)
                u2 = 0.75 * u + 0.25 * (u1 + dt * scheme.rhs(u1))
                u = u / 3.0 + (2.0 / 3.0) * (u2 + dt * scheme.rhs(u2))
                t += dt
                bar.update(dt)
            rec[..., i] = _primitive(u, gamma)
    if record_times is None:
        rec = rec[..., 0]
    if single:
        rec = rec[:, 0]
    return rec[0], rec[1], rec[2]


# --------------------------------------------------------------------------------------------
# Exact Riemann solver (reference for shock tubes)
# --------------------------------------------------------------------------------------------
def exact_riemann_euler(
    left: Sequence[float],
    right: Sequence[float],
    x: np.ndarray,
    t: float,
    *,
    gamma: float = 1.4,
    x0: float = 0.5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact solution of the Riemann problem of the 1-D Euler equations (no vacuum).

    The star-region pressure solves ``f_L(p) + f_R(p) + v_R - v_L = 0`` (shock branches from
    the Rankine-Hugoniot conditions, rarefaction branches from the isentropic relations),
    found by bracketing root finding; the self-similar solution is then sampled at
    ``(x - x0) / t``.

    Parameters
    ----------
    left, right : (rho, v, p)
        Constant states left and right of ``x0`` at ``t = 0``.
    x : ndarray
        Positions at which to evaluate.
    t : float
        Time, ``> 0``.
    gamma : float, default=1.4
        Ratio of specific heats.
    x0 : float, default=0.5
        Initial position of the discontinuity.

    Returns
    -------
    rho, v, p : ndarrays of the shape of ``x``

    Examples
    --------
    >>> import numpy as np
    >>> rho, v, p = exact_riemann_euler((1.0, 0.0, 1.0), (0.125, 0.0, 0.1), np.array([0.5]), 0.2)
    >>> round(float(p[0]), 4)  # Sod star pressure
    0.3031
    """
    rl, ul, pl = (float(q) for q in left)
    rr, ur, pr = (float(q) for q in right)
    if min(rl, pl, rr, pr) <= 0:
        raise ValueError(f"densities and pressures must be > 0, got left={left}, right={right}")
    t = check_real(t, "t", low=0, low_inclusive=False)
    g = check_real(gamma, "gamma", low=1, low_inclusive=False)
    cl, cr = math.sqrt(g * pl / rl), math.sqrt(g * pr / rr)
    if 2 * (cl + cr) / (g - 1) <= ur - ul:
        raise ValueError("the initial states generate vacuum, which is not supported")

    def f_k(pp, rk, pk, ck):
        if pp > pk:  # shock
            a = 2 / ((g + 1) * rk)
            b = (g - 1) / (g + 1) * pk
            return (pp - pk) * math.sqrt(a / (pp + b))
        return 2 * ck / (g - 1) * ((pp / pk) ** ((g - 1) / (2 * g)) - 1)  # rarefaction

    def fun(pp):
        return f_k(pp, rl, pl, cl) + f_k(pp, rr, pr, cr) + ur - ul

    lo, hi = 1e-14 * min(pl, pr), max(pl, pr)
    while fun(hi) < 0:
        hi *= 2
    p_star = brentq(fun, lo, hi, xtol=1e-15, rtol=1e-14, maxiter=500)
    u_star = 0.5 * (ul + ur) + 0.5 * (f_k(p_star, rr, pr, cr) - f_k(p_star, rl, pl, cl))

    g1 = (g - 1) / (2 * g)
    g6 = (g - 1) / (g + 1)
    s = (np.asarray(x, dtype=np.float64) - x0) / t
    rho = np.empty_like(s)
    vel = np.empty_like(s)
    prs = np.empty_like(s)
    for idx, si in np.ndenumerate(s):
        if si <= u_star:
            rk, uk, pk, ck, sign = rl, ul, pl, cl, 1.0
        else:
            rk, uk, pk, ck, sign = rr, ur, pr, cr, -1.0
        # Mirror the right side onto the left-side formulas (x -> -x, v -> -v).
        ss, uu, us = sign * si, sign * uk, sign * u_star
        ratio = p_star / pk
        if ratio > 1:  # shock
            shock = uu - ck * math.sqrt((g + 1) / (2 * g) * ratio + g1)
            if ss <= shock:
                out = (rk, uu, pk)
            else:
                out = (rk * (ratio + g6) / (g6 * ratio + 1), us, p_star)
        else:  # rarefaction
            head = uu - ck
            tail = us - ck * ratio**g1
            if ss <= head:
                out = (rk, uu, pk)
            elif ss >= tail:
                out = (rk * ratio ** (1 / g), us, p_star)
            else:
                c = 2 / (g + 1) * (ck + (g - 1) / 2 * (uu - ss))
                out = (
                    rk * (c / ck) ** (2 / (g - 1)),
                    2 / (g + 1) * (ck + (g - 1) / 2 * uu + ss),
                    pk * (c / ck) ** (2 * g / (g - 1)),
                )
        rho[idx], vel[idx], prs[idx] = out[0], sign * out[1], out[2]
    return rho, vel, prs


# --------------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------------
def _random_waves(rng, n_samples, n_waves, max_wavenumber):
    """Parameters of ``s(x) = sum_i a_i sin(2 pi k_i x + phi_i) / sum_i a_i`` in ``[-1, 1]``."""
    amp = rng.uniform(0.1, 1.0, size=(n_samples, n_waves))
    k = rng.randint(1, max_wavenumber + 1, size=(n_samples, n_waves))
    phase = rng.uniform(0, 2 * np.pi, size=(n_samples, n_waves))
    return amp, k, phase


def _eval_waves(params, x):
    amp, k, phase = params
    s = np.einsum("nw,nwx->nx", amp, np.sin(2 * np.pi * k[..., None] * x + phase[..., None]))
    # Normalising by sum(a) (not by the grid maximum) bounds |s| <= 1 for every x, so the
    # initial state does not depend on the resolution.
    return s / amp.sum(axis=1, keepdims=True)


def _solve_frames(rho, v, p, times, gamma, viscosity, batch_size, verbose=False):
    out = np.empty((rho.shape[0], rho.shape[1], 3 * len(times)))
    starts = range(0, rho.shape[0], batch_size)
    for start in tqdm(starts, disable=not verbose, desc="CFD-1D batches"):
        sl = slice(start, start + batch_size)
        r, u, q = solve_euler_1d(
            rho[sl], v[sl], p[sl], times[-1], gamma=gamma, record_times=times, viscosity=viscosity
        )
        # Frame-major channels: (rho, v, p) of frame 0, then of frame 1, ...
        out[sl] = np.stack([r, u, q], axis=-1).reshape(r.shape[0], r.shape[1], -1)
    return out


def make_cfd_1d(
    n_samples: int = 100,
    resolution: int = 256,
    *,
    gamma: float = 5.0 / 3.0,
    n_steps_in: int = 10,
    n_steps_out: int = 1,
    frame_dt: float = 0.05,
    n_waves: int = 4,
    max_wavenumber: int = 4,
    amplitude: float = 0.5,
    viscosity: float = 0.0,
    batch_size: int = 16,
    random_state: int | np.random.RandomState | None = None,
    verbose: bool = False,
    memory: Memory | str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate a PDEBench-style 1-D compressible-flow (CFD-1D) data set.

    Periodic unit interval, cells centred at ``x_j = j / resolution``. Each of density,
    velocity and pressure starts as a random smooth state built from ``n_waves`` sine waves
    ``s(x) = sum_i a_i sin(2 pi k_i x + phi_i) / sum_i a_i`` (``k_i`` in
    ``1..max_wavenumber``, ``|s| <= 1``):

    * ``rho = rho0 (1 + A_rho s_rho)`` and ``p = p0 (1 + A_p s_p)`` with ``rho0, p0 ~ U(0.5,
      1.5)`` and ``A ~ U(0, amplitude)``, positive because ``amplitude < 1``;
    * ``v = A_v s_v`` with ``A_v ~ U(-amplitude, amplitude)``.

    They are advanced by :func:`solve_euler_1d` and recorded every ``frame_dt``. Frames
    ``0 .. n_steps_in - 1`` (frame 0 is the initial state) form ``X`` and the next
    ``n_steps_out`` frames form ``y``. Channels are **frame-major**:
    ``[rho_0, v_0, p_0, rho_1, v_1, p_1, ...]``.

    Parameters
    ----------
    n_samples : int, default=100
        Number of trajectories.
    resolution : int, default=256
        Number of cells, ``>= 8``.
    gamma : float, default=5/3
        Ratio of specific heats, ``> 1``.
    n_steps_in, n_steps_out : int, default=10, 1
        Number of input and output frames.
    frame_dt : float, default=0.05
        Time between frames, ``> 0``.
    n_waves : int, default=4
        Sine waves per field.
    max_wavenumber : int, default=4
        Largest wavenumber of the waves.
    amplitude : float, default=0.5
        Largest relative amplitude, in ``[0, 1)``.
    viscosity : float, default=0.0
        Dynamic viscosity (0: Euler equations).
    batch_size : int, default=16
        Samples advanced together; each batch uses its own CFL step, and small batches stay in
        the CPU cache (16 was the fastest per sample on a 2-core machine).
    random_state : int, RandomState instance or None, default=None
        Seed.
    verbose : bool, default=False
        Progress bar over batches.
    memory : joblib.Memory, str or None, default=None
        Cache for the solve, keyed on the initial states and parameters.

    Returns
    -------
    X : ndarray of shape (n_samples, resolution, 3 * n_steps_in), float64
    y : ndarray of shape (n_samples, resolution, 3 * n_steps_out), float64

    Examples
    --------
    >>> X, y = make_cfd_1d(2, 64, n_steps_in=2, n_steps_out=1, random_state=0)
    >>> X.shape, y.shape
    ((2, 64, 6), (2, 64, 3))
    """
    n_samples = check_int(n_samples, "n_samples", low=1)
    resolution = check_int(resolution, "resolution", low=8)
    gamma = check_real(gamma, "gamma", low=1, low_inclusive=False)
    n_steps_in = check_int(n_steps_in, "n_steps_in", low=1)
    n_steps_out = check_int(n_steps_out, "n_steps_out", low=1)
    frame_dt = check_real(frame_dt, "frame_dt", low=0, low_inclusive=False)
    n_waves = check_int(n_waves, "n_waves", low=1)
    max_wavenumber = check_int(max_wavenumber, "max_wavenumber", low=1)
    amplitude = check_real(amplitude, "amplitude", low=0, high=1, high_inclusive=False)
    viscosity = check_real(viscosity, "viscosity", low=0)
    batch_size = check_int(batch_size, "batch_size", low=1)
    rng = check_random_state(random_state)
    x = np.arange(resolution) / resolution
    base = rng.uniform(0.5, 1.5, size=(n_samples, 2))
    amps = rng.uniform(0, amplitude, size=(n_samples, 3))
    amps[:, 1] *= rng.choice([-1.0, 1.0], size=n_samples)
    waves = [_eval_waves(_random_waves(rng, n_samples, n_waves, max_wavenumber), x) for _ in range(3)]
    rho = base[:, :1] * (1 + amps[:, :1] * waves[0])
    v = amps[:, 1:2] * waves[1]
    p = base[:, 1:] * (1 + amps[:, 2:] * waves[2])
    times = frame_dt * np.arange(n_steps_in + n_steps_out)
    frames = cached_call(
        memory,
        _solve_frames,
        rho,
        v,
        p,
        times.tolist(),
        gamma,
        viscosity,
        batch_size,
        verbose=verbose,
    )
    k = 3 * n_steps_in
    return np.ascontiguousarray(frames[..., :k]), np.ascontiguousarray(frames[..., k:])
