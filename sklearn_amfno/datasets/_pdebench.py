"""Reader for PDEBench HDF5 files (CFD 1-D/2-D/3-D, 2-D Darcy, 1-D Burgers).

Returns ``X, y`` as float64 arrays in the package's data contract (channel axis last). The HDF5
datasets are sliced lazily, so ``n_samples``, the strides and the frame selection limit what is
read from disk. ``h5py`` is imported only when a file is actually read. With ``lazy=True`` the
arrays are :class:`~sklearn_amfno._lazy_array.LazyArray` objects whose reads go through the same
functions as the eager read, one chunk of samples at a time.
"""

from __future__ import annotations

import functools
import numbers
import operator
import os
from collections.abc import Sequence
from typing import SupportsInt, cast

import numpy as np

from .._compat import POSITIVE_INT, StrOptions, validate_params
from .._lazy_array import LazyArray
from ._constraints import LAZY, N_SAMPLES_TO_READ, PATH
from ._files import (
    ReaderKeyError,
    check_file,
    check_n_samples,
    hdf5_contents,
    open_hdf5,
    quoted,
    require_dataset,
)
from ._moved_keywords import move_keyword

__all__ = ["load_pdebench"]


def _counted_frames(count: int, start: int, n_frames: int, name: str, where: tuple[str, str]) -> list[int]:
    """The ``count`` frames from ``start`` on, which must exist among ``n_frames``."""
    if start + count > n_frames:
        raise ValueError(
            f"{where[0]}: {name}={count} needs frames {start}..{start + count - 1}, but the file has "
            f"{n_frames} frames (0..{n_frames - 1} after time_stride; {where[1]})"
        )
    return list(range(start, start + count))


def _frame_index(i) -> int:
    """An int frame index; an integral float (``2.0``) is accepted, ``1.5`` is not rounded."""
    try:
        return operator.index(i)
    except TypeError:
        if isinstance(i, numbers.Real) and not isinstance(i, bool) and float(i).is_integer():
            # typeshed's numbers.Real has no __int__ (its __trunc__ returns an Integral, not an int).
            return int(cast(SupportsInt, i))
        raise


def _chosen_frames(frames, n_frames: int, name: str, where: tuple[str, str]) -> list[int]:
    """Explicit frame indices (negative counts from the end), each within ``n_frames``."""
    try:
        idx = [_frame_index(i) for i in frames]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of frame indices (ints), got {frames!r}") from None
    if not idx:
        raise ValueError(f"{name} must select at least one frame, got {frames!r}")
    idx = [i + n_frames if i < 0 else i for i in idx]
    if min(idx) < 0 or max(idx) >= n_frames:
        raise ValueError(
            f"{where[0]}: {name} must lie within the {n_frames} available frames (0..{n_frames - 1} "
            f"after time_stride; {where[1]}), got {idx}"
        )
    return idx


def _counts_as_n_steps(load_pdebench):
    """Accept an int ``input_frames`` / ``output_frames`` (a count, before 0.2.0) as ``n_steps_*``."""

    @functools.wraps(load_pdebench)
    def wrapper(*args, **kwargs):
        for old, new in (("input_frames", "n_steps_in"), ("output_frames", "n_steps_out")):
            value = kwargs.get(old)
            if isinstance(value, numbers.Integral) and not isinstance(value, bool):
                move_keyword(
                    kwargs,
                    "load_pdebench",
                    old,
                    new,
                    value,
                    f"a number of frames is passed as {new!r} ({old!r} takes frame indices only)",
                )
        return load_pdebench(*args, **kwargs)

    return wrapper


def _read_frames(ds, rows: slice, frames: list[int], spatial: tuple) -> np.ndarray:
    """Read ``ds[rows, frames, *spatial]`` from an (N, T, *grid) HDF5 dataset, in ``frames`` order."""
    uniq = sorted(set(frames))
    # h5py point selection on one axis needs increasing indices; reorder afterwards.
    data = np.asarray(ds[(rows, uniq) + spatial], dtype=np.float64)
    pos = [uniq.index(f) for f in frames]
    return data[:, pos]


