"""Degenerate targets: a zero (or tiny) target sample neither blows up the loss nor the metric.

Before: one all-zero target field among 32 made ``RelativeL2Loss`` ~3e9 on that batch (the
sample divided by ``||y|| + 1e-12``), training ended at test error ~1.0 instead of ~0.02, and
``relative_l2_error`` returned ~1e305. The rule now (``sklearn_amfno.nn.losses``): a sample with
``||y_i|| <= 1e-2 * ref`` (``ref`` = root mean square of the per-sample norms) is measured
against ``ref``; every other sample exactly as before.
"""

import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_amfno import AMFNORegressor
from sklearn_amfno.datasets import make_heat
from sklearn_amfno.metrics import (
    degenerate_target_mask,
    relative_l2_error,
    relative_l2_scorer,
    typical_norm,
)
from sklearn_amfno.nn.losses import RelativeL2Loss, ScaledMSELoss


def _old_loss(pred, target):
    """The loss before degenerate targets were handled."""
    diff = (pred - target).flatten(1).norm(dim=1)
    return (diff / (target.flatten(1).norm(dim=1) + 1e-12)).mean()


def _old_metric(y_true, y_pred):
    n = len(y_true)
    diff = np.linalg.norm((y_pred - y_true).reshape(n, -1), axis=1)
    norm = np.linalg.norm(y_true.reshape(n, -1), axis=1)
    return diff / np.maximum(norm, np.finfo(float).tiny)


@pytest.fixture(scope="module")
def heat():
    return make_heat(64, 32, random_state=0)


def _issue_batch(heat):
    """The issue's batch: 32 targets, one replaced by zeros, predictions off by 1 %."""
    _, y = heat
    y = y[:32].copy()
    y[5] = 0.0
    rng = np.random.default_rng(0)
    pred = y + 0.01 * rng.standard_normal(y.shape) * np.abs(y).max()
    return pred, y


# -- the loss -----------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(32, 64), (8, 1, 64), (4, 2, 16, 16), (3, 1, 4, 4, 4), (1, 7), (5, 3, 1)])
def test_loss_and_gradient_unchanged_on_ordinary_batches(shape):
    gen = torch.Generator().manual_seed(0)
    y = torch.randn(shape, generator=gen)
    pred = y + 0.3 * torch.randn(shape, generator=gen)
    p_old, p_new = pred.clone().requires_grad_(True), pred.clone().requires_grad_(True)
    old, new = _old_loss(p_old, y), RelativeL2Loss()(p_new, y)
    old.backward()
    new.backward()
    assert new.item() == old.item()  # bit for bit
    assert torch.equal(p_new.grad, p_old.grad)
    # A fixed reference norm changes nothing either while no sample is degenerate.
    fixed = RelativeL2Loss(reference_norm=typical_norm(y.numpy()))(pred, y)
    assert fixed.item() == old.item()


def test_loss_on_the_issues_batch_is_finite_and_equals_the_metric(heat):
    pred, y = _issue_batch(heat)
    p, t = torch.tensor(pred, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    before = _old_loss(p, t).item()
    after = RelativeL2Loss()(p, t).item()
    assert before > 1e8  # what the issue reported
    assert np.isfinite(after) and after < 0.1
    np.testing.assert_allclose(after, relative_l2_error(y, pred), rtol=1e-5)
    # Sample 5 counts as its error in units of the typical norm.
    raw = relative_l2_error(y, pred, multioutput="raw_values")
    np.testing.assert_allclose(raw[5], np.linalg.norm(pred[5]) / typical_norm(y), rtol=1e-12)
    others = np.delete(np.arange(32), 5)
    np.testing.assert_allclose(raw[others], _old_metric(y, pred)[others], rtol=1e-15)


@pytest.mark.parametrize("factor", [0.0, 1e-3, 1e-9, 1e-30])
def test_loss_is_finite_with_a_zero_or_tiny_target(factor):
    gen = torch.Generator().manual_seed(1)
    y = torch.randn(8, 1, 32, generator=gen)
    y[3] *= factor
    pred = (y + 0.1 * torch.randn(8, 1, 32, generator=gen)).requires_grad_(True)
    loss = RelativeL2Loss()(pred, y)
    loss.backward()
    assert torch.isfinite(loss) and loss.item() < 1.0
    assert torch.isfinite(pred.grad).all()
    expected = relative_l2_error(y.numpy(), pred.detach().numpy())
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-5)


