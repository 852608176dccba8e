"""Safe persistence: ``est.save(path)`` and :func:`sklearn_amfno.load`, never unpickling.

The file
--------
``path``, exactly as given, is one `safetensors <https://github.com/huggingface/safetensors>`_
file (suffix ``.safetensors`` suggested, never added):

- its tensors are every tensor of the model: the module's ``state_dict`` (weights and the
  scaling buffers), the optimizer's state, the training random state, and any array among the
  fitted attributes. Complex tensors are stored as ``torch.view_as_real`` (older safetensors
  releases have no complex type);
- its header's ``__metadata__`` (strings only) holds ``format`` (``"sklearn_amfno"``),
  ``format_version``, ``estimator`` (a JSON text: the versions of Python, the package, torch,
  numpy and safetensors, then the estimator tree) and ``sha256``, the SHA-256 of that JSON text
  and of every tensor's name, dtype, shape and bytes.

The estimator tree is one node per estimator, ``{"class", "params", "state"}``: ``params`` are
``get_params(deep=False)``, ``state`` the fitted attributes (``None`` when not fitted: a nested
estimator given as a parameter, or a root saved by an earlier version, which still loads;
``save`` refuses an unfitted root with ``NotFittedError``). Values are JSON, with tagged
objects for what JSON lacks: ``{"__tuple__": [...]}``, ``{"__dict__": [[key, value], ...]}``
(keys that are not strings), ``{"__tensor__": name}`` and
``{"__ndarray__": name}`` (a tensor of the file), ``{"__estimator__": node}`` (a nested estimator,
saved recursively), ``{"__object__": name}`` (a class or function from a fixed allow-list, each
valid at one place: a torch optimizer as ``optimizer``, a restorable callback class in
``callbacks``, ``print`` or ``skorch.utils.noop`` as a callback's ``sink``, a torch module class
of the package or registered with :func:`~sklearn_amfno.register_module` as
:class:`~sklearn_amfno.OperatorRegressor`'s ``module`` or a ``module__`` value), ``{"__callback__":
{"class", "params"}}`` (a restorable callback instance), ``{"__callback__": {"class"}}`` (the
placeholder of a callback that writes files) and ``{"__random_state__": ...}`` (a
``numpy.random.RandomState``).

Trust: a model file is data, never instructions
-----------------------------------------------
A model file holds parameters, weights and fitted state; it never decides where the user's
process writes, what runs, or how much memory is taken. The checksum detects accidents and
careless edits, not a forger, who can recompute it: it is not a signature. So :func:`load`
treats every file as hostile and checks everything before building anything, each failure a
ValueError naming the file:

- the path is a regular file (no device, FIFO, socket or directory, after symbolic links);
- the 8-byte header length against the file's size, then the JSON header (nesting depth,
  ``format``, version, the tensors' offsets) before the tensors are read;
- the checksum, then the estimator JSON against the schema: known keys, nesting of at most
  ``_model_file.MAX_DEPTH`` levels, tags and their payloads, a registered class, its parameters (its own
  ``_parameter_constraints``), fitted-state names that replace no method, parameter or class
  attribute (the package's estimators: their known fitted attributes, each of its kind);
- the model's size, from its parameters, against the file's tensors before allocating: cheap
  bounds (:func:`check_size_bounds`), then the ``state_dict`` of the model built on torch's
  ``meta`` device, key by key and shape by shape (:func:`check_module_weights`); then the
  optimizer state and the history.

Nothing is unpickled, no module is imported, no name from the file is looked up anywhere but in
the registries of estimator and torch module classes and the allow-list above. A registered
module class is built with the file's ``module__`` values (plain data, bounded like every size
parameter) on the ``meta`` device first: register only classes whose constructor does nothing
but build the model. Callbacks that write files or open
external sinks (skorch's ``Checkpoint``, ``TrainEndCheckpoint``, ``TensorBoard`` and loggers,
:class:`~sklearn_amfno.callbacks.EstimatorCheckpoint`) are saved as placeholders (their class,
no parameters) and dropped by ``load`` with a warning; one with parameters is refused.
``LoadInitState`` and callbacks that take functions have no safe form. ``docs/saving.md`` lists
which callbacks are kept, dropped or refused.

Adding an estimator class
-------------------------
:func:`load` builds the classes of one registry, by the name files give them: the package's
estimators are registered where they are defined, under their public names
(``@register_estimator(name="FNORegressor")``), and any other class is added the same way, with
:func:`register_estimator`. A class saves its fitted state through two optional methods;
without them, the default applies:

- ``_get_persistent_state(self, saver) -> dict``: the fitted state as JSON, each value through
  ``saver.encode(value, name)``, which stores tensors and arrays in the file and saves nested
  estimators (a meta-estimator's ``estimator_``, ``estimators_``, ...) recursively. The default
  encodes every attribute that is not a parameter (``vars(self)`` less ``get_params()``);
- ``_set_persistent_state(self, state, loader) -> None``: the reverse, each value through
  ``loader.decode(value, name)``; ``loader.device`` is the device asked of :func:`load`.

So a meta-estimator whose fitted attributes are numbers, strings, arrays, lists, tuples, dicts
and fitted estimators of this package needs nothing: register it and derive it from
:class:`SaveMixin` for its ``save`` method. :class:`~sklearn_amfno._base.BaseOperatorRegressor`
defines both methods (:mod:`sklearn_amfno._fitted_state`): its ``net_`` is saved as the
module's ``state_dict``, the optimizer's state and the history, and rebuilt at load.
A change of the format that older releases cannot read raises ``FORMAT_VERSION``
(:mod:`sklearn_amfno._model_file`, the container; :mod:`sklearn_amfno._file_schema`, what a
file may name and hold).
"""

