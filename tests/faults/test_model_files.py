"""A model file is data, never instructions (sklearn_amfno.load, docs/saving.md).

Each test forges files the way an attacker would: it takes a file written by ``save``, edits the
JSON of its metadata, recomputes the SHA-256 with the module's own ``digest`` (anyone can) and
writes it back, then checks that ``load`` refuses it with a ValueError naming the file, quickly
and without allocating what the file asks for, or that what it restores cannot write files,
run code or reach a sink other than ``print``.
"""

from __future__ import annotations

import builtins
import copy
import json
import os
import re
import tracemalloc
import warnings

import joblib
import numpy as np
import pytest
import safetensors.torch
import torch
from safetensors import safe_open
from skorch.callbacks import (
    Checkpoint,
    EarlyStopping,
    LoadInitState,
    LRScheduler,
    PrintLog,
    TrainEndCheckpoint,
)

import sklearn_amfno
from sklearn_amfno import AMFNORegressor, AutoregressiveRegressor, FNORegressor
from sklearn_amfno._model_file import digest
from sklearn_amfno.callbacks import EstimatorCheckpoint

rng = np.random.default_rng(0)
X = rng.standard_normal((8, 16))
Y = np.cumsum(X, axis=1) / 4


def _tiny(**params):
    return AMFNORegressor(width=4, n_layers=1, max_epochs=1, random_state=0, **params)


@pytest.fixture(scope="module")
def fitted():
    return _tiny().fit(X, Y)


def _with_callbacks(fitted, callbacks):
    """A fitted estimator whose ``callbacks`` parameter is ``callbacks`` (save refuses unfitted ones)."""
    return copy.deepcopy(fitted).set_params(callbacks=callbacks)


@pytest.fixture
def saved(fitted, tmp_path):
    path = tmp_path / "model.safetensors"
    fitted.save(path)
    return path


def _forge(path, edit, out=None):
    """Edit the description (and tensors) of ``path``; re-sign it as a forger would."""
    with safe_open(path, "pt") as f:
        metadata = f.metadata()
        tensors = {key: f.get_tensor(key) for key in f.keys()}
    description = json.loads(metadata["estimator"])
    edit(description, tensors)
    text = json.dumps(description, sort_keys=True)
    metadata = {**metadata, "estimator": text, "sha256": digest(text, tensors)}
    out = out or path.with_name("forged.safetensors")
    safetensors.torch.save_file(tensors, out, metadata=metadata)
    return out


def _refused(path, match=""):
    """load(path) raises a ValueError that names the file (and matches ``match``)."""
    with pytest.raises(ValueError, match=re.escape(str(path))) as info:
        sklearn_amfno.load(path)
    assert re.search(match, str(info.value)), str(info.value)
    return str(info.value)


def _set_callbacks(callbacks):
    def edit(description, tensors):
        description["root"]["params"]["callbacks"] = callbacks

    return edit


# -- 1. callbacks never choose where the next fit writes ------------------------------------------


@pytest.mark.parametrize(
    "callback",
    [
        {"class": "skorch.callbacks.Checkpoint", "params": {"f_params": "VICTIM", "dirname": ""}},
        {"class": "skorch.callbacks.TrainEndCheckpoint", "params": {"dirname": "VICTIM_DIR"}},
        {"class": "sklearn_amfno.callbacks.EstimatorCheckpoint", "params": {"dirname": "VICTIM_DIR"}},
    ],
    ids=["Checkpoint", "TrainEndCheckpoint", "EstimatorCheckpoint"],
)
def test_load_refuses_a_checkpoint_callback_that_names_a_path(saved, tmp_path, callback):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    text = json.dumps(callback).replace("VICTIM_DIR", str(tmp_path / "d")).replace("VICTIM", str(victim))
    forged = _forge(saved, _set_callbacks([{"__callback__": json.loads(text)}]))
    _refused(forged, "with parameters.*may not choose where your process writes")
    assert victim.read_text() == "precious" and not (tmp_path / "d").exists()


