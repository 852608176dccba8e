"""The estimator every operator family shares: validation, scaling, the skorch net, predict/score.

A family only says how to build its processor (the operator layers) in ``_build_processor``; the
data flow is always: arrays -> validation -> torch module -> skorch loop -> arrays.
"""

from __future__ import annotations

import copy
import inspect
import numbers
from abc import ABCMeta, abstractmethod

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNetRegressor
from skorch.callbacks import LRScheduler
from skorch.dataset import ValidSplit
from torch import nn

from ._validation import check_grid_input, check_grid_target
from .nn.backbone import OperatorNetwork
from .nn.losses import RelativeL2Loss, ScaledMSELoss

COMMON_PARAMETERS_DOC = """\
width : int, default={width}
        Channels inside the operator layers.
    n_layers : int, default={n_layers}
        {n_layers_doc}
    channel_axis : None or -1, default=None
        ``None``: ``X`` is ``(n_samples, *grid)`` with one channel; ``-1``: ``X`` is
        ``(n_samples, *grid, n_channels)``. A field ``y`` has a channel axis when its rank says so.
    add_grid : bool, default=True
        Append the grid coordinates (``j / n`` per axis) to the input channels.
    loss : {{"auto", "relative_l2", "mse"}}, default="auto"
        Training loss. ``"auto"``: relative L2 error per sample for field targets (the paper's
        loss), mean squared error of standardised targets for per-sample targets.
    lr : float, default={lr}
        AdamW learning rate.
    weight_decay : float, default={weight_decay}
        AdamW weight decay.
    lr_schedule : {{"cosine", "constant"}}, default="cosine"
        ``"cosine"`` anneals the learning rate to zero over ``max_epochs`` (stepped per epoch).
    max_epochs : int, default={max_epochs}
        Training epochs.
    batch_size : int, default={batch_size}
        Samples per optimisation step; also the chunk size of ``predict``.
    validation_fraction : float or None, default=None
        Fraction of the training data held out for skorch's ``valid_loss`` (for early-stopping
        callbacks). ``None`` trains on everything.
    device : str, default="auto"
        Torch device; ``"auto"`` takes CUDA when available.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and the validation split. Equal seeds give
        bit-identical fits on CPU.
    verbose : int, default=0
        ``>= 1`` prints skorch's per-epoch table.
    callbacks : list of skorch callbacks or None, default=None
        Extra skorch callbacks (early stopping, checkpoints, ...), copied at each fit."""

COMMON_ATTRIBUTES_DOC = """\
net_ : skorch.NeuralNetRegressor
        The trained network with its history (``net_.history``), on ``device_``.
    module_ : torch.nn.Module
        The trained torch module (``net_.module_``).
    device_ : str
        The device training ran on.
    n_dim_ : int
        Number of grid axes seen in fit.
    grid_shape_ : tuple of int
        Training grid. ``predict`` accepts other grids of the same dimension.
    n_channels_in_ : int
        Input channels.
    n_features_in_ : int
        Values per training sample (grid points times channels); for a 2-D ``X`` this is
        ``X.shape[1]``, as in scikit-learn.
    target_kind_ : {"field", "vector", "scalar"}
        What ``y`` was: a field on X's grid or a per-sample quantity.
    n_outputs_ : int
        Output channels of a field target, outputs of a per-sample target.
    n_parameters_ : int
        Trainable parameters, counted in real scalars (a complex weight counts two)."""


