"""Guards and controls around the skorch training loop: divergence, interrupts, callbacks,
early stopping and the progress bar.

Everything here exists so that a fault during ``fit`` is never silent: a non-finite loss stops
the fit (or rolls back, on request), a Ctrl-C is told apart from a callback's stop, a callback
that cannot work is refused before training starts, and checkpoint files of parallel fits never
collide. Early stopping keeps its best weights in memory, never in files, so that fits running
in parallel share nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
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

import torch
from skorch.callbacks import Callback
from tqdm.auto import tqdm

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
        named.append((name, copy.deepcopy(callback)))
    return named


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


# Per thread (a new thread starts with an empty context): the fit running in this thread, if any.
_FIT_IN_PROGRESS: contextvars.ContextVar[FitInProgress | None] = contextvars.ContextVar(
    "sklearn_amfno_fit_in_progress", default=None
)


@contextlib.contextmanager
def fit_in_progress(state: FitInProgress) -> Iterator[None]:
    """Make ``state`` visible to callbacks (:func:`current_fit`) while the training loop runs."""
    token = _FIT_IN_PROGRESS.set(state)
    try:
        yield
    finally:
        _FIT_IN_PROGRESS.reset(token)


def current_fit() -> FitInProgress | None:
    """The estimator fit running in this thread (``None`` outside a package estimator's fit)."""
    return _FIT_IN_PROGRESS.get()


class ContinueSchedule(Callback):
    """Put the learning-rate schedule at ``position`` epochs into its fit (a resumed fit).

    Runs after skorch's ``LRScheduler`` has built the torch scheduler at train begin. The
    optimizer's parameter groups were loaded from the interrupted fit, so they hold the learning
    rate reached (``lr``) and the fit's starting one (``initial_lr``, which torch keeps); the
    scheduler then only needs its epoch count. Cosine annealing steps recursively from the
    current learning rate, so the resumed fit takes exactly the learning rates of an
    uninterrupted one.

    Parameters
    ----------
    position : int
        Epochs of the fit already done.
    """

    def __init__(self, position: int = 0) -> None:
        self.position = position

    def on_train_begin(self, net, **kwargs) -> None:
        schedule = dict(net.callbacks_).get("lr_schedule")
        if schedule is not None and schedule.lr_scheduler_ is not None:
            schedule.lr_scheduler_.last_epoch = self.position


# -- several fits on one CUDA device ----------------------------------------------------------------


class SharedDeviceWarning(UserWarning):
    """Several fits train on one CUDA device at the same time.

    They compete for its memory and compute: each runs slower, and together they may run out of
    memory. Give every worker its own GPU (``CUDA_VISIBLE_DEVICES`` per worker, see
    ``docs/scaling_out.md``) or run the search with one job per GPU.
    """


_ACTIVE_FITS: Counter[str] = Counter()
_ACTIVE_FITS_LOCK = threading.Lock()


def _device_key(device: str) -> str | None:
    """``"cuda:<i>"`` for a CUDA device (an unnumbered ``"cuda"`` is the current one), else None."""
    parsed = torch.device(device)
    if parsed.type != "cuda":
        return None
    index = parsed.index
    if index is None:
        index = torch.cuda.current_device() if torch.cuda.is_available() else 0
    return f"cuda:{index}"


@contextlib.contextmanager
def device_in_use(device: str, owner: str) -> Iterator[None]:
    """Count this fit on ``device`` while it trains; warn if another fit of this process is there.

    Process-local: it sees fits in threads of this process (joblib's threading backend, a dask
    worker's threads, user threads), not fits in other processes (loky, dask or ray worker
    processes); :func:`sklearn_amfno.parallel.check_shared_device` covers those before a search.
    """
    key = _device_key(device)
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