from __future__ import annotations

import inspect
import os
import platform
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import safetensors
import safetensors.torch
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ._distributed import is_main_process
from ._file_schema import (
    DroppedCallback,
    allowed_name_of,
    allowed_object,
    allowed_sinks,
    build_loss_module,
    callback_rules,
    check_callback_params,
    check_state_names,
    decode_random_state,
    describe,
    expect,
    is_callback,
    is_key,
    loss_classes,
    loss_payload,
    module_class,
    module_classes,
    optimizer_classes,
    required,
    writing_callbacks,
)
from ._model_file import check_save_path, read_container, write_container
from ._version import __version__

_TAGS = (
    "__tuple__",
    "__dict__",
    "__tensor__",
    "__ndarray__",
    "__estimator__",
    "__object__",
    "__callback__",
    "__random_state__",
    "__loss__",
)

#: The estimator classes :func:`load` builds, by the name files give them (the one registry): the
#: package's estimators, each registered where it is defined, and the classes users register.
_REGISTRY: dict[str, type[BaseEstimator]] = {}


def register_estimator(cls: type | None = None, name: str | None = None) -> Any:
    """Let :func:`load` build ``cls``: add it to the registry of estimator classes.

    Usable as a class decorator, with or without ``name`` (``@register_estimator(name=...)``).
    The package's estimators are registered where they are defined, under their public names
    (``"FNORegressor"``); a subclass of one is a class of its own, to register.

    Parameters
    ----------
    cls : type or None, default=None
        A scikit-learn estimator class. ``None`` returns a decorator.
    name : str or None, default=None
        The name written to files; ``None`` means ``"<module>.<qualname>"``. Keep it stable:
        files name their classes by it.

    Returns
    -------
    cls : type
        ``cls`` itself (or a decorator, when ``cls`` is None).
    """
    if cls is None:
        return lambda cls: register_estimator(cls, name)
    if not (isinstance(cls, type) and issubclass(cls, BaseEstimator)):
        raise TypeError(f"register_estimator expects a scikit-learn estimator class, got {cls!r}.")
    _REGISTRY[name or f"{cls.__module__}.{cls.__qualname__}"] = cls
    return cls


def _known_classes() -> dict[str, type[BaseEstimator]]:
    """The registry, by file name, with every estimator of the package in it.

    The package's estimators register when their modules are imported; a program may load a
    file before it has used any estimator, so those modules are imported here first.
    """
    from . import _ensemble, estimators  # noqa: F401

    return _REGISTRY


def _class_name(cls: type) -> str:
    for name, known in _known_classes().items():
        if known is cls:
            return name
    raise TypeError(
        f"{cls.__name__} is not an estimator class that sklearn_amfno.load can build: save supports "
        "the estimators of sklearn_amfno and the classes given to "
        "sklearn_amfno._persistence.register_estimator. pickle/joblib save any object (and run "
        "code when loaded)."
    )


# -- what a file may name --------------------------------------------------------------------------
#
# A file names classes and functions only from the fixed tables below, each valid at one place:
# torch optimizer classes as an estimator's ``optimizer``, callbacks in its ``callbacks``, and
# ``print`` / ``skorch.utils.noop`` as a callback's ``sink``. Nothing else is ever looked up.


