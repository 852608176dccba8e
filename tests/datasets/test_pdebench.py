import numpy as np
import pytest
from file_formats import write_h5

from sklearn_amfno.datasets import load_pdebench

h5py = pytest.importorskip("h5py")
rng = np.random.default_rng(0)


def test_pdebench_cfd_1d(tmp_path):
    n, t, x = 4, 12, 16
    rho, vx, p = (rng.random((n, t, x)).astype(np.float32) for _ in range(3))
    path = write_h5(
        tmp_path / "1D_CFD.hdf5",
        density=rho,
        Vx=vx,
        pressure=p,
        **{"t-coordinate": np.linspace(0, 1, t + 1), "x-coordinate": np.linspace(0, 1, x)},
    )
    X, y = load_pdebench(path, n_steps_in=3, n_steps_out=2)
    assert X.shape == (n, x, 9) and y.shape == (n, x, 6) and X.dtype == np.float64
    np.testing.assert_allclose(X[..., 0], rho[:, 0])  # frame 0: rho, v, p
    np.testing.assert_allclose(X[..., 1], vx[:, 0])
    np.testing.assert_allclose(X[..., 5], p[:, 1])  # frame 1 pressure
    np.testing.assert_allclose(y[..., 0], rho[:, 3])  # outputs follow the inputs
    np.testing.assert_allclose(y[..., 5], p[:, 4])
    # Defaults: 10 input frames, the next one as output.
    X, y = load_pdebench(path, kind="cfd")
    assert X.shape == (n, x, 30) and y.shape == (n, x, 3)
    np.testing.assert_allclose(y[..., 2], p[:, 10])
    # Strides, explicit (unsorted) frames, n_samples.
    X, y = load_pdebench(
        path,
        input_frames=[2, 0],
        output_frames=[-1],
        spatial_stride=2,
        time_stride=2,
        n_samples=3,
    )
    assert X.shape == (3, 8, 6) and y.shape == (3, 8, 3)
    np.testing.assert_allclose(X[..., 0], rho[:3, 4, ::2])
    np.testing.assert_allclose(X[..., 3], rho[:3, 0, ::2])
    np.testing.assert_allclose(y[..., 1], vx[:3, 10, ::2])


def test_pdebench_cfd_2d(tmp_path):
    n, t, h, w = 2, 5, 8, 6
    fields = {k: rng.random((n, t, h, w)) for k in ("density", "Vx", "Vy", "pressure")}
    path = write_h5(tmp_path / "2D_CFD.h5", **fields)
    X, y = load_pdebench(path, n_steps_in=2, n_steps_out=1)
    assert X.shape == (n, h, w, 8) and y.shape == (n, h, w, 4)
    np.testing.assert_allclose(X[..., 6], fields["Vy"][:, 1])
    np.testing.assert_allclose(y[..., 3], fields["pressure"][:, 2])


def test_pdebench_darcy(tmp_path):
    nu = rng.random((3, 8, 8))
    sol = rng.random((3, 1, 8, 8))
    path = write_h5(tmp_path / "2D_DarcyFlow_beta1.0_Train.hdf5", nu=nu, tensor=sol)
    X, y = load_pdebench(path)
    np.testing.assert_allclose(X, nu)
    np.testing.assert_allclose(y, sol[:, 0])
    X, y = load_pdebench(path, spatial_stride=2, n_samples=2)
    assert X.shape == y.shape == (2, 4, 4)


def test_pdebench_burgers(tmp_path):
    u = rng.random((3, 6, 16))
    path = write_h5(tmp_path / "1D_Burgers_Sols_Nu0.01.hdf5", tensor=u)
    X, y = load_pdebench(path)
    np.testing.assert_allclose(X, u[:, 0])
    np.testing.assert_allclose(y, u[:, -1])
    X, y = load_pdebench(path, kind="burgers", n_steps_in=2, n_steps_out=3)
    assert X.shape == (3, 16, 2) and y.shape == (3, 16, 3)
    np.testing.assert_allclose(y[..., 0], u[:, 2])


def test_pdebench_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="PDEBench file not found"):
        load_pdebench(tmp_path / "missing.h5")
    bad = write_h5(tmp_path / "bad.h5", foo=np.zeros(3))
    with pytest.raises(KeyError, match="expected 'density'"):
        load_pdebench(bad)
    cfd = write_h5(tmp_path / "cfd.h5", density=np.ones((2, 3, 4)), Vx=np.ones((2, 3, 4)))
    with pytest.raises(KeyError, match="'pressure'"):
        load_pdebench(cfd, n_steps_in=1)
    mism = write_h5(
        tmp_path / "m.h5",
        density=np.ones((2, 3, 4)),
        Vx=np.ones((2, 3, 5)),
        pressure=np.ones((2, 3, 4)),
    )
    with pytest.raises(ValueError, match=r"all of shape \(N, T, \*grid\)"):
        load_pdebench(mism, n_steps_in=1)
    darcy = write_h5(tmp_path / "d.h5", nu=np.ones((2, 4, 4)), tensor=np.ones((2, 4, 4)))
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        load_pdebench(darcy)
    burg = write_h5(tmp_path / "b.h5", tensor=np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match=r"n_steps_in=5 needs frames 0\.\.4, but the file has 3 frames"):
        load_pdebench(burg, n_steps_in=5)
    with pytest.raises(ValueError, match=r"n_steps_out=3 needs frames 1\.\.3, but the file has 3 frames"):
        load_pdebench(burg, n_steps_out=3)
    with pytest.raises(ValueError, match="input_frames must lie within the 3 available frames"):
        load_pdebench(burg, input_frames=[0, 3])
    with pytest.raises(ValueError, match="output_frames must select at least one frame"):
        load_pdebench(burg, output_frames=[])
    with pytest.raises(ValueError, match="pass n_steps_in .* or input_frames .*, not both"):
        load_pdebench(burg, n_steps_in=1, input_frames=[0])
    with pytest.raises(ValueError, match=r"'n_steps_out' parameter of load_pdebench must be None or an int"):
        load_pdebench(burg, n_steps_out=0)
    with pytest.raises(
        ValueError, match=r"'input_frames' parameter of load_pdebench must be None or an array-like"
    ):
        load_pdebench(burg, input_frames="0")
    with pytest.raises(ValueError, match=r"'kind' parameter of load_pdebench must be a str among"):
        load_pdebench(burg, kind="swe")
    with pytest.raises(
        ValueError,
        match=r"'spatial_stride' parameter of load_pdebench must be an int in the range \[1, inf\)\. Got 0",
    ):
        load_pdebench(burg, spatial_stride=0)


@pytest.mark.parametrize("old,new", [("input_frames", "n_steps_in"), ("output_frames", "n_steps_out")])
def test_int_frames_moved_to_n_steps(tmp_path, old, new):
    path = write_h5(tmp_path / "b.h5", tensor=rng.random((2, 6, 8)))
    with pytest.warns(FutureWarning, match=f"a number of frames is passed as '{new}'.*'{old}' will stop"):
        X_old, y_old = load_pdebench(path, **{old: 2})
    X_new, y_new = load_pdebench(path, **{new: 2})
    np.testing.assert_array_equal(X_old, X_new)
    np.testing.assert_array_equal(y_old, y_new)
    with pytest.raises(TypeError, match=f"got both '{old}' .* and '{new}'"):
        load_pdebench(path, **{old: 2, new: 2})
