"""The torch models of ``sklearn_amfno.nn`` on their own, and how the estimators use them."""

from __future__ import annotations

import inspect

import _tiny
import numpy as np
import pytest
import torch
from sklearn.base import clone

import sklearn_amfno
from sklearn_amfno import AMFNORegressor, FNORegressor
from sklearn_amfno.nn import AMFNO, OperatorNetwork

# Small settings per family (tests/_tiny.py), keyed by the torch model, and each model's estimator.
TINY = {_tiny.MODEL_OF[estimator]: params for estimator, params in _tiny.TINY.items()}
ESTIMATORS = {model: estimator for estimator, model in _tiny.MODEL_OF.items()}
GRIDS = {1: (16,), 2: (8, 8), 3: (4, 4, 4)}


@pytest.mark.parametrize("model_class", list(TINY), ids=lambda c: c.__name__)
@pytest.mark.parametrize("n_dim", [1, 2, 3])
def test_every_model_builds_and_runs_on_its_own_in_every_dimension(model_class, n_dim):
    grid = GRIDS[n_dim]
    torch.manual_seed(0)
    model = model_class(in_channels=2, out_channels=3, grid_shape=grid, **TINY[model_class])
    assert isinstance(model, OperatorNetwork) and isinstance(model, torch.nn.Module)
    out = model(torch.randn(5, 2, *grid))
    assert out.shape == (5, 3, *grid) and torch.isfinite(out).all()
    pooled = model_class(in_channels=2, out_channels=4, grid_shape=grid, pooled=True, **TINY[model_class])
    assert pooled(torch.randn(5, 2, *grid)).shape == (5, 4)


@pytest.mark.parametrize("model_class", list(TINY), ids=lambda c: c.__name__)
def test_every_model_learns_in_a_plain_torch_training_loop(model_class):
    # The modules are usable without the estimators: a user's own loop with a torch optimizer.
    torch.manual_seed(0)
    # Smooth inputs (wavenumbers 1..3) and a shifted target: every family can represent it.
    t = torch.arange(16) / 16
    coef = torch.randn(32, 3, 2)
    k = torch.arange(1, 4)[:, None]
    x = coef[..., :1] * torch.sin(2 * torch.pi * k * t) + coef[..., 1:] * torch.cos(2 * torch.pi * k * t)
    x = x.sum(1, keepdim=True)
    y = torch.roll(x, 2, dims=-1)
    model = model_class(in_channels=1, out_channels=1, grid_shape=(16,), **TINY[model_class])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        optimizer.zero_grad()
        loss = torch.mean((model(x) - y) ** 2)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("model_class", list(TINY), ids=lambda c: c.__name__)
def test_estimators_train_the_model_of_their_family(model_class):
    X = np.random.default_rng(0).standard_normal((8, 16))
    params = {k: v for k, v in TINY[model_class].items()}
    est = ESTIMATORS[model_class](**params, max_epochs=1, random_state=0).fit(X, X)
    assert type(est.module_) is model_class


@pytest.mark.parametrize("estimator_class", list(ESTIMATORS.values()), ids=lambda c: c.__name__)
def test_estimator_parameters_reach_the_model_under_the_same_name(estimator_class):
    # One name per meaning: every family parameter of an estimator is a keyword of its model.
    model_params = inspect.signature(estimator_class._module_class.__init__).parameters
    for name in estimator_class._family_parameters():
        assert name in model_params, f"{estimator_class.__name__}.{name} is not a keyword of its model"


def test_estimator_modules_do_not_build_torch_layers():
    # Estimator files turn parameters into keyword arguments; torch code lives in sklearn_amfno.nn.
    for estimator_class in ESTIMATORS.values():
        source = inspect.getsource(inspect.getmodule(estimator_class))
        assert "from torch" not in source and "import torch" not in source, estimator_class.__name__


def test_public_names_import():
    from sklearn_amfno.nn import AFNO, AMFNO, FFNO, FNO, LSM, UFNO, OFormer  # noqa: F401

    assert set(ESTIMATORS.values()) <= {getattr(sklearn_amfno, n) for n in sklearn_amfno.__all__}


@pytest.mark.parametrize(
    "optimizer, optimizer_params, expected",
    [
        ("adamw", None, torch.optim.AdamW),
        ("adam", None, torch.optim.Adam),
        ("sgd", {"momentum": 0.9}, torch.optim.SGD),
        (torch.optim.RMSprop, {"alpha": 0.9}, torch.optim.RMSprop),
    ],
)
def test_optimizer_is_a_parameter(optimizer, optimizer_params, expected):
    X = np.random.default_rng(0).standard_normal((8, 16))
    est = FNORegressor(
        n_modes=4, width=4, max_epochs=1, optimizer=optimizer, optimizer_params=optimizer_params
    ).fit(X, X)
    assert type(est.net_.optimizer_) is expected
    group = est.net_.optimizer_.param_groups[0]
    assert group["weight_decay"] == est.weight_decay
    for key, value in (optimizer_params or {}).items():
        assert group[key] == value


def test_bad_optimizer_is_refused_with_its_name():
    X = np.zeros((4, 8))
    with pytest.raises(ValueError, match="'optimizer' parameter"):
        FNORegressor(optimizer="lbfgs-ish", max_epochs=1).fit(X, X)


