"""Data larger than memory: lazily loaded arrays streamed through fit and predict."""

from __future__ import annotations

import numpy as np
import pytest

from sklearn_amfno import AMFNORegressor, FNORegressor
from sklearn_amfno._fit_data import prepare_fit_data
from sklearn_amfno._streaming import (
    ChannelMoments,
    GridDataset,
    LazyArray,
    is_lazy,
    release_pages,
)
from sklearn_amfno.preprocessing import channel_statistics

h5py = pytest.importorskip("h5py")

TINY = {"width": 4, "n_layers": 1, "max_epochs": 2, "batch_size": 8, "device": "cpu", "random_state": 0}


def _memmap(path, a, mode="r"):
    m = np.memmap(path, dtype=a.dtype, mode="w+", shape=a.shape)
    m[:] = a
    m.flush()
    del m
    return np.memmap(path, dtype=a.dtype, mode=mode, shape=a.shape)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 12, 12, 2)).astype(np.float32)
    y = (np.cumsum(X[..., 0], axis=1) * 0.1 + X[..., 1] ** 2 + 1).astype(np.float32)
    return X, y


def test_is_lazy_recognises_memmaps_hdf5_and_duck_arrays_not_in_memory_arrays(tmp_path, data):
    X, _ = data
    with h5py.File(tmp_path / "d.h5", "w") as f:
        f["X"] = X
        assert is_lazy(f["X"])
    assert is_lazy(_memmap(tmp_path / "X.f32", X))
    assert not is_lazy(X)
    assert not is_lazy(X.tolist())
    assert not is_lazy(None)

    class Duck:
        shape, dtype = X.shape, X.dtype

        def __len__(self):
            return len(X)

        def __getitem__(self, key):
            return X[key]

        def __array__(self, dtype=None, copy=None):
            return X

    assert is_lazy(Duck())


@pytest.mark.parametrize("chunk_rows", [1, 7, 30])
def test_channel_moments_equal_channel_statistics_whatever_the_chunks(chunk_rows):
    rng = np.random.default_rng(1)
    a = (rng.normal(size=(30, 3, 5, 4)) * np.array([1.0, 1e3, 1e-3])[:, None, None] + 7).astype(np.float32)
    a[:, 2] = 5.0  # a constant channel gets scale 1
    moments = ChannelMoments()
    for start in range(0, len(a), chunk_rows):
        moments.update(a[start : start + chunk_rows])
    mean, scale = moments.statistics()
    ref_mean, ref_scale = channel_statistics(a, axis=1)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-12)
    np.testing.assert_allclose(scale, ref_scale, rtol=1e-9)
    assert scale[2] == 1.0


def test_streamed_fit_from_memmap_is_bit_identical_to_the_in_memory_fit(tmp_path, data, monkeypatch):
    import sklearn_amfno._streaming as streaming

    # Several chunks in the streaming pass and in predict.
    monkeypatch.setattr(streaming, "CHUNK_BYTES", 12 * 12 * 2 * 4 * 5)
    X, y = data
    Xm, ym = _memmap(tmp_path / "X.f32", X), _memmap(tmp_path / "y.f32", y)
    params = {**TINY, "channel_axis": -1, "validation_fraction": 0.2}
    ref = AMFNORegressor(**params).fit(X, y)
    est = AMFNORegressor(**params).fit(Xm, ym)
    assert [h["train_loss"] for h in est.net_.history] == [h["train_loss"] for h in ref.net_.history]
    assert [h["valid_loss"] for h in est.net_.history] == [h["valid_loss"] for h in ref.net_.history]
    for name, buffer in ref.module_.named_buffers():
        np.testing.assert_array_equal(dict(est.module_.named_buffers())[name].numpy(), buffer.numpy())
    assert est.grid_shape_ == (12, 12) and est.n_channels_in_ == 2 and est.n_features_in_ == 288
    pred = est.predict(Xm)
    assert pred.dtype == np.float32
    np.testing.assert_array_equal(pred, ref.predict(X))