def test_file_writing_callbacks_are_saved_without_their_paths_and_dropped_with_a_warning(tmp_path):
    target = tmp_path / "elsewhere"
    est = _tiny(
        callbacks=[
            Checkpoint(monitor="train_loss_best", dirname=str(target)),
            ("stop", EarlyStopping(monitor="train_loss", patience=3)),
            TrainEndCheckpoint(dirname=str(target)),
            EstimatorCheckpoint(target),
        ]
    ).fit(X, Y)
    est.callbacks.append(("checkpoint_class", Checkpoint))  # a class: skorch would build it
    path = tmp_path / "m.safetensors"
    est.save(path)
    with safe_open(path, "pt") as f:
        params = json.loads(f.metadata()["estimator"])["root"]["params"]
    # No path went into the parameters (checkpoint_dirs_, a record of where the fit wrote, is
    # fitted state that nothing reads back).
    assert str(target) not in json.dumps(params)
    with pytest.warns(
        UserWarning, match=r"EstimatorCheckpoint.*skorch.callbacks.Checkpoint.*TrainEndCheckpoint.*set_params"
    ):
        loaded = sklearn_amfno.load(path)
    ((name, callback),) = loaded.callbacks
    assert name == "stop" and type(callback) is EarlyStopping and callback.patience == 3
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    cwd_before = sorted(os.listdir(os.getcwd()))
    loaded.set_params(warm_start=True).fit(X, Y)
    assert sorted(os.listdir(os.getcwd())) == cwd_before


def test_a_callback_class_that_writes_files_is_dropped_not_built_with_default_paths(saved):
    forged = _forge(saved, _set_callbacks([{"__object__": "skorch.callbacks.Checkpoint"}]))
    with pytest.warns(UserWarning, match=re.escape(str(forged)) + ".*skorch.callbacks.Checkpoint"):
        loaded = sklearn_amfno.load(forged)
    assert loaded.callbacks is None


def test_load_init_state_is_refused_at_save_and_at_load(fitted, saved, tmp_path):
    with pytest.raises(TypeError, match="LoadInitState"):
        _with_callbacks(fitted, [LoadInitState(Checkpoint())]).save(tmp_path / "m")
    forged = _forge(saved, _set_callbacks([{"__callback__": {"class": "skorch.callbacks.LoadInitState"}}]))
    _refused(forged, "not among the objects a file may name")


def _callback(name, **params):
    return {"__callback__": {"class": f"skorch.callbacks.{name}", "params": params}}


@pytest.mark.parametrize(
    "callback, match",
    [
        (_callback("EarlyStopping", sink={"__object__": "torch.optim.SGD"}), "not among the objects"),
        (_callback("PrintLog", sink={"__object__": "os.system"}), "not among the objects"),
        (_callback("LRScheduler", policy="sys"), "policy must be one of"),
        (_callback("LRScheduler", policy="LambdaLR", lr_lambda=1), "policy must be one of"),
        (_callback("LRScheduler", policy="StepLR", on_epoch_end="x"), "StepLR has no argument 'on_epoch_"),
        (_callback("EarlyStopping", patience="3"), "patience='3' must be an int"),
        (_callback("Initializer", patterns="*", fn={"__object__": "skorch.utils.noop"}), "as a callback"),
        (_callback("EpochScoring", scoring="r2"), "not among the objects a file may name as a callback"),
        ({"__object__": "skorch.callbacks.Freezer"}, "not among the objects"),
        ({"__callback__": {"class": "skorch.callbacks.PrintLog", "params": {}, "x": 1}}, r"also \['x'\]"),
    ],
    ids=[
        "sink-optimizer", "sink-os-system", "policy-module", "policy-lambda", "kwarg-method", "type",
        "initializer", "scoring", "freezer", "extra-key",
    ],
)  # fmt: skip
def test_restorable_callbacks_cannot_carry_code_paths_or_other_sinks(saved, callback, match):
    _refused(_forge(saved, _set_callbacks([callback])), match)


