"""Reader for the Geo-FNO structured-mesh benchmarks (airfoil and pipe ``.npy`` files).

Returns ``X, y`` as float64 arrays in the package's data contract; the ``.npy`` files are
memory-mapped, so ``n_samples`` limits what is read from disk.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._compat import StrOptions, validate_params
from ._constraints import N_SAMPLES_TO_READ, PATH
from ._files import check_file

__all__ = ["load_geofno"]


_GEOFNO = {
    "airfoil": ("NACA_Cylinder", ("density", "velocity_x", "velocity_y", "pressure", "mach"), "mach"),
    "pipe": ("Pipe", ("velocity_x", "velocity_y", "pressure"), "velocity_x"),
}


@validate_params(
    {
        "folder": PATH,
        "case": [StrOptions(set(_GEOFNO))],
        "fields": [None, str, numbers.Integral, "array-like"],
        "n_samples": N_SAMPLES_TO_READ,
    },
    prefer_skip_nested_validation=True,
)
def load_geofno(
    folder: str | os.PathLike,
    case: str = "airfoil",
    *,
    fields: str | int | Sequence[str | int] | None = None,
    n_samples: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Read the Geo-FNO structured-mesh benchmarks (``.npy`` files).

    Layouts:

    * ``"airfoil"``: ``NACA_Cylinder_X.npy`` and ``NACA_Cylinder_Y.npy`` of shape
      ``(N, 221, 51)`` (mesh coordinates) and ``NACA_Cylinder_Q.npy`` of shape
      ``(N, 5, 221, 51)`` with fields ``(density, velocity_x, velocity_y, pressure, mach)``;
      the default output is the Mach number ``Q[:, 4]``.
    * ``"pipe"``: ``Pipe_X.npy``, ``Pipe_Y.npy`` ``(N, 129, 129)`` and ``Pipe_Q.npy``
      ``(N, 3, 129, 129)`` with ``(velocity_x, velocity_y, pressure)``; the default output is
      the horizontal velocity ``Q[:, 0]``.

    Parameters
    ----------
    folder : str or path-like
        Directory holding the three files.
    case : {"airfoil", "pipe"}, default="airfoil"
        Which benchmark.
    fields : str, int or sequence, default=None
        Output field(s) by name or index into ``Q``'s field axis; ``None`` is the default above.
    n_samples : int, default=None
        Read only the first ``n_samples`` samples (files are memory-mapped).

    Returns
    -------
    X : ndarray of shape (n, H, W, 2), float64
        Mesh coordinates ``(x, y)`` as input channels.
    y : ndarray of shape (n, H, W) or (n, H, W, n_fields), float64
        Selected output field(s).

    Examples
    --------
    >>> X, y = load_geofno("data/naca", "airfoil")  # doctest: +SKIP
    """
    prefix, names, default = _GEOFNO[case]
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"Geo-FNO folder not found: {str(folder)!r}")
    arrays = {}
    for suffix in ("X", "Y", "Q"):
        arrays[suffix] = np.load(
            check_file(folder / f"{prefix}_{suffix}.npy", f"Geo-FNO {case}"), mmap_mode="r"
        )
    xs, ys, q = arrays["X"], arrays["Y"], arrays["Q"]
    if xs.ndim != 3 or xs.shape != ys.shape or q.ndim != 4 or (q.shape[0],) + q.shape[2:] != xs.shape:
        raise ValueError(
            f"Geo-FNO {case} expects {prefix}_X/_Y of shape (N, H, W) and {prefix}_Q of shape "
            f"(N, n_fields, H, W); got {xs.shape}, {ys.shape} and {q.shape}"
        )
    spec = default if fields is None else fields
    single = isinstance(spec, str | int | np.integer)
    items = [spec] if single else list(spec)
    idx = []
    for item in items:
        if isinstance(item, str):
            if item not in names:
                raise ValueError(f"fields for {case} must be among {list(names)}, got {item!r}")
            i = names.index(item)
        else:
            i = int(item)
        if not 0 <= i < q.shape[1]:
            raise ValueError(
                f"{prefix}_Q.npy has {q.shape[1]} fields (indices 0..{q.shape[1] - 1}); "
                f"field {item!r} needs index {i}"
            )
        idx.append(i)
    stop = xs.shape[0] if n_samples is None else min(n_samples, xs.shape[0])
    X = np.stack([np.asarray(xs[:stop], dtype=np.float64), np.asarray(ys[:stop], dtype=np.float64)], axis=-1)
    y = np.asarray(q[:stop][:, idx], dtype=np.float64)
    y = y[:, 0] if single else np.moveaxis(y, 1, -1)
    return np.ascontiguousarray(X), np.ascontiguousarray(y)
