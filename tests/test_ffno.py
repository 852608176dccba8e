"""F-FNO: the factorised spectral layer against numpy, learning, and the scikit-learn contract."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_amfno import FFNORegressor
from sklearn_amfno.datasets import make_advection, make_heat
from sklearn_amfno.metrics import relative_l2_error
from sklearn_amfno.nn.layers import DenseSpectralKernel, resolve_modes
from sklearn_amfno.nn.layers.factorized import FactorizedSpectralConv, FactorizedSpectralWeights


def _numpy_factorized(x: np.ndarray, weights: list[np.ndarray]) -> np.ndarray:
    """``sum_d irfft_d(W_d * rfft_d(x))`` in float64 with numpy, modes beyond the weights zeroed."""
    out = np.zeros_like(x, dtype=float)
    for d, w in enumerate(weights):
        axis, n = 2 + d, x.shape[2 + d]
        m = min(w.shape[-1], n // 2 + 1)
        x_hat = np.moveaxis(np.fft.rfft(x, axis=axis), axis, -1)[..., :m]
        mixed = np.einsum("bi...k,iok->bo...k", x_hat, w[..., :m])
        spectrum = np.zeros(mixed.shape[:-1] + (n // 2 + 1,), dtype=complex)
        spectrum[..., :m] = mixed
        out += np.moveaxis(np.fft.irfft(spectrum, n=n, axis=-1), -1, axis)
    return out


def _layer(channels: int, weights: list[np.ndarray]) -> FactorizedSpectralConv:
    holder = FactorizedSpectralWeights(channels, channels, [w.shape[-1] for w in weights])
    with torch.no_grad():
        for p, w in zip(holder.weights, weights):
            p.copy_(torch.as_tensor(w, dtype=torch.cfloat))
    return FactorizedSpectralConv(holder)


# -- the factorised spectral layer -------------------------------------------------------------


def test_analytic_per_axis_multiplier_1d_2d():
    # Diagonal weights = a scalar multiplier per axis and mode: K must equal the sum over axes of
    # that multiplier applied by numpy's FFT along the axis, modes >= m zeroed.
    rng = np.random.default_rng(0)
    c = 2
    for shape, modes in [((32,), (9,)), ((16, 12), (5, 7))]:
        x = rng.standard_normal((3, c, *shape))
        weights, expected = [], np.zeros_like(x)
        for d, m in enumerate(modes):
            k = np.arange(m)
            multiplier = np.exp(-0.1 * (d + 1) * k**2) * np.exp(-2j * np.pi * 0.1 * k)  # decay + shift
            weights.append(np.einsum("io,k->iok", np.eye(c), multiplier))
            axis, n = 2 + d, shape[d]
            spectrum = np.fft.rfft(x, axis=axis)
            full = np.zeros(n // 2 + 1, dtype=complex)
            full[:m] = multiplier
            spectrum *= full.reshape((-1,) + (1,) * (len(shape) - 1 - d))
            expected += np.fft.irfft(spectrum, n=n, axis=axis)
        out = _layer(c, weights)(torch.as_tensor(x, dtype=torch.float32)).detach().numpy()
        np.testing.assert_allclose(out, expected, atol=2e-5)


@pytest.mark.parametrize(
    "shape, modes", [((16,), (5,)), ((12, 9), (4, 5)), ((8, 6, 10), (3, 4, 2)), ((6, 7), (9, 9))]
)
def test_random_channel_mixing_matches_numpy(shape, modes):
    # Full complex C x C mixing per mode, 1-D to 3-D; the last case asks for more modes than the
    # grid holds (the weights of the missing modes are skipped).
    rng = np.random.default_rng(1)
    c = 3
    weights = [(rng.standard_normal((c, c, m)) + 1j * rng.standard_normal((c, c, m))) / c for m in modes]
    x = rng.standard_normal((2, c, *shape))
    out = _layer(c, weights)(torch.as_tensor(x, dtype=torch.float32)).detach().numpy()
    np.testing.assert_allclose(out, _numpy_factorized(x, weights), atol=1e-5)


def test_modes_are_physical_wavenumbers_on_other_grids():
    # A band-limited input sampled on a 2x finer grid gives the 2x finer sampling of the output:
    # the same weights act on the same physical modes.
    rng = np.random.default_rng(2)
    layer = FactorizedSpectralConv(FactorizedSpectralWeights(2, 2, (4, 3)))

    a, b = rng.standard_normal(2), rng.standard_normal(2)

    def field(n):
        t = np.arange(n) / n
        x, y = np.meshgrid(t, t, indexing="ij")
        # Wavenumbers (1, 2) and (3, 0): inside the kept modes (4, 3), below both grids' Nyquist.
        waves = [np.cos(2 * np.pi * (x + 2 * y)), np.sin(2 * np.pi * 3 * x)]
        return np.stack([a[i] * waves[0] + b[i] * waves[1] for i in (0, 1)])[None]

    coarse, fine = field(12), field(24)
    with torch.no_grad():
        out_coarse = layer(torch.as_tensor(coarse, dtype=torch.float32)).numpy()
        out_fine = layer(torch.as_tensor(fine, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(out_fine[..., ::2, ::2], out_coarse, atol=1e-5)
    # A grid too coarse for the kept modes runs with the weights of the modes it holds.
    assert layer(torch.randn(1, 2, 4, 3)).shape == (1, 2, 4, 3)


AXIS_LIMITS = (9, 5)  # a 16 x 9 grid, each axis its own real FFT (F-FNO)


def test_resolve_modes_for_factorized_and_rfftn_layouts():
    assert DenseSpectralKernel.mode_limits((16, 9)) == (8, 5)  # FNO: full FFT on the first axis
    # An odd full axis: the one-sided corner block -m <= k < m fits only up to m = n // 2.
    assert DenseSpectralKernel.mode_limits((15, 9)) == (7, 5)
    assert resolve_modes(None, AXIS_LIMITS) == (9, 5)
    assert resolve_modes(4, AXIS_LIMITS) == (4, 4)
    assert resolve_modes((9, 5), AXIS_LIMITS) == (9, 5)  # every axis is a real-FFT axis
    # Like FNO's resolve_modes: a training grid too coarse keeps every mode it holds.
    assert resolve_modes((12, 6), AXIS_LIMITS) == (9, 5)
    with pytest.raises(ValueError, match="tuple of 2"):
        resolve_modes((4,), AXIS_LIMITS)


# -- the estimator -----------------------------------------------------------------------------


def _split(X, y, n_train=64):
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


@pytest.mark.slow
@pytest.mark.parametrize(
    "make, n_dim, n_modes, threshold",
    [
        # Measured (torch 2.13 CPU, random_state=0): 0.006, 0.007, 0.013. Identity and mean
        # predictions score 0.40 / 0.94 / 0.99 and ~1.0.
        (make_heat, 1, 9, 0.03),
        (make_advection, 1, 9, 0.04),
        (make_heat, 2, 5, 0.05),
    ],
)
def test_learns_smooth_operators(make, n_dim, n_modes, threshold):
    kw = {"max_wavenumber": 4} if n_dim == 2 else {}
    X, y = make(96, 32 if n_dim == 1 else 16, n_dim=n_dim, random_state=0, **kw)
    X_train, y_train, X_test, y_test = _split(X, y)
    est = FFNORegressor(
        n_modes=n_modes, width=16, n_layers=2, max_epochs=30, lr=5e-3, batch_size=16, random_state=0
    ).fit(X_train, y_train)
    error = relative_l2_error(y_test, est.predict(X_test))
    assert error < threshold
    assert error < 0.1 * relative_l2_error(y_test, X_test)


@pytest.mark.slow
def test_other_grids_behave_as_documented():
    # Trained on 32 points, evaluated on the same functions at 64 points: the modes are physical,
    # so the error stays at the training-grid level. A 12-point grid (7 modes < n_modes=9) runs.
    X, y = make_heat(96, 32, random_state=0)
    X_fine, y_fine = make_heat(96, 64, random_state=0)
    est = FFNORegressor(
        n_modes=9, width=16, n_layers=2, max_epochs=30, lr=5e-3, batch_size=16, random_state=0
    ).fit(X[:64], y[:64])
    error = relative_l2_error(y[64:], est.predict(X[64:]))
    error_fine = relative_l2_error(y_fine[64:], est.predict(X_fine[64:]))
    assert error_fine < max(2 * error, 0.03)
    assert est.predict(make_heat(2, 12, random_state=1)[0]).shape == (2, 12)


def test_shared_weights_and_parameter_count():
    X = np.random.default_rng(0).standard_normal((8, 16, 12))
    width, modes = 8, (5, 4)
    shared = FFNORegressor(n_modes=modes, share_weights=True, width=width, n_layers=3, max_epochs=1)
    separate = clone(shared).set_params(share_weights=False)
    shared.fit(X, X)
    separate.fit(X, X)
    layers = shared.module_.processor
    assert all(block.spectral.weights is layers[0].spectral.weights for block in layers)
    spectral = 2 * width * width * sum(modes)  # complex weights count two
    assert separate.n_parameters_ - shared.n_parameters_ == 2 * spectral
    assert shared.n_modes_ == modes


def test_modes_clipped_to_training_grid_and_invalid_modes_raise():
    X = np.random.default_rng(0).standard_normal((4, 8))
    assert FFNORegressor(n_modes=16, width=4, max_epochs=1).fit(X, X).n_modes_ == (5,)
    with pytest.raises(ValueError, match="tuple of 1"):
        FFNORegressor(n_modes=(2, 2), max_epochs=1).fit(X, X)


def test_pipeline_grid_search_clone_pickle():
    X, y = make_advection(24, 16, random_state=0)
    base = FFNORegressor(n_modes=4, width=8, n_layers=1, max_epochs=2, batch_size=8, random_state=0)
    pipe = make_pipeline(StandardScaler(), base)
    search = GridSearchCV(pipe, {"ffnoregressor__share_weights": [False, True]}, cv=2).fit(X, y)
    assert search.best_estimator_.predict(X[:3]).shape == (3, 16)

    cloned = clone(base)
    assert cloned.get_params() == base.get_params()
    assert not hasattr(cloned, "net_")
    fitted = base.fit(X, y)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))
