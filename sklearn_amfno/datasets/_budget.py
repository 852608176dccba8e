"""Up-front cost estimates of the generators and solvers, and what a large estimate leads to.

Before a ``make_*`` generator (or a time-stepping solver called directly) starts its work, it
estimates the wall time and the peak memory of the request from its sizes alone, with the cost
models below, and then:

* refuses with a ValueError, naming the parameters, when the arrays it would return cannot fit in
  this machine's physical memory (``os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')``,
  where available) - the one case where the outcome is certain;
* warns with a :class:`LargeGenerationWarning` when the estimate exceeds
  :data:`TIME_WARNING_S` (60 s) or :data:`MEMORY_WARNING_BYTES` (2 GiB): the estimate, the sizes
  that drive it, and how to reduce it or cache it (``memory=``). With ``memory=`` the warning is
  given only when the result is not in the cache yet.

Cost models (per sample unless said; ``N`` the resolution, ``T`` the simulated time), calibrated
on the 2-core development machine (x86_64, numpy 2.4, scipy 1.17, shared with other jobs: load
2-3), rounded up so that the estimate errs on the long side (``docs/datasets.md``, "Speed"):

* Darcy: sparse LU of the ``(N - 2)^2`` interior unknowns, ``0.5 ms + 4 ms (N / 64)^3.2``
  (measured 3.1, 28, 290 ms at 64, 128, 256), divided by ``sqrt(threads)`` (2 threads gave
  1.4x); the LU factors hold about ``7 N^2 log2 N`` entries, ``~170 N^2 log2 N`` bytes per thread.
* Navier-Stokes: about ``22 T (N / 64)`` adaptive CFL steps (measured 431 and 785 steps to
  T = 20 at 64^2 and 128^2), at least ``T / max_dt``, or ``T / dt`` for a fixed step; each step
  ``0.35 ms (N / 64)^2.2`` in single precision (measured 0.22-0.47, 1.1, 5.4 ms at 64, 128,
  256), twice that in double: ``~0.15 s`` per sample for the FNO setting (64^2, T = 20).
* CFD-1D (and ``solve_euler_1d``): ``T S N / cfl`` SSP-RK3 steps, ``S`` the largest signal speed
  ``|v| + c`` (for the generator ``A + sqrt(gamma) (1 + A)``, ``A = amplitude``: 2.4 measured at
  the defaults), or the explicit viscous limit if shorter; ``0.45 us`` per cell and step in
  batches of up to 8192 cells, ``1 us`` in larger ones (measured 0.27-0.42 and 0.95 us):
  ``~0.07 s`` per sample at 256 cells, T = 0.5.
* CFD-2D (and ``solve_euler_2d``): ``T S N / 0.25`` SSP-RK3 steps (the same ``S``, the
  Courant number 0.25 of the unsplit scheme, or the 2-D viscous limit ``0.2 dx^2 rho / mu`` if
  shorter; measured ~480 steps per sample against the model's 624 at 64^2, T = 1), ``0.35 us``
  per cell and step in batches of up to 32768 cells, ``0.5 us`` in larger ones (measured
  0.28-0.34 us at 2-4 samples of 64^2, 0.41 us at 16): ``~0.9 s`` per sample at 64^2, T = 1
  (0.6 s measured). ``n_jobs`` worker processes divide it (they scale: the scheme is
  single-threaded numpy), plus ~3 s to start them.
* Burgers: Cole-Hopf ``0.6 ms (N log2 N) / (1024 * 10)`` (measured 0.6 and 3.3 ms at 1024 and
  8192 points); the ETDRK4 stepper ``T / dt`` steps (``dt = min(0.2 / (N max|u0|), 1e-3)``, with
  ``max|u0| ~ 4`` standard deviations of the random field) of ``0.021 ms (N log2 N) / (1024 * 10)``
  each (486 ms per sample measured at 1024 points).
* Pipe (``make_pipe``, ``solve_pipe``): a Stokes solve and ~4 Newton steps, each a sparse LU of
  the ``2 N^2`` streamfunction-vorticity unknowns, ``0.02 s + 5 s (N / 129)^3`` (measured
  0.04, 0.14, 0.65 s at 17, 33, 65 and 3.6-4.0 s, 3.75 s of CPU, at 129), divided by
  ``sqrt(threads)``; the LU factors hold about ``12e6 (N / 129)^2.7``
  entries (12 bytes each) per thread.
* Airfoil (``make_airfoil``, ``solve_airfoil``): 30-240 implicit pseudo-time steps, 5-25 of them
  with a single-precision sparse LU of the ``4 (n_around - 1) (n_normal - 1)`` unknowns (~0.7 s
  each at 221 x 51), the second-order ones with ~20 GMRES iterations (a residual and a triangular
  solve each, ~25 ms): ``0.5 s + 25 s (cells / 11000)^1.3`` per sample (measured 12-87 s, median
  25 s, at 221 x 51, Mach 0.8, on a loaded machine; docs/datasets.md), divided by
  ``sqrt(threads)``; the LU factors hold ~17e6 entries (8 bytes each) at 221 x 51.
* Heat and advection: ``2 n sum_j N^j (2K + 1)^(d - j + 1)`` complex multiply-adds (the exact
  evaluation on the grid, ``d`` axes, ``K = max_wavenumber``) at ``5e8`` per second.

Memory counts the returned arrays (float64) plus the inputs and working arrays each code path
holds at its peak, so the estimate is an upper bound within a small factor.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "Estimate",
    "LargeGenerationWarning",
    "MEMORY_WARNING_BYTES",
    "TIME_WARNING_S",
    "announce",
    "check_solver",
    "estimate_airfoil",
    "estimate_burgers",
    "estimate_cfd_1d",
    "estimate_cfd_2d",
    "estimate_darcy",
    "estimate_exact_fields",
    "estimate_navier_stokes",
    "estimate_pipe",
    "estimate_solve_airfoil",
    "estimate_solve_burgers",
    "estimate_solve_darcy",
    "estimate_solve_euler_1d",
    "estimate_solve_euler_2d",
    "estimate_solve_navier_stokes",
    "estimate_solve_pipe",
    "solver_checked",
    "total_memory",
    "warn_large",
]

#: Estimated seconds above which a call warns.
TIME_WARNING_S = 60.0
#: Estimated peak bytes above which a call warns (2 GiB).
MEMORY_WARNING_BYTES = 2 * 2**30

_F8 = 8  # bytes of a float64
_C16 = 16  # bytes of a complex128


class LargeGenerationWarning(UserWarning):
    """A generator or solver call is estimated to take long or to need much memory.

    Given before the work starts, with the estimate, the sizes that drive it and how to reduce it
    or cache it (``memory=``). Silence it with
    ``warnings.simplefilter("ignore", LargeGenerationWarning)``.
    """


@dataclass(frozen=True)
class Estimate:
    """The estimated cost of one call.

    ``peak_bytes`` is the whole estimate (returned arrays, inputs and working arrays);
    ``output_bytes`` the arrays the call returns, which it certainly allocates.
    """

    func: str
    seconds: float
    peak_bytes: int
    output_bytes: int
    sizes: Mapping[str, object] = field(default_factory=dict)
    work: str = ""
    reduce: str = "fewer samples or a coarser resolution"

    @property
    def is_large(self) -> bool:
        return self.seconds > TIME_WARNING_S or self.peak_bytes > MEMORY_WARNING_BYTES

    def call(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.sizes.items())
        return f"{self.func}({args})"


def total_memory() -> int | None:
    """Physical memory of this machine in bytes, or None where the OS does not say."""
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return None
    if pages <= 0 or size <= 0:  # pragma: no cover
        return None
    return int(pages) * int(size)


def format_bytes(n: float) -> str:
    """``1.5 GiB``, ``320 MiB``, ``12 KiB``."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} bytes"


