"""fit's data step: one pass over the data, in memory (one chunk) or streamed (many), asked alike."""

from __future__ import annotations

import numpy as np
import pytest

import sklearn_amfno._streaming as streaming
from sklearn_amfno._fit_data import FitData, prepare_fit_data
from sklearn_amfno._streaming import GridDataset
from sklearn_amfno.metrics import degenerate_target_mask, typical_norm
from sklearn_amfno.preprocessing import channel_statistics

WEIGHTS = np.array([1.0, 2.0, 0.0, 3.0, 1.0, 1.0, 2.0, 1.0, 0.0, 4.0, 1.0, 2.0] * 2)


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(24, 10, 6, 2)).astype(np.float32) * np.float32(3) + np.float32(1)
    y = (X[..., 0] ** 2 + np.cumsum(X[..., 1], axis=1) * 0.1).astype(np.float32)
    y[4] = 0.0  # a degenerate (zero) target sample
    return X, y


def _memmap(path, a):
    m = np.memmap(path, dtype=a.dtype, mode="w+", shape=a.shape)
    m[:] = a
    m.flush()
    return np.memmap(path, dtype=a.dtype, mode="r", shape=a.shape)


@pytest.fixture
def small_chunks(monkeypatch):
    # Five samples of X per chunk: the 24 samples take five chunks, the last one short.
    monkeypatch.setattr(streaming, "CHUNK_BYTES", 10 * 6 * 2 * 4 * 5)


def test_data_in_memory_are_one_chunk_whose_statistics_are_channel_statistics_exactly(data):
    X, y = data
    fit_data = prepare_fit_data(X, y, channel_axis=-1)
    # The validated arrays are channels-first and contiguous (the summation order counts here).
    Xc, yc = np.ascontiguousarray(np.moveaxis(X, -1, 1)), y[:, np.newaxis]
    for got, ref in zip(fit_data.x_statistics, channel_statistics(Xc, axis=1), strict=True):
        assert np.array_equal(got, ref)
    for got, ref in zip(fit_data.y_statistics, channel_statistics(yc, axis=1), strict=True):
        assert np.array_equal(got, ref)
    np.testing.assert_array_equal(fit_data.net_input(), Xc)
    np.testing.assert_array_equal(fit_data.net_target(), yc)


@pytest.mark.parametrize("weighted", [False, True])
def test_a_streamed_pass_learns_what_the_pass_over_data_in_memory_learns(
    tmp_path, data, small_chunks, weighted
):
    X, y = data
    weights = WEIGHTS if weighted else None
    in_memory = prepare_fit_data(X, y, channel_axis=-1, sample_weight=weights)
    streamed = prepare_fit_data(
        _memmap(tmp_path / "X.f32", X), _memmap(tmp_path / "y.f32", y), channel_axis=-1, sample_weight=weights
    )
    assert isinstance(streamed.net_input(), GridDataset)
    assert streamed.fitted == in_memory.fitted
    for a, b in zip(
        streamed.x_statistics + streamed.y_statistics, in_memory.x_statistics + in_memory.y_statistics
    ):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    # Per-sample norms do not depend on the chunking: equal to the bit.
    assert np.array_equal(streamed.sample_norms, in_memory.sample_norms)
    assert streamed.typical_norm()[0] == in_memory.typical_norm()[0]
    assert np.array_equal(streamed.typical_norm()[1], in_memory.typical_norm()[1])
    assert np.array_equal(streamed.probe_target().numpy(), in_memory.probe_target().numpy())
    assert len(streamed) == len(in_memory) == 24


def test_weighted_statistics_are_those_of_the_weighted_samples(data):
    X, y = data
    weighted = prepare_fit_data(X, y, channel_axis=-1, sample_weight=WEIGHTS)
    # A weight is a count of copies: integer weights equal the statistics of repeated samples.
    repeat = np.repeat(np.arange(24), WEIGHTS.astype(int))
    copies = prepare_fit_data(X[repeat], y[repeat], channel_axis=-1)
    for a, b in zip(weighted.x_statistics + weighted.y_statistics, copies.x_statistics + copies.y_statistics):
        np.testing.assert_allclose(a, b, rtol=1e-10)
    inputs = weighted.net_input()
    assert set(inputs) == {"x", "sample_weight"}
    np.testing.assert_array_equal(inputs["sample_weight"], WEIGHTS.astype(np.float32))


def test_target_norms_are_the_metrics_typical_norm_and_degenerate_mask(data):
    X, y = data
    fit_data = prepare_fit_data(X, y, channel_axis=-1)
    typical, degenerate = fit_data.typical_norm()
    assert typical == pytest.approx(typical_norm(y), rel=1e-12)
    np.testing.assert_array_equal(degenerate, degenerate_target_mask(y, reference_norm=typical))
    assert degenerate[4] and degenerate.sum() == 1


def test_a_sample_of_weight_zero_is_never_degenerate(data):
    X, y = data
    weights = np.ones(24)
    weights[4] = 0.0
    assert not prepare_fit_data(X, y, channel_axis=-1, sample_weight=weights).typical_norm()[1].any()


def test_equal_weights_are_the_unweighted_fit(data):
    X, y = data
    fit_data = prepare_fit_data(X, y, channel_axis=-1, sample_weight=np.full(24, 2.5))
    assert fit_data.sample_weight is None
    assert isinstance(fit_data.net_input(), np.ndarray)


def test_rollout_data_keep_every_step_for_the_net_and_the_first_for_the_statistics(data):
    X, _ = data
    rng = np.random.default_rng(0)
    y = rng.normal(size=(24, 10, 6, 6)).astype(np.float32)  # 3 steps of 2 frames on the last axis
    fit_data = prepare_fit_data(X, y, channel_axis=-1, rollout_steps=3)
    assert fit_data.rollout_steps == 3
    np.testing.assert_array_equal(fit_data.net_target(), np.moveaxis(y, -1, 1))
    first = prepare_fit_data(X, y[..., :2], channel_axis=-1)
    assert fit_data.fitted == first.fitted
    for a, b in zip(fit_data.y_statistics, first.y_statistics, strict=True):
        assert np.array_equal(a, b)
    with pytest.raises(ValueError, match=r"must hold 4 steps along its last axis"):
        prepare_fit_data(X, y, channel_axis=-1, rollout_steps=4)


def test_lazy_rollout_data_are_loaded(tmp_path, data):
    X, _ = data
    y = np.random.default_rng(1).normal(size=(24, 10, 6, 4)).astype(np.float32)
    fit_data = prepare_fit_data(_memmap(tmp_path / "X.f32", X), y, channel_axis=-1, rollout_steps=2)
    assert isinstance(fit_data.net_input(), np.ndarray)


def test_fit_data_is_asked_through_its_subclasses_only():
    with pytest.raises(NotImplementedError):
        FitData.net_input(object.__new__(FitData))
