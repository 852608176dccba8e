"""What a model file may name and hold: the schema :func:`sklearn_amfno.load` checks values against.

A file names classes and functions only from fixed tables, each valid at one place: torch
optimizer classes as an estimator's ``optimizer``, callbacks in its ``callbacks`` (an allow-list
whose every parameter is checked; callbacks that write files are dropped, never restored with
their paths), and ``print`` / ``skorch.utils.noop`` as a callback's ``sink``. The fitted state
is checked against what the estimator can hold: state names that cannot replace a method, the
torch random state, the training history, the module's weights (names, shapes and dtypes of a
``meta``-device build), bounds on the model's size before anything is built, and the optimizer's
state. Every check raises a ValueError naming where in the file it failed.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from typing import Any, TypeGuard

import numpy as np
import torch
from sklearn.base import BaseEstimator


def optimizer_classes() -> dict[str, type]:
    """The torch optimizer classes a file may name (``optimizer`` parameter)."""
    return {
        f"torch.optim.{name}": obj
        for name in dir(torch.optim)
        if isinstance(obj := getattr(torch.optim, name), type) and issubclass(obj, torch.optim.Optimizer)
    }


def allowed_sinks() -> dict[str, object]:
    """The functions a callback's ``sink`` may be: print to stdout, or nothing."""
    import skorch.utils

    return {"builtins.print": print, "skorch.utils.noop": skorch.utils.noop}


def writing_callbacks() -> dict[str, type]:
    """Callbacks that write files or open external sinks (a path, a run, a writer).

    A file never restores them: ``save`` writes a placeholder (the class only), ``load`` drops
    it with a warning. Otherwise a file would choose where the next ``fit`` writes.
    ``LoadInitState`` is not among them: it reads the files of the ``Checkpoint`` it holds at
    the next fit, so it has no safe form at all (refused by ``save`` and by ``load``).
    """
    import skorch.callbacks

    from .callbacks import EstimatorCheckpoint

    names = (
        "Checkpoint",
        "TrainEndCheckpoint",
        "TensorBoard",
        "MlflowLogger",
        "NeptuneLogger",
        "SacredLogger",
        "WandbLogger",
    )
    writing: dict[str, type] = {
        f"skorch.callbacks.{name}": getattr(skorch.callbacks, name)
        for name in names
        if hasattr(skorch.callbacks, name)
    }
    writing["sklearn_amfno.callbacks.EstimatorCheckpoint"] = EstimatorCheckpoint
    return writing


# -- torch module classes (OperatorRegressor's ``module``) ------------------------------------------
#
# A file names a module class by the name it was registered under; load builds it with the
# file's ``module__`` parameters (plain values). Registering a class is the user's statement that
# they trust its code: a file never brings code, it can only pick among registered classes.

_MODULE_REGISTRY: dict[str, type] = {}


def _package_modules() -> dict[str, type]:
    """The package's own operator models, known without registration (``sklearn_amfno.nn.FNO``...)."""
    from .nn import models

    names = ("AFNO", "AMFNO", "FFNO", "FNO", "LSM", "OFormer", "UFNO")
    return {f"sklearn_amfno.nn.{name}": getattr(models, name) for name in names}


def module_classes() -> dict[str, type]:
    """The torch module classes a file may name: the package's models and the registered ones."""
    return {**_MODULE_REGISTRY, **_package_modules()}


