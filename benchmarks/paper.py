"""The AM-FNO paper's tables (Xiao et al., NeurIPS 2024), re-run with this package at reduced sizes.

    python benchmarks/paper.py [--quick | --smoke] [--out-dir benchmarks/results]
        [--only TABLE ...] [--rows LABEL ...] [--seeds 0 1 2] [--device auto] [--threads N]
        [--jobs N]

Tables (``--only`` takes their names):

1. ``accuracy``: every model on every problem (Burgers, Darcy, Navier-Stokes, CFD-1D, CFD-2D,
   and the Geo-FNO Airfoil and Pipe on body-fitted meshes), test relative L2 error, mean +- std over the seeds
   (the rollout problems: the mean over the rolled-out frames of ``metrics.rollout_error``), the
   paper's Table 2 beside it where we have it.
2. ``cost``: parameters, seconds per epoch and peak memory on Darcy 64 x 64 (the paper's appendix
   table), each model trained in a subprocess of its own.
3. ``superres``: zero-shot super-resolution, train on 32 x 32 and test on 32 and 64
   (Navier-Stokes rollout, Darcy).
4. ``spectral``: error per wavenumber band (low / mid / high) on Darcy (the paper's Table 3).
5. ``ablation``: the basis of AM-FNO (MLP)'s frequency embedding.

Every model of a table gets the same data, epochs and batch size (the point is equal budgets);
everything else is the estimator's default, except ``width`` in the reduced presets. Seed ``s``
draws the data (``random_state=s`` of the generator) and initialises the models
(``random_state=s``). A fit that raises is recorded in its cell as ``failed: <ExceptionName>``.

Output (``--out-dir``, default ``benchmarks/results``): ``paper.md`` with every table and the
stamp (machine, versions, seeds, command, wall time per table, sizes), ``paper.<table>.csv`` per
table and ``paper.json`` with the raw per-seed results; ``paper_quick.*`` with ``--quick``,
``paper_smoke.*`` with ``--smoke``.

Presets: the default is the full run (about two hours on 2 CPU cores, see ``SIZES["full"]``);
``--quick`` runs every table and row tiny with one seed (a few minutes); ``--smoke`` is smaller
still (the test suite's check that every code path runs).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

# ------------------------------------------------------------------------------------------------
# Rows, problems, presets
# ------------------------------------------------------------------------------------------------

#: Row label -> (estimator class in ``sklearn_amfno``, its parameters). Labels are fixed.
ROWS: dict[str, tuple[str | type, dict]] = {
    "AM-FNO (MLP)": ("AMFNORegressor", {"kernel": "mlp"}),
    "AM-FNO (KAN)": ("AMFNORegressor", {"kernel": "kan"}),
    "FNO": ("FNORegressor", {"n_modes": 12}),
    "FNO+": ("FNORegressor", {"n_modes": None}),
    "F-FNO": ("FFNORegressor", {}),
    "U-FNO": ("UFNORegressor", {}),
    "AFNO": ("AFNORegressor", {}),
    "OFormer": ("OFormerRegressor", {}),
    "LSM": ("LSMRegressor", {}),
}

#: Rows of the super-resolution and spectral tables (the paper's Tables 3 and 4).
RESOLUTION_ROWS = ("AM-FNO (MLP)", "FNO", "FNO+")

#: Problem key -> column title of the accuracy table.
PROBLEMS: dict[str, str] = {
    "burgers": "Burgers 1-D",
    "darcy": "Darcy 2-D",
    "ns": "Navier-Stokes 2-D",
    "cfd1d": "CFD-1D",
    "cfd2d": "CFD-2D",
    "airfoil": "Airfoil",
    "pipe": "Pipe",
}

#: Problems on a body-fitted grid: the input is the mesh ``(n, H, W, 2)``, channels last.
MESH_PROBLEMS = ("airfoil", "pipe")

#: Rows of the basis ablation: label -> ``basis`` value (None: "no embedding", see
#: :func:`no_embedding_basis`).
ABLATION_ROWS: dict[str, str | None] = {
    "chebyshev": "chebyshev",
    "fourier": "fourier",
    "legendre": "legendre",
    "polynomial": "polynomial",
    "no embedding": None,
}

NOT_SUPPORTED = "not supported by the estimator"
GENERATOR_MISSING = "generator missing"

# AM-FNO paper (Xiao, Kou, Hao, Lin, Deng: "Amortized Fourier Neural Operators", NeurIPS 2024),
# Table 2: relative L2 test errors on its six benchmarks (Darcy, Airfoil and Pipe from Geo-FNO,
# NS-2D from FNO, CFD-1D and CFD-2D from PDEBench). Burgers 1-D is not one of its benchmarks.
# None prints "n/a". No value is filled in: the table could not be checked against a text copy of
# the paper when this runner was written, and a number recalled from memory is not a citation.
# Fill an entry only from the paper itself, as printed. The paper's data, resolutions and budgets
# (hundreds of epochs on a GPU, full resolution) differ from the reduced runs here, so the two
# columns show orders of magnitude and rankings, not a reproduction.
PAPER_TABLE2: dict[str, dict[str, float | None]] = {
    label: {key: None for key in ("darcy", "airfoil", "pipe", "ns", "cfd1d", "cfd2d")} for label in ROWS
}
#: Problems the paper has no benchmark for.
NOT_IN_PAPER = {"burgers"}

# Presets. "full" (the default) is sized for about two hours on 2 CPU cores: ``--estimate`` on the
# shared 2-core development machine (1 torch thread, load average ~4) projected 136 min (accuracy
# 114, ablation 10, spectral 8, cost 5), dominated by OFormer and LSM on the 2-D problems (~70-90 ms
# per sample and epoch at 32 x 32, 5-15x the FNO family); 2 free cores with 2 threads are 1.4-2x
# faster (docs/performance.md). ``width=None`` keeps every estimator's default width (32 for all
# families). Rollout problems train on every one-step window of each trajectory:
# ``n_train * n_steps_out`` samples per epoch.
SIZES: dict[str, dict] = {
    "full": {
        "seeds": [0, 1, 2],
        "width": None,
        "epochs": 20,
        "batch_size": 16,
        "burgers": {"n_train": 200, "n_test": 50, "resolution": 256},
        "darcy": {"n_train": 128, "n_test": 50, "resolution": 32},
        "ns": {"n_train": 16, "n_test": 8, "resolution": 32, "n_steps_in": 10, "n_steps_out": 10},
        "cfd1d": {"n_train": 40, "n_test": 10, "resolution": 128, "n_steps_in": 10, "n_steps_out": 5},
        "cfd2d": {"n_train": 16, "n_test": 8, "resolution": 32, "n_steps_in": 10, "n_steps_out": 5},
        "airfoil": {"n_train": 64, "n_test": 16, "resolution": (111, 26)},
        "pipe": {"n_train": 96, "n_test": 32, "resolution": 33},
        "spectral": {"n_train": 64, "n_test": 32, "resolution": 64},
        "cost": {"resolution": 64, "n_samples": 64, "epochs": 3, "width": None, "batch_size": 32},
    },
    "quick": {
        "seeds": [0],
        "width": 8,
        "epochs": 8,
        "batch_size": 8,
        "burgers": {"n_train": 48, "n_test": 16, "resolution": 128},
        "darcy": {"n_train": 48, "n_test": 16, "resolution": 16},
        "ns": {"n_train": 8, "n_test": 4, "resolution": 16, "n_steps_in": 10, "n_steps_out": 4},
        "cfd1d": {"n_train": 8, "n_test": 4, "resolution": 64, "n_steps_in": 10, "n_steps_out": 4},
        "cfd2d": {"n_train": 6, "n_test": 4, "resolution": 16, "n_steps_in": 10, "n_steps_out": 2},
        "airfoil": {"n_train": 16, "n_test": 4, "resolution": (61, 15)},
        "pipe": {"n_train": 32, "n_test": 8, "resolution": 17},
        "spectral": {"n_train": 32, "n_test": 16, "resolution": 32},
        "cost": {"resolution": 64, "n_samples": 16, "epochs": 2, "width": 8, "batch_size": 8},
    },
    "smoke": {
        "seeds": [0],
        "width": 8,
        "epochs": 1,
        "batch_size": 4,
        "burgers": {"n_train": 4, "n_test": 2, "resolution": 16},
        "darcy": {"n_train": 4, "n_test": 2, "resolution": 8},
        "ns": {"n_train": 2, "n_test": 2, "resolution": 8, "n_steps_in": 2, "n_steps_out": 2},
        "cfd1d": {"n_train": 2, "n_test": 2, "resolution": 16, "n_steps_in": 2, "n_steps_out": 2},
        "cfd2d": {"n_train": 2, "n_test": 2, "resolution": 8, "n_steps_in": 2, "n_steps_out": 1},
        # Mach 0.5: subsonic flow converges in a few steps on the smallest C-grid.
        "airfoil": {"n_train": 2, "n_test": 2, "resolution": (41, 9), "mach": 0.5},
        "pipe": {"n_train": 2, "n_test": 2, "resolution": 9},
        "spectral": {"n_train": 4, "n_test": 2, "resolution": 16},
        "cost": {"resolution": 16, "n_samples": 4, "epochs": 2, "width": 8, "batch_size": 4},
    },
}

#: A joblib cache directory for the generated Airfoil and Pipe data (their solvers take seconds
#: per sample): ``SKLEARN_AMFNO_BENCH_CACHE=dir python benchmarks/paper.py`` generates each set once.
DATA_CACHE = os.environ.get("SKLEARN_AMFNO_BENCH_CACHE") or None

#: Navier-Stokes viscosity (FNO's middle setting; the generator's default is 1e-3).
NS_VISCOSITY = 1e-4

TABLES = ("accuracy", "cost", "superres", "spectral", "ablation")

TABLE_TITLES = {
    "accuracy": "Table 1. Accuracy: test relative L2 error",
    "cost": "Table 2. Cost on Darcy",
    "superres": "Table 3. Zero-shot super-resolution: train on the coarse grid, test on both",
    "spectral": "Table 4. Error per wavenumber band on Darcy",
    "ablation": "Table 5. Basis ablation of AM-FNO (MLP) on Darcy",
}


# ------------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------------


@dataclass
class Problem:
    """Train and test arrays of one problem for one seed; ``n_fields`` is None for static maps."""

    key: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_fields: int | None = None
    #: The test set on the grid twice as fine (super-resolution), where the data have one.
    X_fine: np.ndarray | None = None
    y_fine: np.ndarray | None = None
    description: str = ""
    #: Estimator parameters the data need (the mesh problems: ``channel_axis=-1``).
    estimator_params: dict = field(default_factory=dict)


def cfd_2d_generator() -> Callable | None:
    """``sklearn_amfno.datasets.make_cfd_2d`` when this version of the package has it."""
    import sklearn_amfno.datasets

    return getattr(sklearn_amfno.datasets, "make_cfd_2d", None)


def _split(X, y, n_train):
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def make_problem(key: str, size: dict, seed: int) -> Problem:
    """Generate ``key``'s data at the preset's ``size`` with ``random_state=seed``."""
    from sklearn_amfno import datasets

    n_train, n_test, res = size["n_train"], size["n_test"], size["resolution"]
    n = n_train + n_test
    if key == "burgers":
        X, y = datasets.make_burgers(n, res, random_state=seed)
        return Problem(key, *_split(X, y, n_train), description=f"make_burgers({n}, {res})")
    if key in ("darcy", "spectral"):
        # Solved on the grid twice as fine and subsampled (as FNO's Darcy data are from 421 x 421):
        # the coarse grid's permeability is the fine one's, sampled, so the fine test set is the
        # same problem. For "spectral" the resolution is the grid trained on (no fine grid).
        fine = 2 * res if key == "darcy" else res
        X, y = datasets.make_darcy(n, fine, random_state=seed)
        if key == "spectral":
            return Problem(key, *_split(X, y, n_train), description=f"make_darcy({n}, {res})")
        Xc, yc = X[:, ::2, ::2], y[:, ::2, ::2]
        p = Problem(key, *_split(Xc, yc, n_train), description=f"make_darcy({n}, {fine})[::2, ::2]")
        p.X_fine, p.y_fine = X[n_train:], y[n_train:]
        return p
    if key == "ns":
        X, y = datasets.make_navier_stokes(
            n,
            2 * res,
            viscosity=NS_VISCOSITY,
            n_steps_in=size["n_steps_in"],
            n_steps_out=size["n_steps_out"],
            random_state=seed,
        )
        Xc, yc = X[:, ::2, ::2], y[:, ::2, ::2]
        p = Problem(key, *_split(Xc, yc, n_train), n_fields=1)
        p.X_fine, p.y_fine = X[n_train:], y[n_train:]
        p.description = (
            f"make_navier_stokes({n}, {2 * res}, viscosity={NS_VISCOSITY}, n_steps_in={size['n_steps_in']}, "
            f"n_steps_out={size['n_steps_out']})[:, ::2, ::2]"
        )
        return p
    if key == "cfd1d":
        X, y = datasets.make_cfd_1d(
            n, res, n_steps_in=size["n_steps_in"], n_steps_out=size["n_steps_out"], random_state=seed
        )
        desc = f"make_cfd_1d({n}, {res}, n_steps_in={size['n_steps_in']}, n_steps_out={size['n_steps_out']})"
        return Problem(key, *_split(X, y, n_train), n_fields=3, description=desc)
    if key == "cfd2d":
        make_cfd_2d = cfd_2d_generator()
        if make_cfd_2d is None:
            raise LookupError(GENERATOR_MISSING)
        X, y = make_cfd_2d(
            n, res, n_steps_in=size["n_steps_in"], n_steps_out=size["n_steps_out"], random_state=seed
        )
        desc = f"make_cfd_2d({n}, {res}, n_steps_in={size['n_steps_in']}, n_steps_out={size['n_steps_out']})"
        return Problem(key, *_split(X, y, n_train), n_fields=4, description=desc)
    if key == "airfoil":
        options = {"mach": size["mach"]} if "mach" in size else {}
        X, y = datasets.make_airfoil(n, tuple(res), random_state=seed, memory=DATA_CACHE, **options)
        desc = f"make_airfoil({n}, {tuple(res)}{''.join(f', {k}={v}' for k, v in options.items())})"
        return Problem(key, *_split(X, y, n_train), description=desc, estimator_params={"channel_axis": -1})
    if key == "pipe":
        X, y = datasets.make_pipe(n, res, random_state=seed, memory=DATA_CACHE)
        desc = f"make_pipe({n}, {res})"
        return Problem(key, *_split(X, y, n_train), description=desc, estimator_params={"channel_axis": -1})
    raise ValueError(f"unknown problem {key!r}")


def grid_points(size: dict, key: str) -> int:
    """Points of ``key``'s grid at ``size`` (its resolution per axis, or a per-axis tuple)."""
    res = size["resolution"]
    if isinstance(res, (tuple, list)):
        return math.prod(res)
    return res ** (2 if key in ("darcy", "ns", "cfd2d", "spectral", *MESH_PROBLEMS) else 1)


