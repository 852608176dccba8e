"""One fit: a row's estimator with the shared budget, fitted on a problem and scored on its test set."""

from __future__ import annotations

import math
import statistics
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from .presets import ROWS
from .problems import Problem


@dataclass
class Budget:
    """What every model of a table shares."""

    epochs: int
    #: None: each estimator's own default.
    batch_size: int | None
    width: int | None
    device: str
    fail: frozenset = field(default_factory=frozenset)


def make_estimator(label: str, budget: Budget, seed: int, rows: dict | None = None, **overrides):
    """The estimator of row ``label`` with the shared budget. ``--inject-failure`` rows get
    ``width=0``, which the estimator refuses at fit (the failure path, for tests)."""
    import sklearn_amfno

    cls_name, params = (ROWS if rows is None else rows)[label]
    # A row names an estimator of the package, or holds a class (benchmark-only estimators).
    cls = getattr(sklearn_amfno, cls_name) if isinstance(cls_name, str) else cls_name
    params = {**params, **overrides}
    common = {"max_epochs": budget.epochs, "random_state": seed, "device": budget.device}
    if budget.batch_size is not None:
        common["batch_size"] = budget.batch_size
    if budget.width is not None:
        common["width"] = budget.width
    if label in budget.fail:
        common["width"] = 0
    return cls(**params, **common)


def epoch_seconds(history) -> float:
    """Median epoch duration after the first (the first pays for warm-up); the first if alone."""
    durations = [row["dur"] for row in history]
    return statistics.median(durations[1:] if len(durations) > 1 else durations)


def fit_eval(
    problem: Problem,
    label: str,
    budget: Budget,
    seed: int,
    spectral: bool = False,
    rows: dict | None = None,
    input_scaler=None,
    **overrides,
):
    """Fit row ``label`` on ``problem``; the errors on the test set (and the fine one, if any).

    ``input_scaler``: a transformer put in front of the estimator (a clone of it, in a pipeline),
    e.g. ``GridStandardScaler(channel_axis=-1, per_point=True)`` for the mesh problems.

    Returns a dict: ``error``, ``error_fine``, ``bands`` (with ``spectral``), ``fit_s``,
    ``epoch_s``, ``n_parameters``; or ``failed`` (the exception's class name) and ``message``.
    """
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline

    from sklearn_amfno import AutoregressiveRegressor
    from sklearn_amfno.metrics import relative_l2_error, rollout_error, spectral_error

    out: dict = {"label": label, "problem": problem.key, "seed": seed, **{k: v for k, v in overrides.items()}}
    try:
        est = make_estimator(label, budget, seed, rows, **{**problem.estimator_params, **overrides})
        if problem.n_fields is not None:
            est = AutoregressiveRegressor(est, n_fields=problem.n_fields)
        if input_scaler is not None:
            est = make_pipeline(clone(input_scaler), est)

        def error(y_true, X):
            pred = est.predict(X)
            if problem.n_fields is not None:
                return float(np.mean(rollout_error(y_true, pred, n_fields=problem.n_fields))), pred
            return float(relative_l2_error(y_true, pred)), pred

        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            est.fit(problem.X_train, problem.y_train)
        out["fit_s"] = time.perf_counter() - t0
        inner = est[-1] if input_scaler is not None else est
        inner = inner.estimator_ if problem.n_fields is not None else inner
        out["n_parameters"] = int(inner.n_parameters_)
        out["epoch_s"] = epoch_seconds(inner.net_.history)
        out["n_epochs"] = len(inner.net_.history)
        out["epochs_s"] = float(sum(row["dur"] for row in inner.net_.history))
        out["error"], pred = error(problem.y_test, problem.X_test)
        if spectral:
            out["bands"] = spectral_error(problem.y_test, pred, relative=True)
        if problem.X_fine is not None:
            out["error_fine"], _ = error(problem.y_fine, problem.X_fine)
        if not math.isfinite(out["error"]):
            raise FloatingPointError(f"non-finite test error {out['error']}")
    except Exception as exc:  # a failed fit is a result, never the end of the run
        out = {k: v for k, v in out.items() if k in ("label", "problem", "seed", *overrides)}
        out["failed"] = type(exc).__name__
        out["message"] = str(exc).splitlines()[0][:300] if str(exc) else ""
        print(
            f"  {label} on {problem.key} (seed {seed}) failed: {out['failed']}: {out['message']}", flush=True
        )
    return out
