"""Nothing silent in the data contract and the metrics (issue 21).

Before: ``FNORegressor(channel_axis=-1).fit(np.zeros((16, 16, 0)), y)`` fitted with
``n_channels_in_=0``; ``fit(X (16, 16), y (16, 15))`` and a 1-D ``make_pipeline(GridResampler(16),
FNORegressor())`` on 32-point fields silently became 15- and 32-output vector regressions; the
metrics returned NaN for NaN predictions. Now: empty channel and grid axes are refused in fit and
predict, in memory and streamed; ``target_kind`` states the kind of target, and its default
``"auto"`` warns when a target off X's grid looks like a field; the metrics refuse non-finite
inputs as scikit-learn's do.
"""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

import sklearn_amfno
from sklearn_amfno import (
    AFNORegressor,
    AMFNORegressor,
    EnsembleRegressor,
    FFNORegressor,
    FNORegressor,
    LSMRegressor,
    OFormerRegressor,
    UFNORegressor,
)
from sklearn_amfno._data_contract import FIELD_LIKE_VALUES, TargetKindWarning
from sklearn_amfno._model_file import FORMAT_TENSOR, read_container, write_container
from sklearn_amfno.metrics import (
    degenerate_target_mask,
    relative_h1_error,
    relative_h1_scorer,
    relative_l2_error,
    relative_l2_scorer,
    rollout_error,
    rollout_error_scorer,
    spectral_error,
    spectral_high_error_scorer,
    typical_norm,
)
from sklearn_amfno.preprocessing import GridResampler

RNG = np.random.default_rng(0)
X = RNG.standard_normal((16, 16))
X_CHANNELS = RNG.standard_normal((16, 16, 2))
TINY = dict(width=4, n_layers=1, max_epochs=1, batch_size=8, random_state=0, device="cpu")

ALL_ESTIMATORS = [
    AMFNORegressor,
    FNORegressor,
    FFNORegressor,
    UFNORegressor,
    AFNORegressor,
    OFormerRegressor,
    LSMRegressor,
]


def _fno(**params):
    return FNORegressor(n_modes=4, **{**TINY, **params})


def _memmap(a: np.ndarray, path) -> np.memmap:
    np.save(path, a)
    return np.load(path, mmap_mode="r")


# -- empty axes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("lazy", [False, True], ids=["in_memory", "memmap"])
def test_fit_refuses_an_empty_channel_axis(lazy, tmp_path):
    X_empty = np.zeros((16, 16, 0))
    if lazy:
        X_empty = _memmap(X_empty, tmp_path / "X.npy")
    with pytest.raises(
        ValueError, match=r"X of shape \(16, 16, 0\) has an empty channel axis .*at least one channel"
    ):
        _fno(channel_axis=-1).fit(X_empty, X)


@pytest.mark.parametrize("lazy", [False, True], ids=["in_memory", "memmap"])
def test_fit_refuses_a_target_with_an_empty_channel_axis(lazy, tmp_path):
    y_empty = np.zeros((16, 16, 0))
    if lazy:
        y_empty = _memmap(y_empty, tmp_path / "y.npy")
    with pytest.raises(
        ValueError, match=r"y of shape \(16, 16, 0\) has an empty axis: expected at least one value"
    ):
        _fno().fit(X, y_empty)


@pytest.mark.parametrize("lazy", [False, True], ids=["in_memory", "memmap"])
def test_fit_refuses_an_empty_grid_axis(lazy, tmp_path):
    X_empty = np.zeros((16, 0, 2))
    if lazy:
        X_empty = _memmap(X_empty, tmp_path / "X.npy")
    with pytest.raises(ValueError, match=r"X of shape \(16, 0, 2\) has an empty grid axis"):
        _fno(channel_axis=-1).fit(X_empty, np.zeros((16, 0)))


@pytest.fixture(scope="module")
def channels_model():
    return _fno(channel_axis=-1).fit(X_CHANNELS, X_CHANNELS[..., 0])


