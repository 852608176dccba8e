"""Large generation requests say so before the work starts; impossible ones fail at once.

The warning tests stop each generator at its first piece of work (``check_random_state``, called
right after the up-front check) or each solver at its first numerical step, so nothing large is
computed. The physical memory is patched where the outcome would otherwise depend on the machine.
"""

import re
import sys
import tracemalloc
import warnings

import numpy as np
import pytest

import sklearn_amfno.datasets as datasets
from sklearn_amfno.datasets import (
    LargeGenerationWarning,
    _airfoil,
    _budget,
    _burgers,
    _cfd_1d,
    _darcy,
    _euler_1d,
    _heat_advection,
    _navier_stokes,
    _pipe,
    make_advection,
    make_airfoil,
    make_burgers,
    make_cfd_1d,
    make_darcy,
    make_heat,
    make_navier_stokes,
    make_pipe,
    solve_burgers,
    solve_darcy,
    solve_euler_1d,
    solve_navier_stokes,
)

TIB = 2**40


class Stop(Exception):
    """Raised by a patched function: the work would have started here."""


def _stop(*args, **kwargs):
    raise Stop


@pytest.fixture
def big_machine(monkeypatch):
    """A machine with 1 TiB of memory, so that only the warning thresholds matter."""
    monkeypatch.setattr(_budget, "total_memory", lambda: TIB)


def test_warning_is_exported_and_a_user_warning():
    assert datasets.LargeGenerationWarning is LargeGenerationWarning
    assert issubclass(LargeGenerationWarning, UserWarning)
    assert "LargeGenerationWarning" in datasets.__all__


# -- large requests warn before any work ----------------------------------------------------------
TIME = r"before it starts, at ~\d[\d.]* (s|min|h) and"  # a time-driven warning
LARGE = [
    # (module, generator, args, kwargs, what the message must name)
    (_navier_stokes, make_navier_stokes, (1000, 64), {}, [TIME, "n_samples=1000", "resolution=64"]),
    (_navier_stokes, make_navier_stokes, (20, 256), {}, [TIME, "resolution=256", "time steps"]),
    (_cfd_1d, make_cfd_1d, (2000, 256), {}, [TIME, "n_samples=2000", "resolution=256"]),
    (_darcy, make_darcy, (300, 256), {}, [TIME, "n_samples=300", "sparse LU"]),
    (_darcy, make_darcy, (30000, 64), {}, [TIME, "n_samples=30000"]),
    (_burgers, make_burgers, (200, 1024), {"method": "spectral"}, [TIME, "ETDRK4", "cole_hopf"]),
    (_heat_advection, make_heat, (300, 64), {"n_dim": 3}, [r"~\d.*GiB of memory", "n_dim=3"]),
    (_heat_advection, make_advection, (300, 64), {"n_dim": 3}, [r"~\d.*GiB of memory", "n_dim=3"]),
    (_pipe, make_pipe, (300, 129), {}, [TIME, "n_samples=300", "resolution=129"]),
    (_airfoil, make_airfoil, (100, (221, 51)), {}, [TIME, "n_samples=100", r"resolution=\(221, 51\)"]),
]


def _stop_after_warning(record):
    """A patched first piece of work that checks the warning came before it, then stops."""

    def first_work(*args, **kwargs):
        assert [w.category for w in record] == [LargeGenerationWarning], "no warning before the work"
        raise Stop

    return first_work


