import sys

import numpy as np
import pytest
import scipy.io

from sklearn_amfno.datasets import load_fno_mat, load_geofno, load_pdebench

h5py = pytest.importorskip("h5py")
rng = np.random.default_rng(0)


def _write_h5(path, **arrays):
    with h5py.File(path, "w") as f:
        for k, v in arrays.items():
            f.create_dataset(k, data=v)
    return path


# ------------------------------------------------------------------------------ PDEBench
def test_pdebench_cfd_1d(tmp_path):
    n, t, x = 4, 12, 16
    rho, vx, p = (rng.random((n, t, x)).astype(np.float32) for _ in range(3))
    path = _write_h5(
        tmp_path / "1D_CFD.hdf5",
        density=rho,
        Vx=vx,
        pressure=p,
        **{"t-coordinate": np.linspace(0, 1, t + 1), "x-coordinate": np.linspace(0, 1, x)},
    )
    X, y = load_pdebench(path, input_frames=3, output_frames=2)
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
    path = _write_h5(tmp_path / "2D_CFD.h5", **fields)
    X, y = load_pdebench(path, input_frames=2, output_frames=1)
    assert X.shape == (n, h, w, 8) and y.shape == (n, h, w, 4)
    np.testing.assert_allclose(X[..., 6], fields["Vy"][:, 1])
    np.testing.assert_allclose(y[..., 3], fields["pressure"][:, 2])


def test_pdebench_darcy(tmp_path):
    nu = rng.random((3, 8, 8))
    sol = rng.random((3, 1, 8, 8))
    path = _write_h5(tmp_path / "2D_DarcyFlow_beta1.0_Train.hdf5", nu=nu, tensor=sol)
    X, y = load_pdebench(path)
    np.testing.assert_allclose(X, nu)
    np.testing.assert_allclose(y, sol[:, 0])
    X, y = load_pdebench(path, spatial_stride=2, n_samples=2)
    assert X.shape == y.shape == (2, 4, 4)


def test_pdebench_burgers(tmp_path):
    u = rng.random((3, 6, 16))
    path = _write_h5(tmp_path / "1D_Burgers_Sols_Nu0.01.hdf5", tensor=u)
    X, y = load_pdebench(path)
    np.testing.assert_allclose(X, u[:, 0])
    np.testing.assert_allclose(y, u[:, -1])
    X, y = load_pdebench(path, kind="burgers", input_frames=2, output_frames=3)
    assert X.shape == (3, 16, 2) and y.shape == (3, 16, 3)
    np.testing.assert_allclose(y[..., 0], u[:, 2])


def test_pdebench_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="PDEBench file not found"):
        load_pdebench(tmp_path / "missing.h5")
    bad = _write_h5(tmp_path / "bad.h5", foo=np.zeros(3))
    with pytest.raises(KeyError, match="expected 'density'"):
        load_pdebench(bad)
    cfd = _write_h5(tmp_path / "cfd.h5", density=np.ones((2, 3, 4)), Vx=np.ones((2, 3, 4)))
    with pytest.raises(KeyError, match="'pressure'"):
        load_pdebench(cfd, input_frames=1)
    mism = _write_h5(
        tmp_path / "m.h5",
        density=np.ones((2, 3, 4)),
        Vx=np.ones((2, 3, 5)),
        pressure=np.ones((2, 3, 4)),
    )
    with pytest.raises(ValueError, match=r"all of shape \(N, T, \*grid\)"):
        load_pdebench(mism, input_frames=1)
    darcy = _write_h5(tmp_path / "d.h5", nu=np.ones((2, 4, 4)), tensor=np.ones((2, 4, 4)))
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        load_pdebench(darcy)
    burg = _write_h5(tmp_path / "b.h5", tensor=np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="input_frames must lie within the 3"):
        load_pdebench(burg, input_frames=5)
    with pytest.raises(ValueError, match="kind must be one of"):
        load_pdebench(burg, kind="swe")
    with pytest.raises(ValueError, match="spatial_stride must be >= 1"):
        load_pdebench(burg, spatial_stride=0)


