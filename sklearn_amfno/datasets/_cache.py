"""Optional on-disk caching of expensive solves through :class:`joblib.Memory`.

Generators draw their random inputs first (cheap, advances the caller's random state as usual)
and then pass the explicit inputs to a module-level batch solver through :func:`cached_call`
(or :func:`budgeted_call`, which also gives the large-request warning when the result is not
cached yet). The cache key is therefore the *inputs*, not the seed, so a cache hit is returned
only when the very same problem would have been solved.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from joblib import Memory
from sklearn.utils.validation import check_memory

from ._budget import Estimate, warn_large


def _memoised(memory: Memory | str | None, func: Callable[..., Any]):
    """``func`` memoised by ``memory``, or None when ``memory`` has no location."""
    mem = check_memory(memory)
    if getattr(mem, "location", None) is None:
        return None
    params = inspect.signature(func).parameters
    # Arguments that cannot change the result stay out of the cache key.
    ignore = [name for name in ("verbose", "n_jobs") if name in params]
    return mem.cache(func, ignore=ignore)


def cached_call(memory: Memory | str | None, func: Callable[..., Any], /, *args, **kwargs) -> Any:
    """Call ``func(*args, **kwargs)``, memoised by ``memory`` when it has a location.

    ``memory`` may be ``None`` (no caching), a path string or a :class:`joblib.Memory`.
    ``verbose`` and ``n_jobs`` arguments of ``func`` are excluded from the cache key, so turning
    progress bars on or off or changing the parallelism does not trigger a re-solve.
    """
    memoised = _memoised(memory, func)
    if memoised is None:
        return func(*args, **kwargs)
    return memoised(*args, **kwargs)


def budgeted_call(
    memory: Memory | str | None,
    estimate: Estimate,
    verbose: bool | None,
    func: Callable[..., Any],
    /,
    *args,
    **kwargs,
) -> Any:
    """:func:`cached_call` for a generator that has announced ``estimate``.

    With a cache location, the :class:`~sklearn_amfno.datasets.LargeGenerationWarning` is given
    here, only when the result is not cached yet (without one the generator warned before
    drawing its inputs). ``func`` is a solver's private implementation (or a batch of it), which
    does not check the cost again: the generator checked the whole request.
    """
    memoised = _memoised(memory, func)
    if memoised is None:
        return func(*args, **kwargs)
    if estimate.is_large and not memoised.check_call_in_cache(*args, **kwargs):
        warn_large(estimate, verbose=verbose, cached=True)
    return memoised(*args, **kwargs)
