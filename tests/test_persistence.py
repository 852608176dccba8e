"""Safe persistence: est.save(path) and sklearn_amfno.load(path), never unpickling."""

from __future__ import annotations

import copy
import json
import os
import pickle
import subprocess
import sys
import textwrap
import threading

import joblib
import numpy as np
import pytest
import safetensors.torch
import torch
from _tiny import TINY
from numpydoc.docscrape import NumpyDocString
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback, EarlyStopping

import sklearn_amfno
from sklearn_amfno import (
    AMFNORegressor,
    AutoregressiveRegressor,
    EnsembleRegressor,
    FNORegressor,
)
from sklearn_amfno._model_file import FORMAT_TENSOR, FORMAT_VERSION, read_container, write_container
from sklearn_amfno._persistence import Saver, encode_estimator, register_estimator
from sklearn_amfno.datasets import make_heat

# One small instance per family (tests/_tiny.py), and AM-FNO's KAN kernel.
FAMILIES = [cls(**params) for cls, params in TINY.items()]
FAMILIES.append(AMFNORegressor(kernel="kan", width=8, n_layers=1))


@pytest.fixture(scope="module")
def heat():
    return make_heat(24, 16, random_state=0)


@pytest.fixture(scope="module")
def fitted(heat):
    X, y = heat
    return FNORegressor(n_modes=4, width=8, n_layers=2, max_epochs=2, random_state=0).fit(X, y)


@pytest.fixture
def saved(fitted, tmp_path):
    path = tmp_path / "model.safetensors"
    fitted.save(path)
    return path


def _same_params(a, b):
    """get_params equal, nested estimators compared by their own parameters."""
    pa, pb = a.get_params(deep=False), b.get_params(deep=False)
    assert pa.keys() == pb.keys()
    for name in pa:
        if hasattr(pa[name], "get_params"):
            assert type(pa[name]) is type(pb[name]), name
            _same_params(pa[name], pb[name])
        else:
            assert pa[name] == pb[name], name


# -- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "estimator",
    FAMILIES,
    ids=lambda e: type(e).__name__ + ("-kan" if e.get_params().get("kernel") == "kan" else ""),
)
def test_every_family_round_trips_to_a_fitted_estimator_with_identical_predictions(estimator, heat, tmp_path):
    X, y = heat
    est = clone(estimator).set_params(max_epochs=2, random_state=0).fit(X, y)
    est.save(tmp_path / "m.safetensors")
    loaded = sklearn_amfno.load(tmp_path / "m.safetensors")
    assert type(loaded) is type(est)
    check_is_fitted(loaded)
    assert loaded.get_params() == est.get_params()
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    assert loaded.score(X, y) == est.score(X, y)
    for name, value in vars(est).items():
        if name not in ("net_", "_rng_state"):
            assert getattr(loaded, name) == value, name
    assert torch.equal(loaded._rng_state, est._rng_state)
    # The weights with the scaling buffers, and the history.
    saved_state, loaded_state = est.module_.state_dict(), loaded.module_.state_dict()
    assert saved_state.keys() == loaded_state.keys() and {"x_mean", "y_scale"} <= set(saved_state)
    assert all(torch.equal(saved_state[k], loaded_state[k]) for k in saved_state)
    assert loaded.net_.history == est.net_.history


