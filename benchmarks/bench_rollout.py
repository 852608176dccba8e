"""Time-dependent Navier-Stokes: one-step teacher forcing vs training through the rollout.

Setting: ``make_navier_stokes(n, 64, viscosity=1e-4, n_steps_in=10, n_steps_out=10)`` (vorticity
on the unit torus, FNO forcing, snapshots every unit of time), subsampled to 32 x 32 for training
and testing; ``--train`` trajectories for training, ``--test`` for testing, the same seeds for every
model. The one-step operator maps the last 10 frames to the next one; it is an
``FNORegressor(n_modes=12, width=--width, n_layers=4)`` (or AM-FNO with ``--estimator amfno``)
inside ``AutoregressiveRegressor``, trained for ``--epochs`` epochs either

- ``one_step``: teacher forcing on every window of every trajectory (10 per trajectory), or
- ``rollout``: through 10 unrolled steps, the loss summed over the steps (one window per
  trajectory),

so both see the same frames and about the same compute per epoch. Reported: the relative L2
error of each of the 10 rolled-out frames (``sklearn_amfno.metrics.rollout_error``), its mean, the
fit time, and, for the rollout-trained model, the same rollout on the 64 x 64 version of the test
trajectories (zero-shot super-resolution of a whole rollout).

    python benchmarks/bench_rollout.py [--train 160] [--test 40] [--epochs 20] [--width 20]
        [--estimator fno|amfno] [--threads 2] [--rollout-epochs E] [--rollout-steps K]
        [--only one_step|rollout] [--out benchmarks/results/rollout_ns.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch

import sklearn_amfno
from sklearn_amfno import AMFNORegressor, AutoregressiveRegressor, FNORegressor
from sklearn_amfno.datasets import make_navier_stokes
from sklearn_amfno.metrics import rollout_error


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
        help="epochs of the rollout-trained model (default: --epochs)",
    )
    parser.add_argument("--rollout-steps", type=int, default=None, help="steps unrolled (default: all 10)")
    parser.add_argument("--only", choices=["one_step", "rollout"], default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    X64, y64 = make_navier_stokes(
        args.train + args.test, 64, viscosity=1e-4, n_steps_in=10, n_steps_out=10, random_state=0
    )
    data_time = time.perf_counter() - t0
    X32, y32 = X64[:, ::2, ::2], y64[:, ::2, ::2]
    train, test = slice(0, args.train), slice(args.train, None)
    print(f"Navier-Stokes data: {X64.shape} -> 32x32, generated in {data_time:.1f} s", flush=True)

    def one_step_operator(epochs):
        common = dict(width=args.width, n_layers=4, max_epochs=epochs, batch_size=20, random_state=0)
        if args.estimator == "fno":
            return FNORegressor(n_modes=12, **common)
        return AMFNORegressor(**common)

    results = {}
    for training in ("one_step", "rollout"):
        if args.only not in (None, training):
            continue
        epochs = args.rollout_epochs if training == "rollout" and args.rollout_epochs else args.epochs
        est = AutoregressiveRegressor(
            one_step_operator(epochs),
            training=training,
            rollout_steps=args.rollout_steps if training == "rollout" else None,
        )
        t0 = time.perf_counter()
        est.fit(X32[train], y32[train])
        fit_time = time.perf_counter() - t0
        errors = rollout_error(y32[test], est.predict(X32[test]))
        row = {"epochs": epochs, "windows_per_trajectory": est.n_windows_, "fit_s": round(fit_time, 1)}
        row["per_step"] = [round(float(e), 4) for e in errors]
        row["mean"] = round(float(errors.mean()), 4)
        errors64 = rollout_error(y64[test], est.predict(X64[test]))
        row["mean_64"] = round(float(errors64.mean()), 4)
        row["ratio_64_32"] = round(row["mean_64"] / row["mean"], 3)
        results[training] = row
        print(training, json.dumps(row), flush=True)

    record = {
        "command": "python benchmarks/bench_rollout.py "
        + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "out" and v is not None
        ),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
        "versions": {"sklearn_amfno": sklearn_amfno.__version__, "torch": torch.__version__},
        "data_s": round(data_time, 1),
        "results": results,
    }
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(record, fh, indent=1)


if __name__ == "__main__":
    main()