def format_seconds(s: float) -> str:
    """``4.5 ms``, ``0.35 s``, ``45 s``, ``3.2 min``, ``5.1 h``, ``2.3 days``."""
    if s < 0.1:
        return f"{s * 1e3:.1f} ms"
    if s < 120:
        return f"{s:.0f} s" if s >= 10 else f"{s:.2g} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    if s < 2 * 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


def _user_stacklevel() -> int:
    """The ``stacklevel`` of the first frame outside this package and scikit-learn.

    The public functions are wrapped (``validate_params``, renamed keywords), so a fixed level
    would point at a wrapper; the warning should point at the user's call.
    """
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    skip = [package]
    sklearn = sys.modules.get("sklearn")
    if sklearn is not None and getattr(sklearn, "__file__", None):
        skip.append(os.path.dirname(os.path.abspath(sklearn.__file__)))
    frame = sys._getframe(1)  # the caller of this function, which calls warnings.warn
    level = 1
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if not any(filename.startswith(p + os.sep) for p in skip):
            return level
        frame = frame.f_back
        level += 1
    return 1  # pragma: no cover


def check_fits(est: Estimate) -> None:
    """Refuse a call whose returned arrays cannot fit in this machine's physical memory."""
    total = total_memory()
    if total is None or est.output_bytes <= total:
        return
    fit = max(1, int(est.sizes.get("n_samples", 1) * 0.5 * total / est.output_bytes))
    chunk = (
        f"; e.g. n_samples={fit} per call, with a different random_state each"
        if est.func.startswith("make_") and "n_samples" in est.sizes
        else ""
    )
    raise ValueError(
        f"{est.call()} would return arrays of {format_bytes(est.output_bytes)} (float64), more than "
        f"this machine's {format_bytes(total)} of physical memory, so it cannot succeed; "
        f"reduce it: {est.reduce}{chunk}"
    )