def register_module(cls: type | None = None, *, name: str | None = None) -> Any:
    """Let :func:`sklearn_amfno.load` build the torch module class ``cls``.

    :class:`~sklearn_amfno.OperatorRegressor` saves its ``module`` class by name, never as
    code, and ``load`` builds only the package's models (:mod:`sklearn_amfno.nn`) and the
    classes registered here, with the file's ``module__`` parameters. Registering a class says
    that you trust its code (a file cannot bring code): register it in the code that saves *and*
    in the code that loads, under the same ``name``. Usable as a class decorator, with or
    without ``name``. A class may be registered under several names; registering another class
    under a name replaces it (a class redefined in a notebook). The same registry admits loss
    modules: an estimator's ``loss=MyLoss(...)`` is saved by class name and its constructor's
    plain arguments when ``MyLoss`` is registered (torch.nn's losses and the package's need no
    registration).

    Parameters
    ----------
    cls : type or None, default=None
        A ``torch.nn.Module`` subclass. ``None`` returns a decorator (``@register_module(name=...)``).
    name : str or None, default=None
        The name written to files; ``None`` means ``"<module>.<qualname>"`` of ``cls``. Give one
        that stays when the code moves (``"mylab.UNet"``): files name the class by it.

    Returns
    -------
    cls : type
        ``cls`` itself (or a decorator, when ``cls`` is None).

    See Also
    --------
    sklearn_amfno.OperatorRegressor : the estimator around any torch module.
    sklearn_amfno.load : builds a saved estimator without unpickling.

    Examples
    --------
    >>> import torch
    >>> import sklearn_amfno
    >>> @sklearn_amfno.register_module(name="docs.Pointwise")
    ... class Pointwise(torch.nn.Module):
    ...     def __init__(self, in_channels, out_channels):
    ...         super().__init__()
    ...         self.conv = torch.nn.Conv1d(in_channels, out_channels, 1)
    ...
    ...     def forward(self, x):
    ...         return self.conv(x)
    >>> Pointwise.__name__
    'Pointwise'
    """
    if cls is None:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str or None, got {type(name).__name__}.")
        return lambda decorated: register_module(decorated, name=name)
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        raise TypeError(
            f"register_module expects a torch.nn.Module subclass (the class, not an instance), got {cls!r}."
        )
    if name is None:
        name = f"{cls.__module__}.{cls.__qualname__}"
    if not (isinstance(name, str) and name and name.isprintable()):
        raise ValueError(f"name must be a non-empty printable str, got {name!r}.")
    package = _package_modules()
    if name in package and package[name] is not cls:
        raise ValueError(
            f"{name!r} names one of the package's models; register {cls.__name__} under another name."
        )
    _MODULE_REGISTRY[name] = cls
    return cls


def module_class_name(cls: type) -> str | None:
    """The name a file gives the module class ``cls`` (None when it is not registered)."""
    for name, known in module_classes().items():
        if known is cls:
            return name
    return None


def module_class(name: Any, path: str) -> type:
    """The module class a file names at ``path`` (``{"__object__": name}``); a ValueError if none."""
    if not (isinstance(name, dict) and set(name) == {"__object__"} and isinstance(name["__object__"], str)):
        raise ValueError(f"{path}: a torch module class is expected here (by name), found {describe(name)}.")
    name = name["__object__"]
    known = module_classes()
    if name not in known:
        raise ValueError(
            f"{path}: the torch module class {name!r} is not registered in this process, so the "
            "file cannot be loaded (a model file names its module class, it never brings the "
            "code). If you trust that class's code, import it and call "
            f"sklearn_amfno.register_module(cls, name={name!r}) before load. Known module classes: "
            f"{sorted(known)}."
        )
    return known[name]


def is_int(value: Any) -> TypeGuard[int | np.integer[Any]]:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return (is_int(value) or isinstance(value, (float, np.floating))) and bool(np.isfinite(value))


def _is_plain(value: Any) -> bool:
    """A number, string, bool or None, or a flat list or tuple of them: no object, no path."""
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) and not isinstance(v, (list, tuple)) for v in value)
    return value is None or isinstance(value, (bool, str)) or _is_real(value)


def _lr_policies() -> dict[str, type[Any]]:
    """The scheduler classes skorch's ``LRScheduler(policy=name)`` may build from a file.

    skorch looks the name up in the namespace of its module, which holds more than schedulers;
    a file may only name these (schedulers whose arguments are plain values).
    """
    import skorch.callbacks.lr_scheduler as module

    base = torch.optim.lr_scheduler.LRScheduler
    # LambdaLR takes a function, which no file can hold: left out.
    return {
        name: obj
        for name in dir(module)
        if not name.startswith("_")
        and name != "LambdaLR"
        and isinstance(obj := getattr(module, name), type)
        and (issubclass(obj, base) or issubclass(obj, torch.optim.lr_scheduler.ReduceLROnPlateau))
    }