@pytest.mark.slow
def test_save_then_load_in_a_fresh_process_gives_identical_predictions(fitted, saved, heat, tmp_path):
    X, _ = heat
    np.save(tmp_path / "X.npy", X)
    script = textwrap.dedent(
        f"""
        import numpy as np, sklearn_amfno
        est = sklearn_amfno.load({str(saved)!r})
        np.save({str(tmp_path / "pred.npy")!r}, est.predict(np.load({str(tmp_path / "X.npy")!r})))
        print(type(est).__name__, est.n_epochs_, len(est.net_.history), est.device_)
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""},
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["FNORegressor", "2", "2", "cpu"]
    np.testing.assert_array_equal(np.load(tmp_path / "pred.npy"), fitted.predict(X))


def test_a_loaded_model_warm_starts_exactly_like_the_saved_one(heat, tmp_path):
    X, y = heat
    params = dict(width=8, n_layers=2, lr_schedule="constant", warm_start=True, random_state=0)
    est = AMFNORegressor(max_epochs=3, **params).fit(X, y)
    est.save(tmp_path / "m.safetensors")
    loaded = sklearn_amfno.load(tmp_path / "m.safetensors").fit(X, y)
    straight = AMFNORegressor(max_epochs=6, **{**params, "warm_start": False}).fit(X, y)
    # The optimizer's moments and the random stream were saved: 3 + load + 3 = 6, bit for bit.
    assert list(loaded.net_.history[:, "train_loss"]) == list(straight.net_.history[:, "train_loss"])
    np.testing.assert_array_equal(loaded.predict(X), straight.predict(X))


def test_a_loaded_model_refits_and_clones(saved, heat):
    X, y = heat
    loaded = sklearn_amfno.load(saved)
    assert clone(loaded).get_params() == loaded.get_params()
    assert loaded.fit(X, y).n_epochs_ == 2


@pytest.mark.parametrize(
    "estimator",
    [
        AMFNORegressor(width=12),
        EnsembleRegressor(FNORegressor(n_modes=4), n_estimators=2),
        AutoregressiveRegressor(FNORegressor(n_modes=4)),
    ],
    ids=["operator", "ensemble", "autoregressive"],
)
def test_save_refuses_an_unfitted_estimator_and_writes_no_file(estimator, tmp_path):
    with pytest.raises(NotFittedError, match=f"This {type(estimator).__name__} is not fitted: save writes"):
        estimator.save(tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists()


def test_a_file_of_an_unfitted_estimator_from_an_earlier_version_loads_unfitted(tmp_path):
    # Earlier versions saved unfitted estimators: such files still load, as unfitted estimators.
    est = AMFNORegressor(width=12, optimizer=torch.optim.RMSprop, optimizer_params={"alpha": 0.9})
    saver = Saver()
    root = encode_estimator(est, saver)
    assert root["state"] is None
    write_container(tmp_path / "m.safetensors", {"versions": {}, "root": root}, saver.tensors)
    loaded = sklearn_amfno.load(tmp_path / "m.safetensors")
    assert loaded.get_params() == est.get_params()
    with pytest.raises(NotFittedError):
        loaded.predict(np.zeros((1, 16)))


def test_skorch_callbacks_and_random_states_round_trip_as_parameters(fitted, tmp_path):
    rng = np.random.RandomState(3)
    rng.standard_normal(5)
    # Parameters set on a fitted estimator are saved as they are (the fit is untouched).
    est = copy.deepcopy(fitted).set_params(
        callbacks=[EarlyStopping(patience=3), ("named", EarlyStopping)], random_state=rng
    )
    est.save(tmp_path / "m.safetensors")
    loaded = sklearn_amfno.load(tmp_path / "m.safetensors")
    callback, (name, cls) = loaded.callbacks
    assert type(callback) is EarlyStopping and callback.get_params() == est.callbacks[0].get_params()
    assert (name, cls) == ("named", EarlyStopping)
    assert loaded.random_state.standard_normal() == rng.standard_normal()


def test_autoregressive_rollout_round_trips_with_its_inner_estimator(tmp_path):
    t = np.arange(6)[None, None, :] * 0.1
    x = np.linspace(0, 1, 16, endpoint=False)[None, :, None]
    traj = np.sin(2 * np.pi * (x - t - np.random.default_rng(0).uniform(0, 1, (12, 1, 1))))
    X, y = traj[..., :2], traj[..., 2:]
    est = AutoregressiveRegressor(
        FNORegressor(n_modes=4, width=8, n_layers=1, max_epochs=2, random_state=0), training="rollout"
    ).fit(X, y)
    est.save(tmp_path / "ar.safetensors")
    loaded = sklearn_amfno.load(tmp_path / "ar.safetensors")
    _same_params(loaded, est)
    check_is_fitted(loaded)
    check_is_fitted(loaded.estimator_)
    assert loaded.rollout_steps_ == est.rollout_steps_ and loaded.grid_shape_ == est.grid_shape_
    np.testing.assert_array_equal(loaded.predict(X, n_steps=7), est.predict(X, n_steps=7))
    assert loaded.estimator_.net_.history == est.estimator_.net_.history


def test_the_same_model_saves_to_the_same_bytes(fitted, tmp_path):
    # No timestamps or random names: a saved model can be diffed and cached by its hash.
    fitted.save(tmp_path / "a")
    fitted.save(tmp_path / "b")
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["a", "b"]  # no temporary file left behind


def test_the_file_is_plain_safetensors_with_the_versions_in_its_json(saved):
    tensors = safetensors.torch.load_file(saved)
    assert any(name.startswith("net_.module.") for name in tensors)
    with open(saved, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        metadata = json.loads(f.read(n))["__metadata__"]
    assert metadata["format"] == "sklearn_amfno" and metadata["format_version"] == str(FORMAT_VERSION)
    versions = json.loads(metadata["estimator"])["versions"]
    assert versions["sklearn_amfno"] == sklearn_amfno.__version__ and versions["torch"] == torch.__version__


def test_loading_leaves_the_global_random_state_alone(saved):
    state = torch.random.get_rng_state()
    sklearn_amfno.load(saved)
    assert torch.equal(state, torch.random.get_rng_state())


@pytest.mark.filterwarnings("ignore:Setting self.device = cpu")
def test_a_model_saved_on_a_gpu_loads_on_a_cpu(heat, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    X, y = heat
    est = AMFNORegressor(width=4, n_layers=1, max_epochs=1, random_state=0).fit(X, y)
    expected = est.predict(X)
    est.device_ = "cuda"  # as after a GPU fit (the tensors are written from the CPU either way)
    est.save(tmp_path / "m.safetensors")
    with pytest.warns(UserWarning, match="saved on device 'cuda'.*loaded on 'cpu'"):
        loaded = sklearn_amfno.load(tmp_path / "m.safetensors")
    assert loaded.device_ == "cpu" and str(loaded.net_.device) == "cpu"
    np.testing.assert_array_equal(loaded.predict(X), expected)
    explicit = sklearn_amfno.load(tmp_path / "m.safetensors", device="cpu")  # no warning
    np.testing.assert_array_equal(explicit.predict(X), expected)
    with pytest.raises(ValueError, match="device='cuda' is not available"):
        sklearn_amfno.load(tmp_path / "m.safetensors", device="cuda")


def test_pickle_and_joblib_keep_working(fitted, heat, tmp_path):
    X, _ = heat
    joblib.dump(fitted, tmp_path / "m.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "m.joblib").predict(X), fitted.predict(X))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(fitted)).predict(X), fitted.predict(X))


# -- refusals ------------------------------------------------------------------------------------


def _header_length(path) -> int:
    with open(path, "rb") as f:
        return int.from_bytes(f.read(8), "little")


@pytest.mark.parametrize("where", ["length", "header", "first_tensor_byte", "middle", "last_byte"])
def test_a_flipped_byte_is_refused(saved, where):
    data = bytearray(saved.read_bytes())
    n = _header_length(saved)
    position = {
        "length": 0,
        "header": 8 + n // 2,
        "first_tensor_byte": 8 + n,
        "middle": 8 + n + (len(data) - 8 - n) // 2,
        "last_byte": len(data) - 1,
    }[where]
    data[position] ^= 0x10
    saved.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=str(saved.name)):
        sklearn_amfno.load(saved)


@pytest.mark.parametrize("keep", [0, 5, 8, 100, "header", "half", "all_but_one"])
def test_a_truncated_file_is_refused(saved, keep):
    data = saved.read_bytes()
    n = _header_length(saved)
    size = {"header": 8 + n, "half": len(data) // 2, "all_but_one": len(data) - 1}.get(keep, keep)
    saved.write_bytes(data[:size])
    with pytest.raises(ValueError, match="truncated|too short"):
        sklearn_amfno.load(saved)


def test_an_edited_json_is_refused_by_the_checksum(saved):
    data = saved.read_bytes()
    edited = data.replace(b'max_epochs\\": 2', b'max_epochs\\": 9')
    assert edited != data and len(edited) == len(data)
    saved.write_bytes(edited)
    with pytest.raises(ValueError, match="changed or corrupted after it was saved.*checksum"):
        sklearn_amfno.load(saved)


class _Marker:
    """A pickle payload that creates a file when unpickled: proof that code ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_pickle_renamed_to_the_safe_format_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "code_ran"
    payload = pickle.dumps(_Marker(str(marker)))
    pickle.loads(payload).close()  # the payload is live: unpickling it creates the marker
    assert marker.exists()
    marker.unlink()
    path = tmp_path / "model.safetensors"
    path.write_bytes(payload)
    with pytest.raises(ValueError, match="looks like a pickle.*not unpickled"):
        sklearn_amfno.load(path)
    assert not marker.exists()


@pytest.mark.parametrize("writer", ["joblib", "joblib_compressed", "torch"])
def test_joblib_and_torch_files_are_refused(fitted, tmp_path, writer):
    path = tmp_path / "model.safetensors"
    if writer == "torch":
        torch.save(fitted.module_.state_dict(), path)
    else:
        joblib.dump(fitted, path, compress=3 if writer == "joblib_compressed" else 0)
    with pytest.raises(ValueError, match="is not a model file saved by sklearn_amfno"):
        sklearn_amfno.load(path)


def test_plain_safetensors_weights_are_refused(fitted, tmp_path):
    safetensors.torch.save_file({"w": torch.ones(3)}, tmp_path / "w.safetensors")
    with pytest.raises(ValueError, match="metadata do not say format='sklearn_amfno'"):
        sklearn_amfno.load(tmp_path / "w.safetensors")


def test_a_newer_format_version_is_refused(tmp_path):
    data = safetensors.torch.save(
        {"w": torch.ones(1)},
        metadata={"format": "sklearn_amfno", "format_version": "2", "estimator": "{}", "sha256": ""},
    )
    (tmp_path / "m").write_bytes(data)
    with pytest.raises(
        ValueError, match="format version 2; this sklearn_amfno reads versions 1 to 1.*Upgrade"
    ):
        sklearn_amfno.load(tmp_path / "m")


def _root(**node):
    return {"versions": {}, "root": {"class": "AMFNORegressor", "params": {}, "state": None, **node}}


@pytest.mark.parametrize(
    "description, match",
    [
        ({"versions": {}}, "the key 'root' is missing"),
        ({"versions": {}, "root": {"class": "AMFNORegressor", "state": None}}, "the key 'params' is missing"),
        (_root(**{"class": "os.system"}), "unknown estimator class 'os.system'"),
        (_root(params={"nope": 1}), r"AMFNORegressor has no parameters \['nope'\]"),
        (_root(params={"optimizer": {"__object__": "os.system"}}), "'os.system' is not among the objects"),
        (_root(params={"width": {"__code__": "print(1)"}}), "unknown tag '__code__'"),
        (
            _root(params={"callbacks": [{"__callback__": {"class": "skorch.callbacks.LoadInitState"}}]}),
            "'skorch.callbacks.LoadInitState' is not among the objects",
        ),
        (_root(params={"width": {"__tensor__": "absent"}}), "the tensor 'absent' is missing"),
        (_root(state={"net_": {"module": {}}}), "the key 'optimizer' is missing"),
    ],
    ids=["root", "params", "class", "parameter", "object", "tag", "file-reading-callback", "tensor", "net"],
)
def test_a_consistent_but_wrong_file_is_refused_with_a_clear_error(tmp_path, description, match):
    # Written with a valid checksum, as a careless tool (or a forger) would.
    write_container(tmp_path / "m", description, {})
    with pytest.raises(ValueError, match=match):
        sklearn_amfno.load(tmp_path / "m")


def test_values_without_a_safe_form_are_refused_at_save(fitted, tmp_path):
    class MyCallback(Callback):
        pass

    with pytest.raises(TypeError, match="cannot save params.callbacks.0: a value of type .*MyCallback"):
        copy.deepcopy(fitted).set_params(callbacks=[MyCallback()]).save(tmp_path / "m")
    with pytest.raises(TypeError, match="path must be a str or os.PathLike"):
        fitted.save(open(os.devnull, "wb"))
    assert not (tmp_path / "m").exists()


def test_an_unregistered_subclass_is_refused_until_registered(heat, tmp_path):
    class MyRegressor(FNORegressor):
        pass

    X, y = heat
    est = MyRegressor(n_modes=4, width=4, n_layers=1, max_epochs=1, random_state=0).fit(X, y)
    with pytest.raises(
        TypeError, match="MyRegressor is not an estimator class that sklearn_amfno.load can build"
    ):
        est.save(tmp_path / "m")
    register_estimator(MyRegressor, name="tests.MyRegressor")
    est.save(tmp_path / "m")
    loaded = sklearn_amfno.load(tmp_path / "m")
    assert type(loaded) is MyRegressor
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


@pytest.mark.slow
def test_the_package_estimators_are_registered_where_they_are_defined_under_their_public_names():
    # One registry: load builds what it holds, and each public estimator registers itself in
    # its own module (no list of names elsewhere). A fresh interpreter: load before any use.
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                from sklearn_amfno._persistence import _known_classes
                print(sorted(_known_classes()))
                """
            ),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    public = {
        name: obj
        for name in sklearn_amfno.__all__
        if isinstance(obj := getattr(sklearn_amfno, name), type) and issubclass(obj, BaseEstimator)
    }
    assert result.stdout.strip() == str(sorted(public))
    from sklearn_amfno._persistence import _known_classes

    assert all(_known_classes()[name] is cls for name, cls in public.items())


def test_names_that_old_pickles_give_still_resolve():
    # The skorch net, its loader and its generators' states pickle by module path; pickles
    # written before sklearn_amfno._net existed name them in sklearn_amfno._base.
    from sklearn_amfno import _base, _net

    assert _base.OperatorNet is _net.OperatorNet
    assert _base._data_loader is _net.data_loader
    assert _base._GeneratorState is _net._GeneratorState
    est = FNORegressor(n_modes=4, width=4, n_layers=1, max_epochs=1, random_state=0)
    X = np.random.default_rng(0).standard_normal((6, 16))
    est.fit(X, X)
    # Nothing of the fit stays on the net (the callbacks' state lives there during training).
    assert est.net_.fit_in_progress is None and "fit_in_progress" not in vars(est.net_)
    # Protocol 2 names globals as text lines: the pickle an earlier version wrote.
    old = (
        pickle.dumps(est, protocol=2)
        .replace(b"sklearn_amfno._net\ndata_loader\n", b"sklearn_amfno._base\n_data_loader\n")
        .replace(b"sklearn_amfno._net\n", b"sklearn_amfno._base\n")
    )
    assert b"sklearn_amfno._net" not in old and b"sklearn_amfno._base\n_data_loader" in old
    np.testing.assert_array_equal(pickle.loads(old).predict(X), est.predict(X))


def test_load_is_documented_in_numpydoc():
    doc = NumpyDocString(sklearn_amfno.load.__doc__)
    assert [p.name for p in doc["Parameters"]] == ["path", "device"]
    assert doc["Returns"] and "".join(doc["Examples"]).strip()
    assert "load" in sklearn_amfno.__all__


def test_two_threads_saving_to_one_path_leave_one_loadable_file(fitted, tmp_path, monkeypatch):
    # The temporary file of the atomic write was named by the process id only: two threads
    # saving to one path wrote the same temporary file, and the second rename found it gone.
    # Both threads wait before renaming, so that their writes always overlap.
    before_rename = threading.Barrier(2, timeout=10)
    replace = os.replace

    def replace_together(src, dst):
        before_rename.wait()
        replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_together)
    path = tmp_path / "model.safetensors"
    errors = []

    def save(model):
        try:
            model.save(path)
        except Exception as error:  # reported by the assertion below
            errors.append(error)

    models = [copy.deepcopy(fitted).set_params(lr=lr) for lr in (1e-3, 2e-3)]
    threads = [threading.Thread(target=save, args=(model,)) for model in models]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sklearn_amfno.load(path).lr in (1e-3, 2e-3)
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]  # no temporary file left


def test_a_saved_file_gets_the_permissions_of_a_plainly_written_one(fitted, tmp_path):
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    fitted.save(tmp_path / "model.safetensors")
    assert (tmp_path / "model.safetensors").stat().st_mode == plain.stat().st_mode


def test_a_file_written_before_dense_modes_existed_loads_the_model_it_holds(heat, tmp_path):
    # Files saved before AM-FNO's dense_modes (default 2 now) hold a model without dense modes:
    # the missing parameter takes the value that rebuilds it (0), not today's default.
    X, y = heat
    est = AMFNORegressor(dense_modes=0, width=4, n_layers=1, max_epochs=2, random_state=0).fit(X, y)
    est.save(tmp_path / "new")
    description, tensors = read_container(tmp_path / "new")
    del description["root"]["params"]["dense_modes"]
    tensors = {k: v for k, v in tensors.items() if k != FORMAT_TENSOR}
    write_container(tmp_path / "old", description, tensors)
    loaded = sklearn_amfno.load(tmp_path / "old")
    assert loaded.dense_modes == 0
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_a_pickle_made_before_dense_modes_existed_unpickles_and_predicts(heat):
    # Simulate an older pickle: the estimator without the parameter, its kernels without the
    # attribute and the weight slot.
    X, y = heat
    est = AMFNORegressor(dense_modes=0, width=4, n_layers=1, max_epochs=2, random_state=0).fit(X, y)
    expected = est.predict(X)
    del est.dense_modes
    for kernel in [m for m in est.module_.modules() if hasattr(m, "dense_modes")]:
        del kernel.dense_modes
        del kernel._parameters["dense_weight"]
    loaded = pickle.loads(pickle.dumps(est))
    assert loaded.get_params()["dense_modes"] == 0
    np.testing.assert_array_equal(loaded.predict(X), expected)
