"""A memory-mapped file truncated while the package reads it: a ValueError, never a SIGBUS.

Reading a page of a memory map past its file's end raises SIGBUS, which kills the interpreter.
The streaming code compares the file's size with the map before each read
(``_streaming.check_map_intact``); these tests truncate files between reads.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from sklearn_amfno._streaming import check_map_intact


@pytest.fixture
def npy_map(tmp_path):
    path = tmp_path / "X.npy"
    np.save(path, np.arange(4096 * 8, dtype=np.float32).reshape(64, 512))
    return path, np.load(path, mmap_mode="r")


def test_an_intact_map_and_its_slices_pass(npy_map):
    _, X = npy_map
    check_map_intact(X)
    check_map_intact(X[10:20])
    check_map_intact(np.zeros(3))  # not a map: nothing to check


def test_a_truncated_file_is_refused_before_its_map_is_read(npy_map):
    path, X = npy_map
    os.truncate(path, os.path.getsize(path) // 2)
    with pytest.raises(ValueError, match=r"X\.npy.*truncated or rewritten.*SIGBUS"):
        check_map_intact(X)
    # A view of the map is refused too: it shares the map.
    with pytest.raises(ValueError, match="truncated"):
        check_map_intact(X[:2], "y")


def test_a_file_grown_after_mapping_is_fine(npy_map):
    path, X = npy_map
    with open(path, "ab") as f:
        f.write(b"\0" * 100)
    check_map_intact(X)


_TRUNCATING_FIT = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    from skorch.callbacks import Callback
    from sklearn_amfno import FNORegressor

    folder = sys.argv[1]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 1024)).astype(np.float32)
    np.save(os.path.join(folder, "X.npy"), X)
    np.save(os.path.join(folder, "y.npy"), np.roll(X, 1, axis=1))
    Xm = np.load(os.path.join(folder, "X.npy"), mmap_mode="r")
    ym = np.load(os.path.join(folder, "y.npy"), mmap_mode="r")

    class Truncate(Callback):
        def on_epoch_end(self, net, **kwargs):
            path = os.path.join(folder, "X.npy")
            os.truncate(path, os.path.getsize(path) // 4)

    est = FNORegressor(n_modes=4, width=4, n_layers=1, max_epochs=3, batch_size=16, callbacks=[Truncate()])
    try:
        est.fit(Xm, ym)
    except ValueError as error:
        print("ValueError:", error)
        sys.exit(3)
    sys.exit(0)
    """
)


@pytest.mark.slow
def test_a_streamed_fit_whose_file_is_truncated_between_epochs_raises_instead_of_dying(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _TRUNCATING_FIT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode != -signal.SIGBUS, "the interpreter was killed by SIGBUS"
    assert done.returncode == 3, done.stdout + done.stderr
    assert "truncated or rewritten" in done.stdout