def test_loss_of_an_all_zero_batch_is_the_absolute_error():
    y = torch.zeros(4, 16)
    pred = torch.full((4, 16), 0.5)
    np.testing.assert_allclose(RelativeL2Loss()(pred, y).item(), 0.5 * 4, rtol=1e-6)
    assert RelativeL2Loss()(torch.zeros(4, 16), y).item() == 0.0


def test_a_fixed_reference_norm_measures_a_lone_zero_target_in_typical_units():
    y, pred = torch.zeros(1, 16), torch.full((1, 16), 0.5)
    loss = RelativeL2Loss(reference_norm=4.0)(pred, y)
    np.testing.assert_allclose(loss.item(), 2.0 / 4.0, rtol=1e-6)


@pytest.mark.parametrize("magnitude", [1e30, 3e38, 1e-30, 1e-44])
def test_loss_and_gradient_finite_at_extreme_magnitudes(magnitude):
    gen = torch.Generator().manual_seed(2)
    y = magnitude * (2 * torch.rand(4, 16, generator=gen) - 1)
    for start in (0.9 * y, -y, torch.zeros_like(y)):
        pred = start.clone().requires_grad_(True)
        loss = RelativeL2Loss()(pred, y)
        loss.backward()
        assert torch.isfinite(loss), (magnitude, loss)
        assert torch.isfinite(pred.grad).all()
    # Scale-free where eps does not matter: 10 % off is 0.1.
    if magnitude > 1:
        np.testing.assert_allclose(RelativeL2Loss()(0.9 * y, y).item(), 0.1, rtol=1e-5)


def test_scaled_mse_unchanged_on_ordinary_batches_and_finite_near_the_float32_limit():
    gen = torch.Generator().manual_seed(4)
    scale = torch.tensor([2.0, 3.0])
    y = torch.randn(8, 2, generator=gen)
    p_old = (y + torch.randn(8, 2, generator=gen)).requires_grad_(True)
    p_new = p_old.detach().clone().requires_grad_(True)
    old, new = (((p_old - y) / scale) ** 2).mean(), ScaledMSELoss(scale)(p_new, y)
    old.backward()
    new.backward()
    assert new.item() == old.item() and torch.equal(p_new.grad, p_old.grad)
    # pred - y overflows float32 here: measured in float64, finite, with a finite gradient.
    y = torch.tensor([[3e38], [-3e38]])
    pred = (-y).clone().requires_grad_(True)
    loss = ScaledMSELoss(torch.tensor([3e38]))(pred, y)
    loss.backward()
    np.testing.assert_allclose(loss.item(), 4.0, rtol=1e-6)
    assert torch.isfinite(pred.grad).all()


# -- the metric ---------------------------------------------------------------------------------


def test_metric_unchanged_on_ordinary_samples(heat):
    _, y = heat
    rng = np.random.default_rng(3)
    pred = y + 0.05 * rng.standard_normal(y.shape)
    np.testing.assert_array_equal(relative_l2_error(y, pred, multioutput="raw_values"), _old_metric(y, pred))
    assert relative_l2_error(y, pred) == _old_metric(y, pred).mean()


def test_metric_with_zero_targets():
    y = np.array([[3.0, 4.0], [0.0, 0.0], [6.0, 8.0]])
    ref = typical_norm(y)
    np.testing.assert_allclose(ref, np.sqrt((25 + 0 + 100) / 3))
    # Zero target predicted exactly: 0.
    assert relative_l2_error(y, y, multioutput="raw_values")[1] == 0.0
    # Zero target, nonzero error: finite, in units of the typical norm.
    pred = y.copy()
    pred[1] = [0.3, 0.4]
    raw = relative_l2_error(y, pred, multioutput="raw_values")
    np.testing.assert_allclose(raw, [0.0, 0.5 / ref, 0.0])
    # The old metric: ~1e307.
    assert _old_metric(y, pred)[1] > 1e300


def test_metric_with_a_tiny_target_and_huge_values():
    y = np.ones((4, 8))
    y[2] *= 1e-200
    pred = y + 1e-3
    raw = relative_l2_error(y, pred, multioutput="raw_values")
    assert np.all(np.isfinite(raw)) and raw.max() < 1e-2
    huge = 1e300 * np.ones((3, 8))
    assert relative_l2_error(huge, 0.9 * huge) == pytest.approx(0.1)


