import numpy as np
import pytest

from sklearn_amfno.datasets import load_geofno

rng = np.random.default_rng(0)


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
    with pytest.raises(ValueError, match=r"'case' parameter of load_geofno must be a str among"):
        load_geofno(tmp_path, "cylinder")
