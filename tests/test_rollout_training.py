"""Rollout training of AutoregressiveRegressor: pushforward, input noise, their torch modules."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

import sklearn_amfno
from sklearn_amfno import AutoregressiveRegressor, FNORegressor
from sklearn_amfno import _base as base_module
from sklearn_amfno.nn import InputNoise, LastStepLoss, Pushforward, Rollout

TINY = dict(n_modes=4, width=6, n_layers=1, lr=1e-2, batch_size=8, random_state=0)


def trajectories(n_samples=24, resolution=16, n_frames=7, seed=0):
    """Travelling sine waves of random phase: (n, N, n_frames), smooth and fast to learn."""
    t = np.arange(n_frames)[None, None, :] * 0.1
    x = np.linspace(0, 1, resolution, endpoint=False)[None, :, None]
    phase = np.random.default_rng(seed).uniform(0, 1, (n_samples, 1, 1))
    return np.sin(2 * np.pi * (x - t - phase))


class Recorder(torch.nn.Module):
    """Multiplies its input's last channel by a scalar weight ``w``; records every call."""

    def __init__(self, w=2.0):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(w))
        self.calls = []  # (grad enabled, input requires grad)

    def forward(self, x):
        self.calls.append((torch.is_grad_enabled(), x.requires_grad))
        return self.w * x[:, -1:]


def weights(est):
    return [p.detach().clone() for p in est.estimator_.module_.parameters()]


# -- the torch modules --------------------------------------------------------------------------


@pytest.mark.parametrize("n_steps", [1, 3, 5])
def test_pushforward_runs_k_minus_one_steps_without_gradient_then_one_with(n_steps):
    step = Recorder()
    model = Pushforward(step, n_steps=n_steps, in_channels=2, generator=torch.Generator().manual_seed(0))
    for _ in range(20):
        step.calls.clear()
        out = model(torch.randn(3, 2, 8))
        k = out.shape[1]  # one output channel per step
        assert 1 <= k <= n_steps
        assert step.calls == [(False, False)] * (k - 1) + [(True, False)]
        # Only the last step depends on the weight with a gradient path.
        (grad,) = torch.autograd.grad(out[:, :-1].sum(), step.w, allow_unused=True, materialize_grads=True)
        assert out.requires_grad and grad.item() == 0.0


def test_pushforward_gradient_flows_through_the_last_step_only():
    # out_k = w * x_k where x_k = w^(k-1) x0 was computed without gradient: d out_k / d w = x_k,
    # where a full backpropagation through the rollout would give k * w^(k-1) x0.
    w, x0 = 1.5, torch.ones(1, 1, 4)
    step = Recorder(w)
    model = Pushforward(step, n_steps=3, in_channels=1, generator=torch.Generator().manual_seed(1))
    seen = set()
    for _ in range(30):
        step.w.grad = None
        out = model(x0)
        k = out.shape[1]
        out[:, -1].sum().backward()
        expected = 4 * w ** (k - 1)  # sum over the 4 grid points of x_k
        assert step.w.grad.item() == pytest.approx(expected)
        torch.testing.assert_close(out[0, :, 0], torch.tensor([w**j for j in range(1, k + 1)]))
        seen.add(k)
    assert seen == {1, 2, 3}


def test_pushforward_draws_k_uniformly_and_repeatably_from_its_generator():
    step = torch.nn.Identity()
    model = Pushforward(step, 4, 1, generator=torch.Generator().manual_seed(3))
    ks = np.array([model.draw_steps() for _ in range(8000)])
    counts = np.bincount(ks, minlength=5)[1:]
    assert ks.min() == 1 and ks.max() == 4
    # Uniform: 2000 expected each; 5 standard deviations (sqrt(8000 * 1/4 * 3/4) = 39) either side.
    np.testing.assert_allclose(counts, 2000, atol=5 * 39)
    # A second module on a generator of the same seed draws the same sequence; torch's global
    # generator is not used.
    state = torch.get_rng_state()
    again = Pushforward(step, 4, 1, generator=torch.Generator().manual_seed(3))
    assert [again.draw_steps() for _ in range(50)] == ks[:50].tolist()
    assert torch.equal(torch.get_rng_state(), state)


def test_pushforward_in_evaluation_mode_is_the_full_rollout():
    step = torch.nn.Conv1d(3, 1, 3, padding=1)
    x = torch.randn(2, 3, 16)
    generator = torch.Generator().manual_seed(0)
    model = Pushforward(step, n_steps=4, in_channels=3, generator=generator).eval()
    state = generator.get_state()
    torch.testing.assert_close(model(x), Rollout(step, n_steps=4, in_channels=3)(x))
    assert torch.equal(generator.get_state(), state)  # nothing drawn