@pytest.mark.parametrize("lazy", [False, True], ids=["in_memory", "memmap"])
@pytest.mark.parametrize(
    "shape, message",
    [((4, 16, 0), "has an empty channel axis"), ((4, 0, 2), "has an empty grid axis")],
    ids=["channel", "grid"],
)
def test_predict_refuses_empty_axes(channels_model, lazy, shape, message, tmp_path):
    X_empty = np.zeros(shape)
    if lazy:
        X_empty = _memmap(X_empty, tmp_path / "X.npy")
    with pytest.raises(ValueError, match=rf"X of shape \({shape[0]}, {shape[1]}, {shape[2]}\) {message}"):
        channels_model.predict(X_empty)


# -- target_kind="auto": the inference of before, with a warning where it looks like a field ----


def test_auto_target_kind_warns_when_a_target_off_a_1d_grid_looks_like_a_field():
    with pytest.warns(TargetKindWarning) as record:
        est = _fno().fit(X, RNG.standard_normal((16, 15)))
    message = str(record[0].message)
    assert "y of shape (16, 15)" in message and "X of shape (16, 16)" in message
    assert "vector of 15 outputs" in message
    assert "target_kind='vector'" in message and "target_kind='field'" in message
    assert est.target_kind_ == "vector" and est.n_outputs_ == 15  # the reading of before, stated


def test_a_1d_pipeline_that_resamples_only_x_warns_and_target_kind_field_refuses_it():
    X32 = RNG.standard_normal((16, 32))
    with pytest.warns(
        TargetKindWarning, match=r"y of shape \(16, 32\) does not lie on the grid of X of shape \(16, 16\)"
    ):
        make_pipeline(GridResampler(16), _fno()).fit(X32, X32)
    with pytest.raises(
        ValueError,
        match=r"target_kind='field' expects y on X's grid.*"
        r"got y of shape \(16, 32\) with X of shape \(16, 16\)",
    ):
        make_pipeline(GridResampler(16), _fno(target_kind="field")).fit(X32, X32)


def test_auto_target_kind_warns_for_a_flattened_field_on_a_2d_grid():
    X2 = RNG.standard_normal((16, 4, 4))
    with pytest.warns(TargetKindWarning, match=r"y of shape \(16, 16\)"):
        _fno().fit(X2, X2.reshape(16, -1))


@pytest.mark.parametrize(
    "x, y",
    [
        (X, RNG.standard_normal(16)),  # a scalar
        (X, RNG.standard_normal((16, FIELD_LIKE_VALUES - 1))),  # a few outputs (the checks use 5)
        (X, X),  # a field on the 1-D grid
        (RNG.standard_normal((16, 4, 4)), RNG.standard_normal((16, 12))),  # not a multiple of 16
    ],
    ids=["scalar", "few_outputs", "field", "vector_on_2d_grid"],
)
def test_auto_target_kind_is_quiet_where_the_target_cannot_be_mistaken(x, y):
    with warnings.catch_warnings():
        warnings.simplefilter("error", TargetKindWarning)
        _fno().fit(x, y)


def test_auto_target_kind_warns_for_streamed_data_before_reading_them(tmp_path):
    X_lazy = _memmap(X, tmp_path / "X.npy")
    with pytest.warns(TargetKindWarning, match=r"y of shape \(16, 15\)"):
        est = _fno().fit(X_lazy, RNG.standard_normal((16, 15)))
    assert est.target_kind_ == "vector"


# -- target_kind="field" -----------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL_ESTIMATORS, ids=lambda c: c.__name__)
def test_target_kind_field_refuses_a_target_off_the_grid_quoting_both_shapes(cls):
    with pytest.raises(ValueError, match=r"got y of shape \(16, 15\) with X of shape \(16, 16\)"):
        cls(target_kind="field", **TINY).fit(X, RNG.standard_normal((16, 15)))
    with pytest.raises(ValueError, match=r"got y of shape \(16,\) with X of shape \(16, 16\)"):
        cls(target_kind="field", **TINY).fit(X, RNG.standard_normal(16))


def test_target_kind_field_refuses_streamed_data_off_the_grid(tmp_path):
    X_lazy = _memmap(X, tmp_path / "X.npy")
    y_lazy = _memmap(RNG.standard_normal((16, 15)), tmp_path / "y.npy")
    with pytest.raises(ValueError, match=r"target_kind='field' expects y on X's grid.*\(16, 15\)"):
        _fno(target_kind="field").fit(X_lazy, y_lazy)


