"""Steady incompressible flow in a 2-D pipe with a curved centreline (the Geo-FNO pipe benchmark).

The pipe ``{(x, y): 0 <= x <= length, |y - d(x)| <= width / 2}`` has a constant vertical width
and a centreline ``y = d(x)``, a piecewise cubic Hermite curve through equally spaced control
nodes (vertical positions and slopes). The mapped grid is the vertical shear
``x = xi``, ``y = eta + d(xi)`` of the rectangle ``[0, length] x [-width/2, width/2]``, the
layout of the Geo-FNO pipe data (``Pipe_X``, ``Pipe_Y``: axis 1 along the pipe, axis 2 across).

The flow is computed in streamfunction-vorticity form on that grid:
``u = psi_y``, ``v = -psi_x``, ``omega = -Lap psi``, ``u . grad omega = nu Lap omega``. The shear
has Jacobian 1, so in grid coordinates ``u . grad omega = psi_eta omega_xi - psi_xi omega_eta``
and ``Lap f = d_xi(f_xi + b f_eta) + d_eta(b f_xi + c f_eta)`` with ``b = -d'``,
``c = 1 + d'^2``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from joblib import Memory
from scipy.sparse.linalg import splu
from sklearn.utils import Bunch, check_random_state

from .._compat import POSITIVE_INT, RANDOM_STATE, StrOptions, finite_interval, validate_params
from ._budget import _F8, Estimate, _threads, announce, check_solver, format_seconds
from ._cache import solve_samples
from ._constraints import (
    FINITE_NON_NEGATIVE,
    FINITE_POSITIVE,
    MEMORY,
    N_JOBS,
    effective_n_jobs,
    field_indices,
    int_at_least,
)

__all__ = ["make_pipe", "solve_pipe"]

#: The fields of the Geo-FNO pipe ``Q`` arrays, in their order.
PIPE_FIELDS = ("velocity_x", "velocity_y", "pressure")


# --------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------
def _centreline(
    xi: np.ndarray, offsets: np.ndarray, slopes: np.ndarray, length: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``d``, ``d'`` and ``d''`` of the cubic Hermite centreline at ``xi`` (slopes are ``dy/dx``).

    At a control node ``d''`` is taken from the element on its right (the last node: its left).
    """
    n_el = offsets.size - 1
    de = length / n_el
    e = np.minimum((xi / de).astype(np.int64), n_el - 1)
    t = xi / de - e
    p0, p1 = offsets[e], offsets[e + 1]
    s0, s1 = slopes[e] * de, slopes[e + 1] * de  # slopes in the element's local coordinate
    d = (1 - 3 * t**2 + 2 * t**3) * p0 + (t - 2 * t**2 + t**3) * s0
    d = d + (3 * t**2 - 2 * t**3) * p1 + (t**3 - t**2) * s1
    d1 = (6 * t**2 - 6 * t) * (p0 - p1) + (1 - 4 * t + 3 * t**2) * s0 + (3 * t**2 - 2 * t) * s1
    d2 = (12 * t - 6) * (p0 - p1) + (6 * t - 4) * s0 + (6 * t - 2) * s1
    return d, d1 / de, d2 / de**2