def test_callbacks_written_before_this_release_still_load(tmp_path):
    # EarlyStopping and LRScheduler were saved with their parameters: they are restored.
    est = _tiny(
        callbacks=[
            EarlyStopping(monitor="train_loss", patience=2, sink=print),
            LRScheduler(policy="StepLR", step_size=2),
            PrintLog(),
        ]
    ).fit(X, Y)
    est.save(tmp_path / "m")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = sklearn_amfno.load(tmp_path / "m")
    assert [type(c) for c in loaded.callbacks] == [EarlyStopping, LRScheduler, PrintLog]
    assert [c.get_params() for c in loaded.callbacks] == [c.get_params() for c in est.callbacks]
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_a_callback_with_a_sink_other_than_print_is_refused_at_save(fitted, tmp_path):
    with pytest.raises(TypeError, match="sink=.*must be print or skorch.utils.noop"):
        _with_callbacks(fitted, [EarlyStopping(sink=torch.optim.SGD)]).save(tmp_path / "m")


# -- 2. the model's size is checked against the file's tensors before anything is built ----------


def _set_model(**values):
    def edit(description, tensors):
        root = description["root"]
        root["params"].update(values)
        root["state"]["_module_params"].update(values)

    return edit


@pytest.mark.parametrize(
    "values, match",
    [
        ({"width": 60000}, "width=60000, but the model's tensors in the file hold"),
        ({"width": 8000}, "width=8000, but the model's tensors in the file hold"),
        ({"n_layers": 200000}, "n_layers=200000, but the file holds"),
        ({"width": 5}, "the saved weight .* the model the parameters describe has"),
        ({"n_layers": 2}, "the saved weights do not fit the model the parameters describe: missing"),
    ],
    ids=["width-60000", "width-8000", "layers-200000", "width-5", "layers-2"],
)
def test_a_huge_model_in_a_small_file_is_refused_before_anything_is_allocated(saved, values, match):
    forged = _forge(saved, _set_model(**values))
    tracemalloc.start()
    try:
        _refused(forged, match)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 50 * 2**20  # the file is tens of kB; a width-8000 model would take gigabytes


def test_parameters_are_validated_against_the_estimators_constraints(saved):
    _refused(_forge(saved, _set_model(width=-3)), "'width' parameter of AMFNORegressor must be")
    _refused(_forge(saved, _set_model(width=True)), "width")
    forged = _forge(
        saved, lambda d, t: d["root"]["params"].update(optimizer={"__object__": "builtins.print"})
    )
    _refused(forged, "'builtins.print' is not among the objects a file may name at this place")


# -- 3. what the path is, and the header, are checked before the file is read ---------------------


@pytest.mark.parametrize("kind", ["dev-zero-symlink", "fifo", "directory"])
def test_a_path_that_is_not_a_regular_file_is_refused_before_reading(tmp_path, kind, monkeypatch):
    path = tmp_path / "model.safetensors"
    if kind == "dev-zero-symlink":
        if not os.path.exists("/dev/zero"):
            pytest.skip("needs /dev/zero")
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("needs os.mkfifo")
        os.mkfifo(path)  # reading it would wait for a writer forever
    else:
        path.mkdir()
    opened = []

    def recording(open_):
        def recording_open(name, *args, **kwargs):
            opened.append(str(name))
            return open_(name, *args, **kwargs)

        return recording_open

    monkeypatch.setattr(os, "open", recording(os.open))
    monkeypatch.setattr(builtins, "open", recording(builtins.open))
    _refused(path, "not a regular file.*Nothing was read")
    assert str(path) not in opened  # refused from its status, before it is opened


