"""The per-sample cache of the slow generators (Airfoil, Pipe): resumable, growable, exact."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from sklearn_amfno.datasets import LargeGenerationWarning, _airfoil, _budget, _pipe, make_airfoil, make_pipe

FIELDS = ["velocity_x", "velocity_y", "pressure"]


def _count_solves(monkeypatch, module, name):
    """Wrap ``module.name`` (a solver) so that its calls are counted; returns the counter."""
    solver, calls = getattr(module, name), []

    def counted(*args, **kwargs):
        calls.append(args)
        return solver(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_a_repeated_request_is_served_from_the_cache_whatever_the_threads(tmp_path, monkeypatch):
    fresh = make_pipe(3, 17, fields=FIELDS, random_state=0, return_info=True)
    calls = _count_solves(monkeypatch, _pipe, "_solve_pipe")
    make_pipe(3, 17, random_state=0, memory=str(tmp_path))
    assert len(calls) == 3
    again = make_pipe(3, 17, fields=FIELDS, random_state=0, memory=str(tmp_path), n_jobs=2, return_info=True)
    assert len(calls) == 3  # one entry per sample, every field in it
    for a, b in zip(fresh[:2], again[:2]):
        np.testing.assert_array_equal(a, b)
    for key in ("residual", "n_iter", "offsets", "slopes"):
        np.testing.assert_array_equal(fresh[2][key], again[2][key])
    assert again[2].n_iter.dtype == np.int64


def test_an_interrupted_generation_resumes_where_it_stopped(tmp_path, monkeypatch):
    fresh = make_pipe(4, 17, random_state=1)
    solver, calls = _pipe._solve_pipe, []

    def fails_on_the_third(*args, **kwargs):
        calls.append(args)
        if len(calls) == 3:
            raise RuntimeError("no convergence (injected)")
        return solver(*args, **kwargs)

    monkeypatch.setattr(_pipe, "_solve_pipe", fails_on_the_third)
    with pytest.raises(RuntimeError, match=r"make_pipe: sample 2 \(offsets=.*did not converge.*injected"):
        make_pipe(4, 17, random_state=1, memory=str(tmp_path))
    assert len(calls) == 3
    resumed = make_pipe(4, 17, random_state=1, memory=str(tmp_path))
    assert len(calls) == 5  # samples 0 and 1 were kept; 2 and 3 solved now
    for a, b in zip(fresh, resumed):
        np.testing.assert_array_equal(a, b)


def test_the_warning_counts_only_the_samples_not_cached(tmp_path, monkeypatch):
    solver = _pipe._solve_pipe

    def fails_on_the_third(offsets, *args, **kwargs):
        if np.array_equal(offsets, stop_at):
            raise RuntimeError("no convergence (injected)")
        return solver(offsets, *args, **kwargs)

    _, _, info = make_pipe(4, 17, random_state=2, return_info=True)
    stop_at = info.offsets[2]
    monkeypatch.setattr(_budget, "TIME_WARNING_S", 0.0)  # every request warns
    monkeypatch.setattr(_pipe, "_solve_pipe", fails_on_the_third)
    with pytest.warns(LargeGenerationWarning) as first, pytest.raises(RuntimeError, match="sample 2"):
        make_pipe(4, 17, random_state=2, memory=str(tmp_path))
    assert "counts the 4 of 4 samples not in the cache" in str(first[0].message)
    monkeypatch.setattr(_pipe, "_solve_pipe", solver)
    with pytest.warns(LargeGenerationWarning) as resumed:
        make_pipe(4, 17, random_state=2, memory=str(tmp_path))
    assert len(resumed) == 1
    msg = str(resumed[0].message)
    # Samples 2 and 3 are left: half the estimate of the whole request.
    estimate = _pipe.estimate_pipe(4, 17, n_fields=1, n_jobs=1)
    assert f"at ~{_budget.format_seconds(estimate.seconds / 2)} and" in msg
    assert "counts the 2 of 4 samples not in the cache" in msg and "resumes where it stopped" in msg
    with warnings.catch_warnings():
        warnings.simplefilter("error", LargeGenerationWarning)
        make_pipe(4, 17, random_state=2, memory=str(tmp_path))  # all cached: nothing to warn


def test_a_larger_airfoil_request_solves_only_the_new_samples(tmp_path, monkeypatch):
    # make_airfoil draws every displacement from one stream in order, so the first n samples of
    # a larger request with the same seed are those of the smaller one.
    options = {"mach": 0.5, "random_state": 0, "return_info": True}
    fresh = make_airfoil(3, (61, 15), fields=list(_airfoil.AIRFOIL_FIELDS), **options)
    calls = _count_solves(monkeypatch, _airfoil, "_solve_airfoil")
    make_airfoil(2, (61, 15), memory=str(tmp_path), **options)
    grown = make_airfoil(3, (61, 15), fields=list(_airfoil.AIRFOIL_FIELDS), memory=str(tmp_path), **options)
    assert len(calls) == 3
    for a, b in zip(fresh[:2], grown[:2]):
        np.testing.assert_array_equal(a, b)
    for key in ("residual", "force_change", "n_iter", "lift", "drag", "displacements"):
        np.testing.assert_array_equal(fresh[2][key], grown[2][key])
    assert list(fresh[2].criterion) == list(grown[2].criterion)
    assert grown[2].criterion.dtype == object and grown[2].n_iter.dtype == np.int64


def test_the_cache_key_holds_the_code_a_solver_depends_on_and_nothing_else():
    from sklearn_amfno.datasets import _cache

    # The Airfoil solver's fluxes live in the 1-D Euler module: a change there must miss.
    assert _cache.solver_modules("_airfoil") == {"_airfoil", "_euler_1d"}
    assert _cache.solver_modules("_pipe") == {"_pipe"}
    # Validation, cost estimates, caching and progress bars cannot change a result.
    for name in ("_darcy", "_navier_stokes", "_cfd_2d", "_burgers"):
        modules = _cache.solver_modules(name)
        assert name in modules and not modules & {"_budget", "_cache", "_constraints", "_progress"}
    assert _cache.solver_code_version("_airfoil") != _cache.solver_code_version("_pipe")
    # A function defined outside the package's modules: the whole package's code.
    assert len(_cache.solver_code_version("not_a_datasets_module")) == 16


def test_a_failed_sample_drops_the_samples_not_started(tmp_path, monkeypatch):
    solver, calls = _pipe._solve_pipe, []

    def fails_first(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("no convergence (injected)")
        return solver(*args, **kwargs)

    monkeypatch.setattr(_pipe, "_solve_pipe", fails_first)
    with pytest.raises(RuntimeError, match="did not converge"):
        make_pipe(12, 17, random_state=3, n_jobs=2)
    # The other thread finishes the sample it runs; the queued ones are never started.
    assert len(calls) <= 3


def test_memory_takes_a_path(tmp_path, monkeypatch):
    calls = _count_solves(monkeypatch, _pipe, "_solve_pipe")
    a = make_pipe(2, 17, random_state=5, memory=tmp_path)  # a pathlib.Path, as a str would be
    b = make_pipe(2, 17, random_state=5, memory=str(tmp_path))
    assert len(calls) == 2 and np.array_equal(a[1], b[1])


def test_the_code_hash_ignores_documentation_but_not_code():
    from sklearn_amfno.datasets._cache import _code_without_docs

    code = 'def f(x):\n    """Doc."""\n    return 2 * x  # why\n'
    assert _code_without_docs(code) == _code_without_docs(
        'def f(x):\n    """Other doc."""\n    return 2 * x\n'
    )
    assert _code_without_docs(code) == _code_without_docs("def f(x):\n    return 2*x\n")
    assert _code_without_docs(code) != _code_without_docs("def f(x):\n    return 3 * x\n")
    assert _code_without_docs('def f():\n    """Only a docstring."""\n') == _code_without_docs(
        "def f():\n    pass\n"
    )


def test_an_input_the_solver_refuses_is_named_with_its_sample(monkeypatch):
    def refuses(*args, **kwargs):
        raise ValueError("the displacements fold the mesh (injected)")

    monkeypatch.setattr(_airfoil, "_solve_airfoil", refuses)
    with pytest.raises(ValueError, match=r"make_airfoil: sample 0 \(displacements=.*cannot be solved.*fold"):
        make_airfoil(2, (61, 15), mach=0.5, random_state=0)
