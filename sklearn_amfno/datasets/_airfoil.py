"""Steady transonic Euler flow past a morphed NACA-0012 on a C-grid (the Geo-FNO airfoil benchmark).

The mesh is an algebraic C-grid of ``n_around x n_normal`` nodes: axis 0 runs around the C, from
the lower end of the wake cut (``x = 1 + far_field``) along the wake to the trailing edge, under
the airfoil to the leading edge, over it back to the trailing edge and along the wake to its
upper end; axis 1 runs away from the airfoil and the wake to the far field (the Geo-FNO
``NACA_Cylinder_X``/``_Y`` layout). Nodes ``(i, 0)`` and ``(n_around - 1 - i, 0)`` of the wake
coincide: the wake cut is an interior face.

The flow is computed by a cell-centred finite-volume scheme on the mesh's quadrilaterals: MUSCL
reconstruction of the primitive variables in grid-index space with the (smooth) van Albada
limiter, the HLLC flux of :mod:`._euler_1d` in each face's normal frame (the tangential velocity
carried by the mass flux), mirror ghost cells on the slip wall, free-stream ghost cells on the far
field and at the ends of the wake (through the upwind flux a characteristic condition: incoming
waves from outside, outgoing ones from inside), and the cells across the wake cut as ghost cells.
The steady state is reached by implicit pseudo-time stepping (backward Euler with a local time
step, its Courant number raised as the residual falls) whose matrix is the first-order scheme's
Jacobian (finite differences with a ten-colour colouring, SuperLU), refactorised only when the
Courant number has grown fourfold: first for the first-order scheme (Newton-like, robust) down to
1e-2 of its first residual, then, from that flow, Newton-Krylov steps for the second-order
residual (GMRES on its directional differences, preconditioned by that LU).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import cast

import numpy as np
import scipy.sparse as sp
from joblib import Memory
from scipy.optimize import brentq
from scipy.sparse.linalg import splu
from sklearn.utils import Bunch, check_random_state
from threadpoolctl import threadpool_limits

from .._compat import POSITIVE_INT, RANDOM_STATE, StrOptions, finite_interval, validate_params
from ._budget import _F8, Estimate, _threads, announce, check_solver, format_seconds
from ._cache import solve_samples
from ._constraints import FINITE_NON_NEGATIVE, MEMORY, N_JOBS, effective_n_jobs, field_indices
from ._euler_1d import _riemann_flux

__all__ = ["make_airfoil", "solve_airfoil"]

#: The fields of the Geo-FNO airfoil ``Q`` arrays, in their order.
AIRFOIL_FIELDS = ("density", "velocity_x", "velocity_y", "pressure", "mach")
#: Ratio of specific heats (air).
GAMMA = 1.4
#: Half-thickness of the design element's box around the NACA-0012 (its largest half-thickness).
_BOX = 0.06
_N_CONTROL = 8
#: Shorter wall tangents tried on a mesh whose grid lines would cross (each 0.75x the last).
_UNFOLD_TRIES = 8
#: Steps over which the forces must be stationary (the second convergence criterion).
FORCE_WINDOW = 20
#: The Courant number of the steps after ``max_iter`` (at most ``max_iter // 6`` of them) of a
#: second-order solve that has not converged: a limit cycle of the large Courant numbers decays.
RESCUE_CFL = 50.0


# --------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------
def _half_thickness(x: np.ndarray) -> np.ndarray:
    """NACA-0012 half-thickness with the closed trailing edge (last coefficient -0.1036)."""
    return 0.6 * (0.2969 * np.sqrt(x) - 0.1260 * x - 0.3516 * x**2 + 0.2843 * x**3 - 0.1036 * x**4)


def _design_displacement(x: np.ndarray, y: np.ndarray, displacements: np.ndarray) -> np.ndarray:
    """Vertical displacement of the cubic design element at ``(x, y)``.

    The element is the box ``[0, 1] x [-0.06, 0.06]`` with 4 x 2 control nodes: cubic Bernstein
    polynomials along ``x``, linear along ``y``; ``displacements[:4]`` move the lower nodes and
    ``displacements[4:]`` the upper ones (left to right).
    """
    t = np.clip(x, 0.0, 1.0)
    bern = np.stack([(1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t**2 * (1 - t), t**3])
    eta = (y + _BOX) / (2 * _BOX)
    lower = displacements[:4] @ bern
    upper = displacements[4:] @ bern
    return (1 - eta) * lower + eta * upper


def _geometric(n: int, first: float, total: float) -> np.ndarray:
    """``n + 1`` points from 0 to ``total`` in a geometric progression starting with ``first``."""
    if first * n >= total:
        return np.linspace(0.0, total, n + 1)
    ratio = brentq(lambda r: first * (r**n - 1) / (r - 1) - total, 1 + 1e-12, 100.0)
    return np.r_[0.0, np.cumsum(first * ratio ** np.arange(n))]


def _layout(n_around: int) -> tuple[int, int]:
    """Cells along each side of the airfoil and along each side of the wake (Geo-FNO: 70, 40)."""
    cells = n_around - 1
    n_side = int(round(cells * 70 / 220))
    return n_side, (cells - 2 * n_side) // 2


def _c_grid(displacements: np.ndarray, n_around: int, n_normal: int, far_field: float) -> np.ndarray:
    """Node coordinates ``(n_around, n_normal, 2)`` of the C-grid around the morphed airfoil.

    Surface nodes: a half-cosine/cosine blend in ``x`` (clustered at the leading edge, moderately
    at the trailing edge), 70 cells a side at ``n_around = 221``; wake nodes in a geometric
    progression from the trailing edge to ``x = 1 + far_field``. Far field: a half circle of radius
    ``far_field`` about the trailing edge and the lines ``y = +-far_field``. Each grid line from the
    surface to the far field is a cubic Hermite curve leaving the surface along a smoothed normal
    (orthogonal at the wall, away from the trailing edge), its nodes in a geometric progression
    (first cell ~0.006 chords at 51 nodes).
    """
    n_side, n_wake = _layout(n_around)
    s = np.linspace(0.0, 1.0, n_side + 1)
    x = 0.25 * (1 - np.cos(np.pi * s)) + 0.5 * (1 - np.cos(0.5 * np.pi * s))
    t = _half_thickness(x)
    sx = np.r_[x[::-1], x[1:]]
    sy = np.r_[-t[::-1], t[1:]]
    sy = sy + _design_displacement(sx, sy, displacements)
    y_te = sy[0]  # both trailing-edge nodes move alike (the same x and y)
    xw = 1.0 + _geometric(n_wake, x[-1] - x[-2], far_field)
    inner = np.stack(
        [
            np.r_[xw[::-1], sx[1:-1], xw],
            np.r_[np.full(n_wake + 1, y_te), sy[1:-1], np.full(n_wake + 1, y_te)],
        ],
        axis=-1,
    )
    psi = 0.5 * np.pi * np.r_[s[::-1], s[1:]]
    side = np.r_[-np.ones(n_side + 1), np.ones(n_side)]
    outer = np.concatenate(
        [
            np.stack([xw[::-1][:-1], np.full(n_wake, -far_field)], axis=-1),
            np.stack([1 - far_field * np.cos(psi), side * far_field * np.sin(psi)], axis=-1),
            np.stack([xw[1:], np.full(n_wake, far_field)], axis=-1),
        ]
    )
    tangent = np.gradient(inner, axis=0)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=-1)
    # The wall normals fan out at the sharp trailing edge: smoothing them along the C (the wake's
    # fixed) keeps neighbouring grid lines from crossing there.
    for _ in range(30):
        normal[: n_wake + 1], normal[-n_wake - 1 :] = (0.0, -1.0), (0.0, 1.0)
        normal /= np.linalg.norm(normal, axis=1, keepdims=True)
        normal[1:-1] = 0.25 * (normal[:-2] + 2 * normal[1:-1] + normal[2:])
    normal[: n_wake + 1], normal[-n_wake - 1 :] = (0.0, -1.0), (0.0, 1.0)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    span = outer - inner
    length = np.linalg.norm(span, axis=1, keepdims=True)
    first = 0.4 / n_side * 50 / (n_normal - 1)
    u = _geometric(n_normal - 1, first / far_field, 1.0)[None, :, None]
    h00, h10 = 2 * u**3 - 3 * u**2 + 1, u**3 - 2 * u**2 + u
    h01, h11 = -2 * u**3 + 3 * u**2, u**3 - u**2
    # Where the design element bends the surface steeply down to the trailing edge, the lines
    # leaving the wall just ahead of it can cross the trailing edge's own line (1-2 % of the
    # shapes at 221 x 51). Such a mesh gets shorter wall tangents, so that its lines turn
    # towards the far field sooner, until no cell is inverted; every other mesh is unchanged.
    for tangent_scale in 0.2 * 0.75 ** np.arange(_UNFOLD_TRIES):
        nodes = (
            h00 * inner[:, None]
            + h10 * (tangent_scale * length * normal)[:, None]
            + h01 * outer[:, None]
            + h11 * span[:, None]
        )
        if _cell_areas(nodes).min() > 0:
            break
    return nodes


def _cell_areas(nodes: np.ndarray) -> np.ndarray:
    """Signed areas ``(n_around - 1, n_normal - 1)`` of the quadrilateral cells of ``nodes``
    (half the cross product of their diagonals; positive for the C-grid's orientation)."""
    x, y = nodes[..., 0], nodes[..., 1]
    d1x, d1y = x[1:, 1:] - x[:-1, :-1], y[1:, 1:] - y[:-1, :-1]
    d2x, d2y = x[:-1, 1:] - x[1:, :-1], y[:-1, 1:] - y[1:, :-1]
    return 0.5 * (d1x * d2y - d1y * d2x)


# --------------------------------------------------------------------------------------------
# The finite-volume scheme
# --------------------------------------------------------------------------------------------
def _primitive(u: np.ndarray) -> np.ndarray:
    rho = u[0]
    vx, vy = u[1] / rho, u[2] / rho
    return np.stack([rho, vx, vy, (GAMMA - 1) * (u[3] - 0.5 * rho * (vx * vx + vy * vy))])


def _conserved(w: np.ndarray) -> np.ndarray:
    rho, vx, vy, p = w
    return np.stack([rho, rho * vx, rho * vy, p / (GAMMA - 1) + 0.5 * rho * (vx * vx + vy * vy)])


def _take(a: np.ndarray, axis: int, lo, hi) -> np.ndarray:
    index = [slice(None)] * a.ndim
    index[axis] = slice(lo, hi)
    return a[tuple(index)]


class _Scheme:
    """Residual, local time step and first-order Jacobian on the C-grid ``nodes``.

    Cells ``(nic, njc) = (n_around - 1, n_normal - 1)``; the state ``(4, nic, njc)`` holds
    ``(rho, rho vx, rho vy, E)``. Face vectors (length times unit normal): ``Si`` ``(2, nic + 1,
    njc)`` along ``+i``, ``Sj`` ``(2, nic, njc + 1)`` along ``+j``. ``wall=False`` replaces the
    slip wall by the far-field state (the free-stream test).
    """

    def __init__(self, nodes: np.ndarray, mach: float, angle_of_attack: float, wall: bool = True):
        x, y = nodes[..., 0], nodes[..., 1]
        self.nic, self.njc = x.shape[0] - 1, x.shape[1] - 1
        self.Si = np.stack([y[:, 1:] - y[:, :-1], -(x[:, 1:] - x[:, :-1])])
        self.Sj = np.stack([-(y[1:] - y[:-1]), x[1:] - x[:-1]])
        self.area = _cell_areas(nodes)
        alpha = np.deg2rad(angle_of_attack)
        speed = mach * np.sqrt(GAMMA)  # rho = p = 1: c = sqrt(gamma)
        self.w_inf = np.array([1.0, speed * np.cos(alpha), speed * np.sin(alpha), 1.0])
        self.u_inf = _conserved(self.w_inf)
        self.q_inf = 0.5 * speed**2
        self.alpha = alpha
        _, n_wake = _layout(self.nic + 1)
        self.n_wake = n_wake
        self.is_wall = np.zeros(self.nic, dtype=bool)
        self.is_wall[n_wake : self.nic - n_wake] = wall
        self.wall_cells = np.arange(n_wake, self.nic - n_wake)
        self.n_wall = self.Sj[:, :, 0] / np.hypot(*self.Sj[:, :, 0])
        self.partner = self.nic - 1 - np.arange(self.nic)  # the cell across the wake cut
        self.frames = {}
        for key, S in (("i", self.Si), ("j", self.Sj)):
            length = np.hypot(S[0], S[1])
            self.frames[key] = (length, S[0] / length, S[1] / length)

    def padded(self, w: np.ndarray) -> np.ndarray:
        """Primitive state with two ghost cells on every side ``(4, nic + 4, njc + 4)``."""
        q = np.empty((4, self.nic + 4, self.njc + 4))
        q[:, 2:-2, 2:-2] = w
        far = self.w_inf[:, None, None]
        q[:, :2], q[:, -2:], q[:, 2:-2, -2:] = far, far, far
        n0, n1 = self.n_wall
        for k in (0, 1):
            ghost = w[:, self.partner, k]
            wk = w[:, :, k]
            un2 = 2 * (wk[1] * n0 + wk[2] * n1)
            mirror = np.stack([wk[0], wk[1] - un2 * n0, wk[2] - un2 * n1, wk[3]])
            ghost[:, self.is_wall] = mirror[:, self.is_wall]
            q[:, 2:-2, 1 - k] = ghost
        return q

    @staticmethod
    def _faces(q: np.ndarray, axis: int, order: int) -> tuple[np.ndarray, np.ndarray]:
        """Left and right states on the faces along ``axis`` of the padded array ``q``."""
        n = q.shape[axis]
        if order == 1:
            return _take(q, axis, 1, n - 2), _take(q, axis, 2, n - 1)
        d = np.diff(q, axis=axis)
        a, b = _take(d, axis, None, -1), _take(d, axis, 1, None)
        ab = a * b
        # Half the van Albada slope (zero at extrema); smooth, which helps the steady state.
        half = (ab + np.abs(ab)) * (a + b) / (4 * (a * a + b * b) + 1e-300)
        qc = _take(q, axis, 1, -1)
        return _take(qc, axis, None, -1) + _take(half, axis, None, -1), _take(qc, axis, 1, None) - _take(
            half, axis, 1, None
        )

    def _flux(self, left: np.ndarray, right: np.ndarray, key: str) -> np.ndarray:
        """HLLC flux through the faces (times their length), in Cartesian components."""
        length, nx, ny = self.frames[key]
        un_l, ut_l = left[1] * nx + left[2] * ny, left[2] * nx - left[1] * ny
        un_r, ut_r = right[1] * nx + right[2] * ny, right[2] * nx - right[1] * ny
        fm, fn, fe = _riemann_flux(
            np.stack([left[0], un_l, left[3]]), np.stack([right[0], un_r, right[3]]), GAMMA, "hllc"
        )
        # 2-D HLLC is the 1-D one with the tangential velocity carried by the mass flux, taken
        # from the side of the contact (whose sign is the mass flux's).
        ut = np.where(fm >= 0, ut_l, ut_r)
        ft = fm * ut
        fe = fe + 0.5 * ft * ut
        return np.stack([fm, fn * nx - ft * ny, fn * ny + ft * nx, fe]) * length

    def residual(self, u: np.ndarray, order: int = 2) -> np.ndarray:
        """Net flux out of every cell ``(4, nic, njc)`` (``d(area u)/dt = -residual``)."""
        q = self.padded(_primitive(u))
        fi = self._flux(*self._faces(q[:, :, 2:-2], 1, order), "i")
        fj = self._flux(*self._faces(q[:, 2:-2, :], 2, order), "j")
        self.wall_flux = fj[:, :, 0]
        return (fi[:, 1:] - fi[:, :-1]) + (fj[:, :, 1:] - fj[:, :, :-1])

    def spectral_radius(self, u: np.ndarray) -> np.ndarray:
        """Sum of the convective spectral radii of the two directions (area / local step at CFL 1)."""
        rho, vx, vy, p = _primitive(u)
        c = np.sqrt(GAMMA * p / rho)
        si = 0.5 * (self.Si[:, 1:] + self.Si[:, :-1])
        sj = 0.5 * (self.Sj[:, :, 1:] + self.Sj[:, :, :-1])
        return (
            np.abs(vx * si[0] + vy * si[1])
            + c * np.hypot(si[0], si[1])
            + np.abs(vx * sj[0] + vy * sj[1])
            + c * np.hypot(sj[0], sj[1])
        )

    # -- the first-order Jacobian by coloured finite differences --------------------------------
    def _sparsity(self) -> None:
        nic, njc = self.nic, self.njc
        I, J = np.meshgrid(np.arange(nic), np.arange(njc), indexing="ij")
        # (i + 2 j) mod 5 separates the five-point neighbourhoods; the lower wake's first two rows
        # get five colours of their own, because their cells also reach across the cut.
        self.color = (I + 2 * J) % 5 + 5 * ((I < self.n_wake) & (J < 2))
        cell = I * njc + J
        q_list, p_list = [], []  # residual of cell q depends on the state of cell p
        for di, dj in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)):
            qi, qj = I + di, J + dj
            ok = (qi >= 0) & (qi < nic) & (qj >= 0) & (qj < njc)
            q_list.append(qi[ok] * njc + qj[ok])
            p_list.append(cell[ok])
        cut = np.flatnonzero(~self.is_wall)
        q_list.append(self.partner[cut] * njc)
        p_list.append(cut * njc)
        self.q, self.p = np.concatenate(q_list), np.concatenate(p_list)
        m = np.arange(4)
        self.rows = (4 * self.q[:, None, None] + m[None, :, None] + 0 * m).ravel()
        self.cols = (4 * self.p[:, None, None] + 0 * m[:, None] + m[None, None, :]).ravel()

    def matrix(self, u: np.ndarray, diagonal: np.ndarray) -> sp.csc_matrix:
        """``diag(diagonal) + d(residual_1)/du`` (first-order residual), by coloured differences."""
        if not hasattr(self, "q"):
            self._sparsity()
        n = self.nic * self.njc
        base = self.residual(u, 1)
        deriv = np.empty((10, 4, 4, n))  # colour, perturbed component, residual component, cell
        scale = np.maximum(np.abs(u).reshape(4, -1).max(axis=1), 1.0)
        for c in range(10):
            mask = self.color == c
            for m in range(4):
                h = 1e-7 * scale[m]
                up = u.copy()
                up[m][mask] += h
                deriv[c, m] = ((self.residual(up, 1) - base) / h).reshape(4, -1)
        blocks = np.swapaxes(deriv[self.color.ravel()[self.p], :, :, self.q], 1, 2)
        diag = np.arange(4 * n)
        return sp.csc_matrix(
            (
                np.r_[blocks.ravel(), np.repeat(diagonal.ravel(), 4)],
                (np.r_[self.rows, diag], np.r_[self.cols, diag]),
            ),
            shape=(4 * n, 4 * n),
        )

    def forces(self) -> tuple[float, float, np.ndarray]:
        """Lift and drag coefficients (chord 1) and the wall pressure of the last residual."""
        f = self.wall_flux[:, self.wall_cells]
        S = self.Sj[:, self.wall_cells, 0]
        p_wall = (f[1] * S[0] + f[2] * S[1]) / (S[0] ** 2 + S[1] ** 2)
        fx, fy = -f[1].sum(), -f[2].sum()  # the force on the body
        ca, sa = np.cos(self.alpha), np.sin(self.alpha)
        return (fy * ca - fx * sa) / self.q_inf, (fx * ca + fy * sa) / self.q_inf, p_wall

    def nodal(self, u: np.ndarray) -> np.ndarray:
        """Primitive fields at the nodes: the mean of the four cells around each (ghosts included)."""
        q = self.padded(_primitive(u))
        return 0.25 * (q[:, 1:-2, 1:-2] + q[:, 2:-1, 1:-2] + q[:, 1:-2, 2:-1] + q[:, 2:-1, 2:-1])