def test_a_large_file_of_another_format_is_refused_after_reading_its_header_only(tmp_path):
    path = tmp_path / "big.bin"
    header = b'{"__metadata__": {"format": "other"}}'
    with open(path, "wb") as f:
        f.write(len(header).to_bytes(8, "little") + header)
        f.truncate(2**30)  # 1 GiB, sparse: refused from its first bytes
    tracemalloc.start()
    try:
        _refused(path, "do not say format='sklearn_amfno'")
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 10 * 2**20


def test_a_header_whose_tensors_point_past_the_end_is_refused_before_reading_them(saved):
    data = saved.read_bytes()
    n = int.from_bytes(data[:8], "little")
    saved.write_bytes(data[: 8 + n] + data[8 + n : -4])
    _refused(saved, "truncated")


# -- 4. malformed metadata: a ValueError naming the file, never another exception ----------------


def _raw_file(path, header: bytes):
    header += b" " * (-len(header) % 8)
    path.write_bytes(len(header).to_bytes(8, "little") + header)
    return path


def test_a_header_nested_100000_deep_is_a_value_error(tmp_path):
    # No checksum needed: the header is parsed before it.
    deep = b'{"__metadata__": {"format": "sklearn_amfno"}, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    _refused(_raw_file(tmp_path / "m", deep), "nested too deeply")


@pytest.mark.parametrize("depth", [100, 100_000])
def test_an_estimator_description_nested_too_deeply_is_a_value_error(saved, depth):
    def edit(description, tensors):
        description["root"]["params"]["optimizer_params"] = "DEEP"

    forged = _forge(saved, edit)
    with safe_open(forged, "pt") as f:
        metadata, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    text = metadata["estimator"].replace('"DEEP"', "[" * depth + "]" * depth)
    metadata = {**metadata, "estimator": text, "sha256": digest(text, tensors)}
    safetensors.torch.save_file(tensors, forged, metadata=metadata)
    _refused(forged, "nested too deeply")


def _state(**values):
    def edit(description, tensors):
        description["root"]["state"].update(values)

    return edit


def _param(**values):
    def edit(description, tensors):
        description["root"]["params"].update(values)

    return edit


def _optimizer_entry(key, value):
    def edit(description, tensors):
        description["root"]["state"]["net_"]["optimizer"][key] = value

    return edit


def _wrong_exp_avg(description, tensors):
    tensors["net_.optimizer.state.0.exp_avg"] = torch.zeros(3, 3)


def _wrong_rng_state(description, tensors):
    tensors["_rng_state"] = torch.zeros(7, dtype=torch.uint8)


