"""Reader for the original FNO benchmark ``.mat`` files (MATLAB v5 or v7.3).

Returns ``X, y`` as float64 arrays in the package's data contract. MATLAB v7.3 files are HDF5
files, sliced lazily (``h5py`` is imported only for them), and can be returned as
:class:`~sklearn_amfno._lazy_array.LazyArray` objects (``lazy=True``); v5 files are read by
:func:`scipy.io.loadmat`, whole.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._compat import POSITIVE_INT, StrOptions, renamed_parameters, validate_params
from .._lazy_array import LazyArray
from ._constraints import LAZY, N_SAMPLES_TO_READ, PATH
from ._files import (
    check_file,
    check_n_samples,
    check_real_dtype,
    describe_format,
    detect_format,
    open_hdf5,
    quoted,
    require_dataset,
    require_key,
)

__all__ = ["load_fno_mat"]


_FNO_KEYS = {
    "darcy": ("coeff", "sol"),
    "burgers": ("a", "u"),
    "navier_stokes": ("u",),
}
# MATLAB shapes of each problem's variables (v7.3 files store them with the axes reversed).
_FNO_SHAPES = {"darcy": "(N, H, W)", "burgers": "(N, X)", "navier_stokes": "(N, H, W, T)"}
_SPATIAL_AXES = {"darcy": 2, "burgers": 1, "navier_stokes": 2}


def _layout(problem: str) -> str:
    keys = " and ".join(repr(k) for k in _FNO_KEYS[problem])
    return f"the FNO {problem} layout: {keys} of MATLAB shape {_FNO_SHAPES[problem]}"


def _open_v5(path: Path, keys: Sequence[str], fmt: str, layout: str) -> dict:
    """The variables ``keys`` of a MATLAB v5 (or v4) file, with errors naming the file."""
    from scipy.io import loadmat, whosmat

    try:
        found = [f"{name!r} {tuple(shape)} {cls}" for name, shape, cls in whosmat(path)]
        data = loadmat(path, variable_names=list(keys))
    except Exception as exc:  # scipy raises ValueError, MatReadError, TypeError, ...
        raise ValueError(
            f"{quoted(path)} cannot be read as a MATLAB MAT-file: detected {describe_format(path, fmt)}; "
            f"scipy.io.loadmat says: {exc}"
        ) from exc
    arrays = {}
    for key in keys:
        arr = require_key(data, key, path, layout, found=found)
        check_real_dtype(arr.dtype, key, path)
        arrays[key] = arr
    return arrays


def _check_arrays(path: Path, problem: str, shapes: dict, n: int | None, n_steps: int) -> int:
    """Check the MATLAB shapes before anything is read; return the number of samples to read."""
    keys = _FNO_KEYS[problem]
    want = 1 + _SPATIAL_AXES[problem] + (problem == "navier_stokes")
    for key in keys:
        if len(shapes[key]) != want:
            raise ValueError(
                f"{quoted(path)}: {key!r} has MATLAB shape {shapes[key]}, expected {_FNO_SHAPES[problem]} "
                f"({want} axes) for problem={problem!r}"
            )
    if len(keys) == 2 and shapes[keys[0]] != shapes[keys[1]]:
        kx, ky = keys
        raise ValueError(
            f"{quoted(path)}: FNO {problem} expects {kx!r} and {ky!r} of the same shape "
            f"{_FNO_SHAPES[problem]}, got {shapes[kx]} and {shapes[ky]}"
        )
    count = check_n_samples(n, shapes[keys[0]][0], path, keys[0])
    if problem == "navier_stokes" and shapes["u"][-1] < n_steps:
        n_t = shapes["u"][-1]
        raise ValueError(
            f"{quoted(path)}: n_steps_in + n_steps_out must be <= T={n_t} stored time steps "
            f"('u' has MATLAB shape {shapes['u']}), got {n_steps}"
        )
    return count


def _read_mat73(
    f, rows: slice, *, key: str, spatial_axes: int, stride: int, steps: tuple | None
) -> np.ndarray:
    """Samples ``rows`` of a v7.3 variable, strided, axes back in MATLAB's order (samples first).

    MATLAB v7.3 files are HDF5 files whose datasets hold the arrays with *all axes reversed*
    (column-major storage), e.g. ``(N, H, W, T)`` is stored as ``(T, W, H, N)``: the sample axis
    is last, the spatial axes just before it and Navier-Stokes' time axis (``steps``) first.
    The one read of both modes (once for ``lazy=False``, per chunk or sample for ``lazy=True``).
    """
    ds = f[key]
    sel = [slice(None)] * ds.ndim
    sel[-1] = rows
    for ax in range(spatial_axes):
        sel[-2 - ax] = slice(None, None, stride)
    if steps is not None:
        sel[0] = slice(*steps)
    return np.ascontiguousarray(np.asarray(ds[tuple(sel)], dtype=np.float64).transpose())


def _split(problem: str, n_steps_in: int, n_steps_out: int) -> list[tuple[str, tuple | None]]:
    """``(variable, time steps)`` of X and of y."""
    if problem == "navier_stokes":
        return [("u", (0, n_steps_in)), ("u", (n_steps_in, n_steps_in + n_steps_out))]
    return [(key, None) for key in _FNO_KEYS[problem]]


def _load_mat_arrays(
    path: Path, problem: str, n: int | None, s: int, n_steps_in: int, n_steps_out: int, lazy: bool
):
    """Return ``X, y`` from a MATLAB v5 or v7.3 file, samples first, lazily sliced.

    ``lazy=True`` returns :class:`~sklearn_amfno._lazy_array.LazyArray` objects (v7.3 only).
    """
    keys = _FNO_KEYS[problem]
    spatial_axes = _SPATIAL_AXES[problem]
    layout = _layout(problem)
    n_steps = n_steps_in + n_steps_out
    fmt = detect_format(path)
    out: list[np.ndarray | LazyArray] = []
    if fmt in ("hdf5", "mat7.3"):
        with open_hdf5(path, "FNO .mat (v7.3)") as f:
            datasets = {key: require_dataset(f, key, path, layout) for key in keys}
            shapes = {key: tuple(ds.shape[::-1]) for key, ds in datasets.items()}
            count = _check_arrays(path, problem, shapes, n, n_steps)
            for key, steps in _split(problem, n_steps_in, n_steps_out):
                read = functools.partial(
                    _read_mat73, key=key, spatial_axes=spatial_axes, stride=s, steps=steps
                )
                if lazy:
                    grid = tuple(len(range(0, g, s)) for g in shapes[key][1 : 1 + spatial_axes])
                    time = () if steps is None else (steps[1] - steps[0],)
                    shape = (count,) + grid + time
                    out.append(LazyArray(str(path.absolute()), shape, np.float64, read))
                else:
                    out.append(read(f, slice(0, count)))
        return tuple(out)
    if fmt not in ("mat5", "mat4"):
        raise ValueError(
            f"{quoted(path)} is not a MATLAB MAT-file: detected {describe_format(path, fmt)}; "
            "expected a MATLAB v5 file (header 'MATLAB 5.0 MAT-file') or a v7.3 file (HDF5)"
        )
    if lazy:
        # scipy.io.loadmat reads a variable whole: there is nothing to read on demand.
        raise ValueError(
            f"lazy=True needs a MATLAB v7.3 (HDF5) file, but {quoted(path)} is "
            f"{describe_format(path, fmt)}, which can only be read whole; pass lazy=False, or "
            "re-save the file as v7.3 (in MATLAB: save(filename, ..., '-v7.3'))"
        )
    data = _open_v5(path, keys, fmt, layout)
    count = _check_arrays(path, problem, {key: tuple(a.shape) for key, a in data.items()}, n, n_steps)
    sl = (slice(0, count),) + (slice(None, None, s),) * spatial_axes
    for key, steps in _split(problem, n_steps_in, n_steps_out):
        arr = data[key][sl]
        if steps is not None:
            arr = arr[..., steps[0] : steps[1]]
        out.append(np.ascontiguousarray(np.asarray(arr, dtype=np.float64)))
    return tuple(out)


@renamed_parameters(
    {"input_steps": "n_steps_in", "output_steps": "n_steps_out"}, since="0.2.0", removed_in="0.4.0"
)
@validate_params(
    {
        "path": PATH,
        "problem": [StrOptions(set(_FNO_KEYS))],
        "n_samples": N_SAMPLES_TO_READ,
        "spatial_stride": POSITIVE_INT,
        "n_steps_in": POSITIVE_INT,
        "n_steps_out": POSITIVE_INT,
        "lazy": LAZY,
    },
    prefer_skip_nested_validation=True,
)
def load_fno_mat(
    path: str | os.PathLike,
    *,
    problem: str,
    n_samples: int | None = None,
    spatial_stride: int = 1,
    n_steps_in: int = 10,
    n_steps_out: int = 10,
    lazy: bool = False,
) -> tuple[np.ndarray, np.ndarray] | tuple[LazyArray, LazyArray]:
    """Read an original FNO benchmark ``.mat`` file (MATLAB v5 or v7.3).

    Layouts (arrays as MATLAB sees them; v7.3/HDF5 files store them with axes reversed, which
    this reader undoes):

    * ``"darcy"``: ``coeff`` and ``sol`` of shape ``(N, H, W)``; ``X = coeff``, ``y = sol``.
    * ``"burgers"``: ``a`` and ``u`` of shape ``(N, X)``; ``X = a``, ``y = u``.
    * ``"navier_stokes"``: ``u`` of shape ``(N, H, W, T)``; ``X = u[..., :n_steps_in]`` and
      ``y = u[..., n_steps_in:n_steps_in + n_steps_out]`` (as in the FNO-2D experiments).

    Parameters
    ----------
    path : str or path-like
        The ``.mat`` file.
    problem : {"darcy", "burgers", "navier_stokes"}
        Which layout to read.
    n_samples : int, default=None
        Read only the first ``n_samples`` samples.
    spatial_stride : int, default=1
        Keep every ``spatial_stride``-th grid point (FNO's ``r``/``sub``).
    n_steps_in, n_steps_out : int, default=10
        Time split of Navier-Stokes trajectories: input and output time steps.

        .. versionchanged:: 0.2.0
           Renamed from ``input_steps`` and ``output_steps``.
    lazy : bool, default=False
        Return arrays read from the file only where indexed
        (:class:`sklearn_amfno._lazy_array.LazyArray`) instead of reading them now: the same
        shapes, dtype and values, the stride and the time split applied at each read. ``fit``
        and ``predict`` stream them (``docs/scaling_out.md``). MATLAB v7.3 (HDF5) files only: a
        v5 file, which ``scipy.io.loadmat`` reads whole, raises ValueError.

        .. versionadded:: 0.2.0

    Returns
    -------
    X, y : ndarrays, float64 (or LazyArrays of them with ``lazy=True``)
        ``(n, H, W)`` (Darcy), ``(n, X)`` (Burgers) or ``(n, H, W, n_steps_in)`` and
        ``(n, H, W, n_steps_out)`` (Navier-Stokes).

    Examples
    --------
    >>> X, y = load_fno_mat("piececonst_r421_N1024_smooth1.mat", problem="darcy",
    ...                     spatial_stride=5)  # doctest: +SKIP
    """
    path = check_file(path, "FNO .mat")
    X, y = _load_mat_arrays(path, problem, n_samples, spatial_stride, n_steps_in, n_steps_out, lazy)
    return X, y
