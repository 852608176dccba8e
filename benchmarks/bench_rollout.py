"""Time-dependent surrogates: teacher forcing, training through the rollout, pushforward, input noise.

Settings (``--setting``):

- ``ns`` (default): ``make_navier_stokes(n, 64, viscosity=1e-4, n_steps_in=10, n_steps_out=10)``
  (vorticity on the unit torus, FNO forcing, snapshots every unit of time), subsampled to 32 x 32
  for training and testing;
- ``ns-long``: the same flow with 40 frames to predict (10 -> 40);
- ``cfd2d-long``: ``make_cfd_2d(n, 32, n_steps_in=10, n_steps_out=30)`` (compressible Euler,
  (rho, vx, vy, p) per frame, every 0.05 time units), 10 -> 30.

``--train`` trajectories for training, ``--test`` for testing, the same for every model. The
one-step operator maps the last 10 frames to the next ``--steps-out`` (temporal bundling when
> 1); it is an ``FNORegressor(n_modes=12, width=--width, n_layers=4)`` (or AM-FNO with
``--estimator amfno``) inside ``AutoregressiveRegressor``, trained in each of the modes of
``--only`` (comma-separated):

- ``one_step``: teacher forcing on every window of every trajectory;
- ``rollout``: through ``--rollout-steps`` unrolled steps (default: all), the loss summed over
  the steps;
- ``pushforward``: ``k`` uniform in ``1..--pushforward-steps`` per batch, ``k - 1`` steps
  without gradient, the loss of the ``k``-th step;

each at every level of ``--input-noise`` (comma-separated), or at its own level written
``MODE:LEVEL`` (``one_step:0.01``). With ``--equal-time`` every mode gets the wall-clock time of
the teacher-forced fit of ``--epochs`` epochs: a short calibration (``--calibration-epochs``
epochs of every mode, after a warm-up fit, in two interleaved rounds, the faster kept) measures
seconds of CPU time per epoch (one thread: about the wall-clock time on an idle core, much less
moved by other jobs on a shared machine), and a mode trains
``round(epochs * s_epoch(one_step) / s_epoch(mode))`` epochs. Without it every
mode trains ``--epochs`` (``--rollout-epochs`` for ``rollout``). ``--seeds`` repeats every fit
with other ``random_state`` s (same data).

Reported per mode and seed: the relative L2 error of each rolled-out frame
(``sklearn_amfno.metrics.rollout_error``), its mean, the first frame whose error passes
``--threshold`` (``null``: none does), the fit time (wall clock and CPU), the calibrated CPU
seconds per epoch and per optimizer update; for ``ns``, the same rollout on the 64 x 64
trajectories (zero-shot super-resolution). ``--figure`` draws the seed-averaged errors per
frame (``RolloutErrorDisplay``) to a PNG.

    python benchmarks/bench_rollout.py [--setting ns|ns-long|cfd2d-long] [--train 160] [--test 40]
        [--epochs 20] [--width 20] [--estimator fno|amfno] [--threads 2] [--rollout-epochs E]
        [--rollout-steps K] [--pushforward-steps K] [--only one_step,pushforward,one_step:0.01]
        [--input-noise 0] [--equal-time] [--calibration-epochs 2] [--calibrate-only] [--seeds 0]
        [--steps-out 1]
        [--threshold 0.5] [--figure PNG] [--cache DIR] [--out benchmarks/results/rollout_ns.json]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time

import numpy as np
import torch

import sklearn_amfno
from sklearn_amfno import AMFNORegressor, AutoregressiveRegressor, FNORegressor
from sklearn_amfno.datasets import make_cfd_2d, make_navier_stokes
from sklearn_amfno.metrics import rollout_error

MODES = ("one_step", "rollout", "pushforward")
SETTINGS = {  # n_steps_out of the data, n_fields
    "ns": (10, 1),
    "ns-long": (40, 1),
    "cfd2d-long": (30, 4),
}


def parse_modes(only: str | None, noise: str) -> list[tuple[str, float]]:
    """``(training, input_noise)`` pairs from ``--only`` and ``--input-noise``."""
    levels = [float(v) for v in noise.split(",")]
    pairs = []
    for item in (only or "one_step,rollout").split(","):
        mode, _, level = item.partition(":")
        if mode not in MODES:
            raise SystemExit(f"--only: unknown mode {mode!r}, expected one of {MODES} (MODE or MODE:LEVEL).")
        pairs += [(mode, float(level))] if level else [(mode, v) for v in levels]
    return pairs


def label(mode: str, noise: float) -> str:
    return mode if noise == 0 else f"{mode}+noise={noise:g}"


def load_data(args) -> tuple[np.ndarray, ...]:
    """Train and test trajectories on the training grid, and the 64 x 64 test ones for ``ns``."""
    n = args.train + args.test
    n_out, _ = SETTINGS[args.setting]
    if args.setting == "cfd2d-long":
        X, y = make_cfd_2d(n, 32, n_steps_in=10, n_steps_out=n_out, random_state=0, memory=args.cache)
        X64 = y64 = None
    else:
        X64, y64 = make_navier_stokes(
            n, 64, viscosity=1e-4, n_steps_in=10, n_steps_out=n_out, random_state=0, memory=args.cache
        )
        X, y = X64[:, ::2, ::2], y64[:, ::2, ::2]
    return X, y, X64, y64


def first_passing(errors: np.ndarray, threshold: float) -> int | None:
    """The first frame (1-based) whose error exceeds ``threshold``; ``None`` if none does."""
    above = np.flatnonzero(errors > threshold)
    return int(above[0]) + 1 if above.size else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setting", choices=sorted(SETTINGS), default="ns")
    parser.add_argument("--train", type=int, default=160)
    parser.add_argument("--test", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--width", type=int, default=20)
    parser.add_argument("--estimator", choices=["fno", "amfno"], default="fno")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--rollout-epochs",
        type=int,
        default=None,
        help="epochs of the rollout-trained model without --equal-time (default: --epochs)",
    )
    parser.add_argument("--rollout-steps", type=int, default=None, help="steps unrolled (default: all)")
    parser.add_argument(
        "--pushforward-steps", type=int, default=None, help="largest k of pushforward (default: 2)"
    )
    parser.add_argument(
        "--only", default=None, help="comma-separated MODE or MODE:LEVEL (default: one_step,rollout)"
    )
    parser.add_argument("--input-noise", default="0", help="comma-separated noise levels")
    parser.add_argument("--equal-time", action="store_true", help="every mode gets one_step's fit time")
    parser.add_argument("--calibration-epochs", type=int, default=2)
    parser.add_argument(
        "--calibrate-only", action="store_true", help="with --equal-time: measure the costs, fit nothing"
    )
    parser.add_argument("--seeds", default="0", help="comma-separated random_state values")
    parser.add_argument("--steps-out", type=int, default=1, help="frames per model call (bundling)")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--figure", default=None, help="PNG of the errors per frame")
    parser.add_argument("--cache", default=None, help="joblib cache folder for the generated data")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    modes = parse_modes(args.only, args.input_noise)
    seeds = [int(s) for s in args.seeds.split(",")]
    _, n_fields = SETTINGS[args.setting]

    t0 = time.perf_counter()
    X, y, X64, y64 = load_data(args)
    data_time = time.perf_counter() - t0
    train, test = slice(0, args.train), slice(args.train, None)
    print(f"{args.setting} data: X {X.shape}, y {y.shape}, generated in {data_time:.1f} s", flush=True)

    def make(mode: str, noise: float, epochs: int, seed: int) -> AutoregressiveRegressor:
        common = dict(width=args.width, n_layers=4, max_epochs=epochs, batch_size=20, random_state=seed)
        inner = FNORegressor(n_modes=12, **common) if args.estimator == "fno" else AMFNORegressor(**common)
        steps = {"rollout": args.rollout_steps, "pushforward": args.pushforward_steps}.get(mode)
        return AutoregressiveRegressor(
            inner,
            n_steps_out=args.steps_out,
            n_fields=n_fields,
            training=mode,
            rollout_steps=steps,
            input_noise=noise,
        )

    def updates_per_epoch(est: AutoregressiveRegressor) -> int:
        return math.ceil(args.train * est.n_windows_ / est.estimator_.batch_size)

    calibration: dict[str, dict] = {}
    s_per_epoch: dict[str, float] = {}  # unrounded, for the epochs
    if args.equal_time:
        # Seconds of this process's CPU time, not of the wall clock (other people's jobs on a
        # shared machine swung one mode's epochs 4.4-7.6 s), after a warm-up fit (the first
        # fit of a process is slower), the fastest of two interleaved rounds (CPU time too
        # moves with the load on a shared core).
        calibrated = [("one_step", 0.0)] + [m for m in modes if m != ("one_step", 0.0)]
        make("one_step", 0.0, 1, seeds[0]).fit(X[train], y[train])
        measured: dict[str, list[float]] = {label(*m): [] for m in calibrated}
        for _ in range(2):
            for mode, noise in calibrated:
                cpu = time.process_time()
                est = make(mode, noise, args.calibration_epochs, seeds[0]).fit(X[train], y[train])
                measured[label(mode, noise)].append((time.process_time() - cpu) / args.calibration_epochs)
                calibration[label(mode, noise)] = {
                    "windows_per_trajectory": est.n_windows_,
                    "updates_per_epoch": updates_per_epoch(est),
                }
        for name, row in calibration.items():
            s_per_epoch[name] = min(measured[name])
            row["cpu_s_per_epoch_measured"] = [round(v, 2) for v in measured[name]]
            row["cpu_s_per_epoch"] = round(s_per_epoch[name], 2)
            row["cpu_s_per_update"] = round(s_per_epoch[name] / row["updates_per_epoch"], 4)
            print("calibration", name, json.dumps(row), flush=True)
        reference = calibration["one_step"]
        for row in calibration.values():
            row["update_cost_vs_one_step"] = round(row["cpu_s_per_update"] / reference["cpu_s_per_update"], 3)

    results: dict[str, dict] = {}
    for mode, noise in [] if args.calibrate_only else modes:
        name = label(mode, noise)
        if args.equal_time:
            ratio = s_per_epoch["one_step"] / s_per_epoch[name]
            epochs = max(1, round(args.epochs * ratio))
        else:
            epochs = args.rollout_epochs if mode == "rollout" and args.rollout_epochs else args.epochs
        runs = []
        for seed in seeds:
            est = make(mode, noise, epochs, seed)
            t0, cpu = time.perf_counter(), time.process_time()
            est.fit(X[train], y[train])
            fit_time, fit_cpu = time.perf_counter() - t0, time.process_time() - cpu
            errors = rollout_error(y[test], est.predict(X[test]), n_fields=n_fields)
            run = {
                "seed": seed,
                "epochs": epochs,
                "windows_per_trajectory": est.n_windows_,
                "fit_s": round(fit_time, 1),
                "fit_cpu_s": round(fit_cpu, 1),
                "per_step": [round(float(e), 4) for e in errors],
                "mean": round(float(errors.mean()), 4),
                "passes_threshold_at": first_passing(errors, args.threshold),
            }
            if X64 is not None and args.setting == "ns":
                errors64 = rollout_error(y64[test], est.predict(X64[test]))
                run["mean_64"] = round(float(errors64.mean()), 4)
                run["ratio_64_32"] = round(run["mean_64"] / run["mean"], 3)
            runs.append(run)
            print(name, json.dumps(run), flush=True)
        per_step = np.mean([run["per_step"] for run in runs], axis=0)
        means = [run["mean"] for run in runs]
        results[name] = {
            "training": mode,
            "input_noise": noise,
            "epochs": epochs,
            "runs": runs,
            "mean": round(float(np.mean(means)), 4),
            "std": round(float(np.std(means)), 4),
            "per_step": [round(float(e), 4) for e in per_step],
            "passes_threshold_at": first_passing(per_step, args.threshold),
        }
        if len(seeds) == 1:  # the layout of the records before --seeds
            results[name].update({k: v for k, v in runs[0].items() if k != "seed"})
    if "one_step" in results:
        reference = results["one_step"]
        for row in results.values():
            row["mean_vs_one_step"] = round(row["mean"] / reference["mean"], 3)
            if row["passes_threshold_at"] and reference["passes_threshold_at"]:
                row["passing_vs_one_step"] = round(
                    row["passes_threshold_at"] / reference["passes_threshold_at"], 2
                )

    record = {
        "command": "python " + " ".join(sys.argv),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
        "versions": {"sklearn_amfno": sklearn_amfno.__version__, "torch": torch.__version__},
        "data_s": round(data_time, 1),
        "threshold": args.threshold,
        "calibration": calibration,
        "results": results,
    }
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(record, fh, indent=1)
    if args.figure and results:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from sklearn_amfno.plotting import RolloutErrorDisplay

        fig, ax = plt.subplots(figsize=(6, 4))
        for name, row in results.items():
            RolloutErrorDisplay(errors=row["per_step"]).plot(ax=ax, log_scale=True, name=name)
        ax.axhline(args.threshold, color="gray", linestyle=":", linewidth=1)
        seeds_text = f"{len(seeds)} seed{'s' * (len(seeds) > 1)}"
        ax.set_title(f"{args.setting}, {args.estimator.upper()}, {seeds_text}", fontsize=10)
        fig.tight_layout()
        fig.savefig(args.figure, dpi=100)


if __name__ == "__main__":
    main()
