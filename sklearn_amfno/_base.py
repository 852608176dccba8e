"""The estimator every operator family shares: validation, scaling, the skorch net, predict/score.

A family names its torch model (``_module_class``, from :mod:`sklearn_amfno.nn`) and, where the
data decide something, overrides ``_validate_family_params``; its parameters go to the model by
name. The data flow is always: arrays -> validation -> torch module -> skorch loop -> arrays, and
``fit`` runs it as small overridable steps, as skorch's ``NeuralNet`` does.
"""

from __future__ import annotations

import copy
import inspect
import numbers
import warnings
from abc import ABCMeta

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_consistent_length, check_is_fitted
from skorch import NeuralNetRegressor
from skorch.callbacks import LRScheduler
from skorch.dataset import ValidSplit, unpack_data
from skorch.history import History
from skorch.utils import to_tensor
from torch import nn

from ._allocator import reuse_freed_memory
from ._compat import (
    NON_NEGATIVE_INT,
    NON_NEGATIVE_REAL,
    OPEN_FRACTION,
    POSITIVE_INT,
    POSITIVE_REAL,
    RANDOM_STATE,
    HasMethods,
    Options,
    StrOptions,
)
from ._custom_loss import (
    LOSS_NAMES,
    build_loss,
    check_loss_module,
    is_loss_module,
    loss_probe_target,
    probe_loss,
)
from ._data_contract import (
    TARGET_KINDS,
    check_grid_input,
    check_grid_shape,
    check_grid_target,
    classify_target,
    to_target_layout,
    warn_if_field_like,
)
from ._distributed import (
    DataParallel,
    all_reduce_gradients,
    broadcast_seed,
    is_main_process,
    process_group,
    rank_device,
    shard_bounds,
)
from ._file_schema import (
    check_history,
    check_module_weights,
    check_optimizer_state,
    check_rng_state,
    check_size_bounds,
    check_state_names,
)
from ._persistence import Loader, SaveMixin, Saver, fitted_attributes
from ._precision import PRECISIONS, autocast_forward
from ._resources import device_memory, meta_module, parameter_bytes, resolve_device, training_bytes
from ._sample_weight import (
    check_fit_sample_weight,
    per_sample_criterion,
    split_input,
    weight_scale,
    weighted_input,
)
from ._streaming import GridDataset, is_lazy, materialize, stream_fit_data, stream_predict, target_norms
from ._torch_state import ShuffleSampler, fit_generator, float32_default_dtype, seeded_global_rng
from ._training import (
    BUILTIN_SCHEDULE,
    ContinueSchedule,
    DivergenceGuard,
    EpochProgressBar,
    FitInProgress,
    InterruptWatch,
    ValidationEarlyStopping,
    check_callbacks,
    device_in_use,
    fit_in_progress,
    has_lr_scheduler,
    restart_schedules,
    schedule_position,
    separate_checkpoint_dirs,
)
from ._training_checks import check_optimizer, check_validation_split
from .metrics import flat_r2_score
from .nn.losses import (
    DEGENERATE_THRESHOLD,
    LastStepLoss,
    RelativeH1Loss,
    RelativeL2Loss,
    SampleWeightedLoss,
    ScaledMSELoss,
    StepwiseLoss,
)
from .nn.models import InputNoise, OperatorNetwork, Pushforward, Rollout
from .preprocessing import channel_statistics

