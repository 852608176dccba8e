"""File helpers shared by the benchmark-file readers.

Every error they raise names the file (its path), what the reader expected and what it found:
existence and kind checks (a file, a folder), the detected format of a file that does not open
(HDF5, MATLAB v5 or v7.3, ``.npy``, empty, or the first bytes of anything else), the keys a file
holds when an expected one is missing, the dtype of data that are not real numbers, and the
number of samples a file holds when more are asked for.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

__all__ = [
    "ReaderKeyError",
    "check_file",
    "check_folder",
    "check_n_samples",
    "check_real_dtype",
    "describe_format",
    "detect_format",
    "hdf5_contents",
    "import_h5py",
    "open_hdf5",
    "quoted",
    "require_dataset",
    "require_key",
]

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# HDF5 looks for its superblock at 0 and at every power of two from 512 on (the user block);
# MATLAB v7.3 files use a 512-byte user block holding MATLAB's text header.
_HDF5_OFFSETS = (0, 512, 1024, 2048, 4096)
_NPY_MAGIC = b"\x93NUMPY"


class ReaderKeyError(KeyError):
    """A :class:`KeyError` whose message prints as written (a bare ``KeyError`` quotes it)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def quoted(path: str | os.PathLike) -> str:
    """The path as it appears in messages: ``'/data/file.h5'``."""
    return repr(str(path))


def import_h5py():
    """Import h5py on first use, with installation advice when it is missing."""
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - exercised only without h5py
        raise ImportError(
            "Reading HDF5 files (PDEBench .h5/.hdf5, MATLAB v7.3 .mat) requires h5py: pip install h5py"
        ) from exc
    return h5py


def check_file(path: str | os.PathLike, what: str) -> Path:
    """Return ``path`` as a :class:`Path` after checking that it is an existing file.

    A missing path is a FileNotFoundError, a folder an IsADirectoryError and anything else that
    is not a regular file (a socket, a device) a ValueError, each naming the ``what`` file.
    """
    path = Path(path)
    if path.is_file():
        return path
    if path.is_dir():
        raise IsADirectoryError(
            f"{what} file expected, but {quoted(path)} is a directory; pass the file's path"
        )
    if path.exists():
        raise ValueError(f"{what} file expected, but {quoted(path)} is not a regular file")
    raise FileNotFoundError(f"{what} file not found: {quoted(path)}")


def check_folder(path: str | os.PathLike, what: str) -> Path:
    """Return ``path`` as a :class:`Path` after checking that it is an existing folder."""
    path = Path(path)
    if path.is_dir():
        return path
    if path.exists():
        raise NotADirectoryError(
            f"{what} folder expected, but {quoted(path)} is a file; pass the folder that holds the files"
        )
    raise FileNotFoundError(f"{what} folder not found: {quoted(path)}")


def detect_format(path: Path) -> str:
    """The format of a file from its first bytes.

    One of ``"empty"``, ``"hdf5"`` (no MATLAB header), ``"mat7.3"`` (HDF5 after MATLAB's text
    header), ``"mat5"``, ``"mat4"`` (MATLAB's header-less binary format, a guess), ``"npy"`` or
    ``"unknown"``.
    """
    with open(path, "rb") as fh:
        head = fh.read(128)
        if not head:
            return "empty"
        hdf5 = False
        for offset in _HDF5_OFFSETS:
            fh.seek(offset)
            if fh.read(8) == _HDF5_SIGNATURE:
                hdf5 = True
                break
    if hdf5:
        return "mat7.3" if head.startswith(b"MATLAB 7.3 MAT-file") else "hdf5"
    if head.startswith(b"MATLAB 5.0 MAT-file"):
        return "mat5"
    if head.startswith(_NPY_MAGIC):
        return "npy"
    # scipy reads a MATLAB v4 file when one of its first four bytes is zero (the type flag).
    if len(head) >= 20 and 0 in head[:4]:
        return "mat4"
    return "unknown"


def describe_format(path: Path, fmt: str | None = None, unknown: str = "not a MATLAB/HDF5 file") -> str:
    """Words for the detected format of ``path``; ``unknown`` and its first bytes where unknown."""
    fmt = detect_format(path) if fmt is None else fmt
    if fmt == "unknown":
        with open(path, "rb") as fh:
            head = fh.read(32)
        return f"{unknown} (starts with {head!r})"
    size = path.stat().st_size
    return {
        "empty": "an empty file (0 bytes)",
        "hdf5": f"an HDF5 file ({size} bytes)",
        "mat7.3": f"a MATLAB v7.3 MAT-file (HDF5, {size} bytes)",
        "mat5": f"a MATLAB v5 MAT-file ({size} bytes)",
        "mat4": f"possibly a MATLAB v4 MAT-file ({size} bytes)",
        "npy": f"a NumPy .npy file ({size} bytes)",
    }[fmt]