def test_streamed_fit_reads_hdf5_datasets_and_per_sample_targets(tmp_path, data):
    X, y = data
    X64 = X[..., 0].astype(np.float64)
    target = y.mean(axis=(1, 2))
    with h5py.File(tmp_path / "d.h5", "w") as f:
        f["X"], f["y"] = X64, target
    ref = FNORegressor(n_modes=4, **TINY).fit(X64, target)
    with h5py.File(tmp_path / "d.h5", "r") as f:
        est = FNORegressor(n_modes=4, **TINY).fit(f["X"], f["y"])
        pred = est.predict(f["X"])
    assert est.target_kind_ == "scalar"
    assert pred.shape == (30,) and pred.dtype == np.float64
    np.testing.assert_array_equal(pred, ref.predict(X64))


def test_streamed_fit_takes_a_lazy_X_with_an_in_memory_y(tmp_path, data):
    X, y = data
    ref = FNORegressor(n_modes=4, **TINY, channel_axis=-1).fit(X, y)
    est = FNORegressor(n_modes=4, **TINY, channel_axis=-1).fit(_memmap(tmp_path / "X.f32", X), y)
    np.testing.assert_array_equal(est.predict(X), ref.predict(X))


def test_streaming_pass_refuses_nan_in_a_later_chunk_and_overflow(tmp_path, data, monkeypatch):
    import sklearn_amfno._streaming as streaming

    monkeypatch.setattr(streaming, "CHUNK_BYTES", 12 * 12 * 4 * 4)
    X, y = data
    X = X[..., 0].copy()
    X[25, 3, 3] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        FNORegressor(n_modes=4, **TINY).fit(_memmap(tmp_path / "X.f32", X), y)
    y64 = y.astype(np.float64)
    y64[29, 0, 0] = 1e35
    X[25, 3, 3] = 0.0
    with pytest.raises(ValueError, match="y has values up to 1e\\+35"):
        FNORegressor(n_modes=4, **TINY).fit(_memmap(tmp_path / "X2.f32", X), _memmap(tmp_path / "y.f64", y64))


def test_streaming_refuses_bad_shapes_quoting_the_whole_array(tmp_path, data):
    X, y = data
    Xm = _memmap(tmp_path / "X.f32", X)
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[30, 29\]"):
        FNORegressor(n_modes=4, **TINY, channel_axis=-1).fit(Xm, y[:29])
    with pytest.raises(ValueError, match=r"got shape \(30, 12, 12, 2, 1\), i.e. 4 grid axes"):
        prepare_fit_data(_memmap(tmp_path / "X4.f32", X[..., None]), y, channel_axis=None)
    with pytest.raises(ValueError, match="y of shape"):
        FNORegressor(n_modes=4, **TINY, channel_axis=-1).fit(Xm, y[:, :5])
    est = FNORegressor(n_modes=4, **TINY, channel_axis=-1).fit(X, y)
    with pytest.raises(ValueError, match=r"X of shape \(30, 12, 12, 2\) has 2 channels.*fitted with 1"):
        FNORegressor(n_modes=4, **TINY, channel_axis=-1).fit(X[..., :1], y).predict(Xm)
    with pytest.raises(ValueError, match="requires y to be passed"):
        est.fit(Xm, None)


def test_grid_dataset_items_are_the_rows_of_the_in_memory_layout(tmp_path, data):
    X, y = data
    data = prepare_fit_data(_memmap(tmp_path / "X.f32", X), y, channel_axis=-1)
    dataset, fitted = data.net_input(), data.fitted
    assert isinstance(dataset, GridDataset) and len(dataset) == 30
    x5, y5 = dataset[5]
    np.testing.assert_array_equal(x5, np.moveaxis(X[5], -1, 0))
    np.testing.assert_array_equal(y5, y[5][np.newaxis])
    assert x5.flags.writeable and x5.dtype == np.float32
    assert fitted["target_kind_"] == "field" and fitted["n_outputs_"] == 1