def _force_change(forces: list, window: int = FORCE_WINDOW) -> float:
    """Largest change of the lift or drag coefficient over the last ``window`` steps."""
    if len(forces) <= window:
        return np.inf
    recent = np.asarray(forces[-window - 1 :])
    return float(np.max(recent.max(axis=0) - recent.min(axis=0)))


def _flat(a: np.ndarray) -> np.ndarray:
    """``(4, nic, njc)`` -> the unknowns' order of the matrix (cell-major, 4 per cell)."""
    return np.moveaxis(a, 0, -1).ravel()


def _unflat(v: np.ndarray, scheme: _Scheme) -> np.ndarray:
    return np.moveaxis(v.reshape(scheme.nic, scheme.njc, 4), -1, 0)


class _Factor:
    """The first-order matrix's LU in single precision: a preconditioner (and a pseudo-time step
    of the first-order phase), where a 1e-3 relative error costs nothing.

    First with diagonal pivots (SuperLU's threshold 0: a row exchange only where a diagonal
    entry is zero) on the minimum-degree ordering of ``A + A^T`` (the matrix is structurally
    symmetric and its pseudo-time diagonal dominates): at 221 x 51, 7M entries in ``L + U``
    against 17M with partial pivoting on the ordering of ``A^T A``, a factorisation about 10x and
    a solve about 5-10x faster (``docs/datasets.md``). A factorisation that fails, or whose solve
    of a probe misses by more than ``PROBE_TOL``, is replaced by the partially pivoted one
    (``pivoted``).
    """

    PROBE_TOL = 1e-2

    def __init__(self, matrix: sp.csc_matrix) -> None:
        a = matrix.astype(np.float32)
        self.pivoted = False
        try:
            self.lu = splu(
                a, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True}
            )
            probe = np.ones(a.shape[0], dtype=np.float32)
            b = a @ probe
            x = self.lu.solve(b)
            ok = bool(np.isfinite(x).all()) and np.linalg.norm(x - probe) <= self.PROBE_TOL * np.linalg.norm(
                probe
            )
        except RuntimeError:  # SuperLU: "Factor is exactly singular"
            ok = False
        if not ok:
            self.lu = splu(a, permc_spec="MMD_ATA")
            self.pivoted = True

    def solve(self, b: np.ndarray) -> np.ndarray:
        return self.lu.solve(b.astype(np.float32)).astype(np.float64)


