"""Parallel searches and CUDA devices: warn before several jobs share one GPU.

A ``GridSearchCV(n_jobs=...)`` of estimators on ``device="cuda"`` runs every job on the same GPU
unless each worker sees its own (``CUDA_VISIBLE_DEVICES`` per worker): the jobs compete for its
memory and compute. Two checks say so:

- :func:`check_shared_device`, called before a search, reads joblib's active backend (the one a
  ``with joblib.parallel_config(...)`` or ``parallel_backend(...)`` block sets) and the number
  of jobs it would run at once in one process or on one machine;
- every ``fit`` counts the fits training on each CUDA device in its process, and warns
  (:class:`SharedDeviceWarning`) when it starts beside another one (threads: joblib's
  ``threading`` backend, the threads of a dask worker).

See ``docs/scaling_out.md`` ("One GPU per worker") for what each check cannot see.
"""

from __future__ import annotations

import warnings

from joblib.parallel import get_active_backend
from sklearn.base import BaseEstimator

from ._resources import cuda_device_key, resolve_device
from ._training import SharedDeviceWarning

__all__ = ["SharedDeviceWarning", "check_shared_device"]

# Backends whose workers are processes or threads of this machine, all seeing the same GPUs.
_LOCAL_BACKENDS = ("LokyBackend", "MultiprocessingBackend", "ThreadingBackend", "SequentialBackend")


def _cuda_devices(estimator: BaseEstimator) -> set[str]:
    """The CUDA devices the estimator (and any estimator inside it) resolves to."""
    params = estimator.get_params(deep=True)
    devices = set()
    for name, value in params.items():
        if (name == "device" or name.endswith("__device")) and isinstance(value, str):
            try:
                key = cuda_device_key(resolve_device(value))
            except ValueError:
                continue  # refused by fit itself, with the valid choices
            if key is not None:
                devices.add(key)
    return devices


def _jobs_per_process_group(n_jobs: int | None) -> tuple[int, str]:
    """Jobs that joblib's active backend runs at once on one set of GPUs, and the backend's name.

    Local backends (loky, multiprocessing, threading): their effective ``n_jobs``, all on this
    machine. dask: the most threads of one worker (a worker's threads share its GPU); workers
    are taken to have a GPU each, as the recipe in ``docs/scaling_out.md`` sets up. Others (ray,
    custom): the threads of one worker cannot be read, so 1.
    """
    backend, default_n_jobs = get_active_backend()
    name = type(backend).__name__
    n_jobs = default_n_jobs if n_jobs is None else n_jobs
    if name in _LOCAL_BACKENDS:
        return max(int(backend.effective_n_jobs(n_jobs)), 1), name
    client = getattr(backend, "client", None)
    if name == "DaskDistributedBackend" and client is not None:
        workers = client.scheduler_info().get("workers", {})
        threads = [int(w.get("nthreads", 1)) for w in workers.values()]
        return max(threads, default=1), name
    return 1, name


def check_shared_device(estimator: BaseEstimator, n_jobs: int | None = None) -> int:
    """Warn when a parallel search would run several fits at once on one CUDA device.

    Call it where the search runs (inside the same ``parallel_config``/``parallel_backend``
    block). The warning comes when the estimator (or one inside a Pipeline or search) resolves
    its ``device`` to CUDA and joblib's active backend would run more than one job at a time on
    one set of GPUs: ``n_jobs`` jobs for loky, multiprocessing and threading (all on this
    machine), a worker's threads for dask. With one GPU per worker and one thread per worker,
    nothing is said.

    Parameters
    ----------
    estimator : estimator
        The search (``GridSearchCV``, ...) or the estimator it fits. A search's own ``n_jobs``
        is used when ``n_jobs`` is None.
    n_jobs : int or None, default=None
        The search's ``n_jobs``; None: the search's, else the active backend's default.

    Returns
    -------
    n_concurrent : int
        Fits that would share one CUDA device (0 when the estimator does not train on CUDA).

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn_amfno import FNORegressor
    >>> from sklearn_amfno.parallel import check_shared_device
    >>> search = GridSearchCV(FNORegressor(device="cpu"), {"width": [8, 16]}, n_jobs=2)
    >>> check_shared_device(search)  # on the CPU: nothing to share
    0
    """
    if not isinstance(estimator, BaseEstimator):
        raise TypeError(f"estimator must be a scikit-learn estimator, got {type(estimator).__name__}.")
    if n_jobs is None:
        n_jobs = getattr(estimator, "n_jobs", None)
    devices = _cuda_devices(estimator)
    if not devices:
        return 0
    n_concurrent, backend = _jobs_per_process_group(n_jobs)
    if n_concurrent > 1:
        warnings.warn(
            f"{n_concurrent} fits would train at once on {sorted(devices)} (joblib backend "
            f"{backend}): they share the GPU's memory and compute. Give each worker its own GPU "
            "(CUDA_VISIBLE_DEVICES per worker) with one job per worker, or lower n_jobs to the "
            "number of GPUs (docs/scaling_out.md).",
            SharedDeviceWarning,
            stacklevel=2,
        )
    return n_concurrent