def test_release_pages_drops_resident_pages_of_a_read_only_memmap(tmp_path):
    resource = pytest.importorskip("resource")  # noqa: F841 - Linux/macOS only
    import mmap

    if not hasattr(mmap, "MADV_DONTNEED"):
        pytest.skip("no madvise here")
    a = _memmap(tmp_path / "big.f32", np.ones((64, 256, 256), dtype=np.float32))  # 16 MiB

    def resident_kib():
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("RssFile:"))

    if not __import__("os").path.exists("/proc/self/status"):
        pytest.skip("needs /proc")
    before = resident_kib()
    assert float(a.sum()) == 64 * 256 * 256
    touched = resident_kib()
    release_pages(a)
    released = resident_kib()
    assert touched - before > 12 * 1024
    assert released - before < 2 * 1024
    assert float(a[63].sum()) == 256 * 256  # still readable


def test_lazy_array_reads_samples_on_demand_and_reopens_after_close(tmp_path, data):
    X, _ = data
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as f:
        f["X"] = X

    def read(file, rows):
        return file["X"][rows]

    lazy = LazyArray(str(path), X.shape, np.float32, read)
    assert len(lazy) == 30 and lazy.ndim == 4 and is_lazy(lazy)
    np.testing.assert_array_equal(lazy[3], X[3])
    np.testing.assert_array_equal(lazy[-1], X[-1])
    np.testing.assert_array_equal(lazy[2:9:3, 1], X[2:9:3, 1])
    np.testing.assert_array_equal(lazy[[7, 2, 7]], X[[7, 2, 7]])
    lazy.close()
    np.testing.assert_array_equal(np.asarray(lazy), X)
    with pytest.raises(IndexError, match="out of bounds"):
        lazy[30]


def test_fit_with_dataloader_workers_equals_the_single_process_fit_and_reads_in_workers(
    tmp_path, data, monkeypatch
):
    import os

    X, y = data
    Xm, ym = _memmap(tmp_path / "X.f32", X), _memmap(tmp_path / "y.f32", y)
    params = {**TINY, "channel_axis": -1, "validation_fraction": 0.2}
    ref = FNORegressor(n_modes=4, **params).fit(Xm, ym)
    log = tmp_path / "pids.txt"
    read = GridDataset.__getitem__

    def recording(self, i):
        with open(log, "a") as fh:  # workers are other processes: the file collects their pids
            fh.write(f"{os.getpid()}\n")
        return read(self, i)

    monkeypatch.setattr(GridDataset, "__getitem__", recording)
    est = FNORegressor(n_modes=4, num_workers=2, **params).fit(Xm, ym)
    pids = {int(p) for p in log.read_text().split()}
    # Two workers per pass (2 epochs, training and validation), none of them this process.
    assert os.getpid() not in pids and len(pids) >= 2
    assert len(log.read_text().split()) == 2 * 30  # every sample read once per epoch
    assert [h["train_loss"] for h in est.net_.history] == [h["train_loss"] for h in ref.net_.history]
    assert [h["valid_loss"] for h in est.net_.history] == [h["valid_loss"] for h in ref.net_.history]
    np.testing.assert_array_equal(est.predict(Xm), ref.predict(X))


def test_dataloader_workers_only_for_lazily_read_samples(tmp_path, data):
    import torch

    from sklearn_amfno._net import data_loader

    X, y = data
    dataset = prepare_fit_data(_memmap(tmp_path / "X.f32", X), y, channel_axis=-1).net_input()
    assert data_loader(dataset, num_workers=2, batch_size=4).num_workers == 2
    subset = torch.utils.data.Subset(dataset, [0, 1])  # skorch's validation split
    assert data_loader(subset, num_workers=2, batch_size=4).num_workers == 2
    in_memory = torch.utils.data.TensorDataset(torch.zeros(4, 1))
    assert data_loader(in_memory, num_workers=2, batch_size=4).num_workers == 0
    with pytest.raises(
        ValueError, match="'num_workers' parameter of FNORegressor must be an int in the range"
    ):
        FNORegressor(num_workers=-1).fit(X[..., 0], y)
