"""Reader and writer for the Geo-FNO structured-mesh benchmarks (airfoil and pipe ``.npy`` files).

Returns ``X, y`` as float64 arrays in the package's data contract; the ``.npy`` files are
memory-mapped, so ``n_samples`` limits what is read from disk. With ``lazy=True`` they stay
memory-mapped: :class:`~sklearn_amfno._lazy_array.LazyArray` objects over the maps, read through
the same functions as the eager read. :func:`save_geofno` writes arrays in the same layout, so
that generated data (``make_pipe``) is read back exactly like the original files.
"""

from __future__ import annotations

import functools
import numbers
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._compat import StrOptions, validate_params
from .._lazy_array import LazyArray
from ._constraints import LAZY, N_SAMPLES_TO_READ, PATH
from ._files import (
    check_file,
    check_folder,
    check_n_samples,
    check_real_dtype,
    describe_format,
    detect_format,
    quoted,
)

__all__ = ["load_geofno", "save_geofno"]


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
        "lazy": LAZY,
    },
    prefer_skip_nested_validation=True,
)
def load_geofno(
    folder: str | os.PathLike,
    case: str = "airfoil",
    *,
    fields: str | int | Sequence[str | int] | None = None,
    n_samples: int | None = None,
    lazy: bool = False,
) -> tuple[np.ndarray, np.ndarray] | tuple[LazyArray, LazyArray]:
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
    lazy : bool, default=False
        Return arrays read from the memory-mapped files only where indexed
        (:class:`sklearn_amfno._lazy_array.LazyArray`) instead of reading them now: the same
        shapes, dtype and values (the two coordinate files stacked and the fields selected at
        each read). ``fit`` and ``predict`` stream them (``docs/scaling_out.md``).

        .. versionadded:: 0.2.0

    Returns
    -------
    X : ndarray of shape (n, H, W, 2), float64 (LazyArray with ``lazy=True``)
        Mesh coordinates ``(x, y)`` as input channels.
    y : ndarray of shape (n, H, W) or (n, H, W, n_fields), float64 (LazyArray with ``lazy=True``)
        Selected output field(s).

    Examples
    --------
    >>> X, y = load_geofno("data/naca", "airfoil")  # doctest: +SKIP
    """
    prefix, names, default = _GEOFNO[case]
    folder = check_folder(folder, "Geo-FNO")
    arrays, paths = {}, {}
    for suffix in ("X", "Y", "Q"):
        paths[suffix] = check_file(folder / f"{prefix}_{suffix}.npy", f"Geo-FNO {case}")
        arrays[suffix] = _load_npy(paths[suffix])
    xs, ys, q = arrays["X"], arrays["Y"], arrays["Q"]
    if xs.ndim != 3 or xs.shape != ys.shape or q.ndim != 4 or (q.shape[0],) + q.shape[2:] != xs.shape:
        raise ValueError(
            f"{quoted(folder)}: Geo-FNO {case} expects {prefix}_X/_Y of shape (N, H, W) and "
            f"{prefix}_Q of shape (N, n_fields, H, W); got {xs.shape}, {ys.shape} and {q.shape}"
        )
    idx, single = _field_indices(fields, default, names, case, q.shape[1], paths["Q"])
    stop = check_n_samples(n_samples, xs.shape[0], paths["X"])
    read_y = functools.partial(_read_fields, fields=tuple(idx), single=single)
    if lazy:
        grid = tuple(int(g) for g in xs.shape[1:])
        files: list[str | os.PathLike] = [str(paths[k].absolute()) for k in ("X", "Y", "Q")]
        X = LazyArray(files[:2], (stop, *grid, 2), np.float64, _read_mesh, source="npy")
        y_shape = (stop, *grid) if single else (stop, *grid, len(idx))
        return X, LazyArray(files[2:], y_shape, np.float64, read_y, source="npy")
    return _read_mesh((xs, ys), slice(0, stop)), read_y((q,), slice(0, stop))


def _read_mesh(maps: tuple[np.ndarray, ...], rows: slice) -> np.ndarray:
    """Samples ``rows`` of the mesh coordinates ``(x, y)`` as two channels (both modes' read)."""
    xs, ys = maps
    return np.stack([np.asarray(xs[rows], dtype=np.float64), np.asarray(ys[rows], dtype=np.float64)], axis=-1)


def _read_fields(
    maps: tuple[np.ndarray, ...], rows: slice, *, fields: tuple[int, ...], single: bool
) -> np.ndarray:
    """Samples ``rows`` of the output ``fields`` of ``Q`` (N, n_fields, H, W), channels last."""
    y = np.asarray(maps[0][rows][:, list(fields)], dtype=np.float64)
    return np.ascontiguousarray(y[:, 0] if single else np.moveaxis(y, 1, -1))


def _load_npy(path: Path) -> np.ndarray:
    """Memory-map a ``.npy`` file; errors name the file and what it holds."""
    fmt = detect_format(path)
    if fmt != "npy":
        raise ValueError(
            f"{quoted(path)} is not a NumPy .npy file: detected "
            f"{describe_format(path, fmt, unknown='not a .npy file')}; Geo-FNO's arrays are .npy files"
        )
    try:
        arr = np.load(path, mmap_mode="r")
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(
            f"{quoted(path)} cannot be read as a .npy array (truncated or corrupt?): {exc}"
        ) from exc
    check_real_dtype(arr.dtype, None, path)
    return arr


def _field_indices(fields, default: str, names: tuple, case: str, n_fields: int, path: Path):
    """Indices into Q's field axis of the requested ``fields``, and whether one field was named."""
    spec = default if fields is None else fields
    single = isinstance(spec, str | numbers.Integral)
    items = [spec] if single else list(spec)
    available = f"{list(names)} (or indices 0..{n_fields - 1} of {quoted(path)})"
    if not items:
        raise ValueError(f"fields must select at least one field of the {case} data; available: {available}")
    idx = []
    for item in items:
        if isinstance(item, str):
            if item not in names:
                raise ValueError(f"fields for {case} must be among {list(names)}, got {item!r}")
            i = names.index(item)
        elif isinstance(item, numbers.Integral) and not isinstance(item, bool | np.bool_):
            i = int(item)
        else:
            raise ValueError(
                f"fields must be field names or int indices; available: {available}; got {item!r}"
            )
        if not 0 <= i < n_fields:
            raise ValueError(
                f"{quoted(path)} has {n_fields} fields (indices 0..{n_fields - 1}); "
                f"field {item!r} needs index {i}"
            )
        idx.append(i)
    return idx, single


@validate_params(
    {
        "folder": PATH,
        "X": ["array-like"],
        "y": ["array-like"],
        "case": [StrOptions(set(_GEOFNO))],
        "overwrite": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def save_geofno(
    folder: str | os.PathLike,
    X: np.ndarray,
    y: np.ndarray,
    case: str = "pipe",
    *,
    overwrite: bool = False,
) -> list[Path]:
    """Write mesh coordinates and fields as the Geo-FNO ``.npy`` files of ``case``.

    The inverse of :func:`load_geofno`: ``X[..., 0]`` and ``X[..., 1]`` become ``<prefix>_X.npy``
    and ``<prefix>_Y.npy`` of shape ``(N, H, W)``, and ``y`` (every field of the case, channels
    last) becomes ``<prefix>_Q.npy`` of shape ``(N, n_fields, H, W)``, all float64, so that
    ``load_geofno(folder, case, fields=<all fields>)`` returns ``X`` and ``y`` unchanged.

    Parameters
    ----------
    folder : str or path-like
        Directory to write into; created if missing (its parent must exist).
    X : array-like of shape (N, H, W, 2)
        Mesh coordinates ``(x, y)`` as two channels (what ``make_pipe`` and
        :func:`load_geofno` return).
    y : array-like of shape (N, H, W, n_fields)
        All fields of the case in the Geo-FNO order: ``(velocity_x, velocity_y, pressure)``
        for ``"pipe"``, ``(density, velocity_x, velocity_y, pressure, mach)`` for ``"airfoil"``.
    case : {"pipe", "airfoil"}, default="pipe"
        Which benchmark's file names and fields.
    overwrite : bool, default=False
        Replace existing files; otherwise an existing file is a FileExistsError.

    Returns
    -------
    paths : list of pathlib.Path
        The three files written (``_X``, ``_Y``, ``_Q``).

    Examples
    --------
    >>> from sklearn_amfno.datasets import make_pipe, save_geofno, load_geofno
    >>> fields = ["velocity_x", "velocity_y", "pressure"]
    >>> X, y = make_pipe(2, 17, fields=fields, random_state=0)
    >>> save_geofno("data/pipe", X, y, "pipe")  # doctest: +SKIP
    >>> X2, y2 = load_geofno("data/pipe", "pipe", fields=fields)  # doctest: +SKIP
    """
    prefix, names, _ = _GEOFNO[case]
    X = np.asarray(X)
    y = np.asarray(y)
    for name, arr in (("X", X), ("y", y)):
        if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
            raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} holds NaN or infinite values; Geo-FNO files hold finite fields")
    if X.ndim != 4 or X.shape[-1] != 2 or X.shape[0] == 0:
        raise ValueError(f"X must have shape (N, H, W, 2) with N >= 1 (mesh coordinates), got {X.shape}")
    expected = (*X.shape[:3], len(names))
    if y.shape != expected:
        raise ValueError(
            f"y must hold all {len(names)} fields of the Geo-FNO {case} data {list(names)}, channels last, "
            f"on X's grid: expected shape {expected}, got {y.shape}"
        )
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{quoted(folder)} exists and is not a folder")
    paths = [folder / f"{prefix}_{suffix}.npy" for suffix in ("X", "Y", "Q")]
    if not overwrite:
        existing = [str(p) for p in paths if p.exists()]
        if existing:
            raise FileExistsError(f"{existing} already exist; pass overwrite=True to replace them")
    folder.mkdir(exist_ok=True)
    arrays = (X[..., 0], X[..., 1], np.moveaxis(y, -1, 1))
    for path, arr in zip(paths, arrays):
        np.save(path, np.ascontiguousarray(arr, dtype=np.float64))
    return paths
