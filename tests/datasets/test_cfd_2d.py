import warnings

import numpy as np
import pytest

from sklearn_amfno.datasets import LargeGenerationWarning, _budget, _cfd_2d, make_cfd_2d, solve_euler_2d

KW = {"n_steps_in": 2, "n_steps_out": 2, "record_interval": 0.01, "random_state": 1}


@pytest.fixture(scope="module")
def data():
    return make_cfd_2d(4, 24, **KW)


def test_shapes_dtype_positivity(data):
    X, y = data
    assert X.shape == (4, 24, 24, 8) and y.shape == (4, 24, 24, 8)
    assert X.dtype == y.dtype == np.float64
    assert X.flags.c_contiguous and y.flags.c_contiguous
    for a in (X, y):
        assert np.all(np.isfinite(a))
        assert a[..., 0::4].min() > 0 and a[..., 3::4].min() > 0  # rho and p positive


def test_frames_are_consecutive_records_of_one_trajectory(data):
    X, y = data
    # One run of 5 frames records the same times (0, 0.01, ..., 0.04), so its first four frames
    # are X and y frame by frame: channels frame-major, (rho, vx, vy, p) per frame.
    X5, y5 = make_cfd_2d(4, 24, **{**KW, "n_steps_in": 4, "n_steps_out": 1})
    np.testing.assert_array_equal(X5[..., :8], X)
    np.testing.assert_array_equal(X5[..., 8:], y)
    # And continuing X's last frame by one record_interval gives y's first frame.
    last = [X[..., 4 + k] for k in range(4)]
    nxt = solve_euler_2d(*last, 0.01, gamma=5 / 3)
    np.testing.assert_allclose(np.stack(nxt, axis=-1), y[..., :4], rtol=0, atol=1e-10)
    # The initial state is the random field, not an advanced one: the velocity changes.
    assert np.abs(y[..., 5] - X[..., 1]).max() > 1e-3


def test_reproducible_and_resolution_independent(data):
    X, y = data
    X2, y2 = make_cfd_2d(4, 24, **KW)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = make_cfd_2d(4, 24, **{**KW, "random_state": 2})
    assert not np.allclose(X, X3)
    # The initial states are point values of the same waves on every grid.
    X48, _ = make_cfd_2d(4, 48, **{**KW, "n_steps_in": 1, "n_steps_out": 1, "record_interval": 1e-4})
    np.testing.assert_allclose(X48[:, ::2, ::2, :4], X[..., :4], rtol=0, atol=1e-13)
    # Every field varies in both directions for some sample (2-D waves, not 1-D ones).
    for k in range(4):
        assert np.abs(np.diff(X[..., k], axis=1)).max() > 1e-3
        assert np.abs(np.diff(X[..., k], axis=2)).max() > 1e-3


@pytest.mark.slow
def test_result_does_not_depend_on_batches_or_workers(data):
    X, y = data
    X1, y1 = make_cfd_2d(4, 24, batch_size=1, **KW)
    np.testing.assert_array_equal(X1, X)
    np.testing.assert_array_equal(y1, y)
    X3, y3 = make_cfd_2d(4, 24, batch_size=3, n_jobs=2, **KW)
    np.testing.assert_array_equal(X3, X)
    np.testing.assert_array_equal(y3, y)


def test_viscous_run():
    X, y = make_cfd_2d(2, 16, viscosity=1e-3, **KW)
    X0, y0 = make_cfd_2d(2, 16, **KW)
    np.testing.assert_array_equal(X[..., :4], X0[..., :4])  # same initial states
    assert 0 < np.abs(y - y0).max() < 0.05


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (
            {"gamma": 0.9},
            r"'gamma' parameter of make_cfd_2d must be a finite float in the range \(1\.0, inf\)\. Got 0\.9",
        ),
        ({"amplitude": 1.0}, r"'amplitude' parameter of make_cfd_2d .* range \[0\.0, 1\.0\)\. Got 1\.0"),
        (
            {"record_interval": 0},
            r"'record_interval' parameter of make_cfd_2d .* range \(0\.0, inf\)\. Got 0",
        ),
        ({"viscosity": -1.0}, r"'viscosity' parameter of make_cfd_2d .* range \[0\.0, inf\)\. Got -1\.0"),
        (
            {"n_steps_out": 0},
            r"'n_steps_out' parameter of make_cfd_2d must be an int in the range \[1, inf\)",
        ),
        ({"resolution": 4}, r"'resolution' parameter of make_cfd_2d must be an int in the range \[8, inf\)"),
        ({"batch_size": 0}, r"'batch_size' parameter of make_cfd_2d must be an int in the range \[1, inf\)"),
        ({"n_jobs": 0}, r"'n_jobs' parameter of make_cfd_2d"),
        ({"max_wavenumber": 0}, r"'max_wavenumber' parameter of make_cfd_2d"),
    ],
)
def test_invalid(kwargs, match):
    kwargs = {"resolution": 16, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_cfd_2d(1, **kwargs)


def test_memory(tmp_path):
    kw = {"n_steps_in": 1, "n_steps_out": 1, "record_interval": 0.005, "random_state": 0}
    a = make_cfd_2d(2, 16, memory=str(tmp_path), **kw)
    assert any(tmp_path.rglob("output.pkl"))
    b = make_cfd_2d(2, 16, memory=str(tmp_path), verbose=True, n_jobs=1, **kw)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


class _Stop(Exception):
    pass


def test_large_request_warns_before_any_work(monkeypatch):
    monkeypatch.setattr(_budget, "total_memory", lambda: 2**40)
    with pytest.warns(LargeGenerationWarning) as record, pytest.raises(_Stop):

        def stop(*args, **kwargs):  # the first piece of work: the warning is out by then
            assert len(record) == 1
            raise _Stop

        monkeypatch.setattr(_cfd_2d, "check_random_state", stop)
        make_cfd_2d(1000, 64, n_steps_in=10, n_steps_out=11)
    msg = str(record[0].message)
    assert msg.startswith("make_cfd_2d(n_samples=1000, resolution=64")
    assert "time steps to T=1 per sample" in msg and "memory=" in msg and "n_jobs=-1" in msg
    assert record[0].filename == __file__


def test_default_size_is_below_the_thresholds():
    # The defaults (100 samples of 64 x 64, 11 frames to T = 0.5) are estimated at ~45 s
    # (measured ~0.35 s of CPU per sample, ~35 s).
    est = _cfd_2d.estimate_cfd_2d(
        100,
        64,
        gamma=5 / 3,
        n_steps_in=10,
        n_steps_out=1,
        record_interval=0.05,
        amplitude=0.5,
        viscosity=0.0,
        batch_size=4,
        n_jobs=None,
    )
    assert not est.is_large, est
    assert est.output_bytes == 100 * 64 * 64 * 4 * 11 * 8
    with warnings.catch_warnings():
        warnings.simplefilter("error", LargeGenerationWarning)
        make_cfd_2d(2, 16, n_steps_in=1, n_steps_out=1, record_interval=0.01, random_state=0)
