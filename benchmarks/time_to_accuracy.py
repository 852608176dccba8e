"""Error reached per minute of training: AM-FNO against every baseline, across the paper's suite.

    python -m benchmarks.time_to_accuracy [--quick | --smoke | --airfoil [--airfoil-grid H W]]
        [--budgets S ...] [--seeds N ...]
        [--input-scaling {channel,point}] [--jobs 2] [--threads 1] [--device cpu] [--stop-after S]
        [--report-only] [--out-dir benchmarks/results]

What a user with a time budget gets. Each budget is its own fit with its full schedule (each
estimator's default learning-rate schedule over all of its epochs), at its own defaults (learning rate,
batch size, width, ...; only ``max_epochs``, ``random_state`` and ``device`` are set), as a user
with that budget would run it: ``max_epochs = (budget - setup) / seconds per epoch``, both measured
in a short calibration fit of every (problem, model) on the same machine under the same load (the
same number of fitting processes). The rollout problems (Navier-Stokes 10 -> 10, CFD-1D, CFD-2D)
wrap the estimator in ``AutoregressiveRegressor`` (teacher forcing, the default) and score the
mean rollout error over the predicted frames, as ``benchmarks/paper`` does; the problems and
their sizes are the paper runner's (``paper.SIZES``).

Rows: AM-FNO (MLP), FNO and, where neuraloperator is installed (``pip install -e ".[bench]"``),
neuraloperator's FNO in the package's training loop (``bench_neuralop.NeuralopFNORegressor``,
``n_modes=24``, i.e. FNO's 12 per sign) at every budget; every other row of ``paper`` (AM-FNO
(KAN), FNO+, F-FNO, U-FNO, AFNO, OFormer, LSM) at the middle budget (``seeds_middle_rows``;
planned after the curves of the first seed). Seeds draw the data and initialise the models; the
longest budget runs fewer seeds (``seeds_longest``).

Time is the wall-clock time of ``fit`` alone (not data generation, not prediction), in one of
``--jobs`` worker processes with ``--threads`` torch threads each; with the defaults (2 jobs of one
thread on a 2-core machine) a budget is a minute of one core while the other core runs another
fit. Fits are interleaved (each round of the plan runs every model once before the next seed or
budget), so machine noise falls on all of them. Fits run in worker processes that serve one fit
at a time (``benchmarks.paper``'s ``WorkerProcess``, the protocol of its ``--jobs`` workers).

The run is resumable: every result (and the calibration) is appended as one JSON line to
``time_to_accuracy[_quick|_smoke].jsonl``; a later run with the same preset skips what is there
(``--stop-after`` stops starting new fits after that many seconds). Each line records its row's
configuration (``row_config``): when a default changes, that row's earlier results stay in the file
but are run again and left out of the report (``LEGACY_DEFAULTS`` says what lines written before
configurations were recorded ran). The report is rewritten from
the lines after every run: ``.md`` (tables, ratios, targets), ``.csv`` (per problem, row and
budget) and ``.png`` (error against the budget in seconds, log-log, one panel per problem).
``--report-only`` rewrites the report without fitting.

Presets: the full run (budgets of 1, 2 and 16 minutes; 3 seeds, 1 at 16 minutes; the other rows
at 2 minutes, seed 0) is about 3 hours with 2 jobs; ``--quick`` (budgets 5, 10, 20 s on the quick
sizes, one seed) about 10 minutes; ``--smoke`` (tiny, two rows) is the test suite's check.
``--airfoil``: the paper-sized Airfoil of issue 19 (``AIRFOIL_SIZES``: 1000 training and 200
test samples at 221 x 51), every row for 15 minutes of one core and the curve rows for 30, seed
0, about 2.5 hours with 2 jobs (a full epoch of OFormer or LSM takes longer than 15 minutes: they
get one epoch, and the report shows the seconds they took); the calibration fits 128 of the 1000
training samples (``calibration_samples``) and scales the epoch by 1000 / 128. Its data take about
4 core-hours to generate, once, into a cache::

    SKLEARN_AMFNO_BENCH_CACHE=~/.cache/amfno python -m benchmarks.time_to_accuracy --airfoil

``--airfoil-grid H W`` runs the same 1000 + 200 samples on another C-grid (own files,
``time_to_accuracy_airfoil_HxW*``): at 111 x 26 the 1200 samples took 26 minutes on the 2
cores (while two fits shared them) and an epoch is a fifth of the 221 x 51 one, which fits one
working session of a 2-core machine where the paper's grid (about 4 core-hours of data, 3 of
training) does not.

The inputs of the mesh problems are node coordinates that differ between samples only near the
body; ``--input-scaling point`` puts ``GridStandardScaler(channel_axis=-1, per_point=True)`` in
front of every row (docs/preprocessing.md), in its own files (``time_to_accuracy_airfoil_point.*``).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import json
import math
import os
import platform
import shlex
import statistics
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from benchmarks import paper

#: Rows fitted at every budget (neuraloperator's FNO joins them when installed).
CURVE_ROWS = ("AM-FNO (MLP)", "FNO")
NEURALOP = "neuralop FNO"
#: The baselines AM-FNO must beat (the accuracy target's "best of all baselines").
BASELINES = ("FNO+", "F-FNO", "U-FNO", "AFNO", "OFormer", "LSM")

#: The paper runner's problems with generators fast enough for repeated timed fits (Airfoil and
#: Pipe take seconds per sample to generate: the ``airfoil`` preset runs the paper-sized Airfoil).
TIMED_PROBLEMS: tuple[str, ...] = tuple(k for k in paper.PROBLEMS if k not in paper.MESH_PROBLEMS)

#: Issue 19's Airfoil training: the Geo-FNO sizes (1000 training and 200 test samples on the
#: 221 x 51 C-grid), data of ``make_airfoil(1200, (221, 51), random_state=seed)``; generate them
#: once into ``SKLEARN_AMFNO_BENCH_CACHE`` (about 4 core-hours, resumable, every sample cached).
AIRFOIL_SIZES = {"airfoil": {"n_train": 1000, "n_test": 200, "resolution": (221, 51)}}

PRESETS: dict[str, dict] = {
    "full": {
        "sizes": "full",
        "budgets": [60, 120, 960],
        "middle": 120,
        "seeds": [0, 1, 2],
        "seeds_longest": [0],
        # The other rows on every seed too: the comparison with the best baseline pairs seeds.
        "seeds_middle_rows": [0, 1, 2],
        "calibration_epochs": 3,
        "rows": None,
    },
    "airfoil": {
        "sizes": AIRFOIL_SIZES,
        "problems": ("airfoil",),
        # Every row for 15 minutes of one core, the curve rows also for 30 (the paper trains
        # 500 epochs; an AM-FNO epoch of 1000 samples at 221 x 51 takes minutes on one core).
        "budgets": [900, 1800],
        "middle": 900,
        "seeds": [0],
        "seeds_longest": [0],
        "seeds_middle_rows": [0],
        "calibration_epochs": 2,
        # Calibrate on 128 of the 1000 training samples and scale the epoch by 1000 / 128: at
        # 221 x 51 a full epoch of OFormer or LSM takes about 20 minutes of one core.
        "calibration_samples": 128,
        "rows": None,
    },
    "quick": {
        "sizes": "quick",
        "budgets": [5, 10, 20],
        "middle": 10,
        "seeds": [0],
        "seeds_longest": [0],
        "seeds_middle_rows": [0],
        "calibration_epochs": 3,
        "rows": None,
    },
    "smoke": {
        "sizes": "smoke",
        "budgets": [1, 2],
        "middle": 1,
        "seeds": [0],
        "seeds_longest": [0],
        "seeds_middle_rows": [0],
        "calibration_epochs": 2,
        "rows": ["AM-FNO (MLP)", "FNO", "FNO+"],
    },
}

#: The defaults a row ran with before the result lines recorded their configuration ("config"):
#: AM-FNO's lr_schedule was the cosine until issue 17's round 4 (docs/defaults.md).
LEGACY_DEFAULTS: dict[str, dict] = {"AM-FNO (MLP)": {"lr_schedule": "cosine"}}
#: Parameters that leave the cost of an epoch as it is: a calibration holds for any value of them.
COST_FREE = frozenset({"lr", "lr_schedule", "weight_decay"})
#: Set per fit by the plan, not part of a row's configuration.
UNKEYED = frozenset({"max_epochs", "random_state", "device", "verbose"})

#: Targets of the issue (AM-FNO (MLP) error over the other row's, at budgets >= 2 minutes).
TARGET_OVER_FNO = {"burgers": 1.0, "darcy": 0.6, "ns": 0.6, "cfd1d": 0.6, "cfd2d": 0.6}
TARGET_OVER_NEURALOP = 0.8
TARGET_FROM_S = 120


def rows_table(with_neuralop: bool) -> dict[str, tuple]:
    """``paper.ROWS`` plus neuraloperator's FNO (a class, not a package name) when asked for."""
    rows: dict[str, tuple] = dict(paper.ROWS)
    if with_neuralop:
        from benchmarks.bench_neuralop import NeuralopFNORegressor

        rows[NEURALOP] = (NeuralopFNORegressor, {"n_modes": 24})
    return rows


