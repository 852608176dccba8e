"""Optimisation for short budgets: which training settings make AM-FNO learn faster per minute.

    python -m benchmarks.short_budget [--problems burgers darcy ns] [--seeds 0 1 2]
        [--variants base warmup ...] [--budget 120] [--jobs 2] [--stop-after S] [--report-only]

One factor at a time around AM-FNO's defaults (then the combinations named in ``VARIANTS``),
each fit at the epochs that AM-FNO's defaults fit into ``--budget`` seconds on this machine
(the calibration of ``benchmarks/time_to_accuracy.py``, committed in
``benchmarks/results/time_to_accuracy.jsonl``), on the paper runner's full sizes, 3 seeds. A
variant that changes the cost of an epoch (batch size, ``ffn_ratio``: ``COST_PARAMS``) gets the
epochs that fit the same budget: the committed epochs times the defaults' seconds per epoch over
its own, both measured in one calibration run (``cost_ratios``; variants of equal cost share
it), so every variant gets the same wall-clock. The rest share
the epoch count, so machine noise changes how long the run takes, not its errors.

Variants (``VARIANTS``): ``warmup`` (linear warm-up over the first 5 % of the epochs, then the
cosine over the rest: ``lr_schedule="warmup_cosine"``), ``onecycle`` (torch's ``OneCycleLR``
per epoch, peak ``lr``),
``kernel_lr_x3`` / ``kernel_lr_x0.3`` (the kernel networks' learning rate times 3 or 0.3, via
``optimizer_params={"param_groups": ...}``), ``kernel_init_x0.3`` / ``kernel_init_x0.1`` (the
kernel networks' output layers scaled by 0.3 or 0.1 at initialisation: a smaller starting
kernel), ``batch_16`` / ``batch_64`` (batch size 16 or 64 instead of 32), ``ffn_ratio_2`` (the
block's feed-forward network 2x the width instead of 4x: a cheaper step), and the combinations
``warmup+kernel_init_x0.3``, ``warmup+batch_16``, ``warmup+ffn_ratio_2``, and
``warmup+dense_modes_4`` / ``_8`` (4 or 8 stored low modes per axis instead of 2). Results:
``short_budget.jsonl`` (resumable) and ``short_budget.md`` under ``--out-dir``: mean +- std per
variant and problem, and each variant's error over the defaults' on the same seed (geometric
mean over seeds).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from functools import partial
from multiprocessing import get_context
from pathlib import Path

from benchmarks import paper
from benchmarks import time_to_accuracy as tta

ROW = "AM-FNO (MLP)"
KERNEL_NETS = "*.nets.*"

#: name -> estimator overrides (JSON-able; callbacks are built in the worker from ``schedule``
#: and ``kernel_init``).
VARIANTS: dict[str, dict] = {
    # Round 4's baseline, the defaults then: the cosine (lr_schedule's default became the
    # warm-up on this benchmark's evidence).
    "base": {"params": {"lr_schedule": "cosine"}},
    "warmup": {"schedule": "warmup"},
    "onecycle": {"schedule": "onecycle"},
    "kernel_lr_x3": {"kernel_lr": 3.0},
    "kernel_lr_x0.3": {"kernel_lr": 0.3},
    "kernel_init_x0.3": {"kernel_init": 0.3},
    "kernel_init_x0.1": {"kernel_init": 0.1},
    "batch_16": {"params": {"batch_size": 16}},
    "batch_64": {"params": {"batch_size": 64}},
    "ffn_ratio_2": {"params": {"ffn_ratio": 2}},
    # Combinations of the first round's winners.
    "warmup+kernel_init_x0.3": {"schedule": "warmup", "kernel_init": 0.3},
    # The 1-D gap (Burgers): a cheaper step or more steps, with the warm-up.
    "warmup+batch_16": {"schedule": "warmup", "params": {"batch_size": 16}},
    "warmup+ffn_ratio_2": {"schedule": "warmup", "params": {"ffn_ratio": 2}},
    # CFD-2D, where F-FNO's stored per-mode weights beat AM-FNO at two minutes: more stored low
    # modes beside the kernel network (the default is 2; a few hundred matrices at most, so
    # the epoch's cost stays the defaults').
    "warmup+dense_modes_4": {"schedule": "warmup", "params": {"dense_modes": 4}},
    "warmup+dense_modes_8": {"schedule": "warmup", "params": {"dense_modes": 8}},
}


#: What a result line keeps of its task.
TASK_FIELDS = ("kind", "problem", "variant", "seed", "epochs", "calibration_run")
#: Parameters that change the cost of an epoch: their variants get the epochs of the same budget.
COST_PARAMS = {"batch_size", "ffn_ratio"}


def cost_key(variant: str) -> tuple:
    """What of ``variant`` changes the cost of an epoch (``()``: nothing, the defaults' cost)."""
    return tuple(sorted((k, v) for k, v in VARIANTS[variant].get("params", {}).items() if k in COST_PARAMS))


def cost_ratios(lines: Sequence[dict], problem: str) -> dict[tuple, float]:
    """Cost key -> the defaults' seconds per epoch over the key's, from the latest calibration run
    that measured both (lines without ``calibration_run`` form one run, the first)."""
    runs: dict[str, dict[tuple, float]] = {}
    for r in lines:
        if r.get("kind") == "calibration" and r["problem"] == problem and "epoch_s" in r:
            runs.setdefault(r.get("calibration_run", ""), {})[cost_key(r["variant"])] = r["epoch_s"]
    out: dict[tuple, float] = {}
    for measured in runs.values():  # in the order of the lines: the latest counts
        if () in measured:
            out.update({k: measured[()] / e for k, e in measured.items() if k})
    return out


def _callbacks(spec: dict, epochs: int, lr: float) -> list:
    import torch
    from skorch.callbacks import Callback, LRScheduler

    callbacks = []
    if spec.get("schedule") == "warmup":
        # The package's lr_schedule="warmup_cosine", as a user callback (the run that measured it
        # came before the option; same factors, so the same fits).
        from sklearn_amfno._training import warmup_cosine_factor, warmup_epochs

        factor = partial(warmup_cosine_factor, max_epochs=epochs, warmup=warmup_epochs(epochs))
        callbacks.append(("lr_schedule", LRScheduler(torch.optim.lr_scheduler.LambdaLR, lr_lambda=factor)))
    elif spec.get("schedule") == "onecycle":
        callbacks.append(
            ("lr_schedule", LRScheduler(torch.optim.lr_scheduler.OneCycleLR, max_lr=lr, total_steps=epochs))
        )
    if "kernel_init" in spec:
        scale = spec["kernel_init"]

        class ScaleKernelInit(Callback):
            def on_train_begin(self, net, X=None, y=None, **kwargs):
                from fnmatch import fnmatch

                with torch.no_grad():
                    for name, p in net.module_.named_parameters():
                        # The output layer of each kernel network (Sequential index 2).
                        if fnmatch(name, "*.nets.*.2.*"):
                            p.mul_(scale)

        callbacks.append(("kernel_init", ScaleKernelInit()))
    return callbacks


def fit_one(task: dict) -> dict:
    """One (problem, variant, seed) fit in a worker process (one torch thread)."""
    import torch

    torch.set_num_threads(1)
    problem = tta.load_problem(Path(task["cache"]), task["problem"], task["seed"])
    spec = VARIANTS[task["variant"]]
    # Round 4's baseline is the cosine (the defaults then): every variant changes one thing
    # against it; a schedule variant's callback replaces it (the warm-up is the default now).
    overrides: dict = {"lr_schedule": "cosine"}
    lr = 1e-2  # AMFNORegressor's default lr (checked in main)
    overrides.update(spec.get("params", {}))
    if "kernel_lr" in spec:
        overrides["optimizer_params"] = {"param_groups": [(KERNEL_NETS, {"lr": lr * spec["kernel_lr"]})]}
    callbacks = _callbacks(spec, task["epochs"], lr)
    if callbacks:
        overrides["callbacks"] = callbacks
    budget = paper.Budget(task["epochs"], None, None, "cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = paper.fit_eval(problem, ROW, budget, task["seed"], **overrides)
    result.pop("callbacks", None)
    result.pop("optimizer_params", None)
    return {**{k: task[k] for k in TASK_FIELDS if k in task}, **result}


def committed_epochs(budget_s: float) -> dict[str, int]:
    """AM-FNO's epochs in ``budget_s`` per problem, from the committed time-to-accuracy calibration."""
    lines = tta.read_lines(Path(__file__).parent / "results" / "time_to_accuracy.jsonl")
    cal = tta.calibrations(lines)
    return {p: tta.epochs_for(c, budget_s) for (p, label), c in cal.items() if label == ROW}


def run(tasks: list[dict], jobs: int, log: Path, deadline: float) -> None:
    # One thread per worker (two torch processes of two threads on two cores busy-wait); spawned
    # workers inherit the environment, so their OpenMP and BLAS start with it.
    os.environ["OMP_NUM_THREADS"] = "1"
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        futures = []
        for task in tasks:
            futures.append((task, pool.submit(fit_one, task)))
        for i, (task, future) in enumerate(futures):
            if time.perf_counter() > deadline:
                future.cancel()
                continue
            try:
                result = future.result()
            except Exception as error:  # a failed fit is a result of its own
                result = {**{k: task[k] for k in TASK_FIELDS if k in task}}
                result.update(failed=type(error).__name__, message=str(error)[:300])
            with open(log, "a") as f:
                f.write(json.dumps(result, default=paper.json_default) + "\n")
            shown = result.get("failed") or f"{result['error']:.4f}"
            print(
                f"  [{i + 1}/{len(tasks)}] {task['kind']} {task['problem']:7s} {task['variant']:17s} "
                f"seed {task['seed']} ({task['epochs']} ep): {shown}, "
                f"fit {result.get('fit_s', float('nan')):.0f} s",
                flush=True,
            )


def report(lines: Sequence[dict], info: dict, path: Path) -> None:
    fits = [r for r in lines if r.get("kind") == "fit" and "failed" not in r]
    problems = [p for p in info["problems"] if any(r["problem"] == p for r in fits)]
    variants = [v for v in VARIANTS if any(r["variant"] == v for r in fits)]
    by = {(r["problem"], r["variant"], r["seed"]): r for r in fits}
    out = [
        "# Short-budget optimisation of AM-FNO (issue 17, item 4)",
        "",
        "Generated by `python -m benchmarks.short_budget` (Burgers, Darcy, Navier-Stokes, every variant), "
        "`python -m benchmarks.short_budget --problems cfd1d cfd2d --variants base warmup` and "
        "`python -m benchmarks.short_budget --problems burgers --variants warmup+ffn_ratio_2 batch_64 "
        "ffn_ratio_2` (the 1-D gap), which append to one resumable file; this report: "
        f"`{info['command']}`, {info['stamp']}. Each fit: "
        'AM-FNO (MLP) with round 4\'s baseline (the defaults then: `lr_schedule="cosine"`) except '
        "the variant, at the epochs its defaults fit into "
        f"{info['budget']} s on this machine (committed time-to-accuracy calibration; the variants "
        "that change an epoch's cost at the epochs of the same wall-clock, from their own "
        "calibration), paper runner's full sizes, test relative "
        "L2 error (rollout problems: mean rollout error). Docstring of the script for the variants.",
        "",
        "## Mean +- std over seeds (epochs)",
        "",
        "| variant | " + " | ".join(paper.PROBLEMS[p] for p in problems) + " |",
        "| --- | " + " | ".join("---:" for _ in problems) + " |",
    ]
    for v in variants:
        cells = []
        for p in problems:
            errs = [by[p, v, s]["error"] for s in info["seeds"] if (p, v, s) in by]
            if not errs:
                cells.append("")
                continue
            sd = f" ± {statistics.stdev(errs):.4f}" if len(errs) > 1 else ""
            ep = by[p, v, next(s for s in info["seeds"] if (p, v, s) in by)]["epochs"]
            cells.append(f"{statistics.mean(errs):.4f}{sd} ({ep} ep, n={len(errs)})")
        out.append(f"| {v} | " + " | ".join(cells) + " |")
    out += [
        "",
        "## Error over the defaults' on the same seed (geometric mean over seeds; < 1 is better)",
        "",
        "| variant | " + " | ".join(paper.PROBLEMS[p] for p in problems) + " | all |",
        "| --- | " + " | ".join("---:" for _ in problems) + " | ---: |",
    ]
    for v in variants:
        if v == "base":
            continue
        cells, every = [], []
        for p in problems:
            logs = [
                math.log(by[p, v, s]["error"] / by[p, "base", s]["error"])
                for s in info["seeds"]
                if (p, v, s) in by and (p, "base", s) in by
            ]
            every += logs
            cells.append(f"{math.exp(statistics.mean(logs)):.3f} ({len(logs)})" if logs else "")
        total = f"{math.exp(statistics.mean(every)):.3f}" if every else ""
        out.append(f"| {v} | " + " | ".join(cells) + f" | {total} |")
    cal = [r for r in lines if r.get("kind") == "calibration" and "failed" not in r]
    if cal:
        out += ["", "## Calibration of the variants that change an epoch's cost", ""]
        for r in cal:
            out.append(f"- {r['problem']} {r['variant']}: {r['epoch_s']:.3f} s per epoch")
    path.write_text("\n".join(out) + "\n")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--problems", nargs="+", default=["burgers", "darcy", "ns"], choices=list(tta.TIMED_PROBLEMS)
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--budget", type=float, default=120.0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--stop-after", type=float, default=math.inf)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument(
        "--recalibrate",
        action="store_true",
        help="calibrate the defaults and the costly variants again, under this run's load (the last "
        "calibration of each counts)",
    )
    parser.add_argument(
        "--data-dir", default=os.environ.get("SKLEARN_AMFNO_BENCH_CACHE") or "/tmp/short_budget_data"
    )
    parser.add_argument("--out-dir", default=str(Path(__file__).parent / "results"))
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    from sklearn_amfno import AMFNORegressor

    assert AMFNORegressor().lr == 1e-2 and AMFNORegressor().batch_size == 32, "VARIANTS assume these defaults"
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    log, md = out_dir / "short_budget.jsonl", out_dir / "short_budget.md"
    lines = tta.read_lines(log)
    info = {
        "command": "python -m benchmarks.short_budget " + " ".join(sys.argv[1:] if argv is None else argv),
        "stamp": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "budget": args.budget,
        "problems": args.problems,
        "seeds": args.seeds,
    }
    if not args.report_only:
        deadline = time.perf_counter() + args.stop_after
        cache = Path(args.data_dir)
        cache.mkdir(parents=True, exist_ok=True)
        tta.generate_data(cache, paper.SIZES["full"], args.seeds, args.problems)
        epochs = committed_epochs(args.budget)
        common = {"cache": str(cache)}
        # Variants with another cost per epoch get the epochs of the same wall-clock: the ratio of
        # the defaults' time per epoch to theirs, both measured in one calibration run (a run's
        # load changes both alike); variants of equal cost (warmup+batch_16 and batch_16) share it.
        keys = {p: {cost_key(v) for v in args.variants} - {()} for p in args.problems}
        ratios = {p: cost_ratios(lines, p) for p in args.problems}
        missing = {
            p: sorted(k for k in keys[p] if args.recalibrate or k not in ratios[p]) for p in args.problems
        }
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        cal_tasks = [
            {
                **common,
                "kind": "calibration",
                "problem": p,
                "variant": v,
                "seed": args.seeds[0],
                "epochs": 3,
                "calibration_run": stamp,
            }
            for p in args.problems
            if missing[p]
            for v in ["base", *(next(v for v in args.variants if cost_key(v) == k) for k in missing[p])]
        ]
        if cal_tasks:
            run(cal_tasks, args.jobs, log, deadline)
            lines = tta.read_lines(log)
            ratios = {p: cost_ratios(lines, p) for p in args.problems}
        done = {(r["problem"], r["variant"], r["seed"]) for r in lines if r.get("kind") == "fit"}
        tasks = []
        for seed in args.seeds:
            for p in args.problems:
                for v in args.variants:
                    if (p, v, seed) in done:
                        continue
                    n = epochs[p]
                    if cost_key(v):
                        n = max(1, round(n * ratios[p][cost_key(v)]))
                    tasks.append(
                        {**common, "kind": "fit", "problem": p, "variant": v, "seed": seed, "epochs": n}
                    )
        print(f"{len(tasks)} fits to run", flush=True)
        run(tasks, args.jobs, log, deadline)
        lines = tta.read_lines(log)
    report(lines, info, md)
    print(f"report: {md}")


if __name__ == "__main__":
    main()