def _is_fitted(estimator: BaseEstimator) -> bool:
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    return True


def fitted_attributes(estimator: BaseEstimator) -> dict[str, Any]:
    """Every attribute of ``estimator`` that is not one of its parameters: its fitted state.

    Parameters
    ----------
    estimator : BaseEstimator
        A scikit-learn estimator.

    Returns
    -------
    attributes : dict
        Name -> value.
    """
    params = estimator.get_params(deep=False)
    return {name: value for name, value in vars(estimator).items() if name not in params}


# -- saving ----------------------------------------------------------------------------------------


class Saver:
    """Turns values into JSON, collecting their tensors; one per saved file.

    Parameters
    ----------
    prefix : str, default=""
        Prefix of the tensor names (the path of the estimator being saved).
    tensors : dict or None, default=None
        The file's tensors, shared with the savers of nested estimators.
    """

    def __init__(self, prefix: str = "", tensors: dict[str, torch.Tensor] | None = None) -> None:
        self.prefix = prefix
        self.tensors: dict[str, torch.Tensor] = {} if tensors is None else tensors

    def encode(self, value: Any, name: str) -> Any:
        """``value`` as JSON; ``name`` (its path) names its tensors and is quoted in errors.

        Parameters
        ----------
        value : object
            A number, string, None, list, tuple, dict, tensor, array, estimator, allowed
            object, skorch callback or RandomState (nested freely).
        name : str
            Where the value sits, e.g. ``"net_.module"``.

        Returns
        -------
        encoded : object
            JSON-serialisable.
        """
        path = self.prefix + name
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
            return int(value)
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, (float, np.floating)):
            return float(value)
        if isinstance(value, list):
            return [self.encode(v, f"{name}.{i}") for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v, f"{name}.{i}") for i, v in enumerate(value)]}
        if isinstance(value, dict):
            if all(isinstance(k, str) and not k.startswith("__") for k in value):
                return {k: self.encode(v, f"{name}.{k}") for k, v in value.items()}
            return {
                "__dict__": [
                    [self.encode(k, f"{name}.key{i}"), self.encode(v, f"{name}.{k}")]
                    for i, (k, v) in enumerate(value.items())
                ]
            }
        if isinstance(value, torch.Tensor):
            return self._add_tensor(path, value, "__tensor__")
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "biufc":
                raise TypeError(f"cannot save {path}: an array of dtype {value.dtype} (only numbers).")
            return self._add_tensor(path, torch.from_numpy(np.ascontiguousarray(value).copy()), "__ndarray__")
        if isinstance(value, BaseEstimator):
            return {"__estimator__": encode_estimator(value, Saver(path + ".", self.tensors))}
        if isinstance(value, np.random.RandomState):
            kind, keys, pos, has_gauss, cached = value.get_state(legacy=True)
            return {
                "__random_state__": [kind, [int(k) for k in keys], int(pos), int(has_gauss), float(cached)]
            }
        if is_callback(value):
            encoded = self._encode_callback(value, name)
            if encoded is not None:
                return encoded
        elif (object_name := allowed_name_of(value)) is not None:
            return {"__object__": object_name}
        if isinstance(value, type) and issubclass(value, torch.nn.Module):
            raise TypeError(
                f"cannot save {path}: the torch module class {value.__module__}.{value.__qualname__} "
                "is not registered, and a model file names classes, it never holds code. Either "
                "register it with sklearn_amfno.register_module (a decorator on the class, or a "
                "call before save and, in the loading program, before load), or save the "
                "estimator with pickle/joblib, for files you trust (they run code when loaded)."
            )
        if isinstance(value, torch.nn.Module):
            raise TypeError(
                f"cannot save {path}: a torch module instance ({type(value).__qualname__}) has no "
                "safe form (the file would need the code and arguments that built it). Pass the "
                "class and its module__ parameters instead (OperatorRegressor(MyNet, "
                "module__width=32)) with the class registered by sklearn_amfno.register_module, or "
                "save the estimator with pickle/joblib, for files you trust (they run code when loaded)."
            )
        raise TypeError(
            f"cannot save {path}: a value of type {type(value).__module__}.{type(value).__qualname__} "
            "has no safe form (JSON, tensors, estimators of this package, torch optimizers, the "
            "skorch callbacks listed in docs/saving.md). pickle/joblib save any object (and run "
            "code when loaded)."
        )

    def _encode_callback(self, value: Any, name: str) -> dict | None:
        """A callback (instance or class) as the file holds it; None if it has no safe form.

        A callback that writes files or opens an external sink becomes a placeholder that
        records its class only: its paths never go into the file (``load`` drops it).
        """
        cls = value if isinstance(value, type) else type(value)
        for class_name, writing in writing_callbacks().items():
            if cls is writing:
                return {"__callback__": {"class": class_name}}
        for class_name, (restorable, _) in callback_rules().items():
            if cls is not restorable:
                continue
            if value is cls:
                return {"__object__": class_name}
            params = value.get_params(deep=False)
            problem = check_callback_params(class_name, params)
            if problem is not None:
                raise TypeError(
                    f"cannot save {self.prefix}{name}: {cls.__name__}: {problem}, so that the file "
                    "cannot run code or write anywhere when loaded. Drop it with "
                    "set_params(callbacks=...) before saving, or use pickle/joblib."
                )
            return {"__callback__": {"class": class_name, "params": self.encode(params, f"{name}.params")}}
        return None

    def _add_tensor(self, path: str, tensor: torch.Tensor, tag: str) -> dict:
        # A private copy on the CPU: safetensors refuses tensors that share memory.
        tensor = tensor.detach().to("cpu", copy=True).contiguous()
        entry: dict[str, Any] = {tag: path}
        if tensor.is_complex():
            tensor, entry["complex"] = torch.view_as_real(tensor).contiguous(), True
        self.tensors[path] = tensor
        return entry


