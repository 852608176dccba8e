"""PDEBench-style 2-D compressible-flow (CFD-2D) data: random smooth states advanced by the Euler solver."""

from __future__ import annotations

import inspect
import math

import numpy as np
from joblib import Memory, Parallel, delayed
from sklearn.utils import check_random_state
from tqdm.auto import tqdm

from .._compat import validate_params
from ._budget import _F8, Estimate, _threads, announce, format_seconds
from ._cache import budgeted_call
from ._constraints import (
    CFD_GENERATOR,
    N_JOBS,
    effective_n_jobs,
)
from ._euler_2d import _euler_2d_cell_step_seconds, _euler_2d_steps, _euler_2d_work_bytes, _evolve

__all__ = ["make_cfd_2d"]

#: The Courant number of the generator's solves (``solve_euler_2d``'s default).
_CFL = 0.25


# --------------------------------------------------------------------------------------------
# Cost model (the checks that use it: _budget.py; the solver's steps and rates: _euler_2d.py)
# --------------------------------------------------------------------------------------------
# The solver's model with the generator's largest signal speed (as make_cfd_1d's): ~0.9 s per
# sample at 64^2, T = 1 (0.6 s measured). n_jobs worker processes divide it (they scale: the
# scheme is single-threaded numpy), plus ~3 s to start them.
#: Seconds to start the worker processes of a parallel make_cfd_2d (each imports the package).
_WORKER_START_S = 3.0


def estimate_cfd_2d(
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
    n_jobs: int | None,
) -> Estimate:
    """make_cfd_2d: SSP-RK3 steps of the 2-D finite-volume solver, in batches over processes."""
    n_frames = n_steps_in + n_steps_out
    time = record_interval * (n_frames - 1)
    batch = min(batch_size, n_samples)
    workers = min(_threads(n_jobs), math.ceil(n_samples / batch))
    speed = amplitude + math.sqrt(gamma) * (1 + amplitude)
    steps = _euler_2d_steps(time, resolution, speed, 0.25, viscosity, 0.5 * (1 - amplitude))
    cells = resolution * resolution
    per_sample = steps * cells * _euler_2d_cell_step_seconds(batch * cells)
    frames = n_samples * cells * 4 * n_frames * _F8
    inputs = n_samples * cells * 4 * _F8
    per_worker = _euler_2d_work_bytes(batch * cells) + 2 * batch * cells * 4 * n_frames * _F8
    seconds = n_samples * per_sample / workers + (_WORKER_START_S if workers > 1 else 0.0)
    return Estimate(
        "make_cfd_2d",
        seconds,
        int(frames + inputs + workers * per_worker),
        frames,
        {
            "n_samples": n_samples,
            "resolution": resolution,
            "n_steps_in": n_steps_in,
            "n_steps_out": n_steps_out,
            "record_interval": record_interval,
        },
        f"~{steps} time steps to T={time:g} per sample, ~{format_seconds(per_sample)} per sample, "
        f"{workers} process(es)",
        "fewer n_samples, a coarser resolution (the cost grows like resolution^3), or fewer or "
        "closer frames (n_steps_in, n_steps_out, record_interval)"
        + ("" if workers > 1 else "; n_jobs=-1 solves batches in parallel processes"),
    )


# --------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------
def _wave_vectors(max_wavenumber):
    """The integer wave vectors ``(kx, ky)``, ``|kx|, |ky| <= K``, of one half-plane.

    ``(kx, ky)`` and ``(-kx, -ky)`` give the same waves up to the phase, so one of each pair is
    kept: ``kx > 0``, or ``kx = 0`` and ``ky > 0`` (``2 K (K + 1)`` vectors).
    """
    k = np.arange(-max_wavenumber, max_wavenumber + 1)
    kx, ky = np.meshgrid(k, k, indexing="ij")
    keep = (kx > 0) | ((kx == 0) & (ky > 0))
    return np.stack([kx[keep], ky[keep]], axis=-1)


def _random_waves(rng, n_samples, n_waves, max_wavenumber):
    """Parameters of ``s(x, y) = sum_i a_i sin(2 pi (kx_i x + ky_i y) + phi_i) / sum_i a_i``."""
    amp = rng.uniform(0.1, 1.0, size=(n_samples, n_waves))
    vectors = _wave_vectors(max_wavenumber)
    k = vectors[rng.randint(0, len(vectors), size=(n_samples, n_waves))]
    phase = rng.uniform(0, 2 * np.pi, size=(n_samples, n_waves))
    return amp, k, phase


def _eval_waves(params, x):
    """``s`` at the points ``(x_i, x_j)``, shape ``(n_samples, N, N)``, ``|s| <= 1``."""
    amp, k, phase = params
    # sin(a + b) = sin(a) cos(b) + cos(a) sin(b) with a = 2 pi kx x + phi, b = 2 pi ky y: each
    # wave is a sum of two outer products.
    a = 2 * np.pi * k[..., 0, None] * x + phase[..., None]  # (n, waves, N)
    b = 2 * np.pi * k[..., 1, None] * x
    weighted = amp[..., None]
    s = np.einsum("nwi,nwj->nij", weighted * np.sin(a), np.cos(b))
    s += np.einsum("nwi,nwj->nij", weighted * np.cos(a), np.sin(b))
    # Normalising by sum(a) (not by the grid maximum) bounds |s| <= 1 everywhere, so the
    # initial state does not depend on the resolution.
    return s / amp.sum(axis=1)[:, None, None]


