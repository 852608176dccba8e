"""Reader for The Well's HDF5 files (Polymathic AI's PDE benchmark collection, package ``the-well``).

Returns ``X, y`` as float64 arrays in the package's data contract: frames stacked frame-major on
the channel axis, ``X`` the first frames of a window and ``y`` the following ones, ready for
:class:`~sklearn_amfno.AutoregressiveRegressor`. The HDF5 datasets are sliced, so the fields,
the strides, the trajectories and the windows limit what is read from disk; ``h5py`` is imported
only when a file is read. With ``lazy=True`` the arrays are
:class:`~sklearn_amfno._lazy_array.LazyArray` objects whose reads go through the same function as
the eager read, one chunk of samples at a time.

The layout read here (verified against ``the-well`` 1.2.0 from PyPI: its specification
``docs/data_format.md``, the reading code ``the_well/data/datasets.py`` (``WellDataset``:
``_build_metadata``, ``_reconstruct_fields``, ``_pad_axes``, ``_reconstruct_grids``,
``_padding_bcs``, ``_postprocess_data``), the xarray export ``the_well/utils/export.py``
(``hdf5_to_xarray``) and the test-file writer ``the_well/utils/dummy_data.py``):

* root attributes: ``dataset_name``, ``grid_type`` (``"cartesian"`` or ``"spherical"``),
  ``n_spatial_dims``, ``n_trajectories`` (the sample axis ``B`` of the sample-varying datasets),
  ``simulation_parameters`` (names of further root attributes holding parameter values).
* ``dimensions`` (group): attribute ``spatial_dims``, the names of the spatial axes in storage
  order (``["x", "y"]``); a dataset ``time`` of shape ``(T,)``, or ``(B, T)`` when its attribute
  ``sample_varying`` is true; one coordinate dataset per spatial axis, ``(n,)`` (or ``(B, n)``
  when ``sample_varying``). The grid size of an axis is the last dimension of its coordinates and
  the number of stored frames the last dimension of ``time`` (as ``WellDataset`` reads them).
* ``boundary_conditions`` (group): one subgroup per condition with attributes ``bc_type``
  (``WALL``, ``OPEN`` or ``PERIODIC``, in any case), ``associated_dims``, ``associated_fields``,
  ``sample_varying``, ``time_varying``, and a boolean dataset ``mask`` over the associated axes
  (true where the condition holds; optional ``values``). An axis end without a condition is open
  (``WellDataset._padding_bcs``).
* ``scalars`` (group): attribute ``field_names``; one dataset per name, with ``sample_varying``
  and ``time_varying`` attributes (``()``/``(1,)``, ``(T,)``, ``(B,)`` or ``(B, T)``).
* ``t0_fields``, ``t1_fields``, ``t2_fields`` (groups): scalar, vector and rank-2 tensor fields.
  Each group lists its datasets in the attribute ``field_names`` (the storage order, which is the
  channel order). A field's shape is ``[B] [T] *space *components``: the ``B`` axis is there
  only when ``sample_varying``, the ``T`` axis only when ``time_varying``; ``dim_varying`` (one
  bool per spatial axis) marks the axes it varies along, an axis it does not vary along being
  stored with length 1 (what ``WellDataset._pad_axes`` tiles) or left out (what the
  specification's example and ``hdf5_to_xarray`` expand); a vector has a trailing axis of
  ``D = n_spatial_dims`` components, a tensor trailing ``(D, D)`` axes (or one flattened axis of
  ``D**2``, which ``hdf5_to_xarray`` also accepts). Components are named as ``WellDataset``
  names them: the field name, ``_`` and the spatial-axis names of the component
  (``velocity_x``, ``velocity_y``; ``stress_xx``, ``stress_xy``, ``stress_yx``, ``stress_yy``),
  tensor components row-major, all ``D**2`` of them even for a symmetric tensor.

Windows follow ``WellDataset``: with ``time_stride=k`` a window takes every ``k``-th stored
frame; ``windows="all"`` starts one at every stored frame where it fits (``WellDataset`` with
``min_dt_stride = max_dt_stride = k``; ``raw_steps_to_possible_sample_t0s``), samples ordered by
trajectory, then start.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from .._compat import POSITIVE_INT, StrOptions, validate_params
from .._lazy_array import LazyArray
from ._constraints import LAZY, N_SAMPLES_TO_READ, PATH
from ._files import ReaderKeyError, check_file, check_real_dtype, hdf5_contents, open_hdf5, quoted

__all__ = ["load_the_well"]

_ORDERS = ("t0_fields", "t1_fields", "t2_fields")
_LAYOUT = (
    "The Well's layout: root attributes 'n_spatial_dims' and 'n_trajectories', a group "
    "'dimensions' (attribute 'spatial_dims', datasets 'time' and one per spatial axis) and the "
    "field groups 't0_fields', 't1_fields', 't2_fields'"
)


# -- attributes ----------------------------------------------------------------------------------


def _text(value) -> str:
    """An HDF5 string attribute as ``str`` (h5py gives ``str``, ``bytes`` or numpy scalars)."""
    if isinstance(value, bytes | np.bytes_):
        return value.decode()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return _text(value[()])
    return str(value)


def _texts(value) -> list[str]:
    """An HDF5 list-of-strings attribute as a list (an empty list is stored as an empty float array)."""
    if isinstance(value, str | bytes | np.str_ | np.bytes_):
        return [_text(value)]
    return [_text(v) for v in np.asarray(value).ravel()]


def _flag(attrs, name: str, default: bool) -> bool:
    return bool(attrs[name]) if name in attrs else default


def _require_attr(obj, name: str, path: Path, where: str):
    if name not in obj.attrs:
        have = sorted(obj.attrs.keys())
        raise ReaderKeyError(
            f"{quoted(path)}: {where} has no attribute {name!r} (expected {_LAYOUT}); its attributes: "
            f"{', '.join(map(repr, have)) or 'none'}"
        )
    return obj.attrs[name]


# -- the layout of one field ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    """Where one stored field lies and how its axes map onto ``(B, T, *grid, components)``."""

    key: str  # "t1_fields/velocity"
    order: int  # 0 scalar, 1 vector, 2 tensor
    sample_varying: bool
    time_varying: bool
    dims: tuple[str, ...]  # per spatial axis: "full", "one" (length 1) or "absent"
    matrix: bool  # a rank-2 tensor stored as trailing (D, D) axes
    n_components: int


def _field_layout(ds, order: int, n_traj: int, n_time: int, grid: tuple[int, ...], path: Path) -> _Field:
    """Check a field's shape against its attributes; how to read it."""
    d = len(grid)
    sv = _flag(ds.attrs, "sample_varying", True)
    tv = _flag(ds.attrs, "time_varying", True)
    varying = [bool(v) for v in np.asarray(ds.attrs.get("dim_varying", [True] * d)).ravel()]
    if len(varying) != d:
        raise ValueError(
            f"{quoted(path)}: {ds.name!r} has dim_varying={varying}, expected one flag per spatial axis ({d})"
        )
    lead = ((n_traj,) if sv else ()) + ((n_time,) if tv else ())
    # Per tensor order, the trailing component axes a field may have and whether they are (D, D).
    by_order: dict[int, list[tuple[tuple[int, ...], bool]]] = {
        0: [((), False)],
        1: [((d,), False)],
        2: [((d, d), True), ((d * d,), False)],
    }
    comps = by_order[order]
    spaces = [
        (tuple(g if v else 1 for g, v in zip(grid, varying)), tuple("full" if v else "one" for v in varying)),
        (tuple(g for g, v in zip(grid, varying) if v), tuple("full" if v else "absent" for v in varying)),
    ]
    for comp, matrix in comps:
        for space, dims in spaces:
            if tuple(ds.shape) == lead + space + comp:
                return _Field(ds.name.lstrip("/"), order, sv, tv, dims, matrix, d**order)
    expected = " or ".join(sorted({str(lead + space + comp) for comp, _ in comps for space, _ in spaces}))
    raise ValueError(
        f"{quoted(path)}: {ds.name!r} has shape {tuple(ds.shape)}, expected {expected} from its "
        f"attributes (sample_varying={sv}, time_varying={tv}, dim_varying={varying}), "
        f"n_trajectories={n_traj}, {n_time} stored frames, the grid {grid} and tensor order {order}"
    )