def neuralop_available() -> bool:
    try:
        import neuralop  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def row_config(label: str, kind: str, legacy: bool = False) -> str | None:
    """A fingerprint of row ``label``'s estimator as a fit of ``kind`` runs it (None: the row
    cannot be built here, e.g. neuraloperator's FNO without neuraloperator).

    Results of another configuration (a default changed since) are kept in the ``.jsonl`` but
    neither count as done nor enter the report; ``legacy`` gives the configuration that lines
    written before configurations were recorded ran (``LEGACY_DEFAULTS``). A calibration's
    fingerprint leaves out the parameters that do not change an epoch's cost (``COST_FREE``).
    """
    overrides = LEGACY_DEFAULTS.get(label, {}) if legacy and kind == "fit" else {}
    try:
        est = paper.make_estimator(
            label, paper.Budget(1, None, None, "cpu"), 0, rows_table(label == NEURALOP), **overrides
        )
    except ImportError:
        return None
    drop = UNKEYED | (COST_FREE if kind == "calibration" else frozenset())
    params = {k: repr(v) for k, v in sorted(est.get_params(deep=False).items()) if k not in drop}
    return hashlib.sha1(json.dumps(params).encode()).hexdigest()[:12]


def current_lines(lines: Sequence[dict]) -> list[dict]:
    """The result lines of each row's configuration of now (see :func:`row_config`)."""
    out = []
    for r in lines:
        now = row_config(r["label"], r["kind"])
        ran = r["config"] if "config" in r else row_config(r["label"], r["kind"], legacy=True)
        if now is None or ran == now:
            out.append(r)
    return out


