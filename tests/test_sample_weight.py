"""``fit(X, y, sample_weight=...)``: scikit-learn's meaning, through searches, pipelines, the
validation split, streamed data and the meta-estimators; and scoring fields in searches."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import warnings

import numpy as np
import pytest
import sklearn
import torch
from sklearn.base import clone
from sklearn.metrics import get_scorer, make_scorer, r2_score
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import Pipeline, make_pipeline

from sklearn_amfno import AutoregressiveRegressor, EnsembleRegressor, FNORegressor
from sklearn_amfno._streaming import ChannelMoments
from sklearn_amfno.datasets import make_darcy
from sklearn_amfno.metrics import field_scorer, relative_l2_error
from sklearn_amfno.nn.losses import RelativeL2Loss, SampleWeightedLoss, ScaledMSELoss
from sklearn_amfno.preprocessing import GridStandardScaler, channel_statistics

# batch_size above every sample count here: one batch per epoch (a full-batch fit), where a
# weight is exactly a count of copies.
TINY = dict(n_modes=4, width=4, n_layers=1, max_epochs=3, lr=1e-2, batch_size=64, random_state=0)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 16)).astype(np.float32)
    y = (np.cumsum(X, axis=1) * 0.3 + 1.0).astype(np.float32)
    return X, y


WEIGHTS = np.array([1.0, 2.0, 0.0, 3.0, 1.0, 1.0, 2.0, 1.0, 0.0, 4.0, 1.0, 2.0])


def _close(a, b):
    # Equal up to float32 rounding: the weighted and the repeated fits add the same terms in
    # another order.
    np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-5 * np.abs(b).max())


# -- the meaning of a weight --------------------------------------------------------------------------


@pytest.mark.parametrize("weights", [np.full(12, 2.0), np.ones(12), 3.5, [0.25] * 12])
def test_equal_weights_fit_exactly_as_no_weights(data, weights):
    X, y = data
    ref = FNORegressor(**TINY, validation_fraction=0.25).fit(X, y)
    est = FNORegressor(**TINY, validation_fraction=0.25).fit(X, y, sample_weight=weights)
    assert [h["train_loss"] for h in est.net_.history] == [h["train_loss"] for h in ref.net_.history]
    assert [h["valid_loss"] for h in est.net_.history] == [h["valid_loss"] for h in ref.net_.history]
    np.testing.assert_array_equal(est.predict(X), ref.predict(X))


def test_a_zero_weight_drops_the_sample(data):
    X, y = data
    weights = np.ones(len(X))
    weights[[2, 7]] = 0.0
    keep = weights > 0
    est = FNORegressor(**TINY).fit(X, y, sample_weight=weights)
    ref = FNORegressor(**TINY).fit(X[keep], y[keep])
    _close(est.predict(X), ref.predict(X))
    _close(np.array(est.net_.history[:, "train_loss"]), np.array(ref.net_.history[:, "train_loss"]))
    # The scaling statistics are those of the kept samples.
    for name, buffer in ref.module_.named_buffers():
        _close(dict(est.module_.named_buffers())[name].numpy(), buffer.numpy())


def test_integer_weights_count_as_copies_of_the_samples(data):
    X, y = data
    repeated = np.repeat(np.arange(len(X)), WEIGHTS.astype(int))
    est = FNORegressor(**TINY).fit(X, y, sample_weight=WEIGHTS)
    ref = FNORegressor(**TINY).fit(X[repeated], y[repeated])
    _close(est.predict(X), ref.predict(X))
    _close(np.array(est.net_.history[:, "train_loss"]), np.array(ref.net_.history[:, "train_loss"]))


def test_scaling_every_weight_changes_nothing(data):
    X, y = data
    est = FNORegressor(**TINY).fit(X, y, sample_weight=WEIGHTS)
    ref = FNORegressor(**TINY).fit(X, y, sample_weight=WEIGHTS * 7.0)
    _close(est.predict(X), ref.predict(X))


def test_weights_change_the_fit_and_work_for_per_sample_targets(data):
    X, y = data
    weighted = FNORegressor(**TINY).fit(X, y, sample_weight=WEIGHTS)
    assert not np.allclose(weighted.predict(X), FNORegressor(**TINY).fit(X, y).predict(X))
    # Per-sample targets (the standardised MSE), a zero weight again dropping its sample.
    target = y.mean(axis=1)
    weights = np.ones(len(X))
    weights[3] = 0.0
    est = FNORegressor(**TINY).fit(X, target, sample_weight=weights)
    ref = FNORegressor(**TINY).fit(np.delete(X, 3, axis=0), np.delete(target, 3))
    _close(est.predict(X), ref.predict(X))


@pytest.mark.parametrize(
    "weights, match",
    [
        (-WEIGHTS, "[Nn]egative"),
        (np.where(WEIGHTS > 0, np.nan, 0.0), "NaN"),
        (np.full(12, np.inf), "infinity"),
        (np.ones(11), "shape|samples"),
        (np.ones((12, 2)), "1D|1 dimension|shape"),
        (np.zeros(12), "non-zero"),
    ],
)
def test_invalid_weights_are_refused_before_training(data, weights, match):
    X, y = data
    est = FNORegressor(**TINY)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y, sample_weight=weights)
    assert not hasattr(est, "net_")


def test_weights_of_zero_samples_raise_no_degenerate_target_warning(data):
    X, y = data
    y = y.copy()
    y[5] = 0.0  # a degenerate target, but dropped by its weight
    weights = np.ones(len(X))
    weights[5] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        FNORegressor(**{**TINY, "max_epochs": 1}).fit(X, y, sample_weight=weights)
    with pytest.warns(UserWarning, match="norm below"):
        FNORegressor(**{**TINY, "max_epochs": 1}).fit(X, y, sample_weight=weights + 1)


# -- the validation split -------------------------------------------------------------------------


def _split(est, n):
    """The (training, validation) indices of the fitted estimator's validation split."""
    train, valid = est.net_.train_split(np.zeros((n, 1)))
    return np.asarray(train.indices), np.asarray(valid.indices)