@dataclass(frozen=True)
class _Plan:
    """What one read returns: which fields, frames, samples and grid (picklable, for LazyArray)."""

    fields: tuple[_Field, ...]
    channels: tuple[tuple[int, int], ...]  # per output channel: (index into fields, component)
    grid: tuple[int, ...]  # after spatial_stride
    spatial_stride: int
    time_stride: int
    frames: tuple[int, ...]  # window frame numbers (in strided frames) this array holds
    n_windows: int | None  # windows per trajectory (windows="all"), None for one per trajectory


def _read_block(f, plan: _Plan, trajs: slice, times: slice) -> np.ndarray:
    """``(trajectories, frames, *grid, channels)`` for the stored ``trajs`` and ``times``.

    Fields that do not vary over samples, time or an axis are broadcast over it.
    """
    n_traj = len(range(*trajs.indices(trajs.stop)))
    n_time = len(range(*times.indices(times.stop)))
    out = np.empty((n_traj, n_time, *plan.grid, len(plan.channels)))
    s = plan.spatial_stride
    for i, field in enumerate(plan.fields):
        sel: tuple = ((trajs,) if field.sample_varying else ()) + ((times,) if field.time_varying else ())
        sel += tuple(
            slice(None, None, s) if mode == "full" else slice(None) for mode in field.dims if mode != "absent"
        )
        data = np.asarray(f[field.key][sel], dtype=np.float64)
        if field.order == 0:
            data = data[..., None]  # one component
        elif field.matrix:
            data = data.reshape(data.shape[:-2] + (field.n_components,))
        if not field.sample_varying:
            data = data[None]
        if not field.time_varying:
            data = data[:, None]
        for axis, mode in enumerate(field.dims):
            if mode == "absent":
                data = np.expand_dims(data, 2 + axis)
        data = np.broadcast_to(data, (n_traj, n_time, *plan.grid, field.n_components))
        for c, (j, comp) in enumerate(plan.channels):
            if j == i:
                out[..., c] = data[..., comp]
    return out


