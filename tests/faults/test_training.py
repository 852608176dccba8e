"""Faults during training and state: nothing lost, nothing silent.

One test per failure mode of the issue "Nothing lost, nothing silent"; each failed on the code
before the fix (silently wrong result, a torch error from deep inside, or a collision).
"""

from __future__ import annotations

import signal
import threading
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback, Checkpoint, EarlyStopping

from sklearn_amfno import (
    AMFNORegressor,
    FNORegressor,
    LSMRegressor,
    OFormerRegressor,
    TrainingDivergedError,
)

TINY = dict(n_modes=4, width=4, n_layers=1, batch_size=4, random_state=0)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 16))
    return X, np.roll(X, 2, axis=1)


def _fitted_state(est):
    return {k: v for k, v in vars(est).items() if k.endswith("_")}


# -- divergence -----------------------------------------------------------------------------------


def test_a_diverging_fit_raises_instead_of_returning_nan_predictions(data):
    X, y = data
    with pytest.raises(TrainingDivergedError, match="training diverged. Lower lr") as info:
        FNORegressor(**TINY, max_epochs=5, lr=1e12, optimizer="sgd").fit(X, y)
    # A ValueError too: the values given make training blow up.
    assert isinstance(info.value, ValueError) and isinstance(info.value, FloatingPointError)


def test_values_without_float32_headroom_are_refused(data):
    X, y = data
    with pytest.raises(ValueError, match=r"X has values up to [0-9.]+e\+38 .* keep \|X\| <= 1e\+30"):
        FNORegressor(**TINY, max_epochs=1).fit(X * 1e38, y)


def test_a_diverging_refit_leaves_the_fitted_estimator_as_it_was(data):
    X, y = data
    est = FNORegressor(**TINY, max_epochs=2).fit(X, y)
    before, state = est.predict(X), _fitted_state(est)
    est.set_params(lr=1e12, optimizer="sgd")
    with pytest.raises(TrainingDivergedError):
        est.fit(X, y)
    assert _fitted_state(est) == state
    np.testing.assert_array_equal(est.predict(X), before)


def test_on_divergence_restore_keeps_the_last_finite_weights_and_warns(data):
    X, y = data

    class BlowUpInEpoch3(Callback):
        # A finite run until epoch 3, then an infinite learning rate: the loss turns NaN.
        def on_epoch_begin(self, net, **kwargs):
            if len(net.history) == 3:
                for group in net.optimizer_.param_groups:
                    group["lr"] = float("inf")

    est = FNORegressor(**TINY, max_epochs=6, lr_schedule="constant", on_divergence="restore")
    est.set_params(callbacks=[BlowUpInEpoch3()])
    with pytest.warns(RuntimeWarning, match="non-finite in epoch 3"):
        est.fit(X, y)
    assert est.training_status_ == "diverged" and est.n_epochs_ == 3
    assert all(torch.isfinite(p).all() for p in est.module_.parameters())
    assert np.isfinite(est.predict(X)).all()


def test_non_finite_predictions_are_refused_not_returned(data):
    X, y = data
    est = FNORegressor(**TINY, max_epochs=1).fit(X, y)
    with torch.no_grad():
        next(est.module_.head.parameters()).fill_(float("nan"))
    with pytest.raises(ValueError, match="12 of 12 predictions are NaN or infinite"):
        est.predict(X)


# -- atomic fits ------------------------------------------------------------------------------------


def test_a_refit_that_raises_in_training_changes_nothing(data):
    X, y = data
    est = FNORegressor(**TINY, max_epochs=1).fit(X, y)
    before, state = est.predict(X), _fitted_state(est)

    class Explode(Callback):
        def on_epoch_end(self, net, **kwargs):
            raise RuntimeError("boom")

    est.set_params(callbacks=[Explode()], width=6)
    with pytest.raises(RuntimeError, match="boom"):
        est.fit(X[:, :8], y[:, :8])
    assert _fitted_state(est) == state and est.n_parameters_ == state["n_parameters_"]
    np.testing.assert_array_equal(est.predict(X), before)


