"""scikit-learn's estimator checks, for every estimator, with the checks each one fails and why."""

import warnings

import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import estimator_checks_generator
from torch import nn

from sklearn_amfno import (
    AFNORegressor,
    AMFNORegressor,
    EnsembleRegressor,
    FFNORegressor,
    FNORegressor,
    LSMRegressor,
    OFormerRegressor,
    OperatorRegressor,
    UFNORegressor,
)
from sklearn_amfno.preprocessing import GridFunctionTransformer, GridResampler, GridStandardScaler

# Small networks that learn the data of check_regressors_train (R^2 > 0.5 asked) in a few seconds;
# the checks fit each estimator a few dozen times. The other checks fit data no model learns in
# 20 epochs: targets drawn independently of X (check_fit_idempotent, check_n_features_in,
# check_regressors_int, check_sample_weight_equivalence_on_dense_data, ...) or 10-16 samples
# (check_regressor_multioutput, check_sample_weights_*). There the package's ConvergenceWarning
# ("has not learned the map", a final training loss above 0.9) is true, and it is silenced;
# in check_regressors_train it is an error (test_sklearn_estimator_checks).
CHECK_PARAMS = dict(width=8, n_layers=2, max_epochs=20, lr=1e-2, batch_size=16, random_state=0)


class CheckModule(nn.Module):
    """OperatorRegressor's module in the checks: lift, one Fourier layer over every mode, project.

    At module level, so that the checks' pickles find it.
    """

    def __init__(self, in_channels, out_channels, width=8):
        super().__init__()
        self.lift = nn.Conv1d(in_channels, width, 1)
        self.weight = nn.Parameter(torch.randn(width, width, 16, dtype=torch.cfloat) / width)
        self.mix = nn.Conv1d(width, width, 1)
        self.project = nn.Conv1d(width, out_channels, 1)

    def forward(self, x):
        v = self.lift(x)
        spectrum = torch.fft.rfft(v)
        m = min(spectrum.shape[-1], self.weight.shape[-1])
        mixed = torch.zeros_like(spectrum)
        mixed[..., :m] = torch.einsum("bik,iok->bok", spectrum[..., :m], self.weight[..., :m])
        v = torch.fft.irfft(mixed, n=v.shape[-1]) + self.mix(v)
        return self.project(nn.functional.gelu(v))


# One instance per estimator class: the checks exercise the estimator API, which every kernel
# variant shares (the KAN kernel's numerics are tested in test_spectral.py and test_estimators.py).
ESTIMATORS = [
    AMFNORegressor(**CHECK_PARAMS),
    FNORegressor(**CHECK_PARAMS),
    FFNORegressor(**CHECK_PARAMS),
    UFNORegressor(**CHECK_PARAMS),
    AFNORegressor(**CHECK_PARAMS),
    OFormerRegressor(**CHECK_PARAMS, n_heads=2, latent_width=16),
    LSMRegressor(**{**CHECK_PARAMS, "n_layers": 1}, unet_levels=1, patch_size=2, n_heads=2),
    # Two members at half the epochs: the mean of two still learns the check data (R^2 > 0.5).
    EnsembleRegressor(FNORegressor(**{**CHECK_PARAMS, "max_epochs": 10}), n_estimators=2, random_state=0),
    # Any torch module (here with grid coordinates, which a per-sample target needs).
    OperatorRegressor(CheckModule, add_grid=True, max_epochs=20, lr=1e-2, batch_size=16, random_state=0),
    # The transformers of sklearn_amfno.preprocessing.
    GridStandardScaler(),
    GridResampler(),
    GridFunctionTransformer(),
]

# Why a check fails, for each check that some estimator fails.
REASONS = {
    "check_n_features_in_after_fitting": (
        "predict accepts any grid size by design (zero-shot super-resolution): a 2-D X with a "
        "different number of columns is the same function on a different 1-D grid, not an error."
    ),
    "check_sample_weight_equivalence_on_dense_data": (
        "mini-batch training: an integer weight k equals k copies of the sample in expectation "
        "only, since the repeated data make more (and other) batches per epoch. The exact "
        "equivalences (weight 0 as a dropped sample, integer weights as copies in a full-batch "
        "fit, equal weights as none) are tested in tests/test_sample_weight.py."
    ),
    "check_methods_subset_invariance": (
        "predicting one sample at a time gives other float32 rounding than predicting the batch: "
        "torch's CPU kernels block and vectorise the matrix products by the number of rows, which "
        "the batch size sets (measured: up to 3.6e-7 absolute, 6.4e-6 relative, on 6 of 20 "
        "values); the check asks 1e-7 absolute or relative of float32 values returned as float64 "
        "(the input's dtype). Predictions agree to float32 precision "
        "(tests/test_estimators.py::test_predict_dtype_and_batching)."
    ),
    "check_methods_sample_order_invariance": (
        "the same float32 rounding as above, here with the samples' order in one batch (measured: "
        "6e-8 absolute, 7e-7 relative, on 1 of 20 values; the check asks 1e-9 absolute or 1e-7 "
        "relative)."
    ),
    "check_do_not_raise_errors_in_init_or_set_params": (
        "the check passes its values under every name of the signature, the **module_params "
        "catch-all's own name included; OperatorRegressor accepts module__<name> keywords only and "
        "refuses another keyword with a TypeError, as Python does for an unknown keyword."
    ),
    "check_transformer_general": (
        "its one failing assertion is that transform refuses a different number of features; "
        "a 2-D X with other columns is the same data on another 1-D grid, which the grid "
        "transformers accept by design (as the estimators' predict)."
    ),
}

