"""Searches on joblib backends (dask, loky, threading): results, per-fit checkpoint directories,
and the warning when several fits would share one CUDA device (device resolution mocked)."""

import os
import threading
import warnings

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold
from skorch.callbacks import Callback, Checkpoint

import sklearn_amfno.parallel as parallel
from sklearn_amfno import FNORegressor, _training
from sklearn_amfno.callbacks import EstimatorCheckpoint
from sklearn_amfno.datasets import make_burgers
from sklearn_amfno.parallel import SharedDeviceWarning, check_shared_device

GRID = {"width": [4, 8]}
PARAMS = dict(n_layers=1, n_modes=4, max_epochs=2, batch_size=8, random_state=0)


@pytest.fixture(scope="module")
def data():
    return make_burgers(n_samples=16, resolution=16, random_state=0)


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    # Worker processes: fits in threads of one process share torch's global random generator,
    # so their batch shuffling interleaves and the search is not repeatable (docs/scaling_out.md).
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _search(tmp_path, n_jobs=2):
    callbacks = [
        Checkpoint(dirname=str(tmp_path / "skorch"), monitor="train_loss_best"),
        EstimatorCheckpoint(tmp_path / "estimators"),
    ]
    est = FNORegressor(**PARAMS, callbacks=callbacks)
    return GridSearchCV(est, GRID, cv=KFold(2), n_jobs=n_jobs)


def _check_one_directory_per_fit(tmp_path, search):
    n_fits = len(search.cv_results_["params"]) * 2 + 1  # candidates x folds + refit
    for name, expected_file in [("skorch", "params.pt"), ("estimators", "estimator.safetensors")]:
        dirs = sorted(os.listdir(tmp_path / name))
        assert len(dirs) == n_fits, dirs
        assert all(os.path.isfile(tmp_path / name / d / expected_file) for d in dirs)
    assert search.best_estimator_.checkpoint_dirs_[0].startswith(str(tmp_path / "skorch"))


@pytest.mark.slow
def test_search_on_a_dask_cluster_equals_the_loky_search(tmp_path, data, dask_client):
    X, y = data
    with joblib.parallel_backend("loky"):
        on_loky = _search(tmp_path / "loky", n_jobs=2).fit(X, y)
    with joblib.parallel_backend("dask"):
        on_dask = _search(tmp_path / "dask", n_jobs=-1).fit(X, y)
    np.testing.assert_array_equal(
        on_dask.cv_results_["mean_test_score"], on_loky.cv_results_["mean_test_score"]
    )
    assert on_dask.best_params_ == on_loky.best_params_
    _check_one_directory_per_fit(tmp_path / "dask", on_dask)


@pytest.mark.slow
def test_search_on_loky_processes_writes_one_checkpoint_directory_per_fit(tmp_path, data):
    X, y = data
    with joblib.parallel_backend("loky"):
        search = _search(tmp_path, n_jobs=2).fit(X, y)
    _check_one_directory_per_fit(tmp_path, search)


@pytest.fixture
def cuda_everywhere(monkeypatch):
    """Every device resolves to CUDA device 0 for the checks (training still runs on the CPU)."""
    monkeypatch.setattr(parallel, "resolve_device", lambda device: "cuda:0")
    monkeypatch.setattr(_training, "cuda_device_key", lambda device: "cuda:0")


def test_check_shared_device_warns_for_several_local_jobs_on_cuda(cuda_everywhere):
    search = GridSearchCV(FNORegressor(), GRID, n_jobs=2)
    with pytest.warns(SharedDeviceWarning, match=r"2 fits would train at once on \['cuda:0'\]"):
        assert check_shared_device(search) == 2
    with joblib.parallel_backend("threading", n_jobs=3), pytest.warns(SharedDeviceWarning, match="Threading"):
        assert check_shared_device(FNORegressor()) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_shared_device(search, n_jobs=1) == 1


def test_check_shared_device_counts_the_threads_of_one_dask_worker(cuda_everywhere, dask_client):
    with joblib.parallel_backend("dask"), warnings.catch_warnings():
        # One thread per worker: a worker per GPU shares nothing.
        warnings.simplefilter("error")
        assert check_shared_device(FNORegressor(), n_jobs=-1) == 1


def test_check_shared_device_is_silent_on_the_cpu():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_shared_device(GridSearchCV(FNORegressor(device="cpu"), GRID, n_jobs=4)) == 0
    with pytest.raises(TypeError, match="scikit-learn estimator"):
        check_shared_device("FNORegressor")


class _Meet(Callback):
    """Holds each fit at its first epoch until the other has started: the fits overlap."""

    def __init__(self, barrier):
        self.barrier = barrier

    def on_train_begin(self, net, **kwargs):
        self.barrier.wait(timeout=30)

    def __deepcopy__(self, memo):
        return self  # a barrier cannot be copied; both fits must share it


@pytest.mark.slow
def test_fit_warns_when_another_fit_of_its_process_trains_on_the_same_cuda_device(cuda_everywhere, data):
    X, y = data
    barrier = threading.Barrier(2)
    est = FNORegressor(**PARAMS, callbacks=[_Meet(barrier)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with joblib.parallel_backend("threading", n_jobs=2):
            joblib.Parallel()(joblib.delayed(est.__class__(**est.get_params()).fit)(X, y) for _ in range(2))
    shared = [w for w in caught if issubclass(w.category, SharedDeviceWarning)]
    assert len(shared) == 1 and "1 other fit(s) of this process train there" in str(shared[0].message)
    # Fits one after the other share nothing.
    with warnings.catch_warnings():
        warnings.simplefilter("error", SharedDeviceWarning)
        FNORegressor(**PARAMS).fit(X, y)
        FNORegressor(**PARAMS).fit(X, y)
