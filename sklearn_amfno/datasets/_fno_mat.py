"""Reader for the original FNO benchmark ``.mat`` files (MATLAB v5 or v7.3).

Returns ``X, y`` as float64 arrays in the package's data contract. MATLAB v7.3 files are HDF5
files, sliced lazily (``h5py`` is imported only for them); v5 files are read by
:func:`scipy.io.loadmat`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._compat import POSITIVE_INT, StrOptions, renamed_parameters, validate_params
from ._constraints import N_SAMPLES_TO_READ, PATH
from ._files import check_file, import_h5py, require_key

__all__ = ["load_fno_mat"]


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
        h5py = import_h5py()
        with h5py.File(path, "r") as f:
            for key in keys:
                ds = require_key(f, key, path, "FNO .mat (v7.3)")
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
        arr = np.asarray(require_key(data, key, path, "FNO .mat (v5)"), dtype=np.float64)
        if arr.ndim < 1 + spatial_axes:
            raise ValueError(
                f"{key!r} must have a sample axis and {spatial_axes} spatial axes, got shape {arr.shape}"
            )
        sl = (slice(0, n),) + (slice(None, None, s),) * spatial_axes
        out[key] = np.ascontiguousarray(arr[sl])
    return out


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
) -> tuple[np.ndarray, np.ndarray]:
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

    Returns
    -------
    X, y : ndarrays, float64
        ``(n, H, W)`` (Darcy), ``(n, X)`` (Burgers) or ``(n, H, W, n_steps_in)`` and
        ``(n, H, W, n_steps_out)`` (Navier-Stokes).

    Examples
    --------
    >>> X, y = load_fno_mat("piececonst_r421_N1024_smooth1.mat", problem="darcy",
    ...                     spatial_stride=5)  # doctest: +SKIP
    """
    path = check_file(path, "FNO .mat")
    spatial_axes = {"darcy": 2, "burgers": 1, "navier_stokes": 2}[problem]
    data = _load_mat_arrays(path, _FNO_KEYS[problem], n_samples, spatial_stride, spatial_axes)
    if problem == "navier_stokes":
        u = data["u"]
        if u.ndim != 4:
            raise ValueError(f"FNO Navier-Stokes expects 'u' of shape (N, H, W, T), got {u.shape}")
        if u.shape[-1] < n_steps_in + n_steps_out:
            raise ValueError(
                f"n_steps_in + n_steps_out must be <= T={u.shape[-1]} stored time steps, got "
                f"{n_steps_in} + {n_steps_out}"
            )
        stop = n_steps_in + n_steps_out
        return np.ascontiguousarray(u[..., :n_steps_in]), np.ascontiguousarray(u[..., n_steps_in:stop])
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
