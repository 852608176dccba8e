"""Checkpoint and resume: a fit killed for real (SIGKILL) and resumed equals an uninterrupted one."""

import os
import signal
import subprocess
import sys
import textwrap
from contextlib import contextmanager

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback, LRScheduler

import sklearn_amfno
from sklearn_amfno import FNORegressor
from sklearn_amfno.callbacks import EstimatorCheckpoint, latest_checkpoint
from sklearn_amfno.datasets import make_burgers

PARAMS = dict(width=8, n_layers=2, n_modes=4, max_epochs=6, batch_size=4, random_state=0)


@contextmanager
def one_thread():
    # Float32 sums may round differently with other thread counts: the killed fit runs on one.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def data():
    return make_burgers(n_samples=16, resolution=32, random_state=0)


def _same_weights(a, b) -> bool:
    sa, sb = a.module_.state_dict(), b.module_.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


KILLED_FIT = """
import os, signal, sys
import torch
from skorch.callbacks import Callback
from sklearn_amfno import FNORegressor
from sklearn_amfno.callbacks import EstimatorCheckpoint
from sklearn_amfno.datasets import make_burgers

torch.set_num_threads(1)

class KillAfter(Callback):
    # After the checkpoint (it comes first in callbacks): the process dies for real.
    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == {kill_after}:
            os.kill(os.getpid(), signal.SIGKILL)

X, y = make_burgers(n_samples=16, resolution=32, random_state=0)
FNORegressor(**{params}, callbacks=[EstimatorCheckpoint(sys.argv[1], every={every}), KillAfter()]).fit(X, y)
"""


def _killed_fit(run, kill_after, every=1, **params):
    script = KILLED_FIT.format(kill_after=kill_after, every=every, params={**PARAMS, **params})
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), str(run)], env=env, capture_output=True, timeout=120
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]


@pytest.mark.slow
def test_killed_and_resumed_fit_equals_uninterrupted_fit(tmp_path, data):
    X, y = data
    # Saved after epochs 2 and 4; SIGKILL after epoch 5 loses that epoch.
    _killed_fit(tmp_path, kill_after=5, every=2)
    path = latest_checkpoint(tmp_path)
    with one_thread():
        full = FNORegressor(**PARAMS).fit(X, y)
        resumed = sklearn_amfno.load(path)
        assert (resumed.n_epochs_, resumed.training_status_) == (4, "in_progress")
        resumed.fit(X, y, resume=True)
    assert (resumed.n_epochs_, resumed.training_status_) == (6, "completed")
    for key in ("train_loss", "event_lr"):
        assert list(resumed.net_.history[:, key]) == list(full.net_.history[:, key])
    assert _same_weights(resumed, full)
    np.testing.assert_array_equal(resumed.predict(X), full.predict(X))


class _FailAfter(Callback):
    def __init__(self, epoch=3):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise RuntimeError("stopped by the test")


def _interrupted(tmp_path, X, y, **params):
    est = FNORegressor(**{**PARAMS, **params}, callbacks=[EstimatorCheckpoint(tmp_path), _FailAfter()])
    with pytest.warns(UserWarning, match="_FailAfter"), pytest.raises(RuntimeError, match="stopped by"):
        est.fit(X, y)
    return sklearn_amfno.load(latest_checkpoint(tmp_path))


def test_resume_with_a_constant_schedule_equals_uninterrupted_fit(tmp_path, data):
    X, y = data
    with one_thread():
        full = FNORegressor(**PARAMS, lr_schedule="constant").fit(X, y)
        resumed = _interrupted(tmp_path, X, y, lr_schedule="constant").fit(X, y, resume=True)
    assert list(resumed.net_.history[:, "train_loss"]) == list(full.net_.history[:, "train_loss"])
    assert _same_weights(resumed, full)


def test_resume_continues_the_cosine_where_warm_start_restarts_it(tmp_path, data):
    X, y = data
    cosine = [0.01 * (1 + np.cos(np.pi * e / 6)) / 2 for e in range(6)]  # per epoch, before its step
    resumed = _interrupted(tmp_path, X, y).fit(X, y, resume=True)
    np.testing.assert_allclose(resumed.net_.history[:, "event_lr"], cosine, rtol=1e-12)
    warm = sklearn_amfno.load(latest_checkpoint(tmp_path)).set_params(warm_start=True).fit(X, y)
    # warm_start: 6 more epochs, the cosine restarted from lr.
    assert warm.n_epochs_ == 9
    np.testing.assert_allclose(warm.net_.history[3:, "event_lr"], cosine, rtol=1e-12)