def test_target_kind_field_learns_a_field():
    est = _fno(target_kind="field").fit(X_CHANNELS[..., 0], X_CHANNELS)
    assert est.target_kind_ == "field" and est.predict(RNG.standard_normal((2, 32))).shape == (2, 32, 2)


# -- target_kind="vector" ----------------------------------------------------------------------


def test_target_kind_vector_learns_a_target_on_a_1d_grid_as_a_vector():
    est = _fno(target_kind="vector").fit(X, X)
    assert est.target_kind_ == "vector" and est.n_outputs_ == 16
    # A vector does not follow the input grid: 16 values per sample on a 32-point grid too.
    assert est.predict(RNG.standard_normal((3, 32))).shape == (3, 16)
    assert _fno().fit(X, X).target_kind_ == "field"  # what "auto" reads


def test_target_kind_vector_silences_the_warning_and_keeps_scalars():
    with warnings.catch_warnings():
        warnings.simplefilter("error", TargetKindWarning)
        assert _fno(target_kind="vector").fit(X, RNG.standard_normal((16, 15))).target_kind_ == "vector"
    assert _fno(target_kind="vector").fit(X, RNG.standard_normal(16)).target_kind_ == "scalar"


def test_target_kind_vector_refuses_a_target_of_higher_rank():
    X2 = RNG.standard_normal((16, 4, 4))
    with pytest.raises(
        ValueError,
        match=r"target_kind='vector' expects .*got y of shape \(16, 4, 4\) \(a field on X's grid\)",
    ):
        _fno(target_kind="vector").fit(X2, X2)


def test_target_kind_is_validated():
    with pytest.raises(ValueError, match="'target_kind' parameter of FNORegressor must be a str among"):
        _fno(target_kind="scalar").fit(X, X)


# -- warm start, persistence, meta-estimators --------------------------------------------------


def test_warm_start_refuses_a_target_kind_that_changes_the_kind():
    est = _fno(warm_start=True).fit(X, X)
    est.set_params(target_kind="vector")
    with pytest.raises(
        ValueError, match=r"kind of target 'vector' \(target_kind='vector'\) now, 'field' in the previous fit"
    ):
        est.fit(X, X)
    assert est.target_kind_ == "field" and est.n_epochs_ == 1  # left as it was


def test_warm_start_goes_on_when_target_kind_names_the_kind_it_had():
    est = _fno(warm_start=True).fit(X, X)
    est.set_params(target_kind="field").fit(X, X)
    assert est.target_kind_ == "field" and est.n_epochs_ == 2


def test_a_file_saved_before_target_kind_existed_loads_the_model_it_holds(tmp_path):
    est = _fno().fit(X, RNG.standard_normal((16, 3)))
    est.save(tmp_path / "new")
    description, tensors = read_container(tmp_path / "new")
    del description["root"]["params"]["target_kind"]
    tensors = {k: v for k, v in tensors.items() if k != FORMAT_TENSOR}
    write_container(tmp_path / "old", description, tensors)
    loaded = sklearn_amfno.load(tmp_path / "old")
    assert loaded.target_kind == "auto" and loaded.target_kind_ == "vector"
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


@pytest.mark.parametrize("cls", [AMFNORegressor, FNORegressor], ids=lambda c: c.__name__)
def test_a_pickle_made_before_target_kind_existed_unpickles_fits_and_predicts(cls):
    est = cls(**TINY).fit(X, X)
    expected = est.predict(X)
    del est.target_kind
    loaded = pickle.loads(pickle.dumps(est))
    assert loaded.get_params()["target_kind"] == "auto"
    np.testing.assert_array_equal(loaded.predict(X), expected)
    clone(loaded).fit(X, X)


def test_an_ensemble_passes_target_kind_to_its_members():
    ensemble = EnsembleRegressor(_fno(target_kind="vector"), n_estimators=2, random_state=0).fit(X, X)
    assert ensemble.get_params()["estimator__target_kind"] == "vector"
    assert ensemble.predict(RNG.standard_normal((3, 32))).shape == (3, 16)


# -- metrics -----------------------------------------------------------------------------------

TRUE = RNG.standard_normal((6, 16, 2))