# ------------------------------------------------------------------------------------------------
# One fit (in a worker process)
# ------------------------------------------------------------------------------------------------


def load_problem(cache: Path, key: str, seed: int) -> paper.Problem:
    with np.load(cache / f"{key}_{seed}.npz", allow_pickle=False) as f:
        arrays = {name: f[name] for name in f.files}
    n_fields = int(arrays.pop("n_fields"))
    params = json.loads(str(arrays.pop("estimator_params", "{}")))
    return paper.Problem(key, **arrays, n_fields=None if n_fields < 0 else n_fields, estimator_params=params)


#: ``--input-scaling``: ``channel``, the estimators' own scaling of each input channel over samples
#: and grid; ``point``, the mesh problems' inputs behind ``GridStandardScaler(channel_axis=-1,
#: per_point=True)`` (each node's deviation from the training meshes' mean node, docs/preprocessing.md).
INPUT_SCALINGS = ("channel", "point")


def input_scaler(scaling: str, problem: str):
    """The transformer in front of every row for ``scaling`` on ``problem`` (None: none)."""
    if scaling not in INPUT_SCALINGS:
        raise ValueError(f"input scaling must be one of {INPUT_SCALINGS}, got {scaling!r}")
    if scaling == "channel" or problem not in paper.MESH_PROBLEMS:
        return None
    from sklearn_amfno.preprocessing import GridStandardScaler

    return GridStandardScaler(channel_axis=-1, per_point=True)


def fit_one(task: dict) -> dict:
    """Fit one (problem, row, epochs, seed) in this worker process; its result."""
    import torch

    torch.set_num_threads(task["threads"])
    problem = load_problem(Path(task["cache"]), task["problem"], task["seed"])
    n_train = len(problem.X_train)
    subset = task.get("calibration_samples")
    if subset is not None and subset < n_train:
        problem = dataclasses.replace(
            problem, X_train=problem.X_train[:subset], y_train=problem.y_train[:subset]
        )
    budget = paper.Budget(task["epochs"], None, None, task["device"])
    with warnings.catch_warnings():
        # Short budgets do warn (ConvergenceWarning after few epochs): that is the measurement.
        warnings.simplefilter("ignore")
        result = paper.fit_eval(
            problem,
            task["label"],
            budget,
            task["seed"],
            rows=rows_table(task["label"] == NEURALOP),
            input_scaler=input_scaler(task.get("input_scaling", "channel"), problem.key),
        )
    if "epoch_s" in result:
        # The setup (validation, the first epoch's warm-up) is what the fit took beyond its epochs;
        # an epoch on a subset of the training set scales with the samples it passes over.
        result["setup_s"] = max(0.0, result["fit_s"] - result["n_epochs"] * result["epoch_s"])
        if len(problem.X_train) < n_train:
            result["epoch_s_subset"] = result["epoch_s"]
            result["epoch_s"] *= n_train / len(problem.X_train)
    return {**{k: task[k] for k in TASK_FIELDS if k in task}, **result}


# ------------------------------------------------------------------------------------------------
# The plan
# ------------------------------------------------------------------------------------------------


#: What a result line keeps of its task.
TASK_FIELDS = (
    "kind",
    "problem",
    "label",
    "seed",
    "budget_s",
    "epochs",
    "config",
    "calibration_samples",
    "input_scaling",
)


def task_key(task: dict) -> tuple:
    return (task["kind"], task["problem"], task["label"], task.get("budget_s"), task["seed"])