# The checks each estimator fails, measured with scikit-learn 1.9 and torch 2.13 and with the
# minimum versions (.ci/min_versions: scikit-learn 1.6, torch 2.2), CPU, one thread:
# `python -m pytest tests/test_estimator_checks.py -rxX`. Strict: a listed check that passes fails
# the test, so that the list cannot go stale. Whether predicting one sample at a time rounds as the
# whole batch does depends on the layers: FNO's, AFNO's and CheckModule's do at every batch size.
EVERY_NETWORK = ("check_n_features_in_after_fitting", "check_sample_weight_equivalence_on_dense_data")
SUBSET = "check_methods_subset_invariance"
EXPECTED_FAILED_CHECKS = {
    AMFNORegressor: (*EVERY_NETWORK, SUBSET),
    FNORegressor: EVERY_NETWORK,
    FFNORegressor: (*EVERY_NETWORK, SUBSET),
    UFNORegressor: (*EVERY_NETWORK, SUBSET),
    AFNORegressor: EVERY_NETWORK,
    OFormerRegressor: (*EVERY_NETWORK, SUBSET),
    LSMRegressor: (*EVERY_NETWORK, SUBSET),
    EnsembleRegressor: EVERY_NETWORK,
    OperatorRegressor: (*EVERY_NETWORK, "check_do_not_raise_errors_in_init_or_set_params"),
    # The transformers, like the estimators, take data on any grid of the fitted dimension.
    GridStandardScaler: ("check_n_features_in_after_fitting", "check_transformer_general"),
    GridResampler: ("check_n_features_in_after_fitting", "check_transformer_general"),
    GridFunctionTransformer: ("check_n_features_in_after_fitting", "check_transformer_general"),
}

# Checks that fail in some runs and pass in others: expected to fail, not strictly. The samples'
# order within one batch changes the float32 rounding of LSM with torch 2.13 and not with torch
# 2.2, and that of OperatorRegressor's CheckModule (its FFT) in some processes and not in others
# (it failed when run alone and passed within the whole file, on the same machine and versions).
MAY_FAIL = {
    (LSMRegressor, "check_methods_sample_order_invariance"),
    (OperatorRegressor, "check_methods_sample_order_invariance"),
}


# The fast tier (`-m "not slow"`) runs the checks of the grid transformers and of FNORegressor (the
# cheapest network on the base every estimator shares), but not FNO's checks that train several
# models each, over 1.5 s apiece; the full suite runs every check of every estimator (about 11 of
# the 24 minutes of test time of a full run on 2 cores).
FAST_TIER = (FNORegressor, GridStandardScaler, GridResampler, GridFunctionTransformer)
SLOW_CHECKS = {
    "check_regressors_train",
    "check_regressor_data_not_an_array",
    "check_positive_only_tag_during_fit",
    "check_estimators_dtypes",
    "check_dtype_object",
}


def _check_name(check):
    return getattr(check, "func", check).__name__


def _check_id(check):
    keywords = getattr(check, "keywords", None)
    arguments = ",".join(f"{k}={v}" for k, v in keywords.items()) if keywords else ""
    return _check_name(check) + (f"({arguments})" if arguments else "")


def _cases():
    for estimator in ESTIMATORS:
        cls = type(estimator)
        expected = EXPECTED_FAILED_CHECKS[cls]
        for est, check in estimator_checks_generator(estimator, legacy=True):
            name = _check_name(check)
            marks = []
            if name in expected or (cls, name) in MAY_FAIL:
                strict = (cls, name) not in MAY_FAIL
                marks.append(pytest.mark.xfail(strict=strict, reason=REASONS[name]))
            if cls not in FAST_TIER or name in SLOW_CHECKS:
                marks.append(pytest.mark.slow)
            yield pytest.param(est, check, marks=marks, id=f"{cls.__name__}-{_check_id(check)}")


def test_every_listed_failure_has_a_reason_and_an_estimator():
    listed = {name for names in EXPECTED_FAILED_CHECKS.values() for name in names}
    assert listed | {name for _, name in MAY_FAIL} == set(REASONS)
    assert {type(est) for est in ESTIMATORS} == set(EXPECTED_FAILED_CHECKS)


@pytest.mark.parametrize("estimator, check", _cases())
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        action = "error" if _check_name(check) == "check_regressors_train" else "ignore"
        warnings.filterwarnings(action, message=".*has not learned the map", category=ConvergenceWarning)
        check(estimator)
