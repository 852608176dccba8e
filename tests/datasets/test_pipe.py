"""The pipe benchmark: solve_pipe against exact flows and under grid refinement; make_pipe's
behaviour as a generator; save_geofno's files read back by load_geofno."""

import re
import warnings

import numpy as np
import pytest
from scipy.integrate import trapezoid

from sklearn_amfno.datasets import (
    LargeGenerationWarning,
    _budget,
    _pipe,
    load_geofno,
    make_pipe,
    save_geofno,
    solve_pipe,
)

FIELDS = ["velocity_x", "velocity_y", "pressure"]
GRIDS = (17, 33, 65)
# A smooth curved pipe (one cubic piece: no curvature jumps) and a pipe of the generator's
# kind (four Hermite pieces, the curvature jumps at the control nodes).
SMOOTH = ([0.0, 0.8], [0.3, -0.2])
HERMITE = ([0.0, 0.1, 0.43, 0.21, 0.09], [-0.06, 0.12, -0.05, 0.31, 0.37])


def _orders(errors):
    return [float(np.log2(e0 / e1)) for e0, e1 in zip(errors[:-1], errors[1:])]


# -- exact flows ------------------------------------------------------------------------------
@pytest.mark.parametrize("slope", [0.0, 0.3], ids=["straight", "tilted"])
def test_straight_pipe_is_poiseuille_with_second_order_convergence(slope):
    # A straight pipe, horizontal or tilted (d = slope x): plane Poiseuille flow parallel to
    # the walls, parabolic across, with the pressure falling linearly along the flow.
    length, nu, peak = 4.0, 0.01, 1.0
    errors = {name: [] for name in FIELDS}
    for n in GRIDS:
        flow = solve_pipe([0.0, slope * length], [slope, slope], n, length=length, viscosity=nu)
        eta = flow.y - slope * flow.x
        u = peak * (1 - 4 * eta**2)
        # grad p = -8 nu peak (1 + s^2) (1, s) / width^2; zero mean over the outlet nodes.
        p = -8 * nu * peak * (1 + slope**2) * (flow.x + slope * flow.y)
        p -= p[-1].mean()
        for name, exact in (("velocity_x", u), ("velocity_y", slope * u), ("pressure", p)):
            errors[name].append(np.abs(flow[name] - exact).max())
        assert flow.residual <= 1e-10
    # Nodal velocities are central differences of the (exactly cubic) streamfunction: error
    # (4/3) peak h^2 in u; the pressure inherits second order.
    assert errors["velocity_x"][0] == pytest.approx(4 / 3 / 16**2, rel=1e-6)
    for name in ["velocity_x", "velocity_y"] if slope else ["velocity_x"]:
        orders = _orders(errors[name])
        assert all(1.95 < q < 2.05 for q in orders), (name, errors[name], orders)
    orders = _orders(errors["pressure"])  # 1.91, 1.95
    assert all(1.8 < q < 2.1 for q in orders), (errors["pressure"], orders)
    if not slope:
        assert max(errors["velocity_y"]) < 1e-10  # no cross flow at all


@pytest.fixture(scope="module")
def smooth_flows():
    return {n: solve_pipe(*SMOOTH, n) for n in GRIDS}


@pytest.fixture(scope="module")
def hermite_flows():
    return {n: solve_pipe(*HERMITE, n) for n in GRIDS}


