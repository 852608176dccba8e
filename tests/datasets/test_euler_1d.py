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
    with pytest.raises(ValueError, match=r"rho and p must be > 0, got min\(rho\)=-1\.0"):
        solve_euler_1d(-ones, ones, ones, 0.1)
    with pytest.raises(ValueError, match="same shape"):
        solve_euler_1d(ones, ones[:8], ones, 0.1)
    with pytest.raises(
        ValueError,
        match=r"'gamma' parameter of solve_euler_1d must be a finite float in the range "
        r"\(1\.0, inf\)\. Got 1\.0",
    ):
        solve_euler_1d(ones, ones, ones, 0.1, gamma=1.0)
    with pytest.raises(ValueError, match=r"'boundary' parameter of solve_euler_1d must be a str among"):
        solve_euler_1d(ones, ones, ones, 0.1, boundary="reflect")
    with pytest.raises(ValueError, match="record_times must be increasing"):
        solve_euler_1d(ones, ones, ones, 0.1, record_times=[0.2])


def test_t_final_renamed_time():
    x = np.arange(16) / 16
    rho = 1 + 0.2 * np.sin(2 * np.pi * x)
    with pytest.warns(FutureWarning, match="'t_final' was renamed 'time' in 0.2.0"):
        old = solve_euler_1d(rho, 0 * x, 0 * x + 1.0, t_final=0.05)
    new = solve_euler_1d(rho, 0 * x, 0 * x + 1.0, time=0.05)
    np.testing.assert_array_equal(old, new)
