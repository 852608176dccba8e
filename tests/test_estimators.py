"""AMFNORegressor and FNORegressor: learning, super-resolution, targets, reproducibility, persistence."""

import io
import pickle

import joblib
import numpy as np
import pytest
import torch

from sklearn_amfno import AMFNORegressor, FNORegressor
from sklearn_amfno.datasets import make_advection, make_heat
from sklearn_amfno.metrics import relative_l2_error

SMALL = dict(width=16, n_layers=2, lr=3e-3, random_state=0)


@pytest.fixture(scope="module")
def heat_1d():
    kw = dict(diffusivity=0.005)
    X, y = make_heat(200, 32, random_state=0, **kw)
    X_test, y_test = make_heat(50, 32, random_state=1, **kw)
    # The same continuous test functions sampled twice as finely.
    X_fine, y_fine = make_heat(50, 64, random_state=1, **kw)
    return X, y, X_test, y_test, X_fine, y_fine


@pytest.mark.slow
@pytest.mark.parametrize(
    "estimator, threshold",
    [
        (AMFNORegressor(**SMALL, max_epochs=20), 0.03),
        (AMFNORegressor(kernel="kan", **SMALL, max_epochs=20), 0.1),
        (AMFNORegressor(basis="fourier", **SMALL, max_epochs=20), 0.05),
        (FNORegressor(n_modes=8, **SMALL, max_epochs=20), 0.03),
        (FNORegressor(n_modes=None, **SMALL, max_epochs=20), 0.03),
    ],
    ids=["amfno-mlp", "amfno-kan", "amfno-fourier", "fno", "fno+"],
)
def test_learns_heat_and_super_resolves(heat_1d, estimator, threshold):
    X, y, X_test, y_test, X_fine, y_fine = heat_1d
    identity_error = relative_l2_error(y_test, X_test)  # ~0.28: doing nothing
    estimator.fit(X, y)
    err = relative_l2_error(y_test, estimator.predict(X_test))
    err_fine = relative_l2_error(y_fine, estimator.predict(X_fine))
    assert err < threshold < identity_error / 2
    # Zero-shot super-resolution: trained on 32 points, evaluated on 64.
    assert err_fine <= 1.5 * err


@pytest.mark.slow
def test_super_resolution_2d():
    kw = dict(n_dim=2, diffusivity=0.005, max_wavenumber=6)
    X, y = make_heat(64, 32, random_state=0, **kw)
    X_test, y_test = make_heat(16, 32, random_state=1, **kw)
    X_fine, y_fine = make_heat(16, 64, random_state=1, **kw)
    est = AMFNORegressor(width=12, n_layers=2, lr=1e-2, batch_size=8, max_epochs=15, random_state=0)
    est.fit(X, y)
    err = relative_l2_error(y_test, est.predict(X_test))
    err_fine = relative_l2_error(y_fine, est.predict(X_fine))
    assert err < 0.04
    assert err_fine <= 1.5 * err


@pytest.mark.slow
@pytest.mark.parametrize("factorization", ["separable", "joint"])
def test_advection_2d_both_factorizations(factorization):
    kw = dict(n_dim=2, velocity=(0.2, -0.1), max_wavenumber=4)
    X, y = make_advection(96, 16, random_state=0, **kw)
    X_test, y_test = make_advection(16, 16, random_state=1, **kw)
    est = AMFNORegressor(
        factorization=factorization, width=12, n_layers=2, lr=5e-3, max_epochs=25, random_state=0
    ).fit(X, y)
    # A short fit: "learned" means far below the identity's error (~1.2 here); the separable
    # kernel reaches ~0.1, the joint one ~0.2 (it converges more slowly, see docs/defaults.md).
    assert relative_l2_error(y_test, est.predict(X_test)) < 0.25 < relative_l2_error(y_test, X_test) / 4


@pytest.mark.parametrize("Estimator", [AMFNORegressor, FNORegressor])
def test_3d_grids_and_channels(Estimator):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 8, 8, 6, 2))
    y = np.stack([X[..., 0] * X[..., 1], X[..., 0]], axis=-1)
    params = dict(width=4, n_layers=1, max_epochs=2, channel_axis=-1, random_state=0)
    if Estimator is FNORegressor:
        params["n_modes"] = (3, 3, 2)
    est = Estimator(**params).fit(X, y)
    assert est.n_dim_ == 3 and est.grid_shape_ == (8, 8, 6)
    assert est.n_channels_in_ == 2 and est.n_outputs_ == 2
    assert est.predict(X).shape == X.shape
    assert est.predict(rng.standard_normal((1, 12, 8, 10, 2))).shape == (1, 12, 8, 10, 2)


@pytest.mark.slow
def test_scalar_target_learned():
    # Function-to-scalar: the mean energy of the heat solution, a nonlinear functional of X.
    kw = dict(diffusivity=0.005)
    X, u = make_heat(1000, 32, random_state=0, **kw)
    X_test, u_test = make_heat(100, 32, random_state=1, **kw)
    s, s_test = (u**2).mean(axis=1), (u_test**2).mean(axis=1)
    est = AMFNORegressor(width=16, n_layers=2, lr=5e-3, max_epochs=15, random_state=0).fit(X, s)
    assert est.target_kind_ == "scalar"
    pred = est.predict(X_test)
    assert pred.shape == (100,)
    assert np.linalg.norm(pred - s_test) / np.linalg.norm(s_test) < 5e-2


