"""Training throughput and peak memory of AM-FNO and FNO variants on one 2-D configuration.

Setting: random normal 64 x 64 inputs with targets ``roll(X, 3, axis=1) ** 2``, width 32, 4 layers,
batch 32, float32;
AM-FNO (MLP and KAN kernels, all modes), FNO (12 modes) and FNO+ (all modes). Each model trains for a few
epochs through the estimator's own skorch loop (so the timing includes everything a user pays);
skorch's per-epoch ``dur`` gives the epoch times, and the median over epochs after the first is
reported. Each model runs in a fresh subprocess so that its peak memory (max RSS on CPU,
``torch.cuda.max_memory_allocated`` on GPU) is its own.

    python benchmarks/bench_training.py [--samples 128] [--epochs 4] [--threads N] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys

MODELS = {
    "AM-FNO (mlp)": ("AMFNORegressor", {"kernel": "mlp"}),
    "AM-FNO (kan)": ("AMFNORegressor", {"kernel": "kan"}),
    "FNO (12 modes)": ("FNORegressor", {"n_modes": 12}),
    "FNO+ (all modes)": ("FNORegressor", {"n_modes": None}),
}


def run_one(name: str, args: argparse.Namespace) -> dict:
    import numpy as np
    import torch

    import sklearn_amfno

    torch.set_num_threads(args.threads)
    cls_name, params = MODELS[name]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.samples, args.grid, args.grid)).astype(np.float32)
    y = np.roll(X, 3, axis=1) ** 2
    est = getattr(sklearn_amfno, cls_name)(
        **params,
        width=32,
        n_layers=4,
        batch_size=32,
        max_epochs=args.epochs,
        device=args.device,
        random_state=0,
    )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    est.fit(X, y)
    durations = [row["dur"] for row in est.net_.history][1:]
    epoch = statistics.median(durations)
    out = {
        "model": name,
        "parameters": est.n_parameters_,
        "epoch_s": epoch,
        "samples_per_s": args.samples / epoch,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_fit_mib": rss_before / 1024,
    }
    if est.device_.startswith("cuda"):
        out["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--samples", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--grid", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args)))
        return
    forwarded = [a for a in sys.argv[1:]]
    rows = []
    for name in MODELS:
        res = subprocess.run(
            [sys.executable, __file__, *forwarded, "--one", name], capture_output=True, text=True, check=True
        )
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
    print(
        f"grid {args.grid}x{args.grid}, width 32, 4 layers, batch 32, {args.samples} samples, "
        f"{args.threads} threads, median epoch of {args.epochs - 1}"
    )
    print(f"{'model':18s} {'params':>9s} {'epoch s':>8s} {'samples/s':>10s} {'peak MiB':>9s}")
    for r in rows:
        peak = r.get("peak_gpu_mib", r["peak_rss_mib"])
        speed = f"{r['epoch_s']:8.2f} {r['samples_per_s']:10.1f}"
        print(f"{r['model']:18s} {r['parameters']:9d} {speed} {peak:9.0f}")
    by_name = {r["model"]: r for r in rows}
    ratio = by_name["AM-FNO (mlp)"]["epoch_s"] / by_name["FNO+ (all modes)"]["epoch_s"]
    print(f"AM-FNO (mlp) epoch time / FNO+ epoch time = {ratio:.2f} (target <= 1.3)")


if __name__ == "__main__":
    main()