def test_resume_continues_the_warmup_cosine_as_the_uninterrupted_fit(tmp_path, data):
    # A closed-form schedule (torch's LambdaLR): the resumed fit must set the rate of its position
    # (epoch 3 of 12, after the 1-epoch warm-up), not the rate of the schedule's start.
    X, y = data
    with one_thread():
        params = dict(lr_schedule="warmup_cosine", max_epochs=12)
        full = FNORegressor(**{**PARAMS, **params}).fit(X, y)
        resumed = _interrupted(tmp_path, X, y, **params).fit(X, y, resume=True)
    assert resumed.n_epochs_ == 12
    assert list(resumed.net_.history[:, "event_lr"]) == list(full.net_.history[:, "event_lr"])
    assert list(resumed.net_.history[:, "train_loss"]) == list(full.net_.history[:, "train_loss"])
    assert _same_weights(resumed, full)


@pytest.mark.parametrize(
    "schedule",
    [
        LRScheduler("StepLR", step_size=2, gamma=0.1),
        LRScheduler("CosineAnnealingLR", T_max=20, step_every="batch"),
    ],
    ids=["per-epoch", "per-batch"],
)
def test_resume_continues_a_user_lr_scheduler_as_the_uninterrupted_fit(tmp_path, data, schedule):
    X, y = data
    with one_thread():
        full = FNORegressor(**PARAMS, callbacks=[schedule]).fit(X, y)
        est = FNORegressor(**PARAMS, callbacks=[schedule, EstimatorCheckpoint(tmp_path), _FailAfter()])
        with pytest.warns(UserWarning, match="_FailAfter"), pytest.raises(RuntimeError, match="stopped by"):
            est.fit(X, y)
        resumed = sklearn_amfno.load(latest_checkpoint(tmp_path)).fit(X, y, resume=True)

    def lrs(est):
        if schedule.step_every == "batch":
            return [batch["event_lr"] for row in est.net_.history for batch in row["batches"]]
        return list(est.net_.history[:, "event_lr"])

    assert resumed.n_epochs_ == 6 and lrs(resumed) == lrs(full)
    assert list(resumed.net_.history[:, "train_loss"]) == list(full.net_.history[:, "train_loss"])
    assert _same_weights(resumed, full)


def test_resume_of_a_completed_fit_changes_nothing(data):
    X, y = data
    est = FNORegressor(**{**PARAMS, "max_epochs": 2}).fit(X, y)
    before = {k: v.clone() for k, v in est.module_.state_dict().items()}
    assert est.fit(X, y, resume=True) is est
    assert est.n_epochs_ == 2
    assert all(torch.equal(before[k], v) for k, v in est.module_.state_dict().items())


def test_resume_of_an_unfitted_estimator_fits_normally(data):
    X, y = data
    a = FNORegressor(**{**PARAMS, "max_epochs": 2}).fit(X, y, resume=True)
    b = FNORegressor(**{**PARAMS, "max_epochs": 2}).fit(X, y)
    assert a.n_epochs_ == 2 and _same_weights(a, b)


def test_resume_refuses_a_changed_model_and_a_non_boolean(tmp_path, data):
    X, y = data
    est = FNORegressor(**{**PARAMS, "max_epochs": 2}).fit(X, y)
    est.set_params(max_epochs=4, width=16)
    with pytest.raises(ValueError, match="width=16"):
        est.fit(X, y, resume=True)
    with pytest.raises(TypeError, match="resume must be True or False"):
        est.fit(X, y, resume="yes")


def test_checkpoint_refuses_bad_parameters_before_training(tmp_path, data):
    X, y = data
    for bad, match in [(dict(every=0), "every must be an int"), (dict(f_estimator="a/b"), "plain file")]:
        est = FNORegressor(**PARAMS, callbacks=[EstimatorCheckpoint(tmp_path, **bad)])
        with pytest.raises(ValueError, match=match):
            est.fit(X, y)


def test_checkpoint_leaves_out_callbacks_without_safe_form_with_a_warning(tmp_path, data):
    class Custom(Callback):
        pass

    X, y = data
    est = FNORegressor(**{**PARAMS, "max_epochs": 1}, callbacks=[EstimatorCheckpoint(tmp_path), Custom()])
    with pytest.warns(UserWarning, match=r"leaves the callbacks \['Custom'\] out"):
        est.fit(X, y)
    assert sklearn_amfno.load(latest_checkpoint(tmp_path)).callbacks is None


def test_latest_checkpoint_is_none_for_an_empty_directory(tmp_path):
    assert latest_checkpoint(tmp_path) is None
    with pytest.raises(TypeError, match="dirname must be a str"):
        latest_checkpoint(3)