def _gmres(
    apply: Callable[[np.ndarray], np.ndarray],
    b: np.ndarray,
    precondition: Callable[[np.ndarray], np.ndarray],
    rtol: float,
    n_vectors: int,
) -> np.ndarray:
    """One cycle of right-preconditioned GMRES for ``A x = b`` (``A`` given by ``apply``).

    Stops when the residual ``||b - A x||`` (of the system itself, not the preconditioned one)
    is ``<= rtol ||b||`` or after ``n_vectors`` Krylov vectors. Written here rather than taken
    from scipy, whose GMRES changed its tolerance and iteration semantics across the versions
    the package supports (the iteration diverged on scipy 1.9).
    """
    beta = float(np.linalg.norm(b))
    if beta == 0.0:
        return np.zeros_like(b)
    basis = [b / beta]
    directions: list[np.ndarray] = []
    hessenberg = np.zeros((n_vectors + 1, n_vectors))
    y: np.ndarray = np.zeros(0)
    for j in range(n_vectors):
        z = precondition(basis[j])
        directions.append(z)
        w = apply(z)
        for i in range(j + 1):  # modified Gram-Schmidt
            hessenberg[i, j] = float(w @ basis[i])
            w = w - hessenberg[i, j] * basis[i]
        hessenberg[j + 1, j] = float(np.linalg.norm(w))
        target = np.zeros(j + 2)
        target[0] = beta
        y = np.linalg.lstsq(hessenberg[: j + 2, : j + 1], target, rcond=None)[0]
        residual = float(np.linalg.norm(target - hessenberg[: j + 2, : j + 1] @ y))
        if residual <= rtol * beta or hessenberg[j + 1, j] <= 1e-14 * beta:
            break
        basis.append(w / hessenberg[j + 1, j])
    # n_vectors >= 1 (restart), so directions is not empty: the sum is an array, never its start 0.
    return cast(np.ndarray, sum(c * z for c, z in zip(y, directions)))