def test_vector_and_multichannel_field_targets():
    X, u = make_heat(40, 16, random_state=0)
    vec = np.stack([u.mean(1), (u**2).mean(1), u.max(1)], axis=1)
    est = AMFNORegressor(width=8, n_layers=1, max_epochs=2, random_state=0).fit(X, vec)
    assert est.target_kind_ == "vector" and est.predict(X).shape == (40, 3)
    field = np.stack([u, 2 * u], axis=-1)
    est.fit(X, field)
    assert est.target_kind_ == "field" and est.n_outputs_ == 2
    assert est.predict(X).shape == (40, 16, 2)


def test_parameter_count_does_not_depend_on_the_grid():
    X32, y32 = make_heat(8, 32, random_state=0)
    X64, y64 = make_heat(8, 64, random_state=0)
    small = dict(width=8, n_layers=2, max_epochs=1, random_state=0)
    am = [AMFNORegressor(**small).fit(X, y).n_parameters_ for X, y in [(X32, y32), (X64, y64)]]
    fno_plus = [
        FNORegressor(n_modes=None, **small).fit(X, y).n_parameters_ for X, y in [(X32, y32), (X64, y64)]
    ]
    assert am[0] == am[1]
    assert fno_plus[1] > fno_plus[0]
    # n_parameters_ counts complex weights twice: FNO+ spectral weights are 2 * 8 * 8 * 17 per layer.
    est = FNORegressor(n_modes=None, **small).fit(X32, y32)
    spectral = 2 * sum(p.numel() for p in est.module_.parameters() if p.is_complex())
    assert spectral == 2 * 2 * 8 * 8 * 17


def test_same_random_state_gives_identical_predictions():
    X, y = make_heat(32, 16, random_state=0)
    a = AMFNORegressor(width=8, n_layers=2, max_epochs=3, random_state=7).fit(X, y).predict(X)
    b = AMFNORegressor(width=8, n_layers=2, max_epochs=3, random_state=7).fit(X, y).predict(X)
    c = AMFNORegressor(width=8, n_layers=2, max_epochs=3, random_state=8).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # fitting leaves torch's global random state alone
    state = torch.random.get_rng_state()
    AMFNORegressor(width=8, n_layers=1, max_epochs=1, random_state=0).fit(X, y)
    assert torch.equal(state, torch.random.get_rng_state())


@pytest.mark.parametrize("Estimator", [AMFNORegressor, FNORegressor])
def test_pickle_and_joblib_round_trips(Estimator, tmp_path):
    X, y = make_heat(16, 16, random_state=0)
    est = Estimator(width=8, n_layers=2, max_epochs=2, random_state=0).fit(X, y)
    expected = est.predict(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).predict(X), expected)
    joblib.dump(est, tmp_path / "est.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "est.joblib").predict(X), expected)
    buffer = io.BytesIO()
    torch.save(est.module_.state_dict(), buffer)  # the torch module is a plain state dict too
    assert buffer.tell() > 0


@pytest.mark.filterwarnings("ignore:Setting self.device = cpu")
def test_model_pickled_on_a_gpu_loads_on_a_cpu():
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    X, y = make_heat(8, 16, random_state=0)
    est = AMFNORegressor(width=4, n_layers=1, max_epochs=1, random_state=0).fit(X, y)
    expected = est.predict(X)
    # Mark the net as CUDA-resident, as after a GPU fit: unpickling must fall back to the CPU.
    est.net_.device, est.device_ = "cuda", "cuda"
    with pytest.warns(UserWarning, match="no CUDA devices are available"):
        loaded = pickle.loads(pickle.dumps(est))
    assert loaded.device_ == "cpu"
    np.testing.assert_array_equal(loaded.predict(X), expected)


def test_predict_dtype_and_batching():
    X, y = make_heat(70, 16, random_state=0)
    est = AMFNORegressor(width=8, n_layers=1, max_epochs=1, batch_size=16, random_state=0).fit(X, y)
    out64 = est.predict(X)
    out32 = est.predict(X.astype(np.float32))
    assert out64.dtype == np.float64 and out32.dtype == np.float32
    # chunked prediction (batch_size=16 over 70 samples) equals one-by-one prediction
    one_by_one = np.concatenate([est.predict(X[i : i + 1]) for i in range(5)])
    np.testing.assert_allclose(out64[:5], one_by_one, rtol=1e-5, atol=1e-6)


def test_verbose_prints_epochs(capsys):
    X, y = make_heat(8, 16, random_state=0)
    AMFNORegressor(width=4, n_layers=1, max_epochs=2, verbose=2, random_state=0).fit(X, y)  # 1: a bar
    out = capsys.readouterr().out
    assert "train_loss" in out and out.count("\n") >= 3


def test_history_validation_split_and_callbacks():
    from skorch.callbacks import EarlyStopping

    X, y = make_heat(40, 16, random_state=0)
    est = AMFNORegressor(
        width=4,
        n_layers=1,
        max_epochs=50,
        validation_fraction=0.25,
        callbacks=[EarlyStopping(patience=2, threshold=0.5)],
        random_state=0,
    ).fit(X, y)
    history = est.net_.history
    assert "valid_loss" in history[-1]
    assert len(history) < 50  # stopped early
    # the learning rate follows the cosine schedule
    lrs = AMFNORegressor(width=4, n_layers=1, max_epochs=4, random_state=0).fit(X, y)
    assert lrs.net_.module_ is lrs.module_
    assert len(lrs.net_.history) == 4


def test_score_is_variance_weighted_r2():
    X, y = make_heat(40, 16, random_state=0)
    est = AMFNORegressor(width=8, n_layers=1, max_epochs=3, random_state=0).fit(X, y)
    pred = est.predict(X)
    sse = ((pred - y) ** 2).sum()
    sst = ((y - y.mean(axis=0)) ** 2).sum()
    assert est.score(X, y) == pytest.approx(1 - sse / sst, rel=1e-6)