def test_weights_follow_their_samples_into_the_validation_split(data):
    X, y = data
    est = FNORegressor(**TINY, validation_fraction=0.5).fit(X, y, sample_weight=WEIGHTS + 0.5)
    _, valid = _split(est, len(X))
    # The last epoch's validation loss is the weighted mean relative L2 error of the final model
    # over the validation samples.
    errors = relative_l2_error(y[valid], est.predict(X[valid]), multioutput="raw_values")
    expected = np.average(errors, weights=(WEIGHTS + 0.5)[valid])
    assert est.net_.history[-1, "valid_loss"] == pytest.approx(expected, rel=1e-5)
    assert est.net_.history[-1, "valid_loss"] != pytest.approx(errors.mean(), rel=1e-3)


def test_a_validation_split_of_zero_weights_is_refused(data):
    X, y = data
    probe = FNORegressor(**{**TINY, "max_epochs": 1}, validation_fraction=0.25).fit(X, y)
    train, valid = _split(probe, len(X))
    weights = np.ones(len(X))
    weights[valid] = 0.0
    est = FNORegressor(**TINY, validation_fraction=0.25)
    with pytest.raises(ValueError, match="validation split has sample_weight 0"):
        est.fit(X, y, sample_weight=weights)
    assert not hasattr(est, "net_")
    weights = np.ones(len(X))
    weights[train] = 0.0
    with pytest.raises(ValueError, match="training split has sample_weight 0"):
        est.fit(X, y, sample_weight=weights)


def test_early_stopping_and_warm_start_take_weights(data):
    X, y = data
    est = FNORegressor(**TINY, early_stopping=True, validation_fraction=0.25, n_iter_no_change=2)
    est.fit(X, y, sample_weight=WEIGHTS + 1)
    assert est.best_epoch_ is not None
    warm = FNORegressor(**TINY, warm_start=True).fit(X, y, sample_weight=WEIGHTS)
    scale = warm.module_.y_scale.clone()
    warm.fit(X, y, sample_weight=WEIGHTS[::-1].copy())
    assert warm.n_epochs_ == 2 * TINY["max_epochs"]
    assert torch.equal(warm.module_.y_scale, scale)  # a warm start keeps the first scaling


