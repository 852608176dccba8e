"""Training controls in scikit-learn's words: warm_start, early_stopping, n_iter_no_change, verbose."""

import numpy as np
import pytest
import torch
from sklearn.metrics import mean_squared_error, r2_score
from skorch.callbacks import EarlyStopping, EpochScoring, LRScheduler

from sklearn_amfno import AMFNORegressor, FNORegressor
from sklearn_amfno._training import warmup_epochs
from sklearn_amfno.datasets import make_heat
from sklearn_amfno.metrics import (
    flat_r2_score,
    relative_h1_scorer,
    relative_l2_error,
    relative_l2_scorer,
    spectral_high_error_scorer,
)

TINY = dict(width=8, n_layers=2, random_state=0)


@pytest.fixture(scope="module")
def heat():
    return make_heat(32, 16, random_state=0)


@pytest.fixture(scope="module")
def noisy_heat():
    # 40 samples of heat with strong noise on the targets: a 16-wide FNO overfits them within a
    # few epochs, so the validation loss turns up early.
    X, y = make_heat(40, 16, random_state=0)
    y = y + 0.5 * y.std() * np.random.default_rng(0).standard_normal(y.shape)
    return X, y


def _losses(est, key="train_loss"):
    return list(est.net_.history[:, key])


# -- warm_start ----------------------------------------------------------------------------------


@pytest.mark.parametrize("Estimator", [AMFNORegressor, FNORegressor])
def test_warm_start_continues_the_loss_curve_exactly_as_one_longer_fit(heat, Estimator):
    X, y = heat
    params = dict(TINY, lr_schedule="constant")
    if Estimator is FNORegressor:
        params["n_modes"] = 4
    est = Estimator(max_epochs=3, warm_start=True, **params).fit(X, y)
    first = _losses(est)
    est.fit(X, y)
    straight = Estimator(max_epochs=6, **params).fit(X, y)
    assert est.n_epochs_ == 6 and est.training_status_ == "completed"
    assert list(est.net_.history[:, "epoch"]) == [1, 2, 3, 4, 5, 6]
    assert _losses(est)[:3] == first
    # Same batches (the random stream goes on), same optimizer moments: bit for bit.
    assert _losses(est) == _losses(straight)
    np.testing.assert_array_equal(est.predict(X), straight.predict(X))


def test_warm_start_keeps_the_optimizer_state(heat):
    X, y = heat
    est = AMFNORegressor(max_epochs=2, warm_start=True, batch_size=8, **TINY).fit(X, y)
    est.fit(X, y)
    # AdamW counts its steps: 4 epochs of 32 / 8 batches.
    steps = {float(s["step"]) for s in est.net_.optimizer_.state_dict()["state"].values()}
    assert steps == {16.0}


def test_warm_start_restarts_the_cosine_schedule_from_lr(heat):
    X, y = heat
    est = AMFNORegressor(max_epochs=4, warm_start=True, lr=1e-2, **TINY).fit(X, y)
    est.set_params(lr=5e-3).fit(X, y)
    lrs = list(est.net_.history[:, "event_lr"])
    # Each fit anneals from its lr over its own max_epochs: (1 + cos(pi k / 4)) / 2 * lr.
    expected = [(1 + np.cos(np.pi * k / 4)) / 2 for k in range(4)]
    np.testing.assert_allclose(lrs, [1e-2 * e for e in expected] + [5e-3 * e for e in expected], rtol=1e-12)


def test_without_warm_start_each_fit_starts_afresh(heat):
    X, y = heat
    est = AMFNORegressor(max_epochs=2, **TINY).fit(X, y)
    first = _losses(est)
    est.fit(X, y)
    assert _losses(est) == first and est.n_epochs_ == 2


