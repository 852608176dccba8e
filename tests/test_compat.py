"""The named constraints and the renamed-parameter shim of ``sklearn_amfno._compat``."""

import math
import warnings

import numpy as np
import pytest

from sklearn_amfno._compat import (
    FRACTION,
    N_MODES,
    NON_NEGATIVE_INT,
    OPEN_FRACTION,
    POSITIVE_INT,
    POSITIVE_REAL,
    finite_interval,
    renamed_parameters,
    validate_params,
)


@pytest.mark.parametrize(
    "constraint, good, bad",
    [
        (POSITIVE_INT, [1, np.int64(7)], [0, -1, 1.0, True, np.bool_(True)]),
        (NON_NEGATIVE_INT, [0, 3], [-1, 0.5, False]),
        (POSITIVE_REAL, [1e-9, 2, 3.5], [0, -1.0, True]),
        (FRACTION, [1.0, 0.5], [0, 1.5, True]),
        (OPEN_FRACTION, [0.5], [0, 1, 1.0]),
        (N_MODES[1:2], [12], [0, True]),
    ],
)
def test_named_constraints_accept_and_refuse(constraint, good, bad):
    (interval,) = constraint
    assert all(interval.is_satisfied_by(v) for v in good)
    assert not any(interval.is_satisfied_by(v) for v in bad)


def test_finite_interval_refuses_nan_inf_and_says_finite():
    @validate_params({"nu": [finite_interval(0, None, closed="neither")]}, prefer_skip_nested_validation=True)
    def f(nu):
        return nu

    assert f(0.5) == 0.5
    for bad in (math.inf, math.nan, -1.0, True):
        with pytest.raises(ValueError, match=r"'nu' parameter of .*f must be a finite float"):
            f(bad)


def test_renamed_parameter_warns_maps_and_refuses_both_names():
    @renamed_parameters({"t": "time"}, since="0.2.0", removed_in="0.4.0")
    def g(time=1.0):
        return time

    with pytest.warns(FutureWarning, match="'t' was renamed 'time' in 0.2.0"):
        assert g(t=3.0) == 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert g(time=2.0) == 2.0
    with pytest.raises(TypeError, match="got both 't'"):
        g(t=1.0, time=2.0)
