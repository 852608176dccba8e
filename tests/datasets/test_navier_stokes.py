import numpy as np
import pytest

from sklearn_amfno.datasets import kolmogorov_forcing, make_navier_stokes, solve_navier_stokes


def _grid(n):
    x = np.arange(n) / n
    return np.meshgrid(x, x, indexing="ij")


def test_single_shell_decays_exactly():
    # Every wavevector has |k|^2 = 5, so u . grad w vanishes identically and the exact
    # solution is pure viscous decay.
    xx, yy = _grid(32)
    w0 = (
        np.cos(2 * np.pi * (xx + 2 * yy))
        + 0.5 * np.sin(2 * np.pi * (2 * xx - yy))
        + 0.3 * np.cos(2 * np.pi * (2 * xx + yy))
    )
    nu = 0.01
    times = [0.25, 0.5, 1.0]
    w = solve_navier_stokes(w0, nu, 1.0, times, forcing=False, dt=1e-3)
    assert w.shape == (32, 32, 3)
    for i, t in enumerate(times):
        exact = np.exp(-4 * np.pi**2 * nu * 5 * t) * w0
        np.testing.assert_allclose(w[..., i], exact, atol=1e-7)
    # Second order in time: 4x smaller error for half the step.
    e1 = np.abs(solve_navier_stokes(w0, nu, 1.0, forcing=False, dt=0.02)[..., 0] - exact).max()
    e2 = np.abs(solve_navier_stokes(w0, nu, 1.0, forcing=False, dt=0.01)[..., 0] - exact).max()
    assert 3.5 < e1 / e2 < 4.5


def test_forcing_alone_reaches_exact_linear_response():
    # The forcing lives on the single wavevector (1, 1): starting from rest the flow stays on it
    # and obeys w_t = -lam w + f exactly.
    nu = 0.05
    lam = 4 * np.pi**2 * nu * 2
    f = kolmogorov_forcing(16)
    w = solve_navier_stokes(np.zeros((16, 16)), nu, 2.0, forcing=True, dt=1e-3)[..., 0]
    np.testing.assert_allclose(w, f * (1 - np.exp(-lam * 2.0)) / lam, atol=1e-7)


def test_forced_run_conserves_mean_vorticity():
    X, _ = make_navier_stokes(2, 32, n_steps_in=1, n_steps_out=1, random_state=0)
    w0 = X[..., 0] + 0.3  # add a mean: no term of the equation may change it
    w = solve_navier_stokes(w0, 1e-3, 3.0, [1.0, 2.0, 3.0], forcing=True)
    np.testing.assert_allclose(w.mean(axis=(1, 2)), 0.3, atol=1e-12)
    assert np.abs(w - w0[..., None]).max() > 1e-2  # but the flow did evolve


def test_make_navier_stokes_shapes_and_time_convention():
    X, y = make_navier_stokes(3, 32, n_steps_in=3, n_steps_out=2, dt=0.01, precision="double", random_state=1)
    assert X.shape == (3, 32, 32, 3) and y.shape == (3, 32, 32, 2)
    assert X.dtype == y.dtype == np.float64
    np.testing.assert_allclose(X.mean(axis=(1, 2)), 0, atol=1e-12)
    # X[..., j] is t = j + 1 and y[..., 0] is t = n_steps_in + 1: stepping the last input one
    # time unit with the same fixed step reproduces the first output.
    nxt = solve_navier_stokes(X[..., -1], 1e-3, 1.0, dt=0.01)[..., 0]
    np.testing.assert_allclose(nxt, y[..., 0], atol=1e-10)


def test_single_precision_close_to_double():
    a = make_navier_stokes(2, 32, n_steps_in=2, n_steps_out=2, random_state=2)
    b = make_navier_stokes(2, 32, n_steps_in=2, n_steps_out=2, random_state=2, precision="double")
    np.testing.assert_array_equal(a[0].dtype, np.float64)
    assert np.abs(a[1] - b[1]).max() < 1e-4 * np.abs(b[1]).max()


def test_determinism_and_batching():
    a = make_navier_stokes(3, 16, n_steps_in=1, n_steps_out=1, dt=0.02, random_state=3)
    b = make_navier_stokes(3, 16, n_steps_in=1, n_steps_out=1, dt=0.02, random_state=3, batch_size=2)
    np.testing.assert_allclose(a[1], b[1], atol=1e-5)
    c = make_navier_stokes(3, 16, n_steps_in=1, n_steps_out=1, dt=0.02, random_state=4)
    assert not np.allclose(a[0], c[0])


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (
            {"viscosity": 0},
            r"'viscosity' parameter of make_navier_stokes must be a finite float in the range "
            r"\(0\.0, inf\)\. Got 0",
        ),
        ({"viscosity": -1e-4}, r"'viscosity' parameter of make_navier_stokes .* Got -0\.0001"),
        (
            {"n_steps_in": 0},
            r"'n_steps_in' parameter of make_navier_stokes must be an int in the range \[1, inf\)\. Got 0",
        ),
        (
            {"dt": -0.1},
            r"'dt' parameter of make_navier_stokes must be None or a finite float in the range \(0\.0, inf\)",
        ),
        ({"forcing": "yes"}, r"'forcing' parameter of make_navier_stokes must be an instance of 'bool'"),
        ({"precision": "half"}, r"'precision' parameter of make_navier_stokes must be a str among"),
        (
            {"resolution": 4},
            r"'resolution' parameter of make_navier_stokes must be an int in the range \[8, inf\)",
        ),
    ],
)
def test_make_navier_stokes_invalid(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_navier_stokes(1, **{"resolution": 16, **kwargs})


def test_solver_invalid():
    w0 = np.zeros((8, 8))
    with pytest.raises(ValueError, match="record_times must be increasing"):
        solve_navier_stokes(w0, 1e-3, 1.0, [0.5, 0.2])
    with pytest.raises(ValueError, match="record_times must be increasing"):
        solve_navier_stokes(w0, 1e-3, 1.0, [2.0])
    with pytest.raises(ValueError, match="w0 must have shape"):
        solve_navier_stokes(np.zeros((8, 9)), 1e-3, 1.0)
    with pytest.raises(ValueError, match="forcing must be True"):
        solve_navier_stokes(w0, 1e-3, 1.0, forcing=np.ones((4, 4)))


def test_make_navier_stokes_memory(tmp_path):
    kw = {"n_steps_in": 1, "n_steps_out": 1, "random_state": 0, "memory": str(tmp_path)}
    a = make_navier_stokes(2, 16, **kw)
    assert any(tmp_path.rglob("output.pkl"))
    b = make_navier_stokes(2, 16, verbose=True, **kw)
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("old,new,value", [("t_final", "time", 0.1), ("workers", "n_jobs", 1)])
def test_renamed_parameters(old, new, value):
    w0 = make_navier_stokes(1, 16, n_steps_in=1, n_steps_out=1, random_state=0)[0][0, ..., 0]
    other = {"time": 0.1, "dt": 0.01}
    other.pop(new, None)
    with pytest.warns(FutureWarning, match=f"'{old}' was renamed '{new}' in 0.2.0"):
        w_old = solve_navier_stokes(w0, 1e-3, **other, **{old: value})
    w_new = solve_navier_stokes(w0, 1e-3, **other, **{new: value})
    np.testing.assert_array_equal(w_old, w_new)