@pytest.mark.parametrize("module,make,args,kwargs,names", LARGE, ids=lambda v: getattr(v, "__name__", None))
def test_large_request_warns_before_any_work(monkeypatch, big_machine, module, make, args, kwargs, names):
    # The estimate is arithmetic on the sizes: the warning is out when the first piece of work
    # starts, and nothing of the request's size was allocated before it (measured: 8-23 KiB
    # traced; the smallest of these requests, Burgers', returns 3.3 MB, the others 9 MB to GBs).
    tracemalloc.start()
    try:
        with pytest.warns(LargeGenerationWarning) as record, pytest.raises(Stop):
            monkeypatch.setattr(module, "check_random_state", _stop_after_warning(record))
            make(*args, **kwargs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**18
    assert len(record) == 1
    msg = str(record[0].message)
    assert msg.startswith(f"{make.__name__}(")
    assert "estimated, before it starts" in msg and "To reduce it:" in msg
    assert "memory=" in msg  # how to cache it
    for name in names:
        assert re_search(name, msg), (name, msg)
    assert record[0].filename == __file__  # points at the caller, not at a wrapper


def re_search(pattern, text):
    return re.search(pattern, text) is not None


def test_verbose_is_offered_or_announced(monkeypatch, big_machine):
    monkeypatch.setattr(_navier_stokes, "check_random_state", _stop)
    with (
        pytest.warns(LargeGenerationWarning, match="Pass verbose=1 for a progress bar"),
        pytest.raises(Stop),
    ):
        make_navier_stokes(1000, 64)
    with pytest.warns(LargeGenerationWarning, match="A progress bar follows"), pytest.raises(Stop):
        make_navier_stokes(1000, 64, verbose=True)


def test_warning_then_work_with_progress_bar(monkeypatch, capsys):
    # Thresholds at zero make a tiny request "large": the warning comes, then the work runs as
    # usual with its progress bar, and gives the same result as without the warning.
    X0, y0 = make_navier_stokes(2, 16, n_steps_in=1, n_steps_out=1, random_state=0)
    monkeypatch.setattr(_budget, "TIME_WARNING_S", 0.0)
    with pytest.warns(LargeGenerationWarning, match="A progress bar follows") as record:
        X, y = make_navier_stokes(2, 16, n_steps_in=1, n_steps_out=1, random_state=0, verbose=True)
    assert len(record) == 1  # the solver inside does not warn again
    assert "Navier-Stokes" in capsys.readouterr().err
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


def test_threaded_darcy_warns_once(monkeypatch):
    monkeypatch.setattr(_budget, "TIME_WARNING_S", 0.0)
    with pytest.warns(LargeGenerationWarning) as record:
        make_darcy(4, 16, n_jobs=2, random_state=0)
    assert len(record) == 1  # not once more per solve_darcy in the worker threads


def test_cached_result_does_not_warn(monkeypatch, tmp_path):
    monkeypatch.setattr(_budget, "TIME_WARNING_S", 0.0)
    with pytest.warns(LargeGenerationWarning, match=r"The result will be cached \(memory=\)"):
        a = make_darcy(3, 16, random_state=0, memory=str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error", LargeGenerationWarning)
        b = make_darcy(3, 16, random_state=0, memory=str(tmp_path))  # from the cache: no warning
    np.testing.assert_array_equal(a[1], b[1])


def test_memory_warning(big_machine, monkeypatch):
    monkeypatch.setattr(_heat_advection, "check_random_state", _stop)
    with pytest.warns(LargeGenerationWarning, match=r"GiB of memory \(returned arrays \d.*GiB") as record:
        with pytest.raises(Stop):
            make_heat(300, 64, n_dim=3)
    assert "min" not in str(record[0].message).split("of memory")[0]  # fast: memory only


# -- requests that cannot fit fail at once ----------------------------------------------------------
@pytest.mark.parametrize(
    "make,args,kwargs",
    [
        (make_navier_stokes, (10000, 64), {}),
        (make_cfd_1d, (10**6, 1024), {}),
        (make_darcy, (10**5, 128), {}),
        (make_burgers, (10**6, 1024), {}),
        (make_heat, (1000, 128), {"n_dim": 3}),
        (make_advection, (1000, 128), {"n_dim": 3}),
        (make_pipe, (10**6, 513), {}),
        (make_airfoil, (10**5, (221, 51)), {}),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_too_large_for_memory_fails_fast(monkeypatch, make, args, kwargs):
    monkeypatch.setattr(_budget, "total_memory", lambda: 2**30)  # a 1 GiB machine
    # The refusal comes before the first piece of work (which would raise Stop instead).
    monkeypatch.setattr(sys.modules[make.__module__], "check_random_state", _stop)
    with pytest.raises(ValueError) as info:
        make(*args, **kwargs)
    msg = str(info.value)
    assert f"{make.__name__}(n_samples={args[0]}, resolution={args[1]}" in msg
    assert "more than this machine's 1.0 GiB of physical memory" in msg
    assert "e.g. n_samples=" in msg  # a size that fits


def test_too_large_for_this_machine_real_memory(monkeypatch):
    if _budget.total_memory() is None:
        pytest.skip("the OS does not report its physical memory")
    monkeypatch.setattr(_heat_advection, "check_random_state", _stop)  # refused before any work
    # 2 x 10^6 x 1024^3 float64 values: 16 EB, more than any machine holds.
    with pytest.raises(
        ValueError, match=r"make_heat\(n_samples=1000000, resolution=1024, n_dim=3\) would return"
    ):
        make_heat(10**6, 1024, n_dim=3)


# -- solvers called directly ------------------------------------------------------------------------
def test_solvers_warn_before_stepping(monkeypatch, big_machine):
    monkeypatch.setattr(_navier_stokes, "_integrate", _stop)
    with pytest.warns(
        LargeGenerationWarning, match=r"solve_navier_stokes\(n_samples=2, resolution=64, time=100"
    ):
        with pytest.raises(Stop):
            solve_navier_stokes(np.zeros((2, 64, 64)), 1e-3, 100.0, dt=1e-4)
    monkeypatch.setattr(_euler_1d, "_Scheme", _stop)
    ones = np.ones((4, 1024))
    with pytest.warns(
        LargeGenerationWarning, match=r"solve_euler_1d\(n_samples=4, resolution=1024, time=1000"
    ):
        with pytest.raises(Stop):
            solve_euler_1d(ones, 0 * ones, ones, 1000.0)
    monkeypatch.setattr(_burgers, "_spectral", _stop)
    x = np.arange(4096) / 4096
    with pytest.warns(LargeGenerationWarning, match=r"solve_burgers\(.*method='spectral'\).*ETDRK4"):
        with pytest.raises(Stop):
            solve_burgers(5 * np.sin(2 * np.pi * x) * np.ones((4, 1)), 0.01, 10.0, method="spectral")
    monkeypatch.setattr(_darcy, "_assemble", _stop)
    with pytest.warns(LargeGenerationWarning, match=r"solve_darcy\(a.shape=\(2048, 2048\)\)"):
        with pytest.raises(Stop):
            solve_darcy(np.ones((2048, 2048)))


def test_solver_too_large_for_memory(monkeypatch):
    monkeypatch.setattr(_budget, "total_memory", lambda: 2**20)  # 1 MiB
    with pytest.raises(ValueError, match=r"solve_navier_stokes\(n_samples=2, resolution=64.*cannot succeed"):
        solve_navier_stokes(np.zeros((2, 64, 64)), 1e-3, 1.0, record_times=np.arange(1, 41) / 40)


# -- the sizes the test suite and the examples use stay quiet ---------------------------------------
def test_small_requests_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error", LargeGenerationWarning)
        make_darcy(4, 32, random_state=0)
        make_burgers(4, 256, random_state=0)
        make_burgers(2, 128, method="spectral", random_state=0)
        make_navier_stokes(2, 32, n_steps_in=2, n_steps_out=1, random_state=0)
        make_cfd_1d(2, 64, n_steps_in=2, n_steps_out=1, random_state=0)
        make_heat(8, 64, n_dim=2, random_state=0)
        make_advection(4, 32, n_dim=3, random_state=0)
        x = np.arange(32) / 32
        solve_navier_stokes(np.cos(2 * np.pi * x)[:, None] * np.ones(32), 0.01, 1.0, forcing=False, dt=0.01)
        solve_euler_1d(1 + 0 * x, 0 * x, 1 + 0 * x, 0.1)
        solve_burgers(np.sin(2 * np.pi * x), 0.1, 0.2, method="spectral")
        solve_darcy(np.ones((33, 33)))


def test_default_sizes_are_below_the_thresholds():
    # Each generator's defaults (100 samples) are estimated well below a minute and 2 GiB.
    estimates = [
        _darcy.estimate_darcy(100, 64, max_wavenumber=63, n_jobs=None),
        _navier_stokes.estimate_navier_stokes(
            100,
            64,
            n_steps_in=10,
            n_steps_out=10,
            record_interval=1.0,
            dt=None,
            max_wavenumber=32,
            batch_size=100,
            precision="single",
        ),
        _cfd_1d.estimate_cfd_1d(
            100,
            256,
            gamma=5 / 3,
            n_steps_in=10,
            n_steps_out=1,
            record_interval=0.05,
            amplitude=0.5,
            viscosity=0.0,
            batch_size=16,
            n_waves=4,
        ),
        _burgers.estimate_burgers(
            100,
            1024,
            solver_resolution=1024,
            viscosity=0.1,
            time=1.0,
            alpha=2.0,
            tau=5.0,
            sigma=25.0,
            max_wavenumber=256,
            method="cole_hopf",
        ),
        _heat_advection.estimate_exact_fields("make_heat", 100, 64, n_dim=1, max_wavenumber=8),
    ]
    for est in estimates:
        assert not est.is_large, est
        assert est.seconds < 30 and est.peak_bytes < 2**30, est


def test_estimates_match_the_measured_rates():
    # docs/datasets.md: Navier-Stokes 64^2 to T=20 ~0.17 s per sample, CFD-1D 256 cells (T=0.5)
    # ~0.09-0.16 s, Darcy 64^2 ~5 ms (measured under load; the models are within a factor 2).
    ns = _navier_stokes.estimate_navier_stokes(
        1,
        64,
        n_steps_in=10,
        n_steps_out=10,
        record_interval=1.0,
        dt=None,
        max_wavenumber=32,
        batch_size=100,
        precision="single",
    )
    assert 0.08 < ns.seconds < 0.35
    cfd = _cfd_1d.estimate_cfd_1d(
        1,
        256,
        gamma=5 / 3,
        n_steps_in=10,
        n_steps_out=1,
        record_interval=0.05,
        amplitude=0.5,
        viscosity=0.0,
        batch_size=16,
        n_waves=4,
    )
    assert 0.04 < cfd.seconds < 0.3
    darcy = _darcy.estimate_darcy(1, 64, max_wavenumber=63, n_jobs=None)
    assert 2e-3 < darcy.seconds < 1e-2
    # Memory: the returned arrays, exactly.
    assert ns.output_bytes == 64 * 64 * 20 * 8
    assert darcy.output_bytes == 2 * 64 * 64 * 8
