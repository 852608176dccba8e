"""Reuse of freed activation memory on glibc (Linux CPUs): up to 1.5x faster CPU training steps.

glibc's ``malloc`` serves every block above its mmap threshold (adjusted at run time, at most
32 MiB on 64-bit) with fresh pages from the kernel and hands them back at ``free``, and it returns
the top of the heap to the kernel once more than ``M_TRIM_THRESHOLD`` of it is free. A training
step allocates and frees the same large activations every time (AM-FNO's FFN hidden layer is
64 MiB at width 32, 64 x 64, batch 32), so each step page-faults and zeroes them again: on the
development machine (2 cores, glibc 2.36) that was a third of an AM-FNO step and a fifth of an
FNO+ step (``docs/performance.md``). Raising both thresholds keeps the freed blocks in the heap,
where the next step reuses them.

:func:`reuse_freed_memory` does that for the duration of a fit or a prediction on the CPU and,
when the last one running in the process ends, gives the free memory back (``malloc_trim``), so
the process does not keep its peak size afterwards. The thresholds stay raised (glibc cannot
report its previous values to restore them); for other code that only means its large blocks also
come from the heap. Nothing happens off Linux/glibc, on accelerators, or with the environment
variable ``SKLEARN_AMFNO_REUSE_MEMORY=0``.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import platform
import threading
from collections.abc import Iterator

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Blocks up to this size come from the heap (glibc 2.36 accepts it; older ones may refuse, which
#: only leaves their default in place).
MMAP_THRESHOLD = 1 << 30
#: Free memory at the top of the heap kept for reuse during a fit.
TRIM_THRESHOLD = 2 << 30

_lock = threading.Lock()
_active = 0
_configured: bool | None = None
_libc: ctypes.CDLL | None = None


def _glibc() -> ctypes.CDLL | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def enabled() -> bool:
    """Whether fits and predictions here reuse freed memory (glibc, and not switched off)."""
    return os.environ.get("SKLEARN_AMFNO_REUSE_MEMORY", "1") != "0" and _glibc() is not None


def _configure() -> bool:
    global _configured, _libc
    if _configured is None:
        _libc = _glibc() if enabled() else None
        _configured = bool(
            _libc is not None
            and _libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
            and _libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
        )
    return _configured


@contextlib.contextmanager
def reuse_freed_memory(device_type: str = "cpu") -> Iterator[None]:
    """Keep freed blocks for reuse inside the context; trim when the last such context ends.

    Parameters
    ----------
    device_type : str, default="cpu"
        ``torch.device(...).type`` of the computation; anything but ``"cpu"`` changes nothing.
    """
    global _active
    if device_type != "cpu":
        yield
        return
    with _lock:
        on = _configure()
        _active += on
    try:
        yield
    finally:
        if on:
            with _lock:
                _active -= 1
                if _active == 0 and _libc is not None:
                    _libc.malloc_trim(0)