# -- searches, cross-validation, pipelines --------------------------------------------------------


def _manual_fold_scores(est, X, y, weights, cv, scorer=None, score_weights=False):
    scores = []
    for train, test in cv.split(X):
        fitted = clone(est).fit(X[train], y[train], sample_weight=weights[train])
        kwargs = {"sample_weight": weights[test]} if score_weights else {}
        if scorer is None:
            scores.append(fitted.score(X[test], y[test], **kwargs))
        else:
            scores.append(scorer(fitted, X[test], y[test], **kwargs))
    return np.array(scores)


def test_grid_search_passes_weights_to_fit_as_fit_params(data):
    X, y = data
    cv = KFold(2)
    est = FNORegressor(**TINY)
    search = GridSearchCV(est, {"lr": [1e-2]}, cv=cv, refit=False).fit(X, y, sample_weight=WEIGHTS)
    # scikit-learn >= 1.7 also weighs the scores when the scorer takes weights (here est.score).
    weighs_scores = tuple(int(p) for p in sklearn.__version__.split(".")[:2]) >= (1, 7)
    expected = _manual_fold_scores(est, X, y, WEIGHTS, cv, score_weights=weighs_scores)
    got = np.array([search.cv_results_[f"split{i}_test_score"][0] for i in range(2)])
    np.testing.assert_array_equal(got, expected)
    unweighted = GridSearchCV(est, {"lr": [1e-2]}, cv=cv, refit=False).fit(X, y)
    assert unweighted.cv_results_["mean_test_score"][0] != search.cv_results_["mean_test_score"][0]


def test_estimators_declare_sample_weight_as_fit_metadata():
    requests = FNORegressor().get_metadata_routing().fit.requests
    assert "sample_weight" in requests
    assert "sample_weight" in AutoregressiveRegressor().get_metadata_routing().fit.requests
    assert "sample_weight" in EnsembleRegressor().get_metadata_routing().fit.requests


def test_cross_validate_routes_weights_to_fit_and_scorer(data):
    X, y = data
    cv = KFold(2)
    with sklearn.config_context(enable_metadata_routing=True):
        est = FNORegressor(**TINY).set_fit_request(sample_weight=True)
        scorer = field_scorer("r2").set_score_request(sample_weight=True)
        result = cross_validate(est, X, y, cv=cv, scoring=scorer, params={"sample_weight": WEIGHTS})
        expected = _manual_fold_scores(FNORegressor(**TINY), X, y, WEIGHTS, cv, scorer, score_weights=True)
        # Asked for, never set: scikit-learn refuses the weights rather than dropping them.
        with pytest.raises(sklearn.exceptions.UnsetMetadataPassedError):
            cross_validate(FNORegressor(**TINY), X, y, cv=cv, params={"sample_weight": WEIGHTS})
    np.testing.assert_array_equal(result["test_score"], expected)


def test_pipeline_passes_weights_by_step_name_and_by_routing(data):
    X, y = data
    ref = FNORegressor(**TINY).fit(GridStandardScaler().fit_transform(X), y, sample_weight=WEIGHTS)
    pipe = make_pipeline(GridStandardScaler(), FNORegressor(**TINY))
    pipe.fit(X, y, fnoregressor__sample_weight=WEIGHTS)
    np.testing.assert_array_equal(pipe.predict(X), ref.predict(GridStandardScaler().fit_transform(X)))
    with sklearn.config_context(enable_metadata_routing=True):
        routed = Pipeline(
            [
                ("scale", GridStandardScaler()),
                (
                    "regressor",
                    FNORegressor(**TINY)
                    .set_fit_request(sample_weight=True)
                    .set_score_request(sample_weight=True),
                ),
            ]
        )
        routed.fit(X, y, sample_weight=WEIGHTS)
        scorer = field_scorer("r2").set_score_request(sample_weight=True)
        search = GridSearchCV(routed, {"regressor__lr": [1e-2]}, cv=KFold(2), scoring=scorer)
        search.fit(X, y, sample_weight=WEIGHTS)
    np.testing.assert_array_equal(routed.predict(X), pipe.predict(X))
    assert np.isfinite(search.best_score_)


