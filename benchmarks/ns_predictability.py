"""How far can any model roll out Navier-Stokes 10 -> 40? The exact solver from a perturbed start.

The trajectories of ``bench_rollout.py --setting ns-long`` (``make_navier_stokes(n, 64,
viscosity=1e-4, n_steps_in=10, n_steps_out=40, random_state=0)``, the last ``--test`` of them):
the last input frame gets relative Gaussian noise (standard deviation ``--eps`` times the frame's
spatial standard deviation, smoothed to the wavenumbers a 32 x 32 model resolves) and the
solver advances both the clean and the perturbed frame 40 time units, recording every unit.
The relative L2 distance between the two, frame by frame, on the 32 x 32 subsampled grid, is
what a *perfect* model that starts with an error ``eps`` would reach: where it passes 0.5
bounds the frame any surrogate with that first-frame error can reach.

    python benchmarks/ns_predictability.py [--train 64] [--test 20] [--eps 0.03,0.01,0.001]
        [--threads 1] [--out benchmarks/results/ns_predictability.json]
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch

from sklearn_amfno.datasets import make_navier_stokes, solve_navier_stokes
from sklearn_amfno.metrics import rollout_error


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=64)
    parser.add_argument("--test", type=int, default=20)
    parser.add_argument("--eps", default="0.03,0.01,0.001")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache", default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    X, _ = make_navier_stokes(
        args.train + args.test,
        64,
        viscosity=1e-4,
        n_steps_in=10,
        n_steps_out=40,
        random_state=0,
        memory=args.cache,
    )
    w0 = X[args.train :, :, :, -1]
    times = np.arange(1, 41, dtype=float)
    clean = solve_navier_stokes(w0, 1e-4, 40.0, times, precision="single", n_jobs=1)
    rng = np.random.default_rng(0)
    # Noise on the wavenumbers a 32 x 32 grid holds (|k| < 16): the error a model on it can make.
    k = np.fft.fftfreq(64, 1 / 64)
    low = (np.abs(k)[:, None] < 16) & (np.abs(k)[None, :] < 16)
    results = {}
    for eps in [float(e) for e in args.eps.split(",")]:
        noise = np.fft.ifft2(np.fft.fft2(rng.standard_normal(w0.shape)) * low).real
        noise *= eps * w0.std(axis=(1, 2), keepdims=True) / noise.std(axis=(1, 2), keepdims=True)
        perturbed = solve_navier_stokes(w0 + noise, 1e-4, 40.0, times, precision="single", n_jobs=1)
        # Frames on the last axis, on the 32 x 32 grid of the benchmark.
        errors = rollout_error(clean[:, ::2, ::2], perturbed[:, ::2, ::2])
        above = np.flatnonzero(errors > 0.5)
        results[f"{eps:g}"] = {
            "per_step": [round(float(e), 4) for e in errors],
            "passes_0.5_at": int(above[0]) + 1 if above.size else None,
        }
        print(eps, json.dumps(results[f"{eps:g}"]), flush=True)
    record = {"command": "python " + " ".join(sys.argv), "results": results}
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(record, fh, indent=1)


if __name__ == "__main__":
    main()
