"""``loss=`` a torch module (``torch.nn.MSELoss()``, a class, the package's losses): training,
what the module sees, refusals before training, sample weights, saving and loading."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from torch import nn

import sklearn_amfno
from sklearn_amfno import AutoregressiveRegressor, FNORegressor
from sklearn_amfno import _file_schema as file_schema
from sklearn_amfno._model_file import read_container, write_container
from sklearn_amfno.nn.losses import RelativeH1Loss, RelativeL2Loss

TINY = dict(n_modes=4, width=4, n_layers=1, max_epochs=3, lr=1e-2, batch_size=64, random_state=0)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 16)).astype(np.float32)
    y = (np.cumsum(X, axis=1) * 0.3 + 5.0).astype(np.float32)
    return X, y


class Recorder(nn.Module):
    """The MSE, recording the targets it is given."""

    def __init__(self):
        super().__init__()
        self.reduction = "mean"
        self.targets = []

    def forward(self, pred, target):
        self.targets.append(target.detach().clone())
        losses = (pred - target) ** 2
        return losses.mean() if self.reduction == "mean" else losses


def test_a_torch_loss_instance_or_class_trains_the_model(data):
    X, y = data
    for loss in (nn.MSELoss(), nn.MSELoss, nn.L1Loss(), nn.HuberLoss(delta=0.5)):
        est = FNORegressor(**TINY, loss=loss).fit(X, y)
        losses = est.net_.history[:, "train_loss"]
        assert np.isfinite(losses).all() and losses[-1] < losses[0]
    # A module's value for a constant prediction is unknown: no "has not learned" warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        FNORegressor(**{**TINY, "max_epochs": 6, "lr": 1e-9}, loss=nn.MSELoss()).fit(X, y - 5.0)
    with pytest.warns(ConvergenceWarning, match="has not learned"):  # the built-in loss says so
        FNORegressor(**{**TINY, "max_epochs": 6, "lr": 1e-9}).fit(X, y - 5.0)


def test_the_module_sees_targets_in_physical_units_and_the_networks_layout(data):
    X, y = data
    recorder = Recorder()
    est = FNORegressor(**{**TINY, "max_epochs": 1}, loss=recorder).fit(X, y)
    assert recorder.targets == []  # the fit trained its own copy
    seen = est.net_.criterion_.targets
    assert seen[0].shape == (2, 1, 16)  # the probe before training: two targets, channels first
    batch = seen[1]
    assert batch.shape == (12, 1, 16)  # (n, n_outputs, *grid), never standardised
    rows = {tuple(np.round(r, 5)) for r in batch[:, 0].numpy()}
    assert rows == {tuple(np.round(r, 5)) for r in y}
    # Per-sample targets: (n, k).
    vector = FNORegressor(**{**TINY, "max_epochs": 1}, loss=Recorder()).fit(X, y[:, :3])
    assert vector.net_.criterion_.targets[-1].shape == (12, 3)


def test_the_packages_loss_module_trains_as_its_name(data):
    X, y = data
    ref = FNORegressor(**TINY, loss="relative_l2").fit(X, y)
    est = FNORegressor(**TINY, loss=RelativeL2Loss()).fit(X, y)
    # No degenerate target here: the batch's reference norm changes nothing, bit for bit.
    assert est.net_.history[:, "train_loss"] == ref.net_.history[:, "train_loss"]
    np.testing.assert_array_equal(est.predict(X), ref.predict(X))


class NeedsArguments(nn.Module):
    def __init__(self, alpha):
        super().__init__()
        self.alpha = alpha

    def forward(self, pred, target):
        return self.alpha * ((pred - target) ** 2).mean()


class Detached(nn.Module):
    def forward(self, pred, target):
        return ((pred.detach() - target) ** 2).mean()


class Broken(nn.Module):
    def forward(self, pred, target):
        return pred @ target  # (n, 1, 16) @ (n, 1, 16): wrong shapes


class NotAModule:
    def forward(self, pred, target):
        return 0.0


@pytest.mark.parametrize(
    "loss, error, match",
    [
        (
            nn.MSELoss(reduction="none"),
            ValueError,
            r"must return a scalar tensor \(shape \(\)\), got shape \(2, 1, 16\)",
        ),
        (NeedsArguments, TypeError, "built with no arguments"),
        (Detached(), ValueError, "does not depend on the prediction"),
        (Broken(), ValueError, r"failed on a training batch: RuntimeError.*\(n_samples, n_outputs, \*grid\)"),
        (NotAModule(), TypeError, "torch.nn.Module instance"),
        (3, ValueError, "implementing 'forward'"),
        ("l2", ValueError, "must be a str among"),
    ],
)
def test_a_loss_that_cannot_train_is_refused_before_training(data, loss, error, match):
    X, y = data
    est = FNORegressor(**TINY, loss=loss)
    with pytest.raises(error, match=match):
        est.fit(X, y)
    assert not hasattr(est, "net_")


def test_clone_and_search_copy_the_loss_module(data):
    X, y = data
    loss = nn.HuberLoss(delta=0.25)
    est = FNORegressor(**TINY, loss=loss)
    copy = clone(est)
    assert copy.loss is not loss and copy.loss.delta == 0.25
    search = GridSearchCV(est, {"loss": ["relative_l2", nn.MSELoss(), nn.L1Loss]}, cv=2).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    restored = pickle.loads(pickle.dumps(search.best_estimator_))
    np.testing.assert_array_equal(restored.predict(X), search.best_estimator_.predict(X))


def test_rollout_training_sums_a_loss_module_over_the_steps():
    rng = np.random.default_rng(1)
    t = np.arange(6)[None, None, :] * 0.1
    x = np.linspace(0, 1, 16, endpoint=False)[None, :, None]
    trajectories = np.sin(2 * np.pi * (x - t - rng.uniform(0, 1, (6, 1, 1)))).astype(np.float32)
    est = AutoregressiveRegressor(
        FNORegressor(**TINY, loss=nn.MSELoss()), training="rollout", rollout_steps=2
    )
    est.fit(trajectories[..., :2], trajectories[..., 2:])
    assert np.isfinite(est.estimator_.net_.history[:, "train_loss"]).all()


# -- sample weights -----------------------------------------------------------------------------------


def test_a_torch_loss_takes_sample_weights(data):
    X, y = data
    weights = np.ones(len(X))
    weights[[1, 4]] = 0.0
    keep = weights > 0
    est = FNORegressor(**TINY, loss=nn.MSELoss()).fit(X, y, sample_weight=weights)
    ref = FNORegressor(**TINY, loss=nn.MSELoss()).fit(X[keep], y[keep])
    np.testing.assert_allclose(est.predict(X), ref.predict(X), rtol=2e-5)


class Plain(nn.Module):
    """A loss without torch's ``reduction``."""

    def forward(self, pred, target):
        return ((pred - target) ** 2).mean()