def test_warm_start_on_an_unfitted_estimator_is_a_plain_fit(heat):
    X, y = heat
    warm = AMFNORegressor(max_epochs=2, warm_start=True, **TINY).fit(X, y)
    cold = AMFNORegressor(max_epochs=2, **TINY).fit(X, y)
    assert _losses(warm) == _losses(cold)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda X, y: (np.repeat(X, 2, axis=1), np.repeat(y, 2, axis=1)), "training grid"),
        (lambda X, y: (X, y[:, :4].sum(axis=1)), "kind of target"),
        (lambda X, y: (np.stack([X, X], -1), y), "input channels"),
    ],
    ids=["grid", "target", "channels"],
)
def test_warm_start_refuses_changed_data_and_leaves_the_fit_as_it_was(heat, change, message):
    X, y = heat
    est = AMFNORegressor(max_epochs=2, warm_start=True, **TINY).fit(X, y)
    if message == "input channels":
        est.set_params(channel_axis=-1)
    before = est.predict(X[:, :16]) if message != "input channels" else None
    X2, y2 = change(X, y)
    with pytest.raises(ValueError, match=f"warm_start=True.*data changed: {message}"):
        est.fit(X2, y2)
    assert est.n_epochs_ == 2
    if before is not None:
        np.testing.assert_array_equal(est.predict(X), before)


def test_warm_start_refuses_a_changed_model_or_optimizer(heat):
    X, y = heat
    est = AMFNORegressor(max_epochs=1, warm_start=True, **TINY).fit(X, y)
    with pytest.raises(ValueError, match="width=16 now and 8 in the previous fit"):
        est.set_params(width=16).fit(X, y)
    with pytest.raises(ValueError, match="optimizer='sgd'.*SGD.*AdamW"):
        est.set_params(width=8, optimizer="sgd").fit(X, y)
    assert est.n_epochs_ == 1


# -- early_stopping ------------------------------------------------------------------------------


def _validation_loss(est, X, y):
    """The validation loss of the model now, computed as skorch computes ``valid_loss``."""
    net = est.net_
    _, valid = net.get_split_datasets(X[:, None].astype(np.float32), y[:, None].astype(np.float32))
    losses, sizes = [], []
    with torch.no_grad():
        for Xb, yb in net.get_iterator(valid, training=False):
            losses.append(float(net.get_loss(net.evaluation_step((Xb, yb)), yb)))
            sizes.append(len(Xb))
    return float(np.average(losses, weights=sizes))


def test_early_stopping_stops_before_max_epochs_and_restores_the_best_weights(noisy_heat):
    X, y = noisy_heat
    est = FNORegressor(
        n_modes=8,
        width=16,
        n_layers=2,
        lr=1e-2,
        lr_schedule="constant",
        batch_size=8,
        max_epochs=200,
        early_stopping=True,
        validation_fraction=0.25,
        n_iter_no_change=5,
        random_state=0,
    ).fit(X, y)
    valid = _losses(est, "valid_loss")
    assert est.training_status_ == "stopped" and est.n_epochs_ < 200
    # Stopped after n_iter_no_change epochs without improvement on the best one.
    assert est.best_epoch_ == int(np.argmin(valid)) + 1 == est.n_epochs_ - 5
    restored = _validation_loss(est, X, y)
    assert restored == pytest.approx(valid[est.best_epoch_ - 1], rel=1e-6)
    assert restored != pytest.approx(valid[-1], rel=1e-3)


def test_early_stopping_holds_out_a_tenth_when_no_fraction_is_given(heat):
    X, y = heat
    est = AMFNORegressor(max_epochs=2, early_stopping=True, **TINY).fit(X, y)
    assert est.net_.train_split.cv == 0.1
    # 32 samples: ceil(3.2) = 4 held out (scikit-learn's ShuffleSplit rounding).
    assert sum(b["valid_batch_size"] for b in est.net_.history[-1, "batches"] if "valid_batch_size" in b) == 4
    assert est.best_epoch_ in (1, 2)


def test_without_early_stopping_there_is_no_split_and_no_best_epoch(heat):
    X, y = heat
    est = AMFNORegressor(max_epochs=2, **TINY).fit(X, y)
    assert est.net_.train_split is None and est.best_epoch_ is None
    assert "valid_loss" not in est.net_.history[-1]


def test_early_stopping_accepts_validation_monitoring_callbacks_without_a_fraction(heat):
    X, y = heat
    # Without early_stopping (and without validation_fraction) this callback is refused.
    est = AMFNORegressor(max_epochs=2, early_stopping=True, callbacks=[EarlyStopping()], **TINY).fit(X, y)
    assert len(est.net_.history[:, "valid_loss"]) == 2


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(early_stopping="yes"), "early_stopping"),
        (dict(n_iter_no_change=0), "n_iter_no_change"),
        (dict(warm_start=1), "warm_start"),
    ],
)
def test_training_controls_are_validated(heat, params, match):
    X, y = heat
    with pytest.raises(ValueError, match=f"'{match}' parameter of AMFNORegressor"):
        AMFNORegressor(max_epochs=1, **params).fit(X, y)


