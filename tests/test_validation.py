"""Bad input gives ValueError/TypeError (or NotFittedError) saying what was expected and what came."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from sklearn_amfno import AMFNORegressor, FNORegressor

RNG = np.random.default_rng(0)
X = RNG.standard_normal((10, 16))
Y = RNG.standard_normal((10, 16))
FAST = dict(width=4, n_layers=1, max_epochs=1, random_state=0)


@pytest.fixture(scope="module")
def fitted():
    return AMFNORegressor(**FAST).fit(X, Y)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_x_and_y(bad):
    Xb, Yb = X.copy(), Y.copy()
    Xb[0, 3], Yb[1, 2] = bad, bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        AMFNORegressor(**FAST).fit(Xb, Y)
    with pytest.raises(ValueError, match="NaN|infinity"):
        AMFNORegressor(**FAST).fit(X, Yb)


def test_float32_overflow_is_reported():
    with pytest.raises(ValueError, match="overflow float32"):
        AMFNORegressor(**FAST).fit(X * 1e300, Y)


def test_wrong_rank():
    with pytest.raises(ValueError, match="Expected 2D array"):
        AMFNORegressor(**FAST).fit(X[:, 0], Y)
    with pytest.raises(ValueError, match="1, 2 or 3 grid axes"):
        AMFNORegressor(**FAST).fit(np.zeros((4, 2, 2, 2, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="1, 2 or 3 grid axes"):
        AMFNORegressor(**FAST, channel_axis=-1).fit(X, Y)  # (n, channels) has no grid axis


def test_predict_checks_dimension_and_channels(fitted):
    with pytest.raises(ValueError, match="2 grid axes .* fitted on 1-D grids"):
        fitted.predict(np.zeros((2, 8, 8)))
    est = AMFNORegressor(**FAST, channel_axis=-1).fit(np.zeros((4, 8, 3)) + X[:4, :8, None], Y[:4, :8])
    with pytest.raises(ValueError, match="X of shape .* has 2 channels, but the estimator was fitted with 3"):
        est.predict(np.zeros((2, 8, 2)))


def test_grid_mismatch_between_x_and_y():
    X2 = RNG.standard_normal((10, 8, 8))
    with pytest.raises(ValueError, match=r"does not lie on X's grid \(8, 8\)"):
        AMFNORegressor(**FAST).fit(X2, np.zeros((10, 8, 6)))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        AMFNORegressor(**FAST).fit(X, Y[:9])


def test_empty_arrays():
    with pytest.raises(ValueError, match="0 sample"):
        AMFNORegressor(**FAST).fit(np.zeros((0, 16)), np.zeros((0, 16)))
    with pytest.raises(ValueError, match="0 feature"):
        AMFNORegressor(**FAST).fit(np.zeros((4, 0)), np.zeros(4))
    with pytest.raises(ValueError, match="empty grid axis"):
        AMFNORegressor(**FAST).fit(np.zeros((4, 3, 0)), np.zeros(4))


def test_predict_before_fit():
    with pytest.raises(NotFittedError):
        AMFNORegressor().predict(X)
    with pytest.raises(NotFittedError):
        FNORegressor().module_  # noqa: B018


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(width=0), "'width' parameter of AMFNORegressor must be an int in the range"),
        (dict(basis="hermite"), "'basis' parameter of AMFNORegressor must be a str among"),
        (dict(kernel="rbf"), "'kernel' parameter"),
        (dict(n_basis=0), "'n_basis' parameter"),
        (dict(lr=-1.0), "'lr' parameter"),
        (dict(channel_axis=0), "'channel_axis' parameter"),
        (dict(max_epochs=1.5), "'max_epochs' parameter"),
        (dict(factorization="full"), "'factorization' parameter"),
        (dict(validation_fraction=1.0), "'validation_fraction' parameter"),
    ],
)
def test_invalid_hyperparameters_caught_at_fit(params, message):
    est = AMFNORegressor(**{**FAST, **params})  # construction never validates
    with pytest.raises((ValueError, TypeError), match=message):
        est.fit(X, Y)


@pytest.mark.parametrize("n_modes", [0, (4, 4), (2.5,), "all"])
def test_invalid_n_modes(n_modes):
    with pytest.raises((ValueError, TypeError), match="n_modes"):
        FNORegressor(**FAST, n_modes=n_modes).fit(X, Y)


def test_complex_and_object_inputs_rejected():
    with pytest.raises(ValueError, match="Complex data not supported"):
        AMFNORegressor(**FAST).fit(X + 1j, Y)
    with pytest.raises(ValueError):
        AMFNORegressor(**FAST).fit(np.array([["a"] * 16] * 10, dtype=object), Y)


def test_int_bool_and_list_inputs_are_converted():
    est = AMFNORegressor(**FAST).fit((X > 0).tolist(), (Y * 10).astype(int))
    assert est.predict((X > 0).astype(int)).dtype == np.float64
