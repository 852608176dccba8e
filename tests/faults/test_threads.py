"""Thread isolation: predict, score and fit leave torch's process-wide state to the caller.

torch's default dtype and its default CPU generator are per process. These tests run the
package's calls in several threads at once and check that the caller's state is what it was,
and that fits in threads with one ``random_state`` are the sequential fit, bit for bit
(``sklearn_amfno._torch_state``; docs/reliability.md).
"""

from __future__ import annotations

import pickle
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from sklearn_amfno import AMFNORegressor, FNORegressor
from sklearn_amfno._net import data_loader
from sklearn_amfno._torch_state import ShuffleSampler, fit_generator, float32_default_dtype

N_THREADS = 8


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((24, 16)).astype(np.float32)
    return X, np.roll(X, 3, axis=1)


@pytest.fixture
def fitted(data):
    X, y = data
    return FNORegressor(n_modes=4, width=4, n_layers=1, max_epochs=2, batch_size=8, random_state=0).fit(X, y)


@pytest.fixture
def float64_default():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def _in_threads(function, n_calls: int) -> list:
    barrier = threading.Barrier(N_THREADS)

    def work(i):
        barrier.wait()  # all threads start together: the calls overlap
        return [function() for _ in range(n_calls)]

    with ThreadPoolExecutor(N_THREADS) as pool:
        return list(pool.map(work, range(N_THREADS)))


def test_predict_in_threads_keeps_the_callers_float64_default_dtype(fitted, data, float64_default):
    X, _ = data
    expected = fitted.predict(X)
    results = _in_threads(lambda: fitted.predict(X), 10)
    assert torch.get_default_dtype() == torch.float64
    for per_thread in results:
        for out in per_thread:
            np.testing.assert_array_equal(out, expected)


def test_predict_and_score_in_threads_leave_the_global_generator_alone(fitted, data):
    X, y = data
    torch.manual_seed(1234)
    before = torch.get_rng_state()
    _in_threads(lambda: (fitted.predict(X), fitted.score(X, y)), 5)
    assert torch.equal(torch.get_rng_state(), before)


def test_fit_leaves_the_global_generator_and_the_default_dtype_alone(data, float64_default):
    X, y = data
    torch.manual_seed(99)
    before, threads = torch.get_rng_state(), torch.get_num_threads()
    est = AMFNORegressor(width=4, n_layers=1, n_basis=4, max_epochs=2, batch_size=8, random_state=0)
    est.fit(X, y).predict(X)
    assert torch.get_default_dtype() == torch.float64
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.get_num_threads() == threads
    # The fit computed in float32 all the same.
    assert all(p.dtype == torch.float32 for p in est.module_.parameters() if not p.is_complex())


def test_fits_in_threads_with_one_random_state_equal_the_sequential_fit(data):
    X, y = data

    def fit():
        est = FNORegressor(n_modes=4, width=4, n_layers=1, max_epochs=3, batch_size=8, random_state=7)
        return est.fit(X, y)

    sequential = fit()
    expected = sequential.predict(X)
    torch.manual_seed(5)
    before = torch.get_rng_state()
    results = _in_threads(fit, 1)
    assert torch.equal(torch.get_rng_state(), before)
    for (est,) in results:
        np.testing.assert_array_equal(est.predict(X), expected)
        assert est.net_.history[:, "train_loss"] == sequential.net_.history[:, "train_loss"]


def test_a_fit_under_a_float64_default_equals_the_float32_fit(data):
    X, y = data

    def fit():
        est = FNORegressor(n_modes=4, width=4, n_layers=1, max_epochs=2, batch_size=8, random_state=3)
        return est.fit(X, y)

    expected = fit().predict(X)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        out = fit().predict(X)
    finally:
        torch.set_default_dtype(previous)
    np.testing.assert_array_equal(out, expected)


def test_the_default_dtype_is_restored_once_the_last_concurrent_call_leaves(float64_default):
    inside = []
    entered = threading.Barrier(N_THREADS)

    def work(_):
        with float32_default_dtype():
            entered.wait()  # every thread is inside before any leaves
            inside.append(torch.get_default_dtype())

    with ThreadPoolExecutor(N_THREADS) as pool:
        list(pool.map(work, range(N_THREADS)))
    assert inside == [torch.float32] * N_THREADS
    assert torch.get_default_dtype() == torch.float64


def test_shuffling_from_the_fits_generator_draws_the_batches_of_the_global_generator():
    # The same numbers as torch's own RandomSampler on the global generator in the same state:
    # what keeps fits bit-identical to those made before fits had their own generator.
    dataset = torch.utils.data.TensorDataset(torch.arange(37.0))
    torch.manual_seed(11)
    state = torch.get_rng_state()
    with torch.random.fork_rng(devices=[]):
        torch.set_rng_state(state)
        reference_loader = torch.utils.data.DataLoader(dataset, batch_size=5, shuffle=True)
        reference = [[b[0].tolist() for b in reference_loader] for _ in range(3)]
        reference_after = torch.get_rng_state()
    generator = fit_generator(state)
    loader = data_loader(dataset, batch_size=5, shuffle=True, generator=generator)
    assert isinstance(loader.sampler, ShuffleSampler)
    assert [[b[0].tolist() for b in loader] for _ in range(3)] == reference
    assert torch.equal(generator.get_state(), reference_after)
    assert sorted(x for batch in reference[0] for x in batch) == list(range(37))


def test_a_pickle_from_before_the_fits_own_generator_predicts_without_the_global_one(fitted, data):
    X, _ = data
    expected = fitted.predict(X)
    del fitted.net_.iterator_valid__generator  # what a pickle of an older release holds
    loaded = pickle.loads(pickle.dumps(fitted))
    torch.manual_seed(4)
    before = torch.get_rng_state()
    np.testing.assert_array_equal(loaded.predict(X), expected)
    assert torch.equal(torch.get_rng_state(), before)


def test_a_fitted_estimator_pickles_where_torch_cannot_pickle_generators(
    fitted, data, dumps_as_torch_before_2_4
):
    X, _ = data
    loaded = pickle.loads(dumps_as_torch_before_2_4(fitted))
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
    net = loaded.net_
    assert isinstance(net.iterator_valid__generator, torch.Generator)
    # The loaders' two references to the fit's generator are still one generator.
    assert net.iterator_train__generator is net.iterator_valid__generator