def encode_estimator(estimator: BaseEstimator, saver: Saver) -> dict:
    """One node of the estimator tree: class, parameters and (when fitted) fitted state.

    Parameters
    ----------
    estimator : BaseEstimator
        A registered estimator.
    saver : Saver
        Scoped to the estimator's path.

    Returns
    -------
    node : dict
        ``{"class", "params", "state"}``.
    """
    params = {
        name: _encode_loss(value, saver)
        if name == "loss" and _is_module(value)
        else saver.encode(value, f"params.{name}")
        for name, value in estimator.get_params(deep=False).items()
    }
    node = {"class": _class_name(type(estimator)), "params": params, "state": None}
    if _is_fitted(estimator):
        get_state = getattr(estimator, "_get_persistent_state", None)
        if get_state is None:
            node["state"] = {name: saver.encode(v, name) for name, v in fitted_attributes(estimator).items()}
        else:
            node["state"] = get_state(saver)
    return node


def _is_module(value: Any) -> bool:
    return isinstance(value, torch.nn.Module) or (
        isinstance(value, type) and issubclass(value, torch.nn.Module)
    )


def _encode_loss(loss: Any, saver: Saver) -> dict:
    """An estimator's ``loss`` module: its class by name, an instance with its arguments."""
    class_name, arguments = loss_payload(loss, f"{saver.prefix}params.loss")
    if arguments is None:
        return {"__object__": class_name}
    return {"__loss__": {"class": class_name, "params": saver.encode(arguments, "params.loss.params")}}


def check_saveable(estimator: BaseEstimator) -> None:
    """Refuse to save an estimator that is not fitted (``NotFittedError``), before any file is touched.

    A model file is for sharing a fitted model; the parameters alone travel as
    ``est.get_params()`` or ``clone(est)``. Nested estimators (a meta-estimator's unfitted
    ``estimator`` parameter) are saved as parameters, fitted or not: only the root is checked.
    Files written unfitted by earlier releases still load (unfitted).
    """
    if not _is_fitted(estimator):
        raise NotFittedError(
            f"This {type(estimator).__name__} is not fitted: save writes a fitted model (weights, "
            "fitted attributes, history) and refuses an unfitted estimator. Call fit before save; "
            "to keep the parameters alone, use est.get_params() or sklearn.base.clone(est)."
        )


def _versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "sklearn_amfno": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "safetensors": safetensors.__version__,
    }


def save(estimator: BaseEstimator, path: str | os.PathLike) -> None:
    """Save ``estimator`` to ``path`` in the safe format (what ``est.save(path)`` calls).

    Parameters
    ----------
    estimator : BaseEstimator
        A fitted estimator of this package.
    path : str or path-like
        The file to write (overwritten if it exists). In a process group (``torchrun``) only
        rank 0 writes; the other ranks return at once.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        When ``estimator`` is not fitted: a model file holds a fitted model. Nothing is written.
    """
    check_saveable(estimator)
    path = check_save_path(path)
    if not is_main_process():
        return
    saver = Saver()
    root = encode_estimator(estimator, saver)
    write_container(path, {"versions": _versions(), "root": root}, saver.tensors)