def warn_large(est: Estimate, *, verbose: bool | None, cached: bool | None) -> None:
    """Warn (LargeGenerationWarning) when ``est`` is large.

    ``verbose``: the call's progress-bar flag (None: it has no progress bar); ``cached``: whether
    ``memory=`` is set (None: the call cannot cache).
    """
    if not est.is_large:
        return
    parts = []
    if est.seconds > TIME_WARNING_S:
        parts.append(f"~{format_seconds(est.seconds)}")
    parts.append(f"~{format_bytes(est.peak_bytes)} of memory")
    total = total_memory()
    if total is not None and est.peak_bytes > total:
        parts[-1] += f", more than this machine's {format_bytes(total)} of physical memory"
    detail = f"returned arrays {format_bytes(est.output_bytes)}" + (f"; {est.work}" if est.work else "")
    if cached is None:
        cache = ""
    elif cached:
        cache = " The result will be cached (memory=), so an identical call later returns at once."
    else:
        cache = (
            " Generate it once and cache it with memory='<cache dir>' (or a joblib.Memory): an "
            "identical call then returns at once."
        )
    if verbose is None:
        bar = ""
    elif verbose:
        bar = " A progress bar follows."
    else:
        bar = " Pass verbose=True for a progress bar."
    warnings.warn(
        LargeGenerationWarning(
            f"{est.call()} is a large request: estimated, before it starts, at {' and '.join(parts)} "
            f"({detail}). To reduce it: {est.reduce}.{cache}{bar}"
        ),
        stacklevel=_user_stacklevel(),
    )


def announce(est: Estimate, memory, verbose: bool | None) -> None:
    """A generator's check before any work: refuse what cannot fit; warn now unless cacheable.

    With a cache location (``memory=``) the warning waits for
    :func:`~sklearn_amfno.datasets._cache.budgeted_call`, which knows whether the result is
    already cached.
    """
    check_fits(est)
    if _cache_location(memory) is None:
        warn_large(est, verbose=verbose, cached=False)


def _cache_location(memory):
    if memory is None:
        return None
    if isinstance(memory, str | os.PathLike):
        return memory
    return getattr(memory, "location", None)


_SOLVER_CHECKED = contextvars.ContextVar("sklearn_amfno_solver_checked", default=False)


@contextlib.contextmanager
def solver_checked():
    """Within it, the solvers skip their own check (their caller, a generator, has done it)."""
    token = _SOLVER_CHECKED.set(True)
    try:
        yield
    finally:
        _SOLVER_CHECKED.reset(token)


def check_solver(est_factory, verbose: bool | None) -> None:
    """A solver's check, unless a generator has checked the whole request already."""
    if _SOLVER_CHECKED.get():
        return
    est = est_factory()
    check_fits(est)
    warn_large(est, verbose=verbose, cached=None)


# --------------------------------------------------------------------------------------------
# Cost models
# --------------------------------------------------------------------------------------------
def _threads(n_jobs: int | None) -> int:
    if n_jobs is None:
        return 1
    cores = os.cpu_count() or 1
    return cores if n_jobs < 0 else min(n_jobs, cores)


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


