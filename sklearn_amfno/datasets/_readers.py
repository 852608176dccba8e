"""Readers for published operator-learning benchmark files (PDEBench, FNO, Geo-FNO).

All readers return ``X, y`` as float64 arrays in the package's data contract: one channel
``(n_samples, *grid)``, several channels ``(n_samples, *grid, n_channels)`` (channel axis last).
Files are sliced lazily where the format allows it (HDF5 datasets, memory-mapped ``.npy``), so
``n_samples`` and the strides limit what is read from disk. ``h5py`` is imported only when an
HDF5 file is actually read.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ._validation import check_choice, check_int

__all__ = ["load_pdebench", "load_fno_mat", "load_geofno"]


def _import_h5py():
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - exercised only without h5py
        raise ImportError(
            "Reading HDF5 files (PDEBench .h5/.hdf5, MATLAB v7.3 .mat) requires h5py: pip install h5py"
        ) from exc
    return h5py


def _check_file(path: str | os.PathLike, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} file not found: {str(path)!r}")
    return path


def _check_n_samples(n_samples):
    return None if n_samples is None else check_int(n_samples, "n_samples", low=1)


def _require(container, key: str, path: Path, layout: str):
    if key not in container:
        raise KeyError(
            f"{str(path)!r} has no {key!r} (expected the {layout} layout); "
            f"found keys {sorted(k for k in container.keys() if not k.startswith('__'))}"
        )
    return container[key]


def _frame_indices(spec, n_frames: int, name: str, after: int | None = None) -> list[int]:
    """Resolve an int count or a sequence of indices into frame indices within ``n_frames``."""
    if isinstance(spec, int | np.integer) and not isinstance(spec, bool):
        start = 0 if after is None else after
        idx = list(range(start, start + int(spec)))
        if spec < 1:
            raise ValueError(f"{name} must be >= 1 frame, got {spec}")
    else:
        try:
            idx = [int(i) for i in spec]
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be an int or a sequence of frame indices, got {spec!r}") from None
        idx = [i + n_frames if i < 0 else i for i in idx]
        if not idx:
            raise ValueError(f"{name} must select at least one frame, got {spec!r}")
    if min(idx) < 0 or max(idx) >= n_frames:
        raise ValueError(
            f"{name} must lie within the {n_frames} available frames (0..{n_frames - 1} after "
            f"time_stride), got {idx}"
        )
    return idx


def _read_frames(ds, n: int, frames: list[int], spatial: tuple) -> np.ndarray:
    """Read ``ds[:n, frames, *spatial]`` from an (N, T, *grid) HDF5 dataset, in ``frames`` order."""
    uniq = sorted(set(frames))
    # h5py point selection on one axis needs increasing indices; reorder afterwards.
    data = np.asarray(ds[(slice(0, n), uniq) + spatial], dtype=np.float64)
    pos = [uniq.index(f) for f in frames]
    return data[:, pos]


def _frames_to_channels(data: np.ndarray, one_channel_ok: bool) -> np.ndarray:
    """``(n, F, *grid, C)`` -> ``(n, *grid, F * C)`` frame-major (or ``(n, *grid)`` if 1)."""
    n, f = data.shape[:2]
    grid = data.shape[2:-1]
    c = data.shape[-1]
    out = np.moveaxis(data, 1, -2).reshape((n,) + grid + (f * c,))
    if one_channel_ok and f * c == 1:
        out = out[..., 0]
    return np.ascontiguousarray(out)


def load_pdebench(
    path: str | os.PathLike,
    *,
    kind: str = "auto",
    input_frames: int | Sequence[int] | None = None,
    output_frames: int | Sequence[int] | None = None,
    spatial_stride: int = 1,
    time_stride: int = 1,
    n_samples: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
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
    input_frames : int or sequence of int, default=None
        An int ``k`` takes the first ``k`` frames (of the time-strided sequence); a sequence
        gives explicit frame indices (negative counts from the end). ``None``: 10 frames for
        CFD, 1 for Burgers.
    output_frames : int or sequence of int, default=None
        An int ``m`` takes the ``m`` frames following the last input frame; a sequence gives
        explicit indices. ``None``: the frame after the inputs for CFD, the last frame for
        Burgers.
    spatial_stride : int, default=1
        Keep every ``spatial_stride``-th grid point on every spatial axis.
    time_stride : int, default=1
        Keep every ``time_stride``-th stored frame before selecting frames.
    n_samples : int, default=None
        Read only the first ``n_samples`` samples.

    Returns
    -------
    X, y : ndarrays, float64
        CFD: ``(n, *grid, n_fields * n_in)`` and ``(n, *grid, n_fields * n_out)``; Darcy:
        ``(n, H, W)`` each; Burgers: ``(n, X)`` per single frame, ``(n, X, n_frames)``
        otherwise.

    Examples
    --------
    >>> X, y = load_pdebench("1D_CFD_Rand_Eta0.01_Zeta0.01_periodic_Train.hdf5",
    ...                      input_frames=10, output_frames=1)  # doctest: +SKIP
    """
    path = _check_file(path, "PDEBench")
    kind = check_choice(kind, "kind", ("auto", "cfd", "darcy", "burgers"))
    s = check_int(spatial_stride, "spatial_stride", low=1)
    ts = check_int(time_stride, "time_stride", low=1)
    n_samples = _check_n_samples(n_samples)
    h5py = _import_h5py()
    with h5py.File(path, "r") as f:
        if kind == "auto":
            if "density" in f:
                kind = "cfd"
            elif "nu" in f:
                kind = "darcy"
            elif "tensor" in f:
                kind = "burgers"
            else:
                raise KeyError(
                    f"{str(path)!r}: cannot detect the PDEBench layout: expected 'density' "
                    f"(CFD), 'nu' and 'tensor' (Darcy) or 'tensor' (Burgers); found "
                    f"{sorted(f.keys())}"
                )
        if kind == "darcy":
            nu = _require(f, "nu", path, "PDEBench Darcy")
            sol = _require(f, "tensor", path, "PDEBench Darcy")
            if (
                nu.ndim != 3
                or sol.ndim != 4
                or sol.shape[1] != 1
                or (sol.shape[0],) + sol.shape[2:] != nu.shape
            ):
                raise ValueError(
                    "PDEBench Darcy expects 'nu' of shape (N, H, W) and 'tensor' of shape "
                    f"(N, 1, H, W); got {nu.shape} and {sol.shape}"
                )
            n = nu.shape[0] if n_samples is None else min(n_samples, nu.shape[0])
            X = np.asarray(nu[:n, ::s, ::s], dtype=np.float64)
            y = np.asarray(sol[:n, 0, ::s, ::s], dtype=np.float64)
            return X, y
        if kind == "burgers":
            ds = _require(f, "tensor", path, "PDEBench Burgers")
            if ds.ndim != 3:
                raise ValueError(f"PDEBench 1-D Burgers expects 'tensor' of shape (N, T, X), got {ds.shape}")
            names, datasets = ["tensor"], [ds]
            default_in, last_out = 1, True
        else:
            names = ["density", "Vx"] + [v for v in ("Vy", "Vz") if v in f] + ["pressure"]
            datasets = [_require(f, k, path, "PDEBench CFD") for k in names]
            shape = datasets[0].shape
            if any(d.shape != shape for d in datasets) or len(shape) != 1 + 1 + (len(names) - 2):
                raise ValueError(
                    f"PDEBench CFD expects {names} all of shape (N, T, *grid) with "
                    f"{len(names) - 2} spatial axes; got "
                    f"{ {k: d.shape for k, d in zip(names, datasets, strict=True)} }"
                )
            default_in, last_out = 10, False
        shape = datasets[0].shape
        n = shape[0] if n_samples is None else min(n_samples, shape[0])
        n_frames = len(range(0, shape[1], ts))
        in_idx = _frame_indices(
            default_in if input_frames is None else input_frames, n_frames, "input_frames"
        )
        if output_frames is None:
            out_idx = (
                [n_frames - 1]
                if last_out
                else _frame_indices(1, n_frames, "output_frames", after=max(in_idx) + 1)
            )
        else:
            out_idx = _frame_indices(output_frames, n_frames, "output_frames", after=max(in_idx) + 1)
        spatial = (slice(None, None, s),) * (len(shape) - 2)
        parts = []
        for idx in (in_idx, out_idx):
            stored = [i * ts for i in idx]  # indices into the file's time axis
            fields = [_read_frames(d, n, stored, spatial) for d in datasets]
            parts.append(_frames_to_channels(np.stack(fields, axis=-1), kind == "burgers"))
        return parts[0], parts[1]