class SaveMixin:
    """Gives an estimator the ``save`` method of the safe format (see :func:`sklearn_amfno.load`)."""

    def save(self, path: str | os.PathLike) -> None:
        """Save the estimator to one file that :func:`sklearn_amfno.load` reads back safely.

        The weights (scaling buffers included), the optimizer's state and the training random
        state go in as safetensors; the parameters, the fitted attributes and the training
        history as JSON, with the versions of Python, the package, torch, numpy and
        safetensors; a SHA-256 checksum covers both. Loading never unpickles. Nested
        estimators (a meta-estimator's) are saved with it. ``docs/saving.md`` describes the
        format and what is and is not stored. In a process group (``torchrun``) only rank 0
        writes; the other ranks return at once (their models are the same), so a rank that
        reads the file must wait for rank 0 first (``torch.distributed.barrier()``).

        Parameters
        ----------
        path : str or path-like
            The file written, exactly this name (``.safetensors`` suggested); overwritten if it
            exists.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the estimator is not fitted (nothing is written): a model file holds a fitted
            model. Keep unfitted parameters with ``get_params()`` or ``sklearn.base.clone``.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> import sklearn_amfno
        >>> from sklearn_amfno import FNORegressor
        >>> X = np.random.default_rng(0).standard_normal((8, 16))
        >>> est = FNORegressor(n_modes=4, width=4, max_epochs=1, random_state=0).fit(X, X)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = os.path.join(folder, "model.safetensors")
        ...     est.save(path)
        ...     loaded = sklearn_amfno.load(path)
        >>> bool((loaded.predict(X) == est.predict(X)).all())
        True
        """
        save(self, path)  # type: ignore[arg-type]


# -- loading ---------------------------------------------------------------------------------------


