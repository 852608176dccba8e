"""Guards and controls around the skorch training loop: divergence, interrupts, callbacks,
early stopping, learning-rate schedules, scoring callbacks and the progress bar.

Everything here exists so that a fault during ``fit`` is never silent: a non-finite loss stops
the fit (or rolls back, on request), a Ctrl-C is told apart from a callback's stop, a callback
that cannot work is refused before training starts, and checkpoint files of parallel fits never
collide. Early stopping keeps its best weights in memory, never in files, so that fits running
in parallel share nothing. One learning-rate schedule acts at a time (a user's ``LRScheduler``
replaces the built-in one), and skorch's scoring callbacks score gridded data in the layout of
``predict`` (:class:`GridScoring`).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import itertools
import math
import os
import signal
import threading
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import get_scorer
from skorch.callbacks import Callback, LRScheduler
from skorch.callbacks.scoring import ScoringBase, convert_sklearn_metric_function
from tqdm.auto import tqdm

from ._compat import BaseScorer as _BaseScorer
from ._data_contract import to_target_layout
from ._resources import cuda_device_key
from .metrics import flat_r2_score

_FIT_COUNTER = itertools.count()


class TrainingDivergedError(FloatingPointError, ValueError):
    """The training loss became NaN or infinite: the fit stopped.

    A :class:`FloatingPointError` and, since the values given (the learning rate, or data that
    overflow once standardised) are what make training blow up, a :class:`ValueError`. A search
    such as ``GridSearchCV`` records it as a failed fit (``error_score``) instead of scoring it.
    """


class DivergenceGuard(Callback):
    """Stop training at the first non-finite training loss.

    Parameters
    ----------
    on_divergence : {"raise", "restore"}
        ``"raise"``: raise :class:`TrainingDivergedError`. ``"restore"``: load the weights of the
        last epoch whose losses were all finite (the initial weights if there is none) and stop
        training; ``diverged_epoch_`` records where.
    """

    def __init__(self, on_divergence: str = "raise") -> None:
        self.on_divergence = on_divergence

    def initialize(self) -> DivergenceGuard:
        self.diverged_epoch_: int | None = None
        self._last_good: dict | None = None
        self._epoch_ok = True
        return self

    def _snapshot(self, net) -> None:
        state = net.module_.state_dict()
        if all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point() or v.is_complex()):
            self._last_good = copy.deepcopy(state)

    def on_train_begin(self, net, **kwargs) -> None:
        if self.on_divergence == "restore":
            self._snapshot(net)

    def on_epoch_begin(self, net, **kwargs) -> None:
        self._epoch_ok = True

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs) -> None:
        if not training or loss is None:
            return
        value = float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss)
        if math.isfinite(value):
            return
        epoch = len(net.history)
        self.diverged_epoch_ = epoch
        if self.on_divergence == "raise":
            raise TrainingDivergedError(
                f"The training loss became {value} in epoch {epoch}: training diverged. "
                f"Lower lr (now {net.lr}), check the data for extreme values, or pass "
                "on_divergence='restore' to keep the last finite weights."
            )
        if self._last_good is not None:
            net.module_.load_state_dict(self._last_good)
        # skorch's way to stop the loop (as EarlyStopping does).
        raise KeyboardInterrupt

    def on_epoch_end(self, net, **kwargs) -> None:
        if self.on_divergence == "restore":
            self._snapshot(net)


class ValidationEarlyStopping(Callback):
    """Stop when ``valid_loss`` has not improved for ``patience`` epochs; restore the best weights.

    scikit-learn's rule (``MLPRegressor(early_stopping=True)``): an epoch improves when its
    validation loss is below ``(1 - tol)`` times the best so far; after ``patience`` epochs in a
    row without improvement, training stops. At the end of training (stopped or not) the module
    gets back the weights of the epoch with the lowest validation loss. Those weights are a copy
    in memory (on the training device), never a file.

    Parameters
    ----------
    patience : int, default=10
        Epochs without improvement before stopping (the estimators' ``n_iter_no_change``).
    tol : float, default=1e-4
        Relative improvement that counts.
    """

    def __init__(self, patience: int = 10, tol: float = 1e-4) -> None:
        self.patience = patience
        self.tol = tol

    def initialize(self) -> ValidationEarlyStopping:
        self.best_loss_ = math.inf
        self.best_epoch_: int | None = None
        self._best_state: dict | None = None
        self._misses = 0
        return self

    def on_train_begin(self, net, **kwargs) -> None:
        # A warm-started fit judges its own epochs only.
        self.initialize()

    def on_epoch_end(self, net, **kwargs) -> None:
        loss = float(net.history[-1, "valid_loss"])
        self._misses = 0 if loss < self.best_loss_ * (1 - self.tol) else self._misses + 1
        if loss < self.best_loss_:
            self.best_loss_, self.best_epoch_ = loss, len(net.history)
            self._best_state = {k: v.detach().clone() for k, v in net.module_.state_dict().items()}
        if self._misses >= self.patience:
            raise KeyboardInterrupt  # skorch's way to stop the loop

    def on_train_end(self, net, **kwargs) -> None:
        if self._best_state is not None and self.best_epoch_ != len(net.history):
            net.module_.load_state_dict(self._best_state)
        self._best_state = None  # the fitted net does not carry a second copy of its weights


class EpochProgressBar(Callback):
    """A progress bar over the epochs of a fit: epoch, losses and the estimated time left.

    One bar per fit (``tqdm.auto``: a widget in notebooks, a text bar elsewhere, on stderr),
    updated after every epoch with ``train_loss`` (and ``valid_loss`` when there is a split).

    Parameters
    ----------
    desc : str or None, default=None
        Text before the bar (the estimator's name).
    """

    def __init__(self, desc: str | None = None) -> None:
        self.desc = desc

    def initialize(self) -> EpochProgressBar:
        self.bar_ = None
        return self

    def on_train_begin(self, net, **kwargs) -> None:
        start = len(net.history)
        desc = self.desc if not start else f"{self.desc or 'fit'} (from epoch {start + 1})"
        self.bar_ = tqdm(total=net.max_epochs, desc=desc, unit="epoch", mininterval=0, dynamic_ncols=True)

    def on_epoch_end(self, net, **kwargs) -> None:
        if self.bar_ is None:
            return
        row = net.history[-1]
        losses = {key: f"{row[key]:.4g}" for key in ("train_loss", "valid_loss") if key in row}
        self.bar_.set_postfix(losses, refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs) -> None:
        if self.bar_ is not None:
            self.bar_.close()
            self.bar_ = None

    def __getstate__(self) -> dict:
        # An open bar (a fit that raised) holds a stream: never pickle it.
        return {**self.__dict__, "bar_": None}


class InterruptWatch:
    """Tells a user's Ctrl-C (SIGINT) apart from a callback's stop inside skorch's loop.

    skorch catches ``KeyboardInterrupt`` in ``partial_fit``: a Ctrl-C and a callback stopping
    training (``EarlyStopping`` raises it) look the same afterwards. While active, this installs
    a SIGINT handler that records the interrupt, then raises as Python's default handler does.
    Only the main thread can install signal handlers; elsewhere nothing is recorded.
    """

    def __init__(self) -> None:
        self.interrupted = False

    @contextlib.contextmanager
    def watch(self) -> Iterator[InterruptWatch]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.getsignal(signal.SIGINT)

        def handler(signum, frame):
            self.interrupted = True
            raise KeyboardInterrupt

        signal.signal(signal.SIGINT, handler)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)


#: The name of the estimators' own learning-rate schedule among the net's callbacks.
BUILTIN_SCHEDULE = "lr_schedule"
#: ``lr_schedule="warmup_cosine"``: the share of ``max_epochs`` spent warming up.
WARMUP_FRACTION = 0.05


def warmup_epochs(max_epochs: int) -> int:
    """Epochs of linear warm-up of ``"warmup_cosine"``: 5 % of the fit, rounded half up (none
    below 10 epochs, where the schedule is the cosine)."""
    return int(WARMUP_FRACTION * max_epochs + 0.5)


def warmup_cosine_factor(epoch: int, *, max_epochs: int, warmup: int) -> float:
    """``lr`` times this in ``epoch`` (0-based): ``(epoch + 1) / warmup`` for the first ``warmup``
    epochs (full ``lr`` in the last of them), then a cosine from 1 to 0 over the others."""
    if epoch < warmup:
        return (epoch + 1) / warmup
    rest = max(1, max_epochs - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(epoch - warmup, rest) / rest))


def builtin_schedule(kind: str, max_epochs: int) -> LRScheduler | None:
    """The skorch callback of ``lr_schedule=kind`` for a fit of ``max_epochs`` (None: constant).

    Stepped per epoch. ``last_epoch=-1``: a warm-started fit restarts the schedule from ``lr``
    (skorch would otherwise resume it at the epoch count of the history, past its end).
    """
    if kind == "cosine":
        return LRScheduler(policy="CosineAnnealingLR", T_max=max_epochs, last_epoch=-1)
    if kind == "warmup_cosine":
        factor = functools.partial(
            warmup_cosine_factor, max_epochs=max_epochs, warmup=warmup_epochs(max_epochs)
        )
        return LRScheduler(policy="LambdaLR", lr_lambda=factor, last_epoch=-1)
    return None


def _is_lr_scheduler(callback: object) -> bool:
    return isinstance(callback, LRScheduler) or (
        isinstance(callback, type) and issubclass(callback, LRScheduler)
    )


def has_lr_scheduler(callbacks: list[tuple[str, Callback]]) -> bool:
    """Whether the user's (named) callbacks set the learning rate with a skorch ``LRScheduler``.

    Such a callback replaces the estimator's ``lr_schedule``: two schedules stepping one
    optimizer would compound (a cosine times a step decay), which nobody asks for.
    """
    return any(_is_lr_scheduler(callback) for _, callback in callbacks)


def restart_schedules(callbacks: list[tuple[str, Callback]]) -> None:
    """Make the (copied) user ``LRScheduler`` instances start afresh at each fit, as ``lr_schedule``.

    skorch builds a scheduler at ``last_epoch = len(history) - 1``; a ``warm_start`` fit, whose
    optimizer takes the current ``lr`` (and so has no ``initial_lr``), would then fail in torch.
    ``last_epoch=-1`` starts the schedule from ``lr`` over this fit's epochs, the rule of the
    built-in schedule; a scheduler given its own ``last_epoch`` keeps it. A resumed fit puts the
    schedules back where the interrupted fit stopped (:class:`ContinueSchedule`).
    """
    for _, callback in callbacks:
        if isinstance(callback, LRScheduler) and "last_epoch" not in callback.kwargs:
            policy = callback.policy
            if isinstance(policy, str):
                policy = getattr(torch.optim.lr_scheduler, policy, None)
            if policy is not torch.optim.lr_scheduler.ReduceLROnPlateau:
                callback.last_epoch = -1


def check_callbacks(callbacks: list | None, validation_fraction: float | None) -> list[tuple[str, Callback]]:
    """Named copies of the user's callbacks, refusing what cannot work before training starts.

    Each entry must be a skorch callback (instance or class) or a ``(name, callback)`` tuple; a
    callback that monitors a validation quantity (``monitor="valid_..."``, as skorch's
    ``EarlyStopping`` and ``Checkpoint`` do by default) needs ``validation_fraction``.
    """
    named = []
    for i, entry in enumerate(callbacks or []):
        name, callback = entry if isinstance(entry, tuple) and len(entry) == 2 else (f"user_{i}", entry)
        is_callback = isinstance(callback, Callback) or (
            isinstance(callback, type) and issubclass(callback, Callback)
        )
        if not isinstance(name, str) or not is_callback:
            raise TypeError(
                f"callbacks[{i}] must be a skorch callback (e.g. skorch.callbacks.EarlyStopping()) or a "
                f"(name, callback) tuple, got {entry!r} of type {type(entry).__name__}."
            )
        monitor = getattr(callback, "monitor", None)
        if validation_fraction is None and isinstance(monitor, str) and monitor.startswith("valid_"):
            kind = callback.__name__ if isinstance(callback, type) else type(callback).__name__
            raise ValueError(
                f"callbacks[{i}] ({kind}) monitors {monitor!r}, which needs a validation split: set "
                "validation_fraction (e.g. 0.1), or make the callback monitor a training quantity "
                "(monitor='train_loss', or 'train_loss_best' for a Checkpoint)."
            )
        callback = copy.deepcopy(callback)
        if isinstance(callback, ScoringBase):
            adapt_scoring(callback)
        named.append((name, callback))
    return named


# -- scoring callbacks on gridded data ---------------------------------------------------------------


def _is_sklearn_metric(scorer: object) -> bool:
    """Whether a scorer scores with one of scikit-learn's metrics (which take at most 2-D arrays)."""
    function = getattr(scorer, "_score_func", None)
    return getattr(function, "__module__", "").startswith("sklearn.")


class _Predictions(RegressorMixin, BaseEstimator):
    """What a scorer calls ``predict`` on inside a fit: the net's predictions, in ``y``'s layout.

    Parameters
    ----------
    net : skorch.NeuralNet or None, default=None
        The net being trained.
    kind : {"field", "vector", "scalar"}, default="field"
        What the training ``y`` is.
    has_channels : bool, default=False
        Whether a field ``y`` has a channel axis.
    flatten : bool, default=False
        Flatten the predictions to ``(n_samples, n_values)`` (for scikit-learn's metrics).
    """

    def __init__(self, net=None, kind: str = "field", has_channels: bool = False, flatten: bool = False):
        self.net = net
        self.kind = kind
        self.has_channels = has_channels
        self.flatten = flatten

    def layout(self, values) -> np.ndarray:
        out = to_target_layout(np.asarray(values), self.kind, self.has_channels)
        return out.reshape(len(out), -1) if self.flatten and out.ndim > 1 else out

    def predict(self, X) -> np.ndarray:
        return self.layout(self.net.predict(X))


class GridScoring:
    """The ``scoring`` of a user's ``EpochScoring``/``BatchScoring``, on gridded targets.

    skorch scores the net itself on its own arrays: channels first, ``(n, c, *grid)``, which
    scikit-learn's metrics refuse (``Found array with dim 4``). This scores what ``predict``
    and a search's scorer see instead: predictions and targets in the layout of the training
    ``y``, flattened to ``(n_samples, n_values)`` for scikit-learn's metrics (as the
    estimators' ``score`` flattens them). ``None`` is the estimators' ``score``
    (:func:`~sklearn_amfno.metrics.flat_r2_score`).

    Parameters
    ----------
    scoring : None, str or scorer
        The user's scoring: ``None``, a scorer name of scikit-learn (``"r2"``,
        ``"neg_mean_squared_error"``) or a scorer (``make_scorer``'s, the package's
        ``relative_l2_scorer``, ...).
    """

    def __init__(self, scoring) -> None:
        self.scoring = scoring

    def __call__(self, net, X, y) -> float:
        fit = current_fit(net)
        if fit is not None:
            kind, has_channels = fit.fitted["target_kind_"], fit.fitted["_y_has_channels"]
        else:
            y_array = np.asarray(y)
            kind = "vector" if y_array.ndim <= 2 else "field"
            has_channels = y_array.ndim > 2 and y_array.shape[1] > 1
        if self.scoring is None:
            predictions = _Predictions(net, kind, has_channels)
            return flat_r2_score(predictions.layout(y), predictions.predict(X))
        scorer = get_scorer(self.scoring)
        predictions = _Predictions(net, kind, has_channels, flatten=_is_sklearn_metric(scorer))
        return scorer(predictions, X, predictions.layout(y))


def adapt_scoring(callback: ScoringBase) -> None:
    """Let a (copied) scoring callback score gridded data: wrap its scoring in :class:`GridScoring`.

    ``None``, scorer names and scorers (scikit-learn's metric functions, which skorch turns
    into scorers, too) are wrapped; any other callable, ``scoring(net, X, y)``, keeps receiving
    the net and its channels-first arrays, as skorch documents. The callback keeps the name
    skorch gives the user's scoring (``"r2"``, ``"score"``, ...).
    """
    scoring = convert_sklearn_metric_function(callback.scoring)
    if not (scoring is None or isinstance(scoring, str) or isinstance(scoring, _BaseScorer)):
        return
    if callback.name is None:
        probe = copy.copy(callback)
        probe.scoring_ = scoring
        callback.name = probe._get_name()
    callback.scoring = GridScoring(scoring)


def separate_checkpoint_dirs(callbacks: list[tuple[str, Callback]], owner: str) -> list[str]:
    """Give every file-writing callback of this fit its own subdirectory; return them.

    A callback with a ``dirname`` (skorch's ``Checkpoint``, ``TrainEndCheckpoint``) writes to
    ``<dirname>/<owner>-<pid>-<time>-<n>`` instead of ``<dirname>``: fits running in parallel
    (``GridSearchCV(n_jobs=...)``, cross-validation folds) then never overwrite each other's files.
    """
    dirs = []
    fit_id = f"{owner}-{os.getpid()}-{time.time_ns()}-{next(_FIT_COUNTER)}"
    for _, callback in callbacks:
        # A path-like dirname (pathlib.Path) too: it would otherwise be shared by every fit.
        if isinstance(callback, Callback) and isinstance(
            getattr(callback, "dirname", None), (str, os.PathLike)
        ):
            callback.dirname = os.path.join(os.fspath(callback.dirname), fit_id)
            dirs.append(callback.dirname)
    return dirs


# -- resume and checkpoints ------------------------------------------------------------------------


@dataclass
class FitInProgress:
    """What a callback needs to save the estimator in the middle of its fit.

    ``fitted`` holds the fitted attributes resolved before training (grid, channels, device,
    ...); ``module`` is the one-step model (``net.module_`` may wrap it in ``Rollout``);
    ``start_epoch`` is the length of the history when this fit began (non-zero for a warm start).
    """

    estimator: Any
    fitted: dict
    module: torch.nn.Module
    start_epoch: int
    #: The fit's random number generator (batch shuffling): a checkpoint saves its state.
    generator: torch.Generator | None = None


@contextlib.contextmanager
def training_for(net, state: FitInProgress) -> Iterator[None]:
    """Hand ``state`` to ``net`` while its training loop runs, for its callbacks (:func:`current_fit`).

    The state is the net's (``OperatorNet.fit_in_progress``), so each fit's callbacks see their
    own fit, in threads too; it is taken back when the loop ends, however it ends.
    """
    net.fit_in_progress = state
    try:
        yield
    finally:
        del net.fit_in_progress  # back to the class's None: nothing of the fit stays on the net


def current_fit(net) -> FitInProgress | None:
    """The estimator's fit that ``net`` is training for (``None`` outside a package estimator's fit,
    and for a skorch net the package did not build)."""
    return getattr(net, "fit_in_progress", None)


class ContinueSchedule(Callback):
    """Put the learning-rate schedules at ``position`` epochs into their fit (a resumed fit).

    Runs after skorch's ``LRScheduler`` callbacks (the built-in ``lr_schedule`` or the user's)
    have built their torch schedulers at train begin. The optimizer's parameter groups were
    loaded from the interrupted fit, so they hold the learning rate reached (``lr``) and the
    fit's starting one (``initial_lr``, which torch keeps); a scheduler then only needs its step
    count: ``position`` for one stepped per epoch, the training batches of those epochs for one
    stepped per batch. Cosine annealing and torch's other recursive schedules step from the
    current learning rate, so the resumed fit takes the learning rates of an uninterrupted one.

    Parameters
    ----------
    position : int
        Epochs of the fit already done.
    """

    def __init__(self, position: int = 0) -> None:
        self.position = position

    def on_train_begin(self, net, **kwargs) -> None:
        for _, schedule in net.callbacks_:
            scheduler = getattr(schedule, "lr_scheduler_", None)
            if not isinstance(schedule, LRScheduler) or scheduler is None:
                continue
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                continue  # steps on a monitored value, not on a count
            steps = self.position
            if schedule.step_every == "batch":
                rows = net.history[len(net.history) - self.position :] if self.position else []
                steps = sum(int(row.get("train_batch_count", 0)) for row in rows)
            scheduler.last_epoch = steps
            if isinstance(scheduler, torch.optim.lr_scheduler.LambdaLR):
                # A closed-form schedule (the built-in warm-up): its learning rate is a function
                # of the step count, not of the previous rate, so set it for this position.
                rates = [
                    base * factor(steps) for base, factor in zip(scheduler.base_lrs, scheduler.lr_lambdas)
                ]
                for group, rate in zip(scheduler.optimizer.param_groups, rates):
                    group["lr"] = rate
                scheduler._last_lr = rates  # what get_last_lr() reports (skorch's event_lr)


def schedule_position(callbacks: list[tuple[str, Callback]]) -> int | None:
    """Where :class:`ContinueSchedule` goes among a net's callbacks: after the last scheduler.

    ``None`` when no callback is an ``LRScheduler`` (a constant learning rate).
    """
    at = [i for i, (_, callback) in enumerate(callbacks) if _is_lr_scheduler(callback)]
    return at[-1] + 1 if at else None


# -- several fits on one CUDA device ----------------------------------------------------------------


class SharedDeviceWarning(UserWarning):
    """Several fits train on one CUDA device at the same time.

    They compete for its memory and compute: each runs slower, and together they may run out of
    memory. Give every worker its own GPU (``CUDA_VISIBLE_DEVICES`` per worker, see
    ``docs/scaling_out.md``) or run the search with one job per GPU.
    """


_ACTIVE_FITS: Counter[str] = Counter()
_ACTIVE_FITS_LOCK = threading.Lock()


@contextlib.contextmanager
def device_in_use(device: str, owner: str) -> Iterator[None]:
    """Count this fit on ``device`` while it trains; warn if another fit of this process is there.

    Process-local: it sees fits in threads of this process (joblib's threading backend, a dask
    worker's threads, user threads), not fits in other processes (loky, dask or ray worker
    processes); :func:`sklearn_amfno.parallel.check_shared_device` covers those before a search.
    """
    key = cuda_device_key(device)
    if key is None:
        yield
        return
    with _ACTIVE_FITS_LOCK:
        others = _ACTIVE_FITS[key]
        _ACTIVE_FITS[key] += 1
    if others:
        warnings.warn(
            f"{owner}.fit starts on {key} while {others} other fit(s) of this process train there: "
            "they share its memory and compute. Run one job per GPU (n_jobs equal to the number of "
            "GPUs with one GPU per worker, see docs/scaling_out.md).",
            SharedDeviceWarning,
            stacklevel=4,
        )
    try:
        yield
    finally:
        with _ACTIVE_FITS_LOCK:
            _ACTIVE_FITS[key] -= 1