# -- interrupts -------------------------------------------------------------------------------------


class CtrlCAtEpoch(Callback):
    """Sends this process a real SIGINT, as a user's Ctrl-C does."""

    def __init__(self, epoch=2):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            signal.raise_signal(signal.SIGINT)


needs_main_thread = pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="signals reach the main thread only"
)


@needs_main_thread
def test_ctrl_c_stops_the_fit_keeps_the_weights_reached_and_says_so(data):
    X, y = data
    before = signal.getsignal(signal.SIGINT)
    est = FNORegressor(**TINY, max_epochs=50, callbacks=[CtrlCAtEpoch(2)])
    with pytest.raises(KeyboardInterrupt, match="interrupted after 2 of 50 epochs"):
        est.fit(X, y)
    assert est.training_status_ == "interrupted" and est.n_epochs_ == 2
    assert np.isfinite(est.predict(X)).all()
    # The handler is gone after the fit: the one before it is back (Python's default in a
    # terminal; SIG_IGN in a process started in the background, as a shell's `cmd &` does).
    assert signal.getsignal(signal.SIGINT) is before


@needs_main_thread
def test_ctrl_c_propagates_out_of_a_search_instead_of_being_scored(data):
    X, y = data
    search = GridSearchCV(
        FNORegressor(**TINY, max_epochs=20, callbacks=[CtrlCAtEpoch(1)]), {"width": [4, 6]}, cv=2, n_jobs=1
    )
    with pytest.raises(KeyboardInterrupt):
        search.fit(X, y)
    assert not hasattr(search, "cv_results_")


def test_early_stopping_is_a_stop_not_an_interrupt(data):
    X, y = data
    stop = EarlyStopping(monitor="train_loss", patience=1, threshold=10.0)
    est = FNORegressor(**TINY, max_epochs=50, callbacks=[stop]).fit(X, y)
    assert est.training_status_ == "stopped" and est.n_epochs_ < 50
    assert FNORegressor(**TINY, max_epochs=2).fit(X, y).training_status_ == "completed"


# -- parallel safety --------------------------------------------------------------------------------


@pytest.mark.slow
def test_checkpoints_of_parallel_search_fits_never_collide(data, tmp_path):
    X, y = data
    cp = Checkpoint(dirname=str(tmp_path), monitor="train_loss_best")
    search = GridSearchCV(
        FNORegressor(**TINY, max_epochs=2, callbacks=[cp]), {"width": [4, 6]}, cv=2, n_jobs=2
    ).fit(X, y)
    dirs = sorted(p for p in tmp_path.iterdir() if p.is_dir())
    # 2 candidates x 2 folds + the refit: five fits, five directories, each with its own files.
    assert len(dirs) == 5
    assert all((d / "params.pt").exists() for d in dirs)
    assert not (tmp_path / "params.pt").exists()
    assert search.best_estimator_.checkpoint_dirs_[0].startswith(str(tmp_path))


# -- dtype ------------------------------------------------------------------------------------------


def test_fit_and_predict_work_whatever_torch_default_dtype(data):
    X, y = data
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        est = AMFNORegressor(width=4, n_layers=1, max_epochs=1, random_state=0).fit(X, y)
        pred = est.predict(X)
        assert torch.get_default_dtype() == torch.float64
    finally:
        torch.set_default_dtype(previous)
    assert pred.shape == y.shape and np.isfinite(pred).all()


# -- errors in the user's words ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "device", ["banana", "cuda:7" if not torch.cuda.is_available() else "cuda:99", "tpu"]
)
def test_a_bad_device_is_refused_at_fit_start_with_the_valid_choices(data, device):
    X, y = data
    with pytest.raises(ValueError, match=r"device=.*valid choices here: \['auto', 'cpu'"):
        FNORegressor(**TINY, device=device).fit(X, y)