_FNO_KEYS = {
    "darcy": ("coeff", "sol"),
    "burgers": ("a", "u"),
    "navier_stokes": ("u",),
}


def _has_hdf5_signature(path: Path) -> bool:
    """HDF5 superblock signature at offset 0 or a power-of-two user-block size (v7.3: 512)."""
    with open(path, "rb") as fh:
        for offset in (0, 512, 1024, 2048, 4096):
            fh.seek(offset)
            if fh.read(8) == b"\x89HDF\r\n\x1a\n":
                return True
    return False


def _load_mat_arrays(path: Path, keys: Sequence[str], n: int | None, s: int, spatial_axes: int):
    """Return ``{key: array}`` from a MATLAB v5 or v7.3 file, samples first, lazily sliced.

    MATLAB v7.3 files are HDF5 files whose datasets hold the arrays with *all axes reversed*
    (column-major storage), e.g. ``(N, H, W, T)`` is stored as ``(T, W, H, N)``.
    """
    is_hdf5 = _has_hdf5_signature(path)
    out = {}
    if is_hdf5:
        h5py = _import_h5py()
        with h5py.File(path, "r") as f:
            for key in keys:
                ds = _require(f, key, path, "FNO .mat (v7.3)")
                if ds.ndim < 1 + spatial_axes:
                    raise ValueError(
                        f"{key!r} must have a sample axis and {spatial_axes} spatial axes, "
                        f"got stored shape {ds.shape}"
                    )
                # Stored reversed: the sample axis is last, spatial axes just before it.
                sel = [slice(None)] * ds.ndim
                sel[-1] = slice(0, n)
                for ax in range(spatial_axes):
                    sel[-2 - ax] = slice(None, None, s)
                out[key] = np.asarray(ds[tuple(sel)], dtype=np.float64).transpose()
        return out
    from scipy.io import loadmat

    try:
        data = loadmat(path, variable_names=list(keys))
    except NotImplementedError as exc:  # pragma: no cover - v7.3 without the HDF5 signature
        raise ValueError(f"{str(path)!r}: unsupported MATLAB file version ({exc})") from exc
    for key in keys:
        arr = np.asarray(_require(data, key, path, "FNO .mat (v5)"), dtype=np.float64)
        if arr.ndim < 1 + spatial_axes:
            raise ValueError(
                f"{key!r} must have a sample axis and {spatial_axes} spatial axes, got shape {arr.shape}"
            )
        sl = (slice(0, n),) + (slice(None, None, s),) * spatial_axes
        out[key] = np.ascontiguousarray(arr[sl])
    return out


