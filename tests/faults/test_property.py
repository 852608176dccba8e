"""Property: whatever arrays come, ``fit`` and ``predict`` succeed with finite output of the
documented shape and dtype, or raise ValueError/TypeError -- never another exception, never NaN.

Random shapes (1-D/2-D/3-D grids, with and without a channel axis, 1-point and empty axes, wrong
ranks), dtypes (float16/32/64, int, bool, complex, object, strings, nested lists) and values
(NaN, inf, huge, tiny, subnormal, zeros) for X and y, on two tiny estimators. Hypothesis runs
derandomized (the same examples every run) with a bounded number of examples.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sklearn_amfno import AMFNORegressor, FNORegressor

ESTIMATORS = {
    "fno": lambda channel_axis: FNORegressor(
        width=2, n_layers=1, n_modes=2, max_epochs=1, channel_axis=channel_axis, device="cpu", random_state=0
    ),
    "amfno": lambda channel_axis: AMFNORegressor(
        width=2, n_layers=1, max_epochs=1, channel_axis=channel_axis, device="cpu", random_state=0
    ),
}

DTYPES = ["float64", "float32", "float16", "int64", "uint8", "bool", "complex128", "object", "str", "list"]

# How the values of an array are made: ordinary numbers, one special value among them, or all
# values of one kind.
VALUES = [
    "normal",
    "one_nan",
    "one_inf",
    "one_neg_inf",
    "one_huge",
    "one_beyond_float32",
    "one_subnormal",
    "all_huge",
    "all_float32_max",
    "all_tiny",
    "all_subnormal",
    "all_zero",
    "constant",
]

SETTINGS = settings(
    derandomize=True,
    database=None,
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _values(kind: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    a = rng.standard_normal(shape)
    size = a.size
    if kind.startswith("one_") and size:
        special = {
            "one_nan": np.nan,
            "one_inf": np.inf,
            "one_neg_inf": -np.inf,
            "one_huge": 1e30,
            "one_beyond_float32": 1e39,
            "one_subnormal": 1e-45,
        }[kind]
        a.flat[rng.integers(size)] = special
    elif kind == "all_huge":
        a *= 1e30
    elif kind == "all_float32_max":
        a = np.sign(a) * 3.0e38
    elif kind == "all_tiny":
        a *= 1e-30
    elif kind == "all_subnormal":
        a = np.sign(a) * 1e-45
    elif kind == "all_zero":
        a = np.zeros(shape)
    elif kind == "constant":
        a = np.full(shape, 2.5)
    return a


def _as_dtype(a: np.ndarray, dtype: str):
    if dtype in ("float64", "float32", "float16"):
        with np.errstate(over="ignore"):
            return a.astype(dtype)
    if dtype in ("int64", "uint8"):
        with np.errstate(invalid="ignore"):
            return np.nan_to_num(np.round(a), posinf=1, neginf=-1).clip(-100, 100).astype(dtype)
    if dtype == "bool":
        return a > 0
    if dtype == "complex128":
        with np.errstate(invalid="ignore"):
            return a + 0.5j * a
    if dtype == "object":
        return a.astype(object)
    if dtype == "str":
        return a.astype(str)
    return a.tolist()  # "list": nested Python lists


FINITE_VALUES = [
    "normal",
    "one_huge",
    "one_subnormal",
    "all_huge",
    "all_float32_max",
    "all_tiny",
    "all_subnormal",
    "all_zero",
    "constant",
]


@st.composite
def cases(draw):
    """X, y (array-likes) for fit, an X for predict, and the estimator's ``channel_axis``.

    Half the examples are valid input (float arrays of any finite values on a non-empty grid,
    a field or per-sample target), so that training and prediction run; the other half mix in
    every dtype, non-finite values, empty axes, wrong ranks and shapes.
    """
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    valid = draw(st.booleans())
    dtypes = st.sampled_from(["float64", "float32"] if valid else DTYPES)
    values = st.sampled_from(FINITE_VALUES if valid else VALUES)
    n_dim = draw(st.sampled_from([1, 2, 3]))
    sizes = st.integers(1, 4) if valid or draw(st.booleans()) else st.integers(0, 4)
    grid = tuple(draw(st.lists(sizes, min_size=n_dim, max_size=n_dim)))
    n_samples = draw(st.integers(1 if valid else 0, 3))
    channel_axis = draw(st.sampled_from([None, -1]))
    n_channels = draw(st.integers(1 if valid else 0, 2)) if channel_axis == -1 else None
    x_shape = (n_samples, *grid) + ((n_channels,) if channel_axis == -1 else ())
    if not valid and draw(st.integers(0, 4)) == 0:  # a wrong rank now and then
        x_shape = tuple(draw(st.lists(st.integers(0, 3), min_size=0, max_size=6)))
    # y: a field (with or without channels), a per-sample target, or something else.
    y_kinds = ["field", "field_channels", "scalar", "vector"] + ([] if valid else ["other", "short"])
    y_kind = draw(st.sampled_from(y_kinds))
    n_out = draw(st.integers(1 if valid else 0, 2))
    y_shape = {
        "field": (n_samples, *grid),
        "field_channels": (n_samples, *grid, n_out),
        "scalar": (n_samples,),
        "vector": (n_samples, n_out),
        "other": tuple(draw(st.lists(st.integers(0, 3), min_size=0, max_size=5))),
        "short": (max(n_samples - 1, 0), *grid),
    }[y_kind]
    X = _as_dtype(_values(draw(values), x_shape, rng), draw(dtypes))
    y = _as_dtype(_values(draw(values), y_shape, rng), draw(dtypes))
    # predict: the training X, or another grid of the same dimension, other dtypes and values.
    if draw(st.booleans()):
        X_pred = X
    else:
        pred_sizes = st.integers(1 if valid else 0, 5)
        pred_grid = tuple(draw(st.lists(pred_sizes, min_size=n_dim, max_size=n_dim)))
        pred_shape = (draw(st.integers(1 if valid else 0, 3)), *pred_grid) + (
            (n_channels,) if channel_axis == -1 else ()
        )
        X_pred = _as_dtype(_values(draw(values), pred_shape, rng), draw(dtypes))
    return X, y, X_pred, channel_axis


def _expected_prediction_shape(estimator, X_pred, y) -> tuple[int, ...]:
    """The documented layout: that of the training ``y``, on X_pred's grid."""
    X_pred = np.asarray(X_pred)
    n = X_pred.shape[0]
    grid = X_pred.shape[1:] if estimator.channel_axis is None else X_pred.shape[1:-1]
    y_shape = np.shape(y)
    if estimator.target_kind_ == "scalar":
        return (n,)
    if estimator.target_kind_ == "vector":
        return (n, y_shape[1])
    return (n, *grid) + ((y_shape[-1],) if estimator._y_has_channels else ())


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@SETTINGS
@given(case=cases())
def test_fit_predict_either_succeed_finitely_or_raise_value_or_type_error(name, case):
    X, y, X_pred, channel_axis = case
    estimator = ESTIMATORS[name](channel_axis)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            estimator.fit(X, y)
        except (ValueError, TypeError):
            return
        try:
            out = estimator.predict(X_pred)
        except (ValueError, TypeError):
            return
    assert isinstance(out, np.ndarray)
    assert out.shape == _expected_prediction_shape(estimator, X_pred, y)
    expected_dtype = np.float32 if getattr(X_pred, "dtype", None) == np.float32 else np.float64
    assert out.dtype == expected_dtype
    assert np.isfinite(out).all(), f"non-finite predictions: {out}"
