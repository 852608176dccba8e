"""OperatorRegressor: any torch module mapping fields to fields, with the estimators' training loop.

The module is the user's (or another library's, neuraloperator's FNO, TFNO, UNO...); the
estimator adds what every family of the package has around its model: input and target scaling
(inside the module, as buffers, so predictions are in physical units), optional grid
coordinates, the data contract, the skorch loop with its losses, schedules, early stopping and
warm starts, and safe saving of registered module classes. Only how the module is built differs
from the other families (``_build_module``), so ``fit`` is the shared one.
"""

from __future__ import annotations

import copy
import inspect
import re
from typing import Any

import torch
from torch import nn

from .._base import BaseOperatorRegressor, store_parameters
from .._docs import COMMON_ATTRIBUTES_DOC, COMMON_PARAMETERS_DOC
from .._persistence import register_estimator
from .._resources import device_memory, meta_module, parameter_bytes, training_bytes
from ..nn.layers.grid import grid_coordinates
from ..nn.models.backbone import _ChannelScaling

#: The constructor arguments filled in from the data when the module class names them and the
#: user did not set them: the input channels (the data's, plus the grid coordinates with
#: ``add_grid``), the output channels, and the training grid.
IN_CHANNEL_NAMES = ("in_channels", "c_in", "in_dim")
OUT_CHANNEL_NAMES = ("out_channels", "c_out", "out_dim")
GRID_NAMES = ("grid_shape",)
FILLED_NAMES = IN_CHANNEL_NAMES + OUT_CHANNEL_NAMES + GRID_NAMES

_PREFIX = "module__"


def module_parameters(cls: type) -> tuple[dict[str, inspect.Parameter], bool]:
    """The keyword arguments a module class takes, and whether it takes any others too.

    A subclass whose ``__init__`` takes ``**kwargs`` and forwards them (neuraloperator's
    ``TFNO(FNO)``, which changes two defaults) names no parameters itself: its parents' are
    read along the MRO until an ``__init__`` without ``**kwargs``. If the walk ends on one with
    ``**kwargs``, the class takes any name (the constructor judges).

    Parameters
    ----------
    cls : type
        A ``torch.nn.Module`` subclass.

    Returns
    -------
    parameters : dict of str to inspect.Parameter
        The named parameters, in signature order (the first definition of a name wins).
    takes_any : bool
        Whether names beyond these may be given.
    """
    named: dict[str, inspect.Parameter] = {}
    takes_any = False
    for klass in cls.__mro__:
        if klass is nn.Module or klass is object:
            break
        if "__init__" not in vars(klass):
            continue
        try:
            signature = inspect.signature(klass)
        except (TypeError, ValueError):  # a constructor inspect cannot read: let it judge
            return named, True
        parameters = list(signature.parameters.values())
        for p in parameters:
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                named.setdefault(p.name, p)
        takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters)
        if not takes_any:
            break
    return named, takes_any


