import warnings

import numpy as np
import pytest

from sklearn_amfno.datasets import _burgers, make_burgers, solve_burgers


@pytest.mark.parametrize("viscosity", [0.1, 0.02])
def test_cole_hopf_matches_spectral(viscosity):
    X, y = make_burgers(4, 512, viscosity=viscosity, time=1.0, random_state=0)
    y_spec = solve_burgers(X, viscosity, 1.0, method="spectral", dt=2e-3)
    rel = np.linalg.norm(y_spec - y) / np.linalg.norm(y)
    assert rel < 1e-6, rel


def test_nonzero_mean_handled_by_galilean_shift():
    x = np.arange(256) / 256
    u0 = 0.7 + 0.5 * np.sin(2 * np.pi * x)
    a = solve_burgers(u0, 0.05, 0.8)
    b = solve_burgers(u0, 0.05, 0.8, method="spectral", dt=1e-3)
    np.testing.assert_allclose(a, b, atol=1e-8)
    np.testing.assert_allclose(a.mean(), 0.7, atol=1e-12)  # mean is conserved
    # A constant state is a steady solution.
    np.testing.assert_allclose(solve_burgers(np.full(64, 1.3), 0.1, 1.0), 1.3, atol=1e-12)


def test_small_amplitude_reduces_to_heat():
    x = np.arange(128) / 128
    u0 = 1e-7 * np.cos(2 * np.pi * 3 * x)
    u = solve_burgers(u0, 0.01, 1.0)
    np.testing.assert_allclose(u, np.exp(-4 * np.pi**2 * 9 * 0.01) * u0, atol=1e-17, rtol=1e-6)


def test_batched_leading_axes():
    X, _ = make_burgers(6, 128, random_state=1)
    batch = X.reshape(2, 3, 128)
    out = solve_burgers(batch, 0.1, 0.5)
    np.testing.assert_allclose(out.reshape(6, 128), solve_burgers(X, 0.1, 0.5))


def test_make_burgers_shapes_determinism_and_subsampling():
    X, y = make_burgers(3, 256, random_state=5)
    assert X.shape == y.shape == (3, 256) and X.dtype == y.dtype == np.float64
    X2, y2 = make_burgers(3, 256, random_state=5)
    np.testing.assert_array_equal(y, y2)
    X3, _ = make_burgers(3, 256, random_state=6)
    assert not np.allclose(X, X3)
    # Solving on a 2x finer grid and subsampling gives the same operator up to truncation.
    Xf, yf = make_burgers(3, 256, solver_resolution=512, random_state=5)
    assert Xf.shape == (3, 256)
    np.testing.assert_allclose(yf, y, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (
            {"viscosity": -1},
            r"'viscosity' parameter of make_burgers must be a finite float in the range "
            r"\(0\.0, inf\)\. Got -1 instead",
        ),
        ({"viscosity": 0}, r"'viscosity' .* range \(0\.0, inf\)\. Got 0 instead"),
        ({"viscosity": float("inf")}, r"'viscosity' .* finite float .* Got inf instead"),
        (
            {"time": -1.0},
            r"'time' parameter of make_burgers must be a finite float in the range \[0\.0, inf\)",
        ),
        ({"method": "euler"}, r"'method' parameter of make_burgers must be a str among .*'cole_hopf'"),
        (
            {"solver_resolution": 100},
            "solver_resolution must be None or a multiple of resolution=64, got 100",
        ),
        ({"resolution": 2}, r"'resolution' parameter of make_burgers must be an int in the range \[4, inf\)"),
    ],
)
def test_make_burgers_invalid(kwargs, match):
    kwargs.setdefault("resolution", 64)
    with pytest.raises(ValueError, match=match):
        make_burgers(2, **kwargs)


def test_solver_invalid():
    with pytest.raises(ValueError, match=r"'dt' parameter of solve_burgers must be None or a finite float"):
        solve_burgers(np.zeros(16), 0.1, 1.0, method="spectral", dt=0.0)
    with pytest.raises(ValueError, match="at least 4 grid points"):
        solve_burgers(np.zeros(2), 0.1, 1.0)


def test_make_burgers_memory(tmp_path):
    a = make_burgers(3, 64, random_state=0, memory=str(tmp_path))
    assert any(tmp_path.rglob("output.pkl"))
    b = make_burgers(3, 64, random_state=0, memory=str(tmp_path))
    np.testing.assert_array_equal(a[1], b[1])


def test_cole_hopf_small_viscosity_finite_and_equal_to_spectral():
    # At viscosity 0.003 phi = exp(-int u / (2 nu)) spans ~1e-300..1: the Fourier heat solve
    # returned NaN for both samples of this seed (and silently wrong values for others).
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        X, y = make_burgers(2, 512, viscosity=0.003, time=0.25, random_state=13)
    assert np.isfinite(y).all()
    # The reference: ETDRK4 on a 2x finer grid (X is band-limited, so zero-padding its spectrum
    # is exact), because its 512-point solve under-resolves the steepest front (3e-5 error).
    X_fine = np.fft.irfft(np.fft.rfft(X, axis=-1), n=1024, axis=-1) * 2
    y_spec = solve_burgers(X_fine, 0.003, 0.25, method="spectral")[:, ::2]
    assert np.abs(y - y_spec).max() < 1e-7 * np.abs(y_spec).max()


def test_cole_hopf_log_space_equals_fourier_where_both_apply(monkeypatch):
    x = np.arange(256) / 256
    u0 = np.stack(
        [0.7 + 0.5 * np.sin(2 * np.pi * x), np.cos(2 * np.pi * 3 * x) - 0.2 * np.sin(2 * np.pi * x)]
    )
    fourier = solve_burgers(u0, 0.05, 0.3)
    # Every sample through the log-space quadrature (mean flow by evaluation at x - c t).
    monkeypatch.setattr(_burgers, "_PHI_RATIO_FLOOR", 2.0)
    log_space = solve_burgers(u0, 0.05, 0.3)
    np.testing.assert_allclose(log_space, fourier, atol=1e-12)


def test_cole_hopf_unresolved_grid_raises_naming_the_fix():
    with pytest.raises(ValueError, match=r"not resolved by the 128-point grid.*solver_resolution"):
        make_burgers(2, 128, viscosity=0.003, time=0.25, random_state=13)