def _observed_order(flows, name, norm):
    """Order from three nested grids (differences on the 17-node grid, its nodes shared)."""
    coarse = [flows[n][name][:: (n - 1) // 16, :: (n - 1) // 16] for n in GRIDS]
    diffs = [coarse[0] - coarse[1], coarse[1] - coarse[2]]
    if norm == "max":
        return _orders([np.abs(d).max() for d in diffs])[0]
    return _orders([np.sqrt(np.mean(d**2)) for d in diffs])[0]


@pytest.mark.parametrize("name", FIELDS)
def test_curved_pipe_converges_at_second_order(smooth_flows, name):
    # No exact solution: the observed order from the grids 17, 33 and 65 at the generator's
    # Reynolds number 200, on a smooth curved centreline (one cubic piece).
    assert _observed_order(smooth_flows, name, "rms") > 1.8
    assert _observed_order(smooth_flows, name, "max") > 1.7


def test_generator_geometry_converges_at_least_first_order(hermite_flows):
    # The Hermite centreline is only C^1: the curvature jumps at the control nodes lower the
    # observed order to ~1.2-1.5 (docs/datasets.md, "Pipe").
    for name in FIELDS:
        assert _observed_order(hermite_flows, name, "rms") > 1.0


# -- conservation and boundary conditions -----------------------------------------------------
def test_discretely_divergence_free(hermite_flows):
    flow = hermite_flows[33]
    x, y, u, v = flow.x, flow.y, flow.velocity_x, flow.velocity_y
    # Central differences in grid coordinates and the chain rule, from the returned mesh only.
    x_i, x_j = np.gradient(x, axis=0), np.gradient(x, axis=1)
    y_i, y_j = np.gradient(y, axis=0), np.gradient(y, axis=1)
    jac = x_i * y_j - x_j * y_i
    div = (
        np.gradient(u, axis=0) * y_j
        - np.gradient(u, axis=1) * y_i
        - np.gradient(v, axis=0) * x_j
        + np.gradient(v, axis=1) * x_i
    ) / jac
    scale = np.abs(np.gradient(u, axis=1) / y_j).max()
    # Zero to round-off at every node whose neighbours are interior nodes.
    assert np.abs(div[2:-2, 2:-2]).max() < 1e-10 * scale
    # Next to the boundary the nodal boundary values enter: small, not zero.
    assert np.abs(div[1:-1, 1:-1]).max() < 0.1 * scale


def test_mass_flux_is_the_same_through_every_cross_section(hermite_flows):
    deviation = []
    for n in (33, 65):
        flow = hermite_flows[n]
        # Volume flux through the vertical line x = x_i: the integral of u dy over it.
        flux = trapezoid(flow.velocity_x, flow.y, axis=1)  # np.trapezoid needs numpy 2
        assert flow.flux == pytest.approx(2 / 3)  # of the inflow, peak * width * 2/3
        deviation.append(np.abs(flux / flow.flux - 1).max())
        # In the scheme's own (face) fluxes, the streamfunction's differences, mass is
        # conserved exactly: the flux between the walls is the inflow's at every section.
        psi = flow.streamfunction
        np.testing.assert_allclose(psi[:, -1] - psi[:, 0], flow.flux, rtol=0, atol=1e-12)
    # Trapezoid rule on the nodal velocities: O(h^2) (the wall cells), the same everywhere.
    assert deviation[0] < 1e-2
    assert deviation[0] / deviation[1] > 3


def test_no_slip_and_inflow(hermite_flows):
    slips, inflow_errors = [], []
    for n in (33, 65):
        flow = hermite_flows[n]
        h = 1 / (n - 1)
        a = 10 / (n - 1)
        # The returned velocities are the boundary data there.
        for name in ("velocity_x", "velocity_y"):
            assert np.all(flow[name][:, [0, -1]] == 0)
        eta = flow.y[0]  # the inlet is at x = 0, centreline offset 0
        u_in = 1 - 4 * eta**2
        np.testing.assert_allclose(flow.velocity_x[0], u_in, atol=1e-15)
        np.testing.assert_allclose(flow.velocity_y[0], HERMITE[1][0] * u_in, atol=1e-15)
        psi = flow.streamfunction
        # No slip holds in the solution, not only in the returned values: the wall-normal
        # derivative of psi (second-order one-sided) vanishes with the grid.
        slip = np.r_[
            (-3 * psi[:, 0] + 4 * psi[:, 1] - psi[:, 2]) / (2 * h),
            (3 * psi[:, -1] - 4 * psi[:, -2] + psi[:, -3]) / (2 * h),
        ]
        slips.append(np.abs(slip).max())
        # The inflow enters parallel to the walls: psi_xi = 0 on the inlet.
        psi_xi = (-3 * psi[0] + 4 * psi[1] - psi[2]) / (2 * a)
        inflow_errors.append(np.abs(psi_xi).max())
    # Measured 0.024 -> 0.0081 and 6.0e-4 -> 2.0e-4 (orders ~1.6; 1.85 for the wall from 65
    # to 129 nodes: the curvature jumps again).
    assert slips[0] < 0.05 and slips[0] / slips[1] > 2.5
    assert inflow_errors[0] < 0.05 and inflow_errors[0] / inflow_errors[1] > 2.5


def test_reports_convergence_and_never_returns_unconverged(hermite_flows):
    flow = hermite_flows[17]
    assert flow.residual <= 1e-10 and flow.n_iter >= 2
    assert flow.residual_history[-1] == flow.residual and flow.residual_history[0] > 1e-4
    with pytest.raises(RuntimeError, match=r"did not converge: relative residual .* > tol=1e-10"):
        solve_pipe(*HERMITE, 17, max_iter=1)
    with pytest.raises(RuntimeError, match=r"make_pipe: sample 0 \(offsets=.*did not converge"):
        make_pipe(2, 17, max_iter=1, random_state=0)


# -- the generator ----------------------------------------------------------------------------
def test_make_pipe_shapes_and_mesh():
    X, y = make_pipe(3, 17, random_state=0)
    assert X.shape == (3, 17, 17, 2) and y.shape == (3, 17, 17)
    assert X.dtype == np.float64 and y.dtype == np.float64
    np.testing.assert_allclose(X[:, :, 0, 0], np.broadcast_to(np.linspace(0, 10, 17), (3, 17)))
    np.testing.assert_allclose(X[..., 1] - X[..., :1, 1], np.broadcast_to(np.linspace(0, 1, 17), X.shape[:3]))
    np.testing.assert_allclose(X[:, 0, :, 1], np.broadcast_to(np.linspace(-0.5, 0.5, 17), (3, 17)))
    X3, y3, info = make_pipe(3, 17, fields=FIELDS, return_info=True, random_state=0)
    assert y3.shape == (3, 17, 17, 3)
    np.testing.assert_array_equal(X3, X)
    np.testing.assert_array_equal(y3[..., 0], y)
    _, y_p = make_pipe(3, 17, fields=["pressure", "velocity_x"], random_state=0)
    np.testing.assert_array_equal(y_p, y3[..., [2, 0]])
    assert info.residual.shape == (3,) and np.all(info.residual <= 1e-10)
    assert info.n_iter.shape == (3,) and np.all(info.n_iter >= 1)
    assert np.all(info.offsets[:, 0] == 0) and np.all(np.abs(info.offsets) <= 1.0)
    assert np.all(np.abs(info.slopes) <= 0.4)
    # Each sample is solve_pipe's flow for its centreline.
    flow = solve_pipe(info.offsets[1], info.slopes[1], 17)
    np.testing.assert_array_equal(y3[1], np.stack([flow[f] for f in FIELDS], axis=-1))


def test_make_pipe_random_state():
    X0, y0 = make_pipe(3, 17, random_state=1)
    X1, y1 = make_pipe(3, 17, random_state=np.random.RandomState(1))
    np.testing.assert_array_equal(X0, X1)
    np.testing.assert_array_equal(y0, y1)
    X2, y2 = make_pipe(3, 17, random_state=2)
    assert not np.allclose(X0, X2) and not np.allclose(y0, y2)
    for i, j in ((0, 1), (0, 2), (1, 2)):  # the samples differ from each other
        assert np.abs(X0[i] - X0[j]).max() > 1e-2 and np.abs(y0[i] - y0[j]).max() > 1e-2
    # The geometry is drawn independently of the resolution.
    X33, _ = make_pipe(3, 33, random_state=1)
    np.testing.assert_allclose(X33[:, ::2, ::2], X0, atol=1e-12)


def test_make_pipe_n_jobs_and_cache(tmp_path):
    X1, y1 = make_pipe(4, 17, fields=FIELDS, random_state=3)
    X2, y2 = make_pipe(4, 17, fields=FIELDS, random_state=3, n_jobs=2)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    a = make_pipe(2, 17, random_state=4, memory=str(tmp_path))
    b = make_pipe(2, 17, random_state=4, memory=str(tmp_path), n_jobs=2, fields="pressure")
    assert any(tmp_path.rglob("output.pkl"))  # one cache entry serves every field
    c = make_pipe(2, 17, random_state=4, fields="pressure")
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(b[1], c[1])


def test_make_pipe_parameters_are_validated():
    bad = [
        ({"n_samples": 0}, "n_samples"),
        ({"resolution": 4}, "resolution"),
        ({"viscosity": -1.0}, "viscosity"),
        ({"viscosity": np.nan}, "viscosity"),
        ({"inflow_velocity": 0.0}, "inflow_velocity"),
        ({"length": np.inf}, "length"),
        ({"tol": 0.0}, "tol"),
        ({"tol": 1.0}, "tol"),
        ({"max_iter": 0}, "max_iter"),
        ({"n_control": 1}, "n_control"),
        ({"max_offset": -0.1}, "max_offset"),
        ({"max_slope": np.nan}, "max_slope"),
        ({"fields": "vorticity"}, "fields"),
        ({"fields": 0}, "fields"),
        ({"n_jobs": 0}, "n_jobs"),
    ]
    for kwargs, name in bad:
        params = {"n_samples": 1, "resolution": 17, **kwargs}
        with pytest.raises(ValueError, match=f"'{name}' parameter of make_pipe"):
            make_pipe(**params)
    with pytest.raises(ValueError, match=r"fields must be among \['velocity_x', 'velocity_y', 'pressure'\]"):
        make_pipe(1, 17, fields=["velocity_x", "vorticity"])
    with pytest.raises(ValueError, match="at least one"):
        make_pipe(1, 17, fields=[])
    with pytest.raises(ValueError, match=r"same length >= 2.*got shapes \(3,\) and \(2,\)"):
        solve_pipe([0, 0, 0], [0, 0], 17)
    with pytest.raises(ValueError, match=r"same length >= 2.*got shapes \(1,\) and \(1,\)"):
        solve_pipe([0], [0], 17)
    with pytest.raises(ValueError, match="finite"):
        solve_pipe([0, np.nan], [0, 0], 17)
    with pytest.raises(ValueError, match="'resolution' parameter of solve_pipe"):
        solve_pipe([0, 0], [0, 0], 3)


# -- the up-front cost estimate ---------------------------------------------------------------
class Stop(Exception):
    """Raised by a patched function: the work would have started here."""


def _stop(*args, **kwargs):
    raise Stop


def test_large_request_warns_before_any_work(monkeypatch):
    monkeypatch.setattr(_budget, "total_memory", lambda: 2**40)
    with pytest.warns(LargeGenerationWarning) as record, pytest.raises(Stop):

        def stop(*args, **kwargs):  # the first piece of work: the warning is out by then
            assert len(record) == 1
            raise Stop

        monkeypatch.setattr(_pipe, "check_random_state", stop)
        make_pipe(1200, 129)
    assert len(record) == 1
    msg = str(record[0].message)
    assert msg.startswith("make_pipe(n_samples=1200, resolution=129)")
    assert re.search(r"estimated, before it starts, at ~[\d.]+ (min|h) and", msg)
    assert "memory=" in msg and "n_jobs=-1" in msg and "Pass verbose=1" in msg
    assert record[0].filename == __file__  # points at the caller


def test_too_large_for_memory_fails_fast(monkeypatch):
    monkeypatch.setattr(_budget, "total_memory", lambda: 2**30)  # a 1 GiB machine
    with pytest.raises(ValueError) as info:
        make_pipe(10**5, 129, fields=FIELDS)
    msg = str(info.value)
    assert "make_pipe(n_samples=100000, resolution=129)" in msg
    assert "more than this machine's 1.0 GiB of physical memory" in msg and "e.g. n_samples=" in msg


def test_solver_warns_before_solving(monkeypatch):
    monkeypatch.setattr(_budget, "total_memory", lambda: 2**40)
    monkeypatch.setattr(_pipe, "_System", _stop)
    with pytest.warns(LargeGenerationWarning, match=r"solve_pipe\(resolution=1025\)"), pytest.raises(Stop):
        solve_pipe([0, 0], [0, 0], 1025)


def test_threaded_generation_warns_once_and_small_requests_do_not(monkeypatch):
    with warnings.catch_warnings():
        warnings.simplefilter("error", LargeGenerationWarning)
        make_pipe(2, 17, random_state=0)
        solve_pipe([0, 0], [0, 0], 33)
    monkeypatch.setattr(_budget, "TIME_WARNING_S", 0.0)
    with pytest.warns(LargeGenerationWarning) as record:
        make_pipe(2, 17, n_jobs=2, random_state=0)
    assert len(record) == 1  # not once more per solve_pipe in the worker threads


def test_estimate_counts_the_returned_arrays():
    est = _pipe.estimate_pipe(10, 129, n_fields=3, n_jobs=None)
    assert est.output_bytes == 10 * 129 * 129 * 8 * (2 + 3)
    assert est.peak_bytes > est.output_bytes
    # ~4 s per sample measured at 129 (docs/datasets.md): the model is 5 s.
    assert 3 < _pipe.estimate_pipe(1, 129, n_fields=1, n_jobs=None).seconds < 8
    assert _pipe.estimate_pipe(1, 65, n_fields=1, n_jobs=None).seconds < 1


# -- Geo-FNO files ----------------------------------------------------------------------------
def test_save_geofno_is_read_back_like_the_original_files(tmp_path):
    X, y = make_pipe(3, 17, fields=FIELDS, random_state=0)
    paths = save_geofno(tmp_path / "pipe", X, y, "pipe")
    assert [p.name for p in paths] == ["Pipe_X.npy", "Pipe_Y.npy", "Pipe_Q.npy"]
    # The original layout: (N, H, W) coordinates, (N, 3, H, W) fields.
    assert np.load(paths[0]).shape == (3, 17, 17) and np.load(paths[2]).shape == (3, 3, 17, 17)
    X_read, u_read = load_geofno(tmp_path / "pipe", case="pipe")
    np.testing.assert_array_equal(X_read, X)
    np.testing.assert_array_equal(u_read, y[..., 0])  # the default output, velocity_x
    _, y_read = load_geofno(tmp_path / "pipe", case="pipe", fields=FIELDS)
    np.testing.assert_array_equal(y_read, y)
    X_lazy, y_lazy = load_geofno(tmp_path / "pipe", case="pipe", fields=FIELDS, lazy=True)
    np.testing.assert_array_equal(np.asarray(X_lazy[0:3]), X)
    np.testing.assert_array_equal(np.asarray(y_lazy[0:3]), y)


def test_save_geofno_errors(tmp_path):
    X, y = make_pipe(1, 17, fields=FIELDS, random_state=0)
    save_geofno(tmp_path, X, y)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_geofno(tmp_path, X, y)
    save_geofno(tmp_path, X, 2 * y, overwrite=True)
    np.testing.assert_array_equal(load_geofno(tmp_path, "pipe", fields=FIELDS)[1], 2 * y)
    with pytest.raises(
        ValueError, match=r"all 3 fields of the Geo-FNO pipe data.*\(1, 17, 17, 3\), got \(1, 17, 17\)"
    ):
        save_geofno(tmp_path / "b", X, y[..., 0])
    with pytest.raises(ValueError, match=r"all 5 fields of the Geo-FNO airfoil data"):
        save_geofno(tmp_path / "c", X, y, "airfoil")
    with pytest.raises(ValueError, match=r"X must have shape \(N, H, W, 2\)"):
        save_geofno(tmp_path / "d", X[..., 0], y)
    with pytest.raises(ValueError, match="NaN or infinite"):
        save_geofno(tmp_path / "e", X, np.full_like(y, np.nan))
    with pytest.raises(NotADirectoryError):
        save_geofno(tmp_path / "Pipe_X.npy", X, y)
    assert not (tmp_path / "b").exists()  # nothing written on an error
