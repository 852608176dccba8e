"""The estimators inside scikit-learn's machinery: clone, Pipeline, cross-validation, grid search."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_amfno import AMFNORegressor, FNORegressor
from sklearn_amfno.datasets import make_heat
from sklearn_amfno.metrics import relative_l2_error, relative_l2_scorer
from sklearn_amfno.preprocessing import GridStandardScaler

FAST = dict(width=8, n_layers=1, max_epochs=4, lr=1e-2, random_state=0)


@pytest.fixture(scope="module")
def data():
    return make_heat(48, 16, diffusivity=0.005, random_state=0)


def test_clone_keeps_params_and_drops_state(data):
    X, y = data
    est = AMFNORegressor(basis="legendre", n_basis=6, **FAST).fit(X, y)
    twin = clone(est)
    assert twin.get_params() == est.get_params()
    assert not hasattr(twin, "net_")
    twin.set_params(kernel="kan", kan_grid_size=3)
    assert twin.get_params()["kernel"] == "kan" and est.kernel == "mlp"


def test_pipeline_with_preprocessing(data):
    X, y = data
    pipe = make_pipeline(GridStandardScaler(), FunctionTransformer(np.tanh), FNORegressor(n_modes=6, **FAST))
    pipe.fit(X, y)
    assert pipe.predict(X).shape == y.shape
    assert np.isfinite(pipe.score(X, y))


def test_cross_val_score_with_relative_l2_scorer(data):
    X, y = data
    scores = cross_val_score(AMFNORegressor(**FAST), X, y, cv=KFold(3), scoring=relative_l2_scorer)
    assert scores.shape == (3,)
    assert np.all(scores < 0) and np.all(scores > -1)  # negated relative errors
    r2 = cross_val_score(AMFNORegressor(**{**FAST, "max_epochs": 12}), X, y, cv=KFold(3))
    assert np.all(r2 > 0)


def test_grid_search_over_basis_and_kernel_in_parallel(data):
    X, y = data
    search = GridSearchCV(
        AMFNORegressor(**FAST),
        {"basis": ["chebyshev", "fourier"], "kernel": ["mlp", "kan"]},
        cv=KFold(2),
        scoring=relative_l2_scorer,
        n_jobs=2,
    )
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_params_ in search.cv_results_["params"]
    best = search.cv_results_["mean_test_score"].max()
    assert search.best_score_ == best
    assert relative_l2_error(y, search.best_estimator_.predict(X)) == pytest.approx(
        -relative_l2_scorer(search.best_estimator_, X, y)
    )


def test_grid_standard_scaler_is_grid_independent():
    X, _ = make_heat(20, 16, random_state=0)
    X_fine, _ = make_heat(20, 32, random_state=0)
    scaler = GridStandardScaler().fit(X)
    np.testing.assert_allclose(scaler.transform(X_fine)[:, ::2], scaler.transform(X))
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X)), X)
    Xc = np.stack([X, 3 * X + 1], axis=-1)
    scaled = GridStandardScaler(channel_axis=-1).fit_transform(Xc)
    np.testing.assert_allclose(scaled.mean(axis=(0, 1)), 0, atol=1e-12)
    np.testing.assert_allclose(scaled.std(axis=(0, 1)), 1)
    with pytest.raises(ValueError, match="channels"):
        GridStandardScaler(channel_axis=-1).fit(Xc).transform(Xc[..., :1])
