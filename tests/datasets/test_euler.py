import numpy as np
import pytest

from sklearn_amfno.datasets import exact_riemann_euler, make_cfd_1d, solve_euler_1d

SOD_LEFT = (1.0, 0.0, 1.0)
SOD_RIGHT = (0.125, 0.0, 0.1)


def _totals(rho, v, p, gamma):
    return np.array([rho.sum(-1), (rho * v).sum(-1), (p / (gamma - 1) + 0.5 * rho * v**2).sum(-1)])


@pytest.mark.parametrize("riemann", ["hllc", "hll"])
@pytest.mark.parametrize("viscosity", [0.0, 1e-3])
def test_periodic_conservation(riemann, viscosity):
    X, _ = make_cfd_1d(3, 64, n_steps_in=1, n_steps_out=1, random_state=0)
    rho, v, p = X[..., 0], X[..., 1], X[..., 2]
    gamma = 5 / 3
    r1, v1, p1 = solve_euler_1d(rho, v, p, 0.3, gamma=gamma, riemann=riemann, viscosity=viscosity)
    before, after = _totals(rho, v, p, gamma), _totals(r1, v1, p1, gamma)
    np.testing.assert_allclose(after, before, rtol=1e-13, atol=1e-12)
    assert np.abs(r1 - rho).max() > 1e-2  # the state did change


def test_exact_riemann_sod_reference_values():
    # Star-region values of Sod's problem (Toro, Table 4.3): p* = 0.30313, u* = 0.92745.
    rho, v, p = exact_riemann_euler(SOD_LEFT, SOD_RIGHT, np.array([0.0, 0.55, 0.75, 1.0]), 0.2)
    np.testing.assert_allclose(p[1:3], 0.30313, atol=1e-5)
    np.testing.assert_allclose(v[1:3], 0.92745, atol=1e-5)
    np.testing.assert_allclose(rho[1], 0.42632, atol=1e-5)  # left of the contact
    np.testing.assert_allclose(rho[2], 0.26557, atol=1e-5)  # right of the contact
    np.testing.assert_allclose([rho[0], p[0], rho[3], p[3]], [1.0, 1.0, 0.125, 0.1])


@pytest.mark.parametrize("limiter", ["mc", "minmod"])
def test_sod_converges_to_exact_solution(limiter):
    errors = []
    for n in (100, 200, 400):
        x = (np.arange(n) + 0.5) / n
        rho0 = np.where(x < 0.5, SOD_LEFT[0], SOD_RIGHT[0])
        p0 = np.where(x < 0.5, SOD_LEFT[2], SOD_RIGHT[2])
        rho, v, p = solve_euler_1d(rho0, np.zeros(n), p0, 0.2, gamma=1.4, boundary="outflow", limiter=limiter)
        re, ve, pe = exact_riemann_euler(SOD_LEFT, SOD_RIGHT, x, 0.2, gamma=1.4)
        errors.append(np.mean(np.abs(rho - re)))
        assert np.mean(np.abs(v - ve)) < 0.02 and np.mean(np.abs(p - pe)) < 0.01
    errors = np.array(errors)
    assert errors[-1] < 0.003
    assert np.all(errors[1:] < 0.75 * errors[:-1]), errors  # L1 error shrinks with h


def test_solver_record_times_and_shapes():
    x = np.arange(32) / 32
    rho = 1 + 0.2 * np.sin(2 * np.pi * x)
    r, v, p = solve_euler_1d(rho, 0 * x + 0.5, 0 * x + 1.0, 0.2, record_times=[0.0, 0.1, 0.2])
    assert r.shape == v.shape == p.shape == (32, 3)
    np.testing.assert_allclose(r[:, 0], rho)
    # Uniform velocity and pressure: the density is advected without changing v or p.
    np.testing.assert_allclose(v, 0.5, atol=1e-12)
    np.testing.assert_allclose(p, 1.0, atol=1e-12)


def test_solver_invalid():
    ones = np.ones(16)
    with pytest.raises(ValueError, match="must be > 0"):
        solve_euler_1d(-ones, ones, ones, 0.1)
    with pytest.raises(ValueError, match="same shape"):
        solve_euler_1d(ones, ones[:8], ones, 0.1)
    with pytest.raises(ValueError, match="gamma must be > 1, got 1.0"):
        solve_euler_1d(ones, ones, ones, 0.1, gamma=1.0)
    with pytest.raises(ValueError, match="boundary must be one of"):
        solve_euler_1d(ones, ones, ones, 0.1, boundary="reflect")
    with pytest.raises(ValueError, match="record_times must be increasing"):
        solve_euler_1d(ones, ones, ones, 0.1, record_times=[0.2])
    with pytest.raises(ValueError, match="vacuum"):
        exact_riemann_euler((1.0, -20.0, 1.0), (1.0, 20.0, 1.0), np.zeros(1), 0.1)


def test_make_cfd_1d_shapes_channels_determinism():
    X, y = make_cfd_1d(4, 64, n_steps_in=3, n_steps_out=2, frame_dt=0.02, random_state=1)
    assert X.shape == (4, 64, 9) and y.shape == (4, 64, 6)
    assert X.dtype == y.dtype == np.float64
    assert X[..., 0::3].min() > 0 and X[..., 2::3].min() > 0  # rho and p positive
    # Frame-major channels: continuing from frame 2 (channels 6:9) for one frame gives y[:3].
    r, v, p = solve_euler_1d(X[..., 6], X[..., 7], X[..., 8], 0.02, gamma=5 / 3)
    np.testing.assert_allclose(np.stack([r, v, p], -1), y[..., :3], atol=1e-10)
    X2, y2 = make_cfd_1d(4, 64, n_steps_in=3, n_steps_out=2, frame_dt=0.02, random_state=1)
    np.testing.assert_array_equal(y, y2)
    X3, _ = make_cfd_1d(4, 64, n_steps_in=3, n_steps_out=2, frame_dt=0.02, random_state=2)
    assert not np.allclose(X, X3)
    # Initial states do not depend on the grid (exact point values of the same waves).
    X128, _ = make_cfd_1d(4, 128, n_steps_in=1, n_steps_out=1, frame_dt=0.02, random_state=1)
    np.testing.assert_allclose(X128[:, ::2, :3], X[..., :3], atol=1e-13)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"gamma": 0.9}, "gamma must be > 1, got 0.9"),
        ({"amplitude": 1.0}, r"amplitude must be in \[0, 1\), got 1.0"),
        ({"frame_dt": 0}, "frame_dt must be > 0"),
        ({"viscosity": -1.0}, "viscosity must be >= 0"),
        ({"n_steps_out": 0}, "n_steps_out must be >= 1"),
    ],
)
def test_make_cfd_1d_invalid(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_cfd_1d(1, 16, **kwargs)


def test_make_cfd_1d_memory(tmp_path):
    kw = {"n_steps_in": 1, "n_steps_out": 1, "frame_dt": 0.01, "random_state": 0}
    a = make_cfd_1d(2, 32, memory=str(tmp_path), **kw)
    assert any(tmp_path.rglob("output.pkl"))
    b = make_cfd_1d(2, 32, memory=str(tmp_path), verbose=True, **kw)
    np.testing.assert_array_equal(a[1], b[1])