COMMON_PARAMETERS_DOC = """\
width : int, default={width}
        Channels inside the operator layers.
    n_layers : int, default={n_layers}
        {n_layers_doc}
    channel_axis : None or -1, default=None
        ``None``: ``X`` is ``(n_samples, *grid)`` with one channel; ``-1``: ``X`` is
        ``(n_samples, *grid, n_channels)``. A field ``y`` has a channel axis when its rank says so.
    target_kind : {{"auto", "field", "vector"}}, default="{target_kind}"
        What ``y`` is. ``"field"``: a function on X's grid, ``(n_samples, *grid)`` or
        ``(n_samples, *grid, n_outputs)``; any other ``y`` is refused (ValueError). ``"vector"``:
        a per-sample target, ``(n_samples,)`` or ``(n_samples, k)``, learned through a pooled
        head, even when ``k`` equals the points of a 1-D grid; a ``y`` of higher rank is refused.
        ``"auto"``: a ``y`` on X's grid is a field, otherwise a per-sample target, with a
        :class:`~sklearn_amfno.TargetKindWarning` when that target looks like a
        field (``(n_samples, k)`` with ``k >= 8`` on a 1-D grid, or ``k`` a multiple of the
        grid's points on a 2-D or 3-D grid), e.g. a ``y`` that was not resampled with ``X``.
        ``target_kind_`` says what was learned.
    add_grid : bool, default=True
        Append the grid coordinates (``j / n`` per axis) to the input channels.
    loss : {{"auto", "relative_l2", "relative_h1", "mse"}} or torch.nn.Module, default="auto"
        Training loss. ``"auto"``: relative L2 error per sample for field targets (the paper's
        loss), mean squared error of standardised targets for per-sample targets.
        ``"relative_h1"`` (field targets): relative H1 error, every grid axis taken as periodic
        (spectral derivatives, :class:`sklearn_amfno.nn.losses.RelativeH1Loss`; see
        ``docs/h1_loss.md`` for non-periodic data). A ``torch.nn.Module`` instance (copied at
        each fit) or subclass (built without arguments), such as ``torch.nn.MSELoss()``, is the
        loss itself: ``loss(prediction, target)`` returns a scalar tensor, the tensors in the
        network's layout (``(n_samples, n_outputs, *grid)`` for a field, ``(n_samples, k)``
        for a per-sample target) and, as for the built-in losses, in physical units (the
        targets as given to ``fit``, never standardised). With ``sample_weight``, the module
        needs torch's ``reduction`` attribute, ``"mean"``, whose ``"none"`` gives per-sample or
        per-value losses. ``save`` stores torch.nn's losses, those of
        :mod:`sklearn_amfno.nn.losses` and classes registered with
        :func:`~sklearn_amfno.register_module` (``docs/user_guide/pipelines_and_search.md``).
    optimizer : {{"adamw", "adam", "sgd"}} or torch optimizer class, default="{optimizer}"
        The optimizer; a class (``torch.optim.Optimizer`` subclass) is built with ``lr``,
        ``weight_decay`` and ``optimizer_params``. Optimizers whose step needs a closure
        (``torch.optim.LBFGS``) are refused: training takes one gradient step per mini-batch.
    optimizer_params : dict or None, default=None
        Further keyword arguments of the optimizer (e.g. ``{{"momentum": 0.9}}`` for SGD), not
        ``lr`` or ``weight_decay`` (set those parameters). Before training, the optimizer is
        built and stepped once on a dummy parameter: a key it does not take or a value it
        refuses raises a ValueError or TypeError naming the key.
    lr : float, default={lr}
        Learning rate.
    weight_decay : float, default={weight_decay}
        Weight decay (decoupled for AdamW).
    lr_schedule : {{"cosine", "constant"}}, default="cosine"
        ``"cosine"`` anneals the learning rate to zero over ``max_epochs`` (stepped per epoch);
        a ``warm_start`` fit restarts it from ``lr`` over its own ``max_epochs``. One schedule
        acts at a time: a ``skorch.callbacks.LRScheduler`` among ``callbacks`` replaces this one
        (``lr_schedule`` is then ignored, whatever its value).
    max_epochs : int, default={max_epochs}
        Training epochs (with ``warm_start``: further epochs).
    batch_size : int, default={batch_size}
        Samples per optimisation step; also the chunk size of ``predict``.
    num_workers : int, default={num_workers}
        Worker processes of skorch's ``DataLoader`` (its ``iterator_train__num_workers`` and
        ``iterator_valid__num_workers``) that read the samples of lazily loaded training data
        (``np.memmap``, ``h5py``/``zarr`` arrays, the readers' ``lazy=True`` output), so that
        reading overlaps training (``docs/scaling_out.md``). ``0`` reads in the training
        process. The batches, and so the fit, are the same for every value. Data in memory
        and ``predict`` (which reads its chunks itself) use no workers: they would only copy
        the rows.
    early_stopping : bool, default={early_stopping}
        Hold out ``validation_fraction`` of the data (0.1 when it is ``None``), stop when the
        validation loss has not improved by a relative ``1e-4`` for ``n_iter_no_change``
        epochs, and keep the weights of the epoch with the lowest validation loss
        (``best_epoch_``), copied in memory, never to files.
    validation_fraction : float or None, default=None
        Fraction of the training data held out for skorch's ``valid_loss`` (early stopping and
        validation-monitoring callbacks): ``ceil(validation_fraction * n_samples)`` samples, as
        scikit-learn's ``ShuffleSplit``; a split that leaves no training or no validation sample
        is refused before training. ``None`` trains on everything, unless ``early_stopping`` is
        set.
    n_iter_no_change : int, default={n_iter_no_change}
        Epochs without improvement of the validation loss before early stopping stops (another
        value without ``early_stopping`` warns: :class:`~sklearn_amfno.IgnoredParameterWarning`).
    warm_start : bool, default={warm_start}
        Continue from the fitted weights instead of starting afresh: ``fit`` trains
        ``max_epochs`` more epochs, the history (``net_.history``) goes on, and the optimizer
        keeps its state (moments, step counts) and takes the current ``lr``, ``weight_decay``
        and ``optimizer_params``. The scaling statistics of the first fit are kept. Refused
        (ValueError) when the grid, the channels, the kind of target, a parameter that shapes
        the model or the optimizer changed.
    device : str, default="auto"
        Torch device; ``"auto"`` takes CUDA when available. Under ``torchrun`` (a process
        group of several ranks) ``fit`` trains data-parallel: ``batch_size`` stays the global
        batch, each rank trains on its shard of it, on ``cuda:<LOCAL_RANK>`` for CUDA, and only
        rank 0 writes files (``docs/scaling_out.md``).
    precision : {{"fp32", "bf16"}}, default="fp32"
        ``"bf16"``: forward passes (training and ``predict``) under bfloat16 autocast, with the
        FFTs, the mode contraction and the spectral kernels kept in float32 and the loss computed
        in float32 (mixed precision; for GPUs with bfloat16 units, often slower on CPUs).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and the validation split. Equal seeds give
        bit-identical fits on CPU.
    verbose : int, default=0
        ``1``: a progress bar over the epochs (epoch, losses, time left); ``>= 2``: skorch's
        per-epoch table instead.
    callbacks : list of skorch callbacks or None, default=None
        Extra skorch callbacks (early stopping, checkpoints, ...), copied at each fit. A callback
        monitoring a validation quantity needs ``validation_fraction``; checkpoint callbacks
        write into a subdirectory of their ``dirname`` per fit (``checkpoint_dirs_``), so
        parallel fits never overwrite each other. A ``skorch.callbacks.LRScheduler`` replaces
        the built-in ``lr_schedule`` (the learning rate follows the user's schedule alone). An
        ``EpochScoring`` or ``BatchScoring`` whose ``scoring`` is ``None``, a scorer name
        (``"r2"``) or a scorer (``sklearn_amfno.metrics.relative_l2_scorer``) scores
        predictions and targets in the layout of ``predict``, flattened to
        ``(n_samples, n_values)`` for scikit-learn's scorers
        (``docs/user_guide/pipelines_and_search.md``).
    on_divergence : {{"raise", "restore"}}, default="{on_divergence}"
        What a NaN or infinite training loss does: ``"raise"`` stops the fit with
        :class:`~sklearn_amfno.TrainingDivergedError` (a fitted estimator stays as it was);
        ``"restore"`` keeps the weights of the last epoch whose losses were finite, stops, and
        warns (``training_status_ == "diverged"``)."""

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
        Trainable parameters, counted in real scalars (a complex weight counts two).
    n_epochs_ : int
        Epochs trained, over all ``warm_start`` fits (``len(net_.history)``).
    best_epoch_ : int or None
        With ``early_stopping``: the epoch (counted from 1, as in the history) whose weights were
        kept, the one with the lowest validation loss. ``None`` without early stopping.
    training_status_ : {"completed", "stopped", "diverged", "interrupted", "in_progress"}
        How the last fit ended: all ``max_epochs``; stopped by early stopping or a callback;
        rolled back after a non-finite loss (``on_divergence="restore"``); or interrupted by
        Ctrl-C (the estimator keeps the weights reached and ``fit`` re-raises the
        ``KeyboardInterrupt``). ``"in_progress"``: a checkpoint saved during the fit
        (:class:`sklearn_amfno.callbacks.EstimatorCheckpoint`), which ``fit(X, y,
        resume=True)`` completes.
    checkpoint_dirs_ : list of str
        Where this fit's checkpoint callbacks wrote (empty without such callbacks)."""


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


def store_parameters(estimator: BaseEstimator, parameters: dict) -> None:
    """Set every ``__init__`` argument as the attribute of the same name, unchanged.

    Call it first thing in ``__init__`` with ``locals()``: scikit-learn's rule is that
    ``__init__`` stores its parameters and does nothing else, and this keeps each estimator's
    explicit signature the only place its parameters are spelled out.
    """
    for name, value in parameters.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


#: A fit of at least this many epochs that ends at a training loss of at least this much (a
#: constant prediction scores 1) warns that the model has not learned (``_warn_if_not_learned``).
NOT_LEARNED_EPOCHS = 5
NOT_LEARNED_LOSS = 0.9

_OPTIMIZERS = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam, "sgd": torch.optim.SGD}

# Parameters of the base that shape the torch model; all others of the base drive training.
_MODULE_PARAMETERS = ("width", "n_layers", "add_grid")


def _data_loader(
    dataset,
    num_workers: int = 0,
    shuffle: bool = False,
    generator: torch.Generator | None = None,
    **kwargs,
) -> torch.utils.data.DataLoader:
    """skorch's iterator: a ``DataLoader``, with worker processes only for lazily read samples.

    Workers pay off where reading a sample is work (a :class:`GridDataset` over lazy arrays,
    or the subset of it that skorch's validation split makes); for rows already in memory they
    would only copy them across processes. With a ``generator`` (the fit's), the shuffling and
    the loader's seeds come from it, never from torch's global generator.
    """
    base = dataset.dataset if isinstance(dataset, torch.utils.data.Subset) else dataset
    if not isinstance(base, GridDataset):
        num_workers = 0
    if shuffle and generator is not None:
        kwargs["sampler"] = ShuffleSampler(dataset, generator)
    else:
        kwargs["shuffle"] = shuffle
    return torch.utils.data.DataLoader(dataset, num_workers=num_workers, generator=generator, **kwargs)


