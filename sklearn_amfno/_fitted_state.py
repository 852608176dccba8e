"""An operator estimator's fitted state in a model file: what ``save`` writes, what ``load`` checks.

:class:`FittedStateMixin` gives :class:`~sklearn_amfno._base.BaseOperatorRegressor` the two
methods of the safe format (:mod:`sklearn_amfno._persistence`): ``net_`` goes into the file as
the module's ``state_dict``, the optimizer's state and the history, and comes back as a net
rebuilt from the estimator's parameters, after every value of the file has been checked
against :data:`_FITTED_STATE` and the model the parameters describe (built on the ``meta``
device first).
"""

from __future__ import annotations

import copy
import warnings
from typing import TYPE_CHECKING, cast

import numpy as np
import torch
from skorch.history import History

from ._file_schema import (
    check_history,
    check_module_weights,
    check_optimizer_state,
    check_rng_state,
    check_size_bounds,
    check_state_names,
)
from ._persistence import Loader, Saver, fitted_attributes
from ._resources import count_parameters, meta_module, resolve_device
from ._torch_state import float32_default_dtype, seeded_global_rng

if TYPE_CHECKING:
    from ._base import BaseOperatorRegressor


class FittedStateMixin:
    """Saves an operator estimator's fitted state and rebuilds it at load (``_persistence``'s hooks).

    The host class provides the fit steps used to rebuild the net: ``_module_kwargs``,
    ``_build_module``, ``initialize_criterion``, ``initialize_net``, ``_builtin_callbacks``,
    ``_validate_params`` and ``_validate_family_params``.
    """

    def _get_persistent_state(self, saver: Saver) -> dict:
        """The fitted attributes as JSON; ``net_`` as weights, optimizer state and history."""
        state = {name: saver.encode(v, name) for name, v in fitted_attributes(self).items() if name != "net_"}
        net = self.net_
        state["net_"] = {
            "module": saver.encode(net.module_.state_dict(), "net_.module"),
            "optimizer": saver.encode(net.optimizer_.state_dict(), "net_.optimizer"),
            "history": saver.encode(list(net.history), "net_.history"),
        }
        return state

    def _set_persistent_state(self, state: dict, loader: Loader) -> None:
        """Check the fitted state of a file, then set it and rebuild ``net_`` (``sklearn_amfno.load``).

        Everything is checked before anything is built: the names and values of the fitted
        attributes (``_FITTED_STATE``, and the family's own, which its parameters must
        resolve to again), then the model's size, from its parameters, against the file's
        tensors (cheap bounds first, then the ``state_dict`` of the model built on the ``meta``
        device, name by name and shape by shape), the history and the optimizer state. The net
        carries the package's own callbacks only (divergence guard, schedule): the user's
        ``callbacks`` stay a parameter, copied afresh by the next fit.
        """
        # The same object, typed as the host class that provides the fit steps.
        host = cast("BaseOperatorRegressor", self)
        where = loader.prefix.rstrip(".") or "the estimator"
        check_state_names(self, state, where)
        state = dict(state)
        net_state = state.pop("net_", None)
        fitted = {name: loader.decode(value, name) for name, value in state.items()}
        _check_fitted_state(host, fitted, where)
        if net_state is None:
            for name, value in fitted.items():
                setattr(self, name, value)
            return
        where_net = f"{loader.prefix}net_"
        weights = loader.decode(_field(net_state, "module", where_net), "net_.module")
        optimizer_state = loader.decode(_field(net_state, "optimizer", where_net), "net_.optimizer")
        history = loader.decode(_field(net_state, "history", where_net), "net_.history")
        unknown = sorted(set(net_state) - {"module", "optimizer", "history"})
        if unknown:
            raise ValueError(f"{where_net}: unexpected keys {unknown} (module, optimizer, history).")
        for name in ("grid_shape_", "n_channels_in_", "n_outputs_", "target_kind_"):
            if name not in fitted:
                raise ValueError(f"{where}: the fitted attribute {name!r} is missing from the file.")
        module_kwargs = fitted.get("_module_params") or host._module_kwargs()
        # The model's size from its parameters, against the file's tensors, before allocating.
        check_size_bounds(module_kwargs, weights, f"{where_net}.module")
        try:
            with float32_default_dtype():
                expected = meta_module(lambda: host._build_module(fitted, module_kwargs))
        except (ValueError, TypeError, RuntimeError, IndexError) as error:
            raise ValueError(f"{where}: the parameters {module_kwargs} describe no model: {error}") from None
        check_module_weights(weights, expected.state_dict(), f"{where_net}.module")
        if fitted.get("n_parameters_", count_parameters(expected)) != count_parameters(expected):
            raise ValueError(
                f"{where}: n_parameters_={fitted['n_parameters_']}, but the model has "
                f"{count_parameters(expected)} parameters."
            )
        check_history(history, f"{where_net}.history")
        if fitted.get("n_epochs_", len(history)) != len(history):
            raise ValueError(
                f"{where}: n_epochs_={fitted['n_epochs_']}, but the history has {len(history)} epochs."
            )
        for name, value in fitted.items():
            setattr(self, name, value)
        device = _load_device(loader.device, getattr(self, "device_", "cpu"), where_net)
        with float32_default_dtype():
            # Built in a locked, seeded fork of the global RNG (its initial weights are
            # overwritten): the caller's random state stays, in threads too.
            with seeded_global_rng(0):
                module = host._build_module(vars(self), module_kwargs)
            module.load_state_dict(weights)  # names, shapes and dtypes checked above
            criterion = host.initialize_criterion(
                host.target_kind_, module, getattr(self, "_target_norm", None)
            )
            net = host.initialize_net(module, criterion, device, 0, host._builtin_callbacks())
            net.initialize()
            check_optimizer_state(optimizer_state, net.optimizer_, f"{where_net}.optimizer")
            try:
                net.optimizer_.load_state_dict(optimizer_state)
            except (ValueError, KeyError, TypeError) as error:
                raise ValueError(f"{where_net}: the saved optimizer state does not fit: {error}") from None
        net.history = History(history)
        self.net_, self.device_ = net, device


