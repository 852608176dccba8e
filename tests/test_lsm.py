"""LSM: exactness of the token map, patching and padding; the estimator learns smooth operators in 1-D
and 2-D; it runs on other grids but is grid-tied; scikit-learn integration."""

import doctest
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import sklearn_amfno.estimators._lsm as lsm_module
from sklearn_amfno import LSMRegressor
from sklearn_amfno.datasets import make_advection, make_heat
from sklearn_amfno.metrics import relative_l2_error
from sklearn_amfno.nn.layers.lsm import (
    BatchNorm,
    LSMProcessor,
    NeuralSpectralBlock,
    SpectralTokenMap,
    patchify,
    unpatchify,
)

# -- exactness of the numerical components ---------------------------------------------------------


def test_token_map_with_zero_coefficients_is_identity():
    token_map = SpectralTokenMap(6, 4, 12)
    with torch.no_grad():
        token_map.weight.zero_()
    t = torch.randn(3, 6, 4) * 10
    assert torch.equal(token_map(t), t)


def test_token_map_matches_formula():
    torch.manual_seed(0)
    K = 5
    token_map = SpectralTokenMap(3, 2, K).double()
    t = torch.randn(4, 3, 2, dtype=torch.float64)
    w = token_map.weight.detach().numpy()  # (channels, tokens, 2K): sine then cosine coefficients
    tn = t.numpy()
    expected = tn.copy()
    for i in range(K):
        expected += w[..., i] * np.sin(np.pi * i * tn / K) + w[..., K + i] * np.cos(np.pi * i * tn / K)
    np.testing.assert_allclose(token_map(t).detach().numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("grid", [(12,), (4, 8), (4, 6, 2)])
def test_patchify_roundtrip_and_contents(grid):
    p = 2
    x = torch.randn(2, 3, *grid)
    patches = patchify(x, p)
    assert patches.shape == (2 * int(np.prod(grid)) // p ** len(grid), p ** len(grid), 3)
    assert torch.equal(unpatchify(patches, grid, p), x)
    # The first patch holds the first p pixels of every axis of the first sample.
    first = x[(0, slice(None), *(slice(0, p) for _ in grid))].reshape(3, -1).T
    assert torch.equal(patches[0], first)


def test_spectral_block_is_local_to_patches():
    torch.manual_seed(0)
    block = NeuralSpectralBlock(8, patch_size=4, n_tokens=4, n_frequencies=12, n_heads=2)
    x = torch.randn(1, 8, 8, 8)
    x2 = x.clone()
    x2[0, :, 1, 2] += 1.0  # a pixel of the top-left 4x4 patch
    diff = (block(x2) - block(x)).abs().sum(1)[0]
    assert diff[:4, :4].sum() > 0
    diff[:4, :4] = 0
    assert diff.max() == 0


def test_batchnorm_matches_torch_and_survives_single_values():
    torch.manual_seed(0)
    ours, ref = BatchNorm(3), torch.nn.BatchNorm2d(3)
    x = torch.randn(4, 3, 5, 6) * 2 + 1
    torch.testing.assert_close(ours(x), ref(x))
    torch.testing.assert_close(ours.running_mean, ref.running_mean)
    ours.eval(), ref.eval()
    torch.testing.assert_close(ours(x), ref(x))
    ours.train()
    single = torch.randn(1, 3, 1)
    assert torch.isfinite(ours(single)).all()  # nn.BatchNorm1d raises here


def test_padding_amounts():
    proc = LSMProcessor(8, 2, unet_levels=2, patch_size=3, n_heads=2)
    assert proc.multiple == 12
    assert proc.padding((12, 13)) == (0, 11)
    assert proc.padding((1, 25)) == (11, 11)


@pytest.mark.parametrize("grid", [(1,), (7,), (31,), (7, 9), (5, 3, 6)])
def test_padding_and_cropping_preserve_shapes(grid):
    torch.manual_seed(0)
    proc = LSMProcessor(8, len(grid), unet_levels=2, patch_size=2, n_heads=2).eval()
    v = torch.randn(2, 8, *grid)
    out = proc(v)
    assert out.shape == v.shape and torch.isfinite(out).all()
    # Padding is zeros at the end of each axis: running on the padded grid and cropping agrees.
    pad = proc.padding(grid)
    padded = F.pad(v, [m for p in reversed(pad) for m in (0, p)])
    torch.testing.assert_close(proc(padded)[(..., *(slice(0, n) for n in grid))], out)


def test_parameter_count_is_grid_independent_and_channels_double():
    proc = LSMProcessor(32, 2)  # the defaults: 5 scales, width 32
    n = sum(p.numel() for p in proc.parameters())
    assert 4.5e6 < n < 5.2e6  # the paper's width-32 model: ~4.8M
    assert [d.conv.block[0].out_channels for d in proc.downs] == [64, 128, 256, 256]


# -- learning ------------------------------------------------------------------------------------


def _fit_eval(X, y, n_train, **params):
    est = LSMRegressor(random_state=0, batch_size=16, lr=3e-3, **params).fit(X[:n_train], y[:n_train])
    return est, relative_l2_error(y[n_train:], est.predict(X[n_train:]))


@pytest.mark.slow
def test_learns_heat_1d():
    X, y = make_heat(160, 32, n_dim=1, diffusivity=0.01, time=1.0, random_state=0)
    identity = relative_l2_error(y[128:], X[128:])  # ~0.56; predicting the mean: ~0.99
    est, err = _fit_eval(X, y, 128, unet_levels=1, patch_size=2, n_heads=4, width=16, max_epochs=40)
    # Measured 0.178 (0.190 with random_state=1).
    assert err < 0.26 < identity


@pytest.mark.slow
def test_learns_heat_2d_and_is_grid_tied():
    X, y = make_heat(160, 12, n_dim=2, diffusivity=0.01, time=1.0, max_wavenumber=3, random_state=0)
    identity = relative_l2_error(y[128:], X[128:])  # ~0.86; predicting the mean: ~0.99
    est, err = _fit_eval(X, y, 128, unet_levels=1, patch_size=2, n_heads=4, width=8, max_epochs=30)
    # Measured 0.19.
    assert err < 0.28 < identity
    # The same functions on a twice finer grid: it runs (padding 24 -> 24, 25 -> 28) and returns
    # the input grid, but the stencils are in grid cells: the learned operator does not carry over
    # (measured 0.45 against 0.19).
    X2, y2 = make_heat(32, 12, n_dim=2, diffusivity=0.01, time=1.0, max_wavenumber=3, random_state=1)
    X2f, y2f = make_heat(32, 24, n_dim=2, diffusivity=0.01, time=1.0, max_wavenumber=3, random_state=1)
    coarse, fine = relative_l2_error(y2, est.predict(X2)), relative_l2_error(y2f, est.predict(X2f))
    assert fine > coarse
    odd = est.predict(X2f[:2, : 25 - 2, :21])
    assert odd.shape == (2, 23, 21) and np.isfinite(odd).all()


# -- scikit-learn integration ---------------------------------------------------------------------

TINY = dict(unet_levels=1, patch_size=2, n_heads=2, width=4, max_epochs=2, batch_size=8, random_state=0)


def test_pipeline_and_grid_search():
    X, y = make_advection(24, 16, n_dim=1, time=0.25, random_state=0)
    pipe = make_pipeline(FunctionTransformer(lambda a: 2.0 * a), LSMRegressor(**TINY))
    assert pipe.fit(X, y).predict(X).shape == y.shape
    search = GridSearchCV(LSMRegressor(**TINY), {"n_tokens": [2, 4], "n_frequencies": [4, 12]}, cv=2).fit(
        X, y
    )
    assert set(search.best_params_) == {"n_tokens", "n_frequencies"}
    assert search.best_estimator_.predict(X[:3]).shape == (3, 16)


def test_pickle_roundtrip_and_clone():
    X, y = make_heat(16, 8, n_dim=2, max_wavenumber=3, random_state=0)
    est = LSMRegressor(**TINY).fit(X, y)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict(X), est.predict(X))
    cloned = clone(est)
    assert cloned.get_params() == est.get_params() and not hasattr(cloned, "net_")
    np.testing.assert_array_equal(cloned.fit(X, y).predict(X), est.predict(X))


def test_3d_tiny_grids_and_scalar_target():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 5, 3, 4))
    assert LSMRegressor(**TINY).fit(X, X**2).predict(X[:2]).shape == (2, 5, 3, 4)
    Xs = rng.standard_normal((9, 1))  # one grid point, scalar target: scikit-learn's checks do this
    est = LSMRegressor(**{**TINY, "batch_size": 4}).fit(Xs, Xs[:, 0])  # last batch: one sample
    assert est.predict(Xs).shape == (9,)


def test_width_must_divide_into_heads():
    X = np.zeros((4, 8))
    with pytest.raises(ValueError, match="divisible by n_heads"):
        LSMRegressor(**{**TINY, "width": 6, "n_heads": 4}).fit(X, X)


@pytest.mark.parametrize(
    "params", [{"unet_levels": -1}, {"patch_size": 0}, {"n_tokens": 0}, {"n_frequencies": 0}]
)
def test_invalid_parameters_raise(params):
    X = np.zeros((4, 8))
    with pytest.raises(ValueError):
        LSMRegressor(**{**TINY, **params}).fit(X, X)


def test_docstring_example_runs():
    result = doctest.testmod(lsm_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