def plan_fits(
    preset: dict,
    budgets: Sequence[float],
    seeds: Sequence[int],
    rows: Sequence[str],
    problems: Sequence[str] = TIMED_PROBLEMS,
) -> list[dict]:
    """Every budgeted fit, in the order that makes a partial run (``--stop-after``) most useful.

    First the middle budget on the first seed with every row (the comparison with all baselines),
    then the other budgets but the longest on the first seed, then the further seeds, then the
    longest budget (``seeds_longest``). Within a step every problem runs every row in turn, so
    machine noise falls on all of them.
    """
    curve = [r for r in rows if r in CURVE_ROWS or r == NEURALOP]
    middle_only = [r for r in rows if r not in curve]
    longest = max(budgets) if len(budgets) > 1 else math.inf
    middle = preset["middle"] if preset["middle"] in budgets else sorted(budgets)[len(budgets) // 2]
    tasks: list[dict] = []

    def add(budget: float, seed: int, labels: Sequence[str]) -> None:
        for key in problems:
            for label in labels:
                tasks.append(
                    {"kind": "fit", "problem": key, "label": label, "seed": seed, "budget_s": budget}
                )

    first, *others = seeds
    add(middle, first, curve + [r for r in middle_only if first in preset["seeds_middle_rows"]])
    shorter = [b for b in sorted(budgets) if b != middle and b != longest]
    for b in shorter:
        add(b, first, curve)
    for seed in others:
        add(middle, seed, curve + [r for r in middle_only if seed in preset["seeds_middle_rows"]])
        for b in shorter:
            add(b, seed, curve)
    if longest != math.inf and longest != middle:
        for seed in [s for s in seeds if s in preset["seeds_longest"]]:
            add(longest, seed, curve)
    return tasks


def epochs_for(calibration: dict, budget_s: float) -> int:
    """Epochs that fit ``budget_s`` seconds of ``fit``: the setup, then whole epochs (at least 1)."""
    return max(1, int((budget_s - calibration["setup_s"]) // calibration["epoch_s"]))


# ------------------------------------------------------------------------------------------------
# Running
# ------------------------------------------------------------------------------------------------


def read_lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def generate_data(cache: Path, sizes: dict, seeds: Sequence[int], problems: Sequence[str]) -> None:
    """Every problem for every seed, once, as .npz files the fit processes load."""
    for key in problems:
        for seed in seeds:
            target = cache / f"{key}_{seed}.npz"
            if target.exists():
                continue
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # LargeGenerationWarning: the sizes are chosen here
                p = paper.make_problem(key, sizes[key], seed)
            np.savez(
                target,
                X_train=p.X_train,
                y_train=p.y_train,
                X_test=p.X_test,
                y_test=p.y_test,
                n_fields=np.int64(-1 if p.n_fields is None else p.n_fields),
                # The mesh problems' channel_axis=-1.
                estimator_params=np.array(json.dumps(p.estimator_params)),
            )
            print(f"  data {key} seed {seed}: {time.perf_counter() - t0:.1f} s", flush=True)


class Worker(paper.WorkerProcess):
    """A fitting process (``--worker``) with ``threads`` OpenMP threads, serving one fit at a time:
    one interpreter and torch start per worker, not per fit (at the quick sizes the start costs as
    much as a fit). A worker that dies is replaced for the next task; its task is recorded as
    failed, with the last line of its standard error (kept in ``log``) as the message."""

    def __init__(self, threads: int) -> None:
        self.log = tempfile.TemporaryFile(mode="w+")
        env = {"OMP_NUM_THREADS": str(threads)}
        super().__init__("benchmarks.time_to_accuracy", "--worker", env=env, stderr=self.log)

    def last_error(self) -> str:
        self.log.seek(0)
        lines = self.log.read().strip().splitlines()
        return lines[-1][:300] if lines else "no message"

    def close(self) -> None:
        super().close()
        self.log.close()


def run_tasks(tasks: list[dict], jobs: int, log: Path, deadline: float) -> None:
    """Run the tasks in order on ``jobs`` worker processes; append each result to ``log``."""
    done = [0]
    local = threading.local()
    workers: list[Worker] = []
    lock = threading.Lock()

    def one(task: dict) -> None:
        if time.perf_counter() > deadline:
            return
        if not hasattr(local, "worker"):
            local.worker = Worker(task["threads"])
            with lock:
                workers.append(local.worker)
        t0 = time.perf_counter()
        result = local.worker.ask(task)
        if result is None:  # the process died: a result of its own
            result = {k: task[k] for k in TASK_FIELDS if k in task}
            result.update(failed="WorkerDied", message=local.worker.last_error())
        result["wall_s"] = time.perf_counter() - t0
        with lock:
            with open(log, "a") as f:
                f.write(json.dumps(result, default=paper.json_default) + "\n")
            done[0] += 1
            status = f"failed: {result['failed']}" if "failed" in result else f"{result['error']:.4f}"
            print(
                f"  [{done[0]}/{len(tasks)}] {task['kind']:5s} {task['problem']:6s} {task['label']:14s} "
                f"budget {task.get('budget_s')} s seed {task['seed']} ({task['epochs']} epochs): "
                f"{status}, fit {result.get('fit_s', float('nan')):.1f} s",
                flush=True,
            )

    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(one, tasks))
    finally:
        for worker in workers:
            worker.close()


def calibrations(lines: Sequence[dict]) -> dict[tuple[str, str], dict]:
    """(problem, row) -> ``epoch_s`` and ``setup_s`` from the calibration fits in ``lines``."""
    out = {}
    for r in lines:
        if r.get("kind") == "calibration" and "failed" not in r:
            # The first epoch's warm-up counts as setup: every budgeted fit pays it once (lines
            # written before "setup_s" was recorded had no subset: their epochs give it).
            setup = r["setup_s"] if "setup_s" in r else max(0.0, r["fit_s"] - r["n_epochs"] * r["epoch_s"])
            out[r["problem"], r["label"]] = {"epoch_s": r["epoch_s"], "setup_s": setup}
    return out


# ------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------


def summarise(lines: Sequence[dict]) -> dict[tuple, dict]:
    """(problem, row, budget) -> mean and std of the error, mean fit seconds, epochs, seeds."""
    groups: dict[tuple, list[dict]] = {}
    for r in lines:
        if r.get("kind") == "fit":
            groups.setdefault((r["problem"], r["label"], r["budget_s"]), []).append(r)
    out = {}
    for k, rs in groups.items():
        ok = [r for r in rs if "failed" not in r]
        errors = [r["error"] for r in ok]
        out[k] = {
            "n": len(ok),
            "failed": [r["failed"] for r in rs if "failed" in r],
            "error": statistics.fmean(errors) if errors else math.nan,
            "std": statistics.stdev(errors) if len(errors) > 1 else math.nan,
            "fit_s": statistics.fmean(r["fit_s"] for r in ok) if ok else math.nan,
            "epochs": statistics.median(r["epochs"] for r in ok) if ok else math.nan,
        }
    return out


def _cell(s: dict | None) -> str:
    if s is None:
        return ""
    if not s["n"]:
        return f"failed: {s['failed'][0]}"
    text = paper.fmt_number(s["error"])
    if s["n"] > 1:
        text += f" ± {paper.fmt_number(s['std'])}"
    return text + f" ({s['epochs']:g} ep, {s['fit_s']:.0f} s)"


def _ratio(lines: Sequence[dict], problem: str, a: str, b: str, budget: float) -> tuple[float, int] | None:
    """Row ``a``'s mean error over row ``b``'s on the seeds both ran (paired: the same data and
    initialisation seeds), and how many seeds that is; None when they share none."""
    errors: dict[str, dict[int, float]] = {a: {}, b: {}}
    for r in lines:
        if (
            r.get("kind") == "fit"
            and "failed" not in r
            and r["problem"] == problem
            and r["budget_s"] == budget
        ):
            if r["label"] in errors:
                errors[r["label"]][r["seed"]] = r["error"]
    seeds = sorted(set(errors[a]) & set(errors[b]))
    if not seeds:
        return None
    return statistics.fmean(errors[a][s] for s in seeds) / statistics.fmean(errors[b][s] for s in seeds), len(
        seeds
    )


def report(lines: Sequence[dict], info: dict, stem: Path) -> None:
    """Write ``stem``.md, .csv and .png from the result lines."""
    superseded = len(lines)
    lines = current_lines(lines)
    superseded -= len(lines)
    summary = summarise(lines)
    budgets = sorted({k[2] for k in summary})
    labels = [label for label in (*paper.ROWS, NEURALOP) if any(k[1] == label for k in summary)]
    # FNO's two comparisons side by side in the tables and the legend.
    if NEURALOP in labels:
        labels.remove(NEURALOP)
        labels.insert(labels.index("FNO") + 1 if "FNO" in labels else len(labels), NEURALOP)
    problems = [key for key in paper.PROBLEMS if any(k[0] == key for k in summary)]
    md = [
        "# Time to accuracy: test error reached per budget of training time",
        "",
        f"Generated by `{info['command']}` (resumable); report written {info['date_utc']} UTC. "
        f"{info['machine']}. Versions: {info['versions']}.",
        "",
        "Each cell: test relative L2 error (rollout problems: mean rollout error over the predicted "
        "frames), mean ± std over the seeds that ran, then the epochs that fit the budget and the "
        "measured `fit` seconds. Each budget is its own fit with its full schedule, every estimator "
        "at its own defaults (docstring of the script). Empty: not run (yet). The epochs come "
        "from the calibration; measured seconds well above the budget mean that other processes "
        "shared the machine during that fit (its error is still the budget's)."
        + (
            f" {superseded} earlier results of configurations since changed (a default changed; "
            "`row_config` in the script) stay in the `.jsonl` and are not shown."
            if superseded
            else ""
        ),
        "",
    ]
    if info.get("data"):
        md += [f"Data: {info['data']}", ""]
    if any(key in paper.MESH_PROBLEMS for key in problems):
        md += [
            "Mesh inputs (the node coordinates): "
            + (
                "behind `GridStandardScaler(channel_axis=-1, per_point=True)` in a pipeline, for every "
                "row (each node's deviation from the training meshes' mean node; docs/preprocessing.md)."
                if info.get("input_scaling") == "point"
                else "as they are, each estimator scaling each input channel over samples and grid "
                "(its default); `--input-scaling point` gives the per-point scaling."
            ),
            "",
        ]
    # Every row at the budget most rows ran at, problems as columns (the README's headline form),
    # the lowest error of each column in bold.
    full_budget = max(budgets, key=lambda b: (len({k[1] for k in summary if k[2] == b}), b), default=None)
    if full_budget is not None:
        md += [f"## Every model at {full_budget:g} s", ""]
        md += ["| model | " + " | ".join(paper.PROBLEMS[k] for k in problems) + " |"]
        md += ["| --- |" + " ---: |" * len(problems)]
        lowest = {
            k: min(
                (s["error"] for (p, _, b), s in summary.items() if p == k and b == full_budget and s["n"]),
                default=None,
            )
            for k in problems
        }
        for label in labels:
            cells = []
            for k in problems:
                c = summary.get((k, label, full_budget))
                if c is None:
                    cells.append("")
                elif not c["n"]:
                    cells.append(f"failed: {c['failed'][0]}")
                else:
                    text = paper.fmt_number(c["error"])
                    cells.append(f"**{text}**" if c["error"] == lowest[k] else text)
            if any(cells):
                md.append(f"| {label} | " + " | ".join(cells) + " |")
        md.append("")
    csv_rows = []
    for key in problems:
        title = paper.PROBLEMS[key]
        md += [f"## {title}", "", "| model | " + " | ".join(f"{b:g} s" for b in budgets) + " |"]
        md.append("| --- |" + " ---: |" * len(budgets))
        for label in labels:
            cells = [summary.get((key, label, b)) for b in budgets]
            if any(cells):
                md.append(f"| {label} | " + " | ".join(_cell(c) for c in cells) + " |")
            for b, c in zip(budgets, cells):
                if c:
                    csv_rows.append(
                        [
                            key,
                            label,
                            b,
                            c["n"],
                            c["epochs"],
                            c["fit_s"],
                            c["error"],
                            c["std"],
                            ";".join(c["failed"]),
                        ]
                    )
        md.append("")
    md += [
        "## Targets (AM-FNO (MLP) at its defaults; budgets of 2 minutes or more)",
        "",
        "AM-FNO's mean error over the other row's on the seeds both ran ([n]: how many; same data "
        "and initialisation seeds); the best baseline is the one of lowest mean error.",
        "",
    ]
    md += ["| problem | budget | / FNO (target) | / neuralop FNO (<= 0.8) | / best baseline (<= 1) |"]
    md += ["| --- | ---: | ---: | ---: | ---: |"]
    for key in problems:
        for b in [b for b in budgets if b >= TARGET_FROM_S or info.get("preset") != "full"]:
            r_fno = _ratio(lines, key, "AM-FNO (MLP)", "FNO", b)
            r_nop = _ratio(lines, key, "AM-FNO (MLP)", NEURALOP, b)
            base = [
                (summary[key, label, b]["error"], label)
                for label in BASELINES
                if (key, label, b) in summary and summary[key, label, b]["n"]
            ]
            best = min(base) if base else None
            r_best = _ratio(lines, key, "AM-FNO (MLP)", best[1], b) if best else None
            if r_fno is None and r_nop is None and r_best is None:
                continue

            def fmt(r, target):
                if r is None:
                    return "not run"
                ratio, n = r
                if target is None:
                    return f"{ratio:.2f} [{n}]"
                return f"{ratio:.2f} {'met' if ratio <= target else '**missed**'} [{n}]"

            # Airfoil has no target over FNO (issue 19 asks for the errors side by side).
            fno_target = TARGET_OVER_FNO.get(key)
            md.append(
                f"| {paper.PROBLEMS[key]} | {b:g} s | "
                f"{fmt(r_fno, fno_target)} ({fno_target if fno_target is not None else 'none'}) | "
                f"{fmt(r_nop, TARGET_OVER_NEURALOP)} | "
                + (f"{fmt(r_best, 1.0)} ({best[1]})" if best else "not run")
                + " |"
            )
    failed = [r for r in lines if "failed" in r]
    if failed:
        md += ["", "Failed fits:", ""]
        md += [
            f"- {r['kind']} {r['problem']} {r['label']} budget {r.get('budget_s')} seed {r['seed']}: "
            f"{r['failed']}: {r.get('message', '')}"
            for r in failed
        ]
    cal = calibrations(lines)
    if cal:
        md += ["", "Calibration (seconds per epoch after the first; setup seconds of `fit`):", ""]
        md += ["| problem | " + " | ".join(labels) + " |", "| --- |" + " ---: |" * len(labels)]
        for key in problems:
            md.append(
                f"| {key} | "
                + " | ".join(
                    f"{cal[key, label]['epoch_s']:.2f} + {cal[key, label]['setup_s']:.1f}"
                    if (key, label) in cal
                    else ""
                    for label in labels
                )
                + " |"
            )
    stem.with_suffix(".md").write_text("\n".join(md) + "\n")
    paper.write_csv(
        stem.with_suffix(".csv"),
        ["problem", "model", "budget_s", "n_seeds", "epochs", "fit_s", "error_mean", "error_std", "failed"],
        csv_rows,
    )
    figure(summary, labels, problems, stem.with_suffix(".png"))


def figure(summary: dict, labels: Sequence[str], problems: Sequence[str], path: Path) -> None:
    """Error against the training budget, log-log, one panel per problem; curve rows as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    keys = list(problems) or list(TIMED_PROBLEMS)
    budgets = sorted({b for (_, _, b) in summary})
    fig, axes = plt.subplots(1, len(keys), figsize=(3.4 * len(keys), 3.3), squeeze=False)
    markers = "osD^v<>phX*"
    for ax, key in zip(axes[0], keys):
        for i, label in enumerate(labels):
            # At the budget: its epochs were calibrated for it; the measured fit seconds (in
            # the tables) also carry the load that other processes put on the shared machine.
            pts = sorted(
                (budget, s["error"], s["std"])
                for (p, lab, budget), s in summary.items()
                if p == key and lab == label and s["n"]
            )
            if not pts:
                continue
            x, y, e = (np.array(v, dtype=float) for v in zip(*pts))
            style = "-" if len(pts) > 1 else ""
            ax.errorbar(
                x,
                y,
                yerr=np.nan_to_num(e),
                fmt=style + markers[i % len(markers)],
                ms=4,
                capsize=2,
                lw=1.8 if label == "AM-FNO (MLP)" else 1.0,
                label=label,
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        # The budgets themselves as ticks (log axes otherwise print overlapping 6x10^1 labels),
        # the same range on every panel.
        if budgets:
            ax.set_xlim(budgets[0] / 1.5, budgets[-1] * 1.5)
            ax.xaxis.set_major_locator(FixedLocator(budgets))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(paper.PROBLEMS[key], fontsize=10)
        ax.set_xlabel("training budget (s)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("test relative L2 error")
    handles, names = [], []
    for ax in axes[0]:
        for h, n in zip(*ax.get_legend_handles_labels()):
            if n not in names:
                handles.append(h)
                names.append(n)
    fig.legend(handles, names, loc="lower center", ncol=min(len(names), 6), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    preset = parser.add_mutually_exclusive_group()
    preset.add_argument("--quick", action="store_true", help="quick sizes, budgets 5/10/20 s (~10 min)")
    preset.add_argument("--smoke", action="store_true", help="tiny: the test suite's run")
    preset.add_argument(
        "--airfoil", action="store_true", help="the paper-sized Airfoil (1000 + 200 samples at 221 x 51)"
    )
    parser.add_argument(
        "--airfoil-grid",
        nargs=2,
        type=int,
        default=None,
        metavar=("H", "W"),
        help="--airfoil on this C-grid instead of 221 x 51 (output *_HxW*)",
    )
    parser.add_argument("--budgets", nargs="+", type=float, default=None, help="seconds of fit per budget")
    parser.add_argument("--seeds", nargs="+", type=int, default=None)
    parser.add_argument("--rows", nargs="+", default=None, metavar="LABEL", help="only these rows")
    parser.add_argument(
        "--problems",
        nargs="+",
        choices=[*TIMED_PROBLEMS, "airfoil"],
        default=None,
        help="only these (default: the preset's)",
    )
    parser.add_argument(
        "--input-scaling",
        choices=INPUT_SCALINGS,
        default="channel",
        help="the mesh problems' input: as it is (channel) or per point (point; output *_point.*)",
    )
    parser.add_argument("--jobs", type=int, default=2, help="fits running at once (one worker process each)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per fit")
    parser.add_argument("--device", default="cpu", help="estimators' device (cpu, cuda, auto)")
    parser.add_argument("--stop-after", type=float, default=math.inf, help="start no fit after this many s")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from the .jsonl")
    parser.add_argument("--out-dir", default="benchmarks/results")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.threads < 1:
        parser.error("--jobs and --threads must be positive")
    # make_airfoil checks the grid itself (n_around odd, at least 41 x 9), before any fit.
    if args.airfoil_grid is not None and not args.airfoil:
        parser.error("--airfoil-grid applies to --airfoil")
    return args


def main(argv: Sequence[str] | None = None) -> Path | None:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.worker:
        paper.serve(fit_one)
        return None
    name = "smoke" if args.smoke else "quick" if args.quick else "airfoil" if args.airfoil else "full"
    preset = dict(PRESETS[name])
    sizes = preset["sizes"] if isinstance(preset["sizes"], dict) else paper.SIZES[preset["sizes"]]
    grid_suffix = ""
    if args.airfoil_grid is not None and tuple(args.airfoil_grid) != sizes["airfoil"]["resolution"]:
        sizes = {**sizes, "airfoil": {**sizes["airfoil"], "resolution": tuple(args.airfoil_grid)}}
        grid_suffix = "_{}x{}".format(*args.airfoil_grid)
    problems = args.problems or list(preset.get("problems", TIMED_PROBLEMS))
    unknown = [key for key in problems if key not in sizes]
    if unknown:
        raise SystemExit(f"time_to_accuracy: the {name} preset has no size for {unknown}")
    if any(key in paper.MESH_PROBLEMS for key in problems) and paper.problems.DATA_CACHE is None:
        print(
            "time_to_accuracy: SKLEARN_AMFNO_BENCH_CACHE is not set, so the Airfoil/Pipe data "
            "(hours at the paper's sizes) are generated without a cache.",
            flush=True,
        )
    budgets = args.budgets or preset["budgets"]
    if args.budgets:
        preset["middle"] = sorted(budgets)[len(budgets) // 2]
    seeds = args.seeds if args.seeds is not None else preset["seeds"]
    rows = list(preset["rows"] or paper.ROWS)
    if preset["rows"] is None and neuralop_available():
        rows.insert(2, NEURALOP)
    if args.rows:
        rows = [r for r in rows if r in args.rows]
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = (
        out_dir
        / {
            "full": "time_to_accuracy",
            "quick": "time_to_accuracy_quick",
            "smoke": "time_to_accuracy_smoke",
            "airfoil": "time_to_accuracy_airfoil",
        }[name]
    )
    stem = stem.with_name(stem.name + grid_suffix)
    if args.input_scaling != "channel":
        if not any(key in paper.MESH_PROBLEMS for key in problems):
            raise SystemExit("time_to_accuracy: --input-scaling applies to the mesh problems (--airfoil)")
        stem = stem.with_name(f"{stem.name}_{args.input_scaling}")
    log = stem.with_suffix(".jsonl")
    import torch

    import sklearn_amfno

    info = {
        "command": shlex.join(["python", "-m", "benchmarks.time_to_accuracy", *argv]),
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "preset": name,
        "machine": f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"{args.jobs} fit(s) at a time, {args.threads} torch thread(s) each, device {args.device}",
        "versions": f"sklearn_amfno {sklearn_amfno.__version__}, torch {torch.__version__}",
        "input_scaling": args.input_scaling,
    }
    if name == "airfoil":
        a = sizes["airfoil"]
        info["data"] = (
            f"`make_airfoil({a['n_train'] + a['n_test']}, {tuple(a['resolution'])}, random_state=seed)`: "
            f"the first {a['n_train']} samples train, the last {a['n_test']} test."
        )
    if args.report_only:
        # The data come from the runs; name the command that makes them, not this rewrite.
        run_argv = [a for a in argv if a != "--report-only"]
        info["command"] = shlex.join(["python", "-m", "benchmarks.time_to_accuracy", *run_argv])
        report(read_lines(log), info, stem)
        return stem.with_suffix(".md")

    start = time.perf_counter()
    deadline = start + args.stop_after
    common = {"threads": args.threads, "device": args.device, "input_scaling": args.input_scaling}
    with tempfile.TemporaryDirectory(prefix="tta_data_") as cache_dir:
        cache = Path(cache_dir)
        common["cache"] = str(cache)
        fits = [
            {**t, "config": row_config(t["label"], "fit")}
            for t in plan_fits(preset, budgets, seeds, rows, problems)
        ]
        done = {task_key(r) for r in current_lines(read_lines(log))}
        fits = [t for t in fits if task_key(t) not in done]
        print(f"time_to_accuracy ({name}): {len(fits)} fits to run, rows {rows}", flush=True)
        generate_data(cache, sizes, sorted({t["seed"] for t in fits} | {seeds[0]}), problems)
        # Calibration: every (problem, row) that still has fits, on the first seed's data, as many
        # at a time as the fits will run.
        cal = calibrations(current_lines(read_lines(log)))
        needed = sorted({(t["problem"], t["label"]) for t in fits} - set(cal))
        cal_tasks = [
            {
                **common,
                "kind": "calibration",
                "problem": key,
                "label": label,
                "seed": seeds[0],
                "budget_s": None,
                "epochs": preset["calibration_epochs"],
                "calibration_samples": preset.get("calibration_samples"),
                "config": row_config(label, "calibration"),
            }
            for key, label in needed
        ]
        print(f"calibrating {len(cal_tasks)} (problem, model) pairs ...", flush=True)
        run_tasks(cal_tasks, args.jobs, log, deadline)
        cal = calibrations(current_lines(read_lines(log)))
        runnable = []
        for t in fits:
            if (t["problem"], t["label"]) in cal:
                runnable.append(
                    {**common, **t, "epochs": epochs_for(cal[t["problem"], t["label"]], t["budget_s"])}
                )
            else:  # its calibration failed: the fit is recorded as failed without running
                with open(log, "a") as f:
                    f.write(json.dumps({**t, "epochs": 0, "failed": "CalibrationFailed"}) + "\n")
        print(f"fitting {len(runnable)} budgets ...", flush=True)
        run_tasks(runnable, args.jobs, log, deadline)
    lines = read_lines(log)
    report(lines, info, stem)
    # The planned fits (of these rows, budgets and seeds) that have no current result yet.
    planned = {task_key(t) for t in plan_fits(preset, budgets, seeds, rows, problems)}
    remaining = len(planned - {task_key(r) for r in current_lines(lines) if r.get("kind") == "fit"})
    print(
        f"wrote {stem}.md/.csv/.png ({time.perf_counter() - start:.0f} s); "
        + (f"{remaining} fits left for a later run" if remaining > 0 else "every planned fit done"),
        flush=True,
    )
    return stem.with_suffix(".md")


if __name__ == "__main__":
    main()