def fill_doc(cls: type, n_layers_doc: str = "Number of operator layers.") -> type:
    """Insert the shared parameter and attribute descriptions, with ``cls``'s own defaults.

    The defaults are read from ``cls.__init__``'s signature, so a docstring cannot drift from
    the code; ``n_layers_doc`` lets a family say what its layers are.
    """
    defaults = {name: param.default for name, param in inspect.signature(cls.__init__).parameters.items()}
    common = COMMON_PARAMETERS_DOC.format(n_layers_doc=n_layers_doc, **defaults)
    cls.__doc__ = cls.__doc__.replace("{common_parameters}", common).replace(
        "{common_attributes}", COMMON_ATTRIBUTES_DOC
    )
    return cls


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters in real scalars (a complex entry counts two)."""
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in module.parameters() if p.requires_grad)


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def store_parameters(estimator: BaseEstimator, parameters: dict) -> None:
    """Set every ``__init__`` argument as the attribute of the same name, unchanged.

    Call it first thing in ``__init__`` with ``locals()``: scikit-learn's rule is that
    ``__init__`` stores its parameters and does nothing else, and this keeps each estimator's
    explicit signature the only place its parameters are spelled out.
    """
    for name, value in parameters.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


class BaseOperatorRegressor(RegressorMixin, BaseEstimator, metaclass=ABCMeta):
    """Shared base of the neural-operator regressors; not for direct use.

    Subclasses define ``__init__`` with an explicit signature (their own parameters, then the
    common keyword-only ones of ``_parameter_constraints``) whose body is
    ``store_parameters(self, locals())``, and ``_build_processor``.
    """

    _parameter_constraints: dict = {
        "width": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_layers": [Interval(numbers.Integral, 1, None, closed="left")],
        "channel_axis": [None, Options(numbers.Integral, {-1})],
        "add_grid": ["boolean"],
        "loss": [StrOptions({"auto", "relative_l2", "mse"})],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "lr_schedule": [StrOptions({"cosine", "constant"})],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "validation_fraction": [None, Interval(numbers.Real, 0, 1, closed="neither")],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [None, list],
    }

    @abstractmethod
    def _build_processor(self, n_dim: int, grid_shape: tuple[int, ...]) -> nn.Module:
        """The operator layers: a module mapping ``(batch, width, *grid)`` to the same shape."""

    def _validate_family_params(self, grid_shape: tuple[int, ...]) -> None:
        """Checks that need the data (e.g. modes against the grid); override where needed."""

    # -- fit -----------------------------------------------------------------------------------

    def fit(self, X, y):
        """Train the operator on input functions ``X`` and targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, *grid) or (n_samples, *grid, n_channels)
            Input functions on a 1-D, 2-D or 3-D grid (see ``channel_axis``).
        y : array-like
            A field on X's grid, ``(n_samples, *grid)`` or ``(n_samples, *grid, n_out)``, or a
            per-sample target ``(n_samples,)`` / ``(n_samples, k)``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        X = check_grid_input(X, channel_axis=self.channel_axis, estimator=self)
        grid = X.shape[2:]
        y, kind, has_channels = check_grid_target(y, grid, len(X))
        self._validate_family_params(grid)

        self.n_dim_, self.grid_shape_ = len(grid), tuple(int(n) for n in grid)
        self.n_channels_in_, self.n_features_in_ = X.shape[1], int(np.prod(X.shape[1:]))
        self.target_kind_, self._y_has_channels = kind, has_channels
        self.n_outputs_ = y.shape[1]
        self.device_ = resolve_device(self.device)

        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = OperatorNetwork(
                in_channels=self.n_channels_in_,
                out_channels=self.n_outputs_,
                n_dim=self.n_dim_,
                width=self.width,
                processor=self._build_processor(self.n_dim_, self.grid_shape_),
                pooled=kind != "field",
                add_grid=self.add_grid,
            )
            x_mean, x_scale = _channel_stats(X)
            y_mean, y_scale = _channel_stats(y)
            module.set_scaling(x_mean, x_scale, y_mean, y_scale)
            self.net_ = NeuralNetRegressor(
                module=module,
                criterion=self._criterion(kind, y_scale),
                optimizer=torch.optim.AdamW,
                optimizer__weight_decay=self.weight_decay,
                lr=self.lr,
                max_epochs=self.max_epochs,
                batch_size=self.batch_size,
                iterator_train__shuffle=True,
                train_split=(
                    None
                    if self.validation_fraction is None
                    else ValidSplit(self.validation_fraction, random_state=seed)
                ),
                callbacks=self._training_callbacks(),
                device=self.device_,
                verbose=int(self.verbose),
            )
            self.net_.fit(X, y)
        self.n_parameters_ = count_parameters(self.net_.module_)
        return self

    def _criterion(self, kind: str, y_scale: np.ndarray) -> nn.Module:
        loss = self.loss
        if loss == "auto":
            loss = "relative_l2" if kind == "field" else "mse"
        if loss == "relative_l2":
            return RelativeL2Loss()
        shape = (1, -1) + (1,) * (self.n_dim_ if kind == "field" else 0)
        return ScaledMSELoss(torch.as_tensor(y_scale, dtype=torch.float32).view(shape))

    def _training_callbacks(self) -> list:
        callbacks = []
        if self.lr_schedule == "cosine":
            callbacks.append(("lr_schedule", LRScheduler(policy="CosineAnnealingLR", T_max=self.max_epochs)))
        for i, callback in enumerate(self.callbacks or []):
            name = callback[0] if isinstance(callback, tuple) else f"user_{i}"
            cb = callback[1] if isinstance(callback, tuple) else callback
            callbacks.append((name, copy.deepcopy(cb)))
        return callbacks

    # -- predict -------------------------------------------------------------------------------

    @property
    def module_(self) -> nn.Module:
        check_is_fitted(self, "net_")
        return self.net_.module_

    def predict(self, X):
        """Evaluate the operator on ``X``, in chunks of ``batch_size``.

        Parameters
        ----------
        X : array-like of shape (n_samples, *grid) or (n_samples, *grid, n_channels)
            Any grid size of the training dimension: the output follows the input grid
            (zero-shot super-resolution for field targets).

        Returns
        -------
        y_pred : ndarray
            The layout of the training ``y``, on X's grid; float32 if ``X`` is float32, else
            float64.
        """
        check_is_fitted(self, "net_")
        dtype = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
        X = check_grid_input(
            X,
            channel_axis=self.channel_axis,
            n_dim=self.n_dim_,
            n_channels=self.n_channels_in_,
            estimator=self,
        )
        with torch.inference_mode():
            out = self.net_.predict(X)
        if self.target_kind_ == "scalar":
            out = out[:, 0]
        elif self.target_kind_ == "field":
            out = np.moveaxis(out, 1, -1) if self._y_has_channels else out[:, 0]
        return out.astype(dtype, copy=False)

    def score(self, X, y, sample_weight=None) -> float:
        """R² of the predictions, flattened to ``(n_samples, n_values)``.

        Outputs are weighted by their variance (``multioutput="variance_weighted"``), so grid
        points with a constant target (e.g. a Dirichlet boundary) neither reward nor punish.

        Parameters
        ----------
        X : array-like
            Input functions.
        y : array-like
            True targets, in the layout used for ``fit``.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
        """
        y_pred = self.predict(X)
        y = np.asarray(y, dtype=float)
        n = len(y)
        return float(
            r2_score(
                y.reshape(n, -1),
                y_pred.reshape(n, -1),
                sample_weight=sample_weight,
                multioutput="variance_weighted",
            )
        )

    def __setstate__(self, state):
        super().__setstate__(state)
        # skorch maps a CUDA-trained net to the CPU when unpickled without a GPU: follow it.
        if "net_" in state:
            self.device_ = str(self.net_.device)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.allow_nan = False
        return tags


def _channel_stats(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation over samples and grid (axis 1 is channels)."""
    axes = (0,) + tuple(range(2, a.ndim))
    mean = a.mean(axis=axes, dtype=np.float64)
    std = a.std(axis=axes, dtype=np.float64)
    # A constant channel carries no scale: leave it unscaled rather than dividing by ~0.
    std = np.where(std > 1e-8 * np.maximum(np.abs(mean), 1.0), std, 1.0)
    return mean, std
