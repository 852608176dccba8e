"""2-D compressible Euler / Navier-Stokes equations: the batched finite-volume solver.

Conserved variables ``U = (rho, rho vx, rho vy, E)`` with
``E = p / (gamma - 1) + rho (vx^2 + vy^2) / 2`` on a grid of square cells; axis ``-2`` of the
arrays is ``x`` and axis ``-1`` is ``y`` (``a[..., i, j]`` is the cell centred at ``(x_i, y_j)``).
The scheme is the 2-D counterpart of :func:`~sklearn_amfno.datasets.solve_euler_1d`, dimension
by dimension and unsplit: in each direction a limited linear (MUSCL) reconstruction of the
primitive variables ``(rho, v_normal, v_tangential, p)`` and the HLLC (or HLL) flux across the
faces, the tangential velocity carried as a passive scalar; the two flux divergences are summed
and advanced by the three-stage strong-stability-preserving Runge-Kutta scheme (SSP-RK3). Every
sample of a batch takes its own CFL step, so a sample's solution does not depend on the other
samples it is solved with.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from tqdm.auto import tqdm

from .._compat import validate_params
from ._budget import _F8, Estimate, check_solver
from ._constraints import (
    EULER_SOLVER_OPTIONS,
)

__all__ = ["solve_euler_2d"]

_X, _Y = 2, 3  # the x and y axes of the stacked state (component, sample, x, y)


def _conserved(rho, vx, vy, p, gamma):
    mx = rho * vx
    my = rho * vy
    return np.stack([rho, mx, my, p / (gamma - 1) + 0.5 * (mx * vx + my * vy)])


def _primitive(u, gamma, out=None, tmp=None):
    """Stacked ``(rho, vx, vy, p)`` of the stacked conserved state ``u``."""
    w = np.empty_like(u) if out is None else out
    kin = np.empty_like(u[0]) if tmp is None else tmp
    rho, mx, my, ene = u
    np.copyto(w[0], rho)
    np.divide(mx, rho, out=w[1])
    np.divide(my, rho, out=w[2])
    # p = (gamma - 1) (E - (mx vx + my vy) / 2)
    np.multiply(mx, w[1], out=kin)
    np.multiply(my, w[2], out=w[3])
    kin += w[3]
    kin *= 0.5
    np.subtract(ene, kin, out=w[3])
    w[3] *= gamma - 1
    return w


class _Workspace:
    """Work arrays reused from step to step, sized for ``capacity`` samples.

    Allocating the scheme's ~100 temporaries afresh at every stage costs more than the
    arithmetic once they exceed the C allocator's thresholds (a few hundred KiB: every
    allocation then maps fresh pages), so the right-hand side writes into these arrays instead
    (``out=``). A batch of ``b <= capacity`` samples gets views of the first ``b``.
    """

    def __init__(self, capacity):
        self.capacity = capacity
        self.arrays = {}

    def get(self, key, shape, sample_axis, dtype=np.float64):
        full = list(shape)
        full[sample_axis] = max(self.capacity, shape[sample_axis])
        arr = self.arrays.get(key)
        if arr is None or arr.shape != tuple(full) or arr.dtype != dtype:
            arr = self.arrays[key] = np.empty(full, dtype=dtype)
        index = [slice(None)] * len(shape)
        index[sample_axis] = slice(0, shape[sample_axis])
        return arr[tuple(index)]


def _along(axis, start, stop, ndim=4):
    """Index of ``start:stop`` along ``axis`` of an array of ``ndim`` axes."""
    index = [slice(None)] * ndim
    index[axis] = slice(start, stop)
    return tuple(index)


class _Scheme:
    """The semi-discrete right-hand side and the CFL step on a grid of ``nx x ny`` cells.

    Axes of the stacked arrays: (component, sample, x, y). The numerics are those of
    ``_euler_1d`` with the same operation order (so that a field constant in ``y`` reproduces
    the 1-D solver), written with ``out=`` into the workspace.
    """

    def __init__(self, nx, ny, dx, gamma, boundary, limiter, riemann, viscosity, capacity):
        self.n = {_X: nx, _Y: ny}
        self.dx, self.gamma = dx, gamma
        self.limiter, self.riemann, self.viscosity = limiter, riemann, viscosity
        self.ghosts = {}
        for axis, n in self.n.items():
            if boundary == "periodic":
                self.ghosts[axis] = np.r_[n - 2, n - 1, 0:n, 0, 1]
            else:  # zero-gradient
                self.ghosts[axis] = np.r_[0, 0, 0:n, n - 1, n - 1]
        self.work = _Workspace(capacity)

    # -- buffers ------------------------------------------------------------------------------
    def _stacked(self, key, b, axis=None, extra=0):
        """A (4, b, nx, ny) work array, ``extra`` cells longer along ``axis``."""
        shape = [4, b, self.n[_X], self.n[_Y]]
        if axis is not None:
            shape[axis] += extra
        return self.work.get((key, axis, extra), shape, 1)

    def _faces(self, k, b, axis, dtype=np.float64):
        """The ``k``-th (b, faces...) scratch array of the faces normal to ``axis``."""
        shape = [b, self.n[_X], self.n[_Y]]
        shape[axis - 1] += 1
        return self.work.get(("face", axis, k, np.dtype(dtype).char), shape, 0, dtype)

    # -- numerics -----------------------------------------------------------------------------
    def _half_slopes(self, q, axis, b):
        """Half the limited slopes of the cells ``1 .. n+2`` of the padded array ``q``."""
        lo, hi = _along(axis, None, -1), _along(axis, 1, None)
        d = self._stacked("diff", b, axis, 3)
        np.subtract(q[hi], q[lo], out=d)
        sign = self._stacked("sign", b, axis, 3)
        np.sign(d, out=sign)
        ad = self._stacked("abs", b, axis, 3)
        np.abs(d, out=ad)
        # solve_euler_1d's slope sgn * minmod-type(dl, dr) with sgn = (sign(dl) + sign(dr)) / 2,
        # +-1 where both differences agree in sign and 0 at extrema, halved; the factors of 2
        # are regrouped (exact in floating point) to save operations:
        # minmod: (sign(dl) + sign(dr)) min(|dl|, |dr|) / 4;
        # MC, minmod(2 dl, (dl + dr) / 2, 2 dr): (sign(dl) + sign(dr)) min(|dl|, |dr|, |dl + dr| / 4) / 2.
        lim = self._stacked("lim", b, axis, 2)
        np.minimum(ad[lo], ad[hi], out=lim)
        if self.limiter == "mc":
            central = self._stacked("central", b, axis, 2)
            np.add(d[lo], d[hi], out=central)
            np.abs(central, out=central)
            central *= 0.25
            np.minimum(lim, central, out=lim)
        sgn = self._stacked("sgn", b, axis, 2)
        np.add(sign[lo], sign[hi], out=sgn)
        lim *= sgn
        lim *= 0.5 if self.limiter == "mc" else 0.25
        return lim

    def _divergence(self, w, axis, out):
        """``(F_{i+1/2} - F_{i-1/2}) / dx`` along ``axis`` of the primitive state ``w``, into ``out``."""
        b = w.shape[1]
        normal, tangential = (1, 2) if axis == _X else (2, 1)
        q = self._stacked("padded", b, axis, 4)
        np.take(w, self.ghosts[axis], axis=axis, out=q, mode="clip")
        half = self._half_slopes(q, axis, b)  # cells 1 .. n+2 of the padded array
        # Faces between padded cells i and i+1 for i = 1..n+1 (n + 1 faces).
        cells_l = q[_along(axis, 1, -2)]
        cells_r = q[_along(axis, 2, -1)]
        left = self._stacked("left", b, axis, 1)
        right = self._stacked("right", b, axis, 1)
        np.add(cells_l, half[_along(axis, None, -1)], out=left)
        np.subtract(cells_r, half[_along(axis, 1, None)], out=right)
        # Where a reconstructed density or pressure is not positive, fall back to first order.
        if min(left[0].min(), left[3].min(), right[0].min(), right[3].min()) <= 0:
            bad = (left[0] <= 0) | (left[3] <= 0) | (right[0] <= 0) | (right[3] <= 0)
            np.copyto(left, cells_l, where=bad)
            np.copyto(right, cells_r, where=bad)
        flux = self._stacked("flux", b, axis, 1)  # (mass, normal, tangential, energy)
        states = (left[0], left[normal], left[tangential], left[3])
        states += (right[0], right[normal], right[tangential], right[3])
        if self.riemann == "hllc":
            self._hllc(*states, flux, axis)
        else:
            self._hll(*states, flux, axis)
        if self.viscosity > 0:
            self._viscous(cells_l, cells_r, normal, tangential, flux)
        lo, hi = _along(axis - 1, None, -1, 3), _along(axis - 1, 1, None, 3)
        for k, comp in enumerate((0, normal, tangential, 3)):
            np.subtract(flux[k][hi], flux[k][lo], out=out[comp])
        out /= self.dx
        return out

    def _viscous(self, cells_l, cells_r, normal, tangential, flux):
        # Viscous stress mu grad(v) on the faces (central differences): the momentum flux
        # -mu dv/dn of both velocity components and its work in the energy flux.
        mu, dx = self.viscosity, self.dx
        vn_l, vn_r = cells_l[normal], cells_r[normal]
        vt_l, vt_r = cells_l[tangential], cells_r[tangential]
        tau_n = mu * (vn_r - vn_l) / dx
        tau_t = mu * (vt_r - vt_l) / dx
        flux[1] -= tau_n
        flux[2] -= tau_t
        flux[3] -= 0.5 * (vn_r + vn_l) * tau_n + 0.5 * (vt_r + vt_l) * tau_t

    def _hllc(self, rl, ul, wl, pl, rr, ur, wr, pr, flux, axis):
        """HLLC flux (Davis wave speeds) of the states ``(rho, v_n, v_t, p)`` left and right.

        The formulas and their operation order are ``_euler_1d._riemann_flux``'s, with the
        tangential momentum ``rho v_t`` carried by the mass flux. The side the contact speed
        picks is selected first, so that only its star flux is evaluated:
        ``F_K + s0 (U*_K - U_K)`` with ``s0 = min(S_L, 0)`` left and ``max(S_R, 0)`` right.
        """
        g = self.gamma
        b = rl.shape[0]
        t = [self._faces(k, b, axis) for k in range(8)]
        cl, cr, sl, sr, ml, mr, s_star, tmp = t
        np.multiply(pl, g, out=cl)
        cl /= rl
        np.sqrt(cl, out=cl)
        np.multiply(pr, g, out=cr)
        cr /= rr
        np.sqrt(cr, out=cr)
        np.subtract(ul, cl, out=sl)
        np.subtract(ur, cr, out=tmp)
        np.minimum(sl, tmp, out=sl)
        np.add(ul, cl, out=cl)
        np.add(ur, cr, out=cr)
        np.maximum(cl, cr, out=sr)
        np.subtract(sl, ul, out=ml)
        ml *= rl
        np.subtract(sr, ur, out=mr)
        mr *= rr
        # s* = (p_R - p_L + u_L m_L - u_R m_R) / (m_L - m_R)
        np.subtract(pr, pl, out=s_star)
        np.multiply(ul, ml, out=tmp)
        s_star += tmp
        np.multiply(ur, mr, out=tmp)
        s_star -= tmp
        np.subtract(ml, mr, out=tmp)
        s_star /= tmp
        left = self._faces("left", b, axis, np.bool_)
        np.greater_equal(s_star, 0, out=left)
        right = self._faces("right", b, axis, np.bool_)
        np.logical_not(left, out=right)
        # The picked side: r, u, w, p, m, s, and s0 (cl, cr are free again).
        picked = [self._faces(k, b, axis) for k in range(8, 13)]
        for out, a_left, a_right in zip(picked, (rl, ul, wl, pl), (rr, ur, wr, pr)):
            np.copyto(out, a_left)
            np.copyto(out, a_right, where=right)
        r, u, w, p = picked[:4]
        m, s = ml, sl
        np.copyto(m, mr, where=right)
        np.copyto(s, sr, where=right)
        s0 = sr
        np.maximum(sr, 0.0, out=s0)
        np.copyto(s0, np.minimum(sl, 0.0, out=tmp), where=left)
        mom, mom_t, ene, fac = cl, cr, picked[4], tmp
        np.multiply(r, u, out=mom)
        np.multiply(r, w, out=mom_t)
        # E = p / (gamma - 1) + (mom u + mom_t w) / 2
        np.multiply(mom, u, out=ene)
        np.multiply(mom_t, w, out=fac)
        ene += fac
        ene *= 0.5
        np.divide(p, g - 1, out=fac)
        ene += fac
        # fac = m / (s - s*)
        np.subtract(s, s_star, out=fac)
        np.divide(m, fac, out=fac)
        f_mass, f_mom, f_mom_t, f_ene = flux
        # mass: mom + s0 (fac - r)
        np.subtract(fac, r, out=f_mass)
        f_mass *= s0
        f_mass += mom
        # normal momentum: (mom u + p) + s0 (fac s* - mom)
        np.multiply(fac, s_star, out=f_mom)
        f_mom -= mom
        f_mom *= s0
        np.multiply(mom, u, out=s)
        s += p
        f_mom += s
        # tangential momentum: mom w + s0 (fac w - mom_t)
        np.multiply(fac, w, out=f_mom_t)
        f_mom_t -= mom_t
        f_mom_t *= s0
        np.multiply(mom, w, out=s)
        f_mom_t += s
        # energy: u (E + p) + s0 (fac (E / r + (s* - u) (s* + p / m)) - E)
        np.divide(p, m, out=f_ene)
        f_ene += s_star
        np.subtract(s_star, u, out=s)
        f_ene *= s
        np.divide(ene, r, out=s)
        f_ene += s
        f_ene *= fac
        f_ene -= ene
        f_ene *= s0
        np.add(ene, p, out=s)
        s *= u
        f_ene += s

    def _hll(self, rl, ul, wl, pl, rr, ur, wr, pr, flux, axis):
        """HLL flux with Davis wave speeds (the components as :meth:`_hllc`)."""
        g = self.gamma
        cl = np.sqrt(g * pl / rl)
        cr = np.sqrt(g * pr / rr)
        slm = np.minimum(np.minimum(ul - cl, ur - cr), 0.0)
        srp = np.maximum(np.maximum(ul + cl, ur + cr), 0.0)

        def flux_state(r, u, w, p):
            mom = r * u
            mom_t = r * w
            ene = p / (g - 1) + 0.5 * (mom * u + mom_t * w)
            return (mom, mom * u + p, mom * w, u * (ene + p)), (r, mom, mom_t, ene)

        fl, ql = flux_state(rl, ul, wl, pl)
        fr, qr = flux_state(rr, ur, wr, pr)
        for k in range(4):
            # Reduces to F_L for S_L >= 0 and to F_R for S_R <= 0.
            flux[k] = (srp * fl[k] - slm * fr[k] + slm * srp * (qr[k] - ql[k])) / (srp - slm)

    def rhs(self, u, out):
        """``-(F_{i+1/2,j} - F_{i-1/2,j}) / dx - (G_{i,j+1/2} - G_{i,j-1/2}) / dx`` into ``out``."""
        b = u.shape[1]
        w = _primitive(u, self.gamma, self._stacked("w", b), self._faces("kin", b, _X)[:, :-1])
        self._divergence(w, _X, out)
        dgy = self._divergence(w, _Y, self._stacked("dgy", b))
        # -a - b rather than -(a + b): a field constant in y (b = 0) then gives solve_euler_1d's
        # -a exactly.
        np.negative(out, out=out)
        out -= dgy
        return out

    def max_dt(self, u, cfl):
        """The CFL step of each sample, ``cfl min(dx / max(|vx| + c), dx / max(|vy| + c))``."""
        b = u.shape[1]
        w = _primitive(u, self.gamma, self._stacked("w", b), self._faces("kin", b, _X)[:, :-1])
        rho, vx, vy, p = w
        c = self._faces("c", b, _X)[:, :-1]
        speed = self._faces("speed", b, _X)[:, :-1]
        np.multiply(p, self.gamma, out=c)
        c /= rho
        np.sqrt(c, out=c)
        np.abs(vx, out=speed)
        speed += c
        sx = speed.reshape(b, -1).max(axis=1)
        np.abs(vy, out=speed)
        speed += c
        sy = speed.reshape(b, -1).max(axis=1)
        dt = np.minimum(cfl * self.dx / sx, cfl * self.dx / sy)
        if self.viscosity > 0:
            # Explicit diffusion limit in 2-D for the kinematic viscosity mu / rho.
            rho_min = rho.reshape(b, -1).min(axis=1)
            dt = np.minimum(dt, 0.2 * self.dx**2 * rho_min / self.viscosity)
        return dt

    def step(self, u, dt):
        """One SSP-RK3 (Shu-Osher) step of size ``dt`` (one per sample); overwrites ``u``."""
        b = u.shape[1]
        dt = dt[None, :, None, None]
        lu = self._stacked("rhs", b)
        u1 = self._stacked("u1", b)
        u2 = self._stacked("u2", b)
        # u1 = u + dt L(u)
        self.rhs(u, lu)
        lu *= dt
        np.add(u, lu, out=u1)
        # u2 = 3/4 u + 1/4 (u1 + dt L(u1))
        self.rhs(u1, lu)
        lu *= dt
        lu += u1
        lu *= 0.25
        np.multiply(u, 0.75, out=u2)
        u2 += lu
        # u = u / 3 + 2/3 (u2 + dt L(u2))
        self.rhs(u2, lu)
        lu *= dt
        lu += u2
        lu *= 2.0 / 3.0
        u /= 3.0
        u += lu
        return u


# --------------------------------------------------------------------------------------------
# Cost model (the checks that use it: _budget.py; make_cfd_2d's model, in _cfd_2d.py, shares it)
# --------------------------------------------------------------------------------------------
# T S N / 0.25 SSP-RK3 steps (S the largest signal speed, the Courant number 0.25 of the unsplit
# scheme, or the 2-D viscous limit 0.2 dx^2 rho / mu if shorter; measured ~480 steps per sample
# against the model's 624 at 64^2, T = 1), 0.35 us per cell and step in batches of up to 32768
# cells, 0.5 us in larger ones (measured 0.28-0.34 us at 2-4 samples of 64^2, 0.41 us at 16).
def _euler_2d_cell_step_seconds(cells_per_batch: int) -> float:
    return 0.35e-6 if cells_per_batch <= 32768 else 0.5e-6


def _euler_2d_steps(
    time: float, resolution: int, speed: float, cfl: float, viscosity: float, rho_min: float
) -> int:
    rate = speed * resolution / cfl
    if viscosity > 0:
        rate = max(rate, viscosity * resolution**2 / (0.2 * max(rho_min, 1e-12)))
    return max(1, math.ceil(time * rate))


def _euler_2d_work_bytes(cells: int) -> int:
    # The state, the Runge-Kutta stages and the ~130 cell and face work arrays of one batch.
    return int(cells * 130 * _F8)


def estimate_solve_euler_2d(
    n_samples: int,
    grid: tuple[int, int],
    time: float,
    n_records: int,
    *,
    speed: float,
    cfl: float,
    viscosity: float,
    rho_min: float,
) -> Estimate:
    """solve_euler_2d: all samples advanced together (``speed`` the largest initial ``|v| + c``)."""
    nx, ny = grid
    steps = _euler_2d_steps(time, max(nx, ny), speed, cfl, viscosity, rho_min)
    cells = n_samples * nx * ny
    out = 4 * cells * n_records * _F8
    return Estimate(
        "solve_euler_2d",
        cells * steps * _euler_2d_cell_step_seconds(cells),
        int(out + _euler_2d_work_bytes(cells)),
        out,
        {"n_samples": n_samples, "grid": (nx, ny), "time": time},
        f"~{steps} time steps",
        "fewer samples (or several calls), fewer cells or a shorter time",
    )


# --------------------------------------------------------------------------------------------
# The solver
# --------------------------------------------------------------------------------------------
@validate_params(
    {
        "rho": ["array-like"],
        "vx": ["array-like"],
        "vy": ["array-like"],
        "p": ["array-like"],
        **EULER_SOLVER_OPTIONS,
    },
    prefer_skip_nested_validation=True,
)
def solve_euler_2d(
    rho: np.ndarray,
    vx: np.ndarray,
    vy: np.ndarray,
    p: np.ndarray,
    time: float,
    *,
    gamma: float = 5.0 / 3.0,
    boundary: str = "periodic",
    record_times: Sequence[float] | None = None,
    dx: float | None = None,
    cfl: float = 0.25,
    limiter: str = "mc",
    riemann: str = "hllc",
    viscosity: float = 0.0,
    verbose: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Solve the 2-D Euler equations (optionally with viscosity) by MUSCL-HLLC-SSPRK3.

    Finite volumes on square cells: in each direction a MUSCL reconstruction of the primitive
    variables with the MC or minmod limiter (first order where a reconstructed density or
    pressure would not be positive) and HLLC (or HLL) fluxes with Davis wave speeds; the two
    flux divergences are summed (unsplit) and advanced by SSP-RK3. Axis ``-2`` is ``x`` and
    axis ``-1`` is ``y``. A field that does not vary along ``y`` (with ``vy = 0``) evolves as
    :func:`solve_euler_1d` evolves it.

    Parameters
    ----------
    rho, vx, vy, p : ndarray of shape (Nx, Ny) or (n_samples, Nx, Ny)
        Initial density (> 0), velocity components and pressure (> 0), cell averages.
    time : float
        Final time, ``>= 0``.
    gamma : float, default=5/3
        Ratio of specific heats, ``> 1``.
    boundary : {"periodic", "outflow"}, default="periodic"
        Periodic, or zero-gradient (transmissive) ghost cells on all four sides.
    record_times : sequence of float, default=None
        Increasing times in ``[0, time]`` to store; ``None`` stores ``time`` only.
    dx : float, default=None
        Cell width (the cells are square); ``None`` means ``1 / Nx``, the unit square when
        ``Nx = Ny``.
    cfl : float, default=0.25
        Courant number of the step ``dt = cfl min(dx / max(|vx| + c), dx / max(|vy| + c))``,
        recomputed every step for every sample, in ``(0, 1]``. The unsplit update is a convex
        combination of the two 1-D updates, so ``cfl = 0.25`` here is ``solve_euler_1d``'s
        ``0.5`` shared between the two directions.
    limiter : {"mc", "minmod"}, default="mc"
        Slope limiter of the MUSCL reconstruction of ``(rho, vx, vy, p)``.
    riemann : {"hllc", "hll"}, default="hllc"
        Approximate Riemann solver.
    viscosity : float, default=0.0
        Dynamic viscosity ``mu >= 0`` of the simplified viscous stress ``mu grad(v)`` (momentum
        diffusion ``mu Lap(v)``, the 2-D form of ``solve_euler_1d``'s ``mu v_x``); 0: Euler.
    verbose : int, default=0
        0 is silent; 1 or more shows a progress bar over simulated time (of the slowest sample). True and
        False work as 1 and 0.

    Returns
    -------
    rho, vx, vy, p : ndarrays of shape ``(..., Nx, Ny)``, or ``(..., Nx, Ny, n_records)`` when
        ``record_times`` is given (leading axes as the input).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_amfno.datasets import solve_euler_2d
    >>> x = np.arange(32) / 32
    >>> rho0 = 1 + 0.2 * np.sin(2 * np.pi * (x[:, None] + x[None, :]))
    >>> ones = np.ones((32, 32))
    >>> rho, vx, vy, p = solve_euler_2d(rho0, ones, ones, ones, 0.05)
    >>> rho.shape
    (32, 32)
    """
    rho = np.asarray(rho, dtype=np.float64)
    vx = np.asarray(vx, dtype=np.float64)
    vy = np.asarray(vy, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if (
        not (rho.shape == vx.shape == vy.shape == p.shape)
        or rho.ndim not in (2, 3)
        or min(rho.shape[-2:]) < 2
    ):
        raise ValueError(
            "rho, vx, vy and p must have the same shape (Nx, Ny) or (n_samples, Nx, Ny) with "
            f"Nx, Ny >= 2, got {rho.shape}, {vx.shape}, {vy.shape}, {p.shape}"
        )
    if not all(np.all(np.isfinite(a)) for a in (rho, vx, vy, p)):
        raise ValueError("rho, vx, vy and p must be finite")
    if np.any(rho <= 0) or np.any(p <= 0):
        raise ValueError(f"rho and p must be > 0, got min(rho)={float(rho.min())}, min(p)={float(p.min())}")
    time, gamma, cfl, viscosity = float(time), float(gamma), float(cfl), float(viscosity)
    single = rho.ndim == 2
    nx, ny = rho.shape[-2:]
    dx = 1.0 / nx if dx is None else float(dx)
    times = [time] if record_times is None else [float(t) for t in record_times]
    if (
        not times
        or any(b <= a for a, b in zip(times[:-1], times[1:], strict=True))
        or times[0] < 0
        or times[-1] > time
    ):
        raise ValueError(f"record_times must be increasing values in [0, time={time}], got {record_times!r}")
    n_samples = rho.size // (nx * ny)
    check_solver(
        estimate_solve_euler_2d(
            n_samples,
            (nx, ny),
            time,
            len(times),
            speed=float(np.max(np.hypot(vx, vy) + np.sqrt(gamma * p / rho))),
            cfl=cfl,
            viscosity=viscosity,
            rho_min=float(rho.min()),
        ),
        verbose,
    )
    shape = (n_samples, nx, ny)
    rec = _evolve(
        rho.reshape(shape),
        vx.reshape(shape),
        vy.reshape(shape),
        p.reshape(shape),
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
    return rec[0], rec[1], rec[2], rec[3]


def _evolve(
    rho, vx, vy, p, times, *, gamma, boundary, dx, cfl, limiter, riemann, viscosity, verbose: int = 0
):
    """The solver on valid ``(n_samples, nx, ny)`` arrays: the stacked primitive records.

    Returns ``(4, n_samples, nx, ny, len(times))``, the components ``(rho, vx, vy, p)``.
    """
    n_samples, nx, ny = rho.shape
    scheme = _Scheme(nx, ny, dx, gamma, boundary, limiter, riemann, viscosity, n_samples)
    u = _conserved(rho, vx, vy, p, gamma)
    rec = np.empty((4, n_samples, nx, ny, len(times)))
    t = np.zeros(n_samples)
    with tqdm(total=times[-1], disable=not verbose, desc="Euler 2-D") as bar:
        for i, t_rec in enumerate(times):
            u = _advance(scheme, u, t, t_rec, cfl, bar)
            rec[..., i] = _primitive(u, gamma)
    return rec


def _advance(scheme, u, t, t_rec, cfl, bar):
    """Advance every sample of ``u`` from its time ``t`` (updated in place) to ``t_rec``.

    Each sample takes its own CFL steps, the last one shortened to land on ``t_rec`` (as
    ``solve_euler_1d`` does for its batch); once some samples have arrived, only the others are
    stepped.
    """
    tol = 1e-14 * max(1.0, t_rec)
    while True:
        active = t < t_rec - tol
        if not active.any():
            return u
        t_before = t.min()
        if active.all():
            dt = np.minimum(scheme.max_dt(u, cfl), t_rec - t)
            u = scheme.step(u, dt)
            t += dt
        else:
            idx = np.flatnonzero(active)
            sub = u[:, idx]
            dt = np.minimum(scheme.max_dt(sub, cfl), t_rec - t[idx])
            u[:, idx] = scheme.step(sub, dt)
            t[idx] += dt
        bar.update(t.min() - t_before)
