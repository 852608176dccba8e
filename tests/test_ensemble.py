"""EnsembleRegressor: mean and spread of seeded members, split-conformal bands and their coverage."""

from __future__ import annotations

import math
import os
import pickle
import warnings

import numpy as np
import pytest
from joblib import parallel_backend
from sklearn.base import clone
from sklearn.ensemble import ExtraTreesRegressor
from sklearn.exceptions import NotFittedError

import sklearn_amfno
import sklearn_amfno._ensemble as ensemble_module
from sklearn_amfno import AutoregressiveRegressor, EnsembleRegressor, FNORegressor
from sklearn_amfno.datasets import make_burgers

MEMBER = dict(n_modes=8, width=8, n_layers=2, lr=1e-2, batch_size=16)


@pytest.fixture(scope="module")
def burgers():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a few near-zero Burgers targets
        return make_burgers(200, 32, max_wavenumber=8, random_state=0)


@pytest.fixture(scope="module")
def calibrated(burgers):
    """5 members on 60 samples, 40 held out for calibration; 100 fresh samples to test on."""
    X, y = burgers
    ens = EnsembleRegressor(
        FNORegressor(**MEMBER, max_epochs=30), n_estimators=5, calibration_fraction=0.4, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ens.fit(X[:100], y[:100])
    return ens, X[100:], y[100:]


@pytest.fixture(scope="module")
def small(burgers):
    """A quick uncalibrated ensemble of three members."""
    X, y = burgers
    ens = EnsembleRegressor(FNORegressor(**MEMBER, max_epochs=2), n_estimators=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return ens.fit(X[:40], y[:40]), X[40:50], y[40:50]


# -- coverage ------------------------------------------------------------------------------------


def test_ninety_percent_bands_cover_85_to_95_percent_of_held_out_points(calibrated):
    ens, X_test, y_test = calibrated
    lower, upper = ens.predict_interval(X_test, coverage=0.9)
    inside = (y_test >= lower) & (y_test <= upper)
    # Every grid point of every held-out sample counts. Measured over 8 seeds in
    # benchmarks/results/ensemble_coverage.json; the guarantee is >= 0.9 in expectation.
    assert 0.85 <= inside.mean() <= 0.95, inside.mean()


def test_bands_are_mean_plus_minus_quantile_times_member_spread(calibrated):
    ens, X_test, _ = calibrated
    mean, std = ens.predict(X_test, return_std=True)
    lower, upper = ens.predict_interval(X_test, coverage=0.8)
    half = ens.conformal_quantile(0.8) * np.maximum(std, ens.std_floor_)
    np.testing.assert_allclose(upper - mean, half, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(mean - lower, half, rtol=1e-12, atol=1e-15)
    assert ens.conformal_quantile(0.8) < ens.conformal_quantile(0.9) < ens.conformal_quantile(0.95)


def test_quantiles_are_the_finite_sample_order_statistics(calibrated):
    ens, _, _ = calibrated
    scores = ens.calibration_scores_
    n, m = scores.shape
    assert n == len(ens.calibration_indices_) == 40 and m == 32
    # Pointwise: the ceil((n + 1) m 0.9)-th smallest of the n m pooled scores (n counts samples).
    k = math.ceil(0.9 * (n + 1) * m * (1 - 1e-12))
    assert k == 1181
    assert ens.conformal_quantile(0.9) == np.sort(scores.ravel())[k - 1]
    # Simultaneous: the ceil((n + 1) 0.9)-th smallest of the per-sample maxima.
    assert ens.conformal_quantile(0.9, band="simultaneous") == np.sort(scores.max(axis=1))[37 - 1]


def test_calibration_scores_are_normalised_residuals_of_held_out_samples(calibrated, burgers):
    ens, _, _ = calibrated
    X, y = burgers
    idx = ens.calibration_indices_
    mean, std = ens.predict(X[idx], return_std=True)
    expected = np.abs(y[idx] - mean) / np.maximum(std, ens.std_floor_)
    np.testing.assert_allclose(ens.calibration_scores_, expected, rtol=1e-12)
    # In-sample, the pointwise band covers the k-th smallest score and below: k / (n m) of the points
    # (give or take the boundary point, whose score is compared after rounding).
    lower, upper = ens.predict_interval(X[idx], coverage=0.9)
    covered = int(((y[idx] >= lower) & (y[idx] <= upper)).sum())
    assert covered in (1180, 1181)


def test_absolute_score_gives_bands_of_constant_width(burgers):
    X, y = burgers
    ens = EnsembleRegressor(
        FNORegressor(**MEMBER, max_epochs=2),
        n_estimators=2,
        calibration_fraction=0.5,
        conformity_score="absolute",
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ens.fit(X[:40], y[:40])
    mean = ens.predict(X[40:45])
    lower, upper = ens.predict_interval(X[40:45], coverage=0.5)
    q = ens.conformal_quantile(0.5)
    assert ens.std_floor_ is None
    np.testing.assert_allclose(upper - mean, q, rtol=1e-12)
    np.testing.assert_allclose(mean - lower, q, rtol=1e-12)


def test_too_few_calibration_samples_give_infinite_bands_with_a_warning(calibrated):
    ens, X_test, _ = calibrated
    # 40 calibration samples certify at most 40 / 41 = 97.6 %.
    with pytest.warns(UserWarning, match="cannot certify coverage=0.99"):
        lower, upper = ens.predict_interval(X_test[:2], coverage=0.99)
    assert np.isneginf(lower).all() and np.isposinf(upper).all()


# -- mean and spread -----------------------------------------------------------------------------


def test_mean_is_the_exact_average_of_the_members_and_std_their_spread(small):
    ens, X_test, _ = small
    predictions = np.stack([m.predict(X_test) for m in ens.estimators_])
    mean, std = ens.predict(X_test, return_std=True)
    assert mean.shape == std.shape == (10, 32) and mean.dtype == np.float64
    np.testing.assert_array_equal(mean, predictions.mean(axis=0, dtype=np.float64))
    np.testing.assert_array_equal(std, predictions.std(axis=0, dtype=np.float64))
    assert (std >= 0).all() and (std > 0).mean() > 0.99
    np.testing.assert_array_equal(ens.predict(X_test), mean)


def test_float32_inputs_give_float32_outputs(small):
    ens, X_test, _ = small
    mean, std = ens.predict(X_test.astype(np.float32), return_std=True)
    assert mean.dtype == std.dtype == np.float32


def test_members_get_distinct_seeds_and_differ(small):
    ens, X_test, _ = small
    seeds = [m.random_state for m in ens.estimators_]
    assert seeds == list(ens.member_seeds_) and len(set(seeds)) == 3
    a, b = (m.predict(X_test) for m in ens.estimators_[:2])
    assert np.abs(a - b).max() > 1e-4
    assert ens.estimator.random_state is None  # the template is left untouched


def test_same_random_state_gives_identical_ensembles(burgers, small):
    X, y = burgers
    ens, X_test, _ = small
    again = clone(ens)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        again.fit(X[:40], y[:40])
    np.testing.assert_array_equal(again.predict(X_test), ens.predict(X_test))


def test_parallel_fit_gives_the_members_of_the_sequential_fit(burgers):
    # Seeds are drawn before the members are dispatched, so the workers' order cannot matter.
    # A thread-safe member keeps this fast; the package's own members need processes (loky,
    # joblib's default), which the benchmark exercises.
    X, y = burgers
    member = ExtraTreesRegressor(n_estimators=3, max_features=0.5)
    sequential = EnsembleRegressor(member, n_estimators=4, random_state=0).fit(X[:40], y[:40])
    with parallel_backend("threading"):  # joblib 1.2 has no parallel_config
        parallel = clone(sequential).set_params(n_jobs=2).fit(X[:40], y[:40])
    for a, b in zip(parallel.estimators_, sequential.estimators_):
        np.testing.assert_array_equal(a.predict(X[40:50]), b.predict(X[40:50]))
    assert (
        np.abs(
            sequential.estimators_[0].predict(X[40:50]) - sequential.estimators_[1].predict(X[40:50])
        ).max()
        > 0
    )


def test_score_is_r2_of_the_mean(small):
    ens, X_test, y_test = small
    mean = ens.predict(X_test)
    expected = 1 - ((y_test - mean) ** 2).sum() / ((y_test - y_test.mean(axis=0)) ** 2).sum()
    assert ens.score(X_test, y_test) == pytest.approx(expected, rel=1e-10)


def test_autoregressive_members_roll_out_and_calibrate():
    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, 16, endpoint=False)[None, :, None]
    t = np.arange(6)[None, None, :] * 0.1
    traj = np.sin(2 * np.pi * (x - t - rng.uniform(0, 1, (30, 1, 1))))
    X, y = traj[..., :2], traj[..., 2:]
    member = AutoregressiveRegressor(
        FNORegressor(n_modes=4, width=4, n_layers=1, max_epochs=2, random_state=0)
    )
    ens = EnsembleRegressor(member, n_estimators=2, calibration_fraction=0.5, random_state=0).fit(X, y)
    # The nested seed differs per member; the rollout length reaches every member.
    assert len({m.estimator.random_state for m in ens.estimators_}) == 2
    assert ens.predict(X[:3]).shape == (3, 16, 4)
    mean, std = ens.predict(X[:3], return_std=True, n_steps=7)
    assert mean.shape == std.shape == (3, 16, 7)
    assert ens.calibration_scores_.shape == (15, 16 * 4)
    lower, upper = ens.predict_interval(X[:3], coverage=0.5)
    assert lower.shape == (3, 16, 4) and (lower <= upper).all()


# -- devices -------------------------------------------------------------------------------------


class _PidRecorder(FNORegressor):
    """Records the process it was fitted in."""

    def fit(self, X, y):
        self.fit_pid_ = os.getpid()
        return super().fit(X, y)


def test_members_on_an_accelerator_train_sequentially_with_a_warning(monkeypatch, burgers):
    X, y = burgers
    monkeypatch.setattr(ensemble_module, "_accelerator_devices", lambda estimator: ["cuda"])
    ens = EnsembleRegressor(_PidRecorder(**MEMBER, max_epochs=1), n_estimators=2, n_jobs=2, random_state=0)
    with pytest.warns(UserWarning, match="one after the other"):
        ens.fit(X[:20], y[:20])
    assert [m.fit_pid_ for m in ens.estimators_] == [os.getpid()] * 2


def test_cpu_members_find_no_accelerator():
    assert ensemble_module._accelerator_devices(FNORegressor(device="cpu")) == []
    nested = AutoregressiveRegressor(FNORegressor(device="cpu"))
    assert ensemble_module._accelerator_devices(nested) == []


# -- scikit-learn plumbing -----------------------------------------------------------------------


def test_clone_and_nested_parameters():
    ens = EnsembleRegressor(FNORegressor(width=8), n_estimators=3, calibration_fraction=0.2)
    params = ens.get_params()
    assert params["n_estimators"] == 3 and params["estimator__width"] == 8
    ens.set_params(estimator__width=4, n_estimators=2)
    assert ens.estimator.width == 4 and ens.n_estimators == 2
    twin = clone(ens)
    assert twin.get_params()["estimator__width"] == 4 and twin.estimator is not ens.estimator


def test_predict_before_fit_raises_not_fitted():
    ens = EnsembleRegressor(FNORegressor())
    with pytest.raises(NotFittedError):
        ens.predict(np.zeros((2, 8)))
    with pytest.raises(NotFittedError):
        ens.predict_interval(np.zeros((2, 8)))


def test_pickle_round_trip_gives_identical_predictions_and_bands(calibrated):
    ens, X_test, _ = calibrated
    loaded = pickle.loads(pickle.dumps(ens))
    np.testing.assert_array_equal(loaded.predict(X_test), ens.predict(X_test))
    for a, b in zip(loaded.predict_interval(X_test), ens.predict_interval(X_test)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_estimators": 0}, "'n_estimators' parameter of EnsembleRegressor must be an int"),
        ({"n_estimators": True}, "'n_estimators' parameter"),
        ({"calibration_fraction": 1.0}, "'calibration_fraction' parameter"),
        ({"conformity_score": "cqr"}, "'conformity_score' parameter"),
        ({"estimator": "fno"}, "'estimator' parameter"),
        ({"n_jobs": 0}, "'n_jobs' parameter"),
    ],
)
def test_bad_parameters_are_refused_at_fit(params, message):
    with pytest.raises((ValueError, TypeError), match=message):
        EnsembleRegressor(**params).fit(np.zeros((4, 8)), np.zeros((4, 8)))


def test_bad_data_and_combinations_are_refused_with_what_was_expected(burgers):
    X, y = burgers
    member = FNORegressor(**MEMBER, max_epochs=1)
    with pytest.raises(ValueError, match="needs n_estimators >= 2"):
        EnsembleRegressor(member, n_estimators=1, calibration_fraction=0.5).fit(X[:4], y[:4])
    with pytest.raises(ValueError, match="leaves no sample to train"):
        EnsembleRegressor(member, calibration_fraction=0.9).fit(X[:1], y[:1])
    with pytest.raises(ValueError, match="different numbers of samples: 4 and 3"):
        EnsembleRegressor(member).fit(X[:4], y[:3])
    with pytest.raises(ValueError, match="requires y to be passed"):
        EnsembleRegressor(member).fit(X[:4], None)
    # AutoregressiveRegressor() builds its operator at fit: nothing to seed.
    with pytest.raises(ValueError, match="no random_state parameter"):
        EnsembleRegressor(AutoregressiveRegressor()).fit(X[:4, :, None], y[:4, :, None])


def test_bad_interval_requests_are_refused(small, calibrated):
    ens, X_test, _ = small
    with pytest.raises(ValueError, match="calibration_fraction=None"):
        ens.predict_interval(X_test)
    cal, X_test, _ = calibrated
    for coverage in (0.0, 1.0, 1.5, float("nan"), True):
        with pytest.raises(ValueError, match="coverage must be a float in the open interval"):
            cal.predict_interval(X_test, coverage=coverage)
    with pytest.raises(ValueError, match="band must be 'pointwise' or 'simultaneous', got 'joint'"):
        cal.predict_interval(X_test, band="joint")


# -- safe persistence ----------------------------------------------------------------------------


def test_save_load_round_trip_gives_identical_predictions_and_bands(calibrated, small, tmp_path):
    ens, X_test, _ = calibrated
    ens.save(tmp_path / "ensemble.safetensors")
    loaded = sklearn_amfno.load(tmp_path / "ensemble.safetensors")
    assert type(loaded) is EnsembleRegressor and loaded.get_params()["estimator__width"] == 8
    np.testing.assert_array_equal(loaded.member_seeds_, ens.member_seeds_)
    np.testing.assert_array_equal(loaded.calibration_scores_, ens.calibration_scores_)
    np.testing.assert_array_equal(loaded.predict(X_test), ens.predict(X_test))
    for a, b in zip(loaded.predict_interval(X_test), ens.predict_interval(X_test)):
        np.testing.assert_array_equal(a, b)
    # Without calibration the empty calibration state comes back as None.
    plain, X_small, _ = small
    plain.save(tmp_path / "plain.safetensors")
    loaded = sklearn_amfno.load(tmp_path / "plain.safetensors")
    assert loaded.calibration_scores_ is None and loaded.std_floor_ is None
    np.testing.assert_array_equal(loaded.predict(X_small), plain.predict(X_small))


def test_save_refuses_members_it_cannot_store_safely(burgers, tmp_path):
    X, y = burgers
    ens = EnsembleRegressor(ExtraTreesRegressor(n_estimators=2), n_estimators=2, random_state=0).fit(
        X[:20], y[:20]
    )
    with pytest.raises(TypeError, match="ExtraTreesRegressor is not an estimator class"):
        ens.save(tmp_path / "trees.safetensors")