def _inflow(eta: np.ndarray, width: float, peak: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parabolic inflow ``u(eta)``, its derivative, and its integral from the lower wall (``psi``)."""
    u = peak * (1 - (2 * eta / width) ** 2)
    du = -8 * peak * eta / width**2
    psi = peak * ((eta + width / 2) - 4 / (3 * width**2) * (eta**3 + width**3 / 8))
    return u, du, psi


# --------------------------------------------------------------------------------------------
# The discrete system: unknowns psi and omega at every node, node (i, j) -> i * M + j
# --------------------------------------------------------------------------------------------
class _System:
    """Residual and Newton Jacobian of the streamfunction-vorticity equations on the mapped grid.

    Interior nodes: ``Lap_h psi + omega = 0`` and
    ``nu Lap_h omega - (psi_eta omega_xi - psi_xi omega_eta) = 0``, second-order central
    differences (the mixed term ``d_xi(b f_eta)`` in product form, so only ``d'`` enters), the
    velocities central, the vorticity gradient second-order upwind (central next to the
    boundary). Walls: ``psi`` constant (0 below, the flux above) and the second-order wall
    vorticity ``omega = -c psi_etaeta`` with ``psi_etaeta = (8 psi_1 - psi_2 - 7 psi_0) / (2 h^2)``
    (which uses ``psi_eta = 0``: no slip). Inlet: ``psi`` the integral of the inflow profile and
    ``omega = -Lap psi`` with ``psi_xi = 0`` (the inflow parallel to the walls) in a
    second-order one-sided ``psi_xixi``. Outlet: ``psi_xi = omega_xi = 0`` (second-order
    one-sided), flow parallel to the walls there.
    """

    def __init__(self, offsets, slopes, n, length, width, peak):
        self.n = n
        self.nn = n * n
        self.a = length / (n - 1)  # spacing along the pipe
        self.h = width / (n - 1)  # spacing across
        self.xi = np.linspace(0.0, length, n)
        self.eta = np.linspace(-width / 2, width / 2, n)
        d, d1, d2 = _centreline(self.xi, offsets, slopes, length)
        self.d, self.d1, self.d2 = d, d1, d2
        # The metric from the grid itself (central differences of the nodes' y, second-order
        # one-sided at the ends), so that u and v from psi are discretely divergence-free with
        # the same differences any user applies to the returned mesh.
        self.dh = np.gradient(d, self.a, edge_order=2)
        self.b = -self.dh
        self.c = 1.0 + self.dh**2
        self.u_in, self.du_in, self.psi_in = _inflow(self.eta, width, peak)
        self.flux = float(self.psi_in[-1])
        self.omega_scale = 4.0 * peak / width  # the inflow's wall vorticity
        self.idx = np.arange(self.nn).reshape(n, n)
        inner = np.arange(1, n - 1)
        self.I = np.repeat(inner, n - 2)
        self.J = np.tile(inner, n - 2)
        self.rows = self.idx[self.I, self.J]
        self.jin = inner
        self.lap = self._laplacian()

    def _laplacian(self):
        """``(di, dj, coefficients)`` of ``Lap_h`` at the interior nodes."""
        a, h, I = self.a, self.h, self.I
        b, c = self.b, self.c
        size = I.size
        k = 1.0 / (4 * a * h)
        bp, bm, bi, ci = b[I + 1], b[I - 1], b[I], c[I]
        return [
            (1, 0, np.full(size, 1 / a**2)),
            (-1, 0, np.full(size, 1 / a**2)),
            (0, 0, -2 / a**2 - 2 * ci / h**2),
            (0, 1, ci / h**2),
            (0, -1, ci / h**2),
            (1, 1, (bp + bi) * k),
            (1, -1, -(bp + bi) * k),
            (-1, 1, -(bm + bi) * k),
            (-1, -1, (bm + bi) * k),
        ]

    def _upwind(self, vel, axis):
        """``(di, dj, coefficients)`` of the second-order upwind derivative along ``axis``."""
        n = self.n
        step = self.a if axis == 0 else self.h
        pos = self.I if axis == 0 else self.J
        back = ((vel >= 0) & (pos >= 2)).astype(float)
        ahead = ((vel < 0) & (pos <= n - 3)).astype(float)
        centre = 1.0 - back - ahead
        terms = [
            (0, 3 * (back - ahead)),
            (-1, -4 * back - centre),
            (-2, back),
            (1, 4 * ahead + centre),
            (2, -ahead),
        ]
        out = []
        for s, w in terms:
            w = w / (2 * step)
            out.append((s, 0, w) if axis == 0 else (0, s, w))
        return out

    def _apply(self, stencil, f):
        out = np.zeros(self.I.size)
        I, J, n = self.I, self.J, self.n
        for di, dj, v in stencil:
            # Entries outside the grid have zero weight (upwind stencils near the boundary).
            out += v * f[np.clip(I + di, 0, n - 1), np.clip(J + dj, 0, n - 1)]
        return out

    def assemble(self, x, nu, convection=True):
        """Residual ``F(x)`` and Jacobian ``F'(x)`` (CSC); ``convection=False``: Stokes."""
        n, nn, a, h = self.n, self.nn, self.a, self.h
        idx, I, J, rows, jin = self.idx, self.I, self.J, self.rows, self.jin
        psi = x[:nn].reshape(n, n)
        om = x[nn:].reshape(n, n)
        R = np.empty(2 * nn)
        r_list, c_list, v_list = [], [], []

        def add(r, col, v):
            v = np.broadcast_to(np.asarray(v, dtype=float), np.shape(r))
            keep = v != 0
            r_list.append(np.asarray(r)[keep])
            c_list.append(np.broadcast_to(col, np.shape(r))[keep])
            v_list.append(v[keep])

        # Interior: Lap psi + omega = 0.
        R[rows] = self._apply(self.lap, psi) + om[I, J]
        for di, dj, v in self.lap:
            add(rows, idx[I + di, J + dj], v)
            add(nn + rows, nn + idx[I + di, J + dj], nu * v)
        add(rows, nn + rows, 1.0)
        # Interior: nu Lap omega - (U omega_xi + V omega_eta) = 0, U = psi_eta, V = -psi_xi.
        r_om = nu * self._apply(self.lap, om)
        if convection:
            U = (psi[I, J + 1] - psi[I, J - 1]) / (2 * h)
            V = -(psi[I + 1, J] - psi[I - 1, J]) / (2 * a)
            ax, ay = self._upwind(U, 0), self._upwind(V, 1)
            om_xi, om_eta = self._apply(ax, om), self._apply(ay, om)
            r_om -= U * om_xi + V * om_eta
            for stencil, vel in ((ax, U), (ay, V)):
                for di, dj, v in stencil:
                    ii, jj = np.clip(I + di, 0, n - 1), np.clip(J + dj, 0, n - 1)
                    add(nn + rows, nn + idx[ii, jj], -vel * v)
            add(nn + rows, idx[I, J + 1], -om_xi / (2 * h))
            add(nn + rows, idx[I, J - 1], om_xi / (2 * h))
            add(nn + rows, idx[I + 1, J], om_eta / (2 * a))
            add(nn + rows, idx[I - 1, J], -om_eta / (2 * a))
        R[nn + rows] = r_om
        # Walls (corners included): psi constant, omega = -c psi_etaeta.
        w2 = 2 * h * h
        for j0, j1, j2, value in ((0, 1, 2, 0.0), (n - 1, n - 2, n - 3, self.flux)):
            wall = idx[:, j0]
            R[wall] = psi[:, j0] - value
            add(wall, wall, 1.0)
            R[nn + wall] = om[:, j0] + self.c * (8 * psi[:, j1] - psi[:, j2] - 7 * psi[:, j0]) / w2
            add(nn + wall, nn + wall, 1.0)
            add(nn + wall, idx[:, j1], 8 * self.c / w2)
            add(nn + wall, idx[:, j2], -self.c / w2)
            add(nn + wall, idx[:, j0], -7 * self.c / w2)
        # Inlet: psi given, omega = -Lap psi with psi_xi = 0 (the inflow parallel to the walls,
        # v = d' u: then psi_xieta = 0 too and psi_eta, psi_etaeta are the profile's).
        inlet = idx[0, jin]
        s1, s2 = self.d1[0], self.d2[0]
        u_in, du_in = self.u_in[jin], self.du_in[jin]
        R[inlet] = psi[0, jin] - self.psi_in[jin]
        add(inlet, inlet, 1.0)
        psi_xixi = (8 * psi[1, jin] - psi[2, jin] - 7 * psi[0, jin]) / (2 * a * a)
        known = -s2 * u_in + (1 + s1 * s1) * du_in
        R[nn + inlet] = om[0, jin] + psi_xixi + known
        add(nn + inlet, nn + inlet, 1.0)
        add(nn + inlet, idx[1, jin], 8 / (2 * a * a))
        add(nn + inlet, idx[2, jin], -1 / (2 * a * a))
        add(nn + inlet, idx[0, jin], -7 / (2 * a * a))
        # Outlet: psi_xi = omega_xi = 0.
        outlet = idx[n - 1, jin]
        for off, f in ((0, psi), (nn, om)):
            R[off + outlet] = (3 * f[n - 1, jin] - 4 * f[n - 2, jin] + f[n - 3, jin]) / (2 * a)
            add(off + outlet, off + idx[n - 1, jin], 3 / (2 * a))
            add(off + outlet, off + idx[n - 2, jin], -4 / (2 * a))
            add(off + outlet, off + idx[n - 3, jin], 1 / (2 * a))
        A = sp.csc_matrix(
            (np.concatenate(v_list), (np.concatenate(r_list), np.concatenate(c_list))), shape=(2 * nn, 2 * nn)
        )
        return R, A

    def relative_residual(self, R, A) -> float:
        """Max-norm of the residual, each row divided by its largest Jacobian entry (so it
        reads in units of its unknown) and by the unknown's scale (the flux for ``psi``, the
        inflow's wall vorticity for ``omega``)."""
        row_max = np.asarray(abs(A).max(axis=1).todense()).ravel()
        scaled = np.abs(R) / np.where(row_max > 0, row_max, 1.0)
        return float(max(scaled[: self.nn].max() / self.flux, scaled[self.nn :].max() / self.omega_scale))


def _newton(system, x, nu, tol, max_iter):
    """Newton iterations from ``x``; returns ``(x, residual, n_iter, converged, history)``."""
    history = []
    for it in range(max_iter + 1):
        R, A = system.assemble(x, nu)
        res = system.relative_residual(R, A)
        history.append(res)
        if not np.isfinite(res):
            return x, res, it, False, history
        if res <= tol:
            return x, res, it, True, history
        if it == max_iter or (len(history) > 3 and res > 1e3 * min(history)):
            return x, res, it, False, history
        x = x - splu(A).solve(R)
    return x, res, it, False, history  # pragma: no cover - the loop returns


def _nodal_fields(system, psi, om, nu):
    """Velocities at the nodes (central differences of psi, the boundary data on the walls and
    the inlet) and the pressure recovered from the momentum equation."""
    a, h, dh = system.a, system.h, system.dh[:, None]
    psi_xi = np.gradient(psi, a, axis=0, edge_order=2)
    psi_eta = np.gradient(psi, h, axis=1, edge_order=2)
    u = psi_eta.copy()
    v = -(psi_xi - dh * psi_eta)
    u[:, [0, -1]] = 0.0  # no slip
    v[:, [0, -1]] = 0.0
    u[0, 1:-1] = system.u_in[1:-1]  # inflow, parallel to the walls
    v[0, 1:-1] = system.d1[0] * system.u_in[1:-1]
    return u, v, _pressure(system, u, v, om, nu)


def _pressure(system, u, v, om, nu):
    """Pressure from ``grad p = F = -(u . grad) u + nu (-omega_y, omega_x)`` by least squares.

    ``F`` is integrated along every grid edge by the trapezoid rule; the nodal pressure that fits
    these differences best (a five-point Laplacian system) is shifted to zero mean over the
    outlet nodes.
    """
    n, a, h, dh = system.n, system.a, system.h, system.dh[:, None]

    def grad(f):
        f_xi = np.gradient(f, a, axis=0, edge_order=2)
        f_eta = np.gradient(f, h, axis=1, edge_order=2)
        return f_xi - dh * f_eta, f_eta

    ux, uy = grad(u)
    vx, vy = grad(v)
    ox, oy = grad(om)
    fx = -(u * ux + v * uy) - nu * oy
    fy = -(u * vx + v * vy) + nu * ox
    y = system.eta[None, :] + system.d[:, None]
    idx = system.idx
    # Edges along xi and along eta: (from, to, integral of F . dr).
    g_xi = 0.5 * (fx[1:] + fx[:-1]) * a + 0.5 * (fy[1:] + fy[:-1]) * (y[1:] - y[:-1])
    g_eta = 0.5 * (fy[:, 1:] + fy[:, :-1]) * h
    start = np.concatenate([idx[:-1].ravel(), idx[:, :-1].ravel()])
    end = np.concatenate([idx[1:].ravel(), idx[:, 1:].ravel()])
    g = np.concatenate([g_xi.ravel(), g_eta.ravel()])
    m = g.size
    G = sp.csr_matrix(
        (np.concatenate([-np.ones(m), np.ones(m)]), (np.tile(np.arange(m), 2), np.concatenate([start, end]))),
        shape=(m, n * n),
    )
    K = (G.T @ G).tolil()
    rhs = G.T @ g
    pin = idx[n - 1, n // 2]  # fix the constant; shifted below
    K[pin, :] = 0.0
    K[pin, pin] = 1.0
    rhs[pin] = 0.0
    p = splu(K.tocsc()).solve(rhs).reshape(n, n)
    return p - p[n - 1].mean()


# --------------------------------------------------------------------------------------------
# Cost model (the checks that use it: _budget.py)
# --------------------------------------------------------------------------------------------
# A Stokes solve and ~4 Newton steps, each a sparse LU of the 2 N^2 streamfunction-vorticity
# unknowns, 0.02 s + 5 s (N / 129)^3 per sample (measured 0.04, 0.14, 0.65 s at 17, 33, 65 and
# 3.6-4.0 s, 3.75 s of CPU, at 129), divided by sqrt(threads); the LU factors hold about
# 12e6 (N / 129)^2.7 entries (12 bytes each) per thread.
def _pipe_sample_seconds(n: int) -> float:
    # Stokes solve, ~4 Newton steps (one sparse LU of 2 N^2 unknowns each) and the pressure.
    return 0.02 + 5.0 * (n / 129) ** 3


def _pipe_lu_bytes(n: int) -> int:
    # ~12 M entries in the LU factors at N = 129 (value and row index: 12 bytes each).
    return int(12 * 12e6 * (n / 129) ** 2.7)


def estimate_pipe(n_samples: int, resolution: int, *, n_fields: int, n_jobs: int | None) -> Estimate:
    """make_pipe: one Newton solve per sample (a sparse LU per step); X, y and one LU per thread."""
    threads = _threads(n_jobs)
    grid = n_samples * resolution**2 * _F8
    out = grid * (2 + n_fields)
    # The batch's mesh and three fields (5 grids per sample), the selected fields' copy, and per
    # thread the LU factors and ~40 work arrays of the solver.
    peak = (5 + n_fields) * grid + threads * (_pipe_lu_bytes(resolution) + 40 * resolution**2 * _F8)
    per_sample = _pipe_sample_seconds(resolution)
    seconds = n_samples * per_sample / math.sqrt(threads)
    return Estimate(
        "make_pipe",
        seconds,
        int(peak),
        int(out),
        {"n_samples": n_samples, "resolution": resolution},
        f"{n_samples} steady Navier-Stokes solves (Newton, a sparse LU of {2 * resolution**2} "
        f"unknowns per step), ~{format_seconds(per_sample)} each, {threads} thread(s)",
        "fewer n_samples or a coarser resolution (the cost grows like resolution^3); "
        "n_jobs=-1 solves samples in parallel threads",
    )


def estimate_solve_pipe(resolution: int) -> Estimate:
    """solve_pipe: one steady Navier-Stokes solve."""
    return Estimate(
        "solve_pipe",
        _pipe_sample_seconds(resolution),
        int(_pipe_lu_bytes(resolution) + 40 * resolution**2 * _F8),
        7 * resolution**2 * _F8,
        {"resolution": resolution},
        f"Newton steps with a sparse LU of {2 * resolution**2} unknowns each",
        "a coarser grid",
    )


# --------------------------------------------------------------------------------------------
# Solver and generator
# --------------------------------------------------------------------------------------------
def _check_control(
    offsets: Sequence[float] | np.ndarray, slopes: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.asarray(offsets, dtype=np.float64)
    slopes = np.asarray(slopes, dtype=np.float64)
    if offsets.ndim != 1 or offsets.size < 2 or slopes.shape != offsets.shape:
        raise ValueError(
            "offsets and slopes must be 1-D arrays of the same length >= 2 (one value per control "
            f"node), got shapes {offsets.shape} and {slopes.shape}"
        )
    if not (np.all(np.isfinite(offsets)) and np.all(np.isfinite(slopes))):
        raise ValueError("offsets and slopes must be finite")
    return offsets, slopes


_SOLVER = {
    "resolution": int_at_least(5),
    "length": FINITE_POSITIVE,
    "width": FINITE_POSITIVE,
    "viscosity": FINITE_POSITIVE,
    "inflow_velocity": FINITE_POSITIVE,
    "tol": [finite_interval(0, 1, closed="neither")],
    "max_iter": POSITIVE_INT,
}


@validate_params(
    {"offsets": ["array-like"], "slopes": ["array-like"], **_SOLVER},
    prefer_skip_nested_validation=True,
)
def solve_pipe(
    offsets: Sequence[float] | np.ndarray,
    slopes: Sequence[float] | np.ndarray,
    resolution: int = 129,
    *,
    length: float = 10.0,
    width: float = 1.0,
    viscosity: float = 0.005,
    inflow_velocity: float = 1.0,
    tol: float = 1e-10,
    max_iter: int = 20,
) -> Bunch:
    """Solve steady incompressible Navier-Stokes flow in a pipe with a curved centreline.

    The pipe of length ``length`` and constant vertical width ``width`` has the centreline
    ``y = d(x)``, the piecewise cubic Hermite curve with the vertical positions ``offsets`` and
    the slopes ``dy/dx`` ``slopes`` at equally spaced control nodes (``x = 0`` to ``length``).
    The grid has ``resolution x resolution`` nodes ``x_i = i length / (resolution - 1)``,
    ``y_ij = eta_j + d(x_i)``, ``eta_j`` equally spaced in ``[-width/2, width/2]``.

    Boundary conditions: at ``x = 0`` the parabolic inflow
    ``u = inflow_velocity (1 - (2 eta / width)^2)`` parallel to the walls (``v = d'(0) u``); no
    slip on the walls; at ``x = length`` the flow leaves parallel to the walls (``d/dxi`` of the
    streamfunction and of the vorticity vanish along the grid lines), and the pressure is zero
    on average over the outlet.

    The equations are solved in streamfunction-vorticity form with second-order finite
    differences on the mapped grid (second-order upwind for the advection of vorticity, a
    second-order wall-vorticity closure), by Newton's method on the coupled sparse system
    (SuperLU), started from the Stokes solution; if Newton fails, it is repeated through a
    continuation in the viscosity (8, 4, 2, 1 times ``viscosity``). The pressure is recovered
    afterwards from the momentum equation. Mass is conserved identically (the velocities derive
    from the streamfunction, and their central-difference divergence is zero at every interior
    node up to round-off).

    Parameters
    ----------
    offsets : array-like of shape (n_nodes,)
        Vertical positions of the centreline at the ``n_nodes >= 2`` control nodes.
    slopes : array-like of shape (n_nodes,)
        Slopes ``dy/dx`` of the centreline at the control nodes.
    resolution : int, default=129
        Nodes per grid axis (along and across the pipe), ``>= 5``.
    length : float, default=10.0
        Length of the pipe along ``x``.
    width : float, default=1.0
        Vertical width of the pipe.
    viscosity : float, default=0.005
        Kinematic viscosity ``nu``.
    inflow_velocity : float, default=1.0
        Peak velocity of the parabolic inflow; the Reynolds number is
        ``inflow_velocity * width / viscosity``.
    tol : float, default=1e-10
        Convergence criterion: the relative residual of the discrete equations (each equation
        divided by its largest coefficient and by the scale of its unknown: the flux for the
        streamfunction, ``4 inflow_velocity / width`` for the vorticity), in ``(0, 1)``.
    max_iter : int, default=20
        Newton iterations allowed (per continuation step).

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        With ``x``, ``y`` (the mesh coordinates), ``velocity_x``, ``velocity_y``,
        ``pressure``, ``streamfunction`` and ``vorticity``, all of shape
        ``(resolution, resolution)`` (axis 0 along the pipe); ``residual`` (the final relative
        residual, ``<= tol``), ``n_iter`` (Newton iterations in all), ``residual_history`` and
        ``flux`` (the volume flux of the inflow).

    Raises
    ------
    RuntimeError
        If Newton's method does not reach ``tol``, even through the continuation; the message
        gives the residual reached. A result is never returned unconverged.

    Examples
    --------
    >>> import numpy as np
    >>> flow = solve_pipe([0.0, 0.0], [0.0, 0.0], 17, length=2.0)  # a straight pipe
    >>> error = flow.velocity_x[8] - (1 - 4 * flow.y[8] ** 2)  # against Poiseuille
    >>> round(float(np.abs(error).max()), 4)  # (4/3) h^2, h = 1/16
    0.0052
    >>> bool(flow.residual <= 1e-10)
    True
    """
    offsets, slopes = _check_control(offsets, slopes)
    n = int(resolution)
    check_solver(estimate_solve_pipe(n), None)
    return _solve_pipe(
        offsets,
        slopes,
        n,
        length=length,
        width=width,
        viscosity=viscosity,
        inflow_velocity=inflow_velocity,
        tol=tol,
        max_iter=max_iter,
    )


def _solve_pipe(
    offsets: np.ndarray,
    slopes: np.ndarray,
    n: int,
    *,
    length: float,
    width: float,
    viscosity: float,
    inflow_velocity: float,
    tol: float,
    max_iter: int,
) -> Bunch:
    """:func:`solve_pipe` on checked control nodes (:func:`_check_control`), without the cost check.

    ``make_pipe`` calls it directly: it has checked the cost of the whole request.
    """
    length, width, nu = float(length), float(width), float(viscosity)
    system = _System(offsets, slopes, n, length, width, float(inflow_velocity))
    # Stokes flow first: a linear solve, then Newton at the requested viscosity.
    R, A = system.assemble(np.zeros(2 * system.nn), nu, convection=False)
    stokes = -splu(A).solve(R)
    x, res, n_iter, converged, history = _newton(system, stokes, nu, tol, max_iter)
    if not converged:
        x, total = stokes, n_iter
        for factor in (8.0, 4.0, 2.0, 1.0):
            x, res, it, converged, steps = _newton(system, x, nu * factor, tol, max_iter)
            total += it
            history += steps
            if not converged:
                break
        n_iter = total
    if not converged:
        raise RuntimeError(
            f"solve_pipe did not converge: relative residual {res:.3g} > tol={tol:g} after "
            f"{n_iter} Newton iterations (Reynolds number {inflow_velocity * width / nu:.3g}); "
            "a larger viscosity, a gentler centreline or a larger max_iter may help"
        )
    psi = x[: system.nn].reshape(n, n).copy()
    om = x[system.nn :].reshape(n, n).copy()
    u, v, p = _nodal_fields(system, psi, om, nu)
    return Bunch(
        x=np.repeat(system.xi[:, None], n, axis=1),
        y=system.eta[None, :] + system.d[:, None],
        velocity_x=u,
        velocity_y=v,
        pressure=p,
        streamfunction=psi,
        vorticity=om,
        residual=res,
        n_iter=n_iter,
        residual_history=np.asarray(history),
        flux=system.flux,
    )


def _pipe_sample(offsets: np.ndarray, slopes: np.ndarray, resolution: int, options: dict) -> tuple:
    """One sample of make_pipe (what its cache stores): mesh ``(N, N, 2)``, fields ``(3, N, N)``
    in the Geo-FNO ``Q`` order, the final residual and the Newton iterations."""
    # make_pipe has checked the cost of the whole request, and its control nodes (finite
    # float64 draws, n_control >= 2 of each) pass solve_pipe's checks by construction.
    flow = _solve_pipe(offsets, slopes, resolution, **options)
    mesh = np.stack([flow.x, flow.y], axis=-1)
    fields = np.stack([flow[name] for name in PIPE_FIELDS])
    return mesh, fields, flow.residual, flow.n_iter


@validate_params(
    {
        "n_samples": POSITIVE_INT,
        **_SOLVER,
        "n_control": int_at_least(2),
        "max_offset": FINITE_NON_NEGATIVE,
        "max_slope": FINITE_NON_NEGATIVE,
        "fields": [StrOptions(set(PIPE_FIELDS)), list, tuple],
        "return_info": ["boolean"],
        "n_jobs": N_JOBS,
        "random_state": RANDOM_STATE,
        "verbose": ["verbose"],
        "memory": MEMORY,
    },
    prefer_skip_nested_validation=True,
)
def make_pipe(
    n_samples: int = 100,
    resolution: int = 129,
    *,
    length: float = 10.0,
    width: float = 1.0,
    viscosity: float = 0.005,
    inflow_velocity: float = 1.0,
    tol: float = 1e-10,
    max_iter: int = 20,
    n_control: int = 5,
    max_offset: float = 1.0,
    max_slope: float = 0.4,
    fields: str | Sequence[str] = "velocity_x",
    return_info: bool = False,
    n_jobs: int | None = None,
    random_state: int | np.random.RandomState | None = None,
    verbose: int = 0,
    memory: Memory | str | None = None,
) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, Bunch]:
    """Generate the Geo-FNO pipe benchmark: the pipe's mesh -> its steady flow.

    Each sample is a pipe of length ``length`` and constant vertical width ``width`` whose
    centreline is a random piecewise cubic Hermite curve through ``n_control`` equally spaced
    control nodes: the vertical position is 0 at the inlet and uniform in
    ``[-max_offset, max_offset]`` at the other nodes, the slope ``dy/dx`` uniform in
    ``[-max_slope, max_slope]`` at every node. The steady incompressible Navier-Stokes flow
    (parabolic inflow of peak ``inflow_velocity`` parallel to the walls, no slip, outflow
    parallel to the walls at zero mean pressure) is computed on the mapped
    ``resolution x resolution`` grid by :func:`solve_pipe`.

    A sample whose solve does not converge to ``tol`` is never returned: the call raises a
    RuntimeError naming the sample and its geometry.

    Parameters
    ----------
    n_samples : int, default=100
        Number of pipes.
    resolution : int, default=129
        Nodes per grid axis, ``>= 5`` (Geo-FNO: 129).
    length : float, default=10.0
        Length of the pipe.
    width : float, default=1.0
        Vertical width of the pipe.
    viscosity : float, default=0.005
        Kinematic viscosity.
    inflow_velocity : float, default=1.0
        Peak velocity of the parabolic inflow (Reynolds number
        ``inflow_velocity * width / viscosity``, 200 by default).
    tol : float, default=1e-10
        Convergence criterion of every solve (the relative residual, see :func:`solve_pipe`).
    max_iter : int, default=20
        Newton iterations allowed per solve (per continuation step).
    n_control : int, default=5
        Control nodes of the centreline, ``>= 2`` (Geo-FNO: 5, four cubic pieces).
    max_offset : float, default=1.0
        Largest vertical position of the centreline at the control nodes after the first.
    max_slope : float, default=0.4
        Largest slope ``dy/dx`` of the centreline at the control nodes.
    fields : {"velocity_x", "velocity_y", "pressure"} or list of them, default="velocity_x"
        Output field(s); a list gives the channels in its order (all three in the order of the
        Geo-FNO ``Q`` arrays: ``["velocity_x", "velocity_y", "pressure"]``).
    return_info : bool, default=False
        Also return the per-sample convergence report and geometry.
    n_jobs : int or None, default=None
        Threads solving samples concurrently (``None`` means 1, ``-1`` all cores).
    random_state : int, RandomState instance or None, default=None
        Seed.
    verbose : int, default=0
        0 is silent; 1 or more shows a progress bar over samples. True and False work as 1 and 0.
    memory : joblib.Memory, str, path-like or None, default=None
        Cache for the solves, one entry per sample keyed on its geometry and the physical
        parameters: a generation that stops part-way resumes where it stopped.

    Returns
    -------
    X : ndarray of shape (n_samples, resolution, resolution, 2), float64
        Mesh coordinates ``(x, y)`` (axis 1 along the pipe, axis 2 across), the layout
        :func:`load_geofno` returns for the Geo-FNO files.
    y : ndarray of shape (n_samples, resolution, resolution) or (..., n_fields), float64
        The field(s) at the nodes.
    info : :class:`~sklearn.utils.Bunch`
        Only with ``return_info=True``: ``residual`` (n_samples,), the final relative residual
        of each solve (each ``<= tol``); ``n_iter`` (n_samples,), its Newton iterations;
        ``offsets`` and ``slopes`` (n_samples, n_control), the centrelines.

    Raises
    ------
    RuntimeError
        If a sample's solve does not converge (see :func:`solve_pipe`), naming the sample and
        its centreline.

    Examples
    --------
    >>> X, y = make_pipe(2, 17, random_state=0)
    >>> X.shape, y.shape
    ((2, 17, 17, 2), (2, 17, 17))
    >>> X, y, info = make_pipe(2, 17, fields=["velocity_x", "velocity_y", "pressure"],
    ...                        return_info=True, random_state=0)
    >>> y.shape, bool((info.residual <= 1e-10).all())
    ((2, 17, 17, 3), True)
    """
    idx, single = field_indices(fields, PIPE_FIELDS)
    n_jobs = effective_n_jobs(n_jobs)
    estimate = estimate_pipe(n_samples, resolution, n_fields=len(idx), n_jobs=n_jobs)
    announce(estimate, memory, verbose)
    rng = check_random_state(random_state)
    offsets = np.zeros((n_samples, n_control))
    offsets[:, 1:] = rng.uniform(-max_offset, max_offset, size=(n_samples, n_control - 1))
    slopes = rng.uniform(-max_slope, max_slope, size=(n_samples, n_control))
    options = {
        "length": float(length),
        "width": float(width),
        "viscosity": float(viscosity),
        "inflow_velocity": float(inflow_velocity),
        "tol": float(tol),
        "max_iter": int(max_iter),
    }
    samples = solve_samples(
        memory,
        estimate,
        verbose,
        _pipe_sample,
        [(o, s, int(resolution), options) for o, s in zip(offsets, slopes)],
        n_jobs=n_jobs,
        desc="Pipe",
        describe=lambda i: (
            f"make_pipe: sample {i} (offsets={offsets[i].tolist()}, slopes={slopes[i].tolist()})"
        ),
    )
    mesh = np.stack([sample[0] for sample in samples])
    q = np.stack([sample[1] for sample in samples])
    residual = np.array([sample[2] for sample in samples])
    n_iter = np.array([sample[3] for sample in samples], dtype=np.int64)
    y = q[:, idx[0]] if single else np.ascontiguousarray(np.moveaxis(q[:, idx], 1, -1))
    if not return_info:
        return mesh, y
    return mesh, y, Bunch(residual=residual, n_iter=n_iter, offsets=offsets, slopes=slopes)
