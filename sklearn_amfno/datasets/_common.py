"""Small helpers shared by the generators: spectral wavenumbers and progress bars."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from tqdm.auto import tqdm


def integer_wavenumbers(n: int) -> np.ndarray:
    """Integer wavenumbers of an ``n``-point FFT on the unit period (``fftfreq(n, 1/n)``)."""
    return np.fft.fftfreq(n, 1.0 / n)


def progress(iterable: Iterable, *, verbose: bool, total: int | None = None, desc: str = ""):
    """Wrap ``iterable`` in a tqdm bar when ``verbose`` is true, else return it unchanged."""
    if not verbose:
        return iterable
    return tqdm(iterable, total=total, desc=desc)
