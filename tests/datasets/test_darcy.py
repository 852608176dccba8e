import numpy as np
import pytest

from sklearn_amfno.datasets import _darcy, make_darcy, solve_darcy


def _manufactured(n):
    x = np.linspace(0, 1, n)
    xx, yy = np.meshgrid(x, x, indexing="ij")
    a = 1 + 0.5 * np.sin(2 * np.pi * xx) * np.cos(np.pi * yy) + xx * yy
    ax = np.pi * np.cos(2 * np.pi * xx) * np.cos(np.pi * yy) + yy
    ay = -0.5 * np.pi * np.sin(2 * np.pi * xx) * np.sin(np.pi * yy) + xx
    u = np.sin(np.pi * xx) * np.sin(np.pi * yy)
    ux = np.pi * np.cos(np.pi * xx) * np.sin(np.pi * yy)
    uy = np.pi * np.sin(np.pi * xx) * np.cos(np.pi * yy)
    f = -(ax * ux + ay * uy - 2 * np.pi**2 * a * u)  # -div(a grad u)
    return a, f, u


@pytest.mark.parametrize("face", ["harmonic", "arithmetic"])
def test_second_order_convergence(face):
    errors = []
    for n in (17, 33, 65):  # h = 1/16, 1/32, 1/64
        a, f, u = _manufactured(n)
        errors.append(np.abs(solve_darcy(a, f, face=face) - u).max())
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 3.6) & (ratios < 4.4)), ratios


def test_poisson_symmetry_and_boundary():
    u = solve_darcy(np.ones((41, 41)), 1.0)
    assert np.all(u[0] == 0) and np.all(u[-1] == 0) and np.all(u[:, 0] == 0)
    np.testing.assert_allclose(u, u.T, atol=1e-14)
    np.testing.assert_allclose(u, u[::-1], atol=1e-14)
    # Known maximum of -Lap u = 1 on the unit square: 0.07367...
    assert abs(u.max() - 0.07367) < 5e-4


def test_solver_errors():
    with pytest.raises(ValueError, match="square"):
        solve_darcy(np.ones((4, 5)))
    with pytest.raises(ValueError, match="> 0"):
        solve_darcy(-np.ones((5, 5)))
    with pytest.raises(ValueError, match="f must be a scalar or have the shape"):
        solve_darcy(np.ones((5, 5)), np.ones((4, 4)))
    with pytest.raises(ValueError, match=r"'face' parameter of solve_darcy must be a str among"):
        solve_darcy(np.ones((5, 5)), face="geometric")
    with pytest.raises(ValueError, match=r"'f' parameter of solve_darcy must be a finite float .* Got nan"):
        solve_darcy(np.ones((5, 5)), float("nan"))


def test_make_darcy_shapes_values_determinism():
    X, y = make_darcy(5, 32, values=(10.0, 2.0), random_state=0)
    assert X.shape == y.shape == (5, 32, 32)
    assert X.dtype == y.dtype == np.float64
    assert set(np.unique(X)) <= {10.0, 2.0}
    assert 0.2 < (X == 10.0).mean() < 0.8  # both phases present (mean-zero field)
    assert np.all(y[:, 0] == 0) and np.all(y[:, :, -1] == 0) and y.min() >= 0
    np.testing.assert_allclose(y[2], solve_darcy(X[2], 1.0))
    X2, y2 = make_darcy(5, 32, values=(10.0, 2.0), random_state=0, n_jobs=2)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = make_darcy(5, 32, random_state=1)
    assert not np.array_equal(X3 > 5, X > 5)


def test_make_darcy_coefficient_is_resolution_independent():
    # Nodes of the 17-point grid are every 2nd node of the 33-point grid.
    X33, _ = make_darcy(3, 33, random_state=4)
    X17, _ = make_darcy(3, 17, random_state=4)
    np.testing.assert_array_equal(X33[:, ::2, ::2], X17)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (
            {"alpha": 0},
            r"'alpha' parameter of make_darcy must be a finite float in the range \(0\.0, inf\)\. Got 0",
        ),
        (
            {"tau": -1},
            r"'tau' parameter of make_darcy must be a finite float in the range \[0\.0, inf\)\. Got -1",
        ),
        ({"values": (1.0, -3.0)}, "values must be a pair of positive reals"),
        ({"values": (1.0, 2.0, 3.0)}, "values must be a pair of positive reals"),
        ({"values": 3.0}, r"'values' parameter of make_darcy must be an array-like\. Got 3\.0"),
        (
            {"resolution": 2},
            r"'resolution' parameter of make_darcy must be an int in the range \[3, inf\)\. Got 2",
        ),
        ({"n_jobs": 0}, r"'n_jobs' parameter of make_darcy must be None, an int in the range \(-inf, -1\]"),
        ({"face": "max"}, r"'face' parameter of make_darcy must be a str among"),
    ],
)
def test_make_darcy_invalid(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_darcy(2, **kwargs)


@pytest.mark.parametrize("verbose", [True, 2])
def test_make_darcy_memory(tmp_path, monkeypatch, verbose):
    calls = []
    real = _darcy._solve_darcy  # what make_darcy calls per sample

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(_darcy, "_solve_darcy", counting)
    a = make_darcy(3, 16, random_state=0, memory=str(tmp_path))
    assert len(calls) == 3
    b = make_darcy(3, 16, random_state=0, memory=str(tmp_path), verbose=verbose)
    assert len(calls) == 3  # served from the cache, verbose is not part of the key
    np.testing.assert_array_equal(a[1], b[1])


def test_n_modes_replaced_by_max_wavenumber():
    # n_modes counted the cosine modes per axis (k = 0 .. n_modes - 1); max_wavenumber is the
    # largest k, as in the other generators.
    with pytest.warns(FutureWarning, match="'n_modes' .* was replaced by 'max_wavenumber'"):
        X_old, y_old = make_darcy(2, 17, n_modes=8, random_state=0)
    X_new, y_new = make_darcy(2, 17, max_wavenumber=7, random_state=0)
    np.testing.assert_array_equal(X_old, X_new)
    np.testing.assert_array_equal(y_old, y_new)
    with pytest.raises(TypeError, match="got both 'n_modes' .* and 'max_wavenumber'"):
        make_darcy(2, 17, n_modes=8, max_wavenumber=7)
    refused = pytest.raises(ValueError, match="'max_wavenumber' parameter of make_darcy")
    with pytest.warns(FutureWarning), refused:
        make_darcy(2, 17, n_modes=1)


def test_the_cache_key_holds_the_solvers_code(tmp_path, monkeypatch):
    # joblib keys a cached function on its own code only: a solver changed underneath must not be
    # served the old solver's results, so the datasets' code hash is part of the key.
    from sklearn_amfno.datasets import _cache

    X1, y1 = make_darcy(2, 16, random_state=0, memory=str(tmp_path))
    calls = []
    monkeypatch.setattr(_darcy, "_solve_darcy", lambda *a, **k: calls.append(1) or np.zeros((16, 16)))
    _, y_hit = make_darcy(2, 16, random_state=0, memory=str(tmp_path), n_jobs=2)  # n_jobs: not in the key
    assert calls == [] and np.array_equal(y_hit, y1)
    monkeypatch.setattr(_cache, "solver_code_version", lambda module: "another version")
    _, y_miss = make_darcy(2, 16, random_state=0, memory=str(tmp_path))
    assert len(calls) == 2 and not np.array_equal(y_miss, y1)
