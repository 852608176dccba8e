"""Darcy flow ``-div(a grad u) = f`` on the unit square with ``u = 0`` on the boundary."""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from joblib import Memory
from scipy.sparse.linalg import splu
from sklearn.utils import check_random_state

from .._compat import POSITIVE_INT, RANDOM_STATE, StrOptions, validate_params
from ._budget import _F8, Estimate, _threads, announce, check_solver, format_seconds
from ._cache import budgeted_call
from ._constraints import (
    FINITE_NON_NEGATIVE,
    FINITE_POSITIVE,
    FINITE_REAL,
    MEMORY,
    N_JOBS,
    effective_n_jobs,
    int_at_least,
)
from ._grf import evaluate_cosine_series, grf_cosine_coefficients
from ._moved_keywords import move_keyword
from ._progress import progress

__all__ = ["solve_darcy", "make_darcy"]


def _face_coefficients(a: np.ndarray, face: str) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients on the faces between neighbouring nodes along axis 0 and axis 1.

    The harmonic mean is the flux-continuous choice for the piecewise-constant fields of the
    benchmark (a series of two conductances); both means are second order for smooth ``a``.
    """
    a0, a1 = a[:-1, :], a[1:, :]
    b0, b1 = a[:, :-1], a[:, 1:]
    if face == "harmonic":
        return 2 * a0 * a1 / (a0 + a1), 2 * b0 * b1 / (b0 + b1)
    return 0.5 * (a0 + a1), 0.5 * (b0 + b1)


def _stencil_values(a: np.ndarray, face: str) -> np.ndarray:
    """Matrix entries of the five-point operator (scaled by ``h^2``), in pattern order.

    Order: the diagonal of the ``m^2`` interior nodes (row-major), then the couplings to the
    east neighbour (``j + 1``) and to the south neighbour (``i + 1``) of every node that has an
    interior one; each coupling is used twice (the matrix is symmetric).
    """
    fx, fy = _face_coefficients(a, face)  # fx: (N-1, N), fy: (N, N-1)
    # Faces around interior node (i, j): west/east along axis 0, south/north along axis 1.
    w = fx[:-1, 1:-1]  # between (i-1, j) and (i, j), i = 1..N-2
    e = fx[1:, 1:-1]
    s = fy[1:-1, :-1]
    nn = fy[1:-1, 1:]
    # Couplings to boundary nodes only enter the diagonal: boundary values are zero.
    return np.concatenate([(w + e + s + nn).ravel(), -nn[:, :-1].ravel(), -e[:-1, :].ravel()])


@lru_cache(maxsize=8)
def _pattern(n: int):
    """Sparsity pattern of the interior operator, symmetrically pre-permuted; cached per ``n``.

    The pattern depends only on the grid, so the fill-reducing ordering (SuperLU's minimum
    degree on ``A^T + A``) is computed once here instead of once per sample, and each sample's
    matrix is built by gathering its stencil values straight into CSC order.

    Returns ``(indptr, indices, gather, perm)``: ``A_perm.data = values[gather]`` and
    ``A_perm = A[perm][:, perm]``.
    """
    m = n - 2
    idx = np.arange(m * m).reshape(m, m)
    east_r, east_c = idx[:, :-1].ravel(), idx[:, 1:].ravel()
    south_r, south_c = idx[:-1, :].ravel(), idx[1:, :].ravel()
    n_diag, n_east = m * m, east_r.size
    slot_e = n_diag + np.arange(n_east)
    slot_s = n_diag + n_east + np.arange(south_r.size)
    rows = np.concatenate([idx.ravel(), east_r, east_c, south_r, south_c])
    cols = np.concatenate([idx.ravel(), east_c, east_r, south_c, south_r])
    slots = np.concatenate([np.arange(n_diag), slot_e, slot_e, slot_s, slot_s])
    # Ordering from the constant-coefficient operator (same pattern as every sample's).
    lap = sp.csc_matrix(
        (_stencil_values(np.ones((n, n)), "arithmetic")[slots], (rows, cols)), shape=(m * m, m * m)
    )
    lu = splu(lap, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True})
    inv = lu.perm_c  # new position of each unknown
    perm = np.argsort(inv)
    # Encode the slot of each entry (+1, so that no stored value is zero) in the permuted
    # matrix; CSC construction sorts the entries, giving the gather map of the CSC data.
    coded = sp.csc_matrix((slots + 1.0, (inv[rows], inv[cols])), shape=(m * m, m * m))
    coded.sort_indices()
    gather = coded.data.astype(np.int64) - 1
    return coded.indptr, coded.indices, gather, perm


def _assemble(a: np.ndarray, face: str) -> tuple[sp.csc_matrix, np.ndarray]:
    """Permuted five-point matrix on the ``(N-2)^2`` interior nodes and its permutation."""
    n = a.shape[0]
    indptr, indices, gather, perm = _pattern(n)
    values = _stencil_values(a, face)
    size = (n - 2) ** 2
    return sp.csc_matrix((values[gather], indices, indptr), shape=(size, size)), perm


def _accept_n_modes(make_darcy):
    """Accept ``n_modes=m`` (cosine modes per axis, before 0.2.0) as ``max_wavenumber=m - 1``."""

    @functools.wraps(make_darcy)
    def wrapper(*args, **kwargs):
        if "n_modes" in kwargs:
            n_modes = kwargs["n_modes"]
            # Anything but an int goes on unchanged, for validate_params to refuse.
            is_int = isinstance(n_modes, numbers.Integral) and not isinstance(n_modes, bool)
            move_keyword(
                kwargs,
                "make_darcy",
                "n_modes",
                "max_wavenumber",
                n_modes - 1 if is_int else n_modes,
                "the parameter 'n_modes' (cosine modes per axis) was replaced by 'max_wavenumber' "
                "(the largest wavenumber, n_modes - 1)",
            )
        return make_darcy(*args, **kwargs)

    return wrapper


def _check_field(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 3:
        raise ValueError(f"a must be a square (N, N) array with N >= 3, got shape {a.shape}")
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError(f"a must be finite and > 0 everywhere, got min {np.nanmin(a) if a.size else a!r}")
    return a


# --------------------------------------------------------------------------------------------
# Cost model (the checks that use it: _budget.py)
# --------------------------------------------------------------------------------------------
# Sparse LU of the (N - 2)^2 interior unknowns, 0.5 ms + 4 ms (N / 64)^3.2 per sample (measured
# 3.1, 28, 290 ms at 64, 128, 256), divided by sqrt(threads) (2 threads gave 1.4x); the LU
# factors hold about 7 N^2 log2 N entries, ~170 N^2 log2 N bytes per thread.
def _darcy_sample_seconds(n: int) -> float:
    return 0.5e-3 + 4e-3 * (n / 64) ** 3.2


def _darcy_lu_bytes(n: int) -> int:
    return int(170 * n * n * math.log2(max(n, 2)))


def estimate_darcy(n_samples: int, resolution: int, *, max_wavenumber: int, n_jobs: int | None) -> Estimate:
    """make_darcy: per-sample sparse LU; X, y, the random field and one LU per thread."""
    threads = _threads(n_jobs)
    grid = n_samples * resolution**2 * _F8
    k = max_wavenumber + 1
    peak = 3 * grid + n_samples * (k * k + resolution * k) * _F8 + threads * _darcy_lu_bytes(resolution)
    seconds = n_samples * _darcy_sample_seconds(resolution) / math.sqrt(threads)
    return Estimate(
        "make_darcy",
        seconds,
        int(peak),
        2 * grid,
        {"n_samples": n_samples, "resolution": resolution},
        f"{n_samples} sparse LU solves of {(resolution - 2) ** 2} unknowns, "
        f"~{format_seconds(_darcy_sample_seconds(resolution))} each, {threads} thread(s)",
        "fewer n_samples or a coarser resolution (the LU cost grows like resolution^3); "
        "n_jobs=-1 solves samples in parallel threads",
    )


def estimate_solve_darcy(resolution: int) -> Estimate:
    """solve_darcy: one sparse LU solve."""
    return Estimate(
        "solve_darcy",
        _darcy_sample_seconds(resolution),
        int(3 * resolution**2 * _F8 + _darcy_lu_bytes(resolution)),
        resolution**2 * _F8,
        {"a.shape": (resolution, resolution)},
        f"a sparse LU factorisation of {(resolution - 2) ** 2} unknowns",
        "a coarser grid",
    )


# --------------------------------------------------------------------------------------------
# Solver and generator
# --------------------------------------------------------------------------------------------
_FACE = [StrOptions({"harmonic", "arithmetic"})]


@validate_params(
    {"a": ["array-like"], "f": FINITE_REAL + ["array-like"], "face": _FACE},
    prefer_skip_nested_validation=True,
)
def solve_darcy(a: np.ndarray, f: float | np.ndarray = 1.0, *, face: str = "harmonic") -> np.ndarray:
    """Solve ``-div(a grad u) = f`` on ``[0, 1]^2`` with ``u = 0`` on the boundary.

    Second-order five-point finite differences on the ``N x N`` node grid
    ``x = linspace(0, 1, N)`` (boundary nodes included, ``h = 1 / (N - 1)``), with the
    coefficient on each cell face taken as the harmonic (default) or arithmetic mean of the two
    neighbouring nodal values. The sparse system on the interior nodes is solved by a direct LU
    factorisation (SuperLU).

    Parameters
    ----------
    a : ndarray of shape (N, N)
        Positive diffusion coefficient at the nodes, ``N >= 3``.
    f : float or ndarray of shape (N, N), default=1.0
        Source term (constant or nodal values; boundary values are ignored).
    face : {"harmonic", "arithmetic"}, default="harmonic"
        How face coefficients are formed from the nodal ``a``.

    Returns
    -------
    u : ndarray of shape (N, N), float64
        Solution at the nodes, zero on the boundary.

    Examples
    --------
    >>> import numpy as np
    >>> u = solve_darcy(np.ones((33, 33)))
    >>> round(float(u.max()), 4)  # Poisson problem -Lap u = 1
    0.0736
    """
    a = _check_field(a)
    check_solver(estimate_solve_darcy(a.shape[0]), None)
    return _solve_darcy(a, f, face)


def _solve_darcy(a: np.ndarray, f: float | np.ndarray, face: str) -> np.ndarray:
    """:func:`solve_darcy` on a checked field ``a`` (:func:`_check_field`), without the cost check.

    ``make_darcy`` calls it directly: it has checked the cost of the whole request.
    """
    n = a.shape[0]
    h = 1.0 / (n - 1)
    if isinstance(f, numbers.Real):
        rhs = np.full((n - 2) * (n - 2), float(f))
    else:
        f = np.asarray(f, dtype=np.float64)
        if f.shape != a.shape:
            raise ValueError(f"f must be a scalar or have the shape of a {a.shape}, got {f.shape}")
        rhs = f[1:-1, 1:-1].ravel().copy()
    mat, perm = _assemble(a, face)
    u = np.zeros_like(a)
    # The matrix is symmetric positive definite: factorise it in the precomputed
    # fill-reducing order without pivoting (stable for SPD), skipping a per-sample ordering.
    lu = splu(mat, permc_spec="NATURAL", diag_pivot_thresh=0.0, options={"SymmetricMode": True})
    x = np.empty_like(rhs)
    x[perm] = lu.solve(rhs[perm] * (h * h))
    u[1:-1, 1:-1] = x.reshape(n - 2, n - 2)
    return u


def _solve_darcy_batch(a: np.ndarray, f, face: str, n_jobs: int = 1, verbose: int = 0) -> np.ndarray:
    out = np.empty_like(a)

    def one(i: int) -> None:
        # make_darcy has checked the cost of the whole request, and its fields (the two positive
        # values on a square grid) are valid by construction: no check per sample.
        out[i] = _solve_darcy(a[i], f, face)

    indices = range(a.shape[0])
    if n_jobs == 1:
        for i in progress(indices, verbose=verbose, total=a.shape[0], desc="Darcy"):
            one(i)
    else:
        # SuperLU releases the GIL during factorisation, so threads give a real speed-up
        # without copying the fields to worker processes.
        with ThreadPoolExecutor(n_jobs) as pool:
            for _ in progress(pool.map(one, indices), verbose=verbose, total=a.shape[0], desc="Darcy"):
                pass
    return out


@_accept_n_modes
@validate_params(
    {
        "n_samples": POSITIVE_INT,
        "resolution": int_at_least(3),
        "alpha": FINITE_POSITIVE,
        "tau": FINITE_NON_NEGATIVE,
        "values": ["array-like"],
        "forcing": FINITE_REAL,
        "max_wavenumber": POSITIVE_INT,
        "face": _FACE,
        "n_jobs": N_JOBS,
        "random_state": RANDOM_STATE,
        "verbose": ["verbose"],
        "memory": MEMORY,
    },
    prefer_skip_nested_validation=True,
)
def make_darcy(
    n_samples: int = 100,
    resolution: int = 64,
    *,
    alpha: float = 2.0,
    tau: float = 3.0,
    values: Sequence[float] = (12.0, 3.0),
    forcing: float = 1.0,
    max_wavenumber: int = 63,
    face: str = "harmonic",
    n_jobs: int | None = None,
    random_state: int | np.random.RandomState | None = None,
    verbose: int = 0,
    memory: Memory | str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate the 2-D Darcy flow operator ``a -> u`` (the FNO benchmark problem).

    Draws a Gaussian random field ``g`` with covariance ``(-Lap + tau^2)^(-alpha)`` (Neumann
    cosine series ``cos(pi k1 x) cos(pi k2 y)`` with ``k_i <= max_wavenumber``, constant mode
    removed), thresholds it into
    ``a = values[0]`` where ``g >= 0`` and ``values[1]`` elsewhere, and solves
    ``-div(a grad u) = forcing`` with ``u = 0`` on the boundary by :func:`solve_darcy`.

    The field ``g`` is evaluated exactly at the nodes ``linspace(0, 1, resolution)`` from
    coefficients drawn independently of ``resolution``, so the same ``random_state`` gives the
    same continuous coefficient field at every resolution (``u`` is a finite-difference
    approximation, so it agrees across resolutions only up to discretisation error).

    Parameters
    ----------
    n_samples : int, default=100
        Number of pairs.
    resolution : int, default=64
        Nodes per axis including the boundary, ``>= 3``.
    alpha : float, default=2.0
        Smoothness exponent of the covariance, ``> 0``.
    tau : float, default=3.0
        Inverse length scale, ``>= 0``.
    values : pair of float, default=(12.0, 3.0)
        Positive coefficient values where the field is ``>= 0`` and ``< 0``.
    forcing : float, default=1.0
        Constant source ``f``.
    max_wavenumber : int, default=63
        Largest wavenumber ``k_i`` of the random field's cosine series (``max_wavenumber + 1``
        modes per axis), ``>= 1``.

        .. versionchanged:: 0.2.0
           Replaces ``n_modes``, the number of modes per axis: ``n_modes=m`` is
           ``max_wavenumber=m - 1``.
    face : {"harmonic", "arithmetic"}, default="harmonic"
        Face averaging of ``a`` in the finite-difference stencil.
    n_jobs : int or None, default=None
        Threads solving samples concurrently (``None`` means 1, ``-1`` all cores).
    random_state : int, RandomState instance or None, default=None
        Seed.
    verbose : int, default=0
        0 is silent; 1 or more shows a progress bar over samples. True and False work as 1 and 0.
    memory : joblib.Memory, str, path-like or None, default=None
        Cache for the solves, keyed on the coefficient fields.

    Returns
    -------
    X : ndarray of shape (n_samples, resolution, resolution), float64
        Coefficient fields ``a``.
    y : ndarray of shape (n_samples, resolution, resolution), float64
        Solutions ``u``.

    Examples
    --------
    >>> X, y = make_darcy(4, 32, random_state=0)
    >>> X.shape, y.shape
    ((4, 32, 32), (4, 32, 32))
    """
    try:
        hi, lo = (float(v) for v in values)
    except (TypeError, ValueError):
        raise ValueError(f"values must be a pair of positive reals, got {values!r}") from None
    if not (np.isfinite(hi) and np.isfinite(lo) and hi > 0 and lo > 0):
        raise ValueError(f"values must be a pair of positive reals (> 0), got {values!r}")
    alpha, tau, forcing = float(alpha), float(tau), float(forcing)
    n_jobs = effective_n_jobs(n_jobs)
    estimate = estimate_darcy(n_samples, resolution, max_wavenumber=max_wavenumber, n_jobs=n_jobs)
    announce(estimate, memory, verbose)
    rng = check_random_state(random_state)
    coef = grf_cosine_coefficients(rng, n_samples, alpha=alpha, tau=tau, max_wavenumber=max_wavenumber)
    g = evaluate_cosine_series(coef, resolution)
    a = np.where(g >= 0, hi, lo)
    # n_jobs does not change the result, so keep it out of the cache key.
    u = budgeted_call(
        memory, estimate, verbose, _solve_darcy_batch, a, forcing, face, n_jobs=n_jobs, verbose=verbose
    )
    return a, u