def test_metric_of_all_zero_targets_is_the_absolute_error_with_a_warning():
    y = np.zeros((3, 4))
    with pytest.warns(UndefinedMetricWarning, match="every true sample is zero"):
        assert relative_l2_error(y, y) == 0.0
    with pytest.warns(UndefinedMetricWarning):
        raw = relative_l2_error(y, np.full((3, 4), 0.5), multioutput="raw_values")
    np.testing.assert_allclose(raw, [1.0, 1.0, 1.0])


def test_metric_without_degenerate_samples_does_not_warn(heat):
    _, y = heat
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        relative_l2_error(y, 1.1 * y)


def test_degenerate_target_mask_agrees_with_the_rule():
    y = np.ones((5, 2, 8))
    y[1] = 0.0
    y[3] *= 1e-3
    y[4] *= 0.05  # 5 % of the others: ordinary
    np.testing.assert_array_equal(degenerate_target_mask(y), [False, True, False, True, False])
    np.testing.assert_array_equal(degenerate_target_mask(y, rel_threshold=0.1), [0, 1, 0, 1, 1])
    np.testing.assert_array_equal(degenerate_target_mask(y, reference_norm=1e-3), [0, 1, 0, 0, 0])
    assert degenerate_target_mask(np.zeros((3, 4))).all()
    assert not degenerate_target_mask(np.ones((3, 4))).any()


# -- training -----------------------------------------------------------------------------------

# Tiny models at tiny budgets: 16 basis functions train faster there than the default 32
# (docs/defaults.md), and these tests are about the degenerate-target rule, not the kernel.
FIT = dict(
    width=8, n_layers=2, n_basis=16, dense_modes=0, max_epochs=30, batch_size=8, random_state=0, device="cpu"
)


@pytest.mark.slow
def test_one_zero_target_no_longer_ruins_training(heat):
    # Measured: clean 0.014, with one zero target 0.013 (before: 1.00).
    X, y = heat
    X_train, y_train, X_test, y_test = X[:32], y[:32], X[32:], y[32:]
    y_zero = y_train.copy()
    y_zero[5] = 0.0
    clean = AMFNORegressor(**FIT).fit(X_train, y_train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the fit's degenerate-target warning
        corrupted = AMFNORegressor(**FIT).fit(X_train, y_zero)
    err_clean = relative_l2_error(y_test, clean.predict(X_test))
    err_zero = relative_l2_error(y_test, corrupted.predict(X_test))
    assert err_clean < 0.05
    assert err_zero < 1.5 * err_clean + 0.01, (err_clean, err_zero)
    losses = [row["train_loss"] for row in corrupted.net_.history]
    assert np.all(np.isfinite(losses)) and losses[-1] < 0.2


def test_fit_warns_about_degenerate_target_samples(heat):
    X, y = heat
    y = y[:32].copy()
    y[5] = 0.0
    y[9] *= 1e-4
    with pytest.warns(UserWarning, match=r"2 of 32 target samples have a norm below 1% of the typical"):
        AMFNORegressor(**{**FIT, "max_epochs": 1}).fit(X[:32], y)
    # Clean data, or a loss that is not relative: no such warning.
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*target samples have a norm below.*")
        AMFNORegressor(**{**FIT, "max_epochs": 1}).fit(X[:32], X[:32])
        AMFNORegressor(**{**FIT, "max_epochs": 1, "loss": "mse"}).fit(X[:32], y)


@pytest.mark.slow
def test_relative_l2_scorer_in_grid_search_with_a_zero_target(heat):
    X, y = heat
    y = y[:32].copy()
    y[[3, 20]] = 0.0  # one zero target in each test fold
    X = X[:32]
    folds = list(KFold(2).split(X))
    search = GridSearchCV(
        AMFNORegressor(**{**FIT, "max_epochs": 10}),
        {"width": [4, 8]},
        cv=folds,
        scoring=relative_l2_scorer,
        error_score="raise",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        search.fit(X, y)
        # Each split's score is the negated relative L2 error of that split's own fit (CPU fits
        # repeat bit for bit), the zero target measured against the typical norm.
        for i, params in enumerate(search.cv_results_["params"]):
            for k, (train, test) in enumerate(folds):
                est = AMFNORegressor(**{**FIT, "max_epochs": 10, **params}).fit(X[train], y[train])
                expected = -relative_l2_error(y[test], est.predict(X[test]))
                assert search.cv_results_[f"split{k}_test_score"][i] == expected, (i, k)
    scores = search.cv_results_["mean_test_score"]
    # Measured -0.433 and -0.439 (width 4 and 8; torch 2.13 and 2.2 alike to 1e-7).
    assert np.all(scores > -0.46), scores
