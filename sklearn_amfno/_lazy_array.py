"""Arrays on disk read where they are indexed: :class:`LazyArray`, what the readers return with ``lazy=True``.

Kept apart from ``_streaming`` (which streams such arrays through torch's ``DataLoader``) so that
``sklearn_amfno.datasets`` imports neither torch nor skorch: this module needs NumPy alone (h5py
only when an HDF5 file is first read). ``_streaming`` re-exports every name here, so pickles that
name ``sklearn_amfno._streaming.LazyArray`` (written before the move) still load.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["LazyArray", "check_map_intact", "release_pages"]


def release_pages(a: Any) -> None:
    """Drop the pages of a memory map that this process has read from its resident set.

    The data stay in the kernel's page cache (a later read is a cheap minor fault), so a pass
    over a memory map larger than memory keeps a bounded resident set. Only shared maps (modes
    ``"r"``, ``"r+"``, ``"w+"``) are released: a copy-on-write map (``"c"``) would lose its
    in-memory changes. Anything else, and systems without ``madvise``, are left alone.
    """
    if not isinstance(a, np.memmap) or a.mode not in ("r", "r+", "w+"):
        return
    mm = getattr(a, "_mmap", None)
    if mm is None or not hasattr(mm, "madvise") or not hasattr(mmap, "MADV_DONTNEED"):
        return
    try:
        mm.madvise(mmap.MADV_DONTNEED)
    except (ValueError, OSError):  # a closed map, or a kernel that refuses: nothing to release
        pass


def check_map_intact(a: Any, name: str = "X") -> None:
    """Refuse to read a memory map whose file has become shorter than the map.

    Reading a page of a memory map beyond the end of its file raises SIGBUS, which kills the
    interpreter (no Python exception can be raised): a file truncated while a streamed fit
    reads it. The size of the file is compared with the map's extent before each read (one
    ``os.stat``, a microsecond), so a truncation between two reads is a ValueError. A truncation
    during a read itself cannot be caught: never shorten a file that a fit is reading.

    Parameters
    ----------
    a : object
        Anything; only ``np.memmap`` views of a file are checked.
    name : str, default="X"
        Named in the error.
    """
    if not isinstance(a, np.memmap):
        return
    mm, filename = getattr(a, "_mmap", None), getattr(a, "filename", None)
    if mm is None or filename is None:
        return
    try:
        # The map starts at the offset rounded down to the allocation granularity.
        start = int(a.offset) - int(a.offset) % mmap.ALLOCATIONGRANULARITY
        needed = start + len(mm)
        size = os.stat(filename).st_size
    except (ValueError, OSError, TypeError):  # a closed map, or a file gone: reading fails cleanly
        return
    if size < needed:
        raise ValueError(
            f"{name} is memory-mapped from {os.fspath(filename)!r}, which is now {size} bytes, "
            f"shorter than the {needed} bytes mapped: the file was truncated or rewritten while "
            "being read. Reading on would kill the interpreter (SIGBUS), so this stops here; do "
            "not change files that a fit or a prediction is reading."
        )


class _HDF5Handle:
    """An HDF5 file opened on first use in each process, closed by :meth:`close`."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file: Any = None
        self._pid = -1

    def get(self) -> Any:
        if self._file is None or self._pid != os.getpid() or not self._file.id.valid:
            import h5py

            try:
                self._file = h5py.File(self.path, "r")
            except OSError as exc:
                raise ValueError(
                    f"The lazily read file {self.path!r} cannot be reopened (moved, deleted or "
                    f"changed since it was read?): {exc}"
                ) from exc
            self._pid = os.getpid()
        return self._file

    def close(self) -> None:
        if self._file is not None and self._pid == os.getpid() and self._file.id.valid:
            self._file.close()
        self._file = None

    def __getstate__(self) -> dict:
        return {"path": self.path, "_file": None, "_pid": -1}


class _NpyHandle:
    """``.npy`` files memory-mapped (read-only) on first use in each process."""

    def __init__(self, paths: tuple[str, ...]) -> None:
        self.paths = paths
        self._maps: tuple[np.memmap, ...] | None = None
        self._pid = -1

    def get(self) -> tuple[np.memmap, ...]:
        if self._maps is None or self._pid != os.getpid():
            try:
                self._maps = tuple(np.load(p, mmap_mode="r") for p in self.paths)
            except (OSError, ValueError) as exc:
                raise ValueError(
                    f"The lazily read files {list(self.paths)} cannot be reopened (moved, deleted or "
                    f"changed since they were read?): {exc}"
                ) from exc
            self._pid = os.getpid()
        for path, m in zip(self.paths, self._maps, strict=True):
            check_map_intact(m, path)
        return self._maps

    def release(self) -> None:
        # A LazyArray reads its maps itself, so GridDataset's per-item release cannot see them.
        for m in self._maps or ():
            release_pages(m)

    def close(self) -> None:
        self._maps = None

    def __getstate__(self) -> dict:
        return {"paths": self.paths, "_maps": None, "_pid": -1}


