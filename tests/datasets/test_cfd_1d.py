import numpy as np
import pytest

from sklearn_amfno.datasets import make_cfd_1d, solve_euler_1d


def test_make_cfd_1d_shapes_channels_determinism():
    X, y = make_cfd_1d(4, 64, n_steps_in=3, n_steps_out=2, record_interval=0.02, random_state=1)
    assert X.shape == (4, 64, 9) and y.shape == (4, 64, 6)
    assert X.dtype == y.dtype == np.float64
    assert X[..., 0::3].min() > 0 and X[..., 2::3].min() > 0  # rho and p positive
    # Frame-major channels: continuing from frame 2 (channels 6:9) for one frame gives y[:3].
    r, v, p = solve_euler_1d(X[..., 6], X[..., 7], X[..., 8], 0.02, gamma=5 / 3)
    np.testing.assert_allclose(np.stack([r, v, p], -1), y[..., :3], atol=1e-10)
    X2, y2 = make_cfd_1d(4, 64, n_steps_in=3, n_steps_out=2, record_interval=0.02, random_state=1)
    np.testing.assert_array_equal(y, y2)
    X3, _ = make_cfd_1d(4, 64, n_steps_in=3, n_steps_out=2, record_interval=0.02, random_state=2)
    assert not np.allclose(X, X3)
    # Initial states do not depend on the grid (exact point values of the same waves).
    X128, _ = make_cfd_1d(4, 128, n_steps_in=1, n_steps_out=1, record_interval=0.02, random_state=1)
    np.testing.assert_allclose(X128[:, ::2, :3], X[..., :3], atol=1e-13)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (
            {"gamma": 0.9},
            r"'gamma' parameter of make_cfd_1d must be a finite float in the range \(1\.0, inf\)\. Got 0\.9",
        ),
        ({"amplitude": 1.0}, r"'amplitude' parameter of make_cfd_1d .* range \[0\.0, 1\.0\)\. Got 1\.0"),
        (
            {"record_interval": 0},
            r"'record_interval' parameter of make_cfd_1d .* range \(0\.0, inf\)\. Got 0",
        ),
        ({"viscosity": -1.0}, r"'viscosity' parameter of make_cfd_1d .* range \[0\.0, inf\)\. Got -1\.0"),
        (
            {"n_steps_out": 0},
            r"'n_steps_out' parameter of make_cfd_1d must be an int in the range \[1, inf\)",
        ),
    ],
)
def test_make_cfd_1d_invalid(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_cfd_1d(1, 16, **kwargs)


def test_make_cfd_1d_memory(tmp_path):
    kw = {"n_steps_in": 1, "n_steps_out": 1, "record_interval": 0.01, "random_state": 0}
    a = make_cfd_1d(2, 32, memory=str(tmp_path), **kw)
    assert any(tmp_path.rglob("output.pkl"))
    b = make_cfd_1d(2, 32, memory=str(tmp_path), verbose=True, **kw)
    np.testing.assert_array_equal(a[1], b[1])


def test_frame_dt_renamed_record_interval():
    kw = {"n_steps_in": 1, "n_steps_out": 1, "random_state": 0}
    with pytest.warns(FutureWarning, match="'frame_dt' was renamed 'record_interval' in 0.2.0"):
        old = make_cfd_1d(2, 16, frame_dt=0.01, **kw)
    new = make_cfd_1d(2, 16, record_interval=0.01, **kw)
    np.testing.assert_array_equal(old[1], new[1])
