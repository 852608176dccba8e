"""Optional on-disk caching of expensive solves through :class:`joblib.Memory`.

Generators draw their random inputs first (cheap, advances the caller's random state as usual)
and then pass the explicit inputs to a module-level batch solver through :func:`cached_call`.
The cache key is therefore the *inputs*, not the seed, so a cache hit is returned only when
the very same problem would have been solved.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from joblib import Memory
from sklearn.utils.validation import check_memory


def cached_call(memory: Memory | str | None, func: Callable[..., Any], *args, **kwargs) -> Any:
    """Call ``func(*args, **kwargs)``, memoised by ``memory`` when it has a location.

    ``memory`` may be ``None`` (no caching), a path string or a :class:`joblib.Memory`.
    ``verbose`` and ``n_jobs`` arguments of ``func`` are excluded from the cache key, so turning
    progress bars on or off or changing the parallelism does not trigger a re-solve.
    """
    mem = check_memory(memory)
    if getattr(mem, "location", None) is None:
        return func(*args, **kwargs)
    params = inspect.signature(func).parameters
    # Arguments that cannot change the result stay out of the cache key.
    ignore = [name for name in ("verbose", "n_jobs") if name in params]
    return mem.cache(func, ignore=ignore)(*args, **kwargs)
