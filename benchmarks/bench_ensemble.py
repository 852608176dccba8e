"""EnsembleRegressor's split-conformal bands: coverage and width over seeds, two scores, two problems.

Setting, per seed: ``--n-train`` samples to fit (of which ``--calibration`` are held out for
calibration by the ensemble itself) and ``--n-test`` fresh samples, drawn with that seed from

- ``burgers``: ``make_burgers(n, 32, max_wavenumber=8)`` (1-D, 32 points);
- ``darcy``: ``make_darcy(n, 16)`` (2-D, 16 x 16, zero Dirichlet boundary);

members ``FNORegressor(n_modes=8, width=8, n_layers=2, max_epochs=--epochs, lr=1e-2)``,
``--members`` of them. For ``conformity_score`` in ``normalized`` (``|y - mean| / std``) and
``absolute`` (``|y - mean|``) the ensemble is fitted with the same seed (same members, same split),
and on the test samples we report, at nominal ``--coverage``:

- ``coverage``: the fraction of all test values inside their pointwise band;
- ``coverage_p10``: the 10th percentile over test samples of each sample's covered fraction (how
  unevenly the coverage falls on samples);
- ``width``: the mean band width divided by the RMS of the test targets;
- ``simultaneous_coverage``/``simultaneous_width``: the same for ``band="simultaneous"`` (fraction
  of test samples entirely inside).

``--floor-fractions`` also re-scores the normalised ensemble with the members' spread floored at
that fraction of its mean over the calibration samples (``normalized@<fraction>``; the estimator
uses 1e-3), to see whether a larger floor (a "beta" in normalised nonconformity measures) helps.

    python benchmarks/bench_ensemble.py [--seeds 8] [--problems burgers darcy] [--members 5]
        [--epochs 30] [--n-train 100] [--calibration 0.4] [--n-test 100] [--coverage 0.9]
        [--threads 1] [--floor-fractions 0.1 0.3 1.0] [--out benchmarks/results/ensemble_coverage.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings

import numpy as np
import torch

import sklearn_amfno
from sklearn_amfno import EnsembleRegressor, FNORegressor
from sklearn_amfno.datasets import make_burgers, make_darcy

PROBLEMS = {
    "burgers": lambda n, seed: make_burgers(n, 32, max_wavenumber=8, random_state=seed),
    "darcy": lambda n, seed: make_darcy(n, 16, random_state=seed),
}


def measure(ens: EnsembleRegressor, X: np.ndarray, y: np.ndarray, coverage: float) -> dict:
    scale = float(np.sqrt(np.mean(y**2)))
    lower, upper = ens.predict_interval(X, coverage)
    inside = ((y >= lower) & (y <= upper)).reshape(len(y), -1)
    s_lower, s_upper = ens.predict_interval(X, coverage, band="simultaneous")
    s_inside = ((y >= s_lower) & (y <= s_upper)).reshape(len(y), -1)
    return {
        "coverage": round(float(inside.mean()), 4),
        "coverage_p10": round(float(np.percentile(inside.mean(axis=1), 10)), 4),
        "width": round(float((upper - lower).mean() / scale), 4),
        "simultaneous_coverage": round(float(s_inside.all(axis=1).mean()), 4),
        "simultaneous_width": round(float((s_upper - s_lower).mean() / scale), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--problems", nargs="+", choices=sorted(PROBLEMS), default=sorted(PROBLEMS))
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--n-train", type=int, default=100)
    parser.add_argument("--calibration", type=float, default=0.4)
    parser.add_argument("--n-test", type=int, default=100)
    parser.add_argument("--coverage", type=float, default=0.9)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--floor-fractions", nargs="*", type=float, default=[])
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore", UserWarning)  # Burgers draws a few near-zero targets

    rows = []
    t0 = time.perf_counter()
    for problem in args.problems:
        for seed in range(args.seeds):
            X, y = PROBLEMS[problem](args.n_train + args.n_test, seed)
            X_fit, y_fit, X_test, y_test = (
                X[: args.n_train],
                y[: args.n_train],
                X[args.n_train :],
                y[args.n_train :],
            )
            member = FNORegressor(
                n_modes=8, width=8, n_layers=2, max_epochs=args.epochs, lr=1e-2, batch_size=16
            )
            for score in ("normalized", "absolute"):
                ens = EnsembleRegressor(
                    member,
                    n_estimators=args.members,
                    calibration_fraction=args.calibration,
                    conformity_score=score,
                    random_state=seed,
                ).fit(X_fit, y_fit)
                row = {
                    "problem": problem,
                    "seed": seed,
                    "score": score,
                    **measure(ens, X_test, y_test, args.coverage),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
                if score != "normalized":
                    continue
                # Re-score the same members and split with a larger floor (private attributes:
                # an experiment, not an API).
                idx = ens.calibration_indices_
                mean, std = ens.predict(X_fit[idx], return_std=True)
                residual = np.abs(y_fit[idx] - mean).reshape(len(idx), -1)
                spread = std.reshape(len(idx), -1)
                for fraction in args.floor_fractions:
                    ens.std_floor_ = fraction * float(spread.mean())
                    ens.calibration_scores_ = residual / np.maximum(spread, ens.std_floor_)
                    row = {
                        "problem": problem,
                        "seed": seed,
                        "score": f"normalized@{fraction:g}",
                        **measure(ens, X_test, y_test, args.coverage),
                    }
                    rows.append(row)
                    print(json.dumps(row), flush=True)

    summary = {}
    scores = ["normalized", "absolute"] + [f"normalized@{f:g}" for f in args.floor_fractions]
    for problem in args.problems:
        for score in scores:
            sel = [r for r in rows if r["problem"] == problem and r["score"] == score]
            summary[f"{problem}/{score}"] = {
                key: {
                    "mean": round(float(np.mean([r[key] for r in sel])), 4),
                    "min": round(float(np.min([r[key] for r in sel])), 4),
                    "max": round(float(np.max([r[key] for r in sel])), 4),
                }
                for key in (
                    "coverage",
                    "coverage_p10",
                    "width",
                    "simultaneous_coverage",
                    "simultaneous_width",
                )
            }
    print(json.dumps(summary, indent=1))
    record = {
        "command": "python benchmarks/bench_ensemble.py "
        + " ".join(
            f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in vars(args).items()
            if k != "out"
        ),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
        "versions": {"sklearn_amfno": sklearn_amfno.__version__, "torch": torch.__version__},
        "wall_s": round(time.perf_counter() - t0, 1),
        "summary": summary,
        "results": rows,
    }
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(record, fh, indent=1)


if __name__ == "__main__":
    main()