def _signal_speed(rho, vx, vy, p, gamma):
    """The largest ``max(|vx|, |vy|) + c`` of each sample (what sets its CFL step)."""
    c = np.sqrt(gamma * p / rho)
    return (np.maximum(np.abs(vx), np.abs(vy)) + c).reshape(len(rho), -1).max(axis=1)


def _solve_batch(rho, vx, vy, p, times, gamma, viscosity):
    """The frames of a batch, ``(b, nx, ny, 4 * len(times))``, channels frame-major."""
    rec = _evolve(
        rho,
        vx,
        vy,
        p,
        times,
        gamma=gamma,
        boundary="periodic",
        dx=1.0 / rho.shape[1],
        cfl=_CFL,
        limiter="mc",
        riemann="hllc",
        viscosity=viscosity,
    )
    # Frame-major channels: (rho, vx, vy, p) of frame 0, then of frame 1, ...
    return np.moveaxis(rec, 0, -1).reshape(*rho.shape, 4 * len(times))


def _solve_frames(
    rho, vx, vy, p, times, n_steps_in, gamma, viscosity, batch_size, n_jobs=1, verbose: int = 0
):
    """``X, y``: frames ``0 .. n_steps_in - 1`` and the rest, channels frame-major.

    Every sample takes its own time steps, so a sample's trajectory does not depend on the
    samples it is batched with (nor on ``batch_size`` or ``n_jobs``); batches group samples of
    similar signal speed, and so of similar steps, so that samples that have reached a record
    time wait little for the others.
    """
    n_samples, nx, ny = rho.shape
    X = np.empty((n_samples, nx, ny, 4 * n_steps_in))
    y = np.empty((n_samples, nx, ny, 4 * (len(times) - n_steps_in)))
    order = np.argsort(_signal_speed(rho, vx, vy, p, gamma), kind="stable")
    batches = [order[i : i + batch_size] for i in range(0, n_samples, batch_size)]

    def store(idx, frames):
        X[idx] = frames[..., : 4 * n_steps_in]
        y[idx] = frames[..., 4 * n_steps_in :]

    with tqdm(total=n_samples, disable=not verbose, desc="CFD-2D samples") as bar:
        if n_jobs == 1:
            for idx in batches:
                store(idx, _solve_batch(rho[idx], vx[idx], vy[idx], p[idx], times, gamma, viscosity))
                bar.update(len(idx))
            return X, y

        # Worker processes, not threads: the scheme is ~100 numpy operations on arrays of a few
        # 10^4 values per stage, too short for threads to run in parallel (the GIL hand-offs
        # cost as much as they gain), while processes scale.
        def tasks(chunk):
            return (delayed(_solve_batch)(rho[i], vx[i], vy[i], p[i], times, gamma, viscosity) for i in chunk)

        if "return_as" in inspect.signature(Parallel).parameters:  # joblib >= 1.3
            # Results come back in order as the workers finish them, with no barrier between.
            results = Parallel(n_jobs=n_jobs, return_as="generator")(tasks(batches))
            for idx, frames in zip(batches, results):
                store(idx, frames)
                bar.update(len(idx))
        else:  # pragma: no cover - older joblib: rounds of a few batches per worker
            per_round = 4 * n_jobs
            with Parallel(n_jobs=n_jobs) as parallel:
                for start in range(0, len(batches), per_round):
                    chunk = batches[start : start + per_round]
                    for idx, frames in zip(chunk, parallel(tasks(chunk))):
                        store(idx, frames)
                        bar.update(len(idx))
    return X, y