def test_last_step_loss_compares_the_last_predicted_step_with_its_target():
    criterion = LastStepLoss(torch.nn.MSELoss(), n_steps=3)
    target = torch.arange(3.0).repeat_interleave(2).reshape(1, 6, 1).expand(2, 6, 5)  # steps 0, 1, 2
    for k in (1, 2, 3):
        pred = torch.zeros(2, 2 * k, 5)
        assert criterion(pred, target).item() == pytest.approx((k - 1) ** 2)
    with pytest.raises(ValueError, match="1 to 3 such steps"):
        criterion(torch.zeros(2, 3, 5), target)
    with pytest.raises(ValueError, match="1 to 3 such steps"):
        criterion(torch.zeros(2, 8, 5), target)


def test_input_noise_is_relative_to_each_channel_and_absent_in_evaluation():
    level = 0.05
    grid = torch.linspace(0, 1, 4096)
    scales, offsets = torch.tensor([1.0, 10.0, 0.01]), torch.tensor([0.0, 1e3, -5.0])
    x = (torch.sin(2 * np.pi * 3 * grid) * scales[:, None] + offsets[:, None]).repeat(8, 1, 1)
    x = torch.cat([x, torch.full((8, 1, 4096), 2.0)], dim=1)  # a constant channel
    model = InputNoise(torch.nn.Identity(), level, generator=torch.Generator().manual_seed(0))
    noise = model(x) - x
    channel_std = x.std(dim=2, correction=0, keepdim=True)
    relative = noise[:, :3] / (level * channel_std[:, :3])
    # Standard normal per channel: mean 0 and std 1 within a few standard errors (32768 draws each).
    assert relative.mean(dim=(0, 2)).abs().max() < 0.03
    np.testing.assert_allclose(relative.std(dim=(0, 2)).numpy(), 1.0, atol=0.02)
    assert torch.equal(noise[:, 3], torch.zeros(8, 4096))  # constant channel: no noise
    assert torch.equal(model.eval()(x), x)
    with pytest.raises(ValueError, match="level must be a float >= 0"):
        InputNoise(torch.nn.Identity(), -0.1)


# -- the estimator ----------------------------------------------------------------------------


def test_pushforward_fit_defaults_to_two_steps_and_keeps_the_one_step_model():
    traj = trajectories()
    X, y = traj[..., :3], traj[..., 3:]
    est = AutoregressiveRegressor(FNORegressor(**TINY, max_epochs=2), training="pushforward").fit(X, y)
    assert est.rollout_steps_ == 2 and est.n_windows_ == 3  # 4 target frames, windows of 2 steps
    assert type(est.estimator_.net_.module_) is not Pushforward
    assert est.estimator_.n_channels_in_ == 3 and est.estimator_.n_outputs_ == 1
    assert est.predict(X).shape == y.shape
    single = AutoregressiveRegressor(FNORegressor(**TINY, max_epochs=1), training="pushforward")
    assert single.fit(X, y[..., :1]).rollout_steps_ == 1  # y holds one step: teacher forcing
    with pytest.raises(ValueError, match="need 5 target frames"):
        clone(single).set_params(rollout_steps=5).fit(X, y)


def test_pushforward_fit_draws_one_k_per_batch_within_rollout_steps(monkeypatch):
    drawn = []

    class Counting(Pushforward):
        def draw_steps(self):
            k = super().draw_steps()
            drawn.append(k)
            return k

    monkeypatch.setattr(base_module, "Pushforward", Counting)
    traj = trajectories(n_samples=32, n_frames=9)
    est = AutoregressiveRegressor(
        FNORegressor(**TINY, max_epochs=4), training="pushforward", rollout_steps=3
    ).fit(traj[..., :3], traj[..., 3:])
    n_batches = int(np.ceil(32 * est.n_windows_ / TINY["batch_size"]))
    assert len(drawn) == 4 * n_batches  # one k per training batch, none in predict
    assert set(drawn) == {1, 2, 3}
    est.predict(traj[..., :3])
    assert len(drawn) == 4 * n_batches


def test_pushforward_validates_on_the_full_rollout_of_its_steps():
    # Evaluation draws no k: the validation loss is the relative L2 error of the last of the
    # rollout_steps steps, rolled out from the true frames.
    traj = trajectories(n_samples=30, n_frames=9)
    inner = FNORegressor(**TINY, max_epochs=2, early_stopping=True, validation_fraction=0.2)
    est = AutoregressiveRegressor(inner, training="pushforward", rollout_steps=3).fit(
        traj[..., :3], traj[..., 3:]
    )
    valid = est.estimator_.net_.history[-1, "valid_loss"]
    assert np.isfinite(valid) and est.estimator_.best_epoch_ is not None