# -- learning-rate schedules ---------------------------------------------------------------------


def test_a_user_lr_scheduler_replaces_the_builtin_cosine(heat):
    X, y = heat
    step = LRScheduler("StepLR", step_size=1, gamma=0.1)
    est = FNORegressor(n_modes=4, max_epochs=4, lr=1e-2, callbacks=[step], **TINY).fit(X, y)
    # The user's step decay alone: no cosine on top of it.
    np.testing.assert_allclose(est.net_.history[:, "event_lr"], [1e-2, 1e-3, 1e-4, 1e-5], rtol=1e-12)
    assert "lr_schedule" not in dict(est.net_.callbacks_)
    # Whatever lr_schedule says; the user's callback itself is left as it was given.
    constant = FNORegressor(
        n_modes=4, max_epochs=2, lr=1e-2, lr_schedule="constant", callbacks=[step], **TINY
    )
    np.testing.assert_allclose(constant.fit(X, y).net_.history[:, "event_lr"], [1e-2, 1e-3], rtol=1e-12)
    assert "last_epoch" not in step.kwargs and not hasattr(step, "lr_scheduler_")


def test_without_a_user_lr_scheduler_the_builtin_cosine_acts(heat):
    X, y = heat
    est = FNORegressor(
        n_modes=4, max_epochs=4, lr=1e-2, callbacks=[EarlyStopping(monitor="train_loss")], **TINY
    )
    lrs = est.fit(X, y).net_.history[:, "event_lr"]
    np.testing.assert_allclose(lrs, [1e-2 * (1 + np.cos(np.pi * k / 4)) / 2 for k in range(4)], rtol=1e-12)


@pytest.mark.parametrize("max_epochs, warmup", [(40, 2), (9, 0), (10, 1)])
def test_warmup_cosine_rises_linearly_then_anneals_over_the_rest(heat, max_epochs, warmup):
    X, y = heat
    est = FNORegressor(n_modes=4, max_epochs=max_epochs, lr=1e-2, lr_schedule="warmup_cosine", **TINY)
    lrs = est.fit(X, y).net_.history[:, "event_lr"]
    rest = max_epochs - warmup
    expected = [
        1e-2 * (e + 1) / warmup if e < warmup else 1e-2 * (1 + np.cos(np.pi * (e - warmup) / rest)) / 2
        for e in range(max_epochs)
    ]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)
    if warmup == 0:  # below 10 epochs: the cosine itself
        cosine = FNORegressor(n_modes=4, max_epochs=max_epochs, lr=1e-2, **TINY).fit(X, y)
        np.testing.assert_allclose(lrs, cosine.net_.history[:, "event_lr"], rtol=1e-12)


def test_warmup_lasts_five_percent_of_the_epochs_rounded_half_up():
    assert [warmup_epochs(n) for n in (9, 10, 29, 30, 87, 100, 176)] == [0, 1, 1, 2, 4, 5, 9]


def test_warm_start_restarts_a_user_lr_scheduler_from_lr(heat):
    X, y = heat
    step = LRScheduler("StepLR", step_size=1, gamma=0.5)
    est = FNORegressor(n_modes=4, max_epochs=3, lr=1e-2, warm_start=True, callbacks=[step], **TINY)
    est.fit(X, y).fit(X, y)
    assert est.n_epochs_ == 6
    np.testing.assert_allclose(est.net_.history[:, "event_lr"], [1e-2, 5e-3, 2.5e-3] * 2, rtol=1e-12)


# -- scoring callbacks ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_channel_field():
    # A 2-D grid with two target channels: the net's arrays are 4-D, (n, c, 8, 8).
    X = np.random.default_rng(0).standard_normal((12, 8, 8))
    return X, np.stack([X**2, np.roll(X, 1, axis=1)], axis=-1)


