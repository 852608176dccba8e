"""The readers' ``lazy=True`` mode: the eager arrays' contract, read on demand, streamed by fit."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.io
from file_formats import savemat_v73, write_h5

from sklearn_amfno import FNORegressor
from sklearn_amfno._streaming import LazyArray, is_lazy
from sklearn_amfno.datasets import load_fno_mat, load_geofno, load_pdebench

h5py = pytest.importorskip("h5py")
rng = np.random.default_rng(0)


def _assert_same_as_eager(lazy_pair, eager_pair):
    for lazy, eager in zip(lazy_pair, eager_pair, strict=True):
        assert isinstance(lazy, LazyArray) and is_lazy(lazy)
        assert lazy.shape == eager.shape and lazy.dtype == eager.dtype == np.float64
        np.testing.assert_array_equal(np.asarray(lazy), eager)
        # Reads of single samples, runs and scattered samples give the eager rows.
        np.testing.assert_array_equal(lazy[1], eager[1])
        np.testing.assert_array_equal(lazy[1:3], eager[1:3])
        np.testing.assert_array_equal(lazy[[2, 0, 2]], eager[[2, 0, 2]])
        lazy.close()


@pytest.mark.parametrize(
    "options",
    [
        {"n_steps_in": 3, "n_steps_out": 2},
        {
            "input_frames": [2, 0],
            "output_frames": [-1],
            "spatial_stride": 2,
            "time_stride": 2,
            "n_samples": 3,
        },
    ],
)
def test_lazy_pdebench_cfd_equals_the_eager_read(tmp_path, options):
    n, t, x = 4, 12, 16
    fields = {k: rng.random((n, t, x)).astype(np.float32) for k in ("density", "Vx", "pressure")}
    path = write_h5(tmp_path / "1D_CFD.hdf5", **fields)
    _assert_same_as_eager(load_pdebench(path, lazy=True, **options), load_pdebench(path, **options))


def test_lazy_pdebench_darcy_and_burgers_equal_the_eager_read(tmp_path):
    darcy = write_h5(tmp_path / "darcy.h5", nu=rng.random((3, 8, 8)), tensor=rng.random((3, 1, 8, 8)))
    options = {"spatial_stride": 3, "n_samples": 3}
    _assert_same_as_eager(load_pdebench(darcy, lazy=True, **options), load_pdebench(darcy, **options))
    burgers = write_h5(tmp_path / "burgers.h5", tensor=rng.random((3, 6, 16)))
    X, y = load_pdebench(burgers, lazy=True)
    assert X.shape == y.shape == (3, 16)  # one frame each: no channel axis, as eager
    _assert_same_as_eager((X, y), load_pdebench(burgers))
    options = {"n_steps_in": 2, "n_steps_out": 3}
    _assert_same_as_eager(load_pdebench(burgers, lazy=True, **options), load_pdebench(burgers, **options))


@pytest.mark.parametrize("problem", ["darcy", "burgers", "navier_stokes"])
def test_lazy_fno_mat_v73_equals_the_eager_read(tmp_path, problem):
    if problem == "darcy":
        arrays = {"coeff": rng.random((3, 9, 9)), "sol": rng.random((3, 9, 9))}
    elif problem == "burgers":
        arrays = {"a": rng.random((4, 32)), "u": rng.random((4, 32))}
    else:
        arrays = {"u": rng.random((3, 8, 8, 7))}
    path = savemat_v73(tmp_path / "data.mat", **arrays)
    options = {"problem": problem, "spatial_stride": 2, "n_samples": 3, "n_steps_in": 3, "n_steps_out": 4}
    X, y = load_fno_mat(path, lazy=True, **options)
    if problem == "navier_stokes":
        assert X.shape == (3, 4, 4, 3) and y.shape == (3, 4, 4, 4)
        np.testing.assert_array_equal(y[2], arrays["u"][2, ::2, ::2, 3:])
    _assert_same_as_eager((X, y), load_fno_mat(path, **options))


def test_lazy_fno_mat_refuses_a_v5_file_naming_its_format(tmp_path):
    path = tmp_path / "darcy.mat"
    scipy.io.savemat(path, {"coeff": rng.random((2, 5, 5)), "sol": rng.random((2, 5, 5))})
    with pytest.raises(ValueError, match=r"lazy=True needs a MATLAB v7.3 \(HDF5\) file.*MATLAB v5 MAT-file"):
        load_fno_mat(path, problem="darcy", lazy=True)
    X, _ = load_fno_mat(path, problem="darcy")  # the eager read still works
    assert X.shape == (2, 5, 5)


@pytest.mark.parametrize("fields", [None, ["pressure", 0]])
def test_lazy_geofno_equals_the_eager_read_and_stays_memory_mapped(tmp_path, fields):
    n, h, w = 3, 12, 5
    for suffix, shape in (("X", (n, h, w)), ("Y", (n, h, w)), ("Q", (n, 5, h, w))):
        # float32 files: the lazy reads convert to float64 as the eager read does.
        np.save(tmp_path / f"NACA_Cylinder_{suffix}.npy", rng.random(shape).astype(np.float32))
    X, y = load_geofno(tmp_path, "airfoil", fields=fields, lazy=True)
    assert isinstance(X._handle.get()[0], np.memmap)
    _assert_same_as_eager((X, y), load_geofno(tmp_path, "airfoil", fields=fields))


def test_lazy_parameter_is_validated(tmp_path):
    with pytest.raises(ValueError, match="'lazy' parameter of load_pdebench must be an instance of 'bool'"):
        load_pdebench(tmp_path / "x.h5", lazy="yes")
    with pytest.raises(ValueError, match="'lazy' parameter of load_geofno"):
        load_geofno(tmp_path, lazy=1.5)


def test_lazy_arrays_pickle_and_reopen_their_file(tmp_path):
    path = write_h5(tmp_path / "darcy.h5", nu=rng.random((3, 8, 8)), tensor=rng.random((3, 1, 8, 8)))
    X, _ = load_pdebench(path, lazy=True)
    first = X[0]
    copy = pickle.loads(pickle.dumps(X))
    np.testing.assert_array_equal(copy[0], first)
    X.close()
    np.testing.assert_array_equal(X[0], first)  # reopened after close


def test_lazy_arrays_pickled_before_the_move_to_lazy_array_still_load(tmp_path):
    # LazyArray and its file handles were defined in sklearn_amfno._streaming; pickles written
    # then name that module, which still gives them.
    path = write_h5(tmp_path / "darcy.h5", nu=rng.random((3, 8, 8)), tensor=rng.random((3, 1, 8, 8)))
    X, _ = load_pdebench(path, lazy=True)
    for suffix, shape in (("X", (3, 12, 5)), ("Y", (3, 12, 5)), ("Q", (3, 5, 12, 5))):
        np.save(tmp_path / f"NACA_Cylinder_{suffix}.npy", rng.random(shape))
    Xm, _ = load_geofno(tmp_path, "airfoil", lazy=True)
    for lazy in (X, Xm):
        payload = pickle.dumps(lazy, protocol=0)  # names classes as "c<module>\n<name>\n"
        assert b"csklearn_amfno._lazy_array\n" in payload
        old = payload.replace(b"csklearn_amfno._lazy_array\n", b"csklearn_amfno._streaming\n")
        assert b"sklearn_amfno._lazy_array" not in old and b"csklearn_amfno._streaming\nLazyArray\n" in old
        copy = pickle.loads(old)
        assert isinstance(copy, LazyArray)
        np.testing.assert_array_equal(np.asarray(copy), np.asarray(lazy))
        copy.close()
        lazy.close()


@pytest.mark.slow
def test_fit_on_lazy_reader_output_equals_the_eager_fit_bit_for_bit(tmp_path):
    n, t, x = 12, 6, 16
    fields = {k: rng.random((n, t, x)) for k in ("density", "Vx", "pressure")}
    path = write_h5(tmp_path / "1D_CFD.hdf5", **fields)
    options = {"n_steps_in": 2, "n_steps_out": 1}
    params = {"n_modes": 4, "width": 4, "n_layers": 1, "max_epochs": 2, "batch_size": 5}
    params |= {"channel_axis": -1, "validation_fraction": 0.25, "random_state": 0}
    X, y = load_pdebench(path, **options)
    eager = FNORegressor(**params).fit(X, y)
    X_lazy, y_lazy = load_pdebench(path, lazy=True, **options)
    streamed = FNORegressor(**params).fit(X_lazy, y_lazy)
    assert streamed.net_.history[:, "train_loss"] == eager.net_.history[:, "train_loss"]
    assert streamed.net_.history[:, "valid_loss"] == eager.net_.history[:, "valid_loss"]
    np.testing.assert_array_equal(streamed.predict(X_lazy), eager.predict(X))