def _check_lr_scheduler(params: dict) -> str | None:
    """What is wrong with the parameters of an ``LRScheduler`` (None if nothing)."""
    policies = _lr_policies()
    policy = params.get("policy")
    if policy not in policies:
        return f"policy must be one of {sorted(policies)} (by name), got {policy!r}"
    accepted = set(inspect.signature(policies[policy].__init__).parameters) - {"self", "optimizer"}
    for name, value in params.items():
        if name in ("policy", "monitor", "event_name", "step_every"):
            continue
        if name not in accepted:
            return f"{policy} has no argument {name!r} (it takes {sorted(accepted)})"
        if not _is_plain(value):
            return f"the argument {name}={value!r} of {policy} is not a number, string or list of them"
    return None


def callback_rules() -> dict[str, tuple[type, dict[str, tuple[str, Any]]]]:
    """The callbacks a file may restore, with what each of their parameters may be.

    An allow-list: each parameter is checked, so that none names a path, runs code (a function
    other than ``print`` / ``noop``) or writes anywhere but the console.
    """
    import skorch.callbacks

    sinks = list(allowed_sinks().values())
    text = ("a str", lambda v: isinstance(v, str))
    flag = ("True or False", lambda v: isinstance(v, bool))
    sink = ("print or skorch.utils.noop", lambda v: any(v is s for s in sinks))
    names = (
        "None, a str or a list of str",
        lambda v: (
            v is None or isinstance(v, str) or (isinstance(v, list) and all(isinstance(k, str) for k in v))
        ),
    )
    rules: dict[str, dict[str, tuple[str, Any]]] = {
        "EarlyStopping": {
            "monitor": text,
            "patience": ("an int >= 0", lambda v: is_int(v) and v >= 0),
            "threshold": ("a finite number", _is_real),
            "threshold_mode": ("'rel' or 'abs'", lambda v: v in ("rel", "abs")),
            "lower_is_better": flag,
            "sink": sink,
            "load_best": flag,  # keeps the best weights in memory, not in a file
        },
        "LRScheduler": {
            "policy": text,
            "monitor": text,
            "event_name": ("None or a str", lambda v: v is None or isinstance(v, str)),
            "step_every": ("'epoch' or 'batch'", lambda v: v in ("epoch", "batch")),
            "*": ("", None),  # the scheduler's arguments: _check_lr_scheduler
        },
        "GradientNormClipping": {
            "gradient_clip_value": ("None or a number > 0", lambda v: v is None or (_is_real(v) and v > 0)),
            "gradient_clip_norm_type": ("a number or 'inf'", lambda v: _is_real(v) or v == "inf"),
        },
        "EpochTimer": {},
        "PassthroughScoring": {"name": text, "lower_is_better": flag, "on_train": flag},
        "PrintLog": {
            "keys_ignored": names,
            "sink": sink,
            "tablefmt": text,
            "floatfmt": text,
            "stralign": text,
        },
        "ProgressBar": {
            "batches_per_epoch": (
                "'auto', 'count' or an int >= 1",
                lambda v: v in ("auto", "count") or (is_int(v) and v >= 1),
            ),
            "detect_notebook": flag,
            "postfix_keys": names,
        },
    }
    return {
        f"skorch.callbacks.{name}": (getattr(skorch.callbacks, name), rule) for name, rule in rules.items()
    }


def check_callback_params(name: str, params: Any) -> str | None:
    """What is wrong with the parameters of the restorable callback ``name`` (None if nothing)."""
    if not isinstance(params, dict):
        return f"its parameters must be a dict, got {type(params).__name__}"
    rules = callback_rules()[name][1]
    for key, value in params.items():
        if key not in rules:
            if "*" in rules:
                continue  # LRScheduler's scheduler arguments, checked below
            return f"it has no parameter {key!r} that a file may set (known: {sorted(rules)})"
        expected, check = rules[key]
        if check is not None and not check(value):
            return f"its parameter {key}={value!r} must be {expected}"
    if name == "skorch.callbacks.LRScheduler":
        return _check_lr_scheduler(params)
    return None


def _allowed_objects() -> dict[str, object]:
    """Every class and function a file may name (each only at its place, see above)."""
    callbacks = {name: cls for name, (cls, _) in callback_rules().items()}
    return {
        **allowed_sinks(),
        **optimizer_classes(),
        **callbacks,
        **writing_callbacks(),
        **module_classes(),
    }


