"""The relative H1 loss: exact derivatives, agreement with the metric, and the estimators' option."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from _tiny import TINY

from sklearn_amfno import FNORegressor
from sklearn_amfno.metrics import relative_h1_error
from sklearn_amfno.nn.losses import RelativeH1Loss, h1_norms


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


# -- the norm ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [16, 15])
def test_spectral_derivative_of_every_sine_and_cosine_is_exact(n):
    x = np.arange(n) / n
    for k in range(1, n // 2 + 1):
        for wave in (np.sin, np.cos):
            u = wave(2 * np.pi * k * x)
            if not np.any(np.abs(u) > 1e-9):
                continue  # sin of the Nyquist mode vanishes on the grid
            mean_square = np.mean(u**2)  # 1/2, or 1 for the Nyquist cosine
            expected = mean_square * (1 + (2 * np.pi * k) ** 2)
            got = h1_norms(_t(u).reshape(1, 1, n)).item() ** 2
            assert got == pytest.approx(expected, rel=1e-12), (k, wave.__name__)


def test_spectral_derivative_in_2d_and_3d_is_exact_and_sums_channels():
    x = np.arange(8) / 8
    u2 = np.sin(2 * np.pi * 3 * x)[:, None] * np.cos(2 * np.pi * 2 * x)[None, :]
    expected2 = 0.25 * (1 + 4 * np.pi**2 * (9 + 4))
    assert h1_norms(_t(u2)[None, None]).item() ** 2 == pytest.approx(expected2, rel=1e-12)
    u3 = np.sin(2 * np.pi * x)[:, None, None] * np.ones((1, 8, 8))
    expected3 = 0.5 * (1 + 4 * np.pi**2)
    both = np.stack([u3, 2 * u3])[None]  # channels add: (1 + 4) times one channel's square
    assert h1_norms(_t(both)).item() ** 2 == pytest.approx(5 * expected3, rel=1e-12)


def test_finite_differences_on_non_periodic_axes_follow_central_and_one_sided_rules():
    n = 9
    x = np.linspace(0, 1, n)
    h = 1 / (n - 1)
    linear = 2.0 + 3.0 * x  # central and one-sided differences are exact: derivative 3
    assert h1_norms(_t(linear).reshape(1, 1, n), periodic=False).item() ** 2 == pytest.approx(
        np.mean(linear**2) + 9.0, rel=1e-12
    )
    square = x**2
    derivative = np.concatenate([[h], 2 * x[1:-1], [2 - h]])  # one-sided at the two ends
    expected = np.mean(square**2) + np.mean(derivative**2)
    assert h1_norms(_t(square).reshape(1, 1, n), periodic=[False]).item() ** 2 == pytest.approx(
        expected, rel=1e-12
    )


def test_mixed_axes_spectral_in_x_finite_differences_in_y():
    x = np.arange(16) / 16
    y = np.linspace(0, 1, 5)
    u = np.sin(2 * np.pi * 2 * x)[:, None] * (1 + y)[None, :]
    du_dx = 4 * np.pi * np.cos(2 * np.pi * 2 * x)[:, None] * (1 + y)[None, :]
    du_dy = np.sin(2 * np.pi * 2 * x)[:, None] * np.ones_like(y)[None, :]  # linear in y: exact
    expected = np.mean(u**2) + np.mean(du_dx**2) + np.mean(du_dy**2)
    got = h1_norms(_t(u)[None, None], periodic=(True, False)).item() ** 2
    assert got == pytest.approx(expected, rel=1e-12)


def test_norm_of_huge_float32_fields_neither_overflows_nor_loses_precision():
    rng = np.random.default_rng(0)
    u = rng.standard_normal((3, 2, 16, 16))
    reference = h1_norms(_t(u)).numpy()
    for scale in (1e25, 1e-25):
        got = h1_norms(_t(u * scale).float()).numpy()
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, reference * scale, rtol=1e-5)


# -- the loss ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape",
    [(6, 16), (6, 15), (4, 8, 6), (3, 6, 5, 4), (4, 12, 3)],
    ids=["1d-even", "1d-odd", "2d", "3d", "1d-3-channels"],
)
def test_loss_on_tensors_equals_the_metric(shape):
    rng = np.random.default_rng(1)
    y = rng.standard_normal(shape)
    pred = y + 0.3 * rng.standard_normal(shape)
    y[1] = 0.0  # a degenerate sample: measured against the typical norm by both
    channels = shape == (4, 12, 3)
    expected = relative_h1_error(y, pred, channel_axis=-1 if channels else None)
    to_tensor = (lambda a: _t(np.moveaxis(a, -1, 1))) if channels else (lambda a: _t(a)[:, None])
    got = RelativeH1Loss()(to_tensor(pred), to_tensor(y)).item()
    assert got == pytest.approx(expected, rel=1e-12)


def test_loss_weighs_a_fine_scale_error_by_its_wavenumber():
    x = np.arange(64) / 64
    y = np.sin(2 * np.pi * x)[None, None]
    for k in (3, 10):
        pred = y + 0.1 * np.sin(2 * np.pi * k * x)
        expected = 0.1 * math.sqrt((1 + 4 * math.pi**2 * k**2) / (1 + 4 * math.pi**2))
        assert RelativeH1Loss()(_t(pred), _t(y)).item() == pytest.approx(expected, rel=1e-12)


def test_loss_gradient_is_finite_at_a_perfect_prediction():
    y = torch.randn(2, 1, 16, dtype=torch.float64)
    pred = y.clone().requires_grad_(True)
    loss = RelativeH1Loss()(pred, y)
    loss.backward()
    assert loss.item() == 0.0
    assert torch.isfinite(pred.grad).all()


def test_loss_gradient_matches_finite_differences():
    torch.manual_seed(0)
    y = torch.randn(3, 2, 8, 6, dtype=torch.float64)
    pred = (y + 0.2 * torch.randn_like(y)).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: RelativeH1Loss(periodic=(True, False))(p, y), (pred,))


def test_loss_refuses_mismatched_shapes_and_periodic_flags():
    y = torch.zeros(2, 1, 8, 8)
    with pytest.raises(ValueError, match=r"one bool per grid axis \(2 here\)"):
        RelativeH1Loss(periodic=(True,))(y, y)
    with pytest.raises(ValueError, match=r"one shape .* got \(2, 1, 8, 7\) and \(2, 1, 8, 8\)"):
        RelativeH1Loss()(torch.zeros(2, 1, 8, 7), y)
    with pytest.raises(ValueError, match="1, 2 or 3 grid axes"):
        RelativeH1Loss()(torch.zeros(2, 8), torch.zeros(2, 8))


# -- the estimators' option -------------------------------------------------------------------------


@pytest.mark.parametrize("estimator_class", list(TINY), ids=lambda c: c.__name__)
def test_every_estimator_trains_on_the_h1_loss(estimator_class):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 16))
    y = np.cumsum(X, axis=1) / 4
    est = estimator_class(**TINY[estimator_class], loss="relative_h1", max_epochs=2, random_state=0)
    est.fit(X, y)
    criterion = est.net_.criterion_
    assert isinstance(criterion, RelativeH1Loss) and criterion.periodic is True
    # The trained criterion measures what the metric measures.
    with torch.no_grad():
        pred = est.net_.module_(torch.as_tensor(X[:, None], dtype=torch.float32))
    expected = relative_h1_error(y, pred[:, 0].double().numpy())
    assert RelativeH1Loss()(pred.double(), torch.as_tensor(y[:, None])).item() == pytest.approx(expected)
    assert np.isfinite(est.net_.history[-1, "train_loss"])


def test_h1_loss_refuses_per_sample_targets_and_bad_names_list_it():
    X = np.random.default_rng(0).standard_normal((6, 16))
    est = FNORegressor(width=4, n_layers=1, n_modes=2, loss="relative_h1", max_epochs=1)
    with pytest.raises(ValueError, match=r"loss='relative_h1' needs a field target .* \(scalar\)"):
        est.fit(X, X.sum(axis=1))
    assert not hasattr(est, "net_")
    with pytest.raises(ValueError, match="relative_h1"):
        FNORegressor(loss="h1").fit(X, X)