class LazyArray:
    """An array on disk, read only where it is indexed: what the readers return with ``lazy=True``.

    It has ``shape``, ``dtype``, ``ndim``, ``len``, indexing whose first entry selects samples
    (an int, a slice or an array of indices; the rest is applied in memory) and ``np.asarray``
    (reads everything). The estimators' ``fit`` and ``predict`` stream it (see
    ``docs/scaling_out.md``).

    The file is opened on the first read in each process (so ``DataLoader`` workers and pickled
    copies open their own) and stays open until :meth:`close`; reading after ``close`` reopens
    it. A file moved or changed since it was opened raises ValueError naming it.

    Parameters
    ----------
    path : str or sequence of str
        The HDF5 file (``source="hdf5"``), or the ``.npy`` files (``source="npy"``).
    shape : tuple of int
        Shape of the array, samples first.
    dtype : numpy dtype
        dtype of what a read returns.
    read : callable
        ``read(opened, rows)`` returns the samples ``rows`` (a slice with step 1) as an ndarray
        of ``shape[1:]`` each; ``opened`` is the ``h5py.File`` or the tuple of read-only memory
        maps of ``path``. A picklable function (e.g. a ``functools.partial`` of a module-level
        function). Indices that are not one run are read run by run.
    source : {"hdf5", "npy"}, default="hdf5"
        What ``path`` is. The pages of ``.npy`` memory maps are released after every read
        (:func:`release_pages`).
    """

    def __init__(
        self,
        path: str | os.PathLike | tuple[str | os.PathLike, ...] | list[str | os.PathLike],
        shape: tuple[int, ...],
        dtype: Any,
        read: Callable[[Any, slice], np.ndarray],
        *,
        source: str = "hdf5",
    ) -> None:
        if source == "hdf5":
            self._handle: _HDF5Handle | _NpyHandle = _HDF5Handle(str(path))
        elif source == "npy":
            paths = (path,) if isinstance(path, str | os.PathLike) else tuple(path)
            self._handle = _NpyHandle(tuple(str(p) for p in paths))
        else:
            raise ValueError(f"source must be 'hdf5' or 'npy', got {source!r}")
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self._read = read

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def path(self) -> str | tuple[str, ...]:
        """The file (or ``.npy`` files) the array is read from."""
        h = self._handle
        return h.path if isinstance(h, _HDF5Handle) else (h.paths[0] if len(h.paths) == 1 else h.paths)

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"LazyArray(shape={self.shape}, dtype={self.dtype}, path={self.path!r})"

    def __getitem__(self, key: Any) -> np.ndarray:
        rest: tuple = ()
        if isinstance(key, tuple):
            key, rest = (key[0], key[1:]) if key else (slice(None), ())
        n = self.shape[0]
        if isinstance(key, slice):
            start, stop, step = key.indices(n)
            if step == 1:
                out = self._rows(slice(start, max(start, stop)))
            else:
                out = self._take(np.arange(start, stop, step))
        elif isinstance(key, int | np.integer):
            i = int(key)
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for the sample axis of size {n}")
            out = self._rows(slice(i % n, i % n + 1))[0]
            return out[rest] if rest else out
        else:
            idx = np.asarray(key)
            if idx.dtype == bool:
                idx = np.flatnonzero(idx)
            if idx.size and (idx.min() < -n or idx.max() >= n):
                raise IndexError(f"indices out of bounds for the sample axis of size {n}")
            out = self._take(idx.astype(np.int64) % n if idx.size else idx.astype(np.int64))
        # The sample axis is kept: the rest of the key applies to the axes after it.
        return out[(slice(None),) + rest] if rest else out

    def _rows(self, rows: slice) -> np.ndarray:
        if rows.stop <= rows.start:
            return np.empty((0,) + self.shape[1:], dtype=self.dtype)
        try:
            return np.asarray(self._read(self._handle.get(), rows), dtype=self.dtype)
        finally:
            if isinstance(self._handle, _NpyHandle):
                self._handle.release()

    def _take(self, idx: np.ndarray) -> np.ndarray:
        if idx.size == 0:
            return np.empty((0,) + self.shape[1:], dtype=self.dtype)
        # Read distinct indices in increasing order, one run of consecutive ones at a time (HDF5
        # takes one index list per selection, and the readers already use theirs on other
        # axes); reorder and repeat afterwards.
        uniq, inverse = np.unique(idx, return_inverse=True)
        breaks = np.flatnonzero(np.diff(uniq) != 1) + 1
        runs = [self._rows(slice(int(r[0]), int(r[-1]) + 1)) for r in np.split(uniq, breaks)]
        return np.concatenate(runs)[inverse.reshape(-1)]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[:]
        return out if dtype is None else out.astype(dtype)

    def close(self) -> None:
        """Close the file in this process (a later read reopens it)."""
        self._handle.close()

    def __enter__(self) -> LazyArray:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
