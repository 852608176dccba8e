"""AutoregressiveRegressor: windows, rollout, training through the rollout, scikit-learn plumbing."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from sklearn_amfno import AMFNORegressor, AutoregressiveRegressor, FNORegressor
from sklearn_amfno.datasets import advection_solution, make_heat

FNO_SMALL = dict(n_modes=8, width=16, n_layers=2, lr=1e-2, batch_size=16, random_state=0)


def advection_trajectories(n_samples, resolution, n_frames, *, dt=0.05, velocity=0.5, seed=0):
    """Exact periodic advection sampled every ``dt``: frames (n, N, n_frames), smooth data."""
    u0, _ = make_heat(n_samples, resolution, max_wavenumber=4, time=0.0, random_state=seed)
    frames = [advection_solution(u0, velocity, k * dt, n_dim=1) for k in range(n_frames)]
    return np.stack(frames, axis=-1)


def per_step_error(y_true, y_pred):
    err = np.linalg.norm(y_pred - y_true, axis=1) / np.linalg.norm(y_true, axis=1)
    return err.mean(axis=0)


class ShiftByOne(FNORegressor):
    """A stand-in one-step model with a known answer: every field of each next frame is the last
    frame's value plus one per frame (it still fits, so the meta-estimator's plumbing runs)."""

    frames = 1  # frames per step, set by a subclass per test (clone keeps the class)

    def predict(self, X):
        X = np.asarray(X)
        f = self.n_outputs_ // self.frames
        last = X[..., -f:]
        return np.concatenate([last + k + 1 for k in range(self.frames)], axis=-1)


def _frame_stub(n_steps_out):
    stub_class = type("ShiftByOneStub", (ShiftByOne,), {"frames": n_steps_out})
    return stub_class(n_modes=2, width=2, n_layers=1, max_epochs=1, random_state=0)


@pytest.mark.parametrize("n_fields, n_steps_out", [(1, 1), (2, 1), (3, 2)])
def test_rollout_feeds_predictions_back_in_frame_major_layout(n_fields, n_steps_out):
    n_in, n_out = 3, 4
    frame = np.arange(n_in + n_out)[None, None, :, None] * 10.0
    field = np.arange(n_fields)[None, None, None, :]
    traj = (frame + field + np.zeros((5, 8, 1, 1))).reshape(5, 8, -1)  # value = 10 * frame + field
    X, y = traj[..., : n_in * n_fields], traj[..., n_in * n_fields :]
    est = AutoregressiveRegressor(_frame_stub(n_steps_out), n_steps_out=n_steps_out, n_fields=n_fields)
    est.fit(X, y)
    assert est.n_in_ == n_in and est.n_frames_out_ == n_out
    assert est.n_windows_ == n_out - n_steps_out + 1
    pred = est.predict(X, n_steps=5)
    assert pred.shape == (5, 8, 5 * n_fields)
    # The stub adds one per frame to the last input frame: 10 * (n_in - 1) + field + k.
    expected = np.concatenate([10.0 * (n_in - 1) + np.arange(n_fields) + k for k in range(1, 6)])
    np.testing.assert_allclose(pred[0, 0], expected)


@pytest.mark.slow
def test_one_step_model_rolls_out_ten_steps_within_the_accumulation_bound():
    # Exact advection: the one-step map is a Fourier multiplier an FNO holds exactly.
    traj = advection_trajectories(96, 32, 12)
    train, test = traj[:64], traj[64:]
    est = AutoregressiveRegressor(FNORegressor(**FNO_SMALL, max_epochs=60))
    est.fit(train[..., :1], train[..., 1:2])  # trained on one step only
    one_step = per_step_error(test[..., 1], est.predict(test[..., :1], n_steps=1)[..., 0])
    pred = est.predict(test[..., :1], n_steps=10)
    errors = per_step_error(test[..., 1:11], pred)
    # Errors of a linear, norm-preserving step add up at most linearly: bound 1.5 * k * e_1 + 1e-3.
    bound = 1.5 * np.arange(1, 11) * one_step + 1e-3
    assert errors[0] < 0.05
    assert np.all(errors <= bound), (errors, bound)


def test_training_through_the_rollout_runs_through_the_skorch_net():
    traj = advection_trajectories(40, 32, 8)
    X, y = traj[..., :2], traj[..., 2:]
    est = AutoregressiveRegressor(
        FNORegressor(**FNO_SMALL, max_epochs=3), training="rollout", rollout_steps=3
    )
    est.fit(X, y)
    assert est.rollout_steps_ == 3 and est.n_windows_ == 4  # 6 target frames, windows of 3
    history = est.estimator_.net_.history
    assert len(history) == 3 and np.isfinite(history[-1, "train_loss"])
    # The fitted estimator keeps the one-step model: 2 frames in, 1 out.
    assert est.estimator_.n_channels_in_ == 2 and est.estimator_.n_outputs_ == 1
    assert est.predict(X).shape == y.shape


def test_rollout_training_defaults_to_every_frame_of_y():
    traj = advection_trajectories(8, 16, 7)
    est = AutoregressiveRegressor(FNORegressor(**FNO_SMALL, max_epochs=1), n_steps_out=2, training="rollout")
    est.fit(traj[..., :1], traj[..., 1:])
    assert est.rollout_steps_ == 3 and est.n_windows_ == 1


@pytest.mark.slow
def test_rollout_of_a_coarse_model_runs_on_a_finer_grid():
    fine = advection_trajectories(96, 64, 8)
    coarse = fine[:, ::2]
    est = AutoregressiveRegressor(FNORegressor(**FNO_SMALL, max_epochs=40)).fit(
        coarse[:64, :, :2], coarse[:64, :, 2:]
    )
    err_coarse = per_step_error(coarse[64:, :, 2:], est.predict(coarse[64:, :, :2])).mean()
    pred_fine = est.predict(fine[64:, :, :2])
    assert pred_fine.shape == fine[64:, :, 2:].shape
    err_fine = per_step_error(fine[64:, :, 2:], pred_fine).mean()
    assert err_fine <= 1.5 * err_coarse + 1e-3, (err_fine, err_coarse)


@pytest.mark.slow
def test_score_is_the_r2_of_the_whole_rollout():
    traj = advection_trajectories(48, 32, 6)
    est = AutoregressiveRegressor(FNORegressor(**FNO_SMALL, max_epochs=30)).fit(
        traj[:32, :, :2], traj[:32, :, 2:]
    )
    score = est.score(traj[32:, :, :2], traj[32:, :, 2:])
    assert 0.9 < score <= 1.0


def test_clone_params_grid_search_and_pickle():
    traj = advection_trajectories(24, 16, 5)
    X, y = traj[..., :2], traj[..., 2:]
    est = AutoregressiveRegressor(FNORegressor(n_modes=4, width=4, max_epochs=2, random_state=0))
    params = est.get_params()
    assert params["estimator__n_modes"] == 4 and params["n_fields"] == 1
    assert clone(est).get_params()["estimator__width"] == 4
    search = GridSearchCV(est, {"estimator__n_modes": [2, 4]}, cv=2).fit(X, y)
    assert set(search.cv_results_["param_estimator__n_modes"]) == {2, 4}
    fitted = est.fit(X, y)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))
    # The user's estimator is not touched: the meta-estimator trains a clone.
    assert not hasattr(est.estimator, "net_") and est.estimator.channel_axis is None


@pytest.mark.slow
def test_amfno_is_the_default_one_step_operator():
    traj = advection_trajectories(8, 16, 4)
    est = AutoregressiveRegressor(n_fields=1)
    assert est.get_params()["estimator"] is None
    est.fit(traj[..., :2], traj[..., 2:])
    assert type(est.estimator_) is AMFNORegressor


@pytest.mark.parametrize(
    "X_shape, y_shape, params, match",
    [
        ((4, 16, 3), (4, 16, 4), dict(n_fields=2), "not a multiple of n_fields=2"),
        ((4, 16, 2), (4, 16, 3), dict(n_fields=2), "y has 3 channels on its last axis, not a multiple"),
        ((4, 16, 2), (4, 16, 1), dict(n_steps_out=2), "y holds 1 frames, fewer than n_steps_out=2"),
        ((4, 16, 2), (4, 8, 2), {}, "does not lie on X's grid"),
        ((4, 16), (4, 16, 2), {}, "must be \\(n_samples, \\*grid, n_frames \\* n_fields\\)"),
        ((4, 16, 2), (4, 16, 4), dict(training="rollout", rollout_steps=5), "need 5 target frames"),
    ],
)
def test_bad_layouts_are_refused_with_what_was_expected(X_shape, y_shape, params, match):
    est = AutoregressiveRegressor(FNORegressor(n_modes=2, width=2, max_epochs=1), **params)
    with pytest.raises(ValueError, match=match):
        est.fit(np.ones(X_shape), np.ones(y_shape))


def test_bad_predict_calls_are_refused():
    traj = advection_trajectories(8, 16, 5)
    est = AutoregressiveRegressor(FNORegressor(n_modes=2, width=2, max_epochs=1)).fit(
        traj[..., :2], traj[..., 2:]
    )
    with pytest.raises(ValueError, match="n_steps must be a positive int"):
        est.predict(traj[..., :2], n_steps=0)
    with pytest.raises(ValueError, match="has 2 grid axes, but the estimator was fitted on 1-D grids"):
        est.predict(np.ones((2, 16, 16, 2)))
    with pytest.raises(ValueError, match="X holds 3 frames"):
        est.predict(traj[..., :3])
    with pytest.raises(ValueError, match="'estimator' parameter"):
        AutoregressiveRegressor(estimator="fno").fit(traj[..., :2], traj[..., 2:])