def modes_per_axis(size: dict) -> int:
    """The fewest Fourier modes along an axis of the grid (``n // 2 + 1``)."""
    res = size["resolution"]
    return min(res) // 2 + 1 if isinstance(res, (tuple, list)) else res // 2 + 1


# ------------------------------------------------------------------------------------------------
# Fitting
# ------------------------------------------------------------------------------------------------


@dataclass
class Budget:
    """What every model of a table shares."""

    epochs: int
    #: None: each estimator's own default.
    batch_size: int | None
    width: int | None
    device: str
    fail: frozenset = field(default_factory=frozenset)


def make_estimator(label: str, budget: Budget, seed: int, rows: dict | None = None, **overrides):
    """The estimator of row ``label`` with the shared budget. ``--inject-failure`` rows get
    ``width=0``, which the estimator refuses at fit (the failure path, for tests)."""
    import sklearn_amfno

    cls_name, params = (ROWS if rows is None else rows)[label]
    # A row names an estimator of the package, or holds a class (benchmark-only estimators).
    cls = getattr(sklearn_amfno, cls_name) if isinstance(cls_name, str) else cls_name
    params = {**params, **overrides}
    common = {"max_epochs": budget.epochs, "random_state": seed, "device": budget.device}
    if budget.batch_size is not None:
        common["batch_size"] = budget.batch_size
    if budget.width is not None:
        common["width"] = budget.width
    if label in budget.fail:
        common["width"] = 0
    return cls(**params, **common)


