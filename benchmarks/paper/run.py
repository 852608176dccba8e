"""The run: generated data and finished fits, shared by the tables so that no fit runs twice."""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence

from .fitting import Budget, fit_eval
from .problems import PROBLEMS, Problem, make_problem


class Run:
    """Generated data and finished fits, shared by the tables so that no fit runs twice."""

    def __init__(
        self, sizes: dict, seeds: list[int], budget: Budget, rows: list[str], problems: Sequence[str] = ()
    ):
        self.sizes, self.seeds, self.budget, self.rows = sizes, seeds, budget, rows
        #: The accuracy table's columns (all of PROBLEMS unless ``--problems`` chose some).
        self.problems = list(problems) or list(PROBLEMS)
        self._data: dict = {}
        self._fits: dict = {}
        self.data_s: dict[str, float] = {}
        #: (key, seed) -> (exception class name, message) of a generation that failed in a worker.
        self._generation_failed: dict[tuple[str, int], tuple[str, str]] = {}

    def check_problem(self, key: str, seed: int) -> None:
        """Raise if ``key``'s data cannot be generated for ``seed``; generate them only if a fit
        of the run's rows still needs them (``--jobs`` workers fit the rest elsewhere)."""
        if (key, seed) in self._generation_failed:
            name, message = self._generation_failed[key, seed]
            raise type(name, (Exception,), {})(message)  # recorded under the original class name
        if all((key, label, seed, ()) in self._fits for label in self.rows):
            return
        self.problem(key, seed)

    def problem(self, key: str, seed: int) -> Problem:
        if (key, seed) not in self._data:
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # LargeGenerationWarning: sizes are chosen here
                self._data[key, seed] = make_problem(key, self.sizes[key], seed)
            self.data_s[key] = self.data_s.get(key, 0.0) + time.perf_counter() - t0
        return self._data[key, seed]

    def fit(self, key: str, label: str, seed: int, spectral: bool = False, **overrides) -> dict:
        memo = (key, label, seed, tuple(sorted(overrides.items())))
        if memo not in self._fits:
            t0 = time.perf_counter()
            self._fits[memo] = fit_eval(
                self.problem(key, seed), label, self.budget, seed, spectral, **overrides
            )
            r = self._fits[memo]
            status = f"failed: {r['failed']}" if "failed" in r else f"{r['error']:.4f}"
            print(
                f"  {key:8s} {label:14s} seed {seed} {overrides or ''}: {status} "
                f"({time.perf_counter() - t0:.1f} s)",
                flush=True,
            )
        return self._fits[memo]


def sizes_note(run: Run, keys: Sequence[str]) -> str:
    """The preset's sizes of ``keys``, ``key: name=value, ...``, for a table's notes."""
    lines = []
    for key in keys:
        size = run.sizes[key]
        lines.append(f"{key}: " + ", ".join(f"{k}={v}" for k, v in size.items()))
    return "; ".join(lines)