class Loader:
    """Turns the JSON of a file back into values, checking each; one per loaded file.

    Parameters
    ----------
    tensors : dict
        The file's tensors.
    device : str or None
        The device asked of :func:`load` (``None``: the saved one when available).
    prefix : str, default=""
        Path of the estimator being loaded, for error messages.
    dropped : list of str or None, default=None
        Collects the file-writing callbacks dropped from the ``callbacks`` parameters (shared
        with the loaders of nested estimators).
    """

    def __init__(
        self,
        tensors: dict[str, torch.Tensor],
        device: str | None,
        prefix: str = "",
        dropped: list[str] | None = None,
    ) -> None:
        self.tensors, self.device, self.prefix = tensors, device, prefix
        self.dropped: list[str] = [] if dropped is None else dropped

    def decode(self, obj: Any, name: str, objects: Mapping[str, object] | None = None) -> Any:
        """The value that ``Saver.encode`` turned into ``obj``.

        Parameters
        ----------
        obj : object
            Decoded JSON.
        name : str
            Where it sits, for error messages.
        objects : dict or None, default=None
            The classes or functions ``obj`` itself may name (``{"__object__": name}``); values
            nested in it may name none.

        Returns
        -------
        value : object
        """
        path = self.prefix + name
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        if isinstance(obj, list):
            return [self.decode(v, f"{name}.{i}") for i, v in enumerate(obj)]
        if not isinstance(obj, dict):
            raise ValueError(f"{path}: unexpected JSON value of type {type(obj).__name__}.")
        tags = [k for k in obj if k.startswith("__")]
        if not tags:
            return {k: self.decode(v, f"{name}.{k}") for k, v in obj.items()}
        tag = tags[0]
        if tag not in _TAGS:
            raise ValueError(f"{path}: unknown tag {tag!r}; known tags: {list(_TAGS)}.")
        extra = set(obj) - {tag, "complex"} if tag in ("__tensor__", "__ndarray__") else set(obj) - {tag}
        if extra:
            raise ValueError(f"{path}: a {tag} value has only the key {tag!r}, found also {sorted(extra)}.")
        payload = obj[tag]
        if tag == "__tuple__":
            return tuple(self.decode(v, f"{name}.{i}") for i, v in enumerate(expect(payload, list, path)))
        if tag == "__dict__":
            return self._dict(expect(payload, list, path), name)
        if tag in ("__tensor__", "__ndarray__"):
            is_complex = expect(obj.get("complex", False), bool, f"{path}.complex")
            tensor = self._tensor(expect(payload, str, path), is_complex, path)
            return tensor.numpy() if tag == "__ndarray__" else tensor
        if tag == "__estimator__":
            return decode_estimator(
                expect(payload, dict, path), Loader(self.tensors, self.device, path + ".", self.dropped)
            )
        if tag == "__random_state__":
            return decode_random_state(payload, path)
        if tag == "__object__":
            return allowed_object(expect(payload, str, path), path, objects or {})
        if tag == "__loss__":
            raise ValueError(
                f"{path}: a loss module can only be an estimator's loss parameter, not a value here."
            )
        raise ValueError(
            f"{path}: a callback can only be an entry of an estimator's callbacks parameter, not "
            "a value here."
        )

    def decode_loss(self, obj: Any, name: str) -> Any:
        """The ``loss`` parameter: a name, or a loss module class or instance (``{"__loss__":
        {"class", "params"}}``) of :func:`~sklearn_amfno._file_schema.loss_classes`.

        Parameters
        ----------
        obj : object
            Decoded JSON.
        name : str
            Where it sits, for error messages.

        Returns
        -------
        loss : str or torch.nn.Module or type
        """
        path = self.prefix + name
        if not (isinstance(obj, dict) and set(obj) == {"__loss__"}):
            return self.decode(obj, name, loss_classes())
        payload = expect(obj["__loss__"], dict, path)
        unknown = sorted(set(payload) - {"class", "params"})
        if unknown:
            raise ValueError(
                f"{path}: a loss module has the keys 'class' and 'params', found also {unknown}."
            )
        class_name = expect(required(payload, "class", path), str, path)
        params = self.decode(expect(required(payload, "params", path), dict, path), f"{name}.params")
        return build_loss_module(class_name, params, path)

    def decode_callbacks(self, obj: Any, name: str) -> list | None:
        """The ``callbacks`` parameter: restorable callbacks kept, file-writing ones dropped.

        Parameters
        ----------
        obj : object
            Decoded JSON: None or a list of callbacks and ``(name, callback)`` tuples.
        name : str
            Where it sits, for error messages.

        Returns
        -------
        callbacks : list or None
            None when nothing is left.
        """
        path = self.prefix + name
        if obj is None:
            return None
        kept = []
        for i, entry in enumerate(expect(obj, list, path)):
            where = f"{name}.{i}"
            if isinstance(entry, dict) and set(entry) == {"__tuple__"}:
                pair = expect(entry["__tuple__"], list, self.prefix + where)
                if len(pair) != 2 or not isinstance(pair[0], str):
                    raise ValueError(f"{self.prefix}{where}: a named callback is a (str, callback) pair.")
                callback = self._callback(pair[1], f"{where}.1")
                if not isinstance(callback, DroppedCallback):
                    kept.append((pair[0], callback))
            else:
                callback = self._callback(entry, where)
                if not isinstance(callback, DroppedCallback):
                    kept.append(callback)
        return kept or None

    def _callback(self, obj: Any, name: str) -> Any:
        """One callback: a restorable one rebuilt, a file-writing one a ``DroppedCallback``."""
        path = self.prefix + name
        writing = writing_callbacks()
        restorable = callback_rules()
        if isinstance(obj, dict) and set(obj) == {"__object__"}:
            class_name = expect(obj["__object__"], str, path)
            if class_name in writing:  # a class: skorch builds it with its default paths
                self.dropped.append(class_name)
                return DroppedCallback(class_name)
            return allowed_object(class_name, path, {k: cls for k, (cls, _) in restorable.items()})
        if not (isinstance(obj, dict) and set(obj) == {"__callback__"}):
            raise ValueError(f"{path}: a callback is expected here, found {describe(obj)}.")
        payload = expect(obj["__callback__"], dict, path)
        unknown = sorted(set(payload) - {"class", "params"})
        if unknown:
            raise ValueError(f"{path}: a callback has the keys 'class' and 'params', found also {unknown}.")
        class_name = expect(required(payload, "class", path), str, path)
        if class_name in writing:
            if "params" in payload:
                # save writes these as placeholders: parameters (paths) mean an edited file.
                raise ValueError(
                    f"{path}: the file holds the callback {class_name} with parameters (paths, a "
                    "run or a writer). save never writes these, and a model file may not choose "
                    "where your process writes: refused. Set the callback yourself with "
                    "set_params(callbacks=[...])."
                )
            self.dropped.append(class_name)
            return DroppedCallback(class_name)
        if class_name not in restorable:
            raise ValueError(
                f"{path}: {class_name!r} is not among the objects a file may name as a callback "
                f"(restorable: {sorted(restorable)}; dropped at load: {sorted(writing)}): refused."
            )
        cls = restorable[class_name][0]
        params_json = expect(required(payload, "params", path), dict, f"{path}.params")
        params = {
            key: self.decode(value, f"{name}.params.{key}", allowed_sinks() if key == "sink" else None)
            for key, value in params_json.items()
        }
        problem = check_callback_params(class_name, params)
        if problem is not None:
            raise ValueError(f"{path}: the callback {cls.__name__} is refused: {problem}.")
        try:
            return cls(**params)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path}: cannot rebuild the callback {cls.__name__}: {error}") from None

    def _dict(self, pairs: list, name: str) -> dict:
        path = self.prefix + name
        result = {}
        for i, pair in enumerate(pairs):
            if not (isinstance(pair, list) and len(pair) == 2):
                raise ValueError(
                    f"{path}.{i}: a __dict__ entry is a [key, value] pair, found {describe(pair)}."
                )
            key = self.decode(pair[0], f"{name}.key{i}")
            if not is_key(key):
                raise ValueError(
                    f"{path}.{i}: a dict key is a str, number, None or tuple of them, found {describe(key)}."
                )
            result[key] = self.decode(pair[1], f"{name}.{key}")
        return result

    def _tensor(self, key: str, is_complex: bool, path: str) -> torch.Tensor:
        if key not in self.tensors:
            raise ValueError(f"{path}: the tensor {key!r} is missing from the file.")
        tensor = self.tensors[key]
        if is_complex:
            if (
                tensor.ndim == 0
                or tensor.shape[-1] != 2
                or tensor.dtype not in (torch.float32, torch.float64)
            ):
                raise ValueError(f"{path}: the complex tensor {key!r} is not stored as (..., 2) reals.")
            tensor = torch.view_as_complex(tensor.contiguous())
        return tensor


