import numpy as np
import pytest

from sklearn_amfno.datasets import advection_solution, heat_solution, make_advection, make_heat


@pytest.mark.parametrize("n_dim", [1, 2, 3])
def test_heat_shapes_dtype_and_solver(n_dim):
    res = 16 if n_dim == 3 else 32
    X, y = make_heat(6, res, n_dim=n_dim, diffusivity=0.02, time=0.5, max_wavenumber=5, random_state=0)
    assert X.shape == y.shape == (6,) + (res,) * n_dim
    assert X.dtype == y.dtype == np.float64
    # The grid resolves all modes (N > 2K), so the FFT solver reproduces the exact target.
    np.testing.assert_allclose(heat_solution(X, 0.02, 0.5, n_dim=n_dim), y, atol=1e-12)


def test_heat_single_mode_exact():
    x = np.arange(64) / 64
    xx, yy = np.meshgrid(x, x, indexing="ij")
    u0 = np.cos(2 * np.pi * (3 * xx - 2 * yy))
    u = heat_solution(u0, 0.01, 2.0)
    np.testing.assert_allclose(u, np.exp(-4 * np.pi**2 * 0.01 * 13 * 2.0) * u0, atol=1e-14)


@pytest.mark.parametrize("n_dim,velocity", [(1, 0.3), (2, (0.25, -0.6)), (2, 0.1)])
def test_advection_solver_and_translation(n_dim, velocity):
    X, y = make_advection(5, 32, n_dim=n_dim, velocity=velocity, time=0.7, random_state=1)
    assert X.shape == y.shape == (5,) + (32,) * n_dim
    np.testing.assert_allclose(advection_solution(X, velocity, 0.7, n_dim=n_dim), y, atol=1e-12)


def test_advection_whole_cell_shift_is_a_roll():
    X, y = make_advection(3, 64, velocity=0.25, time=1.0, random_state=2)
    np.testing.assert_allclose(y, np.roll(X, 16, axis=1), atol=1e-12)


@pytest.mark.parametrize("maker", [make_heat, make_advection])
@pytest.mark.parametrize("n_dim", [1, 2])
def test_resolution_independence(maker, n_dim):
    X64, y64 = maker(4, 64, n_dim=n_dim, random_state=7)
    X32, y32 = maker(4, 32, n_dim=n_dim, random_state=7)
    sl = (slice(None),) + (slice(None, None, 2),) * n_dim
    np.testing.assert_allclose(X64[sl], X32, atol=1e-12)
    np.testing.assert_allclose(y64[sl], y32, atol=1e-12)
    # Also at a resolution that is not a multiple (same continuous function, different points).
    X48, _ = maker(4, 48, n_dim=n_dim, random_state=7)
    sl3 = (slice(None),) + (slice(None, None, 3),) * n_dim
    np.testing.assert_allclose(X48[sl3], X32[(slice(None),) + (slice(None, None, 2),) * n_dim], atol=1e-12)


def test_heat_and_advection_share_initial_conditions():
    Xh, _ = make_heat(3, 32, random_state=3)
    Xa, _ = make_advection(3, 32, random_state=3)
    np.testing.assert_array_equal(Xh, Xa)


@pytest.mark.parametrize("maker", [make_heat, make_advection])
def test_determinism(maker):
    a = maker(3, 16, random_state=11)
    b = maker(3, 16, random_state=11)
    c = maker(3, 16, random_state=12)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.allclose(a[0], c[0])
    rs = np.random.RandomState(0)
    d = maker(3, 16, random_state=rs)
    e = maker(3, 16, random_state=rs)  # the instance advanced
    assert not np.allclose(d[0], e[0])


@pytest.mark.parametrize(
    "maker,kwargs,match",
    [
        (
            make_heat,
            {"diffusivity": -1},
            r"'diffusivity' parameter of make_heat must be a finite float in the range "
            r"\[0\.0, inf\)\. Got -1",
        ),
        (
            make_heat,
            {"n_dim": 4},
            r"'n_dim' parameter of make_heat must be an int in the range \[1, 3\]\. Got 4",
        ),
        (
            make_heat,
            {"time": -0.1},
            r"'time' parameter of make_heat must be a finite float in the range \[0\.0, inf\)",
        ),
        (
            make_heat,
            {"max_wavenumber": -1},
            r"'max_wavenumber' parameter of make_heat must be an int in the range \[0, inf\)",
        ),
        (
            make_heat,
            {"resolution": 1},
            r"'resolution' parameter of make_heat must be an int in the range \[2, inf\)\. Got 1",
        ),
        (
            make_heat,
            {"n_samples": 0},
            r"'n_samples' parameter of make_heat must be an int in the range \[1, inf\)\. Got 0",
        ),
        (make_advection, {"velocity": (1.0, 2.0)}, "velocity must be a real scalar or a sequence of 1 reals"),
        (
            make_advection,
            {"velocity": float("nan")},
            r"'velocity' parameter of make_advection must be a finite float .* Got nan",
        ),
        (make_advection, {"velocity": [float("nan")]}, "velocity must be finite"),
    ],
)
def test_invalid_parameters(maker, kwargs, match):
    kwargs.setdefault("n_samples", 2)
    with pytest.raises(ValueError, match=match):
        maker(**kwargs)


@pytest.mark.parametrize("maker", [make_heat, make_advection])
def test_memory_caching(maker, tmp_path):
    a = maker(3, 16, random_state=0, memory=str(tmp_path))
    assert any(tmp_path.rglob("output.pkl"))
    b = maker(3, 16, random_state=0, memory=str(tmp_path))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_memory_accepts_joblib_memory(tmp_path):
    from joblib import Memory

    mem = Memory(tmp_path, verbose=0)
    a = make_heat(2, 8, random_state=0, memory=mem)
    b = make_heat(2, 8, random_state=0, memory=mem)
    np.testing.assert_array_equal(a[1], b[1])
    assert any(tmp_path.rglob("output.pkl"))


def test_solver_invalid_parameters():
    with pytest.raises(ValueError, match=r"'time' parameter of heat_solution must be a finite float"):
        heat_solution(np.zeros(8), 0.1, float("inf"))
    with pytest.raises(ValueError, match=r"n_dim must be <= u0.ndim=1 \(the number of axes of u0\), got 2"):
        advection_solution(np.zeros(8), 0.1, 1.0, n_dim=2)
    with pytest.raises(ValueError, match="u0 must have at least one spatial axis"):
        heat_solution(np.array(1.0), 0.1, 1.0)