METRICS = {
    "relative_l2_error": relative_l2_error,
    "rollout_error": rollout_error,
    "spectral_error": lambda t, p: spectral_error(t, p, channel_axis=-1),
    "relative_h1_error": lambda t, p: relative_h1_error(t, p, channel_axis=-1),
}


@pytest.mark.parametrize("metric", list(METRICS))
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
def test_metrics_refuse_non_finite_predictions_counting_the_samples(metric, bad):
    pred = TRUE.copy()
    pred[1, 3, 0] = bad
    pred[4, :, 1] = bad
    with pytest.raises(ValueError, match=r"Input y_pred contains NaN or infinity in 2 of 6 samples"):
        METRICS[metric](TRUE, pred)


@pytest.mark.parametrize("metric", list(METRICS))
def test_metrics_refuse_non_finite_targets(metric):
    true = TRUE.copy()
    true[0, 0, 0] = np.nan
    with pytest.raises(
        ValueError, match=r"Input y_true contains NaN or infinity in 1 of 6 samples \(1 with NaN\)"
    ):
        METRICS[metric](true, TRUE)


def test_target_norm_helpers_refuse_non_finite_targets():
    y = np.ones((4, 8))
    y[2, 1] = np.nan
    with pytest.raises(ValueError, match="Input y contains NaN"):
        typical_norm(y)
    with pytest.raises(ValueError, match="Input y contains NaN"):
        degenerate_target_mask(y)


class _Diverged(RegressorMixin, BaseEstimator):
    """Predicts NaN for the first sample: what a diverged model's output looks like."""

    def fit(self, X, y):
        return self

    def predict(self, X):
        out = np.array(X, dtype=float)
        out[0] = np.nan
        return out


@pytest.mark.parametrize(
    "scorer, y",
    [
        (relative_l2_scorer, RNG.standard_normal((4, 16))),
        (rollout_error_scorer, RNG.standard_normal((4, 16, 3))),
        (spectral_high_error_scorer, RNG.standard_normal((4, 32))),
        (relative_h1_scorer, RNG.standard_normal((4, 16))),
    ],
    ids=["relative_l2", "rollout", "spectral_high", "relative_h1"],
)
def test_scorers_refuse_non_finite_predictions(scorer, y):
    with pytest.raises(ValueError, match=r"Input y_pred contains NaN or infinity in 1 of 4 samples"):
        scorer(_Diverged().fit(y, y), y, y)


def test_finite_inputs_are_measured_as_before():
    # The check adds no cost to the numbers: a 10 % error stays 0.1.
    assert relative_l2_error(TRUE, 1.1 * TRUE) == pytest.approx(0.1)
    np.testing.assert_allclose(rollout_error(TRUE, 1.1 * TRUE), [0.1, 0.1])


def test_a_search_scores_a_diverged_candidate_with_its_error_score():
    # The refusal reaches scikit-learn's model selection as any failing scorer does: the fold
    # gets error_score (NaN by default) and a warning that quotes the reason.
    y = RNG.standard_normal((8, 16))
    with pytest.warns(UserWarning, match=r"Scoring failed(.|\n)*Input y_pred contains NaN"):
        scores = cross_val_score(_Diverged(), y, y, scoring=relative_l2_scorer, cv=2)
    assert np.isnan(scores).all()


@pytest.mark.parametrize("cls", ALL_ESTIMATORS, ids=lambda c: c.__name__)
def test_every_operator_estimator_documents_target_kind_and_its_warning_rule(cls):
    assert cls().get_params()["target_kind"] == "auto"
    doc = cls.__doc__
    assert 'target_kind : {"auto", "field", "vector"}, default="auto"' in doc
    assert f"``k >= {FIELD_LIKE_VALUES}``" in doc  # the documented rule is the rule applied


def test_a_streamed_vector_target_on_a_1d_grid_is_learned_as_the_in_memory_vector(tmp_path):
    # The streaming pass reads each chunk with the stated kind, never by the "auto" rule.
    X_lazy = _memmap(X, tmp_path / "X.npy")
    est = _fno(target_kind="vector").fit(X_lazy, X)
    assert est.target_kind_ == "vector" and est.n_outputs_ == 16
    in_memory = _fno(target_kind="vector").fit(X, X)
    np.testing.assert_array_equal(est.predict(X), in_memory.predict(X))