def _read_trajectories(
    f, rows: slice, *, names: tuple[str, ...], frames: tuple[int, ...], spatial: tuple, squeeze: bool
) -> np.ndarray:
    """Samples ``rows`` of the fields ``names`` at the stored ``frames``, channels frame-major.

    The one read of both modes: ``lazy=False`` calls it once for all samples, a
    :class:`~sklearn_amfno._lazy_array.LazyArray` once per chunk or sample.
    """
    fields = [_read_frames(f[name], rows, list(frames), spatial) for name in names]
    return _frames_to_channels(np.stack(fields, axis=-1), squeeze)


def _read_darcy(f, rows: slice, *, name: str, stride: int) -> np.ndarray:
    """Samples ``rows`` of PDEBench Darcy's ``nu`` (N, H, W) or ``tensor`` (N, 1, H, W)."""
    ds = f[name]
    sel = (rows,) + ((0,) if ds.ndim == 4 else ()) + (slice(None, None, stride),) * 2
    return np.asarray(ds[sel], dtype=np.float64)


def _output(path, read, n: int, shape: tuple[int, ...], f, lazy: bool):
    """``read``'s samples ``0..n``: read now from the open file ``f``, or a LazyArray of them."""
    if lazy:
        return LazyArray(str(path.absolute()), (n,) + shape, np.float64, read)
    return read(f, slice(0, n))


def _frames_to_channels(data: np.ndarray, one_channel_ok: bool) -> np.ndarray:
    """``(n, F, *grid, C)`` -> ``(n, *grid, F * C)`` frame-major (or ``(n, *grid)`` if 1)."""
    n, f = data.shape[:2]
    grid = data.shape[2:-1]
    c = data.shape[-1]
    out = np.moveaxis(data, 1, -2).reshape((n,) + grid + (f * c,))
    if one_channel_ok and f * c == 1:
        out = out[..., 0]
    return np.ascontiguousarray(out)


