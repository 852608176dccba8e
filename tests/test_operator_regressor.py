"""OperatorRegressor: any torch module as an estimator, its module__ parameters, and safe saving."""

from __future__ import annotations

import contextlib
import io
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from torch import nn

import sklearn_amfno
from sklearn_amfno import (
    AutoregressiveRegressor,
    EnsembleRegressor,
    OperatorRegressor,
    _file_schema,
    register_module,
)
from sklearn_amfno.nn import FNO
from sklearn_amfno.preprocessing import GridStandardScaler

FAST = dict(max_epochs=2, batch_size=8, lr=1e-2, random_state=0, device="cpu")


def _channels_last(layer: nn.Module, v: torch.Tensor) -> torch.Tensor:
    """A per-point linear layer applied to ``(n, c, *grid)``, on any number of grid axes."""
    return layer(v.movedim(1, -1)).movedim(-1, 1)


class Pointwise(nn.Module):
    """A 1x1 convolution network (per grid point, any grid dimension)."""

    def __init__(self, in_channels, out_channels, width=8):
        super().__init__()
        self.in_channels, self.out_channels, self.width = in_channels, out_channels, width
        self.hidden = nn.Linear(in_channels, width)
        self.out = nn.Linear(width, out_channels)

    def forward(self, x):
        return _channels_last(self.out, torch.nn.functional.gelu(_channels_last(self.hidden, x)))


class TinySpectral(nn.Module):
    """Lift, one Fourier layer along the last grid axis (``modes`` kept), project; ``c_in``/``c_out``."""

    def __init__(self, c_in, c_out, width=8, modes=4):
        super().__init__()
        self.c_in, self.c_out, self.modes = c_in, c_out, modes
        self.lift = nn.Linear(c_in, width)
        self.weight = nn.Parameter(torch.randn(width, width, modes, dtype=torch.cfloat) / width)
        self.mix = nn.Linear(width, width)
        self.project = nn.Linear(width, c_out)

    def forward(self, x):
        v = _channels_last(self.lift, x)
        spectrum = torch.fft.rfft(v, dim=-1)
        m = min(self.modes, spectrum.shape[-1])
        mixed = torch.zeros_like(spectrum)
        mixed[..., :m] = torch.einsum("bi...k,iok->bo...k", spectrum[..., :m], self.weight[..., :m])
        v = torch.fft.irfft(mixed, n=v.shape[-1], dim=-1) + _channels_last(self.mix, v)
        return _channels_last(self.project, torch.nn.functional.gelu(v))


class InOutDim(Pointwise):
    """Channel counts named ``in_dim``/``out_dim``."""

    def __init__(self, in_dim, out_dim, width=8):
        super().__init__(in_dim, out_dim, width)