def _epoch_seconds(history) -> float:
    """Median epoch duration after the first (the first pays for warm-up); the first if alone."""
    durations = [row["dur"] for row in history]
    return statistics.median(durations[1:] if len(durations) > 1 else durations)


def fit_eval(
    problem: Problem,
    label: str,
    budget: Budget,
    seed: int,
    spectral: bool = False,
    rows: dict | None = None,
    **overrides,
):
    """Fit row ``label`` on ``problem``; the errors on the test set (and the fine one, if any).

    Returns a dict: ``error``, ``error_fine``, ``bands`` (with ``spectral``), ``fit_s``,
    ``epoch_s``, ``n_parameters``; or ``failed`` (the exception's class name) and ``message``.
    """
    from sklearn_amfno import AutoregressiveRegressor
    from sklearn_amfno.metrics import relative_l2_error, rollout_error, spectral_error

    out: dict = {"label": label, "problem": problem.key, "seed": seed, **{k: v for k, v in overrides.items()}}
    try:
        est = make_estimator(label, budget, seed, rows, **{**problem.estimator_params, **overrides})
        if problem.n_fields is not None:
            est = AutoregressiveRegressor(est, n_fields=problem.n_fields)

        def error(y_true, X):
            pred = est.predict(X)
            if problem.n_fields is not None:
                return float(np.mean(rollout_error(y_true, pred, n_fields=problem.n_fields))), pred
            return float(relative_l2_error(y_true, pred)), pred

        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            est.fit(problem.X_train, problem.y_train)
        out["fit_s"] = time.perf_counter() - t0
        inner = est.estimator_ if problem.n_fields is not None else est
        out["n_parameters"] = int(inner.n_parameters_)
        out["epoch_s"] = _epoch_seconds(inner.net_.history)
        out["n_epochs"] = len(inner.net_.history)
        out["epochs_s"] = float(sum(row["dur"] for row in inner.net_.history))
        out["error"], pred = error(problem.y_test, problem.X_test)
        if spectral:
            out["bands"] = spectral_error(problem.y_test, pred, relative=True)
        if problem.X_fine is not None:
            out["error_fine"], _ = error(problem.y_fine, problem.X_fine)
        if not math.isfinite(out["error"]):
            raise FloatingPointError(f"non-finite test error {out['error']}")
    except Exception as exc:  # a failed fit is a result, never the end of the run
        out = {k: v for k, v in out.items() if k in ("label", "problem", "seed", *overrides)}
        out["failed"] = type(exc).__name__
        out["message"] = str(exc).splitlines()[0][:300] if str(exc) else ""
        print(
            f"  {label} on {problem.key} (seed {seed}) failed: {out['failed']}: {out['message']}", flush=True
        )
    return out


# ------------------------------------------------------------------------------------------------
# Formatting
# ------------------------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    if x == 0 or 1e-3 <= abs(x) < 1e4:
        return f"{x:.4f}"
    return f"{x:.3e}"


def summarise(results: Sequence[dict], key: str = "error") -> dict:
    """Mean and std (population, over the seeds that succeeded) of ``key``; the failures."""
    values = [r[key] for r in results if "failed" not in r and r.get(key) is not None]
    failed = [r["failed"] for r in results if "failed" in r]
    out = {"n": len(values), "n_failed": len(failed), "failed": failed[0] if failed else ""}
    out["mean"] = float(np.mean(values)) if values else float("nan")
    out["std"] = float(np.std(values)) if values else float("nan")
    out["values"] = values
    return out


