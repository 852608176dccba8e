"""Evidence for the default hyperparameters: test relative L2 error across generated problems.

One factor at a time around a base configuration (the package defaults, with a shorter epoch
budget so the sweep fits on 2 CPU cores), on four problems of different character. Results
(JSON lines) append to ``--out``; ``docs/defaults.md`` summarises them.

    python benchmarks/defaults_sweep.py [--estimator amfno|fno] [--epochs 40] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from sklearn_amfno import AMFNORegressor, FNORegressor
from sklearn_amfno.datasets import make_advection, make_burgers, make_darcy, make_heat
from sklearn_amfno.metrics import relative_l2_error

N_TRAIN, N_TEST = 256, 64

PROBLEMS = {
    "burgers-1d-128": lambda n, rs: make_burgers(n, 128, random_state=rs),
    "advection-1d-64": lambda n, rs: make_advection(
        n, 64, velocity=0.3, max_wavenumber=12, decay=1.0, random_state=rs
    ),
    "darcy-2d-24": lambda n, rs: make_darcy(n, 24, random_state=rs),
    "heat-2d-24": lambda n, rs: make_heat(
        n, 24, n_dim=2, diffusivity=0.002, max_wavenumber=8, decay=1.0, random_state=rs
    ),
}

SWEEPS = {
    "amfno": {
        "base": {},
        "lr=3e-4": {"lr": 3e-4},
        "lr=3e-3": {"lr": 3e-3},
        "lr=1e-2": {"lr": 1e-2},
        "constant lr": {"lr_schedule": "constant"},
        "n_basis=4": {"n_basis": 4},
        "n_basis=16": {"n_basis": 16},
        "basis=fourier": {"basis": "fourier"},
        "basis=legendre": {"basis": "legendre"},
        "basis=polynomial": {"basis": "polynomial"},
        "width=16": {"width": 16},
        "batch_size=16": {"batch_size": 16},
        "kernel=kan": {"kernel": "kan"},
        "factorization=joint": {"factorization": "joint"},
        # second round, combining the winners of the first
        "lr=3e-3, n_basis=16": {"lr": 3e-3, "n_basis": 16},
        "lr=1e-2, n_basis=16": {"lr": 1e-2, "n_basis": 16},
        "lr=3e-3, n_basis=32": {"lr": 3e-3, "n_basis": 32},
        "lr=1e-2, n_basis=32": {"lr": 1e-2, "n_basis": 32},
    },
    "fno": {
        "base": {},
        "lr=3e-3": {"lr": 3e-3},
        "lr=1e-2": {"lr": 1e-2},
        "n_modes=None": {"n_modes": None},
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--estimator", choices=sorted(SWEEPS), default="amfno")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--only", nargs="*", help="run only these sweep entries")
    parser.add_argument("--problems", nargs="*", default=list(PROBLEMS))
    parser.add_argument("--out", default="benchmarks/results/defaults_sweep.jsonl")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    Estimator = AMFNORegressor if args.estimator == "amfno" else FNORegressor
    data = {}
    for name in args.problems:
        X, y = PROBLEMS[name](N_TRAIN + N_TEST, 0)
        data[name] = (X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:])
    entries = {k: v for k, v in SWEEPS[args.estimator].items() if not args.only or k in args.only}
    for label, params in entries.items():
        for name, (X, y, X_test, y_test) in data.items():
            est = Estimator(**{"max_epochs": args.epochs, "random_state": 0, **params})
            start = time.perf_counter()
            est.fit(X, y)
            row = {
                "estimator": args.estimator,
                "config": label,
                "problem": name,
                "epochs": args.epochs,
                "test_rel_l2": relative_l2_error(y_test, est.predict(X_test)),
                "train_rel_l2": relative_l2_error(y, est.predict(X)),
                "fit_s": time.perf_counter() - start,
                "parameters": est.n_parameters_,
            }
            print(json.dumps(row), flush=True)
            with open(args.out, "a") as fh:
                fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
