"""GridFunctionTransformer and the feature names of the grid transformers.

GridResampler's resampling is tested in test_resampler.py, GridStandardScaler's scaling in
test_sklearn_integration.py.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import sklearn_amfno.preprocessing
from sklearn_amfno import FNORegressor
from sklearn_amfno.preprocessing import GridFunctionTransformer, GridResampler, GridStandardScaler

FAST = dict(width=4, n_layers=1, max_epochs=2, random_state=0)


def _fields(shape=(12, 8, 8), seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize(
    "shape, channel_axis", [((5, 16), None), ((5, 8, 8), None), ((5, 4, 4, 4), None), ((5, 8, 8, 3), -1)]
)
def test_grid_function_transformer_applies_the_function_in_the_layout_of_x(shape, channel_axis):
    X = _fields(shape)
    transformer = GridFunctionTransformer(np.tanh, np.arctanh, channel_axis=channel_axis).fit(X)
    np.testing.assert_array_equal(transformer.transform(X), np.tanh(X))
    np.testing.assert_allclose(transformer.inverse_transform(transformer.transform(X)), X, atol=1e-12)
    # Any grid of the fitted dimension.
    finer = _fields(
        (2, *(2 * n for n in shape[1:-1]), shape[-1]) if channel_axis else (2, *(2 * n for n in shape[1:]))
    )
    assert transformer.transform(finer).shape == finer.shape


def test_grid_function_transformer_passes_keyword_arguments_and_defaults_to_the_identity():
    X = _fields()

    def scale(a, factor):
        return a * factor

    scaled = GridFunctionTransformer(scale, scale, kw_args={"factor": 3.0}, inv_kw_args={"factor": 1 / 3})
    np.testing.assert_array_equal(scaled.fit_transform(X), 3.0 * X)
    np.testing.assert_allclose(scaled.inverse_transform(3.0 * X), X, rtol=1e-15)
    identity = GridFunctionTransformer().fit(X)
    np.testing.assert_array_equal(identity.transform(X), X)
    np.testing.assert_array_equal(identity.inverse_transform(X), X)


def test_sklearn_function_transformer_refuses_fields_where_the_grid_one_accepts_them():
    X = np.abs(_fields())
    with pytest.raises(ValueError, match="Found array with dim 3"):
        FunctionTransformer(np.log1p, np.expm1, validate=True).fit(X)
    assert GridFunctionTransformer(np.log1p, np.expm1).fit(X).transform(X).shape == X.shape


def test_grid_function_transformer_warns_when_the_functions_are_not_inverses():
    X = _fields()
    with pytest.warns(UserWarning, match="not inverses of each other"):
        GridFunctionTransformer(np.exp, np.sqrt).fit(X)
    with pytest.warns(UserWarning, match="not inverses"):
        TransformedTargetRegressor(
            regressor=FNORegressor(n_modes=2, **FAST),
            transformer=GridFunctionTransformer(np.exp, np.sqrt),
            check_inverse=False,  # the regressor's own check (a second warning)
        ).fit(X, X)
    # check_inverse=False silences it, as scikit-learn's.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GridFunctionTransformer(np.exp, np.sqrt, check_inverse=False).fit(X)


def test_grid_function_transformer_errors_say_what_was_expected_and_what_came():
    X = _fields()
    with pytest.raises(ValueError, match="channels"):
        GridFunctionTransformer(channel_axis=-1).fit(_fields((4, 8, 8, 2))).transform(_fields((4, 8, 8, 3)))
    with pytest.raises(ValueError, match="grid"):
        GridFunctionTransformer().fit(X).transform(_fields((4, 8)))
    with pytest.raises(ValueError, match=r"turned X of shape \(12, 8, 8\) into an array of shape \(12, 64\)"):
        GridFunctionTransformer(lambda a: a.reshape(len(a), -1)).fit_transform(X)
    with pytest.raises(ValueError, match="NaN|infinity"):
        GridFunctionTransformer().fit(np.full((2, 8), np.nan))
    with pytest.raises(ValueError, match="'func' parameter of GridFunctionTransformer"):
        GridFunctionTransformer(func="log").fit(X)
    # validate=False hands anything to the function, as scikit-learn's.
    assert GridFunctionTransformer(np.ravel, validate=False).fit_transform(X).shape == (X.size,)


@pytest.mark.parametrize(
    "y, transformer",
    [
        (np.exp(_fields()), GridFunctionTransformer(np.log1p, np.expm1)),
        (
            np.exp(np.stack([_fields(), _fields(seed=1)], axis=-1)),
            GridFunctionTransformer(np.log, np.exp, channel_axis=-1),
        ),
        (np.exp(_fields()).sum(axis=(1, 2)), GridFunctionTransformer(np.log, np.exp)),
    ],
    ids=["field", "field-with-channels", "scalar"],
)
def test_transformed_target_regressor_learns_a_log_transformed_target(y, transformer):
    X = _fields()
    model = TransformedTargetRegressor(regressor=FNORegressor(n_modes=2, **FAST), transformer=transformer)
    model.fit(X, y)
    prediction = model.predict(X)
    assert prediction.shape == y.shape and np.all(prediction > 0)  # back through the exponential
    # The regressor learned the transformed target.
    inner = model.regressor_.predict(X)
    inner = inner[:, np.newaxis] if inner.ndim == 1 else inner  # as TransformedTargetRegressor does
    np.testing.assert_allclose(model.transformer_.inverse_transform(inner).reshape(y.shape), prediction)


def test_grid_function_transformer_clones_and_pipelines():
    X = _fields()
    transformer = GridFunctionTransformer(np.tanh, kw_args=None)
    assert clone(transformer).get_params() == transformer.get_params()
    pipe = make_pipeline(transformer, FNORegressor(n_modes=2, **FAST)).fit(X, X)
    assert pipe.predict(X).shape == X.shape


# -- feature names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "transformer",
    [GridStandardScaler(), GridFunctionTransformer(np.tanh)],
    ids=["GridStandardScaler", "GridFunctionTransformer"],
)
@pytest.mark.parametrize("shape", [(4, 6), (4, 3, 2)], ids=["1-D", "2-D"])
def test_one_to_one_transformers_pass_the_names_of_the_values_through(transformer, shape):
    X = _fields(shape)
    fitted = clone(transformer).fit(X)
    n_values = int(np.prod(shape[1:]))
    assert fitted.n_features_in_ == n_values
    assert list(fitted.get_feature_names_out()) == [f"x{i}" for i in range(n_values)]
    names = [f"u[{i}]" for i in range(n_values)]
    assert list(fitted.get_feature_names_out(names)) == names
    with pytest.raises(ValueError, match="input_features"):
        fitted.get_feature_names_out(names[:-1])


def test_grid_function_transformer_feature_names_follow_feature_names_out():
    X = _fields((4, 3))
    named = GridFunctionTransformer(
        np.log1p, feature_names_out=lambda self, names: [f"log1p({n})" for n in names]
    )
    assert list(named.fit(X).get_feature_names_out()) == ["log1p(x0)", "log1p(x1)", "log1p(x2)"]
    assert not hasattr(GridFunctionTransformer(feature_names_out=None).fit(X), "get_feature_names_out")


def test_a_pipeline_of_grid_transformers_names_its_output():
    X = _fields((4, 8))
    pipe = make_pipeline(GridStandardScaler(), GridFunctionTransformer(np.tanh), GridResampler(4)).fit(X)
    assert list(pipe.get_feature_names_out()) == [f"gridresampler{i}" for i in range(4)]


def test_preprocessing_exports_its_public_names():
    assert set(sklearn_amfno.preprocessing.__all__) == {
        "GridFunctionTransformer",
        "GridResampler",
        "GridStandardScaler",
        "channel_mean_std",
        "channel_scale",
        "channel_statistics",
    }


# -- GridStandardScaler(per_point=True) -----------------------------------------------------------


@pytest.mark.parametrize("channel_axis, shape", [(None, (7, 5, 4)), (-1, (7, 5, 4, 2))])
def test_per_point_scaling_is_sklearns_standard_scaler_of_the_flattened_samples(channel_axis, shape):
    X = np.random.default_rng(0).standard_normal(shape) * np.arange(1, np.prod(shape[1:]) + 1).reshape(
        shape[1:]
    )
    X[:, 0] = 3.0  # a point that never varies: scale 1, mapped to 0
    scaler = GridStandardScaler(channel_axis=channel_axis, per_point=True).fit(X)
    reference = StandardScaler().fit(X.reshape(len(X), -1))
    flat = scaler.transform(X).reshape(len(X), -1)
    np.testing.assert_allclose(flat, reference.transform(X.reshape(len(X), -1)), atol=1e-12)
    assert scaler.mean_.shape == shape[1:] and scaler.scale_.shape == shape[1:]
    assert np.all(scaler.scale_[0] == 1.0) and np.all(scaler.transform(X)[:, 0] == 0.0)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X)), X, rtol=1e-12, atol=1e-12)


def test_per_point_scaling_recovers_a_small_deformation_that_channel_scaling_flattens():
    # A mesh-like input: a large fixed coordinate field plus a per-sample displacement of 1e-3.
    rng = np.random.default_rng(0)
    base = np.linspace(0.0, 40.0, 30)[None, :]
    X = base + 1e-3 * rng.standard_normal((50, 1)) * np.exp(-base / 5)
    channel = GridStandardScaler().fit_transform(X)
    point = GridStandardScaler(per_point=True).fit_transform(X)
    # Per channel, every sample is the same field to ~1e-4; per point, the displacement is O(1).
    assert np.abs(channel - channel.mean(0)).max() < 1e-3
    np.testing.assert_allclose(point[:, :5].std(0), 1.0, rtol=1e-12)


def test_per_point_scaling_refuses_another_grid_and_a_non_bool():
    scaler = GridStandardScaler(per_point=True).fit(np.random.default_rng(0).standard_normal((4, 6, 5)))
    with pytest.raises(ValueError, match=r"fitted on the grid \(6, 5\).*on the grid \(6, 6\).*GridResampler"):
        scaler.transform(np.zeros((2, 6, 6)))
    GridStandardScaler().fit(np.zeros((4, 6, 5))).transform(np.zeros((2, 6, 6)))  # per channel: any grid
    with pytest.raises(TypeError, match="per_point must be a bool, got 'yes'"):
        GridStandardScaler(per_point="yes").fit(np.zeros((4, 6, 5)))