@validate_params(
    {
        **CFD_GENERATOR,
        "n_jobs": N_JOBS,
    },
    prefer_skip_nested_validation=True,
)
def make_cfd_2d(
    n_samples: int = 100,
    resolution: int = 64,
    *,
    gamma: float = 5.0 / 3.0,
    n_steps_in: int = 10,
    n_steps_out: int = 1,
    record_interval: float = 0.05,
    n_waves: int = 4,
    max_wavenumber: int = 4,
    amplitude: float = 0.5,
    viscosity: float = 0.0,
    batch_size: int = 4,
    n_jobs: int | None = None,
    random_state: int | np.random.RandomState | None = None,
    verbose: int = 0,
    memory: Memory | str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate a PDEBench-style 2-D compressible-flow (CFD-2D) data set.

    Periodic unit square, ``resolution x resolution`` cells centred at ``(x_i, y_j) = (i, j) /
    resolution`` (axis 1 of the arrays is ``x``, axis 2 is ``y``). Each of density, the two
    velocity components and pressure starts as a random smooth field built from ``n_waves``
    plane sine waves ``s(x, y) = sum_i a_i sin(2 pi (kx_i x + ky_i y) + phi_i) / sum_i a_i``
    (``a_i ~ U(0.1, 1)``, ``phi_i ~ U(0, 2 pi)``, integer wave vectors with ``|kx_i|, |ky_i| <=
    max_wavenumber``, not both zero, so ``|s| <= 1``):

    * ``rho = rho0 (1 + A_rho s_rho)`` and ``p = p0 (1 + A_p s_p)`` with ``rho0, p0 ~ U(0.5,
      1.5)`` and ``A ~ U(0, amplitude)``, positive because ``amplitude < 1``;
    * ``vx = A_x s_x`` and ``vy = A_y s_y`` with ``A_x, A_y ~ U(-amplitude, amplitude)``.

    This is :func:`make_cfd_1d`'s recipe in two dimensions. They are advanced by
    :func:`solve_euler_2d` (MUSCL-HLLC-SSPRK3, MC limiter, Courant number 0.25) and recorded
    every ``record_interval``. Frames ``0 .. n_steps_in - 1`` (frame 0 is the initial state)
    form ``X`` and the next ``n_steps_out`` frames form ``y``. Channels are **frame-major**:
    ``[rho_0, vx_0, vy_0, p_0, rho_1, vx_1, vy_1, p_1, ...]``. PDEBench's 2-D layout (frames
    at ``t = 0, 0.05, ..., 1``) is ``n_steps_in + n_steps_out = 21``.

    Parameters
    ----------
    n_samples : int, default=100
        Number of trajectories.
    resolution : int, default=64
        Cells per side, ``>= 8``.
    gamma : float, default=5/3
        Ratio of specific heats, ``> 1``.
    n_steps_in, n_steps_out : int, default=10, 1
        Number of input and output frames.
    record_interval : float, default=0.05
        Time between frames, ``> 0``.
    n_waves : int, default=4
        Plane waves per field.
    max_wavenumber : int, default=4
        Largest wavenumber of the waves along each axis.
    amplitude : float, default=0.5
        Largest relative amplitude, in ``[0, 1)``.
    viscosity : float, default=0.0
        Dynamic viscosity of the simplified viscous stress ``mu grad(v)`` (0: Euler equations).
    batch_size : int, default=4
        Samples advanced together. Every sample takes its own CFL steps, so the result does not
        depend on it; 2-8 samples of 64 x 64 were the fastest per sample on a 2-core machine.
    n_jobs : int or None, default=None
        Worker processes advancing batches concurrently (``None`` means 1, ``-1`` all cores,
        joblib's ``loky`` backend); the result does not depend on it. Starting the workers
        takes a few seconds, so it pays off for long requests.
    random_state : int, RandomState instance or None, default=None
        Seed.
    verbose : int, default=0
        0 is silent; 1 or more shows a progress bar over samples. True and False work as 1 and 0.
    memory : joblib.Memory, str, path-like or None, default=None
        Cache for the solve, keyed on the initial states and parameters.

    Returns
    -------
    X : ndarray of shape (n_samples, resolution, resolution, 4 * n_steps_in), float64
    y : ndarray of shape (n_samples, resolution, resolution, 4 * n_steps_out), float64

    Examples
    --------
    >>> from sklearn_amfno.datasets import make_cfd_2d
    >>> X, y = make_cfd_2d(2, 16, n_steps_in=2, n_steps_out=1, record_interval=0.01, random_state=0)
    >>> X.shape, y.shape
    ((2, 16, 16, 8), (2, 16, 16, 4))
    """
    gamma, amplitude, viscosity = float(gamma), float(amplitude), float(viscosity)
    record_interval = float(record_interval)
    n_jobs = effective_n_jobs(n_jobs)
    estimate = estimate_cfd_2d(
        n_samples,
        resolution,
        gamma=gamma,
        n_steps_in=n_steps_in,
        n_steps_out=n_steps_out,
        record_interval=record_interval,
        amplitude=amplitude,
        viscosity=viscosity,
        batch_size=batch_size,
        n_jobs=n_jobs,
    )
    announce(estimate, memory, verbose)
    rng = check_random_state(random_state)
    x = np.arange(resolution) / resolution
    base = rng.uniform(0.5, 1.5, size=(n_samples, 2))
    amps = rng.uniform(0, amplitude, size=(n_samples, 4))
    amps[:, 1:3] *= rng.choice([-1.0, 1.0], size=(n_samples, 2))
    waves = [_eval_waves(_random_waves(rng, n_samples, n_waves, max_wavenumber), x) for _ in range(4)]
    rho = base[:, 0, None, None] * (1 + amps[:, 0, None, None] * waves[0])
    vx = amps[:, 1, None, None] * waves[1]
    vy = amps[:, 2, None, None] * waves[2]
    p = base[:, 1, None, None] * (1 + amps[:, 3, None, None] * waves[3])
    times = record_interval * np.arange(n_steps_in + n_steps_out)
    return budgeted_call(
        memory,
        estimate,
        verbose,
        _solve_frames,
        rho,
        vx,
        vy,
        p,
        times.tolist(),
        n_steps_in,
        gamma,
        viscosity,
        batch_size,
        n_jobs=n_jobs,
        verbose=verbose,
    )
