"""Parameter constraints shared by the datasets' public functions, for :func:`validate_params`.

Built from :mod:`sklearn_amfno._compat` only, like every constraint of the package. Reals are
required to be finite (``finite_interval``): a NaN or infinite viscosity, time or step is
refused rather than propagated into the solvers.
"""

from __future__ import annotations

import numbers
import os

from .._compat import POSITIVE_INT, RANDOM_STATE, HasMethods, Interval, StrOptions, finite_interval

__all__ = [
    "CFD_GENERATOR",
    "CFL",
    "EULER_SOLVER_OPTIONS",
    "FINITE_NON_NEGATIVE",
    "FINITE_POSITIVE",
    "FINITE_REAL",
    "LAZY",
    "MEMORY",
    "N_JOBS",
    "N_SAMPLES_TO_READ",
    "PATH",
    "RATIO_OF_SPECIFIC_HEATS",
    "int_at_least",
]

#: A finite real of any sign.
FINITE_REAL = [finite_interval(None, None, closed="neither")]
#: A finite real > 0 (viscosities, steps, intervals).
FINITE_POSITIVE = [finite_interval(0, None, closed="neither")]
#: A finite real >= 0 (times, diffusivities, exponents).
FINITE_NON_NEGATIVE = [finite_interval(0, None, closed="left")]
#: A Courant number, in (0, 1].
CFL = [finite_interval(0, 1, closed="right")]
#: The ratio of specific heats ``gamma`` of an ideal gas, a finite real > 1.
RATIO_OF_SPECIFIC_HEATS = [finite_interval(1, None, closed="neither")]
#: Threads: ``None`` (one), an int >= 1, or a negative int (all cores).
N_JOBS = [
    None,
    Interval(numbers.Integral, None, -1, closed="right"),
    Interval(numbers.Integral, 1, None, closed="left"),
]
#: What :func:`~sklearn_amfno.datasets._cache.cached_call` accepts: no cache, a directory or a
#: :class:`joblib.Memory`.
MEMORY = [None, str, os.PathLike, HasMethods(["cache"])]
#: A file or folder.
PATH = [str, os.PathLike]
#: Read only the first ``n_samples`` samples of a file, or all of them (``None``).
N_SAMPLES_TO_READ = [None] + POSITIVE_INT
#: A reader's ``lazy``: read now (``False``) or return arrays read on demand (``True``).
LAZY = ["boolean"]


def int_at_least(low: int) -> list:
    """An int >= ``low`` (grid sizes with a smallest usable value)."""
    return [Interval(numbers.Integral, low, None, closed="left")]


#: The options the finite-volume Euler solvers share (``solve_euler_1d``, ``solve_euler_2d``).
EULER_SOLVER_OPTIONS = {
    "time": FINITE_NON_NEGATIVE,
    "gamma": RATIO_OF_SPECIFIC_HEATS,
    "boundary": [StrOptions({"periodic", "outflow"})],
    "record_times": [None, "array-like"],
    "dx": [None] + FINITE_POSITIVE,
    "cfl": CFL,
    "limiter": [StrOptions({"mc", "minmod"})],
    "riemann": [StrOptions({"hllc", "hll"})],
    "viscosity": FINITE_NON_NEGATIVE,
    "verbose": ["verbose"],
}

#: The parameters the compressible-flow generators share (``make_cfd_1d``, ``make_cfd_2d``).
CFD_GENERATOR = {
    "n_samples": POSITIVE_INT,
    "resolution": int_at_least(8),
    "gamma": RATIO_OF_SPECIFIC_HEATS,
    "n_steps_in": POSITIVE_INT,
    "n_steps_out": POSITIVE_INT,
    "record_interval": FINITE_POSITIVE,
    "n_waves": POSITIVE_INT,
    "max_wavenumber": POSITIVE_INT,
    "amplitude": [finite_interval(0, 1, closed="left")],
    "viscosity": FINITE_NON_NEGATIVE,
    "batch_size": POSITIVE_INT,
    "random_state": RANDOM_STATE,
    "verbose": ["verbose"],
    "memory": MEMORY,
}


def effective_n_jobs(n_jobs: int | None) -> int:
    """Threads an ``n_jobs`` parameter (:data:`N_JOBS`) asks for: ``None`` means 1, a negative
    value all cores."""
    if n_jobs is None:
        return 1
    return (os.cpu_count() or 1) if n_jobs < 0 else n_jobs


def field_indices(fields, names: tuple[str, ...]) -> tuple[list[int], bool]:
    """Indices into ``names`` of a ``fields`` parameter, and whether one field (a str) was named."""
    single = isinstance(fields, str)
    chosen = [fields] if single else list(fields)
    if not chosen:
        raise ValueError(f"fields must name at least one of {list(names)}, got an empty sequence")
    for name in chosen:
        if not isinstance(name, str) or name not in names:
            raise ValueError(f"fields must be among {list(names)}, got {name!r}")
    return [names.index(name) for name in chosen], single
