"""Data larger than memory: lazily loaded arrays streamed through skorch's DataLoader.

``fit`` and ``predict`` take a *lazy* array wherever they take an array (:func:`is_lazy`):

- ``np.memmap`` (also what ``np.load(path, mmap_mode="r")`` returns),
- ``h5py.Dataset``, ``zarr.Array`` (duck-typed: zarr is never imported),
- :class:`LazyArray`, what the readers return with ``lazy=True`` (defined in ``_lazy_array``),
- any other object, not a NumPy array, with ``shape``, ``dtype``, ``__len__``, ``__getitem__``
  (slicing along the first axis) and ``__array__``.

Such data are never loaded whole. ``fit`` reads them once in chunks of about
:data:`CHUNK_BYTES` (``_fit_data.prepare_fit_data``, which reads data in memory as one chunk):
each chunk passes the data contract's checks (``_data_contract``: finiteness, float32 overflow)
and feeds the per-channel scaling statistics (:class:`ChannelMoments`, Chan et al.'s pairwise
merge in float64) and the per-sample target norms. Training then reads one sample at a time
through :class:`GridDataset`, a torch ``Dataset`` that skorch's ``DataLoader`` batches
(``num_workers`` worker processes read in parallel). ``predict`` works through chunks of whole
batches (:func:`stream_predict`) and returns an in-memory array: for predictions larger than
memory, call it on slices.

Pages of a memory map that were read are dropped from the process's resident set as it goes
(:func:`release_pages`), so the resident memory stays bounded: the kernel keeps them in its page
cache and reclaims them under pressure, as for any file read.

:class:`LazyArray`, :func:`release_pages` and :func:`check_map_intact` are defined in
``_lazy_array``, which imports no torch (the readers of ``sklearn_amfno.datasets`` use it), and
re-exported here: pickles written when they were defined here still load.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ._data_contract import check_grid_shape
from ._lazy_array import LazyArray, _HDF5Handle, _NpyHandle, check_map_intact, release_pages  # noqa: F401
from .preprocessing import channel_mean_std, channel_scale

__all__ = [
    "CHUNK_BYTES",
    "ChannelMoments",
    "GridDataset",
    "check_map_intact",
    "LazyArray",
    "is_lazy",
    "materialize",
    "release_pages",
    "rows_per_chunk",
    "stream_predict",
]

#: float32 bytes of X (or y) that a streaming pass reads at once. The pass holds a few copies
#: of a chunk (float32 and float64), so about six times this at its peak.
CHUNK_BYTES = 16 * 2**20

# Modules whose array types are in memory, whatever attributes they have.
_IN_MEMORY_MODULES = {"pandas", "scipy", "polars", "torch"}


def is_lazy(a: Any) -> bool:
    """Whether ``a`` is an array read on demand, which ``fit`` and ``predict`` stream.

    Parameters
    ----------
    a : object
        Candidate data.

    Returns
    -------
    bool
        True for a memory-mapped ``np.memmap``, an ``h5py.Dataset``, a ``zarr.Array``, a
        :class:`LazyArray`, or any non-NumPy object with ``shape``, ``dtype``, ``__len__``,
        ``__getitem__`` and ``__array__``.
    """
    if isinstance(a, np.memmap):
        return getattr(a, "_mmap", None) is not None
    if a is None or isinstance(a, np.ndarray | list | tuple):
        return False
    if type(a).__module__.split(".")[0] in _IN_MEMORY_MODULES:
        return False
    shape = getattr(a, "shape", None)
    return (
        isinstance(shape, tuple)
        and len(shape) >= 1
        and all(hasattr(a, name) for name in ("dtype", "__len__", "__getitem__", "__array__"))
    )


def materialize(a: Any) -> Any:
    """``a`` loaded into memory if it is lazy, else ``a`` unchanged."""
    return np.asarray(a) if is_lazy(a) else a


def rows_per_chunk(shape: tuple[int, ...], multiple: int = 1) -> int:
    """Samples per streaming chunk: about :data:`CHUNK_BYTES` of float32, a multiple of ``multiple``."""
    per_sample = 4 * max(1, int(np.prod(shape[1:], dtype=np.int64)))
    batches = max(1, CHUNK_BYTES // (per_sample * multiple))
    return batches * multiple


def _as_float32(a: Any) -> np.ndarray:
    """A writable float32 copy, converted as the data contract converts (ints through float64)."""
    a = np.asarray(a)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    with np.errstate(over="ignore"):
        return a.astype(np.float32)


class ChannelMoments:
    """Per-channel count, mean and summed squared deviations, updated chunk by chunk.

    Each chunk's mean and deviation are :func:`~sklearn_amfno.preprocessing.channel_mean_std`'s;
    chunks are merged with the pairwise rule of Chan, Golub and LeVeque (1979) in float64, so the
    result equals :func:`~sklearn_amfno.preprocessing.channel_statistics` of the whole data to
    float64 rounding, whatever the chunking, and exactly for one chunk (data in memory).
    """

    def __init__(self) -> None:
        self.count = 0.0
        self.mean: np.ndarray | None = None
        self.m2: np.ndarray | None = None
        # The one chunk's deviation as computed, while only one was added: exact statistics.
        self._std: np.ndarray | None = None

    def update(self, a: np.ndarray, sample_weight: np.ndarray | None = None) -> None:
        """Add a chunk ``(n, n_channels, ...)`` (channels on axis 1).

        With ``sample_weight`` (one weight per sample of the chunk), every value of a sample
        counts with its sample's weight: ``count`` is then the sum of the weights, and the
        statistics are those of ``channel_statistics(..., sample_weight=...)``.
        """
        if a.shape[0] == 0:
            return
        points = a.size // (a.shape[0] * a.shape[1])
        n_b = float(a.shape[0] if sample_weight is None else np.sum(sample_weight, dtype=np.float64)) * points
        if n_b == 0:
            return  # a chunk of weight 0 adds nothing
        mean_b, std_b = channel_mean_std(a, axis=1, sample_weight=sample_weight)
        m2_b = np.square(std_b) * n_b
        if self.mean is None or self.m2 is None:
            self.count, self.mean, self.m2, self._std = n_b, mean_b, m2_b, std_b
            return
        n = self.count + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (n_b / n)
        self.m2 = self.m2 + m2_b + delta**2 * (self.count * n_b / n)
        self.count, self._std = n, None

    def statistics(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and scale (``channel_statistics``' rule) of everything added."""
        if self.mean is None or self.m2 is None:
            raise ValueError("No data were added: the statistics of zero samples are undefined.")
        std = self._std if self._std is not None else np.sqrt(self.m2 / self.count)
        return self.mean, channel_scale(self.mean, std)


