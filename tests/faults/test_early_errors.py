"""Errors that arrive before training and name what the user set (issue 21).

Each failed on the code before the fix: an error from deep inside skorch or torch, a silently
overridden parameter, scikit-learn's split message, an unbounded rollout, or a rollout whose
divergence was blamed on the user's input. Every refusal here must come before any training:
the ``no_training`` fixture makes the skorch net's ``fit`` fail if it is reached.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from sklearn.model_selection import ShuffleSplit
from skorch.callbacks import EarlyStopping

from sklearn_amfno import AutoregressiveRegressor, FNORegressor
from sklearn_amfno._net import OperatorNet
from sklearn_amfno._training_checks import check_optimizer, check_validation_split
from sklearn_amfno.estimators import _autoregressive

TINY = dict(n_modes=4, width=4, n_layers=1, max_epochs=1, batch_size=4, random_state=0)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 16))
    return X, np.roll(X, 1, axis=1)


@pytest.fixture
def no_training(monkeypatch):
    """Make any training fail loudly: the refusals must come before it."""

    def fail(*args, **kwargs):
        raise AssertionError("training started before the error")

    monkeypatch.setattr(OperatorNet, "fit", fail)
    monkeypatch.setattr(OperatorNet, "partial_fit", fail)


@pytest.fixture
def trajectories():
    """4 trajectories of 8 frames on 16 points (one field)."""
    t = np.arange(8)[None, None, :] * 0.1
    x = np.linspace(0, 1, 16, endpoint=False)[None, :, None]
    phase = np.random.default_rng(0).uniform(0, 1, (4, 1, 1))
    return np.sin(2 * np.pi * (x - t - phase))


@pytest.fixture
def rollout_model(trajectories):
    """A fitted autoregressive model (3 frames in, 5 out)."""
    est = AutoregressiveRegressor(FNORegressor(**TINY))
    return est.fit(trajectories[..., :3], trajectories[..., 3:])


# -- optimizer ------------------------------------------------------------------------------------


def test_fit_refuses_an_optimizer_that_is_not_an_optimizer_class(data, no_training):
    with pytest.raises(TypeError, match=r"torch.optim.Optimizer subclass .* got <built-in function print>"):
        FNORegressor(**TINY, optimizer=print).fit(*data)


def test_fit_refuses_lbfgs_which_needs_a_closure(data, no_training):
    with pytest.raises(ValueError, match=r"optimizer=LBFGS needs a closure.*mini-batches") as info:
        FNORegressor(**TINY, optimizer=torch.optim.LBFGS).fit(*data)
    assert "'adamw'" in str(info.value)


def test_fit_names_the_optimizer_params_key_the_optimizer_refuses(data, no_training):
    with pytest.raises(TypeError, match=r"optimizer_params=\{'betas': 5\} is refused by AdamW"):
        FNORegressor(**TINY, optimizer_params={"betas": 5}).fit(*data)


def test_fit_names_only_the_refused_key_among_valid_ones(data, no_training):
    params = {"amsgrad": True, "betas": 5, "eps": 1e-6}
    with pytest.raises(TypeError, match=r"optimizer_params=\{'betas': 5\} is refused") as info:
        FNORegressor(**TINY, optimizer_params=params).fit(*data)
    assert "amsgrad" not in str(info.value) and "eps" not in str(info.value)


def test_fit_names_a_value_the_optimizer_refuses_at_build_time(data, no_training):
    # SGD refuses nesterov without momentum when built: a ValueError, the key named.
    with pytest.raises(
        ValueError, match=r"optimizer_params=\{'nesterov': True\} is refused by SGD.*momentum"
    ):
        FNORegressor(**TINY, optimizer="sgd", optimizer_params={"nesterov": True}).fit(*data)


def test_fit_refuses_a_keyword_the_optimizer_does_not_take(data, no_training):
    with pytest.raises(
        ValueError, match=r"optimizer_params has 'momentum', which optimizer='adamw' does not"
    ):
        FNORegressor(**TINY, optimizer_params={"momentum": 0.9}).fit(*data)


@pytest.mark.parametrize("name", ["lr", "weight_decay"])
def test_fit_refuses_an_estimator_parameter_inside_optimizer_params(data, no_training, name):
    with pytest.raises(ValueError, match=rf"optimizer_params=\{{'{name}': 1.0\}} would override") as info:
        FNORegressor(**TINY, optimizer_params={name: 1.0}).fit(*data)
    assert f"set it with the estimator parameter instead ({name}=1.0)" in str(info.value)


def test_fit_refuses_an_optimizer_that_takes_no_weight_decay(data, no_training):
    with pytest.raises(ValueError, match=r"optimizer=Rprop takes no weight_decay"):
        FNORegressor(**TINY, optimizer=torch.optim.Rprop).fit(*data)


def test_a_refused_optimizer_leaves_a_fitted_estimator_as_it_was(data):
    est = FNORegressor(**TINY).fit(*data)
    net = est.net_
    with pytest.raises(ValueError, match="needs a closure"):
        est.set_params(optimizer=torch.optim.LBFGS, warm_start=True).fit(*data)
    assert est.net_ is net and len(net.history) == 1


@pytest.mark.parametrize(
    "optimizer, params",
    [
        ("adamw", None),
        ("adam", {"betas": (0.8, 0.9), "amsgrad": True}),
        ("sgd", {"momentum": 0.9, "nesterov": True}),
        (torch.optim.RMSprop, {"alpha": 0.9}),
        (torch.optim.NAdam, {"momentum_decay": 0.004}),
    ],
)
def test_optimizer_check_accepts_valid_settings_and_draws_no_random_numbers(optimizer, params):
    state = torch.get_rng_state()
    named = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam, "sgd": torch.optim.SGD}
    resolved = check_optimizer(optimizer, params, lr=1e-3, weight_decay=1e-4, named=named)
    assert resolved is named.get(optimizer, optimizer)
    assert torch.equal(torch.get_rng_state(), state)


# -- validation split -----------------------------------------------------------------------------


def test_early_stopping_with_one_sample_names_early_stopping_and_the_split(data, no_training):
    X, y = data
    with pytest.raises(ValueError) as info:
        FNORegressor(**TINY, early_stopping=True).fit(X[:1], y[:1])
    message = str(info.value)
    assert "early_stopping=True" in message and "validation_fraction=0.1" in message
    assert "of the 1 training samples, 1 would go to validation and 0 to training" in message


def test_validation_fraction_099_names_validation_fraction_and_the_counts(data, no_training):
    with pytest.raises(ValueError, match=r"^early_stopping=True with validation_fraction=0.99: of the 6 "):
        FNORegressor(**TINY, early_stopping=True, validation_fraction=0.99).fit(*data)
    # A validation-monitoring callback asks for the same split.
    est = FNORegressor(**TINY, validation_fraction=0.99, callbacks=[EarlyStopping()])
    with pytest.raises(ValueError, match=r"^validation_fraction=0.99: .* 6 would go to validation and 0"):
        est.fit(*data)


def test_the_split_check_of_streamed_data_comes_before_reading_it_for_training(data, no_training, tmp_path):
    X, y = data
    X_map = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float32, shape=X.shape)
    X_map[:] = X
    X_map.flush()
    X_lazy = np.load(tmp_path / "X.npy", mmap_mode="r")
    with pytest.raises(ValueError, match=r"validation_fraction=0.9: of the 6 training samples, 6 would go"):
        FNORegressor(**TINY, validation_fraction=0.9).fit(X_lazy, y)


@pytest.mark.parametrize("fraction", [0.01, 0.1, 0.25, 0.3, 0.5, 0.7, 0.9, 0.95, 0.99])
def test_the_split_check_counts_as_skorchs_shuffle_split_does(fraction):
    for n_samples in range(1, 41):
        indices = np.arange(n_samples)
        try:
            sizes = check_validation_split(
                n_samples, fraction, early_stopping=False, validation_fraction=fraction
            )
        except ValueError:
            sizes = None
        try:
            train, valid = next(ShuffleSplit(test_size=fraction, random_state=0).split(indices))
            expected = (len(train), len(valid))
        except ValueError:
            expected = None
        assert sizes == expected, (n_samples, fraction)


def test_autoregressive_early_stopping_counts_training_windows(trajectories, no_training):
    inner = FNORegressor(**TINY, early_stopping=True)
    with pytest.raises(ValueError, match=re.escape("of the 1 training windows (1 trajectories x 1 windows")):
        AutoregressiveRegressor(inner).fit(trajectories[:1, :, :3], trajectories[:1, :, 3:4])


# -- autoregressive rollout -----------------------------------------------------------------------


def test_rollout_refuses_a_horizon_whose_output_cannot_fit_in_memory(
    rollout_model, trajectories, monkeypatch
):
    X = trajectories[..., :3]

    def fail(*args, **kwargs):
        raise AssertionError("the rollout started before the check")

    monkeypatch.setattr(rollout_model.estimator_, "predict", fail)
    with pytest.raises(
        ValueError, match=r"predict\(X, n_steps=1000000000\) would return .* GiB .* Use n_steps <="
    ):
        rollout_model.predict(X, n_steps=10**9)


def test_rollout_memory_check_compares_the_frames_with_the_machines_memory(
    rollout_model, trajectories, monkeypatch
):
    X = trajectories[..., :3]  # float64: 4 samples x 16 points x 8 bytes = 512 bytes a frame
    monkeypatch.setattr(_autoregressive, "device_memory", lambda device: 512 * 2 * 100)
    assert rollout_model.predict(X, n_steps=100).shape == (4, 16, 100)
    with pytest.raises(ValueError, match=r"n_steps=101\).*Use n_steps <= 100,"):
        rollout_model.predict(X, n_steps=101)


def test_an_overflowing_rollout_is_reported_as_divergence_not_as_bad_input(rollout_model, trajectories):
    # The model's own output grows 1e12-fold per step: 1e12, 1e24, then beyond 1e30 at step 3.
    rollout_model.estimator_.net_.module_.y_scale.mul_(1e12)
    with pytest.raises(ValueError) as info:
        rollout_model.predict(trajectories[..., :3], n_steps=6)
    message = str(info.value)
    assert message.startswith("The rollout diverged at step 3 of 6 (frame 3 of n_steps=6)")
    assert "beyond float32 headroom" in message and "The input X was fine" in message
    assert "n_steps <= 2" in message and 'training="rollout"' in message
    assert "change units" not in message and "X has values" not in message


def test_a_rollout_that_becomes_non_finite_is_reported_as_divergence(rollout_model, trajectories):
    # 1e25 at step 1 (finite, in range); fed back, the next output overflows float32 to inf.
    rollout_model.estimator_.net_.module_.y_scale.mul_(1e25)
    with pytest.raises(ValueError, match=r"^The rollout diverged at step 2 of 5 .* became NaN or infinite"):
        rollout_model.predict(trajectories[..., :3])


@pytest.mark.parametrize("which", ["X", "y"])
def test_autoregressive_refuses_an_empty_channel_axis_quoting_the_users_shape(
    trajectories, which, no_training
):
    X, y = trajectories[..., :3], trajectories[..., 3:]
    X, y = (X[..., :0], y) if which == "X" else (X, y[..., :0])
    est = AutoregressiveRegressor(FNORegressor(**TINY))
    with pytest.raises(ValueError, match=rf"^{which} of shape \(4, 16, 0\) has no channels on its last axis"):
        est.fit(X, y)
    assert not hasattr(est, "estimator_")


def test_autoregressive_predict_refuses_an_empty_channel_axis(rollout_model, trajectories):
    with pytest.raises(ValueError, match=r"^X of shape \(4, 16, 0\) has no channels"):
        rollout_model.predict(trajectories[..., :0])


def test_a_first_step_out_of_range_is_reported_without_blaming_the_feedback(rollout_model, trajectories):
    rollout_model.estimator_.net_.module_.y_scale.mul_(1e31)
    with pytest.raises(
        ValueError, match=r"^The rollout diverged at step 1 of 5 .* very first output"
    ) as info:
        rollout_model.predict(trajectories[..., :3])
    assert "The input X was fine" in str(info.value) and "n_steps <=" not in str(info.value)


@pytest.mark.parametrize(
    "groups, error, match",
    [
        ({"*.nets.*": {"lr": 1e-3}}, TypeError, r"list of \(pattern, dict\) pairs.*of type dict"),
        ([("*.nets.*", 1e-3)], TypeError, r"\[0\] must be a \(pattern, dict\) pair"),
        ([("*", {"momentum": 0.9})], ValueError, r"\[0\] \('\*'\) sets 'momentum', which optimizer='adamw'"),
        ([("*", {"betas": 5})], ValueError, r"\[0\] \('\*': \{'betas': 5\}\) is refused by AdamW"),
        ([("*", {"params": []})], ValueError, r"optimizer keywords \(str, not 'params'\)"),
    ],
    ids=["dict", "no-dict", "unknown-key", "bad-value", "params"],
)
def test_fit_refuses_param_groups_the_optimizer_cannot_take(data, no_training, groups, error, match):
    with pytest.raises(error, match=match):
        FNORegressor(**TINY, optimizer_params={"param_groups": groups}).fit(*data)


def test_fit_refuses_a_param_groups_pattern_that_matches_no_parameter(data):
    # skorch would silently leave such a group empty: a misspelt pattern, the default lr everywhere.
    with pytest.raises(ValueError, match=r"pattern '\*\.netz\.\*' matches none of the model's \d+ par"):
        FNORegressor(**TINY, optimizer_params={"param_groups": [("*.netz.*", {"lr": 1e-3})]}).fit(*data)
