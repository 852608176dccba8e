"""``--estimate``: the projected wall time of a preset, from 2-epoch fits on a few samples."""

from __future__ import annotations

import argparse
import math
import time
import warnings

from . import problems
from .fitting import Budget, fit_eval
from .presets import RESOLUTION_ROWS, TABLES
from .problems import make_problem
from .run import Run


def estimate(run: Run, args: argparse.Namespace) -> dict[str, float]:
    """Project each table's wall time: time 2 epochs of every (problem, row) on a few samples.

    The second epoch's time per training sample (a window, for the rollout problems) times the
    preset's samples, epochs and seeds gives each fit; data generation is timed at the reduced size
    and scaled linearly; the cost table adds ~5 s of interpreter start per model. Prediction is
    left out (a few percent). Returns seconds per table, and prints them.
    """
    have_cfd_2d = problems.cfd_2d_generator() is not None
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
