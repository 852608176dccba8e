import numpy as np
import pytest

from sklearn_amfno.datasets import (
    LargeGenerationWarning,
    _budget,
    _euler_2d,
    make_cfd_1d,
    make_cfd_2d,
    solve_euler_1d,
    solve_euler_2d,
)

GAMMA = 5 / 3


def _totals(rho, vx, vy, p, gamma=GAMMA):
    """Mass, x- and y-momentum and energy of each sample, and the scale to compare them on."""
    dens = [rho, rho * vx, rho * vy, p / (gamma - 1) + 0.5 * rho * (vx * vx + vy * vy)]
    totals = np.array([q.sum(axis=(-2, -1)) for q in dens])
    # The sum of |q| sets the round-off of a total (the y-momentum total is close to zero).
    scale = np.array([np.abs(q).sum(axis=(-2, -1)) for q in dens])
    return totals, scale


@pytest.fixture(scope="module")
def random_states():
    X, _ = make_cfd_2d(3, 32, n_steps_in=1, n_steps_out=1, record_interval=1e-3, random_state=0)
    return tuple(X[..., k] for k in range(4))


@pytest.mark.parametrize("riemann", ["hllc", "hll"])
@pytest.mark.parametrize("viscosity", [0.0, 1e-3])
def test_periodic_conservation(random_states, riemann, viscosity):
    rho, vx, vy, p = random_states
    out = solve_euler_2d(rho, vx, vy, p, 0.2, riemann=riemann, viscosity=viscosity)
    (before, scale), (after, _) = _totals(rho, vx, vy, p), _totals(*out)
    # Measured: at most 2e-15 of the scale.
    assert np.all(np.abs(after - before) <= 1e-12 * scale), np.abs(after - before) / scale
    assert np.abs(out[0] - rho).max() > 1e-2  # the state did change


@pytest.mark.parametrize("limiter", ["mc", "minmod"])
@pytest.mark.parametrize("riemann", ["hllc", "hll"])
@pytest.mark.parametrize("viscosity", [0.0, 1e-3])
def test_constant_along_one_axis_is_the_1d_solver(limiter, riemann, viscosity):
    # A field constant in y with vy = 0 evolves as solve_euler_1d evolves it along x, and its
    # transpose (constant in x, vx = 0) as solve_euler_1d along y: the same scheme, the same
    # operations. Measured: identical to the last bit.
    X, _ = make_cfd_1d(2, 48, n_steps_in=1, n_steps_out=1, record_interval=1e-3, random_state=0)
    kw = {"limiter": limiter, "riemann": riemann, "viscosity": viscosity}
    for rho, v, p in zip(X[..., 0], X[..., 1], X[..., 2]):
        r1, v1, p1 = solve_euler_1d(rho, v, p, 0.15, cfl=0.25, **kw)
        assert np.abs(r1 - rho).max() > 1e-2

        def wide(a):
            return np.repeat(a[:, None], 6, axis=1)  # (48, 6): x along axis 0

        zero = np.zeros((48, 6))
        r, vx, vy, q = solve_euler_2d(wide(rho), wide(v), zero, wide(p), 0.15, **kw)
        np.testing.assert_allclose(r, wide(r1), rtol=0, atol=1e-13)
        np.testing.assert_allclose(vx, wide(v1), rtol=0, atol=1e-13)
        np.testing.assert_allclose(q, wide(p1), rtol=0, atol=1e-13)
        np.testing.assert_array_equal(vy, 0.0)
        # The y direction: the transposed problem, on cells of width 1 / 48.
        r, vx, vy, q = solve_euler_2d(wide(rho).T, zero.T, wide(v).T, wide(p).T, 0.15, dx=1 / 48, **kw)
        np.testing.assert_allclose(r, wide(r1).T, rtol=0, atol=1e-13)
        np.testing.assert_allclose(vy, wide(v1).T, rtol=0, atol=1e-13)
        np.testing.assert_allclose(q, wide(p1).T, rtol=0, atol=1e-13)
        np.testing.assert_array_equal(vx, 0.0)


def _quadrants(x, y, values):
    """Piecewise-constant field on the quadrants (x >= 1/2, y >= 1/2) = 1, then 2, 3, 4 anticlockwise."""
    right, top = x >= 0.5, y >= 0.5
    return np.select([right & top, ~right & top, ~right & ~top, right & ~top], values)


def test_xy_symmetry_is_kept():
    # Lax and Liu's 2-D Riemann problem, configuration 3 (four shocks), is symmetric under the
    # swap x <-> y with vx <-> vy; so must the solution be. Measured: exactly symmetric.
    n = 64
    c = (np.arange(n) + 0.5) / n
    x, y = np.meshgrid(c, c, indexing="ij")
    rho = _quadrants(x, y, [1.5, 0.5323, 0.138, 0.5323])
    vx = _quadrants(x, y, [0.0, 1.206, 1.206, 0.0])
    vy = _quadrants(x, y, [0.0, 0.0, 1.206, 1.206])
    p = _quadrants(x, y, [1.5, 0.3, 0.029, 0.3])
    assert np.array_equal(rho, rho.T) and np.array_equal(vx, vy.T) and np.array_equal(p, p.T)
    r, u, v, q = solve_euler_2d(rho, vx, vy, p, 0.25, gamma=1.4, boundary="outflow")
    assert np.abs(r - rho).max() > 0.1
    np.testing.assert_allclose(r, r.T, rtol=0, atol=1e-13)
    np.testing.assert_allclose(u, v.T, rtol=0, atol=1e-13)
    np.testing.assert_allclose(q, q.T, rtol=0, atol=1e-13)
    # A smooth periodic state made symmetric.
    X, _ = make_cfd_2d(1, 32, n_steps_in=1, n_steps_out=1, record_interval=1e-3, random_state=3)
    rho, vx, p = X[0, ..., 0], X[0, ..., 1], X[0, ..., 3]
    r, u, v, q = solve_euler_2d(rho + rho.T, vx, vx.T, p + p.T, 0.2)
    np.testing.assert_allclose(r, r.T, rtol=0, atol=1e-13)
    np.testing.assert_allclose(u, v.T, rtol=0, atol=1e-13)
    np.testing.assert_allclose(q, q.T, rtol=0, atol=1e-13)