def _h5py_source(a: Any) -> tuple[str, str] | None:
    """``(file name, dataset name)`` of an ``h5py.Dataset``, to reopen it in another process."""
    if type(a).__module__.split(".")[0] != "h5py":
        return None
    return str(a.file.filename), str(a.name)


def _reopen_h5py(source: tuple[str, str]) -> Any:
    import h5py

    return h5py.File(source[0], "r")[source[1]]


class GridDataset(torch.utils.data.Dataset):
    """Training samples read one at a time from (lazy) ``X`` and ``y``, in the network's layout.

    Item ``i`` is ``(x, y)``: ``x`` of shape ``(n_channels, *grid)`` and ``y`` of shape
    ``(n_outputs, *grid)`` for a field or ``(n_outputs,)`` for a per-sample target, both float32,
    exactly the rows skorch's own dataset would hand the ``DataLoader`` for the in-memory
    arrays, so a streamed fit trains on the same batches. What the fit's pass over the data
    learned (scaling statistics, target norms) is held by ``_fit_data.FitData``.

    An ``h5py.Dataset`` is reopened in each process that reads it (``DataLoader`` workers),
    because HDF5 handles must not cross a fork.
    """

    def __init__(
        self,
        X: Any,
        y: Any,
        *,
        channel_axis: int | None,
        target_kind: str,
        y_has_channels: bool,
        sample_weight: np.ndarray | None = None,
    ) -> None:
        self.X, self.y = X, y
        self.channel_axis = channel_axis
        self.target_kind = target_kind
        self.y_has_channels = y_has_channels
        #: A weighted fit's weights (``fit(..., sample_weight=...)``): item ``i`` then carries
        #: its weight with its input, ``({"x": x, "sample_weight": w_i}, y)``, as skorch's
        #: dataset of the in-memory arrays does.
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        self._sources = (_h5py_source(X), _h5py_source(y))
        self._pid = os.getpid()

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def _local(self) -> None:
        if os.getpid() != self._pid:
            if self._sources[0] is not None:
                self.X = _reopen_h5py(self._sources[0])
            if self._sources[1] is not None:
                self.y = _reopen_h5py(self._sources[1])
            self._pid = os.getpid()

    def __getitem__(self, i: int) -> tuple[Any, np.ndarray]:
        self._local()
        check_map_intact(self.X, "X")
        check_map_intact(self.y, "y")
        x = _as_float32(self.X[i])
        x = x[np.newaxis] if self.channel_axis is None else np.moveaxis(x, -1, 0)
        y = _as_float32(self.y[i])
        if self.target_kind == "field":
            y = np.moveaxis(y, -1, 0) if self.y_has_channels else y[np.newaxis]
        elif self.target_kind == "scalar":
            y = y.reshape(1)
        # At every item: the kernel maps whole (large) page-cache folios around each random
        # read, over a megabyte per sample measured, so waiting lets an epoch map the whole
        # file. Releasing costs tens of microseconds.
        release_pages(self.X)
        release_pages(self.y)
        if self.sample_weight is not None:
            return {"x": x, "sample_weight": np.float32(self.sample_weight[i])}, y
        return x, y

    def __getstate__(self) -> dict:
        # h5py objects do not pickle (spawned workers, joblib): keep where to reopen them.
        state = self.__dict__.copy()
        for name, source in zip(("X", "y"), self._sources, strict=True):
            if source is not None:
                state[name] = None
        state["_pid"] = -1
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)


def stream_predict(
    predict: Callable[[np.ndarray], np.ndarray],
    X: Any,
    *,
    channel_axis: int | None,
    n_dim: int,
    n_channels: int,
    batch_size: int,
) -> np.ndarray:
    """``predict`` applied to ``X`` chunk by chunk, gathered in memory.

    Data in memory are one chunk; lazily loaded data (:func:`is_lazy`) chunks of whole batches,
    so the network sees the batches an in-memory ``predict`` makes and the result is the same.
    X's shape is checked whole first, so messages quote it rather than a chunk's.
    """
    if not is_lazy(X):
        return predict(X)
    shape = tuple(int(s) for s in X.shape)
    if len(shape) >= 2 and shape[0] > 0:
        check_grid_shape(shape, channel_axis=channel_axis, n_dim=n_dim, n_channels=n_channels)
    else:
        return predict(np.asarray(X))
    n = shape[0]
    rows = rows_per_chunk(shape, batch_size)
    out: np.ndarray | None = None
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        check_map_intact(X, "X")
        part = predict(X[start:stop])
        release_pages(X)
        if out is None:
            out = np.empty((n,) + part.shape[1:], dtype=part.dtype)
        out[start:stop] = part
    assert out is not None
    return out