@_counts_as_n_steps
@validate_params(
    {
        "path": PATH,
        "kind": [StrOptions({"auto", "cfd", "darcy", "burgers"})],
        "n_steps_in": [None] + POSITIVE_INT,
        "n_steps_out": [None] + POSITIVE_INT,
        "input_frames": [None, "array-like"],
        "output_frames": [None, "array-like"],
        "spatial_stride": POSITIVE_INT,
        "time_stride": POSITIVE_INT,
        "n_samples": N_SAMPLES_TO_READ,
        "lazy": LAZY,
    },
    prefer_skip_nested_validation=True,
)
def load_pdebench(
    path: str | os.PathLike,
    *,
    kind: str = "auto",
    n_steps_in: int | None = None,
    n_steps_out: int | None = None,
    input_frames: Sequence[int] | None = None,
    output_frames: Sequence[int] | None = None,
    spatial_stride: int = 1,
    time_stride: int = 1,
    n_samples: int | None = None,
    lazy: bool = False,
) -> tuple[np.ndarray, np.ndarray] | tuple[LazyArray, LazyArray]:
    """Read a PDEBench HDF5 file (CFD 1-D/2-D/3-D, 2-D Darcy, 1-D Burgers).

    Layouts (as published by PDEBench):

    * CFD: datasets ``density``, ``pressure``, ``Vx`` (and ``Vy``, ``Vz`` in 2-D/3-D), each of
      shape ``(N, T, *grid)``. Channels per frame are ``(density, Vx[, Vy, Vz], pressure)``, i.e.
      ``(rho, v, p)`` in 1-D as in :func:`make_cfd_1d`, and frames are stacked frame-major.
    * Darcy: ``nu`` ``(N, H, W)`` (coefficient) and ``tensor`` ``(N, 1, H, W)`` (solution);
      ``X = nu``, ``y = tensor[:, 0]``.
    * Burgers: ``tensor`` ``(N, T, X)``; by default ``X`` is frame 0 and ``y`` the last frame.

    Parameters
    ----------
    path : str or path-like
        The ``.h5``/``.hdf5`` file.
    kind : {"auto", "cfd", "darcy", "burgers"}, default="auto"
        Layout; ``"auto"`` detects it from the dataset names.
    n_steps_in : int, default=None
        Number of input frames: the first ``n_steps_in`` frames of the time-strided sequence.
        ``None``: 10 for CFD, 1 for Burgers (unless ``input_frames`` is given).
    n_steps_out : int, default=None
        Number of output frames: the ``n_steps_out`` frames following the last input frame.
        ``None``: the frame after the inputs for CFD, the last frame for Burgers (unless
        ``output_frames`` is given).
    input_frames : sequence of int, default=None
        Explicit input frame indices into the time-strided sequence, in the order given
        (negative counts from the end); instead of ``n_steps_in``.

        .. versionchanged:: 0.2.0
           A count goes to ``n_steps_in``; an int ``input_frames`` still works, with a
           FutureWarning, until 0.4.0.
    output_frames : sequence of int, default=None
        Explicit output frame indices; instead of ``n_steps_out``.

        .. versionchanged:: 0.2.0
           A count goes to ``n_steps_out``; an int ``output_frames`` still works, with a
           FutureWarning, until 0.4.0.
    spatial_stride : int, default=1
        Keep every ``spatial_stride``-th grid point on every spatial axis.
    time_stride : int, default=1
        Keep every ``time_stride``-th stored frame before selecting frames.
    n_samples : int, default=None
        Read only the first ``n_samples`` samples.
    lazy : bool, default=False
        Return arrays read from the file only where indexed
        (:class:`sklearn_amfno._lazy_array.LazyArray`) instead of reading them now: the same
        shapes, dtype and values, with the strides and the frame selection applied at each
        read. ``fit`` and ``predict`` stream them (``docs/scaling_out.md``); ``np.asarray``
        reads them whole. The file must stay in place while they are used.

        .. versionadded:: 0.2.0

    Returns
    -------
    X, y : ndarrays, float64 (or LazyArrays of them with ``lazy=True``)
        CFD: ``(n, *grid, n_fields * n_in)`` and ``(n, *grid, n_fields * n_out)``; Darcy:
        ``(n, H, W)`` each; Burgers: ``(n, X)`` per single frame, ``(n, X, n_frames)``
        otherwise.

    Examples
    --------
    >>> X, y = load_pdebench("1D_CFD_Rand_Eta0.01_Zeta0.01_periodic_Train.hdf5",
    ...                      n_steps_in=10, n_steps_out=1)  # doctest: +SKIP
    """
    if n_steps_in is not None and input_frames is not None:
        raise ValueError("pass n_steps_in (a number of frames) or input_frames (frame indices), not both")
    if n_steps_out is not None and output_frames is not None:
        raise ValueError("pass n_steps_out (a number of frames) or output_frames (frame indices), not both")
    path = check_file(path, "PDEBench")
    s, ts = spatial_stride, time_stride
    with open_hdf5(path, "PDEBench") as f:
        if kind == "auto":
            if "density" in f:
                kind = "cfd"
            elif "nu" in f:
                kind = "darcy"
            elif "tensor" in f:
                kind = "burgers"
            else:
                raise ReaderKeyError(
                    f"{quoted(path)}: cannot detect the PDEBench layout: expected 'density' "
                    f"(CFD), 'nu' and 'tensor' (Darcy) or 'tensor' (Burgers); it holds "
                    f"{', '.join(hdf5_contents(f)) or 'nothing'}"
                )
        if kind == "darcy":
            layout = "the PDEBench Darcy layout: 'nu' (N, H, W) and 'tensor' (N, 1, H, W)"
            nu = require_dataset(f, "nu", path, layout)
            sol = require_dataset(f, "tensor", path, layout)
            if (
                nu.ndim != 3
                or sol.ndim != 4
                or sol.shape[1] != 1
                or (sol.shape[0],) + sol.shape[2:] != nu.shape
            ):
                raise ValueError(
                    f"{quoted(path)}: PDEBench Darcy expects 'nu' of shape (N, H, W) and 'tensor' of "
                    f"shape (N, 1, H, W); got {nu.shape} and {sol.shape}"
                )
            n = check_n_samples(n_samples, nu.shape[0], path, "nu")
            grid = tuple(len(range(0, g, s)) for g in nu.shape[1:])
            X = _output(path, functools.partial(_read_darcy, name="nu", stride=s), n, grid, f, lazy)
            y = _output(path, functools.partial(_read_darcy, name="tensor", stride=s), n, grid, f, lazy)
            return X, y
        if kind == "burgers":
            ds = require_dataset(f, "tensor", path, "the PDEBench Burgers layout: 'tensor' (N, T, X)")
            if ds.ndim != 3:
                raise ValueError(
                    f"{quoted(path)}: PDEBench 1-D Burgers expects 'tensor' of shape (N, T, X), "
                    f"got {ds.shape}"
                )
            names, datasets = ["tensor"], [ds]
            default_in, last_out = 1, True
        else:
            names = ["density", "Vx"] + [v for v in ("Vy", "Vz") if v in f] + ["pressure"]
            layout = (
                "the PDEBench CFD layout: 'density', 'Vx' ('Vy', 'Vz' in 2-D/3-D) and 'pressure', "
                "each (N, T, *grid)"
            )
            datasets = [require_dataset(f, k, path, layout) for k in names]
            shape = datasets[0].shape
            if any(d.shape != shape for d in datasets) or len(shape) != 1 + 1 + (len(names) - 2):
                raise ValueError(
                    f"{quoted(path)}: PDEBench CFD expects {names} all of shape (N, T, *grid) with "
                    f"{len(names) - 2} spatial axes; got "
                    f"{ {k: d.shape for k, d in zip(names, datasets, strict=True)} }"
                )
            default_in, last_out = 10, False
        shape = datasets[0].shape
        n = check_n_samples(n_samples, shape[0], path, names[0])
        n_frames = len(range(0, shape[1], ts))
        where = (quoted(path), f"{names[0]!r} has shape {shape} = (N, T, *grid)")
        if input_frames is not None:
            in_idx = _chosen_frames(input_frames, n_frames, "input_frames", where)
        else:
            count = default_in if n_steps_in is None else n_steps_in
            in_idx = _counted_frames(count, 0, n_frames, "n_steps_in", where)
        if output_frames is not None:
            out_idx = _chosen_frames(output_frames, n_frames, "output_frames", where)
        elif n_steps_out is None and last_out:
            out_idx = [n_frames - 1]
        else:
            count = 1 if n_steps_out is None else n_steps_out
            out_idx = _counted_frames(count, max(in_idx) + 1, n_frames, "n_steps_out", where)
        spatial = (slice(None, None, s),) * (len(shape) - 2)
        grid = tuple(len(range(0, g, s)) for g in shape[2:])
        parts = []
        for idx in (in_idx, out_idx):
            squeeze = kind == "burgers" and len(idx) == 1
            read = functools.partial(
                _read_trajectories,
                names=tuple(names),
                frames=tuple(i * ts for i in idx),  # indices into the file's time axis
                spatial=spatial,
                squeeze=kind == "burgers",
            )
            channels = () if squeeze else (len(idx) * len(names),)
            parts.append(_output(path, read, n, grid + channels, f, lazy))
        return parts[0], parts[1]