# ------------------------------------------------------------------------------ FNO .mat
def _savemat_v73(path, **arrays):
    """Write a MATLAB v7.3-style file: HDF5 with a 512-byte user block and reversed axes."""
    with h5py.File(path, "w", userblock_size=512) as f:
        for k, v in arrays.items():
            f.create_dataset(k, data=np.asarray(v).T)
    with open(path, "r+b") as fh:
        # 116 bytes of text, 8 bytes of subsystem offset, version 0x0200 and endian mark "IM".
        text = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: test HDF5 schema 1.00 ."
        fh.write(text.ljust(116) + b"\x00" * 8 + b"\x00\x02IM")
    return path


@pytest.mark.parametrize("version", ["v5", "v7.3"])
def test_fno_darcy_and_burgers(tmp_path, version):
    coeff, sol = rng.random((3, 9, 9)), rng.random((3, 9, 9))
    a, u = rng.random((4, 32)), rng.random((4, 32))
    if version == "v5":
        scipy.io.savemat(tmp_path / "darcy.mat", {"coeff": coeff, "sol": sol})
        scipy.io.savemat(tmp_path / "burgers.mat", {"a": a, "u": u})
    else:
        _savemat_v73(tmp_path / "darcy.mat", coeff=coeff, sol=sol)
        _savemat_v73(tmp_path / "burgers.mat", a=a, u=u)
        with pytest.raises(NotImplementedError):  # why the HDF5 path is needed
            scipy.io.loadmat(tmp_path / "darcy.mat")
    X, y = load_fno_mat(tmp_path / "darcy.mat", problem="darcy")
    np.testing.assert_allclose(X, coeff)
    np.testing.assert_allclose(y, sol)
    X, y = load_fno_mat(tmp_path / "darcy.mat", problem="darcy", spatial_stride=4, n_samples=2)
    np.testing.assert_allclose(X, coeff[:2, ::4, ::4])
    X, y = load_fno_mat(tmp_path / "burgers.mat", problem="burgers", spatial_stride=2)
    np.testing.assert_allclose(X, a[:, ::2])
    np.testing.assert_allclose(y, u[:, ::2])


@pytest.mark.parametrize("version", ["v5", "v7.3"])
def test_fno_navier_stokes(tmp_path, version):
    u = rng.random((2, 8, 8, 7))
    path = tmp_path / "ns.mat"
    if version == "v5":
        scipy.io.savemat(path, {"a": u[..., 0], "u": u, "t": np.arange(7.0)})
    else:
        _savemat_v73(path, a=u[..., 0], u=u, t=np.arange(7.0))
    X, y = load_fno_mat(path, problem="navier_stokes", input_steps=3, output_steps=4)
    np.testing.assert_allclose(X, u[..., :3])
    np.testing.assert_allclose(y, u[..., 3:])
    X, y = load_fno_mat(
        path,
        problem="navier_stokes",
        input_steps=2,
        output_steps=1,
        spatial_stride=2,
        n_samples=1,
    )
    np.testing.assert_allclose(X, u[:1, ::2, ::2, :2])
    np.testing.assert_allclose(y, u[:1, ::2, ::2, 2:3])
    with pytest.raises(ValueError, match="input_steps \\+ output_steps must be <= T=7"):
        load_fno_mat(path, problem="navier_stokes")


