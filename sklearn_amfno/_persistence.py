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
``get_params(deep=False)``, ``state`` the fitted attributes (``None`` when not fitted). Values
are JSON, with tagged objects for what JSON lacks: ``{"__tuple__": [...]}``, ``{"__dict__":
[[key, value], ...]}`` (keys that are not strings), ``{"__tensor__": name}`` and
``{"__ndarray__": name}`` (a tensor of the file), ``{"__estimator__": node}`` (a nested estimator,
saved recursively), ``{"__object__": name}`` (a class or function from a fixed allow-list:
torch optimizers, skorch callbacks except ``LoadInitState``, ``print``), ``{"__callback__":
{"class", "params"}}`` (a skorch callback instance) and ``{"__random_state__": ...}`` (a
``numpy.random.RandomState``).

Trust
-----
Loading parses JSON and safetensors only: nothing is unpickled, no module is imported, no name
from the file is looked up anywhere but in the registry of estimator classes and the allow-list
of objects above. The checksum is checked before anything is built, so a flipped byte, a
truncated file or an edited header is refused with a ValueError. The checksum detects accidents
and careless edits, not a forger, who can recompute it: it is not a signature. Even a forged
file can only choose among the registered classes and allowed objects.

Adding an estimator class
-------------------------
The estimators exported by :mod:`sklearn_amfno` (``__all__``) are known by their public name; a
class living elsewhere is added with :func:`register_estimator`. A class saves its fitted state
through two optional methods; without them, the default applies:

- ``_get_persistent_state(self, saver) -> dict``: the fitted state as JSON, each value through
  ``saver.encode(value, name)``, which stores tensors and arrays in the file and saves nested
  estimators (a meta-estimator's ``estimator_``, ``estimators_``, ...) recursively. The default
  encodes every attribute that is not a parameter (``vars(self)`` less ``get_params()``);
- ``_set_persistent_state(self, state, loader) -> None``: the reverse, each value through
  ``loader.decode(value, name)``; ``loader.device`` is the device asked of :func:`load`.

So a meta-estimator whose fitted attributes are numbers, strings, arrays, lists, tuples, dicts
and fitted estimators of this package needs nothing: export it from :mod:`sklearn_amfno` (or
register it) and derive it from :class:`SaveMixin` for its ``save`` method.
:class:`~sklearn_amfno._base.BaseOperatorRegressor` defines both methods: its ``net_`` is saved
as the module's ``state_dict``, the optimizer's state and the history, and rebuilt at load.
A change of the format that older releases cannot read raises ``FORMAT_VERSION``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import safetensors
import safetensors.torch
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ._distributed import is_main_process

FORMAT = "sklearn_amfno"
FORMAT_VERSION = 1
# The one tensor every file has (the format version, again).
_FORMAT_TENSOR = "sklearn_amfno.format_version"
# A header larger than this is not one of ours (safetensors' own limit is 100 MB).
_MAX_HEADER_BYTES = 100_000_000

_TAGS = (
    "__tuple__",
    "__dict__",
    "__tensor__",
    "__ndarray__",
    "__estimator__",
    "__object__",
    "__callback__",
    "__random_state__",
)

_REGISTRY: dict[str, type] = {}


def register_estimator(cls: type, name: str | None = None) -> type:
    """Let :func:`load` build ``cls``: add it to the registry of estimator classes.

    Usable as a class decorator. The estimators exported by :mod:`sklearn_amfno` need no
    registration: they are known by their public name.

    Parameters
    ----------
    cls : type
        A scikit-learn estimator class.
    name : str or None, default=None
        The name written to files; ``None`` means ``"<module>.<qualname>"``. Keep it stable:
        files name their classes by it.

    Returns
    -------
    cls : type
        ``cls`` itself.
    """
    if not (isinstance(cls, type) and issubclass(cls, BaseEstimator)):
        raise TypeError(f"register_estimator expects a scikit-learn estimator class, got {cls!r}.")
    _REGISTRY[name or f"{cls.__module__}.{cls.__qualname__}"] = cls
    return cls


def _known_classes() -> dict[str, type]:
    """Registered classes and the public estimators of :mod:`sklearn_amfno`, by file name."""
    import sklearn_amfno  # the package is imported already: this is a lookup, not an import

    public = {
        name: obj
        for name in sklearn_amfno.__all__
        if isinstance(obj := getattr(sklearn_amfno, name), type) and issubclass(obj, BaseEstimator)
    }
    return {**_REGISTRY, **public}


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


def _allowed_objects() -> dict[str, object]:
    """Classes and functions a file may name: torch optimizers, skorch callbacks, ``print``."""
    import skorch.callbacks
    import skorch.utils

    objects: dict[str, object] = {"builtins.print": print, "skorch.utils.noop": skorch.utils.noop}
    for name in dir(torch.optim):
        obj = getattr(torch.optim, name)
        if isinstance(obj, type) and issubclass(obj, torch.optim.Optimizer):
            objects[f"torch.optim.{name}"] = obj
    for name in dir(skorch.callbacks):
        obj = getattr(skorch.callbacks, name)
        # LoadInitState reads the files a path names at the next fit (torch.load of a pickle
        # under older torch): a file must not be able to choose one.
        if isinstance(obj, type) and issubclass(obj, skorch.callbacks.Callback) and name != "LoadInitState":
            objects[f"skorch.callbacks.{name}"] = obj
    return objects


def _object_name(obj: object) -> str | None:
    for name, allowed in _allowed_objects().items():
        if allowed is obj:
            return name
    return None


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
        if (object_name := _object_name(value)) is not None:
            return {"__object__": object_name}
        object_name = _object_name(type(value))
        if object_name is not None and object_name.startswith("skorch.callbacks."):
            params = value.get_params(deep=False)
            return {"__callback__": {"class": object_name, "params": self.encode(params, f"{name}.params")}}
        raise TypeError(
            f"cannot save {path}: a value of type {type(value).__module__}.{type(value).__qualname__} "
            "has no safe form (JSON, tensors, estimators of this package, torch optimizers, skorch "
            "callbacks). pickle/joblib save any object (and run code when loaded)."
        )

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
        name: saver.encode(value, f"params.{name}")
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


def _digest(description: str, tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 of the description and of every tensor's name, dtype, shape and bytes."""
    h = hashlib.sha256()
    h.update(f"{FORMAT}/{FORMAT_VERSION}\n".encode())
    h.update(description.encode())
    for name in sorted(tensors):
        tensor = tensors[name].contiguous()
        h.update(f"\n{name}\n{tensor.dtype}\n{tuple(tensor.shape)}\n".encode())
        h.update(memoryview(tensor.reshape(-1).view(torch.uint8).numpy()))
    return h.hexdigest()


def _versions() -> dict[str, str]:
    import sklearn_amfno

    return {
        "python": platform.python_version(),
        "sklearn_amfno": sklearn_amfno.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "safetensors": safetensors.__version__,
    }


def _current_umask() -> int:
    # os.umask can only be read by setting it; done once, at import, before any save runs.
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _write_container(path: str | os.PathLike, description: dict, tensors: dict[str, torch.Tensor]) -> None:
    """Write ``description`` and ``tensors`` as one safetensors file, atomically."""
    text = json.dumps(description, sort_keys=True)
    # Never an empty file: safetensors 0.4.0 writes an invalid header when there is no tensor.
    tensors = {_FORMAT_TENSOR: torch.tensor([FORMAT_VERSION], dtype=torch.int32), **tensors}
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "estimator": text,
        "sha256": _digest(text, tensors),
    }
    data = _canonical_header(safetensors.torch.save(tensors, metadata=metadata))
    path = Path(path)
    # Write beside, then rename: a crash never leaves a half-written file under the name. The
    # temporary name is unique (mkstemp), so concurrent saves to one path, from threads or
    # processes, never share it: the last rename wins and the file is always whole.
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        # mkstemp creates the file private (0o600); give it the mode a plain write would.
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _canonical_header(data: bytes) -> bytes:
    """The same file with its header's keys sorted: equal models give equal bytes.

    safetensors writes its metadata from a hash map, in an order that changes between runs. The
    tensors' offsets count from the end of the header, so rewriting it (padded to 8 bytes with
    spaces, as safetensors does) leaves them valid.
    """
    n = int.from_bytes(data[:8], "little")
    header = json.dumps(json.loads(data[8 : 8 + n]), sort_keys=True, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    return len(header).to_bytes(8, "little") + header + data[8 + n :]


def save(estimator: BaseEstimator, path: str | os.PathLike) -> None:
    """Save ``estimator`` to ``path`` in the safe format (what ``est.save(path)`` calls).

    Parameters
    ----------
    estimator : BaseEstimator
        An estimator of this package, fitted or not.
    path : str or path-like
        The file to write (overwritten if it exists). In a process group (``torchrun``) only
        rank 0 writes; the other ranks return at once.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike (a file name), got {type(path).__name__}.")
    if not is_main_process():
        return
    saver = Saver()
    root = encode_estimator(estimator, saver)
    _write_container(path, {"versions": _versions(), "root": root}, saver.tensors)


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
    """Turns the JSON of a file back into values; one per loaded file.

    Parameters
    ----------
    tensors : dict
        The file's tensors.
    device : str or None
        The device asked of :func:`load` (``None``: the saved one when available).
    prefix : str, default=""
        Path of the estimator being loaded, for error messages.
    """

    def __init__(self, tensors: dict[str, torch.Tensor], device: str | None, prefix: str = "") -> None:
        self.tensors, self.device, self.prefix = tensors, device, prefix

    def decode(self, obj: Any, name: str) -> Any:
        """The value that ``Saver.encode`` turned into ``obj``.

        Parameters
        ----------
        obj : object
            Decoded JSON.
        name : str
            Where it sits, for error messages.

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
        payload = obj[tag]
        if tag == "__tuple__":
            return tuple(self.decode(v, f"{name}.{i}") for i, v in enumerate(_expect(payload, list, path)))
        if tag == "__dict__":
            return {
                self.decode(k, f"{name}.key"): self.decode(v, f"{name}.value")
                for k, v in _expect(payload, list, path)
            }
        if tag in ("__tensor__", "__ndarray__"):
            tensor = self._tensor(_expect(payload, str, path), obj.get("complex", False), path)
            return tensor.numpy() if tag == "__ndarray__" else tensor
        if tag == "__estimator__":
            return decode_estimator(
                _expect(payload, dict, path), Loader(self.tensors, self.device, path + ".")
            )
        if tag == "__random_state__":
            kind, keys, pos, has_gauss, cached = _expect(payload, list, path)
            state = np.random.RandomState()
            state.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
            return state
        if tag == "__object__":
            return _allowed_object(_expect(payload, str, path), path)
        # __callback__
        payload = _expect(payload, dict, path)
        cls = _allowed_object(_required(payload, "class", path), path)
        params = self.decode(_required(payload, "params", path), f"{name}.params")
        try:
            return cls(**params)
        except TypeError as error:
            raise ValueError(f"{path}: cannot rebuild the callback {cls.__name__}: {error}") from None

    def _tensor(self, key: str, is_complex: bool, path: str) -> torch.Tensor:
        if key not in self.tensors:
            raise ValueError(f"{path}: the tensor {key!r} is missing from the file.")
        tensor = self.tensors[key]
        if is_complex:
            if tensor.ndim == 0 or tensor.shape[-1] != 2 or not tensor.is_floating_point():
                raise ValueError(f"{path}: the complex tensor {key!r} is not stored as (..., 2) reals.")
            tensor = torch.view_as_complex(tensor.contiguous())
        return tensor


def _expect(value: Any, kind: type, path: str) -> Any:
    if not isinstance(value, kind):
        raise ValueError(f"{path}: expected a JSON {kind.__name__}, found {type(value).__name__}.")
    return value


def _required(node: dict, key: str, path: str) -> Any:
    if key not in node:
        raise ValueError(f"{path or 'the file'}: the key {key!r} is missing (found {sorted(node)}).")
    return node[key]


def _allowed_object(name: str, path: str) -> Any:
    allowed = _allowed_objects()
    if name not in allowed:
        raise ValueError(
            f"{path}: {name!r} is not among the objects a file may name (torch optimizers, skorch "
            "callbacks, print): refused."
        )
    return allowed[name]


def decode_estimator(node: dict, loader: Loader) -> BaseEstimator:
    """Build the estimator of one node of the tree: class, parameters, fitted state.

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
    class_name = _expect(_required(node, "class", loader.prefix), str, where)
    known = _known_classes()
    if class_name not in known:
        raise ValueError(
            f"{where}: unknown estimator class {class_name!r}; this sklearn_amfno builds "
            f"{sorted(known)} (others through sklearn_amfno._persistence.register_estimator)."
        )
    cls = known[class_name]
    params = loader.decode(_expect(_required(node, "params", loader.prefix), dict, where), "params")
    # A parameter added after the file was written gets the value that rebuilds the model it holds.
    params = {**getattr(cls, "_legacy_parameters", {}), **params}
    accepted = inspect.signature(cls.__init__).parameters
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(
            f"{where}: {class_name} has no parameters {unknown}: the file was written by another "
            "version of sklearn_amfno or edited."
        )
    estimator = cls(**params)
    state = _required(node, "state", loader.prefix)
    if state is not None:
        state = _expect(state, dict, where)
        set_state = getattr(estimator, "_set_persistent_state", None)
        if set_state is None:
            for name, value in state.items():
                setattr(estimator, name, loader.decode(value, name))
        else:
            set_state(state, loader)
    return estimator


def _diagnose(data: bytes) -> str:
    """What a file that is not ours seems to be."""
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return (
            "It looks like a pickle (joblib.dump and pickle.dump write these): it was not "
            "unpickled. Load pickles with joblib.load / pickle.load, and only from sources you trust."
        )
    if data[:4] == b"PK\x03\x04":
        return "It looks like a zip archive (torch.save writes these): it was not loaded."
    if data[:2] in (b"\x1f\x8b", b"\x78\x9c", b"\x78\x01", b"\x78\xda") or data[:3] == b"BZh":
        return "It looks like a compressed file (joblib.dump(..., compress=...) writes these): not loaded."
    return "It may be truncated, corrupted, or of another format."


def _read_container(path: str | os.PathLike) -> tuple[dict, dict[str, torch.Tensor]]:
    """Check and parse a file: (description, tensors). Every failure is a ValueError."""
    data = Path(path).read_bytes()
    not_ours = f"{os.fspath(path)!r} is not a model file saved by sklearn_amfno's save ({len(data)} bytes)."
    if len(data) < 8:
        raise ValueError(f"{not_ours} It is too short to be one: truncated? {_diagnose(data)}")
    n_header = int.from_bytes(data[:8], "little")
    if n_header > min(len(data) - 8, _MAX_HEADER_BYTES):
        raise ValueError(
            f"{not_ours} Its first 8 bytes announce a {n_header}-byte safetensors header, longer than "
            f"the file: truncated or another format. {_diagnose(data)}"
        )
    try:
        header = json.loads(data[8 : 8 + n_header].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{not_ours} Its header is not valid JSON ({error}). {_diagnose(data)}") from None
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ValueError(
            f"{not_ours} It is a safetensors file, but its metadata do not say format={FORMAT!r}: "
            "weights saved by other tools are not estimators."
        )
    version = metadata.get("format_version")
    if not (isinstance(version, str) and version.isdigit()):
        raise ValueError(f"{os.fspath(path)!r}: unreadable format_version {version!r}.")
    if int(version) > FORMAT_VERSION or int(version) < 1:
        raise ValueError(
            f"{os.fspath(path)!r} has format version {version}; this sklearn_amfno reads versions 1 to "
            f"{FORMAT_VERSION}. Upgrade sklearn_amfno to load it (or save it again with this one)."
        )
    for key in ("estimator", "sha256"):
        if not isinstance(metadata.get(key), str):
            raise ValueError(f"{os.fspath(path)!r}: the metadata key {key!r} is missing.")
    try:
        tensors = safetensors.torch.load(data)
    except Exception as error:  # safetensors raises its own SafetensorError (and others)
        raise ValueError(
            f"{os.fspath(path)!r}: the tensors cannot be read ({error}): truncated or corrupted."
        ) from None
    if _digest(metadata["estimator"], tensors) != metadata["sha256"]:
        raise ValueError(
            f"{os.fspath(path)!r} was changed or corrupted after it was saved: its SHA-256 checksum "
            "does not match its contents. Nothing was loaded."
        )
    try:
        description = json.loads(metadata["estimator"])
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{os.fspath(path)!r}: the estimator description is not valid JSON ({error})."
        ) from None
    return _expect(description, dict, "the estimator description"), tensors


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
    description, tensors = _read_container(path)
    root = _expect(_required(description, "root", ""), dict, "the estimator description")
    return decode_estimator(root, Loader(tensors, device))