def test_fit_steps_can_be_overridden_like_skorch_ones():
    class L1Regressor(FNORegressor):
        def initialize_criterion(self, kind, module, target_norm=None):
            return torch.nn.L1Loss()

    X = np.random.default_rng(0).standard_normal((8, 16))
    est = L1Regressor(n_modes=4, width=4, max_epochs=1, random_state=0).fit(X, X)
    assert isinstance(est.net_.criterion_, torch.nn.L1Loss)


class _RecordShape(torch.nn.Module):
    def forward(self, v):
        self.seen = tuple(v.shape[2:])
        return v


@pytest.mark.parametrize("grid", [(32,), (16, 20), (8, 8, 6)])
def test_domain_padding_pads_what_the_processor_sees_and_crops_it_exactly(grid):
    torch.manual_seed(0)
    record = _RecordShape()
    padded = OperatorNetwork(2, 1, n_dim=len(grid), width=4, processor=record, domain_padding=0.25)
    plain = OperatorNetwork(2, 1, n_dim=len(grid), width=4, processor=torch.nn.Identity())
    plain.load_state_dict(padded.state_dict())
    x = torch.randn(3, 2, *grid)
    # Pointwise maps commute with padding + cropping: with an identity processor nothing changes.
    torch.testing.assert_close(padded(x), plain(x))
    assert record.seen == tuple(n + round(0.25 * n) for n in grid)


def test_domain_padding_fraction_keeps_the_physical_domain_on_a_finer_grid():
    from sklearn_amfno.nn.models.backbone import padded_shape

    assert padded_shape((32, 24), 0.125) == (36, 27)
    assert padded_shape((64, 48), 0.125) == (72, 54)  # twice the points, the same padded domain
    model = AMFNO(1, 1, (32, 32), width=4, n_layers=1, domain_padding=0.125)
    assert model.processor[0].spectral.kernel.reference == (18, 18)  # Nyquist of the padded grid
    assert model(torch.randn(2, 1, 64, 64)).shape == (2, 1, 64, 64)


def test_fno_modes_refer_to_the_padded_grid():
    est = FNORegressor(n_modes=None, domain_padding=0.25, width=4, n_layers=1, max_epochs=1, random_state=0)
    X = np.random.default_rng(0).standard_normal((8, 16, 16))
    est.fit(X, X)
    assert est.n_modes_ == (10, 11)  # the 20 x 20 padded grid's full-axis and real-FFT limits
    assert est.predict(np.repeat(np.repeat(X, 2, 1), 2, 2)).shape == (8, 32, 32)


def test_negative_domain_padding_is_refused():
    with pytest.raises(ValueError, match="domain_padding"):
        AMFNORegressor(domain_padding=-0.1).fit(np.zeros((4, 8)), np.zeros((4, 8)))
    with pytest.raises(ValueError, match="domain_padding"):
        OperatorNetwork(1, 1, n_dim=1, width=2, processor=torch.nn.Identity(), domain_padding=-1)


def test_dense_modes_add_a_grid_independent_number_of_parameters():
    def count(**kw):
        return sum(p.numel() for p in AMFNO(1, 1, (32, 32), width=4, n_layers=2, **kw).parameters())

    # Per layer (2 * 4 - 1) x 4 complex 4 x 4 matrices, stored as (re, im) pairs.
    assert count(dense_modes=4) - count(dense_modes=0) == 2 * 7 * 4 * 4 * 4 * 2
    est = AMFNORegressor(dense_modes=3, width=4, n_layers=1, max_epochs=2, random_state=0)
    X = np.random.default_rng(0).standard_normal((8, 16, 16))
    est.fit(X, X)
    fine = est.predict(np.repeat(np.repeat(X, 2, 1), 2, 2))
    assert fine.shape == (8, 32, 32) and np.isfinite(fine).all()
    assert est.module_.processor[0].spectral.kernel.dense_weight.shape == (5, 3, 4, 4, 2)


@pytest.mark.parametrize("bad", [-1, 2.5, True])
def test_invalid_dense_modes_are_refused(bad):
    with pytest.raises(ValueError, match="dense_modes"):
        AMFNORegressor(dense_modes=bad).fit(np.zeros((4, 8)), np.zeros((4, 8)))


def test_param_groups_give_the_kernel_networks_their_own_learning_rate(tmp_path):
    # skorch's optimizer__param_groups through optimizer_params: fnmatch patterns on the model's
    # parameter names; the schedule scales every group from its own learning rate.
    X = np.random.default_rng(0).standard_normal((8, 16))
    groups = [("*.nets.*", {"lr": 3e-3})]
    est = AMFNORegressor(
        width=4,
        n_layers=1,
        n_basis=4,
        max_epochs=2,
        random_state=0,
        optimizer_params={"param_groups": groups},
    ).fit(X, X)
    kernel, rest = est.net_.optimizer_.param_groups
    names = {id(p): n for n, p in est.net_.module_.named_parameters()}
    assert all(".nets." in names[id(p)] for p in kernel["params"])
    assert not any(".nets." in names[id(p)] for p in rest["params"])
    assert len(kernel["params"]) + len(rest["params"]) == len(names)
    # The cosine starts each group from its own learning rate.
    assert (kernel["initial_lr"], rest["initial_lr"]) == (3e-3, est.lr)
    constant = clone(est).set_params(lr_schedule="constant").fit(X, X)
    assert [g["lr"] for g in constant.net_.optimizer_.param_groups] == [3e-3, est.lr]
    est.save(tmp_path / "m.safetensors")
    loaded = sklearn_amfno.load(tmp_path / "m.safetensors")
    assert [tuple(g) for g in loaded.optimizer_params["param_groups"]] == groups
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