# -- streamed data and the meta-estimators ----------------------------------------------------------


def _memmap(path, a):
    m = np.memmap(path, dtype=a.dtype, mode="w+", shape=a.shape)
    m[:] = a
    m.flush()
    return np.memmap(path, dtype=a.dtype, mode="r", shape=a.shape)


def test_streamed_data_take_weights_as_data_in_memory(tmp_path, data, monkeypatch):
    import sklearn_amfno._streaming as streaming

    monkeypatch.setattr(streaming, "CHUNK_BYTES", 16 * 4 * 5)  # several chunks per pass
    X, y = data
    params = {**TINY, "batch_size": 4, "validation_fraction": 0.25}
    ref = FNORegressor(**params).fit(X, y, sample_weight=WEIGHTS + 1)
    est = FNORegressor(**params).fit(
        _memmap(tmp_path / "X", X), _memmap(tmp_path / "y", y), sample_weight=WEIGHTS + 1
    )
    for name, buffer in ref.module_.named_buffers():
        np.testing.assert_allclose(dict(est.module_.named_buffers())[name].numpy(), buffer.numpy(), rtol=1e-6)
    _close(np.array(est.net_.history[:, "valid_loss"]), np.array(ref.net_.history[:, "valid_loss"]))
    _close(est.predict(X), ref.predict(X))


def test_weighted_statistics_count_weights_as_copies():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(9, 2, 5)) * np.array([1.0, 30.0])[:, None] + 4
    weights = np.array([0, 1, 2, 3, 1, 0, 2, 1, 1.0])
    copies = np.repeat(np.arange(9), weights.astype(int))
    ref_mean, ref_scale = channel_statistics(a[copies], axis=1)
    mean, scale = channel_statistics(a, axis=1, sample_weight=weights)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-12)
    np.testing.assert_allclose(scale, ref_scale, rtol=1e-12)
    moments = ChannelMoments()
    for start in range(0, 9, 4):
        moments.update(a[start : start + 4], weights[start : start + 4])
    np.testing.assert_allclose(moments.statistics()[0], ref_mean, rtol=1e-12)
    np.testing.assert_allclose(moments.statistics()[1], ref_scale, rtol=1e-12)


@pytest.mark.parametrize("training", ["one_step", "rollout", "pushforward"])
def test_autoregressive_weights_are_per_trajectory(training):
    rng = np.random.default_rng(2)
    t = np.arange(6)[None, None, :] * 0.1
    x = np.linspace(0, 1, 16, endpoint=False)[None, :, None]
    trajectories = np.sin(2 * np.pi * (x - t - rng.uniform(0, 1, (8, 1, 1)))).astype(np.float32)
    X, y = trajectories[..., :2], trajectories[..., 2:]
    weights = np.array([1.0, 0.0, 2.0, 1.0, 1.0, 3.0, 1.0, 1.0])
    est = AutoregressiveRegressor(FNORegressor(**TINY), training=training, rollout_steps=2)
    est.fit(X, y, sample_weight=weights)
    keep, copies = weights > 0, np.repeat(np.arange(8), weights.astype(int))
    dropped = clone(est).fit(X[keep], y[keep], sample_weight=weights[keep])
    repeated = clone(est).fit(X[copies], y[copies])
    _close(est.predict(X), dropped.predict(X))
    _close(est.predict(X), repeated.predict(X))
    with pytest.raises(ValueError, match="shape"):
        clone(est).fit(X, y, sample_weight=np.ones(3))