def cell(summary: dict, n_seeds: int) -> str:
    """``mean ± std`` (std only with more than one seed); ``failed: Name`` when every seed failed."""
    if summary["n"] == 0:
        return f"failed: {summary['failed']}" if summary["failed"] else "n/a"
    text = _fmt(summary["mean"]) + (f" ± {_fmt(summary['std'])}" if n_seeds > 1 else "")
    if summary["n_failed"]:
        text += f" (failed: {summary['failed']} on {summary['n_failed']}/{n_seeds} seeds)"
    return text


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]], align: Sequence[str] = ()) -> str:
    align = list(align) + ["r"] * (len(header) - len(align))
    sep = ["---" if a == "l" else "---:" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence]) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def _num(x) -> str:
    """A CSV number: full precision, empty for missing."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return ""
    return repr(float(x)) if isinstance(x, float) else str(x)


@dataclass
class TableOutput:
    """One table: its Markdown (with notes), CSV header and rows, and raw results."""

    name: str
    markdown: str
    csv_header: list[str]
    csv_rows: list[list]
    raw: list = field(default_factory=list)
    wall_s: float = 0.0


# ------------------------------------------------------------------------------------------------
# The run: shared state (data and fits are reused between tables)
# ------------------------------------------------------------------------------------------------


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


def _problem_sizes_note(run: Run, keys: Sequence[str]) -> str:
    lines = []
    for key in keys:
        size = run.sizes[key]
        lines.append(f"{key}: " + ", ".join(f"{k}={v}" for k, v in size.items()))
    return "; ".join(lines)


# ------------------------------------------------------------------------------------------------
# Table 1: accuracy
# ------------------------------------------------------------------------------------------------


def table_accuracy(run: Run) -> TableOutput:
    have_cfd_2d = cfd_2d_generator() is not None
    results: dict[tuple[str, str], list[dict]] = {}
    for key in run.problems:
        if key == "cfd2d" and not have_cfd_2d:
            continue
        for seed in run.seeds:
            try:
                run.check_problem(key, seed)
            except Exception as exc:  # the generator itself failed: every row of the column
                for label in run.rows:
                    results.setdefault((key, label), []).append(
                        {"label": label, "problem": key, "seed": seed, "failed": type(exc).__name__}
                    )
                continue
            for label in run.rows:
                results.setdefault((key, label), []).append(run.fit(key, label, seed))

    header = ["model"]
    for title in (PROBLEMS[k] for k in run.problems):
        header += [title, f"{title} (paper)"]
    md_rows, csv_rows = [], []
    for label in run.rows:
        row = [label]
        for key in run.problems:
            if key == "cfd2d" and not have_cfd_2d:
                ours = GENERATOR_MISSING
                s = {"mean": None, "std": None, "n": 0, "failed": "", "values": []}
            else:
                s = summarise(results[key, label])
                ours = cell(s, len(run.seeds))
            paper = PAPER_TABLE2.get(label, {}).get(key)
            paper_text = "not in paper" if key in NOT_IN_PAPER else ("n/a" if paper is None else _fmt(paper))
            row += [ours, paper_text]
            csv_rows.append(
                [
                    label,
                    key,
                    _num(s["mean"]),
                    _num(s["std"]),
                    s["n"],
                    len(run.seeds),
                    s["failed"] or (GENERATOR_MISSING if ours == GENERATOR_MISSING else ""),
                    " ".join(_num(v) for v in s["values"]),
                    _num(paper),
                ]
            )
        md_rows.append(row)
    notes = [
        "Cell: relative L2 error on the test set, mean ± std (population) over the seeds "
        f"{run.seeds}; for Navier-Stokes, CFD-1D and CFD-2D the mean over the rolled-out frames of "
        "`sklearn_amfno.metrics.rollout_error` (`AutoregressiveRegressor`, one-step teacher forcing, "
        "its default; predictions fed back for every target frame). Lower is better.",
        f"Same data, epochs ({run.budget.epochs}) and batch size ({run.budget.batch_size}) for every row; "
        + ("every estimator's default width" if run.budget.width is None else f"width {run.budget.width}")
        + " and otherwise its defaults (FNO: n_modes=12, FNO+: n_modes=None). The defaults include "
        "the learning rate: 1e-2 for AM-FNO and FNO (tuned, docs/defaults.md), 1e-3 for the other "
        "families (their papers'); at these short budgets that favours the first two.",
        "Sizes: " + _problem_sizes_note(run, [k for k in run.problems if k != "cfd2d" or have_cfd_2d]) + ".",
        "Darcy: solved on the grid twice as fine and subsampled; its permeability is piecewise constant.",
        "Airfoil and Pipe (the paper's Geo-FNO benchmarks): the package's own solvers "
        "(`make_airfoil`, `make_pipe`) on coarser body-fitted grids than the paper's 221 x 51 and "
        "129 x 129 (each sample is a steady solve of seconds); the input is the mesh, `(n, H, W, 2)` "
        "with `channel_axis=-1`, the target the Mach number (Airfoil) or the horizontal velocity (Pipe); "
        "see docs/datasets.md for how the data differ from the original files.",
        "(paper): the AM-FNO paper's Table 2 (`PAPER_TABLE2` in benchmarks/paper.py); "
        "n/a = not transcribed (no verified text copy of the table was available; never filled from "
        "memory). The paper's resolutions and budgets differ from these.",
    ]
    small = [k for k in run.problems if modes_per_axis(run.sizes[k]) <= 12 and (k != "cfd2d" or have_cfd_2d)]
    if small:
        notes.append(
            f"On {', '.join(PROBLEMS[k] for k in small)} the grid has at most 12 modes per axis: "
            "FNO's 12 modes are all of them, so FNO and FNO+ are the same model there (same seed: "
            "same numbers)."
        )
    if not have_cfd_2d:
        notes.append("CFD-2D: `sklearn_amfno.datasets.make_cfd_2d` is not in this version of the package.")
    md = markdown_table(header, md_rows, align=["l"]) + "\n\n" + "\n".join(f"- {n}" for n in notes)
    csv_header = ["model", "problem", "mean", "std", "n_ok", "n_seeds", "failed", "values", "paper"]
    raw = [r for rs in results.values() for r in rs]
    return TableOutput("accuracy", md, csv_header, csv_rows, raw)


# ------------------------------------------------------------------------------------------------
# Table 2: cost (one subprocess per model)
# ------------------------------------------------------------------------------------------------


def _status_mib(field: str) -> float | None:
    """A memory line of ``/proc/self/status`` (Linux) in MiB, or None."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _current_rss_mib() -> float | None:
    return _status_mib("VmRSS")