@pytest.mark.parametrize("bad", [print, "EarlyStopping", ("name", 3), 3])
def test_a_callback_that_is_not_a_callback_is_refused(data, bad):
    X, y = data
    with pytest.raises(TypeError, match=r"callbacks\[0\] must be a skorch callback"):
        FNORegressor(**TINY, callbacks=[bad]).fit(X, y)


@pytest.mark.parametrize("callback", [EarlyStopping(), Checkpoint(dirname="unused")])
def test_a_callback_needing_a_validation_split_says_so_before_training(data, callback):
    X, y = data
    with pytest.raises(ValueError, match="needs a validation split: set validation_fraction"):
        FNORegressor(**TINY, callbacks=[callback]).fit(X, y)


def test_score_with_mismatched_lengths_is_refused(data):
    X, y = data
    est = FNORegressor(**TINY, max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.score(X, y[:6])
    with pytest.raises(ValueError, match=r"y has shape \(12, 8\), but the predictions"):
        est.score(X, y[:, :8])


def test_shapes_in_messages_are_the_ones_the_user_passed():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"got shape \(2, 4, 4, 4, 4\)"):
        FNORegressor(max_epochs=1).fit(
            rng.standard_normal((2, 4, 4, 4, 4)), rng.standard_normal((2, 4, 4, 4, 4))
        )
    est = FNORegressor(**TINY, max_epochs=1).fit(
        rng.standard_normal((4, 8, 8)), rng.standard_normal((4, 8, 8))
    )
    with pytest.raises(ValueError, match=r"X of shape \(3, 16\) has 1 grid axes"):
        est.predict(rng.standard_normal((3, 16)))


@pytest.mark.parametrize(
    "estimator, name",
    [
        (AMFNORegressor(width=100_000), "width"),
        (AMFNORegressor(n_basis=1_000_000), "n_basis"),
        (AMFNORegressor(n_layers=10**7), "n_layers"),
        (OFormerRegressor(n_heads=100_000), "n_heads"),
        (LSMRegressor(n_layers=10**6), "n_layers"),
    ],
)
def test_a_model_too_large_for_memory_fails_fast_naming_the_parameter(estimator, name):
    # The estimate is made on PyTorch's meta device: nothing is allocated, nothing trains.
    X = np.random.default_rng(0).standard_normal((4, 32, 32))
    with pytest.raises(ValueError, match=rf"needs at least .* GiB.*largest contributor is {name}="):
        estimator.set_params(max_epochs=1).fit(X, X)


# -- global random state ----------------------------------------------------------------------------


def test_predict_and_score_leave_every_global_random_state_untouched(data):
    X, y = data
    est = FNORegressor(**TINY, max_epochs=1).fit(X, y)
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()  # noqa: NPY002
    est.predict(X)
    est.score(X, y)
    assert torch.equal(torch.get_rng_state(), torch_state)
    after = np.random.get_state()  # noqa: NPY002  (the legacy global state is what is checked)
    assert after[0] == numpy_state[0] and np.array_equal(after[1], numpy_state[1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.predict(X)


def test_a_fit_that_does_not_learn_warns_instead_of_passing_in_silence(data):
    # lr so small that nothing moves: the training loss stays near 1, a constant prediction's.
    X, y = data
    with pytest.warns(ConvergenceWarning, match="has not learned the map"):
        est = FNORegressor(lr=1e-12, max_epochs=5, width=4, n_layers=1, random_state=0).fit(X, y)
    assert est.net_.history[-1]["train_loss"] >= 0.9
    assert est.training_status_ == "completed"  # a warning, not a failure: the fit is usable


@pytest.mark.parametrize("params", [dict(max_epochs=15), dict(lr=1e-12, max_epochs=4)])
def test_a_fit_that_learns_or_is_too_short_to_judge_does_not_warn(data, params):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = FNORegressor(**{**TINY, "n_modes": 8, **params}).fit(X, y)
    if params.get("lr") is None:
        assert est.net_.history[-1]["train_loss"] < 0.9