def test_ensemble_passes_weights_to_every_member(data):
    X, y = data
    member = FNORegressor(**TINY)
    ens = EnsembleRegressor(member, n_estimators=2, random_state=0).fit(X, y, sample_weight=WEIGHTS)
    for fitted, seed in zip(ens.estimators_, ens.member_seeds_):
        ref = clone(member).set_params(random_state=int(seed)).fit(X, y, sample_weight=WEIGHTS)
        np.testing.assert_array_equal(fitted.predict(X), ref.predict(X))
    # Calibration leaves out the held-out samples of weight 0.
    calibrated = EnsembleRegressor(member, n_estimators=2, calibration_fraction=0.5, random_state=0)
    calibrated.fit(X, y, sample_weight=WEIGHTS)
    plain = clone(calibrated).fit(X, y)
    assert set(calibrated.calibration_indices_) == {i for i in plain.calibration_indices_ if WEIGHTS[i] > 0}
    assert len(calibrated.calibration_scores_) == len(calibrated.calibration_indices_)
    with pytest.raises(TypeError, match="takes no sample_weight"):
        EnsembleRegressor(make_pipeline(member), n_estimators=2, random_state=0).fit(
            X, y, sample_weight=WEIGHTS
        )


def test_score_weighs_samples(data):
    X, y = data
    est = FNORegressor(**TINY).fit(X, y)
    pred = est.predict(X)
    expected = r2_score(y, pred, sample_weight=WEIGHTS, multioutput="variance_weighted")
    assert est.score(X, y, sample_weight=WEIGHTS) == pytest.approx(expected, rel=1e-12)
    keep = WEIGHTS > 0
    assert est.score(X, y, sample_weight=keep.astype(float)) == pytest.approx(
        est.score(X[keep], y[keep]), rel=1e-9
    )


# -- the loss -------------------------------------------------------------------------------------


def test_sample_weighted_loss_is_the_weighted_mean_of_per_sample_losses():
    rng = np.random.default_rng(3)
    y = torch.tensor(rng.normal(size=(5, 2, 8)), dtype=torch.float64)
    pred = y + 0.1 * torch.tensor(rng.normal(size=(5, 2, 8)))
    w = torch.tensor([0.0, 1.0, 2.0, 1.0, 1.0], dtype=torch.float64)
    w = w / w.mean()
    per_sample = RelativeL2Loss(reduction="none")(pred, y)
    assert per_sample.shape == (5,)
    assert RelativeL2Loss()(pred, y).item() == pytest.approx(per_sample.mean().item(), rel=1e-12)
    got = SampleWeightedLoss(RelativeL2Loss(reduction="none"))(pred, y, sample_weight=w)
    assert got.item() == pytest.approx(np.average(per_sample.numpy(), weights=w.numpy()), rel=1e-12)
    # Per-value losses (torch's reduction="none") are averaged per sample first.
    mse = SampleWeightedLoss(torch.nn.MSELoss(reduction="none"))(pred, y, sample_weight=w)
    per_sample_mse = ((pred - y) ** 2).flatten(1).mean(1)
    assert mse.item() == pytest.approx(np.average(per_sample_mse.numpy(), weights=w.numpy()), rel=1e-12)
    scaled = ScaledMSELoss(2.0, reduction="none")(pred, y)
    assert scaled.mean().item() == pytest.approx(ScaledMSELoss(2.0)(pred, y).item(), rel=1e-12)
    with pytest.raises(ValueError, match="one loss per sample"):
        SampleWeightedLoss(torch.nn.MSELoss())(pred, y, sample_weight=w)
    with pytest.raises(ValueError, match="reduction"):
        RelativeL2Loss(reduction="sum")


# -- scoring fields in searches (scoring="r2") ------------------------------------------------------


@pytest.fixture(scope="module")
def darcy():
    return make_darcy(12, resolution=8, random_state=0)


def test_scoring_r2_by_name_fails_on_2d_fields_inside_scikit_learn(darcy):
    """The trap: the name resolves to scikit-learn's scorer, whose r2_score refuses y_true of
    shape (n, 8, 8) before any package code could flatten it."""
    X, y = darcy
    est = FNORegressor(**{**TINY, "max_epochs": 1}).fit(X, y)
    with pytest.raises(ValueError, match="Found array with dim 3"):
        get_scorer("r2")(est, X, y)
    search = GridSearchCV(FNORegressor(**{**TINY, "max_epochs": 1}), {"lr": [1e-2]}, scoring="r2", cv=2)
    with pytest.raises(ValueError, match="Found array with dim 3"):
        search.set_params(error_score="raise").fit(X, y)