def _newton_krylov_step(
    scheme: _Scheme,
    u: np.ndarray,
    r: np.ndarray,
    lu: _Factor,
    diagonal: np.ndarray,
    rtol: float = 0.05,
    restart: int = 20,
) -> np.ndarray:
    """Solve ``(diag + dR2/du) du = -R2`` by GMRES, preconditioned by the first-order LU.

    The second-order Jacobian is applied matrix-free (a directional difference of the residual),
    so the step is Newton's for the scheme that is being converged, not for the first-order one:
    defect correction with the first-order matrix alone converges linearly, and at the strong
    shocks of the most cambered shapes the lift then drifts for hundreds of steps or the
    iteration stalls (3 of 6 samples at the defaults); with these steps all converged.
    """
    dg = np.repeat(diagonal.ravel(), 4)
    scale = np.maximum(np.abs(u).reshape(4, -1).max(axis=1), 1.0)[:, None, None]
    rhs = -_flat(r)

    def apply(v: np.ndarray) -> np.ndarray:
        dv = _unflat(v, scheme)
        size = float(np.sqrt(np.mean((dv / scale) ** 2)))
        if size == 0.0:
            return dg * v
        h = 1e-7 / size
        return dg * v + _flat(scheme.residual(u + h * dv, 2) - r) / h

    # An inexact Newton step: ``restart`` Krylov vectors or the residual reduced by ``rtol``,
    # whichever first; 20 and 0.05 cost about 20 residuals and preconditioner solves.
    x = _gmres(apply, rhs, lu.solve, rtol, restart)
    return _unflat(x, scheme)


def _criterion(
    res: float, reference: float, forces: list, tol: float, force_residual: float, force_tol: float
) -> str:
    """The convergence criterion the second-order residual ``res`` meets (``""``: none)."""
    # A uniform flow that is already steady (reference ~ round-off) converges at once.
    if res <= tol * reference or res < 1e-13:
        return "residual"
    # Where the limiter keeps the residual from falling further (a limit cycle at a shock, ~1e-6
    # to 1e-5), stationary forces with a small residual are the criterion.
    if res <= force_residual * reference and _force_change(forces) <= force_tol:
        return "forces"
    return ""