def _field(node: dict, key: str, where: str):
    if not isinstance(node, dict) or key not in node:
        raise ValueError(f"{where}: the key {key!r} is missing from the file.")
    return node[key]


def _load_device(requested: str | None, saved: str, where: str) -> str:
    """The device a loaded model goes to: the one asked, else the saved one if present, else CPU."""
    if requested is not None:
        return resolve_device(requested)
    try:
        return resolve_device(saved)
    except ValueError:
        warnings.warn(
            f"{where} was saved on device {saved!r}, which this machine does not have: loaded on "
            "'cpu'. Pass load(..., device=...) to choose.",
            UserWarning,
            stacklevel=4,
        )
        return "cpu"


def _is_count(value, low: int = 0) -> bool | np.bool_:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and value >= low


#: The fitted attributes of the operator estimators that a model file may set, with what each
#: may be; a family's own (``n_modes_``, ...) are what ``_validate_family_params`` resolves.
#: A fitted attribute added to ``fit`` must be added here to be saved and loaded.
_FITTED_STATE: dict = {
    "_fit_start_epoch": ("an int >= 0", _is_count),
    "_module_params": ("a dict of the model's parameters", lambda v: isinstance(v, dict)),
    "_rng_state": ("a torch random state", lambda v: isinstance(v, torch.Tensor)),
    "_target_norm": (
        "None or a finite number >= 0",
        lambda v: v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < np.inf),
    ),
    "_y_has_channels": ("True or False", lambda v: isinstance(v, bool)),
    "best_epoch_": ("None or an int >= 0", lambda v: v is None or _is_count(v)),
    "checkpoint_dirs_": ("a list of str", lambda v: isinstance(v, list) and all(type(s) is str for s in v)),
    "device_": ("a str", lambda v: isinstance(v, str)),
    "grid_shape_": (
        "a tuple of 1 to 3 ints >= 1",
        lambda v: isinstance(v, tuple) and 1 <= len(v) <= 3 and all(_is_count(n, 1) for n in v),
    ),
    "n_channels_in_": ("an int >= 1", lambda v: _is_count(v, 1)),
    "n_dim_": ("1, 2 or 3", lambda v: _is_count(v, 1) and v <= 3),
    "n_epochs_": ("an int >= 0", _is_count),
    "n_features_in_": ("an int >= 1", lambda v: _is_count(v, 1)),
    "n_outputs_": ("an int >= 1", lambda v: _is_count(v, 1)),
    "n_parameters_": ("an int >= 0", _is_count),
    "target_kind_": ("'field', 'vector' or 'scalar'", lambda v: v in ("field", "vector", "scalar")),
    "training_status_": (
        "'completed', 'stopped', 'diverged', 'interrupted' or 'in_progress'",
        lambda v: v in ("completed", "stopped", "diverged", "interrupted", "in_progress"),
    ),
}


def _check_fitted_state(estimator: BaseOperatorRegressor, fitted: dict, where: str) -> None:
    """Refuse fitted attributes of a file that are unknown, of the wrong kind or inconsistent.

    The model parameters the file was fitted with (``_module_params``) must be parameters of the
    estimator that satisfy its constraints, and the family's own fitted attributes must be what
    they resolve to on the saved grid.
    """
    for name, value in fitted.items():
        if name in _FITTED_STATE:
            expected, check = _FITTED_STATE[name]
            if not check(value):
                raise ValueError(f"{where}: the fitted attribute {name} must be {expected}, got {value!r}.")
    if "_rng_state" in fitted:
        check_rng_state(fitted["_rng_state"], f"{where}._rng_state")
    grid = fitted.get("grid_shape_")
    if grid is not None and fitted.get("n_dim_", len(grid)) != len(grid):
        raise ValueError(f"{where}: n_dim_={fitted['n_dim_']} but grid_shape_={grid} has {len(grid)} axes.")
    probe = estimator
    module_params = fitted.get("_module_params")
    if module_params is not None:
        unknown = sorted(set(module_params) - set(estimator._module_kwargs()))
        if unknown:
            raise ValueError(f"{where}: _module_params has keys {unknown} that are no model parameters.")
        probe = copy.copy(estimator)
        for name, value in module_params.items():
            setattr(probe, name, value)
        try:
            probe._validate_params()
        except (ValueError, TypeError) as error:  # sklearn's InvalidParameterError is both
            raise ValueError(f"{where}: _module_params: {error}") from None
    family = {}
    if grid is not None:
        try:
            family = probe._validate_family_params(grid)
        except (ValueError, TypeError) as error:
            raise ValueError(f"{where}: the parameters do not fit grid_shape_={grid}: {error}") from None
    unknown = sorted(set(fitted) - set(_FITTED_STATE) - set(family))
    if unknown:
        raise ValueError(
            f"{where}: {unknown} are not fitted attributes of {type(estimator).__name__} (known: "
            f"{sorted({*_FITTED_STATE, *family, 'net_'})})."
        )
    for name, value in family.items():
        if name in fitted and fitted[name] != value:
            raise ValueError(
                f"{where}: {name}={fitted[name]!r}, but the saved parameters resolve to {value!r} on "
                f"grid_shape_={grid}."
            )
