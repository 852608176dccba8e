"""The estimator every operator family shares: its parameters and ``fit`` in steps, predict, score.

A family names its torch model (``_module_class``, from :mod:`sklearn_amfno.nn`) and, where the
data decide something, overrides ``_validate_family_params``; its parameters go to the model by
name. The data flow is always: arrays -> validation -> torch module -> skorch loop -> arrays, and
``fit`` runs it as small overridable steps, as skorch's ``NeuralNet`` does. The pieces live in
modules of their own: the shared docstrings (``_docs``), the skorch net (``_net``), the memory
estimate (``_resources``), the fitted state in model files (``_fitted_state``).
"""

from __future__ import annotations

import copy
import inspect
import numbers
import warnings
from abc import ABCMeta
from collections.abc import Callable

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_consistent_length, check_is_fitted
from skorch import NeuralNetRegressor
from skorch.dataset import ValidSplit
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
    probe_loss,
)
from ._data_contract import (
    TARGET_KINDS,
    check_grid_input,
    to_target_layout,
)
from ._distributed import broadcast_seed, is_main_process, process_group, rank_device
from ._fit_data import FitData, prepare_fit_data
from ._fitted_state import FittedStateMixin

# The net, its loader and its generators' states pickle by module path, and pickles written before
# ``_net`` existed name them here (``_base.OperatorNet``, ``_base._data_loader``,
# ``_base._GeneratorState``): keep these names, whatever this module uses.
from ._net import OperatorNet, _GeneratorState, data_loader  # noqa: F401
from ._persistence import SaveMixin
from ._precision import PRECISIONS
from ._resources import check_training_memory, count_parameters, resolve_device
from ._sample_weight import per_sample_criterion
from ._streaming import stream_predict
from ._torch_state import fit_generator, float32_default_dtype, seeded_global_rng
from ._training import (
    BUILTIN_SCHEDULE,
    ContinueSchedule,
    DivergenceGuard,
    EpochProgressBar,
    FitInProgress,
    InterruptWatch,
    ValidationEarlyStopping,
    builtin_schedule,
    check_callbacks,
    device_in_use,
    has_lr_scheduler,
    restart_schedules,
    schedule_position,
    separate_checkpoint_dirs,
    training_for,
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
from .nn.models.backbone import _ChannelScaling

_data_loader = data_loader  # named by old pickles (see the import of ._net)


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


class IgnoredParameterWarning(UserWarning):
    """A parameter set to a value other than its default has no effect on this fit.

    Raised once per ``fit``, naming each such parameter and what makes it idle (e.g. ``basis``
    with AM-FNO's ``kernel="kan"``, which has no basis embedding): a search over it would fit
    identical candidates. Set the parameter back to its default, or search it only where it acts
    (a list of parameter grids).
    """


class BaseOperatorRegressor(FittedStateMixin, SaveMixin, RegressorMixin, BaseEstimator, metaclass=ABCMeta):
    """Shared base of the neural-operator regressors; not for direct use.

    A family defines ``__init__`` with an explicit signature (its own parameters, then the common
    keyword-only ones of ``_parameter_constraints``) whose body is ``store_parameters(self,
    locals())``, and sets ``_module_class`` to its model in :mod:`sklearn_amfno.nn`. Its own
    parameters are passed to that model by name (one name per meaning, from the estimator down to
    the module); ``_validate_family_params`` checks what depends on the data.

    ``fit`` runs as steps that a subclass may override: ``_validate_fit_data`` (the data
    contract), ``_validate_family_params``, ``_check_memory``, ``initialize_module`` (the torch
    model with its scaling statistics), ``initialize_criterion``, ``initialize_callbacks`` and
    ``initialize_net`` (the skorch net), then the skorch training loop. A meta-estimator that
    trains the model through unrolled steps calls :meth:`_fit_rollout`, the same steps; the
    fitted state goes into model files through
    :class:`~sklearn_amfno._fitted_state.FittedStateMixin`.
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
        "lr_schedule": [StrOptions({"cosine", "warmup_cosine", "constant"})],
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

    def _fit_rollout(
        self,
        X,
        y,
        *,
        rollout_steps: int | None = None,
        pushforward: bool = False,
        input_noise: float = 0.0,
        sample_weight=None,
    ):
        """Train the one-step model through unrolled steps: the rollout-training entry point.

        The hook for meta-estimators that train a package estimator on windows of trajectories
        (:class:`~sklearn_amfno.AutoregressiveRegressor`): the same fit as :meth:`fit` (every
        step, check and fitted attribute, ``warm_start`` included), with the model trained as
        a rollout. The fitted estimator keeps the one-step model, and predicts one step.

        Parameters
        ----------
        X : array-like of shape (n_samples, *grid, n_channels)
            The inputs (a window's frames), channels last (``channel_axis=-1``, which
            ``AutoregressiveRegressor`` sets). With ``rollout_steps``, lazily loaded arrays
            are read into memory.
        y : array-like of shape (n_samples, *grid, k * n_outputs)
            With ``rollout_steps=k``: ``k`` consecutive outputs of the model, one after the
            other along the last axis. With ``rollout_steps=None``: the one-step targets, as
            for ``fit``.
        rollout_steps : int or None, default=None
            ``k``: the model is trained as ``nn.models.Rollout`` (each step fed the last input
            channels of ``[x, outputs]``) on the sum of the per-step losses. ``None``: one-step
            training (teacher forcing), as ``fit``.
        pushforward : bool, default=False
            Train as ``nn.models.Pushforward`` instead (``j - 1`` steps without gradient, ``j``
            uniform in ``1..k`` per batch) on the loss of its last step; needs ``rollout_steps``.
        input_noise : float, default=0.0
            ``> 0``: ``nn.models.InputNoise`` adds Gaussian noise to the model's input during
            training, of standard deviation ``input_noise`` times each channel's standard
            deviation over the grid, in every mode.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            One weight per sample of ``X`` (per window), with the rules of ``fit``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(
            X,
            y,
            rollout_steps=rollout_steps,
            pushforward=pushforward,
            input_noise=input_noise,
            sample_weight=sample_weight,
        )

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
        """The one fit behind :meth:`fit` (``resume``) and :meth:`_fit_rollout` (the others)."""
        # Everything that can be refused is refused before any training.
        self._validate_params()
        self._check_training_params()
        if pushforward and rollout_steps is None:
            raise ValueError("pushforward training needs rollout_steps, the largest number of steps k.")
        data = self._validate_fit_data(X, y, sample_weight=sample_weight, rollout_steps=rollout_steps)
        # None when absent or all equal: such a fit is the unweighted one, bit for bit.
        sample_weight = data.sample_weight
        fitted = dict(data.fitted)
        fitted.update(self._validate_family_params(fitted["grid_shape_"]))
        self._warn_ignored_parameters(fitted["grid_shape_"])
        check_validation_split(
            len(data),
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
        target_norm, degenerate = data.typical_norm()
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
        self._check_memory(fitted, len(data))
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        seed = broadcast_seed(seed, group)
        watch = InterruptWatch()
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
                    module = self.initialize_module(data)
                    generator = fit_generator(torch.get_rng_state())
            criterion = self.initialize_criterion(fitted["target_kind_"], module, target_norm)
            if sample_weight is not None:
                # Refused here, before training, if the loss has no per-sample form.
                criterion = per_sample_criterion(criterion, self.loss)
            if is_loss_module(self.loss):
                probe_loss(criterion, data.probe_target(), self.loss, per_sample=sample_weight is not None)
            trained = module
            augment = None
            if pushforward or input_noise:
                # A stream of its own, seeded by one draw of the fit's: ranks drawing noise for
                # shards of different sizes still shuffle the same batches.
                augment = fit_generator(int(torch.randint(2**62, (), generator=generator).item()))
            if rollout_steps is not None and pushforward:
                trained = Pushforward(module, rollout_steps, fitted["n_channels_in_"], augment)
                criterion = LastStepLoss(criterion, rollout_steps)
            elif rollout_steps is not None:
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
                with training_for(net, progress):
                    if warm:
                        self._resume_net(net, keep_groups=resume)
                        epochs = self.max_epochs - done if resume else None
                        net.partial_fit(data.net_input(), data.net_target(), epochs=epochs)
                    else:
                        net.fit(data.net_input(), data.net_target())
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

    def _validate_fit_data(self, X, y, sample_weight=None, rollout_steps: int | None = None) -> FitData:
        """The data contract: the training data validated in one pass, and what it learned.

        Returns a :class:`~sklearn_amfno._fit_data.FitData` holding the data (in memory, or
        lazily loaded and read sample by sample), the fitted attributes they fix
        (``grid_shape_``, ``n_channels_in_``, ``target_kind_``, ...), the scaling statistics,
        the target norms and the validated weights; ``rollout_steps``: ``y`` holds that many
        steps along its last axis.
        """
        return prepare_fit_data(
            X,
            y,
            channel_axis=self.channel_axis,
            target_kind=self.target_kind,
            sample_weight=sample_weight,
            rollout_steps=rollout_steps,
            estimator=self,
            stacklevel=5,  # the user's fit: prepare_fit_data, here, _fit, fit
        )

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

    def initialize_module(self, data: FitData) -> _ChannelScaling:
        """The torch model for this data, with the per-channel scaling statistics of X and y.

        Parameters
        ----------
        data : FitData
            The validated training data (:meth:`_validate_fit_data`): ``data.fitted`` holds the
            attributes they fix (``grid_shape_``, ``n_channels_in_``, ``n_outputs_``,
            ``target_kind_``, ...), ``data.x_statistics`` and ``data.y_statistics`` the
            per-channel ``(mean, scale)`` (weighted in a weighted fit).

        Returns
        -------
        module : OperatorNetwork
            An instance of ``_module_class``.
        """
        module = self._build_module(data.fitted, self._module_kwargs())
        module.set_scaling(*data.x_statistics, *data.y_statistics)
        return module

    def _build_module(self, fitted: dict, module_kwargs: dict) -> _ChannelScaling:
        """``_module_class`` for the data the fitted attributes describe (no scaling yet)."""
        # Each family's model takes grid_shape and its own keywords (OperatorNetwork itself does not).
        build: Callable[..., OperatorNetwork] = self._module_class
        return build(
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
        self, kind: str, module: _ChannelScaling, target_norm: float | None = None
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
        builtin = builtin_schedule(self.lr_schedule, self.max_epochs) if schedule else None
        if builtin is not None:
            callbacks.append((BUILTIN_SCHEDULE, builtin))
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

        A lower bound from the model built on the ``meta`` device and one batch's activations
        (:func:`~sklearn_amfno._resources.check_training_memory`); the message names the
        parameter whose reduction to its default helps most.
        """
        check_training_memory(
            lambda module_kwargs: self._build_module(fitted, module_kwargs),
            self._module_kwargs(),
            defaults={n: p.default for n, p in inspect.signature(type(self).__init__).parameters.items()},
            batch_size=self.batch_size,
            n_samples=n_samples,
            grid_shape=fitted["grid_shape_"],
            device=fitted["device_"],
            owner=type(self).__name__,
        )

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
            iterator_train=data_loader,
            iterator_valid=data_loader,
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
        # Lazily loaded X in chunks of whole batches (the batches, and so the results, of an
        # in-memory predict, without loading X); X in memory is one chunk.
        return stream_predict(
            self._predict_in_memory,
            X,
            channel_axis=self.channel_axis,
            n_dim=self.n_dim_,
            n_channels=self.n_channels_in_,
            batch_size=self.batch_size,
        )

    def _predict_in_memory(self, X):
        """``predict`` of one chunk of data (all of X when it is in memory)."""
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
