"""Callbacks for long fits: save the whole estimator every few epochs, and find the newest file.

A fit killed mid-way (a pre-empted cloud machine, a cluster's time limit) continues from its last
checkpoint with the losses and weights an uninterrupted fit would have had::

    est = sklearn_amfno.load(latest_checkpoint("run"))
    est.fit(X, y, resume=True)

See ``docs/scaling_out.md`` ("Checkpoint and resume").
"""

from __future__ import annotations

import copy
import os
import warnings
from pathlib import Path
from types import SimpleNamespace

import torch
from skorch.callbacks import Callback

from ._distributed import is_main_process
from ._persistence import Saver, fitted_attributes
from ._resources import count_parameters
from ._training import current_fit

__all__ = ["EstimatorCheckpoint", "latest_checkpoint"]


class EstimatorCheckpoint(Callback):
    """Save the estimator being fitted every ``every`` epochs, in the safe format, to resume it.

    The file, written by ``est.save`` (safetensors and JSON, never a pickle), holds what a fit
    needs to go on exactly where it stopped: the weights and scaling statistics, the optimizer's
    state with its current learning rate (so the schedule's position), the history, the torch
    random state of the batch shuffling, and the parameters. :func:`sklearn_amfno.load` reads it
    back as a fitted estimator with ``training_status_ == "in_progress"``, which predicts like
    the model at that epoch; ``fit(X, y, resume=True)`` trains the remaining epochs, so the
    killed and resumed fit equals an uninterrupted one (bit for bit on CPU with the same thread
    count).

    The file is written atomically (beside, then renamed), overwriting the previous checkpoint
    of the same fit, after the last epoch too, and only on rank 0 of a ``torchrun`` process
    group. Like skorch's ``Checkpoint``, it writes into a subdirectory of ``dirname`` per fit
    (``<dirname>/<Estimator>-<pid>-<time>-<n>``, listed in ``checkpoint_dirs_``), so fits of a
    parallel search never overwrite each other; :func:`latest_checkpoint` finds the newest file.

    Parameters
    ----------
    dirname : str or path-like, default="checkpoints"
        Directory under which each fit writes its subdirectory (created when needed).
    every : int, default=1
        Save after every ``every``-th epoch of the fit (and after its last epoch).
    f_estimator : str, default="estimator.safetensors"
        File name inside the fit's subdirectory.

    Attributes
    ----------
    saved_epochs_ : list of int
        Epochs (counted from 1, as in the history) after which this fit saved.

    See Also
    --------
    latest_checkpoint : The newest checkpoint file under a directory.
    sklearn_amfno.load : Read a checkpoint back.

    Notes
    -----
    The saved parameters keep the estimator's ``callbacks`` that have a safe form (skorch's and
    this one); others are left out with a warning: set them again before resuming. Early
    stopping and the progress bar start afresh in a resumed fit (their state is not saved), so
    only fits without ``early_stopping`` resume exactly. A fit trained through unrolled steps
    (``AutoregressiveRegressor(training="rollout")``) saves its one-step model; the file is the
    inner estimator, not the autoregressive wrapper.

    Examples
    --------
    >>> import tempfile
    >>> import sklearn_amfno
    >>> from sklearn_amfno import FNORegressor
    >>> from sklearn_amfno.callbacks import EstimatorCheckpoint, latest_checkpoint
    >>> from sklearn_amfno.datasets import make_burgers
    >>> X, y = make_burgers(n_samples=8, resolution=32, random_state=0)
    >>> run = tempfile.mkdtemp()
    >>> est = FNORegressor(width=8, n_layers=1, n_modes=4, max_epochs=4, random_state=0,
    ...                    callbacks=[EstimatorCheckpoint(run, every=2)]).fit(X, y)
    >>> partial = sklearn_amfno.load(latest_checkpoint(run))
    >>> partial.n_epochs_, partial.training_status_
    (4, 'completed')
    """

    def __init__(
        self,
        dirname: str | os.PathLike = "checkpoints",
        every: int = 1,
        f_estimator: str = "estimator.safetensors",
    ) -> None:
        self.dirname = dirname
        self.every = every
        self.f_estimator = f_estimator

    def initialize(self) -> EstimatorCheckpoint:
        if isinstance(self.dirname, os.PathLike):
            # A str, so that the per-fit subdirectory is given (separate_checkpoint_dirs).
            self.dirname = os.fspath(self.dirname)
        if not isinstance(self.dirname, str):
            raise TypeError(f"dirname must be a str or path-like, got {type(self.dirname).__name__}.")
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise ValueError(f"every must be an int >= 1 (epochs between saves), got {self.every!r}.")
        if not isinstance(self.f_estimator, str) or not self.f_estimator or os.sep in self.f_estimator:
            raise ValueError(f"f_estimator must be a plain file name, got {self.f_estimator!r}.")
        self.saved_epochs_: list[int] = []
        self._warned = False
        return self

    @property
    def path(self) -> str:
        """The file this fit writes."""
        return os.path.join(os.fspath(self.dirname), self.f_estimator)

    def on_train_begin(self, net, **kwargs) -> None:
        """Refuse a net trained outside a sklearn_amfno estimator's ``fit`` (skorch hook).

        Parameters
        ----------
        net : skorch.NeuralNet
            The net about to train.
        **kwargs : dict
            skorch's further hook arguments (``X``, ``y``), unused.
        """
        if current_fit(net) is None:
            raise TypeError(
                "EstimatorCheckpoint saves a sklearn_amfno estimator: pass it in an estimator's "
                "callbacks, not to a skorch net directly (use skorch.callbacks.Checkpoint there)."
            )

    def on_epoch_end(self, net, **kwargs) -> None:
        """Save the estimator every ``every`` epochs and at the fit's ``max_epochs`` (skorch hook).

        Parameters
        ----------
        net : skorch.NeuralNet
            The training net; ``net.history`` counts the epochs.
        **kwargs : dict
            skorch's further hook arguments (the datasets), unused.
        """
        fit = current_fit(net)
        if fit is None:
            return
        done = len(net.history) - fit.start_epoch
        last = done >= fit.estimator.max_epochs
        if done % self.every and not last:
            return
        self.saved_epochs_.append(len(net.history))
        if is_main_process():  # the others skip building the snapshot, too
            os.makedirs(os.fspath(self.dirname), exist_ok=True)
            self._snapshot(net, fit, "completed" if last else "in_progress").save(self.path)

    def _snapshot(self, net, fit, status: str):
        """The estimator as if its fit ended now: its parameters, the fitted attributes, ``net``."""
        owner = fit.estimator
        snapshot = copy.copy(owner)
        for name in fitted_attributes(owner):
            delattr(snapshot, name)  # a warm start's previous state
        kept, dropped = [], []
        for entry in owner.callbacks or []:
            callback = entry[1] if isinstance(entry, tuple) else entry
            if isinstance(callback, EstimatorCheckpoint) or callback is EstimatorCheckpoint:
                continue  # the resuming script passes its own (see docs/scaling_out.md)
            try:
                Saver().encode(entry, "callback")
            except TypeError:
                dropped.append(
                    type(callback).__name__ if not isinstance(callback, type) else callback.__name__
                )
            else:
                kept.append(entry)
        if dropped and not self._warned:
            warnings.warn(
                f"EstimatorCheckpoint leaves the callbacks {dropped} out of the saved parameters "
                "(they have no safe form): set them again (set_params(callbacks=...)) before "
                "resuming.",
                UserWarning,
                stacklevel=2,
            )
            self._warned = True
        snapshot.callbacks = kept or None
        state = {
            **fit.fitted,
            # The fit's shuffling stream, where this epoch left it (the global one for fits
            # that predate the fit's own generator).
            "_rng_state": torch.get_rng_state() if fit.generator is None else fit.generator.get_state(),
            "_fit_start_epoch": fit.start_epoch,
            "n_parameters_": count_parameters(fit.module),
            "n_epochs_": len(net.history),
            "best_epoch_": None,
            "training_status_": status,
        }
        for name, value in state.items():
            setattr(snapshot, name, value)
        # What saving reads of a net; the one-step model, as net.module_ may be a Rollout of it.
        snapshot.net_ = SimpleNamespace(module_=fit.module, optimizer_=net.optimizer_, history=net.history)
        return snapshot


def latest_checkpoint(dirname: str | os.PathLike, f_estimator: str = "estimator.safetensors") -> str | None:
    """The most recently written checkpoint file under ``dirname``, or None if there is none.

    Looks at ``dirname/<fit>/f_estimator`` (the per-fit subdirectories of
    :class:`EstimatorCheckpoint`) and ``dirname/f_estimator``.

    Parameters
    ----------
    dirname : str or path-like
        The ``dirname`` given to :class:`EstimatorCheckpoint`.
    f_estimator : str, default="estimator.safetensors"
        The file name given to :class:`EstimatorCheckpoint`.

    Returns
    -------
    path : str or None
        The file with the latest modification time.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn_amfno.callbacks import latest_checkpoint
    >>> latest_checkpoint(tempfile.mkdtemp()) is None
    True
    """
    if not isinstance(dirname, (str, os.PathLike)):
        raise TypeError(f"dirname must be a str or path-like, got {type(dirname).__name__}.")
    root = Path(dirname)
    candidates = [p for p in [root / f_estimator, *root.glob(f"*/{f_estimator}")] if p.is_file()]
    if not candidates:
        return None
    return str(max(candidates, key=lambda p: (p.stat().st_mtime_ns, str(p))))
