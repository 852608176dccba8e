"""PDEBench-style 1-D compressible-flow (CFD-1D) data: random smooth states advanced by the Euler solver."""

from __future__ import annotations

import math

import numpy as np
from joblib import Memory
from sklearn.utils import check_random_state
from tqdm.auto import tqdm

from .._compat import renamed_parameters, validate_params
from ._budget import _F8, Estimate, announce, format_seconds
from ._cache import budgeted_call
from ._constraints import (
    CFD_GENERATOR,
)
from ._euler_1d import _check_state, _euler_cell_step_seconds, _euler_steps, _evolve

__all__ = ["make_cfd_1d"]

#: The Courant number of the generator's solves (``solve_euler_1d``'s default).
_CFL = 0.5


# --------------------------------------------------------------------------------------------
# Cost model (the checks that use it: _budget.py; the solver's steps and rates: _euler_1d.py)
# --------------------------------------------------------------------------------------------
# The solver's model with the largest signal speed of the generator's states,
# A + sqrt(gamma) (1 + A), A = amplitude (2.4 measured at the defaults): ~0.07 s per sample at
# 256 cells, T = 0.5.
def estimate_cfd_1d(
    n_samples: int,
    resolution: int,
    *,
    gamma: float,
    n_steps_in: int,
    n_steps_out: int,
    record_interval: float,
    amplitude: float,
    viscosity: float,
    batch_size: int,
    n_waves: int,
) -> Estimate:
    """make_cfd_1d: SSP-RK3 steps of the finite-volume solver, in batches."""
    n_frames = n_steps_in + n_steps_out
    time = record_interval * (n_frames - 1)
    speed = amplitude + math.sqrt(gamma) * (1 + amplitude)
    steps = _euler_steps(time, resolution, speed, 0.5, viscosity, 0.5 * (1 - amplitude))
    batch = min(batch_size, n_samples)
    per_sample = steps * resolution * _euler_cell_step_seconds(batch * resolution)
    frames = n_samples * resolution * 3 * n_frames * _F8
    inputs = n_samples * resolution * (3 + n_waves) * _F8
    peak = 2 * frames + inputs + batch * resolution * 3 * 40 * _F8
    return Estimate(
        "make_cfd_1d",
        n_samples * per_sample,
        int(peak),
        frames,
        {
            "n_samples": n_samples,
            "resolution": resolution,
            "n_steps_in": n_steps_in,
            "n_steps_out": n_steps_out,
            "record_interval": record_interval,
        },
        f"~{steps} time steps to T={time:g} per sample, ~{format_seconds(per_sample)} per sample",
        "fewer n_samples, fewer cells (the cost grows like resolution^2), or fewer or closer "
        "frames (n_steps_in, n_steps_out, record_interval)",
    )


# --------------------------------------------------------------------------------------------
# The generator
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


def _solve_frames(rho, v, p, times, gamma, viscosity, batch_size, verbose: int = 0):
    out = np.empty((rho.shape[0], rho.shape[1], 3 * len(times)))
    starts = range(0, rho.shape[0], batch_size)
    for start in tqdm(starts, disable=not verbose, desc="CFD-1D batches"):
        sl = slice(start, start + batch_size)
        # make_cfd_1d has checked the cost of the whole request; the states are checked as
        # solve_euler_1d checks them (positivity rests on amplitude < 1 and rounding).
        r, u, q = _evolve(
            *_check_state(rho[sl], v[sl], p[sl]),
            times,
            gamma=gamma,
            boundary="periodic",
            dx=1.0 / rho.shape[1],
            cfl=_CFL,
            limiter="mc",
            riemann="hllc",
            viscosity=viscosity,
        )
        # Frame-major channels: (rho, v, p) of frame 0, then of frame 1, ...
        out[sl] = np.stack([r, u, q], axis=-1).reshape(r.shape[0], r.shape[1], -1)
    return out


@renamed_parameters({"frame_dt": "record_interval"}, since="0.2.0", removed_in="0.4.0")
@validate_params(
    {
        **CFD_GENERATOR,
    },
    prefer_skip_nested_validation=True,
)
def make_cfd_1d(
    n_samples: int = 100,
    resolution: int = 256,
    *,
    gamma: float = 5.0 / 3.0,
    n_steps_in: int = 10,
    n_steps_out: int = 1,
    record_interval: float = 0.05,
    n_waves: int = 4,
    max_wavenumber: int = 4,
    amplitude: float = 0.5,
    viscosity: float = 0.0,
    batch_size: int = 16,
    random_state: int | np.random.RandomState | None = None,
    verbose: int = 0,
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

    They are advanced by :func:`solve_euler_1d` and recorded every ``record_interval``. Frames
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
    record_interval : float, default=0.05
        Time between frames, ``> 0``.

        .. versionchanged:: 0.2.0
           Renamed from ``frame_dt``.
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
    verbose : int, default=0
        0 is silent; 1 or more shows a progress bar over batches. True and False work as 1 and 0.
    memory : joblib.Memory, str, path-like or None, default=None
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
    gamma, amplitude, viscosity = float(gamma), float(amplitude), float(viscosity)
    record_interval = float(record_interval)
    estimate = estimate_cfd_1d(
        n_samples,
        resolution,
        gamma=gamma,
        n_steps_in=n_steps_in,
        n_steps_out=n_steps_out,
        record_interval=record_interval,
        amplitude=amplitude,
        viscosity=viscosity,
        batch_size=batch_size,
        n_waves=n_waves,
    )
    announce(estimate, memory, verbose)
    rng = check_random_state(random_state)
    x = np.arange(resolution) / resolution
    base = rng.uniform(0.5, 1.5, size=(n_samples, 2))
    amps = rng.uniform(0, amplitude, size=(n_samples, 3))
    amps[:, 1] *= rng.choice([-1.0, 1.0], size=n_samples)
    waves = [_eval_waves(_random_waves(rng, n_samples, n_waves, max_wavenumber), x) for _ in range(3)]
    rho = base[:, :1] * (1 + amps[:, :1] * waves[0])
    v = amps[:, 1:2] * waves[1]
    p = base[:, 1:] * (1 + amps[:, 2:] * waves[2])
    times = record_interval * np.arange(n_steps_in + n_steps_out)
    frames = budgeted_call(
        memory,
        estimate,
        verbose,
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