def _advected_wave(n, time, amplitude=0.2):
    """Exact cell averages of ``1 + A sin(2 pi (x + y - 2 t))`` on cells centred at ``j / n``."""
    x = np.arange(n) / n
    h = 1 / n
    average = (np.sin(np.pi * h) / (np.pi * h)) ** 2  # of sin over a cell, per axis
    return 1 + amplitude * average * np.sin(2 * np.pi * (x[:, None] + x[None, :] - 2 * time))


@pytest.mark.slow
def test_second_order_convergence_on_an_advected_wave():
    # rho = 1 + 0.2 sin(2 pi (x + y)), vx = vy = p = 1: the exact solution is the translation by
    # (t, t), and velocity and pressure stay constant. L1 error ratios measured: 4.03 (32 -> 64)
    # and 4.15 (64 -> 128); the max-norm ratios are ~2.4, the MC limiter clipping the extrema.
    errors = []
    for n in (32, 64, 128):
        ones = np.ones((n, n))
        rho, vx, vy, p = solve_euler_2d(_advected_wave(n, 0.0), ones, ones, ones, 0.1)
        errors.append(np.abs(rho - _advected_wave(n, 0.1)).mean())
        for field in (vx, vy, p):
            np.testing.assert_allclose(field, 1.0, rtol=0, atol=1e-12)
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all(ratios >= 3.5), (errors, ratios)


def test_record_times_shapes_and_batch_independence(random_states):
    rho, vx, vy, p = random_states
    times = [0.0, 0.05, 0.1]
    batch = solve_euler_2d(rho, vx, vy, p, 0.1, record_times=times)
    assert all(a.shape == (3, 32, 32, 3) for a in batch)
    np.testing.assert_array_equal(batch[0][..., 0], rho)
    # Each sample takes its own time steps: solved alone it gives the very same numbers.
    alone = solve_euler_2d(rho[1], vx[1], vy[1], p[1], 0.1, record_times=times)
    assert all(a.shape == (32, 32, 3) for a in alone)
    for a, b in zip(alone, batch):
        np.testing.assert_array_equal(a, b[1])
    # record_times=None returns the final state only, as record_times=[time] without its axis.
    final = solve_euler_2d(rho[1], vx[1], vy[1], p[1], 0.1)
    last = solve_euler_2d(rho[1], vx[1], vy[1], p[1], 0.1, record_times=[0.1])
    for a, b in zip(final, last):
        assert a.shape == (32, 32)
        np.testing.assert_array_equal(a, b[..., 0])


def test_solver_invalid():
    ones = np.ones((8, 8))
    with pytest.raises(ValueError, match=r"rho and p must be > 0, got min\(rho\)=-1\.0"):
        solve_euler_2d(-ones, ones, ones, ones, 0.1)
    with pytest.raises(ValueError, match=r"same shape \(Nx, Ny\) or \(n_samples, Nx, Ny\)"):
        solve_euler_2d(ones, ones[:4], ones, ones, 0.1)
    with pytest.raises(ValueError, match=r"same shape"):
        solve_euler_2d(ones[0], ones[0], ones[0], ones[0], 0.1)  # 1-D: solve_euler_1d
    with pytest.raises(ValueError, match="must be finite"):
        solve_euler_2d(ones, ones * np.nan, ones, ones, 0.1)
    with pytest.raises(
        ValueError,
        match=r"'gamma' parameter of solve_euler_2d must be a finite float in the range "
        r"\(1\.0, inf\)\. Got 1\.0",
    ):
        solve_euler_2d(ones, ones, ones, ones, 0.1, gamma=1.0)
    with pytest.raises(ValueError, match=r"'boundary' parameter of solve_euler_2d must be a str among"):
        solve_euler_2d(ones, ones, ones, ones, 0.1, boundary="reflect")
    with pytest.raises(ValueError, match=r"'cfl' parameter of solve_euler_2d"):
        solve_euler_2d(ones, ones, ones, ones, 0.1, cfl=1.5)
    with pytest.raises(ValueError, match="record_times must be increasing"):
        solve_euler_2d(ones, ones, ones, ones, 0.1, record_times=[0.2])


class _Stop(Exception):
    pass


def test_large_solve_warns_before_stepping(monkeypatch):
    def stop(*args, **kwargs):
        raise _Stop

    monkeypatch.setattr(_budget, "total_memory", lambda: 2**40)
    monkeypatch.setattr(_euler_2d, "_evolve", stop)
    ones = np.ones((4, 128, 128))
    with (
        pytest.warns(
            LargeGenerationWarning, match=r"solve_euler_2d\(n_samples=4, grid=\(128, 128\), time=10"
        ),
        pytest.raises(_Stop),
    ):
        solve_euler_2d(ones, 0 * ones, 0 * ones, ones, 10.0)
