"""Does training on the relative H1 loss lower the high-wavenumber error? (loss="relative_h1")

Each model is trained twice from the same seed, for the same epochs, once on the relative L2 loss
(the paper's) and once on the relative H1 loss (spectral derivatives, periodic unit domain), and
tested on held-out samples: relative L2 error, relative H1 error, and the squared error split
into wavenumber bands (``sklearn_amfno.metrics.spectral_error``, PDEBench's edges: low
``|k| < 4``, mid ``4 <= |k| < 12``, high ``|k| >= 12``, ``relative=True``, so the three bands add
up to the squared relative L2 error of the pooled test set).

Problem: 1-D Burgers (periodic, so the H1 loss's spectral derivatives apply),
``make_burgers(viscosity=--viscosity, time=--time)`` (default 0.01 and 0.25) solved on 1024
points and subsampled to ``--resolution`` (default 256). FNO's viscosity 0.1 at time 1 leaves
almost nothing above wavenumber 4 (the target's high band holds 1e-31 of its energy: nothing to
compare); 0.01 at 0.25 keeps steeper fronts (mid band 0.76 %, high band 0.024 % of the energy)
while staying learnable at this budget (viscosity 0.003 at time 1 left both models at 13-21 %
relative L2 error). A 2-D periodic problem was considered and left out: the generated
Navier-Stokes vorticity (viscosity 1e-3, one time unit ahead, 32 x 32) holds 2e-11 of its energy
in the high band.

Models: ``AMFNORegressor`` and ``FNORegressor(n_modes=--modes)``, ``width=--width``, 4 layers.

    OMP_NUM_THREADS=1 python benchmarks/bench_h1.py [--models amfno fno] [--seeds 0 1]
        [--epochs 60] [--width 16] [--train 256] [--test 64]
        [--out benchmarks/results/bench_h1_burgers.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch

import sklearn_amfno
from sklearn_amfno import AMFNORegressor, FNORegressor
from sklearn_amfno.datasets import make_burgers
from sklearn_amfno.metrics import relative_h1_error, relative_l2_error, spectral_error


def _data(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    X, y = make_burgers(
        args.train + args.test, 1024, viscosity=args.viscosity, time=args.time, random_state=0
    )
    step = 1024 // args.resolution
    return X[:, ::step], y[:, ::step]


def _model(name: str, loss: str, seed: int, args: argparse.Namespace):
    common = dict(
        width=args.width,
        n_layers=4,
        loss=loss,
        max_epochs=args.epochs,
        batch_size=args.batch_size,
        random_state=seed,
    )
    if name == "amfno":
        return AMFNORegressor(**common)
    return FNORegressor(n_modes=args.modes, **common)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=["amfno", "fno"], default=["amfno", "fno"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--modes", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--train", type=int, default=256)
    parser.add_argument("--test", type=int, default=64)
    parser.add_argument("--viscosity", type=float, default=0.01)
    parser.add_argument("--time", type=float, default=0.25)
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    rows = []
    start, cpu_start = time.perf_counter(), time.process_time()
    t0 = time.perf_counter()
    X, y = _data(args)
    print(f"burgers: X {X.shape}, generated in {time.perf_counter() - t0:.1f} s", flush=True)
    train, test = slice(0, args.train), slice(args.train, None)
    for name in args.models:
        for seed in args.seeds:
            for loss in ("relative_l2", "relative_h1"):
                est = _model(name, loss, seed, args)
                t0 = time.perf_counter()
                est.fit(X[train], y[train])
                fit_s = time.perf_counter() - t0
                pred = est.predict(X[test])
                bands = spectral_error(y[test], pred, relative=True)
                row = {
                    "model": name,
                    "loss": loss,
                    "seed": seed,
                    "rel_l2": round(float(relative_l2_error(y[test], pred)), 5),
                    "rel_h1": round(float(relative_h1_error(y[test], pred)), 5),
                    **{f"band_{k}": float(f"{v:.4g}") for k, v in bands.items()},
                    "fit_s": round(fit_s, 1),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)

    # Mean over seeds, and the H1 / L2 ratio of each measure (< 1: the H1 loss did better).
    summary = []
    keys = ["rel_l2", "rel_h1", "band_low", "band_mid", "band_high"]
    for name in args.models:
        means = {}
        for loss in ("relative_l2", "relative_h1"):
            sel = [r for r in rows if (r["model"], r["loss"]) == (name, loss)]
            means[loss] = {k: float(np.mean([r[k] for r in sel])) for k in keys}
        entry: dict = {"model": name}
        for k in keys:
            l2, h1 = means["relative_l2"][k], means["relative_h1"][k]
            entry[k] = {"l2_loss": float(f"{l2:.4g}"), "h1_loss": float(f"{h1:.4g}")}
            entry[k]["ratio_h1_l2"] = round(h1 / l2, 3) if l2 > 0 else None
        summary.append(entry)
        print("summary", json.dumps(entry), flush=True)

    record = {
        "command": "OMP_NUM_THREADS=1 python benchmarks/bench_h1.py "
        + " ".join(
            f"--{k.replace('_', '-')} " + (" ".join(map(str, v)) if isinstance(v, list) else str(v))
            for k, v in vars(args).items()
            if k != "out"
        ),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
        "versions": {"sklearn_amfno": sklearn_amfno.__version__, "torch": torch.__version__},
        "wall_s": round(time.perf_counter() - start, 1),
        "cpu_s": round(time.process_time() - cpu_start, 1),
        "rows": rows,
        "summary": summary,
    }
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(record, fh, indent=1)


if __name__ == "__main__":
    main()
