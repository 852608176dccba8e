"""1-D compressible Euler / Navier-Stokes equations: the batched finite-volume solver.

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
from tqdm.auto import tqdm

from .._compat import renamed_parameters, validate_params
from ._budget import _F8, Estimate, check_solver
from ._constraints import (
    EULER_SOLVER_OPTIONS,
)

__all__ = ["solve_euler_1d"]


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


# --------------------------------------------------------------------------------------------
# Cost model (the checks that use it: _budget.py; make_cfd_1d's model, in _cfd_1d.py, shares it)
# --------------------------------------------------------------------------------------------
# T S N / cfl SSP-RK3 steps, S the largest signal speed |v| + c, or the explicit viscous limit if
# shorter; 0.45 us per cell and step in batches of up to 8192 cells, 1 us in larger ones
# (measured 0.27-0.42 and 0.95 us).
def _euler_cell_step_seconds(cells_per_batch: int) -> float:
    return 0.45e-6 if cells_per_batch <= 8192 else 1.0e-6


def _euler_steps(
    time: float, resolution: int, speed: float, cfl: float, viscosity: float, rho_min: float
) -> int:
    dx = 1.0 / resolution
    rate = speed / (cfl * dx)
    if viscosity > 0:
        rate = max(rate, viscosity / (0.4 * dx * dx * max(rho_min, 1e-12)))
    return max(1, math.ceil(time * rate))


def estimate_solve_euler_1d(
    n_samples: int,
    resolution: int,
    time: float,
    n_records: int,
    *,
    speed: float,
    cfl: float,
    viscosity: float,
    rho_min: float,
) -> Estimate:
    """solve_euler_1d: all samples advanced together (``speed`` the largest initial ``|v| + c``)."""
    steps = _euler_steps(time, resolution, speed, cfl, viscosity, rho_min)
    out = 3 * n_samples * resolution * n_records * _F8
    peak = out + n_samples * resolution * 3 * 40 * _F8
    return Estimate(
        "solve_euler_1d",
        n_samples * resolution * steps * _euler_cell_step_seconds(n_samples * resolution),
        int(peak),
        out,
        {"n_samples": n_samples, "resolution": resolution, "time": time},
        f"~{steps} time steps",
        "fewer samples (or several calls), fewer cells or a shorter time",
    )


# --------------------------------------------------------------------------------------------
# The solver
# --------------------------------------------------------------------------------------------
@renamed_parameters({"t_final": "time"}, since="0.2.0", removed_in="0.4.0")
@validate_params(
    {
        "rho": ["array-like"],
        "v": ["array-like"],
        "p": ["array-like"],
        **EULER_SOLVER_OPTIONS,
    },
    prefer_skip_nested_validation=True,
)
def solve_euler_1d(
    rho: np.ndarray,
    v: np.ndarray,
    p: np.ndarray,
    time: float,
    *,
    gamma: float = 5.0 / 3.0,
    boundary: str = "periodic",
    record_times: Sequence[float] | None = None,
    dx: float | None = None,
    cfl: float = 0.5,
    limiter: str = "mc",
    riemann: str = "hllc",
    viscosity: float = 0.0,
    verbose: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solve the 1-D Euler equations (optionally with viscosity) by MUSCL-HLLC-SSPRK3.

    Parameters
    ----------
    rho, v, p : ndarray of shape (N,) or (n_samples, N)
        Initial density (> 0), velocity and pressure (> 0), cell averages.
    time : float
        Final time, ``>= 0``.

        .. versionchanged:: 0.2.0
           Renamed from ``t_final``.
    gamma : float, default=5/3
        Ratio of specific heats, ``> 1``.
    boundary : {"periodic", "outflow"}, default="periodic"
        Periodic, or zero-gradient (transmissive) ghost cells as used for shock tubes.
    record_times : sequence of float, default=None
        Increasing times in ``[0, time]`` to store; ``None`` stores ``time`` only.
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
    verbose : int, default=0
        0 is silent; 1 or more shows a progress bar over simulated time. True and False work as 1 and 0.

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
    rho, v, p = _check_state(rho, v, p)
    time, gamma, cfl, viscosity = float(time), float(gamma), float(cfl), float(viscosity)
    single = rho.ndim == 1
    n = rho.shape[-1]
    dx = 1.0 / n if dx is None else float(dx)
    times = [time] if record_times is None else [float(t) for t in record_times]
    if (
        not times
        or any(b <= a for a, b in zip(times[:-1], times[1:], strict=True))
        or times[0] < 0
        or times[-1] > time
    ):
        raise ValueError(f"record_times must be increasing values in [0, time={time}], got {record_times!r}")
    check_solver(
        estimate_solve_euler_1d(
            rho.size // n,
            n,
            time,
            len(times),
            speed=float(np.max(np.abs(v) + np.sqrt(gamma * p / rho))),
            cfl=cfl,
            viscosity=viscosity,
            rho_min=float(rho.min()),
        ),
        verbose,
    )
    rec = _evolve(
        np.atleast_2d(rho),
        np.atleast_2d(v),
        np.atleast_2d(p),
        times,
        gamma=gamma,
        boundary=boundary,
        dx=dx,
        cfl=cfl,
        limiter=limiter,
        riemann=riemann,
        viscosity=viscosity,
        verbose=verbose,
    )
    if record_times is None:
        rec = rec[..., 0]
    if single:
        rec = rec[:, 0]
    return rec[0], rec[1], rec[2]


def _check_state(rho, v, p) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``rho, v, p`` as float64 arrays of one shape ``(N,)`` or ``(n_samples, N)``; finite, positive."""
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
        raise ValueError(f"rho and p must be > 0, got min(rho)={float(rho.min())}, min(p)={float(p.min())}")
    return rho, v, p


def _evolve(
    rho: np.ndarray,
    v: np.ndarray,
    p: np.ndarray,
    times: list[float],
    *,
    gamma: float,
    boundary: str,
    dx: float,
    cfl: float,
    limiter: str,
    riemann: str,
    viscosity: float,
    verbose: int = 0,
) -> np.ndarray:
    """The solver on checked ``(n_samples, N)`` arrays (:func:`_check_state`), without the cost check.

    ``times`` are the increasing record times (floats, the last one the final time). Returns
    ``(3, n_samples, N, len(times))``, the components ``(rho, v, p)``. ``make_cfd_1d`` calls it
    directly: it has checked the cost of the whole request.
    """
    n = rho.shape[-1]
    scheme = _Scheme(n, dx, gamma, boundary, limiter, riemann, viscosity)
    u = _conserved(rho, v, p, gamma)
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
    return rec