class ScaledModule(_ChannelScaling):
    """A user's module behind the estimators' scaling: ``y = g(f(grid + (x - m_x) / s_x)) s_y + m_y``.

    Parameters
    ----------
    module : torch.nn.Module
        Maps ``(batch, in_channels [+ n_dim], *grid)`` to ``(batch, out_channels, *grid)``.
    in_channels : int
        Channels of the data (before the grid coordinates).
    out_channels : int
        Channels of a field target, or outputs of a per-sample target.
    n_dim : int
        Grid axes.
    pooled : bool, default=False
        A per-sample target: the module's output field is averaged over the grid, one output
        per channel.
    add_grid : bool, default=False
        Append the grid coordinates (``j / n`` per axis) to the module's input channels.
    """

    def __init__(
        self,
        module: nn.Module,
        in_channels: int,
        out_channels: int,
        n_dim: int,
        pooled: bool = False,
        add_grid: bool = False,
    ) -> None:
        super().__init__()
        self.module = module
        self.in_channels, self.out_channels, self.n_dim = in_channels, out_channels, n_dim
        self.pooled, self.add_grid = pooled, add_grid
        self._register_scaling(in_channels, out_channels, n_dim, pooled)

    def state_dict(self, *args, **kwargs):
        """The module's tensors, without the non-tensor entries some libraries add.

        neuraloperator's models add ``_metadata`` (their constructor arguments, functions and
        classes among them): no safe file can hold it, the estimator's module parameters
        already do, and ``load_state_dict`` of this module would refuse it as an unexpected
        key (early stopping's best weights). torch's ``_extra_state`` entries are kept.
        """
        state = super().state_dict(*args, **kwargs)
        for key in [k for k, v in state.items() if not isinstance(v, torch.Tensor)]:
            if not key.endswith("_extra_state"):
                del state[key]
        return state

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.x_mean) / self.x_scale
        if self.add_grid:
            coords = grid_coordinates(tuple(x.shape[2:]), x)
            x = torch.cat([x, coords.expand(x.shape[0], *coords.shape)], dim=1)
        out = self.module(x)
        expected = (x.shape[0], self.out_channels, *x.shape[2:])
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != expected:
            # A wrong channel count or a module that changes the grid would otherwise surface
            # as a broadcasting error deep in the loss, or not at all.
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(
                f"the module {type(self.module).__name__} maps an input of shape {tuple(x.shape)} to "
                f"{got}; OperatorRegressor expects {expected}: (batch, {self.out_channels} output "
                "channels, the input's grid). Check the module's output channels (filled in only "
                f"when its constructor names one of {list(OUT_CHANNEL_NAMES)}) and that it keeps "
                "the grid."
            )
        if self.pooled:
            out = out.flatten(2).mean(-1)
        return out * self.y_scale + self.y_mean


