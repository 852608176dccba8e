"""GridResampler: exact Fourier and linear resampling, the data contract, and use in pipelines."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import make_pipeline

from sklearn_amfno import FNORegressor
from sklearn_amfno.datasets import make_heat
from sklearn_amfno.preprocessing import GridResampler

# -- Fourier ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("n, m", [(16, 48), (16, 17), (15, 32), (17, 16)], ids=str)
def test_fourier_resampling_of_band_limited_periodic_signals_is_exact_up_and_down(n, m):
    rng = np.random.default_rng(0)
    k_max = (min(n, m) - 1) // 2  # below both grids' Nyquist wavenumbers
    coefficients = rng.standard_normal((4, k_max + 1, 2))

    def signal(grid):
        x = np.arange(grid) / grid
        k = np.arange(k_max + 1)[:, None]
        cos, sin = np.cos(2 * np.pi * k * x), np.sin(2 * np.pi * k * x)
        return coefficients[:, :, 0] @ cos + coefficients[:, :, 1] @ sin

    up = GridResampler(m).fit_transform(signal(n))
    np.testing.assert_allclose(up, signal(m), atol=1e-12)
    down = GridResampler(n).fit_transform(signal(m))
    np.testing.assert_allclose(down, signal(n), atol=1e-12)


def test_fourier_refining_keeps_the_nyquist_cosine_and_coarsening_back_recovers_it():
    x8, x24 = np.arange(8) / 8, np.arange(24) / 24
    nyquist = np.cos(2 * np.pi * 4 * x8)[None]  # (-1)^j: the trigonometric interpolant is a cosine
    np.testing.assert_allclose(
        GridResampler(24).fit_transform(nyquist)[0], np.cos(8 * np.pi * x24), atol=1e-12
    )
    rng = np.random.default_rng(1)
    X = rng.standard_normal((3, 8, 6))  # any data on the coarse grid: up then down is the identity
    fine = GridResampler((24, 13)).fit_transform(X)
    np.testing.assert_allclose(GridResampler((8, 6)).fit_transform(fine), X, atol=1e-12)


def test_fourier_coarsening_removes_content_above_the_new_nyquist_instead_of_aliasing():
    x = np.arange(32) / 32
    X = (np.sin(2 * np.pi * x) + np.sin(2 * np.pi * 7 * x))[None]
    np.testing.assert_allclose(
        GridResampler(8).fit_transform(X)[0], np.sin(2 * np.pi * np.arange(8) / 8), atol=1e-12
    )


def test_fourier_resampling_in_2d_and_3d_with_channels_is_exact():
    x = {n: np.arange(n) / n for n in (6, 8, 12, 16)}

    def field(shape):
        # cos(2 pi x) sin(2 pi 2 y) [cos(2 pi z)], channel c scaled by c + 1
        values = np.cos(2 * np.pi * x[shape[0]])[:, None] * np.sin(4 * np.pi * x[shape[1]])[None, :]
        if len(shape) == 3:
            values = values[..., None] * np.cos(2 * np.pi * x[shape[2]])
        return np.stack([values * (c + 1) for c in range(2)], axis=-1)[None]

    for coarse, fine in [((8, 6), (16, 12)), ((6, 8, 6), (12, 16, 8))]:
        resampler = GridResampler(fine, channel_axis=-1)
        out = resampler.fit_transform(field(coarse))
        assert out.shape == (1, *fine, 2)
        np.testing.assert_allclose(out, field(fine), atol=1e-12)
        np.testing.assert_allclose(resampler.inverse_transform(out), field(coarse), atol=1e-12)


# -- linear -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("n, m", [(9, 5), (5, 9), (7, 13), (13, 4), (2, 7)], ids=str)
def test_linear_resampling_reproduces_linear_functions_exactly(n, m):
    xn, xm = np.linspace(0, 1, n), np.linspace(0, 1, m)
    X = np.stack([2.0 - 3.0 * xn, 0.5 + xn])
    out = GridResampler(m, method="linear", periodic=False).fit_transform(X)
    np.testing.assert_allclose(out, np.stack([2.0 - 3.0 * xm, 0.5 + xm]), atol=1e-13)
    # bilinear functions on 2-D grids, channels last
    grid_n = np.meshgrid(xn, np.linspace(0, 1, 4), indexing="ij")
    grid_m = np.meshgrid(xm, np.linspace(0, 1, 6), indexing="ij")
    bilinear = lambda g: 1 + 2 * g[0] - g[1] + 3 * g[0] * g[1]  # noqa: E731
    out2 = GridResampler((m, 6), method="linear", periodic=False, channel_axis=-1).fit_transform(
        bilinear(grid_n)[None, ..., None]
    )
    np.testing.assert_allclose(out2[0, ..., 0], bilinear(grid_m), atol=1e-13)


def test_linear_coarsening_of_end_point_grids_selects_every_other_point():
    X = np.random.default_rng(3).standard_normal((2, 17, 9))
    out = GridResampler((9, 5), method="linear", periodic=False).fit_transform(X)
    np.testing.assert_array_equal(out, X[:, ::2, ::2])


def test_periodic_linear_resampling_wraps_around_and_keeps_shared_points():
    X = np.array([[0.0, 1.0, 2.0, 3.0]])  # points 0, 1/4, 2/4, 3/4; the next period starts at 0
    out = GridResampler(8, method="linear").fit_transform(X)
    np.testing.assert_allclose(out, [[0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 1.5]])
    np.testing.assert_array_equal(GridResampler(2, method="linear").fit_transform(X), X[:, ::2])


# -- identity, fitted grid, inverse -----------------------------------------------------------------


@pytest.mark.parametrize("method", ["fourier", "linear"])
def test_same_resolution_is_the_exact_identity(method):
    X = np.random.default_rng(4).standard_normal((3, 8, 5, 2))
    out = GridResampler((8, 5), method=method, channel_axis=-1).fit_transform(X)
    np.testing.assert_array_equal(out, X)
    np.testing.assert_array_equal(GridResampler(method=method, channel_axis=-1).fit_transform(X), X)


def test_default_grid_is_the_fitted_one_and_inverse_returns_to_it():
    x = np.arange(16) / 16
    X = np.sin(2 * np.pi * x)[None]
    resampler = GridResampler().fit(X)
    assert resampler.grid_shape_ == resampler.input_grid_shape_ == (16,)
    x64 = np.arange(64) / 64
    np.testing.assert_allclose(resampler.transform(np.sin(2 * np.pi * x64)[None]), X, atol=1e-12)
    coarse = GridResampler(8).fit(X)
    np.testing.assert_allclose(coarse.inverse_transform(coarse.transform(X)), X, atol=1e-12)
    assert coarse.transform(X).dtype == np.float64


# -- errors -----------------------------------------------------------------------------------------


def test_shape_and_parameter_errors_say_what_was_expected_and_what_came():
    X = np.zeros((2, 8, 8))
    with pytest.raises(
        ValueError, match=r"2 ints >= 1 \(one per grid axis of X, grid \(8, 8\)\); got grid_shape=\(8, 8, 8\)"
    ):
        GridResampler((8, 8, 8)).fit(X)
    with pytest.raises(ValueError, match=r"got grid_shape=\(8, 0\)"):
        GridResampler((8, 0)).fit(X)
    with pytest.raises(ValueError, match="'grid_shape' parameter of GridResampler"):
        GridResampler(0).fit(X)
    with pytest.raises(ValueError, match="'method' parameter of GridResampler"):
        GridResampler(4, method="cubic").fit(X)
    with pytest.raises(ValueError, match="method='fourier' interpolates periodic data"):
        GridResampler(4, periodic=False).fit(X)
    fitted = GridResampler(4).fit(X)
    with pytest.raises(ValueError, match=r"has 1 grid axes .* fitted on 2-D grids"):
        fitted.transform(np.zeros((2, 8)))
    with pytest.raises(ValueError, match=r"has 3 channels, but the estimator was fitted with 1"):
        GridResampler(4, channel_axis=-1).fit(np.zeros((2, 8, 1))).transform(np.zeros((2, 8, 3)))
    with pytest.raises(ValueError, match="4 grid axes"):
        GridResampler(4).fit(np.zeros((2, 4, 4, 4, 4)))


# -- pipelines --------------------------------------------------------------------------------------


def test_pipeline_resamples_inputs_and_target_transformer_resamples_y():
    X, y = make_heat(24, 32, max_wavenumber=4, random_state=0)
    fno = FNORegressor(width=8, n_layers=2, n_modes=4, max_epochs=2, random_state=0)
    model = TransformedTargetRegressor(
        regressor=make_pipeline(GridResampler(16), fno),
        transformer=GridResampler(16),
        check_inverse=False,
    )
    model.fit(X, y)
    inner = model.regressor_[-1]
    assert inner.grid_shape_ == (16,)  # trained at 16 points, X and y both resampled
    pred = model.predict(X)
    assert pred.shape == y.shape  # predictions brought back to y's grid
    manual = clone(fno).fit(GridResampler(16).fit_transform(X), GridResampler(16).fit_transform(y))
    np.testing.assert_allclose(
        pred, GridResampler(32).fit_transform(manual.predict(GridResampler(16).fit_transform(X))), rtol=1e-5
    )


# -- feature names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "X, grid_shape, n_out",
    [
        (np.zeros((3, 16)), 8, 8),
        (np.zeros((3, 8, 8)), (4, 6), 24),
        (np.zeros((3, 8, 8, 2)), 4, 32),  # channels last: 4 * 4 points times 2 channels
    ],
    ids=["1-D", "2-D", "2-D-channels"],
)
def test_feature_names_out_name_the_values_of_a_resampled_sample(X, grid_shape, n_out):
    resampler = GridResampler(grid_shape, channel_axis=-1 if X.ndim == 4 else None).fit(X)
    names = resampler.get_feature_names_out()
    assert names.dtype == object and list(names) == [f"gridresampler{i}" for i in range(n_out)]
    assert resampler.transform(X)[0].size == n_out


def test_feature_names_out_of_an_unfitted_resampler_is_refused():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        GridResampler(8).get_feature_names_out()
