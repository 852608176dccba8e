"""Data-parallel training on CPU: one process against two (gloo), the package's path against accelerate.

Three runs of the same AM-FNO training (same data, global batch, epochs; one thread per process):

- ``single``: one process, ``AMFNORegressor.fit``;
- ``package``: ``torchrun --nproc_per_node=2`` around the same script (``sklearn_amfno._distributed``:
  shards of the global batch, one flat all-reduce of the gradients per step);
- ``accelerate``: ``torchrun --nproc_per_node=2`` around skorch's ``AccelerateMixin`` net with
  ``Accelerator(cpu=True, split_batches=True)`` (global batch split over the ranks; the model wrapped in
  ``DistributedDataParallel``) on the same torch module and loss.

The wall time per epoch is the median of skorch's epoch durations after the first epoch. Results go
to ``benchmarks/results/bench_distributed.json`` (and a table on stdout)::

    OMP_NUM_THREADS=1 python benchmarks/bench_distributed.py            # all three runs
    OMP_NUM_THREADS=1 python benchmarks/bench_distributed.py --quick    # smaller, for a smoke run

Needs ``accelerate`` for the third run (``pip install -e ".[distributed]"``); without it that run is
skipped and said so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

import sklearn_amfno
from sklearn_amfno import AMFNORegressor
from sklearn_amfno.datasets import make_heat

RESULTS = os.path.join(os.path.dirname(__file__), "results", "bench_distributed.json")


def settings(quick: bool) -> dict:
    if quick:
        return {
            "n_samples": 64,
            "resolution": 64,
            "width": 16,
            "n_layers": 2,
            "batch_size": 16,
            "max_epochs": 3,
        }
    return {
        "n_samples": 512,
        "resolution": 128,
        "width": 32,
        "n_layers": 4,
        "batch_size": 32,
        "max_epochs": 4,
    }


def _estimator(s: dict) -> AMFNORegressor:
    return AMFNORegressor(
        width=s["width"],
        n_layers=s["n_layers"],
        batch_size=s["batch_size"],
        max_epochs=s["max_epochs"],
        lr_schedule="constant",
        random_state=0,
    )


def run_package(s: dict) -> dict:
    """The package's estimator, alone or under torchrun (the same code either way)."""
    X, y = make_heat(s["n_samples"], s["resolution"], random_state=0)
    start = time.perf_counter()
    est = _estimator(s).fit(X, y)
    wall = time.perf_counter() - start
    return {
        "epoch_s": [float(h["dur"]) for h in est.net_.history],
        "train_loss": [float(h["train_loss"]) for h in est.net_.history],
        "fit_s": wall,
    }


def run_accelerate(s: dict) -> dict:
    """skorch's AccelerateMixin on the module and loss the estimator builds."""
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration
    from skorch import NeuralNetRegressor
    from skorch.hf import AccelerateMixin

    class AcceleratedNet(AccelerateMixin, NeuralNetRegressor):
        def _initialize_accelerator(self):
            # accelerate wraps every module in DDP, and DDP refuses the parameterless loss.
            criteria, self._criteria = self._criteria, []
            try:
                return super()._initialize_accelerator()
            finally:
                self._criteria = criteria

    X, y = make_heat(s["n_samples"], s["resolution"], random_state=0)
    # The estimator's module (with its scaling) and loss, built by a fit of zero cost: reuse
    # fit's own steps so both runs train the same network.
    est = _estimator(s)
    Xv, yv, fitted = est._validate_fit_data(X, y)
    torch.manual_seed(0)
    module = est.initialize_module(Xv, yv, fitted)
    criterion = est.initialize_criterion(
        fitted["target_kind_"], module, float(np.sqrt(np.mean(yv**2) * yv[0].size))
    )
    accelerator = Accelerator(cpu=True, dataloader_config=DataLoaderConfiguration(split_batches=True))
    net = AcceleratedNet(
        module,
        criterion=criterion,
        device=None,
        optimizer=torch.optim.AdamW,
        optimizer__weight_decay=est.weight_decay,
        lr=est.lr,
        batch_size=s["batch_size"],
        max_epochs=s["max_epochs"],
        iterator_train__shuffle=True,
        train_split=None,
        accelerator=accelerator,
        verbose=0,
    )
    start = time.perf_counter()
    net.fit(Xv, yv)
    wall = time.perf_counter() - start
    return {
        "epoch_s": [float(h["dur"]) for h in net.history],
        "train_loss": [float(h["train_loss"]) for h in net.history],
        "fit_s": wall,
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch(mode: str, quick: bool, nproc: int, out: str) -> dict:
    """Run this script as a worker (``mode``), under torchrun when ``nproc > 1``; read rank 0's result."""
    worker = [__file__, "--worker", mode, "--out", out] + (["--quick"] if quick else [])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if nproc == 1:
        command = [sys.executable, *worker]
    else:
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            f"--nproc_per_node={nproc}",
            "--nnodes=1",
            "--master_addr=127.0.0.1",
            f"--master_port={_free_port()}",
            *worker,
        ]
    subprocess.run(command, env=env, check=True)
    with open(out) as f:
        return json.load(f)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", choices=["package", "accelerate"])
    parser.add_argument("--out")
    parser.add_argument("--results", default=RESULTS)
    args = parser.parse_args()
    s = settings(args.quick)
    if args.worker:
        result = run_package(s) if args.worker == "package" else run_accelerate(s)
        if int(os.environ.get("RANK", "0")) == 0:
            with open(args.out, "w") as f:
                json.dump(result, f)
        return

    import tempfile

    try:
        import accelerate
    except ImportError:
        accelerate = None
    runs = {}
    with tempfile.TemporaryDirectory() as folder:
        plan = [("single", "package", 1), ("package_2proc", "package", 2)]
        if accelerate is not None:
            plan.append(("accelerate_2proc", "accelerate", 2))
        else:
            print("accelerate is not installed: its run is skipped.")
        for name, mode, nproc in plan:
            result = launch(mode, args.quick, nproc, os.path.join(folder, f"{name}.json"))
            result["epoch_median_s"] = statistics.median(result["epoch_s"][1:])
            result["nproc"] = nproc
            runs[name] = result
    base = runs["single"]["epoch_median_s"]
    print(f"{'run':<18}{'procs':>6}{'s/epoch':>10}{'speed-up':>10}{'last loss':>12}")
    for name, r in runs.items():
        r["speedup"] = base / r["epoch_median_s"]
        print(
            f"{name:<18}{r['nproc']:>6}{r['epoch_median_s']:>10.3f}{r['speedup']:>10.2f}{r['train_loss'][-1]:>12.5f}"
        )
    record = {
        "command": "OMP_NUM_THREADS=1 python benchmarks/bench_distributed.py"
        + (" --quick" if args.quick else ""),
        "settings": s,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "torch": torch.__version__,
            "sklearn_amfno": sklearn_amfno.__version__,
            "accelerate": getattr(accelerate, "__version__", None),
        },
        "runs": runs,
    }
    os.makedirs(os.path.dirname(args.results), exist_ok=True)
    with open(args.results, "w") as f:
        json.dump(record, f, indent=1)
    print(f"written {args.results}")


if __name__ == "__main__":
    main()