@pytest.mark.parametrize("params", [dict(training="pushforward"), dict(input_noise=0.05)])
def test_fits_are_repeatable_bit_for_bit_and_leave_the_global_generator_alone(params):
    traj = trajectories()
    X, y = traj[..., :3], traj[..., 3:]
    state = torch.get_rng_state()
    fits = [AutoregressiveRegressor(FNORegressor(**TINY, max_epochs=3), **params).fit(X, y) for _ in range(2)]
    assert torch.equal(torch.get_rng_state(), state)
    for a, b in zip(weights(fits[0]), weights(fits[1])):
        assert torch.equal(a, b)
    reseeded = FNORegressor(**{**TINY, "random_state": 1}, max_epochs=3)
    other = AutoregressiveRegressor(reseeded, **params).fit(X, y)
    assert not all(torch.equal(a, b) for a, b in zip(weights(fits[0]), weights(other)))


def test_input_noise_changes_training_but_never_predict():
    traj = trajectories()
    X, y = traj[..., :3], traj[..., 3:]
    clean = AutoregressiveRegressor(FNORegressor(**TINY, max_epochs=3)).fit(X, y)
    noisy = AutoregressiveRegressor(FNORegressor(**TINY, max_epochs=3), input_noise=0.1).fit(X, y)
    assert not all(torch.equal(a, b) for a, b in zip(weights(clean), weights(noisy)))
    # predict: deterministic, and the plain rollout of the fitted one-step model.
    first = noisy.predict(X)
    np.testing.assert_array_equal(first, noisy.predict(X))
    np.testing.assert_array_equal(first[..., :1], noisy.estimator_.predict(X))
    assert type(noisy.estimator_.net_.module_) is not InputNoise


def test_without_noise_one_step_training_is_the_plain_fit_of_the_windows():
    # input_noise=0 draws nothing: the fit is the inner estimator's fit on the windows, bit for bit.
    traj = trajectories()
    X, y = traj[..., :3], traj[..., 3:]
    est = AutoregressiveRegressor(FNORegressor(**TINY, max_epochs=2), input_noise=0.0).fit(X, y)
    windows_X = np.concatenate([traj[..., k : k + 3] for k in range(4)])
    windows_y = np.concatenate([traj[..., k + 3 : k + 4] for k in range(4)])
    plain = FNORegressor(**TINY, max_epochs=2, channel_axis=-1).fit(windows_X, windows_y)
    for a, b in zip(weights(est), [p.detach() for p in plain.module_.parameters()]):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(training="teacher"), "'training' parameter"),
        (dict(input_noise=-0.1), "'input_noise' parameter"),
        (dict(input_noise="0.1"), "'input_noise' parameter"),
        (dict(training="pushforward", rollout_steps=0), "'rollout_steps' parameter"),
    ],
)
def test_bad_training_parameters_are_refused(params, match):
    traj = trajectories(n_samples=4)
    est = AutoregressiveRegressor(FNORegressor(**TINY, max_epochs=1), **params)
    with pytest.raises(ValueError, match=match):
        est.fit(traj[..., :3], traj[..., 3:])


def test_new_parameters_survive_clone_get_params_pickle_and_the_model_file(
    tmp_path, dumps_as_torch_before_2_4
):
    traj = trajectories()
    X, y = traj[..., :3], traj[..., 3:]
    est = AutoregressiveRegressor(
        FNORegressor(**TINY, max_epochs=2), training="pushforward", rollout_steps=2, input_noise=0.02
    )
    params = est.get_params()
    assert params["training"] == "pushforward" and params["input_noise"] == 0.02
    assert clone(est).get_params()["input_noise"] == 0.02
    est.fit(X, y)
    expected = est.predict(X)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict(X), expected)
    # The training modules' generators pickle as their states (torch < 2.4 cannot pickle them).
    restored = pickle.loads(dumps_as_torch_before_2_4(est))
    np.testing.assert_array_equal(restored.predict(X), expected)
    path = os.path.join(tmp_path, "pushforward.safetensors")
    est.save(path)
    loaded = sklearn_amfno.load(path)
    assert loaded.get_params()["training"] == "pushforward" and loaded.input_noise == 0.02
    assert loaded.rollout_steps_ == 2 and loaded.n_windows_ == est.n_windows_
    np.testing.assert_array_equal(loaded.predict(X), expected)