def load_fno_mat(
    path: str | os.PathLike,
    *,
    problem: str,
    n_samples: int | None = None,
    spatial_stride: int = 1,
    input_steps: int = 10,
    output_steps: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """Read an original FNO benchmark ``.mat`` file (MATLAB v5 or v7.3).

    Layouts (arrays as MATLAB sees them; v7.3/HDF5 files store them with axes reversed, which
    this reader undoes):

    * ``"darcy"``: ``coeff`` and ``sol`` of shape ``(N, H, W)``; ``X = coeff``, ``y = sol``.
    * ``"burgers"``: ``a`` and ``u`` of shape ``(N, X)``; ``X = a``, ``y = u``.
    * ``"navier_stokes"``: ``u`` of shape ``(N, H, W, T)``; ``X = u[..., :input_steps]`` and
      ``y = u[..., input_steps:input_steps + output_steps]`` (as in the FNO-2D experiments).

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
    input_steps, output_steps : int, default=10
        Time split of Navier-Stokes trajectories.

    Returns
    -------
    X, y : ndarrays, float64
        ``(n, H, W)`` (Darcy), ``(n, X)`` (Burgers) or ``(n, H, W, input_steps)`` and
        ``(n, H, W, output_steps)`` (Navier-Stokes).

    Examples
    --------
    >>> X, y = load_fno_mat("piececonst_r421_N1024_smooth1.mat", problem="darcy",
    ...                     spatial_stride=5)  # doctest: +SKIP
    """
    path = _check_file(path, "FNO .mat")
    check_choice(problem, "problem", tuple(_FNO_KEYS))
    s = check_int(spatial_stride, "spatial_stride", low=1)
    n = _check_n_samples(n_samples)
    spatial_axes = {"darcy": 2, "burgers": 1, "navier_stokes": 2}[problem]
    data = _load_mat_arrays(path, _FNO_KEYS[problem], n, s, spatial_axes)
    if problem == "navier_stokes":
        t_in = check_int(input_steps, "input_steps", low=1)
        t_out = check_int(output_steps, "output_steps", low=1)
        u = data["u"]
        if u.ndim != 4:
            raise ValueError(f"FNO Navier-Stokes expects 'u' of shape (N, H, W, T), got {u.shape}")
        if u.shape[-1] < t_in + t_out:
            raise ValueError(
                f"input_steps + output_steps must be <= T={u.shape[-1]} stored time steps, got "
                f"{t_in} + {t_out}"
            )
        return (np.ascontiguousarray(u[..., :t_in]), np.ascontiguousarray(u[..., t_in : t_in + t_out]))
    kx, ky = _FNO_KEYS[problem]
    X, y = data[kx], data[ky]
    want = 1 + spatial_axes
    if X.ndim != want or X.shape != y.shape:
        expected = "(N, H, W)" if problem == "darcy" else "(N, X)"
        raise ValueError(
            f"FNO {problem} expects {kx!r} and {ky!r} of the same shape {expected}, got "
            f"{X.shape} and {y.shape}"
        )
    return X, y


_GEOFNO = {
    "airfoil": ("NACA_Cylinder", ("density", "velocity_x", "velocity_y", "pressure", "mach"), "mach"),
    "pipe": ("Pipe", ("velocity_x", "velocity_y", "pressure"), "velocity_x"),
}


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
    check_choice(case, "case", tuple(_GEOFNO))
    prefix, names, default = _GEOFNO[case]
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"Geo-FNO folder not found: {str(folder)!r}")
    n = _check_n_samples(n_samples)
    arrays = {}
    for suffix in ("X", "Y", "Q"):
        arrays[suffix] = np.load(
            _check_file(folder / f"{prefix}_{suffix}.npy", f"Geo-FNO {case}"), mmap_mode="r"
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
    stop = xs.shape[0] if n is None else min(n, xs.shape[0])
    X = np.stack([np.asarray(xs[:stop], dtype=np.float64), np.asarray(ys[:stop], dtype=np.float64)], axis=-1)
    y = np.asarray(q[:stop][:, idx], dtype=np.float64)
    y = y[:, 0] if single else np.moveaxis(y, 1, -1)
    return np.ascontiguousarray(X), np.ascontiguousarray(y)