class Forwarding(Pointwise):
    """Names nothing itself and forwards ``**kwargs`` (as neuraloperator's TFNO does)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("width", 4)
        super().__init__(*args, **kwargs)


class NeedsDepth(Pointwise):
    """A required argument the data cannot fill in."""

    def __init__(self, in_channels, out_channels, depth):
        super().__init__(in_channels, out_channels)
        self.depth = depth


class ThreeOutputs(Pointwise):
    """Ignores the out_channels it is given: always three output channels."""

    def __init__(self, in_channels, out_channels):
        super().__init__(in_channels, 3)


@pytest.fixture
def registry(monkeypatch):
    """An empty module registry for the test (registrations do not leak into other tests)."""
    monkeypatch.setattr(_file_schema, "_MODULE_REGISTRY", {})
    return _file_schema._MODULE_REGISTRY


def data_1d(n=24, points=16, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, points))
    y = np.roll(X, 1, axis=1) + 0.5 * X
    return X, y


def data_2d(n=16, points=8, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, points, points))
    return X, np.roll(X, 1, axis=-1) - X


# -- parameters -------------------------------------------------------------------------------------


def test_module_parameters_in_get_params_set_params_and_clone():
    est = OperatorRegressor(Pointwise, module__width=4, lr=1e-2)
    params = est.get_params()
    assert params["module"] is Pointwise and params["module__width"] == 4
    assert est.get_params(deep=False)["module__width"] == 4
    assert "module__width=4" in repr(est)

    est.set_params(module__width=6, module__out_channels=1, max_epochs=3)
    assert (est.module__width, est.module__out_channels, est.max_epochs) == (6, 1, 3)

    copy = clone(est)
    assert copy is not est and copy.module is Pointwise
    assert {k: v for k, v in copy.get_params().items() if k.startswith("module__")} == {
        "module__out_channels": 1,
        "module__width": 6,
    }
    # Plain Python's rule for unknown keywords, and scikit-learn's for unknown parameters.
    with pytest.raises(TypeError, match="module__<name>"):
        OperatorRegressor(Pointwise, width=4)
    with pytest.raises(ValueError, match="Invalid parameter"):
        est.set_params(module__=3)
    with pytest.raises(ValueError, match="Invalid parameter"):
        est.set_params(width=3)


def test_grid_search_over_a_module_parameter():
    X, y = data_1d()
    search = GridSearchCV(
        OperatorRegressor(Pointwise, **FAST), {"module__width": [2, 6]}, cv=2, error_score="raise"
    )
    search.fit(X, y)
    assert set(search.cv_results_["param_module__width"]) == {2, 6}
    best = search.best_estimator_
    assert best.module_.module.width == search.best_params_["module__width"]


def test_a_pipeline_routes_module_parameters():
    X, y = data_1d(16)
    pipe = Pipeline([("scale", GridStandardScaler()), ("op", OperatorRegressor(Pointwise, **FAST))])
    pipe.set_params(op__module__width=3)  # new to the estimator: routed all the same
    assert pipe.get_params()["op__module__width"] == 3
    assert pipe.fit(X, y).named_steps["op"].module_.module.width == 3
    assert pipe.predict(X).shape == y.shape


@pytest.mark.parametrize(
    "cls, names",
    [
        (Pointwise, ("in_channels", "out_channels")),
        (TinySpectral, ("c_in", "c_out")),
        (InOutDim, ("in_channels", "out_channels")),  # Pointwise's attributes
    ],
)
@pytest.mark.parametrize("add_grid", [False, True])
def test_channel_counts_are_filled_in(cls, names, add_grid):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 16, 3)), rng.standard_normal((8, 16, 2))
    est = OperatorRegressor(cls, channel_axis=-1, add_grid=add_grid, **FAST).fit(X, y)
    inner = est.module_.module
    assert (getattr(inner, names[0]), getattr(inner, names[1])) == (3 + add_grid, 2)
    assert est.predict(X).shape == y.shape


def test_filled_channels_follow_forwarded_kwargs_and_user_values():
    X, y = data_1d(8)
    est = OperatorRegressor(Forwarding, **FAST).fit(X, y)  # read through the parent's __init__
    assert (est.module_.module.in_channels, est.module_.module.width) == (1, 4)
    # A value the user sets wins over the data's (here a wrong one: the output check names it).
    with pytest.raises(ValueError, match=r"expects \(8, 1, 16\).*output channels"):
        OperatorRegressor(Pointwise, module__out_channels=2, **FAST).fit(X, y)
    with pytest.raises(ValueError, match=r"expects .*output channels"):
        OperatorRegressor(ThreeOutputs, **FAST).fit(X, y)


def test_the_package_models_get_their_grid():
    X, y = data_1d(8)
    est = OperatorRegressor(FNO, module__n_modes=4, module__width=4, module__n_layers=1, **FAST)
    assert est.fit(X, y).module_.module.grid_shape == (16,)
    assert est.predict(X).shape == y.shape


def test_module_parameters_are_checked_before_training():
    X, y = data_1d(8)
    with pytest.raises(ValueError, match=r"needs the arguments \['depth'\].*module__depth="):
        OperatorRegressor(NeedsDepth, **FAST).fit(X, y)
    with pytest.raises(ValueError, match=r"takes no argument \['depth'\]"):
        OperatorRegressor(Pointwise, module__depth=2, **FAST).fit(X, y)
    with pytest.raises(TypeError, match="torch.nn.Module subclass or instance"):
        OperatorRegressor(lambda: Pointwise(1, 1), **FAST).fit(X, y)
    with pytest.raises(ValueError, match="instance of Pointwise, already built"):
        OperatorRegressor(Pointwise(1, 1), module__width=4, **FAST).fit(X, y)
    # Forwarding takes **kwargs down to Pointwise, which names its arguments: still checked.
    with pytest.raises(ValueError, match=r"takes no argument \['depth'\]"):
        OperatorRegressor(Forwarding, module__depth=2, **FAST).fit(X, y)


# -- fit, predict, score ----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [Pointwise, TinySpectral])
@pytest.mark.parametrize("make_data", [data_1d, data_2d])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # Pointwise: no shift
def test_fit_predict_score(cls, make_data):
    X, y = make_data()
    est = OperatorRegressor(cls, **{**FAST, "max_epochs": 20}).fit(X, y)
    assert est.predict(X).shape == y.shape and est.predict(X).dtype == np.float64
    assert est.n_epochs_ == 20 and est.training_status_ == "completed"
    assert est.n_parameters_ == sum(p.numel() * (1 + p.is_complex()) for p in est.module_.parameters())
    score = est.score(X, y)
    assert np.isfinite(score)
    if cls is TinySpectral:  # the spectral layer can learn a shift
        assert score > 0.5
    # Another grid of the same dimension: the output follows it.
    finer = np.repeat(X, 2, axis=-1)
    assert est.predict(finer).shape == finer.shape


def test_per_sample_targets_average_the_output_field():
    X, _ = data_1d(16)
    y = X.mean(axis=1)
    est = OperatorRegressor(TinySpectral, add_grid=True, **FAST).fit(X, y)
    assert est.target_kind_ == "scalar" and est.predict(X).shape == (16,)
    assert est.module_.module.c_out == 1


def test_fit_changes_neither_the_caller_rng_nor_its_parameters():
    X, y = data_1d(8)
    est = OperatorRegressor(Pointwise, **FAST)
    state = torch.get_rng_state()
    first = est.fit(X, y).predict(X)
    assert torch.equal(state, torch.get_rng_state())
    assert est.module is Pointwise
    np.testing.assert_array_equal(clone(est).fit(X, y).predict(X), first)  # bit-repeatable


def test_warm_start_continues_and_refuses_another_module():
    X, y = data_1d()
    est = OperatorRegressor(Pointwise, warm_start=True, **FAST).fit(X, y)
    weights = est.module_.module.hidden.weight.detach().clone()
    est.fit(X, y)
    assert est.n_epochs_ == 4 and len(est.net_.history) == 4
    assert not torch.equal(weights, est.module_.module.hidden.weight)
    with pytest.raises(ValueError, match="module=TinySpectral now and Pointwise"):
        est.set_params(module=TinySpectral).fit(X, y)
    with pytest.raises(ValueError, match="module__width=4 now"):
        est.set_params(module=Pointwise, module__width=4).fit(X, y)


def test_early_stopping_keeps_the_best_epoch():
    X, y = data_1d(40)
    est = OperatorRegressor(
        Pointwise, early_stopping=True, n_iter_no_change=2, **{**FAST, "max_epochs": 50, "lr": 1e-9}
    ).fit(X, y)
    # At a negligible learning rate the validation loss stalls at once: early stopping stops.
    assert est.training_status_ == "stopped" and est.n_epochs_ < 50
    assert est.best_epoch_ is not None and 1 <= est.best_epoch_ <= est.n_epochs_
    assert "valid_loss" in est.net_.history[-1]


def test_verbose_prints_progress():
    X, y = data_1d(8)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        OperatorRegressor(Pointwise, verbose=2, **FAST).fit(X, y)
    assert "train_loss" in out.getvalue()


# -- instance or class ------------------------------------------------------------------------------


def test_an_instance_is_copied_and_is_the_initial_model():
    X, y = data_1d(8)
    torch.manual_seed(0)
    instance = Pointwise(1, 1, width=4)
    before = {k: v.clone() for k, v in instance.state_dict().items()}
    est = OperatorRegressor(instance, **FAST).fit(X, y)
    # Trained: a copy, never the instance.
    assert est.module is instance and est.module_.module is not instance
    for key, value in instance.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert not torch.equal(est.module_.module.hidden.weight, before["hidden.weight"])
    # The instance's weights are where training starts (a negligible step leaves them).
    est_still = OperatorRegressor(instance, **{**FAST, "max_epochs": 1, "lr": 1e-30}).fit(X, y)
    for key, value in est_still.module_.module.state_dict().items():
        torch.testing.assert_close(value, before[key])
    # clone copies the instance (scikit-learn's clone of a non-estimator parameter).
    copied = clone(est).module
    assert copied is not instance and torch.equal(copied.hidden.weight, instance.hidden.weight)
    # A class is built afresh per fit; two seeds give two initialisations.
    a = OperatorRegressor(Pointwise, **{**FAST, "random_state": 1}).fit(X, y).module_.module
    b = OperatorRegressor(Pointwise, **{**FAST, "random_state": 2}).fit(X, y).module_.module
    assert not torch.equal(a.hidden.weight, b.hidden.weight)


def test_an_instance_with_wrong_channels_is_refused_with_the_shapes():
    X, y = data_1d(8)
    with pytest.raises(ValueError, match=r"maps an input of shape \(8, 1, 16\) to \(8, 2, 16\)"):
        OperatorRegressor(Pointwise(1, 2), **FAST).fit(X, y)


# -- meta-estimators and displays -------------------------------------------------------------------


def test_autoregressive_regressor_wraps_it():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((12, 16, 1))
    traj = np.concatenate([np.roll(base, k, axis=1) for k in range(5)], axis=-1)  # shift per frame
    X, y = traj[..., :2], traj[..., 2:]
    for training in ("one_step", "rollout"):
        est = AutoregressiveRegressor(OperatorRegressor(TinySpectral, **FAST), training=training)
        est.fit(X, y)
        assert isinstance(est.estimator_, OperatorRegressor)
        assert est.estimator_.module_.module.c_in == 2
        assert est.predict(X).shape == y.shape
        assert est.predict(X, n_steps=4).shape == (12, 16, 4)


def test_ensemble_regressor_wraps_it():
    X, y = data_1d(16)
    ens = EnsembleRegressor(OperatorRegressor(Pointwise, **FAST), n_estimators=2, random_state=0).fit(X, y)
    a, b = (member.module_.module.hidden.weight for member in ens.estimators_)
    assert not torch.equal(a, b)  # a class: each member its own initialisation
    mean, std = ens.predict(X, return_std=True)
    assert mean.shape == std.shape == y.shape


def test_displays_take_it():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sklearn_amfno.plotting import FieldDisplay, TrainingCurveDisplay

    X, y = data_1d(8)
    est = OperatorRegressor(Pointwise, **FAST).fit(X, y)
    TrainingCurveDisplay.from_estimator(est)
    FieldDisplay.from_estimator(est, X, y)
    plt.close("all")


# -- saving -----------------------------------------------------------------------------------------


def test_save_and_load_a_registered_class(registry, tmp_path):
    register_module(TinySpectral, name="tests.TinySpectral")
    X, y = data_2d()
    est = OperatorRegressor(TinySpectral, module__width=4, module__modes=3, **FAST).fit(X, y)
    path = tmp_path / "operator.safetensors"
    est.save(path)
    loaded = sklearn_amfno.load(path)
    assert loaded.module is TinySpectral and loaded.module__modes == 3
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    assert loaded.n_epochs_ == est.n_epochs_
    # It goes on training where it stopped.
    loaded.set_params(warm_start=True).fit(X, y)
    assert loaded.n_epochs_ == 4


def test_register_module_as_decorator_and_nested_save(registry, tmp_path):
    @register_module(name="tests.Decorated")
    class Decorated(Pointwise):
        pass

    assert register_module(Pointwise) is Pointwise  # plain call, default name
    assert registry["tests.Decorated"] is Decorated
    assert registry[f"{Pointwise.__module__}.Pointwise"] is Pointwise
    rng = np.random.default_rng(0)
    traj = rng.standard_normal((8, 16, 4))
    est = AutoregressiveRegressor(OperatorRegressor(Decorated, **FAST)).fit(traj[..., :2], traj[..., 2:])
    est.save(tmp_path / "rollout.safetensors")
    loaded = sklearn_amfno.load(tmp_path / "rollout.safetensors")
    np.testing.assert_array_equal(loaded.predict(traj[..., :2]), est.predict(traj[..., :2]))
    with pytest.raises(TypeError, match="torch.nn.Module subclass"):
        register_module(Pointwise(1, 1))
    with pytest.raises(ValueError, match="one of the package's models"):
        register_module(Pointwise, name="sklearn_amfno.nn.FNO")


def test_save_refuses_an_unregistered_class_and_an_instance(registry, tmp_path):
    X, y = data_1d(8)
    path = tmp_path / "model.safetensors"
    est = OperatorRegressor(Pointwise, **FAST).fit(X, y)
    with pytest.raises(TypeError, match=r"Pointwise is not registered.*register_module.*pickle/joblib"):
        est.save(path)
    assert not path.exists()
    est = OperatorRegressor(Pointwise(1, 1), **FAST).fit(X, y)
    with pytest.raises(TypeError, match=r"module instance.*Pass the class.*pickle/joblib"):
        est.save(path)
    assert not path.exists()
    # pickle, the stated alternative for files one trusts, works for both.
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).predict(X), est.predict(X))


def test_load_refuses_a_file_naming_an_unregistered_class(registry, tmp_path):
    X, y = data_1d(8)
    register_module(Pointwise, name="tests.Pointwise")
    path = tmp_path / "model.safetensors"
    OperatorRegressor(Pointwise, **FAST).fit(X, y).save(path)
    registry.clear()  # a program that has not registered the class
    with pytest.raises(ValueError, match=r"'tests.Pointwise' is not registered.*register_module"):
        sklearn_amfno.load(path)


def test_the_package_models_save_without_registration(registry, tmp_path):
    X, y = data_1d(8)
    est = OperatorRegressor(FNO, module__n_modes=4, module__width=4, module__n_layers=1, **FAST).fit(X, y)
    est.save(tmp_path / "fno.safetensors")
    np.testing.assert_array_equal(sklearn_amfno.load(tmp_path / "fno.safetensors").predict(X), est.predict(X))


# -- neuraloperator's models ------------------------------------------------------------------------


@pytest.fixture
def neuralop_models():
    models = pytest.importorskip("neuralop.models")
    return models


def _quietly(fn):
    # neuraloperator's UNO prints its configuration while it is built.
    with contextlib.redirect_stdout(io.StringIO()):
        return fn()


@pytest.mark.slow
def test_neuralop_fno_1d_with_early_stopping_and_saving(neuralop_models, registry, tmp_path):
    X, y = data_1d(24)
    est = OperatorRegressor(
        neuralop_models.FNO,
        module__n_modes=(4,),
        module__hidden_channels=8,
        module__n_layers=2,
        early_stopping=True,
        **{**FAST, "max_epochs": 3},
    ).fit(X, y)
    assert est.module_.module.in_channels == 1  # filled in
    assert est.predict(X).shape == y.shape and est.best_epoch_ is not None
    # neuraloperator's state_dict carries its constructor arguments (functions among them) as
    # '_metadata': not a tensor, left out of the file; the weights round-trip.
    register_module(neuralop_models.FNO)
    est.save(tmp_path / "fno.safetensors")
    np.testing.assert_array_equal(sklearn_amfno.load(tmp_path / "fno.safetensors").predict(X), est.predict(X))


def test_neuralop_tfno_2d_channels_through_its_forwarding_init(neuralop_models):
    X, y = data_2d()
    est = OperatorRegressor(
        neuralop_models.TFNO, module__n_modes=(4, 4), module__hidden_channels=8, module__n_layers=2, **FAST
    ).fit(X, y)
    assert est.predict(X).shape == y.shape
    assert est.module_.module.out_channels == 1


def test_neuralop_uno_2d(neuralop_models):
    X, y = data_2d()
    est = OperatorRegressor(
        neuralop_models.UNO,
        module__hidden_channels=8,
        module__lifting_channels=8,
        module__projection_channels=8,
        module__n_layers=3,
        module__uno_out_channels=[8, 8, 8],
        module__uno_n_modes=[[4, 4], [4, 4], [4, 4]],
        module__uno_scalings=[[1.0, 1.0], [0.5, 0.5], [2.0, 2.0]],
        module__channel_mlp_skip="linear",
        **FAST,
    )
    _quietly(lambda: est.fit(X, y))
    assert est.predict(X).shape == y.shape