def _burgers_std(alpha: float, tau: float, sigma: float, max_wavenumber: int, resolution: int) -> float:
    kmax = min(max_wavenumber, (resolution - 1) // 2)
    return math.sqrt(
        sum(
            (sigma * (4 * math.pi**2 * k * k + tau * tau) ** (-alpha / 2)) ** 2
            for k in range(-kmax, kmax + 1)
        )
    )


def _burgers_fft_scale(resolution: int) -> float:
    return resolution * math.log2(max(resolution, 2)) / (1024 * 10)


def _burgers_spectral_steps(time: float, resolution: int, umax: float, dt: float | None) -> int:
    if time == 0:
        return 0
    if dt is None:
        dt = min(0.2 / (resolution * max(umax, 1e-12)), 1e-3)
    return max(1, math.ceil(time / dt - 1e-12))


def estimate_burgers(
    n_samples: int,
    resolution: int,
    *,
    solver_resolution: int,
    viscosity: float,
    time: float,
    alpha: float,
    tau: float,
    sigma: float,
    max_wavenumber: int,
    method: str,
) -> Estimate:
    """make_burgers: Cole-Hopf (a few FFTs) or ETDRK4 steps on the solver grid."""
    fine = solver_resolution
    if method == "cole_hopf":
        per_sample = 0.6e-3 * _burgers_fft_scale(fine)
        work = f"the exact Cole-Hopf solution on {fine} points"
    else:
        umax = 4 * _burgers_std(alpha, tau, sigma, max_wavenumber, fine)
        steps = _burgers_spectral_steps(time, fine, umax, None)
        per_sample = steps * 2.1e-5 * _burgers_fft_scale(fine)
        work = f"~{steps} ETDRK4 steps on {fine} points per sample"
    out = 2 * n_samples * resolution * _F8
    m = 2 * max_wavenumber + 1
    peak = out + n_samples * (fine * (_C16 + 14 * _F8) + 5 * m * _C16)
    sizes = {"n_samples": n_samples, "resolution": resolution}
    if fine != resolution:
        sizes["solver_resolution"] = fine
    if method != "cole_hopf":
        sizes["method"] = method
    return Estimate(
        "make_burgers",
        n_samples * per_sample,
        int(peak),
        out,
        sizes,
        work,
        "fewer n_samples or a coarser resolution or solver_resolution"
        + ('; method="cole_hopf" is exact and far faster' if method != "cole_hopf" else ""),
    )


def estimate_solve_burgers(
    n_samples: int, resolution: int, time: float, *, method: str, umax: float, dt: float | None
) -> Estimate:
    """solve_burgers on ``n_samples`` initial conditions of ``resolution`` points."""
    if method == "cole_hopf":
        seconds = n_samples * 0.6e-3 * _burgers_fft_scale(resolution)
        work = "the exact Cole-Hopf solution"
    else:
        steps = _burgers_spectral_steps(time, resolution, umax, dt)
        seconds = n_samples * steps * 2.1e-5 * _burgers_fft_scale(resolution)
        work = f"~{steps} ETDRK4 steps"
    out = n_samples * resolution * _F8
    return Estimate(
        "solve_burgers",
        seconds,
        int(out + n_samples * resolution * 14 * _F8),
        out,
        {"n_samples": n_samples, "resolution": resolution, "time": time, "method": method},
        work,
        "fewer samples, a coarser grid or a shorter time",
    )


def estimate_exact_fields(
    func: str, n_samples: int, resolution: int, *, n_dim: int, max_wavenumber: int
) -> Estimate:
    """make_heat / make_advection: exact evaluation of two trigonometric polynomials on the grid."""
    m = 2 * max_wavenumber + 1
    macs = 2 * n_samples * sum(resolution**j * m ** (n_dim - j + 1) for j in range(1, n_dim + 1))
    field_bytes = n_samples * resolution**n_dim * _F8
    # X and y, the complex result of the last contraction and its real part, the one before it,
    # and the coefficients (two complex sets, two normal draws).
    peak = (
        2 * field_bytes
        + n_samples * resolution**n_dim * (_C16 + _F8)
        + n_samples * resolution ** (n_dim - 1) * m * _C16
        + n_samples * m**n_dim * (2 * _C16 + 2 * _F8)
    )
    return Estimate(
        func,
        macs / 5e8,
        int(peak),
        2 * field_bytes,
        {"n_samples": n_samples, "resolution": resolution, "n_dim": n_dim},
        f"~{macs:.2g} complex multiply-adds for {n_samples} x {resolution}^{n_dim} points",
        "fewer n_samples, a coarser resolution or a smaller n_dim (the size grows like resolution^n_dim)",
    )


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


def _airfoil_sample_seconds(cells: int) -> float:
    # 5-25 sparse LU factorisations, 30-240 steps of up to 20 GMRES iterations (measured 12-87 s,
    # median 25 s, at 220 x 50 cells).
    return 0.5 + 25.0 * (cells / 11000) ** 1.3


def _airfoil_lu_bytes(cells: int) -> int:
    # ~17e6 entries in the single-precision LU factors at 11000 cells (value and row index: 8 bytes).
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