def test_field_scorer_scores_fields_in_a_grid_search(darcy):
    X, y = darcy
    est = FNORegressor(**{**TINY, "max_epochs": 1}).fit(X, y)
    pred = est.predict(X)
    flat_r2 = r2_score(y.reshape(len(y), -1), pred.reshape(len(y), -1))
    assert field_scorer("r2")(est, X, y) == pytest.approx(flat_r2, rel=1e-12)
    mse = field_scorer("neg_mean_squared_error")(est, X, y)
    assert mse == pytest.approx(-np.mean((y - pred) ** 2), rel=1e-9)
    weighted = field_scorer(make_scorer(r2_score, multioutput="variance_weighted"))
    assert weighted(est, X, y) == pytest.approx(est.score(X, y), rel=1e-12)
    search = GridSearchCV(
        FNORegressor(**{**TINY, "max_epochs": 1}),
        {"lr": [1e-2, 1e-3]},
        scoring={"r2": field_scorer("r2"), "mse": field_scorer("neg_mean_squared_error")},
        refit="r2",
        cv=2,
        n_jobs=1,
    ).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_r2"]).all()
    assert np.isfinite(search.cv_results_["mean_test_mse"]).all()


def test_field_scorer_equals_the_scorer_on_tables_and_refuses_non_scorers(data):
    X, y = data  # a 1-D grid: y is (n, 16), a table scikit-learn's metrics take
    est = FNORegressor(**{**TINY, "max_epochs": 1}).fit(X, y)
    assert field_scorer("r2")(est, X, y) == get_scorer("r2")(est, X, y)
    with pytest.raises(TypeError, match="scorer name"):
        field_scorer(r2_score)
    with pytest.raises(ValueError, match="not a valid scoring value"):
        field_scorer("r3")


# -- data-parallel training (torchrun, 2 CPU processes) -------------------------------------------

# 16 samples in batches of 5: the last batch of 1 leaves one rank an empty shard.
DDP = dict(
    n_modes=4, width=4, n_layers=1, max_epochs=2, batch_size=5, random_state=0, validation_fraction=0.25
)


def _ddp_data():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((16, 16)).astype(np.float32)
    return X, np.cumsum(X, axis=1) * 0.3 + 1.0, np.arange(16) % 4 * 0.5


def _ddp_worker(out: str) -> None:
    """What each torchrun rank runs: a weighted fit whose shards carry their weights."""
    X, y, weights = _ddp_data()
    est = FNORegressor(**DDP).fit(X, y, sample_weight=weights)
    rank = int(os.environ["RANK"])
    torch.save(
        {
            "state": est.module_.state_dict(),
            "history": [
                {key: float(h[key]) for key in ("train_loss", "valid_loss")} for h in est.net_.history
            ],
        },
        os.path.join(out, f"rank{rank}.pt"),
    )
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_data_parallel_training_shards_the_weights_with_their_samples(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--nnodes=1"]
    command += ["--master_addr=127.0.0.1", f"--master_port={port}", __file__, str(tmp_path)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    X, y, weights = _ddp_data()
    single = FNORegressor(**DDP).fit(X, y, sample_weight=weights)
    for rank in range(2):
        saved = torch.load(os.path.join(tmp_path, f"rank{rank}.pt"))
        for name, value in single.module_.state_dict().items():
            np.testing.assert_allclose(saved["state"][name].numpy(), value.numpy(), rtol=1e-4, atol=1e-6)
        for key in ("train_loss", "valid_loss"):
            np.testing.assert_allclose(
                [h[key] for h in saved["history"]], single.net_.history[:, key], rtol=1e-5
            )


if __name__ == "__main__":
    _ddp_worker(sys.argv[1])
