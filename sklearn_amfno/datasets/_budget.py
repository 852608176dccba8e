"""Up-front cost checks of the generators and solvers: what a large estimate leads to.

Before a ``make_*`` generator (or a time-stepping solver called directly) starts its work, it
estimates the wall time and the peak memory of the request from its sizes alone, with its cost
model (the ``estimate_*`` functions in its own module, beside the solver: ``_darcy.py``,
``_cfd_1d.py``, ...), and then:

* refuses with a ValueError, naming the parameters, when the arrays it would return cannot fit in
  this machine's physical memory (``os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')``,
  where available) - the one case where the outcome is certain;
* warns with a :class:`LargeGenerationWarning` when the estimate exceeds
  :data:`TIME_WARNING_S` (60 s) or :data:`MEMORY_WARNING_BYTES` (2 GiB): the estimate, the sizes
  that drive it, and how to reduce it or cache it (``memory=``). With ``memory=`` the warning is
  given only when the result is not in the cache yet.

A generator checks the whole request once (:func:`announce`, then
:func:`~sklearn_amfno.datasets._cache.budgeted_call` with ``memory=``) and calls its solver's
private implementation, which does not check again; a public solver checks its own call
(:func:`check_solver`) and then calls that same implementation.

The cost models are calibrated on the 2-core development machine (x86_64, numpy 2.4, scipy 1.17,
shared with other jobs: load 2-3) and rounded up so that the estimate errs on the long side
(``docs/datasets.md``, "Speed"). Memory counts the returned arrays (float64) plus the inputs and
working arrays each code path holds at its peak, so the estimate is an upper bound within a small
factor. This module holds what the cost models share: :class:`Estimate`, :func:`format_seconds`,
the item sizes and :func:`_threads`.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import FrameType
from typing import cast

__all__ = [
    "Estimate",
    "LargeGenerationWarning",
    "MEMORY_WARNING_BYTES",
    "TIME_WARNING_S",
    "announce",
    "check_solver",
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
    # None when scikit-learn is not imported or has no file (ModuleType.__file__ is str | None).
    sklearn_file = getattr(sys.modules.get("sklearn"), "__file__", None)
    if sklearn_file:
        skip.append(os.path.dirname(os.path.abspath(sklearn_file)))
    frame: FrameType | None = sys._getframe(1)  # the caller of this function, which calls warnings.warn
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
    n_samples = cast(int, est.sizes.get("n_samples", 1))  # the generators' sizes hold it as an int
    fit = max(1, int(n_samples * 0.5 * total / est.output_bytes))
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


def warn_large(
    est: Estimate, *, verbose: int | None, cached: bool | None, samples: tuple[int, int] | None = None
) -> None:
    """Warn (LargeGenerationWarning) when ``est`` is large.

    ``verbose``: the call's verbosity (0: silent, 1 or more: a progress bar; None: the call has no
    progress bar); ``cached``: whether ``memory=`` is set (None: the call cannot cache);
    ``samples``: ``(left, total)`` for a generator caching each sample on its own, whose
    estimate counts the ``left`` samples not cached yet.
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
    elif cached and samples is not None:
        left, total_samples = samples
        cache = (
            f" The estimate counts the {left} of {total_samples} samples not in the cache (memory=); "
            "each is cached as it is solved, so a call stopped part-way resumes where it stopped."
        )
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
        bar = " Pass verbose=1 for a progress bar."
    warnings.warn(
        LargeGenerationWarning(
            f"{est.call()} is a large request: estimated, before it starts, at {' and '.join(parts)} "
            f"({detail}). To reduce it: {est.reduce}.{cache}{bar}"
        ),
        stacklevel=_user_stacklevel(),
    )


def announce(est: Estimate, memory, verbose: int | None) -> None:
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


def check_solver(est: Estimate, verbose: int | None) -> None:
    """A public solver's check of its own call: refuse what cannot fit, warn when large.

    Generators do not call the public solvers: they check the whole request up front and call
    the solvers' private implementations, so a request is checked once.
    """
    check_fits(est)
    warn_large(est, verbose=verbose, cached=None)


def _threads(n_jobs: int | None) -> int:
    """Threads (or processes) a cost model counts for ``n_jobs``."""
    if n_jobs is None:
        return 1
    cores = os.cpu_count() or 1
    return cores if n_jobs < 0 else min(n_jobs, cores)