def _read_windows(f, rows: slice, *, plan: _Plan) -> np.ndarray:
    """Samples ``rows`` with the window frames ``plan.frames``, channels frame-major.

    The one read of both modes: ``lazy=False`` calls it once for all samples, a
    :class:`~sklearn_amfno._lazy_array.LazyArray` once per chunk or sample.
    """
    n = rows.stop - rows.start
    ts, first, count = plan.time_stride, plan.frames[0], len(plan.frames)
    out = np.empty((n, *plan.grid, count, len(plan.channels)))
    if n == 0:
        pass
    elif plan.n_windows is None:  # one window per trajectory, from the first stored frame
        block = _read_block(f, plan, rows, slice(ts * first, ts * (first + count - 1) + 1, ts))
        out[...] = np.moveaxis(block, 1, -2)
    else:
        w = plan.n_windows
        for traj in range(rows.start // w, (rows.stop - 1) // w + 1):
            lo, hi = max(rows.start, traj * w) - traj * w, min(rows.stop, (traj + 1) * w) - traj * w
            # Stored frames of windows lo..hi-1: start + ts * (first .. first + count - 1).
            t0 = lo + ts * first
            if hi - lo == 1:
                block = _read_block(f, plan, slice(traj, traj + 1), slice(t0, t0 + ts * (count - 1) + 1, ts))
                out[traj * w + lo - rows.start] = np.moveaxis(block[0], 0, -2)
                continue
            block = _read_block(
                f, plan, slice(traj, traj + 1), slice(t0, hi - 1 + ts * (first + count - 1) + 1)
            )
            for start in range(lo, hi):
                pos = [start - lo + ts * k for k in range(count)]
                out[traj * w + start - rows.start] = np.moveaxis(block[0, pos], 0, -2)
    return out.reshape(out.shape[:-2] + (count * len(plan.channels),))


# -- metadata ------------------------------------------------------------------------------------


def _boundary_types(f, spatial_dims: list[str]) -> dict[str, tuple[str, str]]:
    """Per spatial axis, the condition at its lower and upper end (``WellDataset._padding_bcs``)."""
    types = {dim: ["open", "open"] for dim in spatial_dims}
    bcs = f.get("boundary_conditions")
    for name in bcs if bcs is not None else ():
        bc = bcs[name]
        if "bc_type" not in bc.attrs or "mask" not in bc:
            continue
        kind = _text(bc.attrs["bc_type"]).lower()
        dims = _texts(bc.attrs.get("associated_dims", []))
        mask = np.asarray(bc["mask"][()], dtype=bool)
        lead = mask.ndim - len(dims)
        if lead < 0:
            continue
        agg = np.all if kind == "wall" else np.any  # a wall must hold on the whole end
        for pos, dim in enumerate(dims):
            if dim not in types:
                continue
            for end, index in ((0, 0), (1, -1)):
                if agg(np.take(mask, index, axis=lead + pos)):
                    types[dim][end] = kind
    return {dim: (lo, hi) for dim, (lo, hi) in types.items()}


def _boundary_conditions(f) -> dict[str, Bunch]:
    bcs = f.get("boundary_conditions")
    out = {}
    for name in bcs if bcs is not None else ():
        a = bcs[name].attrs
        out[name] = Bunch(
            bc_type=_text(a["bc_type"]).lower() if "bc_type" in a else None,
            associated_dims=_texts(a.get("associated_dims", [])),
            associated_fields=_texts(a.get("associated_fields", [])),
            sample_varying=_flag(a, "sample_varying", False),
            time_varying=_flag(a, "time_varying", False),
        )
    return out


def _scalars(f, n_traj: int) -> dict[str, np.ndarray]:
    group = f.get("scalars")
    out: dict[str, np.ndarray] = {}
    if group is None:
        return out
    names = _texts(group.attrs["field_names"]) if "field_names" in group.attrs else sorted(group)
    for name in names:
        if name in group:
            ds = group[name]
            sel = slice(0, n_traj) if _flag(ds.attrs, "sample_varying", False) and ds.ndim else ()
            out[name] = np.asarray(ds[sel])
    return out


def _coordinates(dims_group, name: str, n_traj: int, stride: int) -> np.ndarray:
    ds = dims_group[name]
    data = np.asarray(ds[()])
    if _flag(ds.attrs, "sample_varying", False) and data.ndim > 1:
        data = data[:n_traj]
    return data[..., ::stride]


# -- fields --------------------------------------------------------------------------------------


def _channel_table(f, spatial_dims: list[str], path: Path):
    """All fields in storage order: ``(key, order, name, component names, time_varying)``."""
    table = []
    for order, group_name in enumerate(_ORDERS):
        group = f.get(group_name)
        if group is None:
            continue
        names = _texts(group.attrs["field_names"]) if "field_names" in group.attrs else sorted(group)
        for name in names:
            if name not in group:
                raise ReaderKeyError(
                    f"{quoted(path)}: {group_name!r} lists the field {name!r} in its field_names "
                    f"but has no such dataset; it holds {', '.join(hdf5_contents(group)) or 'nothing'}"
                )
            ds = group[name]
            if not hasattr(ds, "shape"):
                raise ValueError(f"{quoted(path)}: {group_name}/{name} is an HDF5 group, expected a dataset")
            check_real_dtype(ds.dtype, f"{group_name}/{name}", path)
            parts = ["".join(p) for p in itertools.product(spatial_dims, repeat=order)]
            components = [f"{name}_{p}" if p else name for p in parts]
            table.append(
                (f"{group_name}/{name}", order, name, components, _flag(ds.attrs, "time_varying", True))
            )
    return table


def _select(fields, table, path: Path) -> list[tuple[str, int, int, str]]:
    """``(key, order, component, channel name)`` of each selected channel, in channel order."""
    by_field = {name: (key, order, comps) for key, order, name, comps, _ in table}
    by_component = {c: (key, order, i) for key, order, _, comps, _ in table for i, c in enumerate(comps)}
    available = (
        f"the fields {[name for _, _, name, _, _ in table]} or their components "
        f"{[c for _, _, _, comps, _ in table for c in comps]}"
    )
    if fields is None:
        chosen = [name for _, _, name, _, tv in table if tv]
        if not chosen:
            raise ValueError(
                f"{quoted(path)} holds no time-varying field (time_varying=True); name the "
                f"time-invariant ones in fields= to read them repeated in every frame; available: "
                f"{available}"
            )
    else:
        chosen = [fields] if isinstance(fields, str) else list(fields)
        if not chosen:
            raise ValueError(f"fields must name at least one field; available in {quoted(path)}: {available}")
    out: list[tuple[str, int, int, str]] = []
    for item in chosen:
        if not isinstance(item, str):
            raise TypeError(f"fields must be field or component names (str), got {item!r}")
        if item in by_field:
            key, order, comps = by_field[item]
            out += [(key, order, i, c) for i, c in enumerate(comps)]
        elif item in by_component:
            key, order, i = by_component[item]
            out.append((key, order, i, item))
        else:
            raise ValueError(f"{quoted(path)} has no field {item!r}; available: {available}")
    names = [c for *_, c in out]
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise ValueError(f"fields selects {repeated} more than once: {list(chosen)}")
    return out


# -- the reader ----------------------------------------------------------------------------------


@validate_params(
    {
        "path": PATH,
        "fields": [None, str, "array-like"],
        "n_steps_in": POSITIVE_INT,
        "n_steps_out": [None] + POSITIVE_INT,
        "windows": [StrOptions({"first", "all"})],
        "time_stride": POSITIVE_INT,
        "spatial_stride": POSITIVE_INT,
        "n_trajectories": N_SAMPLES_TO_READ,
        "lazy": LAZY,
        "return_info": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_the_well(
    path: str | os.PathLike,
    *,
    fields: str | Sequence[str] | None = None,
    n_steps_in: int = 1,
    n_steps_out: int | None = None,
    windows: str = "first",
    time_stride: int = 1,
    spatial_stride: int = 1,
    n_trajectories: int | None = None,
    lazy: bool = False,
    return_info: bool = False,
) -> (
    tuple[np.ndarray | LazyArray, np.ndarray | LazyArray]
    | tuple[np.ndarray | LazyArray, np.ndarray | LazyArray, Bunch]
):
    """Read one HDF5 file of The Well (Polymathic AI) as frame-major trajectories.

    The Well stores each dataset as HDF5 files (one per split and parameter set) holding
    ``n_trajectories`` trajectories of scalar (``t0_fields``), vector (``t1_fields``) and
    rank-2 tensor (``t2_fields``) fields on a 1-D, 2-D or 3-D grid. Vector and tensor fields
    become one channel per component, named as The Well names them (``velocity_x``,
    ``velocity_y``; ``stress_xx``, ``stress_xy``, ``stress_yx``, ``stress_yy``, row-major).
    Each frame holds the selected channels in order; frames are stacked frame-major (channel
    ``frame * n_fields + field``), the layout :class:`~sklearn_amfno.AutoregressiveRegressor`
    takes with ``n_fields`` equal to the number of channels per frame.

    Parameters
    ----------
    path : str or path-like
        The ``.hdf5``/``.h5`` file.
    fields : str or sequence of str, default=None
        Fields (all their components, e.g. ``"velocity"``) or single components
        (``"velocity_x"``), in the channel order wanted. ``None``: every time-varying field, in
        storage order (``t0_fields``, then ``t1_fields``, then ``t2_fields``, each in its
        ``field_names`` order), as The Well's own ``WellDataset`` orders its channels. A
        time-invariant field (``time_varying=False``, The Well's "constant fields") is read
        only when named, repeated in every frame of ``X`` and ``y``; a field that does not vary
        between trajectories (``sample_varying=False``) or along an axis (``dim_varying``) is
        repeated over it.
    n_steps_in : int, default=1
        Frames in ``X``: the first ``n_steps_in`` frames of each window.
    n_steps_out : int, default=None
        Frames in ``y``: the ``n_steps_out`` frames after them. ``None``: every remaining frame
        of the trajectory with ``windows="first"`` (what ``AutoregressiveRegressor`` cuts into
        its training windows itself), 1 with ``windows="all"``.
    windows : {"first", "all"}, default="first"
        ``"first"``: one window per trajectory, from its first stored frame; ``"all"``: a
        window at every stored frame where it fits (The Well's training samples), samples
        ordered by trajectory, then start.
    time_stride : int, default=1
        Frames of a window are ``time_stride`` stored frames apart (The Well's ``dt_stride``).
    spatial_stride : int, default=1
        Keep every ``spatial_stride``-th grid point on every spatial axis.
    n_trajectories : int, default=None
        Read only the first ``n_trajectories`` trajectories; ``None``: all of them.
    lazy : bool, default=False
        Return arrays read from the file only where indexed
        (:class:`sklearn_amfno._lazy_array.LazyArray`) instead of reading them now: the same
        shapes, dtype and values, with the fields, strides and windows applied at each read.
        ``fit`` and ``predict`` stream them (``docs/scaling_out.md``); ``np.asarray`` reads
        them whole. The file must stay in place while they are used.
    return_info : bool, default=False
        Also return a :class:`~sklearn.utils.Bunch` describing the arrays.

    Returns
    -------
    X : ndarray of shape (n_samples, *grid, n_steps_in * n_fields), float64
        Input frames (a LazyArray with ``lazy=True``); ``n_samples`` is the number of
        trajectories read, times the windows per trajectory with ``windows="all"``.
    y : ndarray of shape (n_samples, *grid, n_steps_out * n_fields), float64
        The following frames, on the same grid (a LazyArray with ``lazy=True``).
    info : :class:`~sklearn.utils.Bunch`
        Only with ``return_info=True``: ``field_names`` (the ``n_fields`` channel names of a
        frame, in order), ``n_fields``, ``dataset_name``, ``grid_type``, ``spatial_dims``,
        ``coordinates`` (per spatial axis, the coordinates after ``spatial_stride``),
        ``time`` (the stored time coordinates), ``dt`` (time between consecutive frames of a
        window), ``windows`` (``(n_samples, 2)`` ints: trajectory and first stored frame of
        each sample), ``boundary_types`` (per spatial axis, ``(lower, upper)`` among
        ``"periodic"``, ``"wall"``, ``"open"``), ``boundary_conditions`` (per condition, its
        attributes) and ``scalars`` (per scalar, its stored values).

    Examples
    --------
    >>> from sklearn_amfno import AutoregressiveRegressor, FNORegressor
    >>> from sklearn_amfno.datasets import load_the_well
    >>> X, y, info = load_the_well(
    ...     "shear_flow/data/train/shear_flow_Reynolds_1e4_Schmidt_1e0.hdf5",
    ...     n_steps_in=4, n_steps_out=8, spatial_stride=4, return_info=True)  # doctest: +SKIP
    >>> est = AutoregressiveRegressor(FNORegressor(), n_fields=info.n_fields)  # doctest: +SKIP
    >>> est.fit(X, y)  # doctest: +SKIP
    """
    path = check_file(path, "The Well")
    with open_hdf5(path, "The Well") as f:
        missing = [g for g in ("dimensions",) if g not in f]
        if missing or not any(g in f for g in _ORDERS):
            raise ReaderKeyError(
                f"{quoted(path)} is not in {_LAYOUT}; it holds {', '.join(hdf5_contents(f)) or 'nothing'}"
            )
        n_dims = int(_require_attr(f, "n_spatial_dims", path, "the root group"))
        n_traj_file = int(_require_attr(f, "n_trajectories", path, "the root group"))
        dims_group = f["dimensions"]
        spatial_dims = _texts(_require_attr(dims_group, "spatial_dims", path, "'dimensions'"))
        if len(spatial_dims) != n_dims or n_dims not in (1, 2, 3):
            raise ValueError(
                f"{quoted(path)}: n_spatial_dims={n_dims} and dimensions/spatial_dims={spatial_dims}: "
                "expected 1, 2 or 3 spatial axes, one name per axis"
            )
        for name in ["time", *spatial_dims]:
            if name not in dims_group:
                raise ReaderKeyError(
                    f"{quoted(path)}: 'dimensions' has no {name!r} (expected {_LAYOUT}); it holds "
                    f"{', '.join(hdf5_contents(dims_group)) or 'nothing'}"
                )
        grid_file = tuple(int(dims_group[name].shape[-1]) for name in spatial_dims)
        n_time = int(dims_group["time"].shape[-1])
        if n_traj_file == 0:
            raise ValueError(f"{quoted(path)} holds no trajectories: n_trajectories=0")
        if n_trajectories is not None and n_trajectories > n_traj_file:
            raise ValueError(
                f"n_trajectories={n_trajectories} but {quoted(path)} holds {n_traj_file} trajectories; "
                f"pass n_trajectories <= {n_traj_file}, or None for all of them"
            )
        n_traj = n_traj_file if n_trajectories is None else n_trajectories

        table = _channel_table(f, spatial_dims, path)
        selected = _select(fields, table, path)
        orders = dict((key, order) for key, order, *_ in selected)
        keys = list(orders)
        layouts = {
            key: _field_layout(f[key], orders[key], n_traj_file, n_time, grid_file, path) for key in keys
        }

        # Windows: frames time_stride stored frames apart.
        n_frames = len(range(0, n_time, time_stride))
        n_out = n_steps_out
        if n_out is None:
            n_out = max(n_frames - n_steps_in, 0) if windows == "first" else 1
        span = 1 + time_stride * (n_steps_in + n_out - 1)  # stored frames a window covers
        stored = f"{n_time} stored frames (dimensions/time has shape {tuple(dims_group['time'].shape)})"
        if n_out == 0:
            raise ValueError(
                f"{quoted(path)}: n_steps_in={n_steps_in} leaves no frame for y: the trajectories have "
                f"{n_frames} frames {time_stride} stored frame(s) apart (time_stride={time_stride}), "
                f"{stored}; ask for fewer input frames or a smaller time_stride"
            )
        if span > n_time:
            raise ValueError(
                f"{quoted(path)}: a window of n_steps_in={n_steps_in} and n_steps_out={n_out} frames "
                f"{time_stride} stored frame(s) apart (time_stride={time_stride}) spans {span} stored "
                f"frames, but the trajectories have {stored}; ask for fewer frames or a smaller "
                "time_stride"
            )
        n_windows = n_time - span + 1 if windows == "all" else None
        n_samples = n_traj * (n_windows or 1)

        grid = tuple(len(range(0, g, spatial_stride)) for g in grid_file)
        channels = tuple((keys.index(key), comp) for key, _, comp, _ in selected)
        base = functools.partial(
            _Plan,
            fields=tuple(layouts[k] for k in keys),
            channels=channels,
            grid=grid,
            spatial_stride=spatial_stride,
            time_stride=time_stride,
            n_windows=n_windows,
        )
        parts: list[np.ndarray | LazyArray] = []
        for frames in (tuple(range(n_steps_in)), tuple(range(n_steps_in, n_steps_in + n_out))):
            read = functools.partial(_read_windows, plan=base(frames=frames))
            shape = (n_samples, *grid, len(frames) * len(channels))
            if lazy:
                parts.append(LazyArray(str(path.absolute()), shape, np.float64, read))
            else:
                parts.append(read(f, slice(0, n_samples)))
        if not return_info:
            return parts[0], parts[1]

        time = np.asarray(dims_group["time"][()])
        if _flag(dims_group["time"].attrs, "sample_varying", False) and time.ndim > 1:
            time = time[:n_traj]
        dt = float(np.ravel(time[..., time_stride] - time[..., 0])[0])
        starts = np.arange(n_windows or 1)
        info = Bunch(
            field_names=[c for *_, c in selected],
            n_fields=len(selected),
            dataset_name=_text(f.attrs["dataset_name"]) if "dataset_name" in f.attrs else None,
            grid_type=_text(f.attrs["grid_type"]) if "grid_type" in f.attrs else None,
            spatial_dims=spatial_dims,
            coordinates={d: _coordinates(dims_group, d, n_traj, spatial_stride) for d in spatial_dims},
            time=time,
            dt=dt,
            windows=np.stack(np.meshgrid(np.arange(n_traj), starts, indexing="ij"), -1).reshape(-1, 2),
            boundary_types=_boundary_types(f, spatial_dims),
            boundary_conditions=_boundary_conditions(f),
            scalars=_scalars(f, n_traj),
        )
        return parts[0], parts[1], info