@register_estimator(name="OperatorRegressor")
class OperatorRegressor(BaseOperatorRegressor):
    """Any torch module mapping fields to fields, trained as this package's estimators.

    ``module`` maps ``(n, c_in, *grid)`` to ``(n, c_out, *grid)``: a model of your own, the
    package's (:mod:`sklearn_amfno.nn`), or another library's (neuraloperator's ``FNO``,
    ``TFNO``, ``UNO``; ``docs/coming_from_neuraloperator.md``). The estimator adds everything
    around it that the package's families have: the data contract, per-channel scaling of
    ``X`` and ``y`` (fitted in ``fit``, applied inside the trained module, so the module sees
    standardised data and predictions come back in physical units), the losses, the optimizer
    and schedule, early stopping, warm starts, ``verbose``, callbacks, ``save``/``load``, and it
    goes into :class:`~sklearn_amfno.AutoregressiveRegressor`,
    :class:`~sklearn_amfno.EnsembleRegressor`, pipelines and searches.

    **Module parameters.** ``module__<name>=value`` (skorch's convention) is passed to the
    module class as ``name=value``; these are parameters of the estimator (``get_params``,
    ``set_params``, ``clone``, ``GridSearchCV(param_grid={"module__width": [16, 32]})``). When
    the class's constructor names them and they are not set, the data fill in the input channels
    (``in_channels``, ``c_in`` or ``in_dim``: the data's channels, plus one per grid axis with
    ``add_grid``), the output channels (``out_channels``, ``c_out`` or ``out_dim``) and the
    training grid (``grid_shape``, as the package's models take it). A subclass whose
    ``__init__`` only forwards ``**kwargs`` (neuraloperator's ``TFNO``) is read through its
    parents. Names the constructor does not take, and required ones left unset, are refused
    before training.

    **A class or an instance.** A class is built at each fit (``warm_start`` aside) from the
    module parameters, its initial weights drawn under ``random_state``. An instance is the
    initial model: each fit trains a deep copy of it, so the instance you passed is never
    changed and every fit starts from its current weights (fine-tuning a pretrained model); it
    takes no module parameters and no filled-in channels, its channel counts must fit the data
    (with ``add_grid``, the data's channels plus one per grid axis), and ``random_state`` then
    seeds only the shuffling and the validation split. Members of an
    :class:`~sklearn_amfno.EnsembleRegressor` built on an instance start from the same weights:
    pass a class for a deep ensemble.

    **Per-sample targets.** With a ``y`` of shape ``(n,)`` or ``(n, k)`` (``target_kind``), the
    module still maps fields to fields, with ``k`` output channels, and the estimator averages
    its output over the grid.

    **Saving.** ``save`` writes the module's class by name and its module parameters as data,
    never code: the class must be one of the package's models or registered with
    :func:`~sklearn_amfno.register_module`, in the saving and in the loading program (``save``
    refuses an unregistered class with a TypeError, ``load`` a file naming one with a
    ValueError, each saying how to register it). An estimator built on an instance cannot be
    saved this way (TypeError): pass the class, or use pickle/joblib for files you trust.

    Parameters
    ----------
    module : torch.nn.Module subclass or instance
        The model, ``(n, c_in, *grid) -> (n, c_out, *grid)`` on the training grid (and on other
        grids of the same dimension, for ``predict`` on them). It is trained on standardised
        inputs and targets; ``precision="bf16"`` runs all of it under bfloat16 autocast.
    {common_parameters}
    **module_params : dict
        ``module__<name>=value``: the arguments of the module class (see above). Any other
        keyword is refused (TypeError).

    Attributes
    ----------
    {common_attributes}

    See Also
    --------
    sklearn_amfno.register_module : lets ``load`` build a module class.
    FNORegressor : the package's FNO, with its parameters spelled out.

    References
    ----------
    .. [1] Tietz, M., Fan, T. J., Nouri, D., Bossan, B., and skorch Developers (2017). skorch: A
       scikit-learn compatible neural network library that wraps PyTorch (the ``module__``
       convention).
    .. [2] Kossaifi, J., Kovachki, N., Li, Z., et al. (2024). A Library for Learning Neural
       Operators. arXiv:2412.10354 (neuraloperator).

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from sklearn_amfno import OperatorRegressor
    >>> class Pointwise(torch.nn.Module):
    ...     def __init__(self, in_channels, out_channels, width=16):
    ...         super().__init__()
    ...         self.net = torch.nn.Sequential(
    ...             torch.nn.Conv1d(in_channels, width, 1), torch.nn.GELU(),
    ...             torch.nn.Conv1d(width, out_channels, 1))
    ...
    ...     def forward(self, x):
    ...         return self.net(x)
    >>> X = np.random.default_rng(0).standard_normal((16, 32))
    >>> est = OperatorRegressor(Pointwise, module__width=8, max_epochs=2, random_state=0)
    >>> est.fit(X, X**2).predict(X[:2]).shape
    (2, 32)
    >>> est.get_params()["module__width"]
    8
    """

    _parameter_constraints: dict = {
        **{
            name: constraint
            for name, constraint in BaseOperatorRegressor._parameter_constraints.items()
            if name not in ("width", "n_layers")  # the module's own business
        },
        "module": "no_validation",  # _check_module: a class or an instance
    }

    def __init__(
        self,
        module,
        *,
        channel_axis=None,
        target_kind="auto",
        add_grid=False,
        loss="auto",
        optimizer="adamw",
        optimizer_params=None,
        lr=1e-3,
        weight_decay=1e-4,
        lr_schedule="cosine",
        max_epochs=100,
        batch_size=32,
        num_workers=0,
        early_stopping=False,
        validation_fraction=None,
        n_iter_no_change=10,
        warm_start=False,
        device="auto",
        precision="fp32",
        random_state=None,
        verbose=0,
        callbacks=None,
        on_divergence="raise",
        **module_params,
    ):
        parameters = dict(locals())
        module_params = parameters.pop("module_params")
        store_parameters(self, parameters)
        for name in module_params:
            if not self._is_extra_parameter(name):
                # What Python says of an unknown keyword, with the convention that would fit.
                raise TypeError(
                    f"OperatorRegressor got an unexpected keyword argument {name!r}: the module's "
                    "arguments are given as module__<name> (e.g. module__width=32)."
                )
        vars(self).update(module_params)

    # -- the module parameters (skorch's module__<name>) -----------------------------------------

    @staticmethod
    def _is_extra_parameter(name: str) -> bool:
        """Whether ``name`` is a module parameter, ``module__<identifier>`` (also read by ``load``)."""
        return name.startswith(_PREFIX) and name[len(_PREFIX) :].isidentifier()

    def _module_parameters(self) -> dict:
        """The ``module__<name>`` parameters set on this estimator, by name."""
        return {name: value for name, value in sorted(vars(self).items()) if self._is_extra_parameter(name)}

    def get_params(self, deep: bool = True) -> dict:
        """Get the parameters of this estimator, the ``module__<name>`` ones included.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of nested estimators (there are none here).

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        return {**super().get_params(deep=deep), **self._module_parameters()}

    def set_params(self, **params) -> OperatorRegressor:
        """Set the parameters of this estimator; ``module__<name>`` ones may be new.

        Parameters
        ----------
        **params : dict
            Estimator parameters, and module parameters ``module__<name>=value``.

        Returns
        -------
        self : OperatorRegressor
            The estimator.
        """
        module_params = {name: params.pop(name) for name in list(params) if name.startswith(_PREFIX)}
        for name in module_params:
            if not self._is_extra_parameter(name):
                raise ValueError(
                    f"Invalid parameter {name!r} for OperatorRegressor: a module parameter is "
                    "module__<name>, <name> an identifier (the module's argument)."
                )
        super().set_params(**params)
        self.__dict__.update(module_params)
        return self

    # -- the module --------------------------------------------------------------------------------

    def _validate_params(self) -> None:
        super()._validate_params()
        self._check_module()

    def _check_module(self) -> None:
        """Refuse a ``module`` that is no module class or instance, and module parameters that its
        constructor does not take or that leave a required argument unset."""
        module = self.module
        given = {name[len(_PREFIX) :] for name in self._module_parameters()}
        if isinstance(module, nn.Module):
            if given:
                raise ValueError(
                    f"module is an instance of {type(module).__name__}, already built: the module "
                    f"parameters {sorted(_PREFIX + n for n in given)} configure a class. Pass the "
                    "class (OperatorRegressor(MyNet, module__width=32)) or drop them."
                )
            return
        if not (isinstance(module, type) and issubclass(module, nn.Module)):
            raise TypeError(
                "module must be a torch.nn.Module subclass or instance, got "
                f"{module!r} of type {type(module).__name__}."
            )
        named, takes_any = module_parameters(module)
        unknown = sorted(given - set(named))
        if unknown and not takes_any:
            raise ValueError(
                f"{module.__name__} takes no argument {unknown} (module parameters "
                f"{[_PREFIX + n for n in unknown]}); its arguments are {list(named)}."
            )
        missing = [
            name
            for name, p in named.items()
            if p.default is p.empty and name not in given and name not in FILLED_NAMES
        ]
        if missing:
            raise ValueError(
                f"{module.__name__} needs the arguments {missing}, which the data do not fill in: "
                f"set {', '.join(_PREFIX + n + '=...' for n in missing)}."
            )

    def _module_kwargs(self) -> dict:
        """What shapes the module: ``add_grid`` and the module parameters (saved as ``_module_params``)."""
        return {"add_grid": self.add_grid, **self._module_parameters()}

    def _filled_arguments(self, fitted: dict, add_grid: bool) -> dict:
        """The constructor arguments the data fill in (those the class names; see FILLED_NAMES)."""
        grid = tuple(fitted["grid_shape_"])
        in_channels = fitted["n_channels_in_"] + (len(grid) if add_grid else 0)
        values = {
            **dict.fromkeys(IN_CHANNEL_NAMES, in_channels),
            **dict.fromkeys(OUT_CHANNEL_NAMES, fitted["n_outputs_"]),
            **dict.fromkeys(GRID_NAMES, grid),
        }
        named, _ = module_parameters(self.module)
        return {name: value for name, value in values.items() if name in named}

    def _build_module(self, fitted: dict, module_kwargs: dict) -> ScaledModule:
        """The module (built from its class, or a deep copy of the instance) behind the scaling."""
        add_grid = bool(module_kwargs.get("add_grid", self.add_grid))
        if isinstance(self.module, nn.Module):
            # A copy per fit: the estimator's parameter is never trained in place.
            inner = copy.deepcopy(self.module)
        else:
            arguments = {
                name[len(_PREFIX) :]: value
                for name, value in module_kwargs.items()
                if name.startswith(_PREFIX)
            }
            arguments = {**self._filled_arguments(fitted, add_grid), **arguments}
            try:
                inner = self.module(**arguments)
            except TypeError as error:
                raise TypeError(f"building {self.module.__name__}(**{arguments}) failed: {error}") from error
            if not isinstance(inner, nn.Module):
                raise TypeError(
                    f"{self.module.__name__}(...) returned {type(inner).__name__}, not a torch module."
                )
        return ScaledModule(
            inner,
            fitted["n_channels_in_"],
            fitted["n_outputs_"],
            len(fitted["grid_shape_"]),
            pooled=fitted["target_kind_"] != "field",
            add_grid=add_grid,
        )

    def _check_warm_start(self, fitted: dict) -> None:
        super()._check_warm_start(fitted)
        previous = type(self.net_.module_.module)
        current = self.module if isinstance(self.module, type) else type(self.module)
        if current is not previous:
            raise ValueError(
                f"warm_start=True continues the fitted model, but module={current.__name__} now and "
                f"{previous.__name__} in the previous fit. Fit with warm_start=False to start afresh."
            )

    def _check_memory(self, fitted: dict, n_samples: int) -> None:
        """Fail fast when the module's weights and the batch's inputs and outputs cannot fit.

        A lower bound: the weights with AdamW's state, and one layer of activations as wide as
        the module's input or output (what a module does inside is unknown here).
        """
        total = device_memory(fitted["device_"])
        if total is None:
            return
        if isinstance(self.module, nn.Module):
            weights = parameter_bytes(self.module)
        else:
            try:
                built = meta_module(lambda: self._build_module(fitted, self._module_kwargs()))
            except Exception:  # noqa: BLE001 - a class that cannot build on `meta`: the real build speaks
                return
            weights = parameter_bytes(built)
        grid = fitted["grid_shape_"]
        channels = max(fitted["n_channels_in_"] + len(grid), fitted["n_outputs_"])
        n_points = 1
        for n in grid:
            n_points *= int(n)
        need = training_bytes(weights, min(self.batch_size, n_samples), n_points, channels, 1)
        if need > total:
            gib = 2.0**30
            raise ValueError(
                f"Training this OperatorRegressor needs at least {need / gib:.1f} GiB, more than the "
                f"{total / gib:.1f} GiB of device {fitted['device_']!r} (grid {tuple(grid)}, "
                f"batch_size={self.batch_size}, {weights / gib:.2f} GiB of weights): reduce "
                "batch_size or the module's size."
            )


def _doc_entries(text: str) -> dict[str, str]:
    """The entries of a numpydoc section (``"name : type"`` and its description), by name."""
    blocks = re.split(r"\n(?=    \w+ : )", "    " + text)
    return {block.split(" : ")[0].strip(): block for block in blocks}


def _fill_operator_doc(cls: type[Any]) -> type[Any]:
    """The shared parameter docs, less ``width`` and ``n_layers`` (the module's own business),
    with this class's defaults and ``add_grid``'s meaning here."""
    defaults = {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()}
    defaults.update(width=None, n_layers=None)  # formatted, then dropped
    entries = _doc_entries(COMMON_PARAMETERS_DOC.format(n_layers_doc="", **defaults))
    for name in ("width", "n_layers"):
        entries.pop(name, None)
    entries["add_grid"] = (
        "    add_grid : bool, default=False\n"
        "        Append the grid coordinates (``j / n`` per axis) to the module's input channels\n"
        "        (the filled-in input channels count them). Off by default: the module is the whole\n"
        "        model (neuraloperator's models append their own coordinates)."
    )
    common = "\n".join(entries.values())[4:]
    module_doc = (
        "module_ : torch.nn.Module\n"
        "        The trained module behind the scaling (``net_.module_``): ``module_.module`` is\n"
        "        your module, trained on standardised data."
    )
    entry = r"module_ : torch\.nn\.Module\n        [^\n]*"
    attributes = re.sub(entry, lambda _: module_doc, COMMON_ATTRIBUTES_DOC)
    doc = cls.__doc__ or ""
    cls.__doc__ = doc.replace("{common_parameters}", common).replace("{common_attributes}", attributes)
    return cls


_fill_operator_doc(OperatorRegressor)