@contextlib.contextmanager
def open_hdf5(path: Path, what: str):
    """Open ``path`` with h5py for reading, or raise a ValueError naming it and its format.

    h5py's own errors ("file signature not found") name neither the file nor what it is.
    """
    fmt = detect_format(path)
    if fmt not in ("hdf5", "mat7.3"):
        raise ValueError(
            f"{quoted(path)} is not an HDF5 file: detected {describe_format(path, fmt)}; "
            f"{what} files are HDF5 (.h5/.hdf5)"
        )
    h5py = import_h5py()
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(
            f"{quoted(path)} starts like {describe_format(path, fmt)} but cannot be opened as HDF5 "
            f"(truncated or corrupt?): {exc}"
        ) from exc
    with f:
        yield f


def _listing(names: Iterable[str]) -> str:
    names = list(names)
    return ", ".join(names) if names else "nothing"


def hdf5_contents(container) -> list[str]:
    """``name (shape dtype)`` of each dataset and ``name/ (group)`` of each group, sorted by name.

    MATLAB's bookkeeping entries (``#refs#``, ``#subsystem#``) are left out.
    """
    out = []
    for name in sorted(container.keys()):
        if name.startswith("#"):
            continue
        item = container[name]
        shape = getattr(item, "shape", None)
        out.append(f"{name!r} (group)" if shape is None else f"{name!r} {tuple(shape)} {item.dtype}")
    return out


def require_key(container, key: str, path: Path, layout: str, found: Iterable[str] | None = None):
    """``container[key]``, or a KeyError naming the file, the expected layout and what it holds.

    ``layout`` says what was expected (``"the FNO darcy layout: 'coeff' and 'sol'"``); ``found``
    lists what the file holds (default: the container's keys, MATLAB's ``__header__``-style
    entries left out).
    """
    if key not in container:
        if found is None:
            found = [repr(k) for k in sorted(container.keys()) if not k.startswith(("__", "#"))]
        raise ReaderKeyError(f"{quoted(path)} has no {key!r} (expected {layout}); it holds {_listing(found)}")
    return container[key]


def require_dataset(container, key: str, path: Path, layout: str):
    """An HDF5 dataset ``container[key]`` (not a group), real-valued; errors name the file."""
    ds = require_key(container, key, path, layout, found=hdf5_contents(container))
    if not hasattr(ds, "shape"):
        raise ValueError(f"{quoted(path)}: {key!r} is an HDF5 group, expected a dataset ({layout})")
    check_real_dtype(ds.dtype, key, path)
    return ds


def check_real_dtype(dtype: np.dtype, key: str | None, path: Path) -> None:
    """Refuse complex and non-numeric data (a float64 cast would drop or garble them)."""
    dtype = np.dtype(dtype)
    where = quoted(path) if key is None else f"{quoted(path)}: {key!r}"
    names = dtype.names or ()
    if dtype.kind == "c" or (len(names) == 2 and {n.lower() for n in names} == {"real", "imag"}):
        raise ValueError(
            f"{where} holds complex values ({dtype}); the estimators take real data "
            "and this reader does not drop the imaginary part. Read the array yourself and pass the "
            "real and imaginary parts as two channels, e.g. np.stack([z.real, z.imag], axis=-1)"
        )
    if dtype.kind not in "biuf":
        raise ValueError(f"{where} holds {dtype} data, expected a real numeric array (bool, int or float)")


def check_n_samples(n_samples: int | None, available: int, path: Path, key: str | None = None) -> int:
    """How many samples to read: all of them (``None``) or ``n_samples``, which must be present."""
    what = "" if key is None else f" ({key!r})"
    if available == 0:
        raise ValueError(f"{quoted(path)} holds no samples{what}: its sample axis has length 0")
    if n_samples is None:
        return available
    if n_samples > available:
        raise ValueError(
            f"n_samples={n_samples} but {quoted(path)} holds {available} samples{what}; "
            f"pass n_samples <= {available}, or None for all of them"
        )
    return n_samples
