"""Torch's process-wide state, kept for the caller: default dtype and random number generator.

torch keeps its default dtype and its default CPU generator per process, not per thread. A
package that sets and restores them around its work (``torch.set_default_dtype``,
``torch.random.fork_rng``) is correct in one thread and wrong in several: two threads that save,
set and restore interleave, and the last restore wins. Measured before this module: 8 threads
predicting 25 times each under ``torch.set_default_dtype(torch.float64)`` left the default at
float32 in 4 runs of 4, and advanced the global generator in 3 of 4 (a ``DataLoader`` draws a
seed from it at every pass). So:

- **dtype.** The modules are built and run in float32 (:func:`float32_default_dtype`). Where
  the caller's default is float32 already (the usual case) nothing is written. Otherwise the
  first of the package's calls to enter sets float32 and the last to leave restores the
  caller's dtype, under a lock: concurrent calls share one change and undo it once. (The default
  dtype is process-wide: while a fit or a prediction runs, the caller's other threads see
  float32 too. Nothing in torch offers a per-thread default.)
- **random numbers.** A fit draws from its own ``torch.Generator`` (:func:`fit_generator`):
  the batches are shuffled from it (:class:`ShuffleSampler`) and the ``DataLoader`` seeds come
  from it. torch's weight initialisers take no generator and draw from the global one, so a
  module is built under a process-wide lock, in a forked global RNG seeded from the fit
  (:func:`seeded_global_rng`); the state the build leaves becomes the fit's generator. A fit
  therefore draws exactly the numbers it drew when it used the global generator alone, and
  fits in threads with one ``random_state`` are repeatable and equal to the sequential fit.
  ``predict`` draws nothing from the global generator.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sized

import torch

__all__ = ["ShuffleSampler", "fit_generator", "float32_default_dtype", "seeded_global_rng"]

_DTYPE_LOCK = threading.Lock()
_dtype_users = 0
_dtype_saved: torch.dtype | None = None

# Reentrant: a module built while another is being built (a meta-estimator's) takes it again.
_RNG_LOCK = threading.RLock()


@contextlib.contextmanager
def float32_default_dtype() -> Iterator[None]:
    """Build and run the modules in float32 whatever ``torch.get_default_dtype()`` says.

    The package computes in float32 (its inputs are float32); a user's
    ``torch.set_default_dtype(torch.float64)`` would otherwise create float64 weights that meet
    float32 data deep inside torch (and make Adam count its steps in float64). Safe in threads:
    the caller's dtype is restored when the last of the package's concurrent calls leaves.
    """
    global _dtype_users, _dtype_saved
    with _DTYPE_LOCK:
        if _dtype_users == 0:
            _dtype_saved = torch.get_default_dtype()
            if _dtype_saved != torch.float32:
                torch.set_default_dtype(torch.float32)
        _dtype_users += 1
    try:
        yield
    finally:
        with _DTYPE_LOCK:
            _dtype_users -= 1
            if _dtype_users == 0 and _dtype_saved is not None and _dtype_saved != torch.float32:
                torch.set_default_dtype(_dtype_saved)


@contextlib.contextmanager
def seeded_global_rng(state: int | torch.Tensor) -> Iterator[None]:
    """Run a block on torch's global CPU generator set to ``state``, then put it back.

    For what draws from the global generator and takes no other (torch's weight initialisers).
    The block runs under a process-wide lock, so concurrent fits neither see each other's
    numbers nor leave the caller's generator changed. Keep the block short: a module's
    construction.

    Parameters
    ----------
    state : int or torch.Tensor
        A seed, or a state of ``torch.get_rng_state()``.
    """
    with _RNG_LOCK, torch.random.fork_rng(devices=[]):
        if isinstance(state, torch.Tensor):
            torch.set_rng_state(state)
        else:
            torch.manual_seed(state)
        yield


def fit_generator(state: int | torch.Tensor) -> torch.Generator:
    """A CPU generator in the state a seed gives (``torch.manual_seed``) or in a saved state.

    Parameters
    ----------
    state : int or torch.Tensor
        A seed, or a state of ``Generator.get_state()`` / ``torch.get_rng_state()``.

    Returns
    -------
    generator : torch.Generator
    """
    generator = torch.Generator()
    if isinstance(state, torch.Tensor):
        generator.set_state(state)
    else:
        generator.manual_seed(state)
    return generator


class ShuffleSampler(torch.utils.data.Sampler[int]):
    """A new random order of the samples at every pass, drawn from ``generator``.

    It draws what ``torch.utils.data.RandomSampler`` draws from the global generator when it is
    given none (a seed per pass, then a permutation from a generator of that seed), but from
    ``generator``: with a ``DataLoader`` on the same generator, the batches are those a loader
    on the global generator in the same state would make.

    Parameters
    ----------
    data_source : sized
        The dataset.
    generator : torch.Generator
        The fit's generator.
    """

    def __init__(self, data_source: Sized, generator: torch.Generator) -> None:
        self.data_source = data_source
        self.generator = generator

    def __len__(self) -> int:
        return len(self.data_source)

    def __iter__(self) -> Iterator[int]:
        seed = int(torch.empty((), dtype=torch.int64).random_(generator=self.generator).item())
        permutation = torch.Generator()
        permutation.manual_seed(seed)
        yield from torch.randperm(len(self.data_source), generator=permutation).tolist()