class Summed(Recorder):
    def __init__(self):
        super().__init__()
        self.reduction = "sum"

    def forward(self, pred, target):
        losses = (pred - target) ** 2
        return losses.sum() if self.reduction == "sum" else losses


class Lumped(Recorder):
    """reduction='none' that does not give per-sample losses."""

    def forward(self, pred, target):
        losses = (pred - target) ** 2
        return losses.mean() if self.reduction == "mean" else losses.sum(0)


@pytest.mark.parametrize(
    "loss, match",
    [
        (Plain(), "has no 'reduction' attribute"),
        (Summed(), "has reduction='sum'"),
        (Lumped(), "one loss per sample"),
    ],
)
def test_sample_weights_need_per_sample_losses(data, loss, match):
    X, y = data
    weights = np.arange(len(X), dtype=float)
    est = FNORegressor(**TINY, loss=loss)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y, sample_weight=weights)
    assert not hasattr(est, "net_")
    # Equal weights are no weights: any loss module takes them.
    est.fit(X, y, sample_weight=np.full(len(X), 3.0))


def test_a_loss_module_with_per_sample_reduction_is_weighted(data):
    X, y = data
    recorder = Recorder()
    weights = np.arange(1, len(X) + 1, dtype=float)
    est = FNORegressor(**{**TINY, "max_epochs": 1}, loss=recorder).fit(X, y, sample_weight=weights)
    assert est.net_.criterion_.criterion.reduction == "none"
    assert recorder.reduction == "mean"  # the parameter is left as it was


# -- saving and loading -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "loss",
    [
        nn.HuberLoss(delta=0.5),
        nn.SmoothL1Loss(beta=0.2, reduction="mean"),
        nn.MSELoss,
        RelativeH1Loss(periodic=(True,)),
    ],
)
def test_torch_and_package_losses_save_and_load(data, tmp_path, loss):
    X, y = data
    est = FNORegressor(**{**TINY, "max_epochs": 1}, loss=loss).fit(X, y)
    est.save(tmp_path / "m.safetensors")
    loaded = sklearn_amfno.load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    if isinstance(loss, type):
        assert loaded.loss is loss
    else:
        assert type(loaded.loss) is type(loss) and loaded.loss is not loss
        assert vars(loaded.loss).keys() == vars(loss).keys()
        for name in ("delta", "beta", "reduction", "periodic"):
            assert getattr(loaded.loss, name, None) == getattr(loss, name, None)
    loaded.set_params(warm_start=True).fit(X, y)  # the loaded loss trains on


