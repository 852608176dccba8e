import numpy as np
import pytest
import scipy.io
from file_formats import savemat_v73

from sklearn_amfno.datasets import load_fno_mat

h5py = pytest.importorskip("h5py")
rng = np.random.default_rng(0)


@pytest.mark.parametrize("version", ["v5", "v7.3"])
def test_fno_darcy_and_burgers(tmp_path, version):
    coeff, sol = rng.random((3, 9, 9)), rng.random((3, 9, 9))
    a, u = rng.random((4, 32)), rng.random((4, 32))
    if version == "v5":
        scipy.io.savemat(tmp_path / "darcy.mat", {"coeff": coeff, "sol": sol})
        scipy.io.savemat(tmp_path / "burgers.mat", {"a": a, "u": u})
    else:
        savemat_v73(tmp_path / "darcy.mat", coeff=coeff, sol=sol)
        savemat_v73(tmp_path / "burgers.mat", a=a, u=u)
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
        savemat_v73(path, a=u[..., 0], u=u, t=np.arange(7.0))
    X, y = load_fno_mat(path, problem="navier_stokes", n_steps_in=3, n_steps_out=4)
    np.testing.assert_allclose(X, u[..., :3])
    np.testing.assert_allclose(y, u[..., 3:])
    X, y = load_fno_mat(
        path,
        problem="navier_stokes",
        n_steps_in=2,
        n_steps_out=1,
        spatial_stride=2,
        n_samples=1,
    )
    np.testing.assert_allclose(X, u[:1, ::2, ::2, :2])
    np.testing.assert_allclose(y, u[:1, ::2, ::2, 2:3])
    with pytest.raises(ValueError, match="n_steps_in \\+ n_steps_out must be <= T=7"):
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
    savemat_v73(tmp_path / "z.mat", u=np.ones((2, 4, 4)))
    with pytest.raises(ValueError, match=r"\(N, H, W, T\)"):
        load_fno_mat(tmp_path / "z.mat", problem="navier_stokes")
    with pytest.raises(ValueError, match=r"'problem' parameter of load_fno_mat must be a str among"):
        load_fno_mat(tmp_path / "x.mat", problem="heat")


@pytest.mark.parametrize("old,new", [("input_steps", "n_steps_in"), ("output_steps", "n_steps_out")])
def test_steps_renamed_n_steps(tmp_path, old, new):
    scipy.io.savemat(tmp_path / "ns.mat", {"u": rng.random((2, 4, 4, 7))})
    other = {"n_steps_in": 4, "n_steps_out": 3}
    other.pop(new)
    with pytest.warns(FutureWarning, match=f"'{old}' was renamed '{new}' in 0.2.0"):
        X_old, y_old = load_fno_mat(tmp_path / "ns.mat", problem="navier_stokes", **other, **{old: 2})
    X_new, y_new = load_fno_mat(tmp_path / "ns.mat", problem="navier_stokes", **other, **{new: 2})
    np.testing.assert_array_equal(X_old, X_new)
    np.testing.assert_array_equal(y_old, y_new)
