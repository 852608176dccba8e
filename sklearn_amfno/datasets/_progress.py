"""Optional tqdm progress bars for the generators' loops over samples and time steps."""

from __future__ import annotations

from collections.abc import Iterable

from tqdm.auto import tqdm


def progress(iterable: Iterable, *, verbose: int, total: int | None = None, desc: str = ""):
    """Wrap ``iterable`` in a tqdm bar when ``verbose`` is 1 or more, else return it unchanged."""
    if not verbose:
        return iterable
    return tqdm(iterable, total=total, desc=desc)