def test_an_unknown_loss_class_is_refused_at_save_until_registered(data, tmp_path, monkeypatch):
    X, y = data
    est = FNORegressor(**{**TINY, "max_epochs": 1}, loss=NeedsArguments(alpha=2.0)).fit(X, y)
    with pytest.raises(
        TypeError, match=r"NeedsArguments is not one a model file can name.*register_module.*pickle"
    ):
        est.save(tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists()
    monkeypatch.setattr(file_schema, "_MODULE_REGISTRY", {})
    sklearn_amfno.register_module(NeedsArguments, name="tests.NeedsArguments")
    est.save(tmp_path / "m.safetensors")
    loaded = sklearn_amfno.load(tmp_path / "m.safetensors")
    assert type(loaded.loss) is NeedsArguments and loaded.loss.alpha == 2.0
    # A registered class whose argument is not kept under its name cannot be rebuilt.
    est.loss.alpha = object()
    with pytest.raises(TypeError, match="'alpha' is not kept as a plain attribute"):
        est.save(tmp_path / "other.safetensors")
    # A loss holding tensors (a weighted torch loss) is refused too.
    est.set_params(loss=nn.BCEWithLogitsLoss(pos_weight=torch.ones(1)))
    with pytest.raises(TypeError, match="cannot save params.loss"):
        est.save(tmp_path / "other.safetensors")


def _edited(tmp_path, edit):
    est = FNORegressor(**{**TINY, "max_epochs": 1}, loss=nn.HuberLoss(delta=0.5))
    est.fit(np.ones((4, 8)), np.ones((4, 8)))
    est.save(tmp_path / "m.safetensors")
    description, tensors = read_container(tmp_path / "m.safetensors")
    edit(description["root"]["params"])
    write_container(tmp_path / "edited.safetensors", description, tensors)  # signed again
    return tmp_path / "edited.safetensors"


@pytest.mark.parametrize(
    "edit, match",
    [
        (
            lambda p: p["loss"]["__loss__"].update({"class": "builtins.eval"}),
            "'builtins.eval' is not a loss module",
        ),
        (lambda p: p["loss"]["__loss__"]["params"].update({"code": "x"}), "has no argument 'code'"),
        (lambda p: p["loss"]["__loss__"]["params"].update({"delta": {"__dict__": []}}), "not a plain value"),
        (lambda p: p.update({"lr": p["loss"]}), "a loss module can only be an estimator's loss"),
        (lambda p: p.update({"loss": {"__object__": "torch.optim.Adam"}}), "not among the objects"),
        (lambda p: p["loss"].update({"extra": 1}), "only the key"),
    ],
)
def test_a_file_naming_another_loss_is_refused(tmp_path, edit, match):
    with pytest.raises(ValueError, match=match):
        sklearn_amfno.load(_edited(tmp_path, edit))


class Big(nn.Module):
    """A registered module with weights: no loss, whatever a file says."""

    def __init__(self, size=4):
        super().__init__()
        self.size = size
        self.weight = nn.Parameter(torch.ones(size))

    def forward(self, pred, target):
        return ((pred - target) ** 2).mean() * self.weight.sum()


def test_a_file_cannot_build_a_registered_module_with_weights_as_a_loss(tmp_path, monkeypatch):
    monkeypatch.setattr(file_schema, "_MODULE_REGISTRY", {})
    sklearn_amfno.register_module(Big, name="tests.Big")
    # 10**12 weights would take 4 TB: the meta-device build allocates nothing and refuses it.
    path = _edited(
        tmp_path,
        lambda p: p.update({"loss": {"__loss__": {"class": "tests.Big", "params": {"size": 10**12}}}}),
    )
    with pytest.raises(ValueError, match="no loss without tensors"):
        sklearn_amfno.load(path)
    est = FNORegressor(**{**TINY, "max_epochs": 1}, loss=Big()).fit(np.ones((4, 8)), np.ones((4, 8)))
    with pytest.raises(TypeError, match="holds tensors"):
        est.save(tmp_path / "big.safetensors")