def allowed_name_of(obj: object) -> str | None:
    for name, allowed in _allowed_objects().items():
        if allowed is obj:
            return name
    return None


def is_callback(value: Any) -> bool:
    from skorch.callbacks import Callback

    return isinstance(value, Callback) or (isinstance(value, type) and issubclass(value, Callback))


class DroppedCallback:
    """What ``load`` makes of a file-writing callback's placeholder, before dropping it."""

    def __init__(self, name: str) -> None:
        self.name = name


def is_key(value: Any) -> bool:
    if isinstance(value, tuple):
        return all(is_key(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


def describe(value: Any) -> str:
    text = (
        json.dumps(value)
        if isinstance(value, (dict, list, str, int, float, bool, type(None)))
        else repr(value)
    )
    return f"{type(value).__name__} {text[:80]}{'...' if len(text) > 80 else ''}"


def decode_random_state(payload: Any, path: str) -> np.random.RandomState:
    """A ``numpy.random.RandomState`` from its saved (legacy MT19937) state, checked first."""
    state = expect(payload, list, path)
    valid = (
        len(state) == 5
        and state[0] == "MT19937"
        and isinstance(state[1], list)
        and len(state[1]) == 624
        and all(is_int(k) and 0 <= k < 2**32 for k in state[1])
        and is_int(state[2])
        and 0 <= state[2] <= 624
        and state[3] in (0, 1)
        and _is_real(state[4])
    )
    if not valid:
        raise ValueError(
            f"{path}: a random state is ['MT19937', 624 keys below 2**32, a position in [0, 624], "
            "0 or 1, a number]; the file's is not."
        )
    random_state = np.random.RandomState()
    random_state.set_state((state[0], np.asarray(state[1], dtype=np.uint32), *state[2:]))
    return random_state


def expect(value: Any, kind: type, path: str) -> Any:
    if not isinstance(value, kind):
        raise ValueError(f"{path}: expected a JSON {kind.__name__}, found {type(value).__name__}.")
    return value


def required(node: dict, key: str, path: str) -> Any:
    if key not in node:
        raise ValueError(f"{path or 'the file'}: the key {key!r} is missing (found {sorted(node)}).")
    return node[key]


def allowed_object(name: str, path: str, objects: Mapping[str, object]) -> Any:
    if name not in objects:
        where = f"here: {sorted(objects)}" if objects else "no object here"
        raise ValueError(
            f"{path}: {name!r} is not among the objects a file may name at this place ({where}): refused."
        )
    return objects[name]


def check_state_names(
    estimator: BaseEstimator, names: Any, where: str, known: set[str] | None = None
) -> None:
    """Refuse fitted-state names that are not plain fitted attributes of ``estimator``.

    A name from a file becomes an attribute: it must not replace a method, a property or a
    class attribute (``predict``, ``__class__``), nor a parameter.

    Parameters
    ----------
    estimator : BaseEstimator
        The estimator whose state is being set.
    names : iterable of str
        The names in the file.
    where : str
        The estimator's path, for error messages.
    known : set of str or None, default=None
        The fitted attributes of the class, when it lists them; otherwise any name that follows
        scikit-learn's conventions (``name_`` or ``_name``) is accepted.
    """
    params = set(estimator.get_params(deep=False))
    cls = type(estimator)
    for name in names:
        if not (isinstance(name, str) and name.isidentifier()) or name.startswith("__"):
            raise ValueError(
                f"{where}: {name!r} is not a fitted attribute name (an identifier, not __dunder__)."
            )
        if name in params or hasattr(cls, name):
            raise ValueError(
                f"{where}: the state {name!r} would replace a parameter, method or class attribute "
                f"of {cls.__name__}: refused."
            )
        if known is not None:
            if name not in known:
                raise ValueError(
                    f"{where}: {name!r} is not a fitted attribute of {cls.__name__} (known: {sorted(known)})."
                )
        elif not (name.endswith("_") or name.startswith("_")):
            raise ValueError(f"{where}: {name!r} is not a fitted attribute name (name_ or _name).")


def _fail(where: str, message: str) -> None:
    raise ValueError(f"{where}: {message}")


def check_rng_state(value: Any, where: str) -> None:
    """Refuse a torch random state that ``torch.Generator.set_state`` would not take.

    Parameters
    ----------
    value : object
        The decoded ``_rng_state``.
    where : str
        Its path, for error messages.
    """
    if not (isinstance(value, torch.Tensor) and value.dtype == torch.uint8 and value.ndim == 1):
        _fail(where, f"a torch random state is a 1-D uint8 tensor, found {describe(value)}.")
    try:
        torch.Generator().set_state(value)
    except (RuntimeError, ValueError, TypeError) as error:
        _fail(where, f"not a valid torch random state ({error}).")


def check_history(history: Any, where: str) -> None:
    """Refuse a training history skorch could not continue: epoch records of plain values.

    Parameters
    ----------
    history : object
        The decoded history.
    where : str
        Its path, for error messages.
    """
    if not isinstance(history, list):
        _fail(where, f"the history is a list of epochs, found {describe(history)}.")

    def plain(value: Any) -> bool:
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return value is None or isinstance(value, (bool, int, float, str))

    for i, epoch in enumerate(history):
        if not (isinstance(epoch, dict) and plain(epoch)):
            _fail(f"{where}.{i}", "an epoch of the history is a dict of numbers, strings and lists.")
        if epoch.get("epoch") != i + 1 or isinstance(epoch.get("epoch"), bool):
            _fail(f"{where}.{i}", f"epoch {i + 1} of the history says epoch={epoch.get('epoch')!r}.")
        batches = epoch.get("batches", [])
        if not (isinstance(batches, list) and all(isinstance(b, dict) for b in batches)):
            _fail(f"{where}.{i}.batches", "the batches of an epoch are a list of dicts.")


def check_module_weights(weights: Any, expected: dict[str, torch.Tensor], where: str) -> None:
    """Refuse weights whose names, shapes or dtypes differ from those of the model to build.

    Parameters
    ----------
    weights : object
        The decoded ``state_dict`` of the file.
    expected : dict
        The ``state_dict`` of the model the parameters describe, built on the ``meta`` device
        (shapes only, nothing allocated).
    where : str
        Its path, for error messages.
    """
    if not (isinstance(weights, dict) and all(isinstance(v, torch.Tensor) for v in weights.values())):
        _fail(where, "the module's weights are a dict of tensors.")
    missing, extra = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
    if missing or extra:
        _fail(
            where,
            f"the saved weights do not fit the model the parameters describe: missing {missing[:5]}"
            f"{'...' if len(missing) > 5 else ''}, unexpected {extra[:5]}{'...' if len(extra) > 5 else ''}.",
        )
    for name, tensor in expected.items():
        saved = weights[name]
        if saved.shape != tensor.shape or saved.dtype != tensor.dtype:
            _fail(
                where,
                f"the saved weight {name!r} is {tuple(saved.shape)} {saved.dtype}, the model the "
                f"parameters describe has {tuple(tensor.shape)} {tensor.dtype}.",
            )


def check_size_bounds(module_kwargs: dict, weights: Any, where: str) -> None:
    """Cheap bounds before any model is built, even on the ``meta`` device.

    Each layer has at least one tensor in the file, and no size hyperparameter (width, modes,
    ratios, ...) can exceed the number of values all the module's tensors hold together: absurd
    values (``n_layers=200000``, ``width=60000`` in a small file) are refused at once.

    Parameters
    ----------
    module_kwargs : dict
        The keyword arguments of the model to build.
    weights : object
        The decoded ``state_dict`` of the file.
    where : str
        Its path, for error messages.
    """
    if not (isinstance(weights, dict) and all(isinstance(v, torch.Tensor) for v in weights.values())):
        _fail(where, "the module's weights are a dict of tensors.")
    n_tensors = len(weights)
    n_values = sum(t.numel() for t in weights.values())
    n_layers = module_kwargs.get("n_layers")
    if is_int(n_layers) and n_layers > n_tensors:
        _fail(where, f"n_layers={n_layers}, but the file holds {n_tensors} tensors of the model: refused.")

    def ints(value: Any):
        if is_int(value):
            yield value
        elif isinstance(value, (list, tuple)):
            for v in value:
                yield from ints(v)

    for name, value in module_kwargs.items():
        for number in ints(value):
            if number > n_values:
                _fail(
                    where,
                    f"{name}={value!r}, but the model's tensors in the file hold {n_values} values "
                    "in all: the parameters describe a model the file does not hold. Refused.",
                )


def check_optimizer_state(saved: Any, optimizer: torch.optim.Optimizer, where: str) -> None:
    """Refuse an optimizer state that does not fit ``optimizer`` (freshly built for the model).

    The parameter groups must list the same parameters with values of the same kinds (numbers,
    flags, tuples of numbers), and each state tensor must match its parameter's shape (a
    dimension may be 1, as in factored states), so that no malformed state reaches torch at the
    next ``warm_start`` fit.

    Parameters
    ----------
    saved : object
        The decoded optimizer ``state_dict``.
    optimizer : torch.optim.Optimizer
        The optimizer of the rebuilt net.
    where : str
        Its path, for error messages.
    """
    fresh = optimizer.state_dict()
    if not (isinstance(saved, dict) and set(saved) == {"state", "param_groups"}):
        _fail(where, "an optimizer state is a dict with the keys 'state' and 'param_groups'.")
    groups = saved["param_groups"]
    if not (isinstance(groups, list) and len(groups) == len(fresh["param_groups"])):
        _fail(where, f"the optimizer has {len(fresh['param_groups'])} parameter groups; the file's differ.")
    params: dict[Any, torch.Tensor] = {}
    for i, (group, reference, live) in enumerate(zip(groups, fresh["param_groups"], optimizer.param_groups)):
        at = f"{where}.param_groups.{i}"
        if not isinstance(group, dict) or group.get("params") != reference["params"]:
            _fail(at, f"the parameters of the group must be {reference['params']}.")
        params.update(zip(reference["params"], live["params"]))
        for key, value in group.items():
            ref = reference.get(key, None)
            if key == "params":
                continue
            if isinstance(ref, bool) or ref is None:
                ok = value is None or isinstance(value, bool) or (key not in reference and _is_plain(value))
            elif _is_real(ref) or isinstance(ref, torch.Tensor):
                ok = _is_real(value) or (isinstance(value, torch.Tensor) and value.numel() == 1)
            elif isinstance(ref, (tuple, list)):
                ok = isinstance(value, (tuple, list)) and len(value) == len(ref) and all(map(_is_real, value))
            else:
                ok = isinstance(value, type(ref))
            if not ok:
                _fail(at, f"{key}={value!r} does not fit the optimizer (like {ref!r} expected).")
    state = saved["state"]
    if not isinstance(state, dict) or not set(state) <= set(params):
        _fail(
            f"{where}.state", "the optimizer state is kept per parameter of the model, and the file's is not."
        )
    for index, entries in state.items():
        param = params[index]
        if not (isinstance(entries, dict) and all(isinstance(k, str) for k in entries)):
            _fail(f"{where}.state.{index}", "the state of a parameter is a dict.")
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                ok = value.ndim == 0 or (
                    value.ndim == param.ndim and all(s in (p, 1) for s, p in zip(value.shape, param.shape))
                )
                ok = ok and (value.is_floating_point() or value.is_complex())
            else:
                ok = _is_plain(value)
            if not ok:
                _fail(
                    f"{where}.state.{index}.{key}",
                    f"{describe(value) if not isinstance(value, torch.Tensor) else tuple(value.shape)} "
                    f"does not fit the parameter of shape {tuple(param.shape)}.",
                )


# -- loss modules (the estimators' ``loss``) --------------------------------------------------------
#
# An estimator's ``loss`` may be a torch module (``torch.nn.MSELoss()``): a file names its class
# and holds its constructor arguments (plain values read back from the attributes of the same
# names, torch's and scikit-learn's convention). Only torch.nn's losses, the package's and the
# classes registered with ``register_module`` can be named.

# torch's deprecated loss arguments, folded into ``reduction`` and not kept as attributes.
_DEPRECATED_LOSS_ARGUMENTS = frozenset({"size_average", "reduce"})


def loss_classes() -> dict[str, type]:
    """The loss module classes a file may name as an estimator's ``loss``."""
    from torch.nn.modules.loss import _Loss

    from .nn import losses

    torch_losses = {
        f"torch.nn.{name}": obj
        for name in dir(torch.nn)
        if isinstance(obj := getattr(torch.nn, name), type) and issubclass(obj, _Loss)
    }
    package = {
        f"sklearn_amfno.nn.losses.{cls.__name__}": cls
        for cls in (losses.RelativeL2Loss, losses.RelativeH1Loss)
    }
    return {**_MODULE_REGISTRY, **torch_losses, **package}


def _loss_arguments(cls: type[Any]) -> list[str]:
    parameters = inspect.signature(cls.__init__).parameters.values()
    return [
        p.name
        for p in parameters
        if p.name != "self"
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        and p.name not in _DEPRECATED_LOSS_ARGUMENTS
    ]


def loss_payload(loss: Any, path: str) -> tuple[str, dict | None]:
    """The class name a file gives the loss module ``loss`` (instance or class) and, for an
    instance, its constructor arguments; a TypeError saying what to do instead when it has none.
    """
    cls = loss if isinstance(loss, type) else type(loss)
    name = next((n for n, known in loss_classes().items() if known is cls), None)
    alternatives = (
        "Use a built-in loss name (loss='relative_l2', 'relative_h1', 'mse' or 'auto') or a loss of "
        "torch.nn (torch.nn.MSELoss(), ...), register the class with sklearn_amfno.register_module "
        "(in the program that saves and in the one that loads), or save the estimator with "
        "pickle/joblib, for files you trust (they run code when loaded)."
    )
    if name is None:
        raise TypeError(
            f"cannot save {path}: the loss module {cls.__module__}.{cls.__qualname__} is not one a "
            f"model file can name (a file names classes, it never holds code). {alternatives}"
        )
    if isinstance(loss, type):
        return name, None
    arguments = {}
    for argument in _loss_arguments(cls):
        if not hasattr(loss, argument) or not _is_plain(getattr(loss, argument)):
            raise TypeError(
                f"cannot save {path}: {cls.__qualname__}'s constructor argument {argument!r} is not "
                "kept as a plain attribute of the same name (a number, string, bool, None or a "
                f"list of them), so a file cannot rebuild the loss. {alternatives}"
            )
        arguments[argument] = getattr(loss, argument)
    if loss.state_dict():
        raise TypeError(
            f"cannot save {path}: the loss module {cls.__qualname__} holds tensors "
            f"({sorted(loss.state_dict())}), which a file does not restore into a loss. {alternatives}"
        )
    return name, arguments


def build_loss_module(class_name: str, arguments: Any, path: str) -> torch.nn.Module:
    """The loss module a file describes, its class and arguments checked before it is built."""
    known = loss_classes()
    if class_name not in known:
        raise ValueError(
            f"{path}: {class_name!r} is not a loss module a file may name (torch.nn's losses, "
            "sklearn_amfno.nn.losses' RelativeL2Loss and RelativeH1Loss, and the classes "
            "registered with sklearn_amfno.register_module in this process): refused."
        )
    cls = known[class_name]
    if not isinstance(arguments, dict):
        raise ValueError(f"{path}: the arguments of a loss module are a dict, found {describe(arguments)}.")
    accepted = _loss_arguments(cls)
    for key, value in arguments.items():
        if key not in accepted:
            raise ValueError(f"{path}: {cls.__qualname__} has no argument {key!r} (it takes {accepted}).")
        if not _is_plain(value):
            raise ValueError(f"{path}: the argument {key}={describe(value)} is not a plain value.")
    try:
        # First on the meta device, which allocates nothing: a loss holds no tensors (save
        # refuses those that do), so a file cannot make load build a model, or allocate
        # memory, through a registered class named as a loss.
        with torch.device("meta"):
            probe = cls(**arguments)
        if not isinstance(probe, torch.nn.Module) or probe.state_dict():
            raise ValueError(f"{path}: {cls.__qualname__} with these arguments is no loss without tensors.")
        return cls(**arguments)
    except (TypeError, ValueError, RuntimeError) as error:
        if isinstance(error, ValueError) and str(error).startswith(path):
            raise
        raise ValueError(f"{path}: cannot build the loss {cls.__qualname__}: {error}") from None