def _max_rss_mib() -> float:
    """Peak RSS of this process. Linux: ``VmHWM``, the high-water mark of this program's memory
    map; ``ru_maxrss`` would not do in a subprocess, since Linux carries the parent's peak at the
    fork over the ``exec`` (every worker would report at least the parent's RSS)."""
    hwm = _status_mib("VmHWM")
    if hwm is not None:
        return hwm
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def cost_worker(spec: dict) -> dict:
    """Measure one model (run in a fresh subprocess so that its peak memory is its own)."""
    import torch

    torch.set_num_threads(spec["threads"])
    data = np.load(spec["data"])
    X, y = data["X"], data["y"]
    budget = Budget(
        spec["epochs"], spec["batch_size"], spec["width"], spec["device"], frozenset(spec["fail"])
    )
    out: dict = {"label": spec["label"]}
    try:
        est = make_estimator(spec["label"], budget, 0)
        # Warm-up on 2 samples of an 8 x 8 grid: lazy imports, thread pools and first-call
        # allocations of torch and skorch (about 90 MiB, the same for every model) stay out of the
        # measured increase; small enough that the real fit cannot reuse its freed pages.
        warm = make_estimator(spec["label"], Budget(1, 2, spec["width"], spec["device"]), 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            step = max(1, X.shape[1] // 8)
            warm.fit(X[:2, ::step, ::step], y[:2, ::step, ::step])
        del warm
        rss_before = _current_rss_mib()
        cuda = torch.cuda.is_available() and est.device != "cpu"
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        est.fit(X, y)
        epoch = _epoch_seconds(est.net_.history)
        out.update(n_parameters=int(est.n_parameters_), epoch_s=epoch, samples_per_s=len(X) / epoch)
        out["device"] = est.device_
        out["peak_rss_mib"] = _max_rss_mib()
        if rss_before is not None:
            out["rss_delta_mib"] = out["peak_rss_mib"] - rss_before
        if est.device_.startswith("cuda"):
            out["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2**20
    except Exception as exc:
        out["failed"] = type(exc).__name__
        out["message"] = str(exc).splitlines()[0][:300] if str(exc) else ""
    return out


def table_cost(run: Run, args: argparse.Namespace) -> TableOutput:
    from sklearn_amfno import datasets

    size = run.sizes["cost"]
    res, n = size["resolution"], size["n_samples"]
    X, y = datasets.make_darcy(n, res, random_state=0)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "darcy.npz")
        np.savez(data, X=X.astype(np.float32), y=y.astype(np.float32))
        for label in run.rows:
            spec = {
                "label": label,
                "data": data,
                "epochs": size["epochs"],
                "batch_size": size["batch_size"],
                "width": size["width"],
                "device": run.budget.device,
                "threads": args.threads,
                "fail": sorted(run.budget.fail),
            }
            t0 = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--cost-worker", json.dumps(spec)],
                capture_output=True,
                text=True,
            )
            lines = proc.stdout.strip().splitlines()
            try:
                r = json.loads(lines[-1])
            except (IndexError, json.JSONDecodeError):
                tail = (proc.stderr.strip().splitlines() or [""])[-1]
                r = {"label": label, "failed": f"subprocess exit {proc.returncode}", "message": tail[:300]}
            results.append(r)
            status = f"failed: {r['failed']}" if "failed" in r else f"{r['epoch_s']:.2f} s/epoch"
            print(f"  cost     {label:14s}: {status} ({time.perf_counter() - t0:.1f} s)", flush=True)

    on_gpu = any(str(r.get("device", "")).startswith("cuda") for r in results)
    mem_title = "peak GPU memory (MiB)" if on_gpu else "peak RSS increase (MiB)"
    header = ["model", "parameters", "s / epoch", "samples / s", mem_title, "peak RSS (MiB)"]
    md_rows, csv_rows = [], []
    for r in results:
        if "failed" in r:
            md_rows.append([r["label"], f"failed: {r['failed']}", "", "", "", ""])
            csv_rows.append([r["label"], "", "", "", "", "", r["failed"]])
            continue
        mem = r.get("peak_gpu_mib") if on_gpu else r.get("rss_delta_mib")
        md_rows.append(
            [
                r["label"],
                f"{r['n_parameters']:,}",
                f"{r['epoch_s']:.3f}",
                f"{r['samples_per_s']:.1f}",
                f"{mem:.0f}" if mem is not None else "n/a",
                f"{r['peak_rss_mib']:.0f}",
            ]
        )
        csv_rows.append(
            [
                r["label"],
                r["n_parameters"],
                _num(r["epoch_s"]),
                _num(r["samples_per_s"]),
                _num(mem),
                _num(r["peak_rss_mib"]),
                "",
            ]
        )
    width = "every estimator's default width" if size["width"] is None else f"width {size['width']}"
    devices = ", ".join(sorted({str(r["device"]) for r in results if "device" in r})) or run.budget.device
    notes = [
        f"`make_darcy({n}, {res})`, {n} samples, batch {size['batch_size']}, {width}, "
        f"{size['epochs']} epochs, each model fitted in a subprocess of its own "
        f"(torch threads: {args.threads}, device: {devices}); a 2-sample 8 x 8 warm-up fit "
        "runs first in each, outside the measurement.",
        "s / epoch: median of skorch's per-epoch `dur` after the first epoch "
        "(the first when there is only one); samples / s = samples / (s / epoch).",
        "Memory: on the CPU the increase of the process's peak RSS over its RSS just before `fit` "
        "(model, optimizer state, activations, workspace); on CUDA `torch.cuda.max_memory_allocated`. "
        "Peak RSS includes the ~0.3-0.5 GiB of the interpreter, torch and the data.",
        "The paper's appendix table measures GPU memory and time on its own Darcy setting; no "
        "number of it is reproduced here.",
    ]
    md = markdown_table(header, md_rows, align=["l"]) + "\n\n" + "\n".join(f"- {n}" for n in notes)
    csv_header = ["model", "n_parameters", "epoch_s", "samples_per_s", "memory_mib", "peak_rss_mib", "failed"]
    return TableOutput("cost", md, csv_header, csv_rows, results)


# ------------------------------------------------------------------------------------------------
# Table 3: zero-shot super-resolution
# ------------------------------------------------------------------------------------------------


def table_superres(run: Run) -> TableOutput:
    keys = {"ns": "Navier-Stokes 2-D (rollout)", "darcy": "Darcy 2-D"}
    labels = [label for label in RESOLUTION_ROWS if label in run.rows]
    header, csv_rows, md_rows = ["model"], [], []
    grids = {}
    for key in keys:
        res = run.sizes[key]["resolution"]
        grids[key] = (res, 2 * res)
        header += [f"{keys[key]} {res}", f"{keys[key]} {2 * res}", f"{keys[key]} ratio"]
    raw = []
    for label in labels:
        row = [label]
        for key in keys:
            rs = [run.fit(key, label, seed) for seed in run.seeds]
            raw += rs
            coarse, fine = summarise(rs, "error"), summarise(rs, "error_fine")
            ratios = [r["error_fine"] / r["error"] for r in rs if "failed" not in r and r["error"] > 0]
            ratio = summarise([{"ratio": x} for x in ratios] + [r for r in rs if "failed" in r], "ratio")
            row += [cell(coarse, len(run.seeds)), cell(fine, len(run.seeds)), cell(ratio, len(run.seeds))]
            c, f = grids[key]
            csv_rows.append(
                [
                    label,
                    key,
                    c,
                    f,
                    _num(coarse["mean"]),
                    _num(coarse["std"]),
                    _num(fine["mean"]),
                    _num(fine["std"]),
                    _num(ratio["mean"]),
                    _num(ratio["std"]),
                    coarse["failed"],
                ]
            )
        md_rows.append(row)
    ns, darcy = grids["ns"], grids["darcy"]
    notes = [
        f"Trained on {ns[0]} x {ns[0]} (the accuracy table's fits, same data and seeds), tested on the "
        f"same test trajectories / samples at {ns[0]} and {ns[1]} (Darcy: {darcy[0]} and {darcy[1]}); "
        "ratio = fine error / coarse error (per seed, then averaged); 1 = no loss on the finer grid.",
        f"Navier-Stokes: generated at {ns[1]} x {ns[1]}, the coarse data are every other point; the "
        "whole rollout is predicted on the fine grid.",
        f"Darcy: generated at {darcy[1]} x {darcy[1]} and subsampled to {darcy[0]}. Its permeability is "
        "piecewise constant (two values, jumps along the level set of a random field), so the fine "
        "inputs have sharper interfaces than any the model saw and the coarse grid aliases them: part of "
        "the fine-grid error is this, not the operator's resolution.",
        "FNO keeps 12 modes on any grid; FNO+ keeps all modes of the training grid (none above); "
        "AM-FNO's kernel is zero above the training grid's Nyquist wavenumber.",
    ]
    md = markdown_table(header, md_rows, align=["l"]) + "\n\n" + "\n".join(f"- {n}" for n in notes)
    csv_header = [
        "model",
        "problem",
        "train_grid",
        "fine_grid",
        "error",
        "error_std",
        "error_fine",
        "error_fine_std",
        "ratio",
        "ratio_std",
        "failed",
    ]
    return TableOutput("superres", md, csv_header, csv_rows, raw)


# ------------------------------------------------------------------------------------------------
# Table 4: error per wavenumber band
# ------------------------------------------------------------------------------------------------


def table_spectral(run: Run) -> TableOutput:
    labels = [label for label in RESOLUTION_ROWS if label in run.rows]
    bands = ("low", "mid", "high")
    header = ["model", "rel. L2", "low [0, 4)", "mid [4, 12)", "high [12, Nyquist]"]
    md_rows, csv_rows, raw = [], [], []
    for label in labels:
        rs = [run.fit("spectral", label, seed, spectral=True) for seed in run.seeds]
        raw += rs
        flat = [r if "failed" in r else {**r, **{f"band_{b}": r["bands"][b] for b in bands}} for r in rs]
        total = summarise(flat, "error")
        per_band = [summarise(flat, f"band_{b}") for b in bands]
        md_rows.append([label, cell(total, len(run.seeds))] + [cell(s, len(run.seeds)) for s in per_band])
        csv_rows.append(
            [label, _num(total["mean"]), _num(total["std"])]
            + [x for s in per_band for x in (_num(s["mean"]), _num(s["std"]))]
            + [total["failed"]]
        )
    res = run.sizes["spectral"]["resolution"]
    notes = [
        f"Darcy {res} x {res} ({_problem_sizes_note(run, ['spectral'])}), trained and tested on that grid, "
        f"same epochs ({run.budget.epochs}) and batch size for the three rows.",
        "Bands: `sklearn_amfno.metrics.spectral_error(y_test, y_pred, relative=True)`, radial "
        "wavenumber, PDEBench's edges 4 and 12: each band's share of the squared relative L2 error of "
        "the pooled test set (the three add up to it, by Parseval); rel. L2 is the mean per-sample "
        "relative L2 error (not the square).",
        f"FNO keeps the wavenumbers -12 <= k < 12 per axis (the grid has |k| <= {res // 2}); FNO+ and "
        "AM-FNO all of them. The paper's "
        "Table 3 is on CFD-2D; Darcy is used here (cheap, and its solution has a decaying spectrum). "
        "The FFT treats the grid as periodic; Darcy's zero boundary values keep the extension continuous.",
    ]
    md = markdown_table(header, md_rows, align=["l"]) + "\n\n" + "\n".join(f"- {n}" for n in notes)
    csv_header = [
        "model",
        "error",
        "error_std",
        "low",
        "low_std",
        "mid",
        "mid_std",
        "high",
        "high_std",
        "failed",
    ]
    return TableOutput("spectral", md, csv_header, csv_rows, raw)


# ------------------------------------------------------------------------------------------------
# Table 5: basis ablation
# ------------------------------------------------------------------------------------------------


def no_embedding_basis():
    """The ``basis`` value that means "no embedding", if ``AMFNORegressor`` accepts one; else None.

    The estimator's ``basis`` is one of the four bases of ``sklearn_amfno.nn.layers.bases`` (and
    ``AmortizedSpectralKernel`` always embeds the MLP's input), so today this returns None.
    """
    from sklearn_amfno import AMFNORegressor

    for candidate in ("none", "identity", "raw"):
        try:
            AMFNORegressor(basis=candidate)._validate_params()
        except Exception:  # InvalidParameterError: not an accepted spelling
            continue
        return candidate
    return None


def table_ablation(run: Run) -> TableOutput:
    if "AM-FNO (MLP)" not in run.rows:
        md = "Not run: the row AM-FNO (MLP) is not selected (`--rows`)."
        return TableOutput(
            "ablation", md, ["basis", "error", "error_std", "n_parameters", "epoch_s", "failed"], []
        )
    header = ["basis", "Darcy 2-D rel. L2", "parameters", "s / epoch"]
    md_rows, csv_rows, raw = [], [], []
    none_basis = no_embedding_basis()
    for name, basis in ABLATION_ROWS.items():
        if basis is None:
            basis = none_basis
        if basis is None:
            md_rows.append([name, NOT_SUPPORTED, NOT_SUPPORTED, NOT_SUPPORTED])
            csv_rows.append([name, "", "", "", "", NOT_SUPPORTED])
            continue
        # The default basis is the accuracy table's AM-FNO (MLP) fit: reuse it.
        overrides = {} if basis == "chebyshev" else {"basis": basis}
        rs = [run.fit("darcy", "AM-FNO (MLP)", seed, **overrides) for seed in run.seeds]
        raw += rs
        s, ep = summarise(rs), summarise(rs, "epoch_s")
        params = next((r["n_parameters"] for r in rs if "failed" not in r), None)
        md_rows.append(
            [
                name,
                cell(s, len(run.seeds)),
                f"{params:,}" if params else "",
                _fmt(ep["mean"]) if ep["n"] else "",
            ]
        )
        csv_rows.append([name, _num(s["mean"]), _num(s["std"]), params or "", _num(ep["mean"]), s["failed"]])
    notes = [
        "AM-FNO (MLP) with each `basis` of its frequency embedding (n_basis=16, the default), on the "
        "accuracy table's Darcy data, seeds and budget (the chebyshev row is that table's fit; its "
        "s / epoch was measured then, the others later: on a shared machine compare them loosely).",
        "no embedding: "
        + (
            f"`basis={none_basis!r}`."
            if none_basis
            else "not supported by the estimator: `AMFNORegressor(basis=...)` accepts only "
            "chebyshev, fourier, legendre, polynomial, and `AmortizedSpectralKernel` always expands "
            "the scaled wavenumber in the basis before its MLP (the KAN kernel, a separate row of "
            "Table 1, is the only one that takes the raw wavenumber)."
        ),
    ]
    md = markdown_table(header, md_rows, align=["l"]) + "\n\n" + "\n".join(f"- {n}" for n in notes)
    csv_header = ["basis", "error", "error_std", "n_parameters", "epoch_s", "failed"]
    return TableOutput("ablation", md, csv_header, csv_rows, raw)


# ------------------------------------------------------------------------------------------------
# --jobs: the tables' fits in worker processes
# ------------------------------------------------------------------------------------------------

#: Rough relative cost of a row's epoch (from the full preset's fit times), to start the slowest
#: fits first so that the workers finish together.
ROW_COST = {
    "AM-FNO (MLP)": 2.5,
    "AM-FNO (KAN)": 3.0,
    "FNO": 1.0,
    "FNO+": 1.5,
    "F-FNO": 2.0,
    "U-FNO": 2.0,
    "AFNO": 2.0,
    "OFormer": 10.0,
    "LSM": 10.0,
}

#: Marks a worker's result line on its stdout (everything else it prints is passed through).
RESULT_MARK = "@@paper-fit "


def planned_fits(run: Run, tables: Sequence[str]) -> list[dict]:
    """Every fit the selected tables will ask ``run`` for, each once, the slowest first."""
    have_cfd_2d = cfd_2d_generator() is not None
    plan: dict[tuple, dict] = {}

    def add(key: str, label: str, spectral: bool = False, **overrides) -> None:
        for seed in run.seeds:
            memo = (key, label, seed, tuple(sorted(overrides.items())))
            plan.setdefault(
                memo,
                {"key": key, "label": label, "seed": seed, "spectral": spectral, "overrides": overrides},
            )

    resolution_rows = [label for label in RESOLUTION_ROWS if label in run.rows]
    if "accuracy" in tables:
        for key in run.problems:
            if key != "cfd2d" or have_cfd_2d:
                for label in run.rows:
                    add(key, label)
    if "superres" in tables:
        for key in ("ns", "darcy"):
            for label in resolution_rows:
                add(key, label)
    if "spectral" in tables:
        for label in resolution_rows:
            add("spectral", label, spectral=True)
    if "ablation" in tables and "AM-FNO (MLP)" in run.rows:
        for basis in ABLATION_ROWS.values():
            basis = basis or no_embedding_basis()
            if basis is not None:
                add("darcy", "AM-FNO (MLP)", **({} if basis == "chebyshev" else {"basis": basis}))

    def cost(task: dict) -> float:
        size = run.sizes[task["key"]]
        windows = size.get("n_steps_out", 1)
        return ROW_COST.get(task["label"], 2.0) * size["n_train"] * windows * grid_points(size, task["key"])

    return sorted(plan.values(), key=cost, reverse=True)


def fit_worker(config: dict) -> None:
    """``--fit-worker``: read fit tasks (JSON lines) on stdin, answer each with one result line.

    The worker keeps the data it generated, so a worker that gets several fits of one problem and
    seed generates it once.
    """
    import torch

    torch.set_num_threads(config["threads"])
    budget = Budget(
        config["epochs"], config["batch_size"], config["width"], config["device"], frozenset(config["fail"])
    )
    problems: dict = {}
    for line in sys.stdin:
        task = json.loads(line)
        key, seed = task["key"], task["seed"]
        reply: dict = {"task": task, "data_s": 0.0}
        try:
            if (key, seed) not in problems:
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    problems[key, seed] = make_problem(key, config["sizes"][key], seed)
                reply["data_s"] = time.perf_counter() - t0
            reply["result"] = fit_eval(
                problems[key, seed], task["label"], budget, seed, task["spectral"], **task["overrides"]
            )
        except Exception as exc:  # the generator failed: the main process records it per column
            reply["generation_failed"] = [
                type(exc).__name__,
                str(exc).splitlines()[0][:300] if str(exc) else "",
            ]
        print(RESULT_MARK + json.dumps(reply, default=_json_default), flush=True)


def prefetch(run: Run, tables: Sequence[str], jobs: int, threads: int) -> None:
    """Run the tables' fits in ``jobs`` worker processes and store them in ``run``'s memo.

    The tables then find every fit done and only assemble their results. Each worker is a fresh
    interpreter (``--fit-worker``) fed one task at a time, so the slowest-first order balances the
    load; a worker that dies leaves its remaining tasks to the tables, which fit them in-process.
    """
    import queue
    import threading

    tasks: queue.Queue = queue.Queue()
    for task in planned_fits(run, tables):
        tasks.put(task)
    n_tasks = tasks.qsize()
    config = {
        "threads": threads,
        "epochs": run.budget.epochs,
        "batch_size": run.budget.batch_size,
        "width": run.budget.width,
        "device": run.budget.device,
        "fail": sorted(run.budget.fail),
        "sizes": run.sizes,
    }
    lock = threading.Lock()
    done = [0]

    def serve() -> None:
        proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--fit-worker", json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        assert proc.stdin is not None and proc.stdout is not None
        try:
            while True:
                try:
                    task = tasks.get_nowait()
                except queue.Empty:
                    return
                t0 = time.perf_counter()
                proc.stdin.write(json.dumps(task) + "\n")
                proc.stdin.flush()
                reply = None
                for line in proc.stdout:
                    if line.startswith(RESULT_MARK):
                        reply = json.loads(line[len(RESULT_MARK) :])
                        break
                    print(line, end="", flush=True)
                if reply is None:  # the worker died; the tables fit what is left
                    print(f"  worker exited ({proc.poll()}); its remaining fits run in-process", flush=True)
                    return
                key, label, seed = task["key"], task["label"], task["seed"]
                with lock:
                    run.data_s[key] = run.data_s.get(key, 0.0) + reply["data_s"]
                    if "generation_failed" in reply:
                        run._generation_failed[key, seed] = tuple(reply["generation_failed"])
                        status = f"data failed: {reply['generation_failed'][0]}"
                    else:
                        r = reply["result"]
                        run._fits[key, label, seed, tuple(sorted(task["overrides"].items()))] = r
                        status = f"failed: {r['failed']}" if "failed" in r else f"{r['error']:.4f}"
                    done[0] += 1
                    print(
                        f"  [{done[0]}/{n_tasks}] {key:8s} {label:14s} seed {seed} "
                        f"{task['overrides'] or ''}: {status} ({time.perf_counter() - t0:.1f} s)",
                        flush=True,
                    )
        finally:
            proc.stdin.close()
            proc.wait()

    workers = [threading.Thread(target=serve) for _ in range(min(jobs, n_tasks))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


# ------------------------------------------------------------------------------------------------
# --estimate: the projected wall time of a preset, from 2-epoch fits on a few samples
# ------------------------------------------------------------------------------------------------


def estimate(run: Run, args: argparse.Namespace) -> dict[str, float]:
    """Project each table's wall time: time 2 epochs of every (problem, row) on a few samples.

    The second epoch's time per training sample (a window, for the rollout problems) times the
    preset's samples, epochs and seeds gives each fit; data generation is timed at the reduced size
    and scaled linearly; the cost table adds ~5 s of interpreter start per model. Prediction is
    left out (a few percent). Returns seconds per table, and prints them.
    """
    have_cfd_2d = cfd_2d_generator() is not None
    keys = [k for k in run.problems if k != "cfd2d" or have_cfd_2d] + ["spectral"]
    per_sample: dict[tuple[str, str], float] = {}
    windows: dict[str, int] = {}
    data_s: dict[str, float] = {}
    budget = Budget(2, run.budget.batch_size, run.budget.width, run.budget.device)
    for key in keys:
        size = dict(run.sizes[key])
        rollout = "n_steps_out" in size
        windows[key] = size["n_steps_out"] if rollout else 1
        n_small = min(size["n_train"], math.ceil(2 * run.budget.batch_size / windows[key]))  # 2 batches
        small = dict(size, n_train=n_small, n_test=1)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            problem = make_problem(key, small, 0)
        data_s[key] = (time.perf_counter() - t0) * (size["n_train"] + size["n_test"]) / (small["n_train"] + 1)
        labels = run.rows if key != "spectral" else [r for r in RESOLUTION_ROWS if r in run.rows]
        for label in labels:
            r = fit_eval(problem, label, budget, 0)
            n = small["n_train"] * windows[key]
            per_sample[key, label] = r["epoch_s"] / n if "failed" not in r else 0.0
            print(
                f"  {key:8s} {label:14s}: {1e3 * per_sample[key, label]:8.2f} ms / sample-epoch", flush=True
            )

    def fits(key, labels, n_seeds, repeat=1):
        size = run.sizes[key]
        n = size["n_train"] * windows[key] * run.budget.epochs * n_seeds * repeat
        return sum(per_sample[key, label] * n for label in labels)

    n_seeds = len(run.seeds)
    out = {
        "accuracy": sum(fits(k, run.rows, n_seeds) for k in keys if k != "spectral")
        + n_seeds * sum(data_s[k] for k in keys if k != "spectral"),
        "superres": 0.0,  # the accuracy table's fits
        "spectral": fits("spectral", [r for r in RESOLUTION_ROWS if r in run.rows], n_seeds)
        + n_seeds * data_s["spectral"],
        "ablation": fits("darcy", ["AM-FNO (MLP)"], n_seeds, repeat=3) if "AM-FNO (MLP)" in run.rows else 0.0,
    }
    cost = run.sizes["cost"]
    scale = (cost["resolution"] / run.sizes["darcy"]["resolution"]) ** 2 * cost["n_samples"] * cost["epochs"]
    out["cost"] = sum(5.0 + per_sample["darcy", label] * scale for label in run.rows)
    if run.budget.width != cost["width"]:
        print("  (cost: the Darcy fits' width differs from the cost table's; its estimate is rough)")
    out = {name: out[name] for name in TABLES if args.only is None or name in args.only}
    print(
        "projected wall time: "
        + ", ".join(f"{k} {v / 60:.1f} min" for k, v in out.items())
        + f"; total {sum(out.values()) / 60:.1f} min"
    )
    return out


# ------------------------------------------------------------------------------------------------
# Stamp and output
# ------------------------------------------------------------------------------------------------


def _version(name: str) -> str:
    try:
        module = __import__(name)
        return str(getattr(module, "__version__", "?"))
    except Exception:
        return "not installed"


def stamp(args: argparse.Namespace, argv: Sequence[str], budget: Budget) -> dict:
    import torch

    from sklearn_amfno._resources import resolve_device

    try:
        device = resolve_device(budget.device)
        if device.startswith("cuda"):
            device += f" ({torch.cuda.get_device_name(torch.device(device))})"
    except Exception as exc:
        device = f"{budget.device} ({type(exc).__name__})"
    return {
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        "command": shlex.join(["python", "benchmarks/paper.py", *argv]),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "jobs": args.jobs,
            "device": device,
            "load_average_start": [round(x, 2) for x in os.getloadavg()]
            if hasattr(os, "getloadavg")
            else None,
        },
        "versions": {
            "python": platform.python_version(),
            **{name: _version(name) for name in ("sklearn_amfno", "torch", "numpy", "sklearn", "skorch")},
        },
        "seeds": list(args.seeds),
    }


def write_outputs(out_dir: Path, stem: str, info: dict, tables: list[TableOutput], sizes: dict) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    m, v = info["machine"], info["versions"]
    lines = [
        f"# The AM-FNO paper's tables at reduced sizes ({info['preset']})",
        "",
        f"Generated by `{info['command']}` on {info['date_utc']} UTC, {info['total_s']:.0f} s in all.",
        "",
        "| stamp | value |",
        "| --- | --- |",
        f"| machine | {m['platform']}, {m['processor']}, {m['cpu_count']} CPUs, "
        f"{m['torch_threads']} torch threads per process, {m.get('jobs', 1)} fitting process(es) |",
        f"| device | {m['device']} |",
        f"| load average (1, 5, 15 min) | start {m['load_average_start']}, end {m['load_average_end']} |",
        "| versions | "
        + ", ".join(f"{k} {val}" for k, val in v.items()).replace("sklearn ", "scikit-learn ")
        + " |",
        f"| seeds | {info['seeds']} |",
        "| wall time per table | "
        + ", ".join(f"{t.name} {t.wall_s:.1f} s" for t in tables)
        + f" (data generation inside: {info['data_s']}) |",
        f"| sizes ({info['preset']}) | `{json.dumps(sizes)}` |",
        "",
    ]
    for t in tables:
        lines += [f"## {TABLE_TITLES[t.name]}", "", t.markdown, ""]
        write_csv(out_dir / f"{stem}.{t.name}.csv", t.csv_header, t.csv_rows)
    md_path = out_dir / f"{stem}.md"
    md_path.write_text("\n".join(lines))
    raw = {**info, "sizes": sizes, "tables": {t.name: {"wall_s": t.wall_s, "results": t.raw} for t in tables}}
    (out_dir / f"{stem}.json").write_text(json.dumps(raw, indent=1, default=_json_default))
    return md_path


def _json_default(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


# ------------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    preset = parser.add_mutually_exclusive_group()
    preset.add_argument("--quick", action="store_true", help="every table and row, tiny, one seed (minutes)")
    preset.add_argument("--smoke", action="store_true", help="smaller still: the test suite's run (seconds)")
    parser.add_argument("--out-dir", default="benchmarks/results", help="where the .md, .csv and .json go")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=TABLES,
        default=None,
        metavar="TABLE",
        help=f"run only these tables ({', '.join(TABLES)})",
    )
    parser.add_argument(
        "--rows",
        nargs="+",
        choices=list(ROWS),
        default=None,
        metavar="LABEL",
        help="run only these rows (labels as in Table 1)",
    )
    parser.add_argument(
        "--seeds", nargs="+", type=int, default=None, help="default: 0 1 2 (full), 0 (--quick)"
    )
    parser.add_argument(
        "--problems",
        nargs="+",
        choices=list(PROBLEMS),
        default=None,
        metavar="KEY",
        help="the accuracy table's columns, e.g. --problems airfoil pipe (output paper_airfoil_pipe.*)",
    )
    parser.add_argument("--device", default="auto", help="estimators' device (auto: CUDA if present)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads per process (default: the CPUs divided among the --jobs processes)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="fit in this many worker processes at once (the cost table still runs its models one "
        "by one, after the other fits); 2 with --threads 1 is about twice as fast on 2 cores",
    )
    parser.add_argument(
        "--inject-failure",
        nargs="+",
        choices=list(ROWS),
        default=[],
        metavar="LABEL",
        help="make these rows' fits raise (width=0): checks that failures are recorded, not fatal",
    )
    parser.add_argument(
        "--estimate",
        action="store_true",
        help="print the preset's projected wall time (2-epoch fits on a few samples) and exit",
    )
    parser.add_argument("--cost-worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--fit-worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be a positive number of processes, got {args.jobs}")
    if args.threads is None:
        args.threads = max(1, (os.cpu_count() or 1) // args.jobs)
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Path]:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.cost_worker is not None:
        print(json.dumps(cost_worker(json.loads(args.cost_worker)), default=_json_default), flush=True)
        return {}
    if args.fit_worker is not None:
        fit_worker(json.loads(args.fit_worker))
        return {}

    import torch

    torch.set_num_threads(args.threads)
    preset = "smoke" if args.smoke else "quick" if args.quick else "full"
    stem = {"full": "paper", "quick": "paper_quick", "smoke": "paper_smoke"}[preset]
    if args.problems is not None and set(args.problems) != set(PROBLEMS):
        stem += "_" + "_".join(k for k in PROBLEMS if k in args.problems)  # never overwrites the whole run
    sizes = json.loads(json.dumps(SIZES[preset]))
    args.seeds = args.seeds if args.seeds is not None else sizes["seeds"]
    sizes["seeds"] = args.seeds
    budget = Budget(
        sizes["epochs"], sizes["batch_size"], sizes["width"], args.device, frozenset(args.inject_failure)
    )
    rows = [label for label in ROWS if args.rows is None or label in args.rows]
    run = Run(sizes, list(args.seeds), budget, rows, args.problems or ())
    info = stamp(args, argv, budget)
    info["preset"] = preset
    print(
        f"paper.py ({preset}): seeds {args.seeds}, {args.threads} threads, device {info['machine']['device']}"
    )

    if args.estimate:
        estimate(run, args)
        return {}
    t_start = time.perf_counter()
    selected = [name for name in TABLES if args.only is None or name in args.only]
    if args.jobs > 1:
        print(f"fitting in {args.jobs} worker processes ...", flush=True)
        prefetch(run, selected, args.jobs, args.threads)
        print(f"  ({time.perf_counter() - t_start:.1f} s)", flush=True)
    functions: dict[str, Callable[[], TableOutput]] = {
        "accuracy": lambda: table_accuracy(run),
        "cost": lambda: table_cost(run, args),
        "superres": lambda: table_superres(run),
        "spectral": lambda: table_spectral(run),
        "ablation": lambda: table_ablation(run),
    }
    tables = []
    for name in TABLES:
        if args.only is not None and name not in args.only:
            continue
        print(f"{TABLE_TITLES[name]} ...", flush=True)
        t0 = time.perf_counter()
        try:
            out = functions[name]()
        except Exception as exc:  # a table that cannot run is reported, the others still run
            traceback.print_exc()
            out = TableOutput(
                name, f"failed: {type(exc).__name__}: {exc}", ["failed"], [[type(exc).__name__]]
            )
        out.wall_s = time.perf_counter() - t0
        tables.append(out)
        print(f"  ({out.wall_s:.1f} s)", flush=True)

    info["total_s"] = time.perf_counter() - t_start
    info["machine"]["load_average_end"] = (
        [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
    )
    info["data_s"] = ", ".join(f"{k} {v:.1f} s" for k, v in run.data_s.items()) or "none"
    out_dir = Path(args.out_dir)
    md_path = write_outputs(out_dir, stem, info, tables, sizes)
    print(f"wrote {md_path} and {stem}.<table>.csv, {stem}.json ({info['total_s']:.0f} s)")
    paths = {"md": md_path, "json": out_dir / f"{stem}.json"}
    paths.update({t.name: out_dir / f"{stem}.{t.name}.csv" for t in tables})
    return paths


if __name__ == "__main__":
    main()
