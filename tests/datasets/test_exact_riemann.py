import numpy as np
import pytest

from sklearn_amfno.datasets import exact_riemann_euler

SOD_LEFT = (1.0, 0.0, 1.0)
SOD_RIGHT = (0.125, 0.0, 0.1)


def test_exact_riemann_sod_reference_values():
    # Star-region values of Sod's problem (Toro, Table 4.3): p* = 0.30313, u* = 0.92745.
    rho, v, p = exact_riemann_euler(SOD_LEFT, SOD_RIGHT, np.array([0.0, 0.55, 0.75, 1.0]), 0.2)
    np.testing.assert_allclose(p[1:3], 0.30313, atol=1e-5)
    np.testing.assert_allclose(v[1:3], 0.92745, atol=1e-5)
    np.testing.assert_allclose(rho[1], 0.42632, atol=1e-5)  # left of the contact
    np.testing.assert_allclose(rho[2], 0.26557, atol=1e-5)  # right of the contact
    np.testing.assert_allclose([rho[0], p[0], rho[3], p[3]], [1.0, 1.0, 0.125, 0.1])


def test_vacuum_refused():
    with pytest.raises(ValueError, match="vacuum"):
        exact_riemann_euler((1.0, -20.0, 1.0), (1.0, 20.0, 1.0), np.zeros(1), 0.1)


def test_invalid_parameters():
    with pytest.raises(ValueError, match=r"left and right must each be a state \(rho, v, p\)"):
        exact_riemann_euler((1.0, 0.0), (1.0, 0.0, 1.0), np.zeros(1), 0.1)
    with pytest.raises(ValueError, match="densities and pressures must be > 0"):
        exact_riemann_euler((1.0, 0.0, -1.0), (1.0, 0.0, 1.0), np.zeros(1), 0.1)
    with pytest.raises(
        ValueError,
        match=r"'time' parameter of exact_riemann_euler must be a finite float in the range "
        r"\(0\.0, inf\)\. Got 0",
    ):
        exact_riemann_euler((1.0, 0.0, 1.0), (1.0, 0.0, 1.0), np.zeros(1), 0)


def test_t_renamed_time():
    x = np.linspace(0, 1, 11)
    with pytest.warns(FutureWarning, match="'t' was renamed 'time' in 0.2.0"):
        old = exact_riemann_euler(SOD_LEFT, SOD_RIGHT, x, t=0.2)
    np.testing.assert_array_equal(old, exact_riemann_euler(SOD_LEFT, SOD_RIGHT, x, time=0.2))