@pytest.mark.parametrize(
    "scoring, expected",
    [
        ("r2", lambda y, p: r2_score(y.reshape(len(y), -1), p.reshape(len(p), -1))),
        (
            "neg_mean_squared_error",
            lambda y, p: -mean_squared_error(y.reshape(len(y), -1), p.reshape(len(p), -1)),
        ),
        (relative_l2_scorer, lambda y, p: -relative_l2_error(y, p)),
        (None, flat_r2_score),
    ],
    ids=["r2", "neg_mean_squared_error", "relative_l2_scorer", "None"],
)
def test_epoch_scoring_scores_fields_in_the_layout_of_predict(two_channel_field, scoring, expected):
    X, y = two_channel_field
    # Without caching, on the training data: the last epoch's score is that of the fitted model.
    scoring_callback = EpochScoring(scoring, on_train=True, use_caching=False, name="score_")
    est = FNORegressor(n_modes=2, max_epochs=2, channel_axis=None, callbacks=[scoring_callback], **TINY)
    est.fit(X, y)
    assert est.net_.history[-1, "score_"] == pytest.approx(expected(y, est.predict(X)), rel=1e-4, abs=1e-6)


@pytest.mark.parametrize(
    "scorer", [spectral_high_error_scorer, relative_h1_scorer], ids=["spectral_high", "h1"]
)
def test_epoch_scoring_gives_the_package_scorers_the_grid_unflattened(scorer):
    # These scorers need the grid (Fourier modes, derivatives): no flattening for them.
    X = np.random.default_rng(1).standard_normal((12, 32, 32))
    callback = EpochScoring(scorer, on_train=True, use_caching=False, name="score_")
    est = FNORegressor(n_modes=2, max_epochs=1, callbacks=[callback], **TINY).fit(X, X**2)
    expected = scorer(est, X, X**2)
    assert est.net_.history[-1, "score_"] == pytest.approx(expected, rel=1e-4, abs=1e-8)


def test_epoch_scoring_with_a_scorer_name_is_named_after_it_on_a_validation_split(two_channel_field):
    X, y = two_channel_field
    callbacks = [EpochScoring("r2", lower_is_better=False), EpochScoring("neg_mean_squared_error")]
    est = FNORegressor(n_modes=2, max_epochs=2, validation_fraction=0.25, callbacks=callbacks, **TINY).fit(
        X, y
    )
    for name in ("r2", "neg_mean_squared_error"):
        assert np.isfinite(est.net_.history[:, name]).all()
    assert est.net_.history[-1, "neg_mean_squared_error"] < 0
    # The user's callbacks are left as given.
    assert callbacks[0].scoring == "r2" and callbacks[0].name is None


def test_a_callable_scoring_still_receives_the_net_and_its_channels_first_arrays(two_channel_field):
    X, y = two_channel_field
    shapes = []

    def scoring(net, X, y):
        shapes.append((net.predict(X).shape, y.shape))
        return 0.0

    FNORegressor(n_modes=2, max_epochs=1, callbacks=[EpochScoring(scoring, on_train=True)], **TINY).fit(X, y)
    assert shapes == [((12, 2, 8, 8), (12, 2, 8, 8))]


# -- verbose -------------------------------------------------------------------------------------


def test_verbose_1_shows_a_progress_bar_with_epoch_loss_and_time_left(heat, capsys):
    X, y = heat
    AMFNORegressor(max_epochs=3, verbose=1, **TINY).fit(X, y)
    captured = capsys.readouterr()
    assert captured.out == ""  # no table
    bar = captured.err.replace("\r", "\n").splitlines()
    final = [line for line in bar if "3/3" in line][-1]
    assert final.startswith("AMFNORegressor: 100%")
    assert "train_loss=" in final and "<" in final  # elapsed<remaining


def test_verbose_1_bar_shows_validation_loss_and_warm_start_epochs(heat, capsys):
    X, y = heat
    est = AMFNORegressor(max_epochs=2, verbose=1, warm_start=True, early_stopping=True, **TINY).fit(X, y)
    est.fit(X, y)
    err = capsys.readouterr().err
    assert "valid_loss=" in err and "(from epoch 3)" in err


def test_verbose_2_prints_the_epoch_table(heat, capsys):
    X, y = heat
    AMFNORegressor(max_epochs=2, verbose=2, **TINY).fit(X, y)
    out = capsys.readouterr().out
    assert "train_loss" in out and out.count("\n") >= 3


def test_fitted_estimator_with_a_progress_bar_pickles(heat):
    import pickle

    X, y = heat
    est = AMFNORegressor(max_epochs=1, verbose=1, **TINY).fit(X, y)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).predict(X), est.predict(X))