def test_fno_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="FNO .mat file not found"):
        load_fno_mat(tmp_path / "nope.mat", problem="darcy")
    scipy.io.savemat(tmp_path / "x.mat", {"coeff": np.ones((2, 4, 4))})
    with pytest.raises(KeyError, match="'sol'"):
        load_fno_mat(tmp_path / "x.mat", problem="darcy")
    scipy.io.savemat(tmp_path / "y.mat", {"coeff": np.ones((2, 4, 4)), "sol": np.ones((2, 4, 5))})
    with pytest.raises(ValueError, match="same shape"):
        load_fno_mat(tmp_path / "y.mat", problem="darcy")
    _savemat_v73(tmp_path / "z.mat", u=np.ones((2, 4, 4)))
    with pytest.raises(ValueError, match=r"\(N, H, W, T\)"):
        load_fno_mat(tmp_path / "z.mat", problem="navier_stokes")
    with pytest.raises(ValueError, match="problem must be one of"):
        load_fno_mat(tmp_path / "x.mat", problem="heat")


# ------------------------------------------------------------------------------ Geo-FNO
def _write_geofno(folder, prefix, n, h, w, n_fields):
    xs, ys = rng.random((n, h, w)), rng.random((n, h, w))
    q = rng.random((n, n_fields, h, w))
    np.save(folder / f"{prefix}_X.npy", xs)
    np.save(folder / f"{prefix}_Y.npy", ys)
    np.save(folder / f"{prefix}_Q.npy", q)
    return xs, ys, q


def test_geofno_airfoil(tmp_path):
    xs, ys, q = _write_geofno(tmp_path, "NACA_Cylinder", 2, 221, 51, 5)
    X, y = load_geofno(tmp_path, "airfoil")
    assert X.shape == (2, 221, 51, 2) and y.shape == (2, 221, 51)
    np.testing.assert_allclose(X[..., 0], xs)
    np.testing.assert_allclose(X[..., 1], ys)
    np.testing.assert_allclose(y, q[:, 4])  # Mach number
    X, y = load_geofno(tmp_path, "airfoil", fields=["pressure", 0], n_samples=1)
    assert y.shape == (1, 221, 51, 2)
    np.testing.assert_allclose(y[..., 0], q[:1, 3])
    np.testing.assert_allclose(y[..., 1], q[:1, 0])


def test_geofno_pipe(tmp_path):
    xs, ys, q = _write_geofno(tmp_path, "Pipe", 2, 129, 129, 3)
    X, y = load_geofno(tmp_path, case="pipe")
    assert X.shape == (2, 129, 129, 2)
    np.testing.assert_allclose(y, q[:, 0])  # horizontal velocity


def test_geofno_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="folder not found"):
        load_geofno(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="NACA_Cylinder_X.npy"):
        load_geofno(tmp_path, "airfoil")
    _write_geofno(tmp_path, "NACA_Cylinder", 2, 6, 5, 4)  # only 4 fields: no Mach number
    with pytest.raises(ValueError, match="has 4 fields"):
        load_geofno(tmp_path, "airfoil")
    with pytest.raises(ValueError, match="must be among"):
        load_geofno(tmp_path, "airfoil", fields="vorticity")
    np.save(tmp_path / "NACA_Cylinder_Y.npy", np.ones((2, 6, 4)))
    with pytest.raises(ValueError, match=r"\(N, n_fields, H, W\)"):
        load_geofno(tmp_path, "airfoil", fields=0)
    with pytest.raises(ValueError, match="case must be one of"):
        load_geofno(tmp_path, "cylinder")


def test_h5py_missing_gives_install_advice(tmp_path, monkeypatch):
    path = _write_h5(tmp_path / "b.h5", tensor=np.ones((2, 3, 4)))
    monkeypatch.setitem(sys.modules, "h5py", None)  # "import h5py" now raises ImportError
    with pytest.raises(ImportError, match="pip install h5py"):
        load_pdebench(path)
    # MATLAB v5 files do not need h5py.
    scipy.io.savemat(tmp_path / "d.mat", {"coeff": np.ones((2, 4, 4)), "sol": np.ones((2, 4, 4))})
    X, _ = load_fno_mat(tmp_path / "d.mat", problem="darcy")
    assert X.shape == (2, 4, 4)