def decode_estimator(node: dict, loader: Loader) -> BaseEstimator:
    """Build the estimator of one node of the tree: class, parameters, fitted state.

    The parameters are checked against the class's constraints (``_parameter_constraints``)
    before its fitted state is decoded.

    Parameters
    ----------
    node : dict
        ``{"class", "params", "state"}``.
    loader : Loader
        Scoped to the estimator's path.

    Returns
    -------
    estimator : BaseEstimator
    """
    where = loader.prefix.rstrip(".") or "the estimator"
    unknown_keys = sorted(set(node) - {"class", "params", "state"})
    if unknown_keys:
        raise ValueError(
            f"{where}: an estimator has the keys 'class', 'params', 'state', found also {unknown_keys}."
        )
    class_name = expect(required(node, "class", loader.prefix), str, where)
    known = _known_classes()
    if class_name not in known:
        raise ValueError(
            f"{where}: unknown estimator class {class_name!r}; this sklearn_amfno builds "
            f"{sorted(known)} (others through sklearn_amfno._persistence.register_estimator)."
        )
    cls = known[class_name]
    params_json = expect(required(node, "params", loader.prefix), dict, where)
    accepted = inspect.signature(cls.__init__).parameters
    # A class taking **kwargs (OperatorRegressor's module__<name>) says which names it accepts.
    extra = getattr(cls, "_is_extra_parameter", None)
    unknown = sorted(
        name
        for name in set(params_json) - set(accepted) - {"self"}
        if not (extra is not None and isinstance(name, str) and extra(name))
    )
    if unknown or "self" in params_json:
        raise ValueError(
            f"{where}: {class_name} has no parameters {unknown or ['self']}: the file was written by "
            "another version of sklearn_amfno or edited."
        )
    params: dict[str, Any] = {}
    for name, value in params_json.items():
        if name == "callbacks":
            params[name] = loader.decode_callbacks(value, "params.callbacks")
        elif name == "module":  # OperatorRegressor's torch module: a registered class, by name
            params[name] = module_class(value, f"{loader.prefix}params.module")
        elif name == "loss":  # a name, or a loss module of an allowed class
            params[name] = loader.decode_loss(value, "params.loss")
        else:
            objects = optimizer_classes() if name == "optimizer" else None
            if name.startswith("module__"):  # a module's argument may name a module class
                objects = module_classes()
            params[name] = loader.decode(value, f"params.{name}", objects)
    # A parameter added after the file was written gets the value that rebuilds the model it holds.
    params = {**getattr(cls, "_legacy_parameters", {}), **params}
    try:
        estimator = cls(**params)
    except TypeError as error:
        raise ValueError(f"{where}: cannot build {class_name} from the saved parameters: {error}") from None
    if hasattr(estimator, "_parameter_constraints") and hasattr(estimator, "_validate_params"):
        try:
            estimator._validate_params()
        except (ValueError, TypeError) as error:  # sklearn's InvalidParameterError is both
            raise ValueError(f"{where}: {error}") from None
    state = required(node, "state", loader.prefix)
    if state is not None:
        state = expect(state, dict, where)
        set_state = getattr(estimator, "_set_persistent_state", None)
        if set_state is None:
            check_state_names(estimator, state, where)
            for name, value in state.items():
                setattr(estimator, name, loader.decode(value, name))
        else:
            set_state(state, loader)
    return estimator


