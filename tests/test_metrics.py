"""Rollout, spectral-band and H1 errors, and their scorers (sklearn_amfno.metrics)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_amfno import FNORegressor
from sklearn_amfno.datasets import make_advection, make_heat
from sklearn_amfno.metrics import (
    relative_h1_error,
    relative_h1_scorer,
    relative_l2_error,
    relative_l2_scorer,
    rollout_error,
    rollout_error_scorer,
    spectral_error,
    spectral_high_error_scorer,
)

# -- spectral_error --------------------------------------------------------------------------------


def _full_fft_bands(y_true, y_pred, edges, n_dim):
    """Independent reference: full complex FFT, every mode once, radial |k|, channels last."""
    e = np.moveaxis(y_pred - y_true, -1, 1)  # (n, c, *grid)
    grid = e.shape[2:]
    spectrum = np.abs(np.fft.fftn(e, axes=tuple(range(2, 2 + n_dim)))) ** 2 / np.prod(grid) ** 2
    k = np.meshgrid(*[np.fft.fftfreq(n, 1 / n) for n in grid], indexing="ij")
    radius = np.sqrt(sum(kd**2 for kd in k))
    bounds = [0, *edges, np.inf]
    per_mode = spectrum.mean(axis=(0, 1))
    return [per_mode[(radius >= lo) & (radius < hi)].sum() for lo, hi in zip(bounds[:-1], bounds[1:])]


@pytest.mark.parametrize(
    ("shape", "n_dim"),
    [((5, 32, 1), 1), ((5, 33, 2), 1), ((3, 16, 15, 2), 2), ((2, 8, 9, 10, 1), 3), ((2, 12, 12, 7, 3), 3)],
)
@pytest.mark.parametrize("wavenumber", ["radial", "max"])
def test_bands_add_up_to_the_mse_by_parseval(shape, n_dim, wavenumber):
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.standard_normal(shape), rng.standard_normal(shape)
    mse = np.mean((y_pred - y_true) ** 2)
    kwargs = {"n_dim": n_dim, "channel_axis": -1, "wavenumber": wavenumber}
    bands = spectral_error(y_true, y_pred, **kwargs)
    assert list(bands) == ["low", "mid", "high"]
    np.testing.assert_allclose(sum(bands.values()), mse, rtol=1e-10)
    shells = spectral_error(y_true, y_pred, bands="shells", **kwargs)
    np.testing.assert_allclose(shells.sum(), mse, rtol=1e-10)
    np.testing.assert_allclose(shells[:4].sum(), bands["low"], rtol=1e-10)
    np.testing.assert_allclose(shells[12:].sum(), bands["high"], rtol=1e-10)
    many = spectral_error(y_true, y_pred, bands=(1, 2.5, 6), **kwargs)
    np.testing.assert_allclose(sum(many.values()), mse, rtol=1e-10)
    if wavenumber == "radial":  # against the full FFT: the real FFT's doubled rows are weighted right
        np.testing.assert_allclose(list(bands.values()), _full_fft_bands(y_true, y_pred, (4, 12), n_dim))
        reference = _full_fft_bands(y_true, y_pred, (1, 2.5, 6), n_dim)
        np.testing.assert_allclose(list(many.values()), reference)


def test_single_modes_land_in_their_band():
    x = np.arange(32) / 32
    y = np.sin(2 * np.pi * 2 * x)[np.newaxis]
    # cos of wavenumber 5, amplitude 0.1: mean square 0.1^2 / 2, all of it in mid = [4, 12)
    bands = spectral_error(y, y + 0.1 * np.cos(2 * np.pi * 5 * x))
    assert bands["mid"] == pytest.approx(0.005, rel=1e-12)
    assert bands["low"] < 1e-30 and bands["high"] < 1e-30
    # the edges are half-open: wavenumber 4 is mid, 3 is low, 12 is high
    for k, band in [(3, "low"), (4, "mid"), (11, "mid"), (12, "high")]:
        errors = spectral_error(y, y + np.sin(2 * np.pi * k * x))
        assert errors[band] == pytest.approx(0.5, rel=1e-12), (k, errors)
    # the Nyquist mode (16 on 32 points) is its own mirror: mean square 1, not 2
    assert spectral_error(y, y + np.cos(np.pi * 32 * x))["high"] == pytest.approx(1.0, rel=1e-12)
    # 2-D: mode (3, 4) has radial |k| = 5 (mid) and max |k_d| = 4 (mid); (3, 3): 4.24 (mid) vs 3 (low)
    X1, X2 = np.meshgrid(x, x, indexing="ij")
    for k1, k2, radial, box in [(3, 4, "mid", "mid"), (3, 3, "mid", "low"), (9, 9, "high", "mid")]:
        e = np.cos(2 * np.pi * (k1 * X1 + k2 * X2))[np.newaxis]
        assert spectral_error(0 * e, e)[radial] == pytest.approx(0.5, rel=1e-12)
        assert spectral_error(0 * e, e, wavenumber="max")[box] == pytest.approx(0.5, rel=1e-12)
    shells = spectral_error(0 * e, e, bands="shells")  # (9, 9): |k| = 12.73, shell 12
    assert shells.shape == (int(np.floor(np.sqrt(2) * 16)) + 1,)
    assert shells[12] == pytest.approx(0.5, rel=1e-12)


def test_band_names_relative_option_and_errors():
    rng = np.random.default_rng(1)
    y, p = rng.standard_normal((4, 32)), rng.standard_normal((4, 32))
    assert list(spectral_error(y, p, bands=[8])) == ["low", "high"]
    assert list(spectral_error(y, p, bands=(2, 4, 8.5))) == ["[0, 2)", "[2, 4)", "[4, 8.5)", "[8.5, inf)"]
    relative = spectral_error(y, p, relative=True)
    pooled = np.sum((p - y) ** 2) / np.sum(y**2)
    np.testing.assert_allclose(sum(relative.values()), pooled, rtol=1e-10)
    with pytest.warns(UndefinedMetricWarning, match="zero everywhere") as record:
        absolute = spectral_error(0 * y, p, relative=True)
    assert record[0].filename == __file__
    np.testing.assert_allclose(sum(absolute.values()), np.mean(p**2), rtol=1e-10)
    for bad in [(12, 4), (0, 4), (), (4, np.inf), [[4, 12]]]:
        with pytest.raises(ValueError, match="increasing, finite, positive band edges"):
            spectral_error(y, p, bands=bad)
    with pytest.raises(ValueError, match="'bands' parameter"):
        spectral_error(y, p, bands="radial")
    with pytest.raises(ValueError, match=r"2 grid axes .*got shape \(4, 32\), i.e. 1 grid axes"):
        spectral_error(y, p, n_dim=2)
    with pytest.raises(ValueError, match="1, 2 or 3 grid axes"):
        spectral_error(np.zeros((2, 4, 4, 4, 4)), np.zeros((2, 4, 4, 4, 4)))
    with pytest.raises(ValueError, match="n_dim of 1, 2 or 3"):
        spectral_error(np.zeros((2, 4, 4, 4, 4)), np.zeros((2, 4, 4, 4, 4)), n_dim=4)
    with pytest.raises(ValueError, match="'n_dim' parameter"):
        spectral_error(y, p, n_dim=True)
    with pytest.raises(ValueError, match="shapes differ"):
        spectral_error(y, p[:, :16])
    with pytest.raises(ValueError, match="'wavenumber' parameter"):
        spectral_error(y, p, wavenumber="l1")


# -- rollout_error ---------------------------------------------------------------------------------


def test_rollout_error_is_relative_l2_per_step_with_the_degenerate_rule():
    rng = np.random.default_rng(2)
    n_steps, n_fields = 3, 2
    y = rng.standard_normal((6, 8, 8, n_steps * n_fields))
    pred = y + 0.1 * rng.standard_normal(y.shape)
    y[4, ..., 2:4] = 0.0  # a degenerate sample at step 1 only
    errors = rollout_error(y, pred, n_fields=n_fields)
    assert errors.shape == (n_steps,)
    for step in range(n_steps):
        frames = slice(step * n_fields, (step + 1) * n_fields)
        assert errors[step] == relative_l2_error(y[..., frames], pred[..., frames])
    # frame-major: an error in field b of step 2 shows at step 2 only, under either field count
    y = np.ones((2, 16, 4))
    pred = y.copy()
    pred[..., 3] = 2.0
    np.testing.assert_allclose(rollout_error(y, pred, n_fields=2), [0.0, 1 / np.sqrt(2)])
    np.testing.assert_allclose(rollout_error(y, pred), [0.0, 0.0, 0.0, 1.0])
    # no channel axis: one frame
    np.testing.assert_allclose(rollout_error(y[..., 0], pred[..., 3], channel_axis=None), [1.0])


def test_rollout_error_refuses_and_warns():
    y = np.ones((2, 16, 6))
    with pytest.raises(ValueError, match="divisible by n_fields=4.*got 6 channels in shape"):
        rollout_error(y, y, n_fields=4)
    with pytest.raises(ValueError, match="n_fields"):
        rollout_error(y, y, n_fields=0)
    with pytest.raises(ValueError, match=r"1, 2 or 3 grid axes .*i.e. 0 grid axes"):
        rollout_error(np.ones((2, 6)), np.ones((2, 6)))  # (n_samples, n_steps) has no grid
    y[..., 1] = 0.0
    with pytest.warns(UndefinedMetricWarning, match="at step 1") as record:
        errors = rollout_error(y, y + 0.5)
    assert record[0].filename == __file__
    np.testing.assert_allclose(errors[1], 0.5 * 4)  # absolute L2 error of 16 points of 0.5


# -- relative_h1_error -----------------------------------------------------------------------------


@pytest.mark.parametrize(("k", "m", "eps", "n"), [(1, 3, 0.1, 64), (4, 1, 0.02, 33), (2, 2, 1.0, 16)])
def test_h1_analytic_sines(k, m, eps, n):
    # y = sin(2 pi k x), e = eps sin(2 pi m x) on [0, 1): ||u||^2 + ||u'||^2 = (1 + 4 pi^2 k^2) / 2
    x = np.arange(n) / n
    y = np.sin(2 * np.pi * k * x)[np.newaxis]
    pred = y + eps * np.sin(2 * np.pi * m * x)
    expected = eps * np.sqrt((1 + 4 * np.pi**2 * m**2) / (1 + 4 * np.pi**2 * k**2))
    assert relative_h1_error(y, pred) == pytest.approx(expected, rel=1e-12)


def test_h1_in_2d_with_channels_and_degenerate_samples():
    x = np.arange(16) / 16
    X1, X2 = np.meshgrid(x, x, indexing="ij")
    y = np.stack([np.sin(2 * np.pi * (X1 + 2 * X2)), np.cos(2 * np.pi * 3 * X1)], axis=-1)[np.newaxis]
    e = 0.1 * np.cos(2 * np.pi * 4 * X2)[..., np.newaxis] * np.array([1.0, 0.0])
    # |k|^2: 5 and 9 in y (two channels, each of mean square 1/2), 16 in e
    expected = 0.1 * np.sqrt((1 + 4 * np.pi**2 * 16) / ((1 + 4 * np.pi**2 * 5) + (1 + 4 * np.pi**2 * 9)))
    assert relative_h1_error(y, y + e, channel_axis=-1, n_dim=2) == pytest.approx(expected, rel=1e-12)
    # a zero sample is measured against the typical (root mean square) H1 norm
    y2 = np.concatenate([y, 0 * y, y])
    raw = relative_h1_error(y2, y2 + e, channel_axis=-1, multioutput="raw_values")
    np.testing.assert_allclose(raw, [expected, expected * np.sqrt(3 / 2), expected], rtol=1e-12)
    with pytest.warns(UndefinedMetricWarning, match="relative_h1_error"):
        relative_h1_error(0 * y, y + e, channel_axis=-1)
    with pytest.raises(ValueError, match="multioutput"):
        relative_h1_error(y, y, channel_axis=-1, multioutput="mean")


# -- scorers ---------------------------------------------------------------------------------------


class _Scaled(RegressorMixin, BaseEstimator):
    """A fitted 'estimator' predicting ``factor * X``."""

    def __init__(self, factor=1.0):
        self.factor = factor

    def predict(self, X):
        return self.factor * X


def test_scorers_are_negated_errors():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((4, 16, 3))
    assert rollout_error_scorer(_Scaled(1.2), X, X) == pytest.approx(-0.2)
    assert relative_h1_scorer(_Scaled(1.2), X[..., 0], X[..., 0]) == pytest.approx(-0.2)
    expected = -spectral_error(X[..., 0], 1.2 * X[..., 0])["high"]
    assert spectral_high_error_scorer(_Scaled(1.2), X[..., 0], X[..., 0]) == expected


def test_scorers_in_grid_search():
    X, y = make_heat(24, 32, random_state=0)
    est = FNORegressor(n_modes=4, width=4, n_layers=1, max_epochs=2, random_state=0)
    scoring = {"h1": relative_h1_scorer, "high": spectral_high_error_scorer, "l2": relative_l2_scorer}
    folds = list(KFold(2).split(X))
    search = GridSearchCV(est, {"lr": [1e-2, 1e-3]}, cv=folds, scoring=scoring, refit="h1").fit(X, y)
    # Each split's score is the negated metric of that split's own fit (CPU fits repeat bit for
    # bit). Measured means after 2 epochs, near a constant prediction's 1: h1 -0.945 and -0.964,
    # l2 -0.910 and -0.927, high band -1.9e-5 and -9.1e-6.
    metrics = {
        "h1": relative_h1_error,
        "high": lambda y_true, y_pred: spectral_error(y_true, y_pred)["high"],
        "l2": relative_l2_error,
    }
    for i, params in enumerate(search.cv_results_["params"]):
        for k, (train, test) in enumerate(folds):
            pred = clone(est).set_params(**params).fit(X[train], y[train]).predict(X[test])
            for name, metric in metrics.items():
                assert search.cv_results_[f"split{k}_test_{name}"][i] == -metric(y[test], pred), (name, i, k)
    assert search.best_score_ == search.cv_results_["mean_test_h1"].max()


# -- the AM-FNO paper's Table 3 effect -------------------------------------------------------------


@pytest.mark.slow
def test_truncated_fno_errs_in_the_high_band():
    # Advection of white-spectrum fields (|k| <= 28, decay 0) on 64 points: a translation, so
    # each mode's output depends on that mode alone. FNO keeping n_modes=4 can only shift
    # |k| < 4 and predicts ~0 above; FNO+ (n_modes=None) keeps every mode. Measured (CPU, seed 0):
    #   y's energy per band:   low 6.27   mid 15.3   high 33.6
    #   FNO  (n_modes=4):      low 0.012  mid 15.3   high 32.9
    #   FNO+ (n_modes=None):   low 0.0027 mid 0.0052 high 0.0135
    X, y = make_advection(200, 64, velocity=0.1, max_wavenumber=28, decay=0.0, random_state=0)
    train, test = slice(0, 160), slice(160, None)
    errors = {}
    for n_modes in (4, None):
        est = FNORegressor(n_modes=n_modes, width=8, n_layers=2, max_epochs=20, batch_size=20, random_state=0)
        est.fit(X[train], y[train])
        errors[n_modes] = spectral_error(y[test], est.predict(X[test]))
    fno, fno_plus = errors[4], errors[None]
    total = sum(fno.values())
    assert fno["high"] > 0.5 * total  # the truncated model's error sits mostly in the high band
    assert fno["high"] > fno["mid"] > 100 * fno["low"]
    assert fno["high"] > 100 * fno_plus["high"]
    assert sum(fno_plus.values()) < 0.01 * total


def test_no_warnings_on_ordinary_data():
    rng = np.random.default_rng(4)
    y = rng.standard_normal((3, 8, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spectral_error(y, 1.1 * y, relative=True)
        relative_h1_error(y, 1.1 * y)
        rollout_error(y, 1.1 * y)