def _step_fraction(u: np.ndarray, du: np.ndarray) -> float:
    """The fraction of ``du`` to take: a step that would change a density or pressure by more
    than 20 % is damped to that (a non-finite state: 1 %)."""
    w, w_new = _primitive(u), _primitive(u + du)
    with np.errstate(invalid="ignore"):
        change = max(np.max(np.abs(w_new[0] / w[0] - 1)), np.max(np.abs(w_new[3] / w[3] - 1)))
    return 0.01 if not np.isfinite(change) else min(1.0, 0.2 / max(change, 1e-300))


def _steady_state(
    scheme: _Scheme,
    tol: float,
    max_iter: int,
    force_tol: float = 1e-5,
    force_residual: float = 1e-4,
    cfl_start: float = 5.0,
    cfl_max: float = 2000.0,
) -> tuple[np.ndarray, str, np.ndarray, int, int, float]:
    """Implicit pseudo-time stepping to ``residual <= tol`` (relative to the impulsive start's).

    Converged when the relative density residual is ``<= tol``, or, where the limiter holds it
    up, when it is ``<= force_residual`` and the lift and drag coefficients have changed by at
    most ``force_tol`` over the last ``FORCE_WINDOW`` steps. Returns the state, the criterion met
    (``"residual"``, ``"forces"`` or ``""``: not converged), the relative residual history (of
    the second-order phase), the steps, the LU factorisations and the last force change.

    The Courant number grows as the smallest residual so far falls (switched evolution
    relaxation: from 5 in the first-order phase, from ``cfl_max / 10`` in the second-order one,
    to at most ``cfl_max``); the matrix is refactorised when it has grown fourfold since the
    last factorisation, when the residual has stalled for ten steps, or (with a tenfold smaller
    Courant number from then on) when eight of the last ten steps were damped below 30 %.
    A second-order solve not converged after ``max_iter`` steps (a limit cycle of the large
    Courant numbers) continues for at most ``max_iter // 6`` steps at ``RESCUE_CFL``; the steps
    returned count them.
    """
    u = np.broadcast_to(scheme.u_inf[:, None, None], (4, scheme.nic, scheme.njc)).copy()
    # The reference: the second-order residual of the impulsive start.
    reference = float(np.sqrt(np.mean((scheme.residual(u, 2)[0] / scheme.area) ** 2)))
    history, forces, converged = [], [], ""
    # Phase 1: the first-order scheme (its own Jacobian: Newton-like, robust) down to 1e-2 of its
    # first residual, which establishes the circulation and the shocks; phase 2: second order.
    phase_history: list[float]  # the residuals of the current phase
    order, phase_history, lu, cfl_lu, last_factor, n_factor, scale = 1, [], None, 0.0, 0, 0, 1.0
    thetas: list[float] = []  # the step fractions taken since the last cut of the Courant number
    for it in range(max_iter + 1):
        r = scheme.residual(u, order)
        res = float(np.sqrt(np.mean((r[0] / scheme.area) ** 2)))
        if not np.isfinite(res):
            break
        if order == 1 and phase_history and res <= 1e-2 * phase_history[0]:
            order, phase_history, lu = 2, [], None
            r = scheme.residual(u, 2)
            res = float(np.sqrt(np.mean((r[0] / scheme.area) ** 2)))
        phase_history.append(res)
        if order == 2:
            history.append(res)
            forces.append(scheme.forces()[:2])
            converged = _criterion(res, reference, forces, tol, force_residual, force_tol)
            if converged:
                break
        if it == max_iter:
            break
        # Switched evolution relaxation: the Courant number grows as the residual falls.
        start = cfl_start if order == 1 else 0.1 * cfl_max  # from the first-order flow: bolder
        cfl = min(cfl_max, scale * start * phase_history[0] / min(phase_history))
        stalled = (
            it - last_factor > 10 and len(phase_history) > 1 and phase_history[-1] > 0.95 * phase_history[-2]
        )
        # Eight of the last ten steps damped below 30 %: the steps overshoot at this Courant number
        # (the linearisation no longer fits the state), so it is cut tenfold from then on.
        stuck = len(thetas) >= 10 and sum(t < 0.3 for t in thetas[-10:]) >= 8
        if stuck:
            scale, thetas = 0.1 * scale, []
            cfl *= 0.1
        diagonal = scheme.spectral_radius(u) / cfl  # area / local time step
        if lu is None or (cfl > 4 * cfl_lu and cfl_lu < cfl_max) or stalled or stuck:
            lu = _Factor(scheme.matrix(u, diagonal))
            cfl_lu, last_factor, n_factor = cfl, it, n_factor + 1
        if order == 1:
            du = _unflat(lu.solve(-_flat(r)), scheme)
        else:
            du = _newton_krylov_step(scheme, u, r, lu, diagonal)
        theta = _step_fraction(u, du)
        # A period-2 cycle (the residual alternating between two levels, typically at a wall cell
        # where the limiter switches): the Newton step overshoots by about two; half a step ends
        # it (1 of 80 samples at 111 x 26 stalled at 1e-3 without this).
        if order == 2 and len(history) >= 3:
            if abs(history[-1] - history[-3]) < 0.05 * res and abs(history[-2] - res) > 0.2 * res:
                theta = min(theta, 0.5)
        u = u + theta * du
        # Counted from the eleventh step (the impulsive start is always damped).
        if it >= 10:
            thetas.append(theta)
    if not converged and order == 2 and np.isfinite(res) and it == max_iter:
        # At the large Courant numbers the iteration can settle into a limit cycle: the residual
        # stalls between 2e-5 and 3e-4 with the forces cycling by ~0.1 % (sample 217 of the
        # paper-sized set, through all 600 steps). At a Courant number of 50 such a cycle decays
        # (3 steps there). Only after max_iter, so every solve that converged before is unchanged.
        lu = None
        for step in range(max_iter // 6):
            diagonal = scheme.spectral_radius(u) / RESCUE_CFL
            if step % 10 == 0:
                lu = _Factor(scheme.matrix(u, diagonal))
                n_factor += 1
            du = _newton_krylov_step(scheme, u, r, cast(_Factor, lu), diagonal)
            u = u + _step_fraction(u, du) * du
            it += 1
            r = scheme.residual(u, 2)
            res = float(np.sqrt(np.mean((r[0] / scheme.area) ** 2)))
            if not np.isfinite(res):
                break
            history.append(res)
            forces.append(scheme.forces()[:2])
            converged = _criterion(res, reference, forces, tol, force_residual, force_tol)
            if converged:
                break
    relative = np.asarray(history if history else [res]) / max(reference, 1e-300)
    return u, converged, relative, it, n_factor, _force_change(forces)


# --------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------
# --------------------------------------------------------------------------------------------
# Cost model (the checks that use it: _budget.py)
# --------------------------------------------------------------------------------------------
# 30-240 implicit pseudo-time steps, 5-25 of them with a single-precision sparse LU of the
# 4 (n_around - 1) (n_normal - 1) unknowns (~0.7 s each at 221 x 51), the second-order ones with
# ~20 GMRES iterations (a residual and a triangular solve each, ~25 ms):
# 0.5 s + 10.5 s (cells / 11000)^1.3 per sample (measured 4.4-27 s, mean 10.9 s, median 8.4 s,
# at 221 x 51, Mach 0.8, load ~2; benchmarks/bench_airfoil.py, docs/datasets.md), divided by
# sqrt(threads); the LU factors hold ~7e6 entries (8 bytes each) at 221 x 51, the pivoting
# fallback's ~17e6.
def _airfoil_sample_seconds(cells: int) -> float:
    # 5-15 sparse LU factorisations, 26-140 steps of up to 20 GMRES iterations (220 x 50 cells).
    return 0.5 + 10.5 * (cells / 11000) ** 1.3


def _airfoil_lu_bytes(cells: int) -> int:
    # The pivoting fallback's ~17e6 entries in single precision at 11000 cells (value and row
    # index: 8 bytes): the bound, though the package's own LU holds ~7e6.
    return int(8 * 17e6 * (cells / 11000) ** 1.2)


def _airfoil_work_bytes(cells: int) -> int:
    # The coloured differences (10 x 16 values per cell), the matrix and ~60 cell arrays.
    return int(cells * (160 + 2 * 6 * 16 + 60 * 4) * _F8)


def estimate_airfoil(n_samples: int, grid: tuple[int, int], *, n_fields: int, n_jobs: int | None) -> Estimate:
    """make_airfoil: one implicit steady Euler solve per sample; X, y and one LU per thread."""
    threads = _threads(n_jobs)
    n_around, n_normal = grid
    nodes = n_samples * n_around * n_normal * _F8
    cells = (n_around - 1) * (n_normal - 1)
    out = nodes * (2 + n_fields)
    peak = (2 + 5 + n_fields) * nodes + threads * (_airfoil_lu_bytes(cells) + _airfoil_work_bytes(cells))
    per_sample = _airfoil_sample_seconds(cells)
    return Estimate(
        "make_airfoil",
        n_samples * per_sample / math.sqrt(threads),
        int(peak),
        int(out),
        {"n_samples": n_samples, "resolution": grid},
        f"{n_samples} steady Euler solves (implicit pseudo-time steps, sparse LU of {4 * cells} unknowns), "
        f"~{format_seconds(per_sample)} each, {threads} thread(s)",
        "fewer n_samples or a coarser resolution; n_jobs=-1 solves samples in parallel threads",
    )


def estimate_solve_airfoil(grid: tuple[int, int]) -> Estimate:
    """solve_airfoil: one steady Euler solve."""
    n_around, n_normal = grid
    cells = (n_around - 1) * (n_normal - 1)
    return Estimate(
        "solve_airfoil",
        _airfoil_sample_seconds(cells),
        int(_airfoil_lu_bytes(cells) + _airfoil_work_bytes(cells)),
        9 * n_around * n_normal * _F8,
        {"resolution": grid},
        f"implicit pseudo-time steps with a sparse LU of {4 * cells} unknowns",
        "a coarser grid",
    )


# --------------------------------------------------------------------------------------------
# Solver and generator
# --------------------------------------------------------------------------------------------
def _check_displacements(displacements) -> np.ndarray:
    d = np.zeros(_N_CONTROL) if displacements is None else np.asarray(displacements, dtype=np.float64)
    if d.shape != (_N_CONTROL,):
        raise ValueError(
            f"displacements must have shape ({_N_CONTROL},) (the vertical moves of the design element's "
            f"4 lower and 4 upper control nodes), got shape {d.shape}"
        )
    if not np.all(np.isfinite(d)):
        raise ValueError("displacements must be finite")
    return d


def _check_grid(resolution) -> tuple[int, int]:
    try:
        n_around, n_normal = (int(v) for v in resolution)
    except (TypeError, ValueError):
        raise TypeError(
            f"resolution must be a pair of ints (n_around, n_normal), got {resolution!r}"
        ) from None
    if (n_around, n_normal) != tuple(resolution) or n_around < 41 or n_around % 2 == 0 or n_normal < 9:
        raise ValueError(
            "resolution must be (n_around, n_normal) with n_around odd and >= 41 and n_normal >= 9 "
            f"(Geo-FNO: (221, 51)), got {tuple(resolution)!r}"
        )
    return n_around, n_normal


_SOLVER = {
    "resolution": [tuple, list],
    "mach": [finite_interval(0, None, closed="neither")],
    "angle_of_attack": [finite_interval(-10, 10, closed="both")],
    "far_field": [finite_interval(2, None, closed="left")],
    "tol": [finite_interval(0, 1, closed="neither")],
    "force_tol": [finite_interval(0, None, closed="left")],
    "max_iter": POSITIVE_INT,
}


@validate_params({"displacements": [None, "array-like"], **_SOLVER}, prefer_skip_nested_validation=True)
def solve_airfoil(
    displacements: Sequence[float] | np.ndarray | None = None,
    resolution: tuple[int, int] = (221, 51),
    *,
    mach: float = 0.8,
    angle_of_attack: float = 0.0,
    far_field: float = 20.0,
    tol: float = 1e-6,
    force_tol: float = 1e-5,
    max_iter: int = 600,
) -> Bunch:
    """Solve steady 2-D Euler flow past a NACA-0012 morphed by a cubic design element.

    The airfoil (chord 1, leading edge at the origin, closed trailing edge) is moved vertically by
    a design element over ``[0, 1] x [-0.06, 0.06]`` with 4 x 2 control nodes (cubic Bernstein
    polynomials along ``x``, linear across): ``displacements[:4]`` move its lower nodes and
    ``displacements[4:]`` its upper ones. The free stream has Mach number ``mach``, angle
    ``angle_of_attack`` (degrees) and ``rho = p = 1``, ``gamma = 1.4``.

    The C-grid (``resolution = (n_around, n_normal)`` nodes) and the scheme are described in
    ``docs/datasets.md`` ("Airfoil"): cell-centred finite volumes, MUSCL with the van Albada
    limiter, HLLC fluxes, slip wall, free-stream far field ``far_field`` chords away, the wake
    cut an interior face; implicit pseudo-time stepping with a first-order Jacobian (SuperLU),
    first of the first-order scheme, then Newton-Krylov steps of the second-order one (GMRES
    preconditioned by that LU), to the steady state. Fields
    are returned at the nodes (the mean of the four cells around each).

    Parameters
    ----------
    displacements : array-like of shape (8,), default=None
        Vertical moves of the control nodes (lower four, then upper four, left to right);
        ``None``: the NACA-0012 itself.
    resolution : tuple of int, default=(221, 51)
        Nodes around the C and away from it; ``n_around`` odd and ``>= 41``, ``n_normal >= 9``.
    mach : float, default=0.8
        Free-stream Mach number.
    angle_of_attack : float, default=0.0
        Angle of attack in degrees, in ``[-10, 10]``.
    far_field : float, default=20.0
        Distance of the far-field boundary from the trailing edge, in chords (``>= 2``).
    tol : float, default=1e-6
        Convergence criterion: the RMS density residual (the rate of change of the density)
        relative to that of the first step, in ``(0, 1)``.
    force_tol : float, default=1e-5
        Second criterion, for a residual that the limiter holds up (a limit cycle at a shock,
        typically at 1e-6 to 1e-5): converged also when the relative residual is ``<= 1e-4`` and
        the lift and drag coefficients have changed by at most ``force_tol`` over the last 20
        steps. ``0`` switches it off.
    max_iter : int, default=600
        Pseudo-time steps allowed (the paper-sized set's slowest shapes need just over 300).
        A solve not converged by then continues for at most ``max_iter // 6`` steps at a
        Courant number of 50 (``RESCUE_CFL``), where a limit cycle of the large Courant numbers
        decays (sample 217 of ``make_airfoil(random_state=0)`` at 221 x 51 cycles through all
        600 steps and then converges in 3); ``n_iter`` counts them.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``x``, ``y`` (the mesh), ``density``, ``velocity_x``, ``velocity_y``, ``pressure`` and
        ``mach``, all of shape ``resolution``; ``residual`` (the final relative density
        residual), ``criterion`` (``"residual"``: it is ``<= tol``; ``"forces"``: the second
        criterion), ``force_change`` (of the lift and drag over the last 20 steps), ``n_iter``,
        ``n_factorizations``, ``residual_history``; ``lift`` and
        ``drag`` (coefficients, chord 1, from the wall pressure of the scheme's fluxes);
        ``surface_x`` and ``pressure_coefficient`` (at the wall faces' midpoints, from the lower
        trailing edge round the leading edge to the upper one).

    Raises
    ------
    RuntimeError
        If the residual does not fall to ``tol`` within ``max_iter`` steps (or the state stops
        being finite); a result is never returned unconverged.

    Examples
    --------
    >>> flow = solve_airfoil(resolution=(61, 15), mach=0.5)
    >>> flow.mach.shape
    (61, 15)
    >>> flow.criterion in ("residual", "forces"), abs(round(float(flow.lift), 6))
    (True, 0.0)
    """
    d = _check_displacements(displacements)
    grid = _check_grid(resolution)
    check_solver(estimate_solve_airfoil(grid), None)
    return _solve_airfoil(
        d,
        grid,
        mach=mach,
        angle_of_attack=angle_of_attack,
        far_field=far_field,
        tol=tol,
        force_tol=force_tol,
        max_iter=max_iter,
    )


def _solve_airfoil(
    d: np.ndarray,
    grid: tuple[int, int],
    *,
    mach: float,
    angle_of_attack: float,
    far_field: float,
    tol: float,
    force_tol: float,
    max_iter: int,
) -> Bunch:
    """:func:`solve_airfoil` on a checked input, without the cost check.

    ``d`` and ``grid`` are what :func:`_check_displacements` and :func:`_check_grid` return.
    ``make_airfoil`` calls it directly: it has checked the cost of the whole request.
    """
    nodes = _c_grid(d, *grid, float(far_field))
    scheme = _Scheme(nodes, float(mach), float(angle_of_attack))
    if scheme.area.min() <= 0:
        raise ValueError(
            f"the displacements {d.tolist()} fold the mesh (a cell of area {scheme.area.min():.3g}); "
            "smaller displacements are needed"
        )
    # One BLAS thread: the Krylov steps' dot products then round alike in every process (a
    # sample is the same bit for bit in a worker process as here), and the threads of
    # ``make_airfoil(n_jobs=...)`` do not oversubscribe the cores.
    with threadpool_limits(limits=1, user_api="blas"):
        u, converged, history, n_iter, n_factor, change = _steady_state(
            scheme, float(tol), int(max_iter), float(force_tol)
        )
    res = float(history[-1])
    if not converged:
        raise RuntimeError(
            f"solve_airfoil did not converge: relative density residual {res:.3g} > tol={tol:g} (and "
            f"lift/drag change {change:.3g} over the last {FORCE_WINDOW} steps, force_tol={force_tol:g}) "
            f"after {n_iter} pseudo-time steps (Mach {mach:g}, angle {angle_of_attack:g}); a larger "
            "max_iter or a looser tol may help"
        )
    scheme.residual(u)
    lift, drag, p_wall = scheme.forces()
    w = scheme.nodal(u)
    mid = 0.5 * (nodes[1:, 0] + nodes[:-1, 0])[scheme.wall_cells]
    return Bunch(
        x=nodes[..., 0],
        y=nodes[..., 1],
        density=w[0],
        velocity_x=w[1],
        velocity_y=w[2],
        pressure=w[3],
        mach=np.hypot(w[1], w[2]) / np.sqrt(GAMMA * w[3] / w[0]),
        residual=res,
        criterion=converged,
        force_change=change,
        n_iter=int(n_iter),
        n_factorizations=int(n_factor),
        residual_history=history,
        lift=float(lift),
        drag=float(drag),
        surface_x=mid[:, 0],
        pressure_coefficient=(p_wall - 1.0) / scheme.q_inf,
    )


def _airfoil_sample(displacements: np.ndarray, resolution: tuple[int, int], options: dict) -> tuple:
    """One sample of make_airfoil (what its cache stores): mesh ``(H, W, 2)``, fields
    ``(5, H, W)`` in the Geo-FNO ``Q`` order, and the solve's report."""
    # make_airfoil has checked the cost of the whole request and the grid, and its displacements
    # are 8 finite float64 draws; a mesh folded even with the shortest wall tangents (none of
    # the 3 x 1200 draws of seeds 0-2 at 221 x 51 is) raises ValueError, naming the sample.
    flow = _solve_airfoil(displacements, resolution, **options)
    mesh = np.stack([flow.x, flow.y], axis=-1)
    fields = np.stack([flow[name] for name in AIRFOIL_FIELDS])
    report = (flow.residual, flow.criterion, flow.force_change, flow.n_iter, flow.lift, flow.drag)
    return mesh, fields, report


@validate_params(
    {
        "n_samples": POSITIVE_INT,
        **_SOLVER,
        "max_displacement": FINITE_NON_NEGATIVE,
        "fields": [StrOptions(set(AIRFOIL_FIELDS)), list, tuple],
        "return_info": ["boolean"],
        "n_jobs": N_JOBS,
        "random_state": RANDOM_STATE,
        "verbose": ["verbose"],
        "memory": MEMORY,
    },
    prefer_skip_nested_validation=True,
)
def make_airfoil(
    n_samples: int = 100,
    resolution: tuple[int, int] = (221, 51),
    *,
    mach: float = 0.8,
    angle_of_attack: float = 0.0,
    max_displacement: float = 0.05,
    far_field: float = 20.0,
    tol: float = 1e-6,
    force_tol: float = 1e-5,
    max_iter: int = 600,
    fields: str | Sequence[str] = "mach",
    return_info: bool = False,
    n_jobs: int | None = None,
    random_state: int | np.random.RandomState | None = None,
    verbose: int = 0,
    memory: Memory | str | None = None,
) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, Bunch]:
    """Generate the Geo-FNO airfoil benchmark: the C-grid around a morphed NACA-0012 -> its Mach field.

    Each sample moves the 8 control nodes of a cubic design element around the NACA-0012
    vertically by independent draws from ``U[-max_displacement, max_displacement]`` and solves
    the steady Euler flow at Mach ``mach`` and angle ``angle_of_attack`` with
    :func:`solve_airfoil` on the ``resolution`` C-grid.

    A sample whose solve does not converge to ``tol`` is never returned: the call raises a
    RuntimeError naming the sample and its displacements.

    At the defaults every sample tried converged on the residual criterion (the 12 samples of
    ``random_state`` 0 and 1 at 221 x 51, CL from -1.2 to 1.0), in 4-27 s each on one core
    (median 8.4 s, mean 10.9 s; ``docs/datasets.md``, Airfoil, has the figures).

    Parameters
    ----------
    n_samples : int, default=100
        Number of airfoils.
    resolution : tuple of int, default=(221, 51)
        C-grid nodes ``(n_around, n_normal)`` (Geo-FNO: 221 x 51).
    mach : float, default=0.8
        Free-stream Mach number.
    angle_of_attack : float, default=0.0
        Angle of attack in degrees.
    max_displacement : float, default=0.05
        Largest vertical move of a control node.
    far_field : float, default=20.0
        Distance of the far field from the trailing edge, in chords.
    tol : float, default=1e-6
        Convergence criterion of every solve (relative density residual, see :func:`solve_airfoil`).
    force_tol : float, default=1e-5
        Second criterion of every solve (stationary lift and drag, see :func:`solve_airfoil`).
    max_iter : int, default=600
        Pseudo-time steps allowed per solve (a solve stops when it converges, so a larger cap
        changes no converged sample; 300 stopped 1 of the first 290 samples of
        ``random_state=0`` at 221 x 51, which converges at step 307), then at most
        ``max_iter // 6`` at a small Courant number (see :func:`solve_airfoil`).
    fields : {"density", "velocity_x", "velocity_y", "pressure", "mach"} or list, default="mach"
        Output field(s); a list gives channels in its order (all five in the order of the Geo-FNO
        ``Q`` arrays: ``["density", "velocity_x", "velocity_y", "pressure", "mach"]``).
    return_info : bool, default=False
        Also return the per-sample convergence report, forces and displacements.
    n_jobs : int or None, default=None
        Threads solving samples concurrently (``None`` means 1, ``-1`` all cores).
    random_state : int, RandomState instance or None, default=None
        Seed.
    verbose : int, default=0
        0 is silent; 1 or more shows a progress bar over samples. True and False work as 1 and 0.
    memory : joblib.Memory, str, path-like or None, default=None
        Cache for the solves, one entry per sample keyed on its displacements and the physical
        parameters: a generation that stops part-way resumes where it stopped, and a larger
        request with the same ``random_state`` reuses the samples already solved.

    Returns
    -------
    X : ndarray of shape (n_samples, n_around, n_normal, 2), float64
        Mesh coordinates ``(x, y)`` (axis 1 around the C, axis 2 away from the airfoil).
    y : ndarray of shape (n_samples, n_around, n_normal) or (..., n_fields), float64
        The field(s) at the nodes.
    info : :class:`~sklearn.utils.Bunch`
        Only with ``return_info=True``: ``residual``, ``criterion``, ``force_change`` and
        ``n_iter`` (n_samples,), each solve's convergence report (see :func:`solve_airfoil`);
        ``lift`` and ``drag`` (n_samples,); ``displacements`` (n_samples, 8).

    Raises
    ------
    RuntimeError
        If a sample's solve does not converge, naming the sample and its displacements.

    Examples
    --------
    >>> X, y = make_airfoil(2, (61, 15), mach=0.5, random_state=0)
    >>> X.shape, y.shape
    ((2, 61, 15, 2), (2, 61, 15))
    """
    grid = _check_grid(resolution)
    idx, single = field_indices(fields, AIRFOIL_FIELDS)
    n_jobs = effective_n_jobs(n_jobs)
    estimate = estimate_airfoil(n_samples, grid, n_fields=len(idx), n_jobs=n_jobs)
    announce(estimate, memory, verbose)
    rng = check_random_state(random_state)
    displacements = rng.uniform(-max_displacement, max_displacement, size=(n_samples, _N_CONTROL))
    options = {
        "mach": float(mach),
        "angle_of_attack": float(angle_of_attack),
        "far_field": float(far_field),
        "tol": float(tol),
        "force_tol": float(force_tol),
        "max_iter": int(max_iter),
    }
    samples = solve_samples(
        memory,
        estimate,
        verbose,
        _airfoil_sample,
        [(d, grid, options) for d in displacements],
        n_jobs=n_jobs,
        desc="Airfoil",
        describe=lambda i: f"make_airfoil: sample {i} (displacements={displacements[i].tolist()})",
        limit_blas=True,
    )
    mesh = np.stack([sample[0] for sample in samples])
    q = np.stack([sample[1] for sample in samples])
    residual, criterion, change, n_iter, lift, drag = zip(*(sample[2] for sample in samples))
    y = q[:, idx[0]] if single else np.ascontiguousarray(np.moveaxis(q[:, idx], 1, -1))
    if not return_info:
        return mesh, y
    return (
        mesh,
        y,
        Bunch(
            residual=np.array(residual),
            criterion=np.array(criterion, dtype=object),
            force_change=np.array(change),
            n_iter=np.array(n_iter, dtype=np.int64),
            lift=np.array(lift),
            drag=np.array(drag),
            displacements=displacements,
        ),
    )
