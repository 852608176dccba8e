"""sklearn_amfno._allocator: freed memory kept for reuse during CPU fits, given back after."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sklearn_amfno import _allocator


class FakeLibc:
    def __init__(self, accept: bool = True):
        self.calls: list[tuple] = []
        self.accept = accept

    def mallopt(self, param, value):
        self.calls.append(("mallopt", param, value))
        return int(self.accept)

    def malloc_trim(self, pad):
        self.calls.append(("malloc_trim", pad))
        return 1


@pytest.fixture
def fake(monkeypatch):
    libc = FakeLibc()
    monkeypatch.setattr(_allocator, "_glibc", lambda: libc)
    monkeypatch.setattr(_allocator, "_configured", None)
    monkeypatch.setattr(_allocator, "_active", 0)
    monkeypatch.delenv("SKLEARN_AMFNO_REUSE_MEMORY", raising=False)
    return libc


def test_the_thresholds_are_raised_once_and_memory_is_trimmed_when_the_last_fit_ends(fake):
    with _allocator.reuse_freed_memory("cpu"):
        with _allocator.reuse_freed_memory("cpu"):  # e.g. a predict inside a fit's callback
            pass
        assert ("malloc_trim", 0) not in fake.calls
    with _allocator.reuse_freed_memory("cpu"):
        pass
    mallopts = [c for c in fake.calls if c[0] == "mallopt"]
    assert mallopts == [
        ("mallopt", -3, _allocator.MMAP_THRESHOLD),
        ("mallopt", -1, _allocator.TRIM_THRESHOLD),
    ]
    assert fake.calls.count(("malloc_trim", 0)) == 2


def test_accelerators_and_the_opt_out_change_nothing(fake, monkeypatch):
    with _allocator.reuse_freed_memory("cuda"):
        pass
    assert fake.calls == []
    monkeypatch.setenv("SKLEARN_AMFNO_REUSE_MEMORY", "0")
    assert not _allocator.enabled()
    with _allocator.reuse_freed_memory("cpu"):
        pass
    assert fake.calls == []


def test_a_libc_that_refuses_the_thresholds_is_left_alone(fake):
    fake.accept = False
    with _allocator.reuse_freed_memory("cpu"):
        pass
    assert ("malloc_trim", 0) not in fake.calls


def test_an_exception_inside_still_gives_the_memory_back(fake):
    with pytest.raises(RuntimeError):
        with _allocator.reuse_freed_memory("cpu"):
            raise RuntimeError("fit failed")
    assert fake.calls[-1] == ("malloc_trim", 0) and _allocator._active == 0


FIT = """
import hashlib, numpy as np
from sklearn_amfno import AMFNORegressor
from sklearn_amfno.datasets import make_darcy
X, y = make_darcy(12, 16, random_state=0)
est = AMFNORegressor(width=8, n_layers=2, max_epochs=2, batch_size=4, random_state=0).fit(X, y)
print(hashlib.sha256(np.ascontiguousarray(est.predict(X)).tobytes()).hexdigest())
"""


@pytest.mark.slow
def test_the_allocator_setting_changes_speed_only_never_the_numbers():
    def run(flag: str) -> str:
        env = {**os.environ, "SKLEARN_AMFNO_REUSE_MEMORY": flag, "OMP_NUM_THREADS": "1"}
        out = subprocess.run([sys.executable, "-c", FIT], env=env, capture_output=True, text=True, check=True)
        return out.stdout.strip().splitlines()[-1]

    assert run("1") == run("0")