class OperatorNet(NeuralNetRegressor):
    """skorch's ``NeuralNetRegressor`` with data-parallel training steps and mixed precision.

    Parameters
    ----------
    *args, **kwargs
        Those of ``skorch.NeuralNetRegressor``.
    precision : {"fp32", "bf16"}, default="fp32"
        Forward passes in float32, or under bfloat16 autocast with the spectral layers in
        float32 (:mod:`sklearn_amfno._precision`).
    data_parallel : DataParallel or None, default=None
        This rank's place in a process group: each training step then trains on this rank's
        shard of the global batch and sums the weighted gradients over the ranks
        (:mod:`sklearn_amfno._distributed`). ``None``: one process.
    """

    def __init__(self, *args, precision: str = "fp32", data_parallel: DataParallel | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.precision = precision
        self.data_parallel = data_parallel

    def infer(self, x, **fit_params):
        # A weighted fit's input carries the weights (_sample_weight.weighted_input): the model
        # sees the samples only; get_loss takes the weights.
        x, _ = split_input(x)
        if self.precision == "fp32":
            return super().infer(x, **fit_params)
        with autocast_forward(self.module_, torch.device(self.device).type, self.precision):
            y_pred = super().infer(x, **fit_params)
        # The loss and the predictions in float32.
        return y_pred.float()

    def get_loss(self, y_pred, y_true, X=None, training=False):
        _, weights = split_input(X)
        if weights is None:
            return super().get_loss(y_pred, y_true, X=X, training=training)
        # Weights over the mean weight of the split the batch comes from (get_split_datasets):
        # the batch mean estimates the split's weighted mean without bias (_sample_weight).
        scale = self._weight_scales["train" if training else "valid"]
        weights = to_tensor(weights, device=self.device) * scale
        return self.criterion_(y_pred, to_tensor(y_true, device=self.device), sample_weight=weights)

    def get_split_datasets(self, X, y=None, **fit_params):
        dataset_train, dataset_valid = super().get_split_datasets(X, y, **fit_params)
        self._weight_scales = {"train": weight_scale(dataset_train, "training")}
        if dataset_valid is not None:
            self._weight_scales["valid"] = weight_scale(dataset_valid, "validation")
        return dataset_train, dataset_valid

    def train_step_single(self, batch, **fit_params):
        group = self.data_parallel
        if group is None:
            return super().train_step_single(batch, **fit_params)
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        n_batch = len(yi)
        start, stop = shard_bounds(n_batch, group.rank, group.world_size)
        # The shard's mean loss weighted by its share of the batch: summed over the ranks, the
        # weighted means give the mean over the global batch, whatever the shard sizes.
        weight = (stop - start) / n_batch
        if stop > start:
            # A weighted input is a dict of the samples and their weights: shard both.
            Xs = {k: v[start:stop] for k, v in Xi.items()} if isinstance(Xi, dict) else Xi[start:stop]
            y_pred = self.infer(Xs, **fit_params)
            loss = self.get_loss(y_pred, yi[start:stop], X=Xs, training=True) * weight
            loss.backward()
        else:
            # An empty shard (a last batch smaller than the group): zero gradients, no forward.
            y_pred = torch.empty(0, device=self.device)
            loss = torch.zeros((), device=self.device)
        loss = all_reduce_gradients(self.module_.parameters(), loss)
        return {"loss": loss, "y_pred": y_pred}

    def save_params(self, *args, **kwargs):
        # Checkpoint callbacks write through save_params: once, from rank 0.
        if is_main_process():
            super().save_params(*args, **kwargs)

    # The fit's generator, held as the loaders' keyword arguments.
    _GENERATORS = ("iterator_train__generator", "iterator_valid__generator")

    def __getstate__(self):
        # torch.Generator pickles only from torch 2.4 on: the generators travel as their states
        # (one object stays one object), so nets pickle (joblib, searches) with torch 2.2 too.
        state = super().__getstate__()
        saved: dict[int, _GeneratorState] = {}
        for key in self._GENERATORS:
            generator = state.get(key)
            if isinstance(generator, torch.Generator):
                state[key] = saved.setdefault(id(generator), _GeneratorState(generator.get_state()))
        return state

    def __setstate__(self, state):
        rebuilt: dict[int, torch.Generator] = {}
        for key in self._GENERATORS:
            saved = state.get(key)
            if isinstance(saved, _GeneratorState):
                state[key] = rebuilt.setdefault(id(saved), fit_generator(saved.state))
        super().__setstate__(state)


class _GeneratorState:
    """A ``torch.Generator`` in a pickle: its state (``OperatorNet.__getstate__``)."""

    def __init__(self, state: torch.Tensor) -> None:
        self.state = state


class IgnoredParameterWarning(UserWarning):
    """A parameter set to a value other than its default has no effect on this fit.

    Raised once per ``fit``, naming each such parameter and what makes it idle (e.g. ``basis``
    with AM-FNO's ``kernel="kan"``, which has no basis embedding): a search over it would fit
    identical candidates. Set the parameter back to its default, or search it only where it acts
    (a list of parameter grids).
    """


class BaseOperatorRegressor(SaveMixin, RegressorMixin, BaseEstimator, metaclass=ABCMeta):
    """Shared base of the neural-operator regressors; not for direct use.

    A family defines ``__init__`` with an explicit signature (its own parameters, then the common
    keyword-only ones of ``_parameter_constraints``) whose body is ``store_parameters(self,
    locals())``, and sets ``_module_class`` to its model in :mod:`sklearn_amfno.nn`. Its own
    parameters are passed to that model by name (one name per meaning, from the estimator down to
    the module); ``_validate_family_params`` checks what depends on the data.

    ``fit`` runs as steps that a subclass may override: ``_validate_fit_data`` (the data
    contract), ``_validate_family_params``, ``initialize_module`` (the torch model with its
    scaling statistics), ``initialize_criterion``, ``initialize_callbacks`` and ``initialize_net``
    (the skorch net), then the skorch training loop.
    """

    _module_class: type[OperatorNetwork]

    _parameter_constraints: dict = {
        "width": POSITIVE_INT,
        "n_layers": POSITIVE_INT,
        "channel_axis": [None, Options(numbers.Integral, {-1})],
        "target_kind": [StrOptions(set(TARGET_KINDS))],
        "add_grid": ["boolean"],
        # A torch module (instance or class) too: _check_training_params checks which.
        "loss": [StrOptions(set(LOSS_NAMES)), HasMethods(["forward"])],
        "optimizer": [StrOptions(set(_OPTIMIZERS)), callable],
        "optimizer_params": [None, dict],
        "lr": POSITIVE_REAL,
        "weight_decay": NON_NEGATIVE_REAL,
        "lr_schedule": [StrOptions({"cosine", "constant"})],
        "max_epochs": POSITIVE_INT,
        "batch_size": POSITIVE_INT,
        "num_workers": NON_NEGATIVE_INT,
        "early_stopping": ["boolean"],
        "validation_fraction": [None] + OPEN_FRACTION,
        "n_iter_no_change": POSITIVE_INT,
        "warm_start": ["boolean"],
        "device": [str],
        "precision": [StrOptions(set(PRECISIONS))],
        "random_state": RANDOM_STATE,
        "verbose": ["verbose"],
        "callbacks": [None, list],
        "on_divergence": [StrOptions({"raise", "restore"})],
    }

    # -- what a family says --------------------------------------------------------------------

    @classmethod
    def _family_parameters(cls) -> list[str]:
        """The family's own parameters: those of ``__init__`` the base does not define."""
        names = inspect.signature(cls.__init__).parameters
        return [n for n in names if n != "self" and n not in BaseOperatorRegressor._parameter_constraints]

    def _validate_family_params(self, grid_shape: tuple[int, ...]) -> dict:
        """Checks that need the data (e.g. modes against the grid).

        Returns the fitted attributes they resolve (e.g. ``{"n_modes_": (12, 12)}``), which
        ``fit`` sets together with the others once training has succeeded. Raise ValueError
        naming the parameter for a value the data rule out.
        """
        return {}

    def _ignored_parameters(self, grid_shape: tuple[int, ...]) -> dict[str, str]:
        """The parameters whose values have no effect with the others, and why (``{name: reason}``).

        Only parameters set to something other than their default count (see
        :meth:`_warn_ignored_parameters`); a family adds its own (AM-FNO: ``basis`` with the
        KAN kernel, ...).
        """
        ignored = {}
        if not self.early_stopping:
            ignored["n_iter_no_change"] = "it counts epochs for early stopping, and early_stopping=False"
        return ignored

    def _warn_ignored_parameters(self, grid_shape: tuple[int, ...]) -> None:
        """One :class:`IgnoredParameterWarning` naming every non-default parameter without effect."""
        defaults = {n: p.default for n, p in inspect.signature(type(self).__init__).parameters.items()}
        reasons = {
            name: reason
            for name, reason in self._ignored_parameters(grid_shape).items()
            if name in defaults and not _same_value(getattr(self, name), defaults[name])
        }
        if reasons:
            listed = "; ".join(f"{name}={getattr(self, name)!r}: {why}" for name, why in reasons.items())
            warnings.warn(
                f"{type(self).__name__}: parameters set away from their defaults have no effect on "
                f"this fit: {listed}. Leave them at their defaults, or search them only where they "
                "act (a list of parameter grids).",
                IgnoredParameterWarning,
                stacklevel=4,
            )

    def _module_kwargs(self) -> dict:
        """Keyword arguments of ``_module_class`` from the estimator's parameters (same names)."""
        names = (*_MODULE_PARAMETERS, *self._family_parameters())
        return {name: getattr(self, name) for name in names}

    # -- fit, step by step ---------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None, *, resume: bool = False):
        """Train the operator on input functions ``X`` and targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, *grid) or (n_samples, *grid, n_channels)
            Input functions on a 1-D, 2-D or 3-D grid (see ``channel_axis``).
        y : array-like
            A field on X's grid, ``(n_samples, *grid)`` or ``(n_samples, *grid, n_out)``, or a
            per-sample target ``(n_samples,)`` / ``(n_samples, k)`` (see ``target_kind``).
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Non-negative weights, not all zero (scikit-learn's ``_check_sample_weight``). Each
            sample's loss counts with its weight over the mean weight of its split (training
            or validation, whose ``valid_loss`` is weighted too), so a weight 0 drops the sample,
            an integer weight ``k`` counts as ``k`` copies (in expectation over the batches)
            and scaling every weight changes nothing; weights that are all equal fit exactly as
            none. The scaling statistics and the typical target norm are weighted too. A
            ``warm_start`` or ``resume`` fit keeps the first fit's scaling. Searches pass it
            with ``fit_params`` or, with metadata routing, after ``set_fit_request(
            sample_weight=True)`` (``docs/user_guide/pipelines_and_search.md``).
        resume : bool, default=False
            Complete the last fit instead of starting one: train until that fit has run
            ``max_epochs`` epochs, with the optimizer's saved state and learning rate and the
            schedule where it stopped, so that an estimator loaded from a checkpoint
            (:class:`sklearn_amfno.callbacks.EstimatorCheckpoint`) and resumed on the same data
            gives the losses and weights of the uninterrupted fit. A completed fit is left as
            it is; an unfitted estimator fits normally. Data or model changes are refused as for
            ``warm_start``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if not isinstance(resume, bool):
            raise TypeError(f"resume must be True or False, got {resume!r} of type {type(resume).__name__}.")
        return self._fit(X, y, resume=resume, sample_weight=sample_weight)

    def _fit(
        self,
        X,
        y,
        *,
        rollout_steps: int | None = None,
        pushforward: bool = False,
        input_noise: float = 0.0,
        resume: bool = False,
        sample_weight=None,
    ):
        """``fit``, optionally training the one-step model through ``rollout_steps`` unrolled steps.

        With ``rollout_steps=k`` (used by :class:`~sklearn_amfno.AutoregressiveRegressor`), ``y``
        holds ``k`` consecutive outputs of the model along its channel axis; the model is trained
        as ``nn.models.Rollout`` (each step fed the last input channels of ``[x, outputs]``) on
        the sum of the per-step losses, or with ``pushforward=True`` as ``nn.models.Pushforward``
        (``j - 1`` steps without gradient, ``j`` uniform in ``1..k`` per batch) on the loss of
        its last step. ``input_noise > 0`` adds ``nn.models.InputNoise`` to the input, in every
        mode. The fitted estimator keeps the one-step model. ``sample_weight``: one weight per
        sample of ``X`` (per window, for ``AutoregressiveRegressor``).
        """
        # Everything that can be refused is refused before any training.
        self._validate_params()
        self._check_training_params()
        if pushforward and rollout_steps is None:
            raise ValueError("pushforward training needs rollout_steps, the largest number of steps k.")
        y_unrolled = None
        if rollout_steps is not None:
            # Rollout training joins X and y in memory: lazy data are loaded.
            X = materialize(X)
            y_unrolled = np.asarray(y)
            if y_unrolled.ndim < 3 or y_unrolled.shape[-1] % rollout_steps:
                raise ValueError(
                    f"y of shape {y_unrolled.shape} must hold {rollout_steps} steps along its last axis."
                )
            y = y_unrolled[..., : y_unrolled.shape[-1] // rollout_steps]
        X, y, fitted = self._validate_fit_data(X, y)
        # None when absent or all equal: such a fit is the unweighted one, bit for bit.
        sample_weight = check_fit_sample_weight(sample_weight, len(X))
        if y_unrolled is not None:
            y_unrolled = check_grid_target(y_unrolled, fitted["grid_shape_"], len(X))[0]
        fitted.update(self._validate_family_params(fitted["grid_shape_"]))
        self._warn_ignored_parameters(fitted["grid_shape_"])
        check_validation_split(
            len(X),
            self._validation_fraction(),
            early_stopping=self.early_stopping,
            validation_fraction=self.validation_fraction,
        )
        fitted["_module_params"] = self._module_kwargs()
        warm = (self.warm_start or resume) and hasattr(self, "net_")
        if warm:
            self._check_warm_start(fitted)
        resume = resume and warm
        if resume:
            # The fit to complete began at _fit_start_epoch (0 for files older than resume).
            fit_start = getattr(self, "_fit_start_epoch", 0)
            done = len(self.net_.history) - fit_start
            if done >= self.max_epochs:
                return self
        target_norm, degenerate = target_norms(X, y, sample_weight)
        fitted["_target_norm"] = target_norm
        self._warn_degenerate_targets(degenerate, fitted["target_kind_"], target_norm)
        # A process group (torchrun) makes the fit data-parallel: one seed, one GPU per rank.
        group = process_group(resolve_device(self.device))
        fitted["device_"] = rank_device(resolve_device(self.device), group)
        callbacks = self.initialize_callbacks()
        at = schedule_position(callbacks)
        if resume and at is not None:
            # Right after the schedules, which build their torch schedulers at train begin.
            callbacks.insert(at, ("continue_schedule", ContinueSchedule(done)))
        fitted["checkpoint_dirs_"] = separate_checkpoint_dirs(callbacks, type(self).__name__)
        self._check_memory(fitted, len(X))
        if sample_weight is not None and isinstance(X, GridDataset):
            # The items carry their weights; the statistics are weighted (one more pass) unless
            # a warm start keeps the fitted ones.
            X.weigh(sample_weight, statistics=not warm)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        seed = broadcast_seed(seed, group)
        watch = InterruptWatch()
        y_train = y if y_unrolled is None else y_unrolled
        # The fit's own generator (docs/reliability.md, threads): the fit is repeatable, in
        # threads too, and the caller's torch random state is untouched.
        with float32_default_dtype():
            if warm:
                # The random stream (batch shuffling) goes on where the last fit left it, so a
                # fit of 3 + 3 epochs draws the batches of a fit of 6.
                state = getattr(self, "_rng_state", None)  # absent from pickles of 0.1
                generator = fit_generator(seed if state is None else state)
                module = copy.deepcopy(self.net_.module_)
            else:
                # torch's initialisers draw from the global generator only: build in a locked,
                # seeded fork of it, and go on from the state the build leaves.
                with seeded_global_rng(seed):
                    weights = {} if sample_weight is None else {"sample_weight": sample_weight}
                    module = self.initialize_module(X, y, fitted, **weights)
                    generator = fit_generator(torch.get_rng_state())
            criterion = self.initialize_criterion(fitted["target_kind_"], module, target_norm)
            if sample_weight is not None:
                # Refused here, before training, if the loss has no per-sample form.
                criterion = per_sample_criterion(criterion, self.loss)
            if is_loss_module(self.loss):
                target = loss_probe_target(X, y)
                probe_loss(criterion, target, self.loss, per_sample=sample_weight is not None)
            trained = module
            augment = None
            if pushforward or input_noise:
                # A stream of its own, seeded by one draw of the fit's: ranks drawing noise for
                # shards of different sizes still shuffle the same batches.
                augment = fit_generator(int(torch.randint(2**62, (), generator=generator).item()))
            if y_unrolled is not None and pushforward:
                trained = Pushforward(module, rollout_steps, fitted["n_channels_in_"], augment)
                criterion = LastStepLoss(criterion, rollout_steps)
            elif y_unrolled is not None:
                trained = Rollout(module, rollout_steps, fitted["n_channels_in_"])
                criterion = StepwiseLoss(criterion, rollout_steps)
            if input_noise:
                trained = InputNoise(trained, input_noise, augment)
            if sample_weight is not None:
                criterion = SampleWeightedLoss(criterion)
            net = self.initialize_net(trained, criterion, fitted["device_"], seed, callbacks, generator)
            with (
                watch.watch(),
                device_in_use(fitted["device_"], type(self).__name__),
                reuse_freed_memory(torch.device(fitted["device_"]).type),
            ):
                start = len(self.net_.history) if warm else 0
                # Checkpoint callbacks (sklearn_amfno.callbacks) save the estimator from this.
                progress = FitInProgress(self, fitted, module, fit_start if resume else start, generator)
                with fit_in_progress(progress):
                    X_net = weighted_input(X, sample_weight)
                    if warm:
                        self._resume_net(net, keep_groups=resume)
                        net.partial_fit(X_net, y_train, epochs=self.max_epochs - done if resume else None)
                    else:
                        net.fit(X_net, y_train)
            fitted["_fit_start_epoch"] = progress.start_epoch
            fitted["_rng_state"] = generator.get_state()
        # Keep the one-step model: prediction steps it as often as asked.
        net.module_ = module
        fitted["net_"] = net
        fitted["n_parameters_"] = count_parameters(net.module_)
        fitted["n_epochs_"] = len(net.history)
        callbacks_ = dict(net.callbacks_)
        guard = callbacks_["divergence_guard"]
        stopping = callbacks_.get("early_stopping")
        fitted["best_epoch_"] = None if stopping is None else stopping.best_epoch_
        if watch.interrupted:
            fitted["training_status_"] = "interrupted"
        elif guard.diverged_epoch_ is not None:
            fitted["training_status_"] = "diverged"
        elif fitted["n_epochs_"] - fitted["_fit_start_epoch"] < self.max_epochs:
            fitted["training_status_"] = "stopped"
        else:
            fitted["training_status_"] = "completed"
        # Set together, at the end: a fit that raised has changed nothing.
        for name, value in fitted.items():
            setattr(self, name, value)
        if watch.interrupted:
            # Keep the weights reached, then let the interrupt go on (out of a search, too).
            raise KeyboardInterrupt(
                f"{type(self).__name__}.fit interrupted after {self.n_epochs_} of {self.max_epochs} "
                "epochs; the estimator keeps the weights reached (training_status_='interrupted')."
            )
        if self.training_status_ == "diverged":
            warnings.warn(
                f"The training loss became non-finite in epoch {guard.diverged_epoch_}: training "
                f"stopped and the weights of the last finite epoch were restored (lr={self.lr}).",
                RuntimeWarning,
                stacklevel=2,
            )
        self._warn_if_not_learned()
        return self

    def _warn_if_not_learned(self) -> None:
        """Warn when a fit of some length ends near the loss of a constant prediction.

        Every loss here is 1 for a constant prediction: the relative losses for predicting zero,
        the MSE of standardised targets for predicting their mean. A fit that ends above
        ``NOT_LEARNED_LOSS`` after ``NOT_LEARNED_EPOCHS`` epochs or more has not learned the map
        (measured: an AM-FNO KAN stuck at 0.97 for 20 epochs scored 0.99 on test data).
        """
        if self.training_status_ in ("diverged", "interrupted"):
            return  # said already
        if is_loss_module(self.loss):
            return  # a loss module's value for a constant prediction is not known
        history = self.net_.history[self._fit_start_epoch :]
        losses = [row["train_loss"] for row in history if "train_loss" in row]
        if len(losses) < NOT_LEARNED_EPOCHS or not np.isfinite(losses[-1]) or losses[-1] < NOT_LEARNED_LOSS:
            return
        warnings.warn(
            f"{type(self).__name__}.fit ended with a training loss of {losses[-1]:.3g} after "
            f"{len(losses)} epochs (first epoch: {losses[0]:.3g}); a constant prediction scores 1: "
            "the model has not learned the map. Try another random_state, a lower lr, more epochs "
            "or check that y depends on X.",
            ConvergenceWarning,
            stacklevel=3,
        )

    def _validate_fit_data(self, X, y) -> tuple[np.ndarray | GridDataset, np.ndarray | None, dict]:
        """The data contract: channels-first float32 arrays and the fitted attributes they fix.

        Lazily loaded data (``np.memmap``, ``h5py``/``zarr`` arrays, ``_streaming.is_lazy``) are
        checked chunk by chunk in one streaming pass instead: ``X`` comes back as a
        :class:`~sklearn_amfno._streaming.GridDataset` carrying the scaling statistics, and
        ``y`` as None (the dataset holds it).
        """
        target_kind = self.target_kind
        if is_lazy(X) or is_lazy(y):
            # The shapes first: a target_kind error or warning comes before any chunk is read.
            self._classify_lazy_target(X, y, target_kind)
            dataset, fitted = stream_fit_data(
                X, y, channel_axis=self.channel_axis, estimator=self, target_kind=target_kind
            )
            return dataset, None, fitted
        X = check_grid_input(X, channel_axis=self.channel_axis, estimator=self)
        grid = X.shape[2:]
        x_shape = self._passed_x_shape(X)
        y, kind, has_channels = check_grid_target(y, grid, len(X), target_kind=target_kind, x_shape=x_shape)
        if target_kind == "auto" and kind == "vector":
            warn_if_field_like(y.shape, x_shape, grid, stacklevel=4)
        fitted = {
            "n_dim_": len(grid),
            "grid_shape_": tuple(int(n) for n in grid),
            "n_channels_in_": X.shape[1],
            "n_features_in_": int(np.prod(X.shape[1:])),
            "target_kind_": kind,
            "_y_has_channels": has_channels,
            "n_outputs_": y.shape[1],
        }
        return X, y, fitted

    def _passed_x_shape(self, X: np.ndarray) -> tuple[int, ...]:
        """The shape of a validated (channels-first) ``X`` as the user passed it, for messages."""
        n, channels, *grid = X.shape
        return (n, *grid) if self.channel_axis is None else (n, *grid, channels)

    def _classify_lazy_target(self, X, y, target_kind: str) -> str | None:
        """``target_kind``'s checks of lazily loaded data, on the shapes, before any chunk is read.

        Returns the kind of target, or None where the streaming pass words the error (a wrong
        rank of X, no samples, no y).
        """
        x_shape = tuple(int(s) for s in np.shape(X))
        if y is None or len(x_shape) < 2 or x_shape[0] == 0:
            return None
        grid, _ = check_grid_shape(x_shape, channel_axis=self.channel_axis)
        y_shape = tuple(int(s) for s in np.shape(y))
        kind, _ = classify_target(y_shape, grid, target_kind=target_kind, x_shape=x_shape)
        if target_kind == "auto" and kind == "vector":
            warn_if_field_like(y_shape, x_shape, grid, stacklevel=5)
        return kind

    def _check_warm_start(self, fitted: dict) -> None:
        """Refuse a warm start whose data or model differ from the fitted ones."""
        labels = {
            "n_dim_": "grid axes",
            "grid_shape_": "training grid",
            "n_channels_in_": "input channels",
            "target_kind_": "kind of target",
            "n_outputs_": "outputs",
            "_y_has_channels": "channel axis of y",
        }
        for name, label in labels.items():
            if fitted[name] != getattr(self, name):
                stated = f" (target_kind={self.target_kind!r})" if name == "target_kind_" else ""
                raise ValueError(
                    f"warm_start=True continues the fitted model, but the data changed: {label} "
                    f"{fitted[name]!r}{stated} now, {getattr(self, name)!r} in the previous fit. "
                    "Fit with warm_start=False to start afresh."
                )
        previous = getattr(self, "_module_params", fitted["_module_params"])
        for name, value in fitted["_module_params"].items():
            if value != previous.get(name):
                raise ValueError(
                    f"warm_start=True continues the fitted model, but {name}={value!r} now and "
                    f"{previous.get(name)!r} in the previous fit changes the model. Fit with "
                    "warm_start=False to start afresh."
                )

    def _resume_net(self, net: NeuralNetRegressor, keep_groups: bool = False) -> None:
        """Initialise ``net`` and hand it the fitted net's optimizer state and history.

        ``keep_groups`` (a resumed fit) also keeps the fitted optimizer's parameter groups: the
        learning rate reached and the fit's initial one, where the schedule continues from.
        """
        old = self.net_
        net.initialize()
        if type(net.optimizer_) is not type(old.optimizer_):
            raise ValueError(
                f"warm_start=True keeps the optimizer's state, but optimizer={self.optimizer!r} "
                f"({type(net.optimizer_).__name__}) is not the optimizer of the previous fit "
                f"({type(old.optimizer_).__name__}). Fit with warm_start=False to start afresh."
            )
        # The state (moments, step counts) of the previous fit, the hyperparameters of now.
        state = copy.deepcopy(old.optimizer_.state_dict()["state"])
        groups = (old if keep_groups else net).optimizer_.state_dict()["param_groups"]
        net.optimizer_.load_state_dict({"state": state, "param_groups": groups})
        net.history = copy.deepcopy(old.history)

    def initialize_module(
        self, X: np.ndarray, y: np.ndarray, fitted: dict, sample_weight: np.ndarray | None = None
    ) -> OperatorNetwork:
        """The torch model for this data, with the per-channel scaling statistics of X and y.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_channels_in, *grid) or GridDataset
            Validated training inputs; for streamed (lazy) data the dataset, which carries the
            statistics of its streaming pass.
        y : ndarray of shape (n_samples, n_outputs, *grid) or (n_samples, n_outputs), or None
            Validated training targets (None for streamed data).
        fitted : dict
            The fitted attributes resolved so far (``grid_shape_``, ``n_channels_in_``,
            ``n_outputs_``, ``target_kind_``, ...).
        sample_weight : ndarray of shape (n_samples,) or None, default=None
            Validated weights of a weighted fit: the statistics are weighted (those of a
            streamed ``X`` are, already).

        Returns
        -------
        module : OperatorNetwork
            An instance of ``_module_class``.
        """
        module = self._build_module(fitted, self._module_kwargs())
        if isinstance(X, GridDataset):
            (x_mean, x_scale), (y_mean, y_scale) = X.x_statistics, X.y_statistics
        else:
            x_mean, x_scale = channel_statistics(X, axis=1, sample_weight=sample_weight)
            y_mean, y_scale = channel_statistics(y, axis=1, sample_weight=sample_weight)
        module.set_scaling(x_mean, x_scale, y_mean, y_scale)
        return module

    def _build_module(self, fitted: dict, module_kwargs: dict) -> OperatorNetwork:
        """``_module_class`` for the data the fitted attributes describe (no scaling yet)."""
        return self._module_class(
            in_channels=fitted["n_channels_in_"],
            out_channels=fitted["n_outputs_"],
            grid_shape=fitted["grid_shape_"],
            pooled=fitted["target_kind_"] != "field",
            **module_kwargs,
        )

    def _warn_degenerate_targets(self, degenerate: np.ndarray, kind: str, target_norm: float) -> None:
        """Warn when the relative L2 loss meets target samples whose norm is (near) zero.

        ``degenerate`` marks them (``metrics.degenerate_target_mask`` of the targets).
        """
        if not (self.loss == "relative_l2" or (self.loss == "auto" and kind == "field")):
            return
        if degenerate.any():
            warnings.warn(
                f"{int(degenerate.sum())} of {len(degenerate)} target samples have a norm below "
                f"{DEGENERATE_THRESHOLD:.0%} of the typical norm ({target_norm:.3g}, the root mean "
                "square of the per-sample norms): their relative error is undefined or "
                "meaningless, so the loss measures their error against the typical norm instead "
                "(sklearn_amfno.nn.losses). sklearn_amfno.metrics.degenerate_target_mask(y) "
                "finds them.",
                UserWarning,
                stacklevel=3,
            )

    def initialize_criterion(
        self, kind: str, module: OperatorNetwork, target_norm: float | None = None
    ) -> nn.Module:
        """The training loss: relative L2 (or H1) for fields, MSE of standardised per-sample targets.

        Parameters
        ----------
        kind : {"field", "vector", "scalar"}
            What the target is.
        module : OperatorNetwork
            The model (its ``y_scale`` standardises per-sample targets).
        target_norm : float or None, default=None
            The typical norm of the training targets (``sklearn_amfno.metrics.typical_norm``):
            the relative L2 loss measures degenerate (near-zero) samples against it. ``None``:
            the typical norm of each batch.

        Returns
        -------
        criterion : torch.nn.Module
            A built-in loss, or the fit's own copy of a ``loss`` module.
        """
        loss = self.loss
        if is_loss_module(loss):
            return build_loss(loss)
        if loss == "auto":
            loss = "relative_l2" if kind == "field" else "mse"
        if loss == "relative_l2":
            return RelativeL2Loss(reference_norm=target_norm)
        if loss == "relative_h1":
            if kind != "field":
                raise ValueError(
                    f"loss='relative_h1' needs a field target on X's grid (derivatives along the "
                    f"grid); got a per-sample target ({kind}). Use loss='mse' or 'auto'."
                )
            # target_norm is an L2 norm: the H1 loss takes its typical norm from each batch.
            return RelativeH1Loss(periodic=True)
        return ScaledMSELoss(module.y_scale.detach().clone())

    def initialize_callbacks(self) -> list:
        """The package's callbacks (divergence guard, schedule, progress bar, early stopping), then
        copies of the user's callbacks.

        Returns
        -------
        callbacks : list of (str, skorch.callbacks.Callback)
            Named callbacks for the skorch net. Raises TypeError for an entry that is not a
            callback and ValueError for one that needs a validation split that is not there.
        """
        user = check_callbacks(self.callbacks, self._validation_fraction())
        restart_schedules(user)
        # One learning-rate schedule at a time: a user's LRScheduler replaces lr_schedule's.
        callbacks = self._builtin_callbacks(schedule=not has_lr_scheduler(user))
        if self.verbose == 1:
            # Before early stopping, whose stop skips the callbacks after it in that epoch.
            callbacks.append(("progress_bar", EpochProgressBar(type(self).__name__)))
        if self.early_stopping:
            callbacks.append(("early_stopping", ValidationEarlyStopping(self.n_iter_no_change)))
        return callbacks + user

    def _builtin_callbacks(self, schedule: bool = True) -> list:
        """The callbacks every net of this estimator has: divergence guard and schedule.

        ``schedule=False`` leaves out the ``lr_schedule`` one (the user passed an
        ``LRScheduler``).
        """
        callbacks = [("divergence_guard", DivergenceGuard(self.on_divergence))]
        if schedule and self.lr_schedule == "cosine":
            # last_epoch=-1: a warm-started fit restarts the cosine from lr (skorch would
            # otherwise resume it at the epoch count of the history, past its end).
            schedule = LRScheduler(policy="CosineAnnealingLR", T_max=self.max_epochs, last_epoch=-1)
            callbacks.append((BUILTIN_SCHEDULE, schedule))
        return callbacks

    def _check_training_params(self) -> None:
        """Refuse an optimizer, or optimizer_params, that would fail inside skorch or torch, and a
        ``loss`` class that is no torch module or cannot be built without arguments."""
        check_loss_module(self.loss)
        check_optimizer(
            self.optimizer,
            self.optimizer_params,
            lr=self.lr,
            weight_decay=getattr(self, "weight_decay", None),
            named=_OPTIMIZERS,
            device=resolve_device(self.device),
        )

    def _validation_fraction(self) -> float | None:
        """The held-out fraction: ``validation_fraction``, or 0.1 for early stopping (as MLP)."""
        if self.validation_fraction is None and self.early_stopping:
            return 0.1
        return self.validation_fraction

    def _check_memory(self, fitted: dict, n_samples: int) -> None:
        """Fail fast when training certainly cannot fit in the device's memory.

        The estimate (:func:`~sklearn_amfno._resources.training_bytes`) is a lower bound from the
        model's parameter count (built on the meta device, no allocation) and the activations of
        one batch. The message names the parameter whose reduction to its default helps most.
        """
        total = device_memory(fitted["device_"])
        if total is None:
            return
        grid = fitted["grid_shape_"]
        n_points = int(np.prod(grid))

        def build(kwargs: dict, n_layers: int) -> nn.Module:
            return meta_module(
                lambda: self._module_class(
                    in_channels=fitted["n_channels_in_"],
                    out_channels=fitted["n_outputs_"],
                    grid_shape=grid,
                    pooled=fitted["target_kind_"] != "field",
                    **{**kwargs, "n_layers": n_layers},
                )
            )

        def estimate(**overrides) -> int:
            kwargs = {**self._module_kwargs(), **overrides}
            batch_size = min(kwargs.pop("batch_size", self.batch_size), n_samples)
            n_layers = kwargs["n_layers"]
            if n_layers <= 4:
                module = build(kwargs, n_layers)
                weights = parameter_bytes(module)
            else:
                # Weights grow linearly with the layers: extrapolate from one and two layers
                # rather than building thousands of (meta) layers.
                module, two = build(kwargs, 1), build(kwargs, 2)
                one_bytes = parameter_bytes(module)
                weights = one_bytes + (n_layers - 1) * (parameter_bytes(two) - one_bytes)
            return training_bytes(weights, batch_size, n_points, module.activation_channels, n_layers)

        need = estimate()
        if need <= total:
            return
        defaults = {n: p.default for n, p in inspect.signature(type(self).__init__).parameters.items()}
        current = {**self._module_kwargs(), "batch_size": self.batch_size}
        relief = {}
        for name, value in current.items():
            default = defaults.get(name)
            if (
                isinstance(value, numbers.Integral)
                and isinstance(default, numbers.Integral)
                and not isinstance(value, bool)
                and value > default
            ):
                relief[name] = estimate(**{name: default})
        gib = 2.0**30
        message = (
            f"Training this {type(self).__name__} needs at least {need / gib:.1f} GiB, more than the "
            f"{total / gib:.1f} GiB of device {fitted['device_']!r} (grid {tuple(grid)}, "
            f"batch_size={self.batch_size}, width={self.width}, n_layers={self.n_layers})."
        )
        if relief:
            name = min(relief, key=relief.get)
            message += (
                f" The largest contributor is {name}={current[name]}: with {name}={defaults[name]} "
                f"it would need {relief[name] / gib:.2f} GiB."
            )
        raise ValueError(message)

    def initialize_net(
        self,
        module: nn.Module,
        criterion: nn.Module,
        device: str,
        seed: int,
        callbacks: list,
        generator: torch.Generator | None = None,
    ) -> NeuralNetRegressor:
        """The skorch net that trains ``module`` (optimizer, schedule, batches, split, device).

        Parameters
        ----------
        module : torch.nn.Module
            The initialised model.
        criterion : torch.nn.Module
            The training loss.
        device : str
            Torch device to train on.
        seed : int
            Seed of the validation split.
        callbacks : list of (str, skorch.callbacks.Callback)
            From :meth:`initialize_callbacks`.
        generator : torch.Generator or None, default=None
            The fit's random number generator: batch shuffling and the loaders' seeds draw from
            it, never from torch's global one. ``None``: a new one seeded with ``seed``.

        Returns
        -------
        net : OperatorNet
            A ``skorch.NeuralNetRegressor`` with data-parallel steps and mixed precision.
        """
        optimizer = _OPTIMIZERS.get(self.optimizer, self.optimizer)
        optimizer_params = {f"optimizer__{k}": v for k, v in (self.optimizer_params or {}).items()}
        verbose = self.verbose
        if generator is None:
            generator = fit_generator(seed)
        if not is_main_process():
            # One progress report, from rank 0: the ranks' losses are the same.
            callbacks = [(name, cb) for name, cb in callbacks if name != "progress_bar"]
            verbose = 0
        return OperatorNet(
            module=module,
            criterion=criterion,
            optimizer=optimizer,
            optimizer__weight_decay=self.weight_decay,
            **optimizer_params,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            iterator_train=_data_loader,
            iterator_valid=_data_loader,
            iterator_train__shuffle=True,
            iterator_train__generator=generator,
            iterator_valid__generator=generator,
            # Absent from pickles of 0.1.
            iterator_train__num_workers=getattr(self, "num_workers", 0),
            iterator_valid__num_workers=getattr(self, "num_workers", 0),
            train_split=(
                None
                if (fraction := self._validation_fraction()) is None
                else ValidSplit(fraction, random_state=seed)
            ),
            callbacks=callbacks,
            device=device,
            # verbose=1 is the progress bar (a callback); 2 and more print skorch's table.
            verbose=int(verbose >= 2),
            precision=getattr(self, "precision", "fp32"),  # absent from pickles of 0.1
            data_parallel=process_group(device),
        )

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
            (zero-shot super-resolution for field targets). A lazily loaded array
            (``np.memmap``, ``h5py``/``zarr`` array) is read in chunks of whole batches.

        Returns
        -------
        y_pred : ndarray
            The layout of the training ``y``, on X's grid; float32 if ``X`` is float32, else
            float64. Always in memory: predict larger-than-memory data slice by slice.
        """
        check_is_fitted(self, "net_")
        if is_lazy(X):
            # Chunks of whole batches through the in-memory path: the batches (and so the
            # results) of an in-memory predict, without loading X.
            return stream_predict(
                self._predict_in_memory,
                X,
                channel_axis=self.channel_axis,
                n_dim=self.n_dim_,
                n_channels=self.n_channels_in_,
                batch_size=self.batch_size,
            )
        return self._predict_in_memory(X)

    def _predict_in_memory(self, X):
        """``predict`` of data in memory (or of one chunk of lazily loaded data)."""
        dtype = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
        X = check_grid_input(
            X,
            channel_axis=self.channel_axis,
            n_dim=self.n_dim_,
            n_channels=self.n_channels_in_,
            estimator=self,
        )
        # The net's loader draws its seeds from the net's own generator, never from torch's
        # global one, so nothing here changes the caller's random state (in threads too).
        with (
            float32_default_dtype(),
            torch.inference_mode(),
            reuse_freed_memory(torch.device(self.net_.device).type),
        ):
            out = self.net_.predict(X)
        if not np.isfinite(out).all():
            bad = int((~np.isfinite(out.reshape(len(out), -1))).any(axis=1).sum())
            raise ValueError(
                f"{bad} of {len(out)} predictions are NaN or infinite: the inputs are far outside "
                "the training data's range (or the model's weights are not finite), so the model's "
                "output overflows float32. Rescale X like the training data."
            )
        out = to_target_layout(out, self.target_kind_, self._y_has_channels)
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
        check_consistent_length(X, y)
        y_pred = self.predict(X)
        y = np.asarray(y, dtype=float)
        if y.shape != y_pred.shape:
            raise ValueError(
                f"y has shape {y.shape}, but the predictions for X have shape {y_pred.shape}: "
                "y must be in the layout used for fit, on X's grid."
            )
        return flat_r2_score(y, y_pred, sample_weight)

    #: Parameters a family added since models could be saved or pickled, with the value that
    #: rebuilds the model an older file holds (used by ``__setstate__`` and ``sklearn_amfno.load``).
    _legacy_parameters: dict = {"target_kind": "auto"}

    def __setstate__(self, state):
        state = {**self._legacy_parameters, **state}
        super().__setstate__(state)
        # skorch maps a CUDA-trained net to the CPU when unpickled without a GPU: follow it.
        if "net_" in state:
            self.device_ = str(self.net_.device)
            # Nets pickled before fits had their own generator: predict's loader would draw its
            # seeds from torch's global generator.
            if self.net_.get_params().get("iterator_valid__generator") is None:
                # (skorch reads iterator keyword arguments from the net's attributes.)
                self.net_.iterator_valid__generator = fit_generator(0)

    # -- safe persistence (sklearn_amfno._persistence) -------------------------------------------

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
        where = loader.prefix.rstrip(".") or "the estimator"
        check_state_names(self, state, where)
        state = dict(state)
        net_state = state.pop("net_", None)
        fitted = {name: loader.decode(value, name) for name, value in state.items()}
        _check_fitted_state(self, fitted, where)
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
        module_kwargs = fitted.get("_module_params") or self._module_kwargs()
        # The model's size from its parameters, against the file's tensors, before allocating.
        check_size_bounds(module_kwargs, weights, f"{where_net}.module")
        try:
            with float32_default_dtype():
                expected = meta_module(lambda: self._build_module(fitted, module_kwargs))
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
                module = self._build_module(vars(self), module_kwargs)
            module.load_state_dict(weights)  # names, shapes and dtypes checked above
            criterion = self.initialize_criterion(
                self.target_kind_, module, getattr(self, "_target_norm", None)
            )
            net = self.initialize_net(module, criterion, device, 0, self._builtin_callbacks())
            net.initialize()
            check_optimizer_state(optimizer_state, net.optimizer_, f"{where_net}.optimizer")
            try:
                net.optimizer_.load_state_dict(optimizer_state)
            except (ValueError, KeyError, TypeError) as error:
                raise ValueError(f"{where_net}: the saved optimizer state does not fit: {error}") from None
        net.history = History(history)
        self.net_, self.device_ = net, device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.allow_nan = False
        return tags


def _same_value(value, default) -> bool:
    """Whether a parameter's value is its default (numbers by value, ``2 == 2.0``; booleans as such)."""
    if isinstance(value, bool) or isinstance(default, bool):
        return value is default
    try:
        return bool(value == default)
    except (TypeError, ValueError):  # arrays and the like: not the default
        return False


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


def _is_count(value, low: int = 0) -> bool:
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