@pytest.mark.parametrize(
    "edit, match",
    [
        (_state(predict={"__object__": "builtins.print"}), "'predict' would replace a parameter, method"),
        (_state(__class__=1), "not a fitted attribute name"),
        (_state(**{"not an identifier": 1}), "not a fitted attribute name"),
        (_state(surprise_=1), r"\['surprise_'\] are not fitted attributes of AMFNORegressor"),
        (_state(width_=1, fit={"__object__": "builtins.print"}), "would replace"),
        (_state(grid_shape_="abc"), "grid_shape_ must be a tuple"),
        (_state(n_epochs_=7), "n_epochs_=7, but the history has 1 epochs"),
        (_state(target_kind_="field; rm -rf"), "target_kind_ must be"),
        (_state(_module_params={"width": 4, "eval": 1}), r"_module_params has keys \['eval'\]"),
        (_state(checkpoint_dirs_={"__tensor__": "_rng_state"}), "checkpoint_dirs_ must be a list of str"),
        (_wrong_rng_state, "not a valid torch random state"),
        (_wrong_exp_avg, r"does not fit the parameter of shape"),
        (_optimizer_entry("param_groups", [{"params": [0], "lr": 1}]), "parameters of the group must be"),
        (_optimizer_entry("state", {"__dict__": [[99, {}]]}), "kept per parameter of the model"),
        (_optimizer_entry("extra", 1), "'state' and 'param_groups'"),
        (lambda d, t: d["root"]["state"]["net_"].update(history=[{"epoch": 5}]), "epoch 1 of the history"),
        (lambda d, t: d["root"]["state"]["net_"].update(history={"x": 1}), "a list of epochs"),
        (_param(random_state={"__random_state__": [1, 2]}), "a random state is"),
        (_param(random_state={"__random_state__": "x"}), "expected a JSON list"),
        (
            _param(optimizer_params={"__dict__": [[[1, 2], 3]]}),
            "a dict key is a str, number",
        ),
        (_param(optimizer_params={"__dict__": [[1]]}), r"a \[key, value\] pair"),
        (_param(width={"__tuple__": [1], "x": 2}), r"found also \['x'\]"),
        (lambda d, t: d["root"].update(extra=1), r"found also \['extra'\]"),
        (lambda d, t: d.update(extra=1), r"found also \['extra'\]"),
        (lambda d, t: d["root"]["state"]["net_"].update(module=[]), "a dict of tensors"),
        (lambda d, t: d["root"]["state"].update(net_=[]), "the key 'module' is missing"),
    ],
    ids=[
        "method", "dunder", "identifier", "unknown", "generic", "grid", "epochs", "kind", "module-params",
        "paths", "rng", "exp-avg", "groups", "state-index", "optimizer-key", "history-epoch",
        "history-type", "random-state", "random-state-type", "unhashable-key", "pair", "tag-extra",
        "node-key", "description-key", "module-type", "net-type",
    ],
)  # fmt: skip
def test_malformed_metadata_is_a_value_error_naming_the_file(saved, edit, match):
    _refused(_forge(saved, edit), match)


def test_a_meta_estimators_state_cannot_replace_its_methods(tmp_path):
    traj = np.cumsum(rng.standard_normal((8, 16, 4)), axis=-1)
    inner = FNORegressor(n_modes=4, width=4, n_layers=1, max_epochs=1, random_state=0)
    est = AutoregressiveRegressor(inner).fit(traj[..., :1], traj[..., 1:2])
    est.save(tmp_path / "ar.safetensors")
    for state, match in [
        ({"predict": {"__object__": "builtins.print"}}, "'predict' would replace"),
        ({"n_steps_out": 3}, "'n_steps_out' would replace a parameter"),
        ({"__dict__": 1}, "not a fitted attribute name|unknown tag"),
        ({"plain": 1}, "not a fitted attribute name"),
    ]:
        forged = _forge(tmp_path / "ar.safetensors", _state(**state))
        _refused(forged, match)
    loaded = sklearn_amfno.load(tmp_path / "ar.safetensors")
    np.testing.assert_array_equal(loaded.predict(traj[..., :1]), est.predict(traj[..., :1]))


def test_a_loaded_model_still_warm_starts_after_all_these_checks(saved):
    loaded = sklearn_amfno.load(saved).set_params(warm_start=True)
    assert loaded.fit(X, Y).n_epochs_ == 2


# -- 5. save's errors name the user's path --------------------------------------------------------


def test_save_errors_name_the_users_path_not_the_temporary_file(fitted, tmp_path):
    missing = tmp_path / "no_such_folder" / "m.safetensors"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))) as info:
        fitted.save(missing)
    assert ".tmp" not in str(info.value)
    with pytest.raises(ValueError, match="path is empty"):
        fitted.save("")
    with pytest.raises(ValueError, match="is a directory: save needs a file name"):
        fitted.save(tmp_path)
    assert os.listdir(tmp_path) == []


# -- 6. compressed joblib files are named --------------------------------------------------------


@pytest.mark.parametrize("method", ["zlib", "gzip", "bz2", "lzma", "xz"])
def test_a_compressed_joblib_file_is_named_by_its_compression(tmp_path, method):
    path = tmp_path / "model.safetensors"
    joblib.dump({"weights": list(range(100))}, path, compress=(method, 3))
    _refused(path, f"looks like a {method}-compressed file.*not decompressed or unpickled")
