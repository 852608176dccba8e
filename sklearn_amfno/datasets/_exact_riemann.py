"""Exact solution of the Riemann problem of the 1-D Euler equations (reference for shock tubes)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.optimize import brentq

from .._compat import renamed_parameters, validate_params
from ._constraints import FINITE_POSITIVE, FINITE_REAL, RATIO_OF_SPECIFIC_HEATS

__all__ = ["exact_riemann_euler"]


@renamed_parameters({"t": "time"}, since="0.2.0", removed_in="0.4.0")
@validate_params(
    {
        "left": ["array-like"],
        "right": ["array-like"],
        "x": ["array-like"],
        "time": FINITE_POSITIVE,
        "gamma": RATIO_OF_SPECIFIC_HEATS,
        "x0": FINITE_REAL,
    },
    prefer_skip_nested_validation=True,
)
def exact_riemann_euler(
    left: Sequence[float],
    right: Sequence[float],
    x: np.ndarray,
    time: float,
    *,
    gamma: float = 1.4,
    x0: float = 0.5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact solution of the Riemann problem of the 1-D Euler equations (no vacuum).

    The star-region pressure solves ``f_L(p) + f_R(p) + v_R - v_L = 0`` (shock branches from
    the Rankine-Hugoniot conditions, rarefaction branches from the isentropic relations),
    found by bracketing root finding; the self-similar solution is then sampled at
    ``(x - x0) / time``.

    Parameters
    ----------
    left, right : (rho, v, p)
        Constant states left and right of ``x0`` at time 0.
    x : ndarray
        Positions at which to evaluate.
    time : float
        Time, ``> 0``.

        .. versionchanged:: 0.2.0
           Renamed from ``t``.
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
    if np.shape(left) != (3,) or np.shape(right) != (3,):
        raise ValueError(
            f"left and right must each be a state (rho, v, p) of three reals, got left={left!r}, "
            f"right={right!r}"
        )
    rl, ul, pl = (float(q) for q in left)
    rr, ur, pr = (float(q) for q in right)
    if min(rl, pl, rr, pr) <= 0:
        raise ValueError(f"densities and pressures must be > 0, got left={left}, right={right}")
    time, g, x0 = float(time), float(gamma), float(x0)
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
    s = (np.asarray(x, dtype=np.float64) - x0) / time
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