def load(path: str | os.PathLike, *, device: str | None = None) -> BaseEstimator:
    """Load an estimator saved with ``est.save(path)``, without unpickling or running its code.

    The file is checked first (format, version, SHA-256 checksum of the JSON and the tensors);
    a truncated, corrupted or edited file, a pickle, an unknown class or a newer format version
    is refused with a ValueError before anything is built. The estimator comes back fitted, as
    saved: parameters, fitted attributes, weights, optimizer state and training history, so
    ``predict``, ``score``, ``net_.history`` and a ``warm_start`` fit work as before saving.

    Parameters
    ----------
    path : str or path-like
        A file written by ``save``.
    device : str or None, default=None
        Where to put the weights (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"auto"``...). ``None``:
        the device the model was on when saved if this machine has it, else the CPU (with a
        warning), so a model fitted on a GPU loads on a CPU-only machine.

    Returns
    -------
    estimator : BaseEstimator
        The estimator, of the class that was saved.

    See Also
    --------
    joblib.load : loads pickles, which may run any code; only for files you trust.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import sklearn_amfno
    >>> from sklearn_amfno import AMFNORegressor
    >>> X = np.random.default_rng(0).standard_normal((8, 16))
    >>> est = AMFNORegressor(width=4, n_layers=1, max_epochs=2, random_state=0).fit(X, X)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     est.save(os.path.join(folder, "amfno.safetensors"))
    ...     loaded = sklearn_amfno.load(os.path.join(folder, "amfno.safetensors"), device="cpu")
    >>> loaded.n_epochs_, len(loaded.net_.history)
    (2, 2)
    >>> bool((loaded.predict(X) == est.predict(X)).all())
    True
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike (a file name), got {type(path).__name__}.")
    if device is not None and not isinstance(device, str):
        raise TypeError(f"device must be a str or None, got {type(device).__name__}.")
    description, tensors = read_container(path)
    name = os.fspath(path)
    loader = Loader(tensors, device)
    try:
        unknown = sorted(set(description) - {"versions", "root"})
        if unknown:
            raise ValueError(
                f"the estimator description has the keys 'versions' and 'root', found also {unknown}."
            )
        versions = description.get("versions", {})
        if not (isinstance(versions, dict) and all(isinstance(v, str) for v in versions.values())):
            raise ValueError("'versions' must map names to version strings.")
        root = expect(required(description, "root", ""), dict, "the estimator description")
        estimator = decode_estimator(root, loader)
    except ValueError as error:
        raise ValueError(f"{name!r}: {error}") from None
    except (TypeError, KeyError, IndexError, AttributeError, RecursionError, OverflowError) as error:
        # A last safety net: the checks above are meant to leave nothing unexpected.
        raise ValueError(
            f"{name!r}: malformed model file ({type(error).__name__}: {error}); nothing was loaded."
        ) from None
    if loader.dropped:
        names = sorted(set(loader.dropped))
        warnings.warn(
            f"{name!r}: the callbacks {names} were not restored: they write files or open external "
            "sinks, and a model file never chooses where your process writes. Add them back with "
            "est.set_params(callbacks=[...]) before the next fit if you want them.",
            UserWarning,
            stacklevel=2,
        )
    return estimator
