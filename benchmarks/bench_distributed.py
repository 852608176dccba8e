"""Data-parallel training on CPU: one process against two (gloo), DDP against the all-reduce it replaced.

Runs of the same AM-FNO training (same data, global batch, epochs; one thread per process):

- ``single``: one process, ``AMFNORegressor.fit``;
- ``ddp_2proc``: ``torchrun --nproc_per_node=2`` around the same script: the package's path
  (``sklearn_amfno._distributed``: each rank reads its shard of the global batch and trains
  through ``DistributedDataParallel``, which all-reduces gradient buckets during the backward pass);
- ``allreduce_2proc``: the same under torchrun on the path the package had before DDP, rebuilt
  here only (:func:`use_all_reduce_path`): every rank collates the whole global batch and slices
  its shard, then one flat all-reduce of the gradients after the backward pass;
- ``accelerate_2proc`` (only with ``--accelerate``, needs ``accelerate``): skorch's
  ``AccelerateMixin`` net with ``Accelerator(cpu=True, split_batches=True)`` on the same torch
  module and loss (the comparison of ``results/bench_distributed.json``).

The wall time per epoch of a run is the median of skorch's epoch durations after the first;
``--repeats`` runs every mode that many times, interleaved (single, ddp, allreduce, single, ...)
so that a change of the machine's load hits all modes alike, and reports the median over the
repeats and the per-repeat ratio DDP / all-reduce. Results go to
``benchmarks/results/bench_distributed_ddp.json`` (and a table on stdout)::

    OMP_NUM_THREADS=1 python benchmarks/bench_distributed.py --repeats 5
    OMP_NUM_THREADS=1 python benchmarks/bench_distributed.py --quick    # smaller, for a smoke run
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
from collections.abc import Iterable

import numpy as np
import torch
import torch.distributed as dist

import sklearn_amfno
from sklearn_amfno import AMFNORegressor
from sklearn_amfno._distributed import shard_bounds
from sklearn_amfno._net import OperatorNet
from sklearn_amfno.datasets import make_heat

RESULTS = os.path.join(os.path.dirname(__file__), "results", "bench_distributed_ddp.json")


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


# -- the path before DDP, for the comparison only -----------------------------------------------


def all_reduce_gradients(parameters: Iterable[torch.nn.Parameter], loss: torch.Tensor) -> torch.Tensor:
    """Sum the gradients of ``parameters`` and the value ``loss`` over the ranks, in one flat buffer.

    The package's ``_distributed.all_reduce_gradients`` before DDP, unchanged: the gradients
    (complex ones as real pairs), one flag per parameter saying whether this rank has a gradient
    for it, and the loss, in one collective after the backward pass.
    """
    params = [p for p in parameters if p.requires_grad]
    grads = [_real(p.grad if p.grad is not None else torch.zeros_like(p)) for p in params]
    dtype = loss.dtype
    for g in grads:
        dtype = torch.promote_types(dtype, g.dtype)
    device = loss.device
    flags = torch.tensor([p.grad is not None for p in params], dtype=dtype, device=device)
    buffer = torch.cat([*(g.reshape(-1).to(dtype) for g in grads), flags, loss.detach().reshape(1).to(dtype)])
    dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
    offset = 0
    for p, g, flag in zip(params, grads, buffer[-1 - len(params) : -1].tolist(), strict=True):
        size = g.numel()
        if flag > 0:
            summed = buffer[offset : offset + size].view(g.shape).to(g.dtype)
            p.grad = torch.view_as_complex(summed) if p.is_complex() else summed
        else:
            p.grad = None
        offset += size
    return buffer[-1].to(loss.dtype)


def _real(t: torch.Tensor) -> torch.Tensor:
    return torch.view_as_real(t) if t.is_complex() else t


def _all_reduce_train_step(self, batch, **fit_params):
    """``OperatorNet.train_step_single`` before DDP: the whole global batch in, this rank's shard trained."""
    from skorch.dataset import unpack_data

    group = self.data_parallel
    self._set_training(True)
    Xi, yi = unpack_data(batch)
    n_batch = len(yi)
    start, stop = shard_bounds(n_batch, group.rank, group.world_size)
    weight = (stop - start) / n_batch
    if stop > start:
        Xs = {k: v[start:stop] for k, v in Xi.items()} if isinstance(Xi, dict) else Xi[start:stop]
        y_pred = self.infer(Xs, **fit_params)
        loss = self.get_loss(y_pred, yi[start:stop], X=Xs, training=True) * weight
        loss.backward()
    else:
        y_pred = torch.empty(0, device=self.device)
        loss = torch.zeros((), device=self.device)
    loss = all_reduce_gradients(self.module_.parameters(), loss)
    return {"loss": loss, "y_pred": y_pred}


def use_all_reduce_path() -> None:
    """Train every ``OperatorNet`` of this process on the data-parallel path before DDP.

    skorch's own loader (every rank loads the whole global batch), loop and batch records, and
    the step above; the rest of the net (precision, weighted losses, rank 0's files) is today's.
    """
    from skorch import NeuralNet

    OperatorNet.get_iterator = NeuralNet.get_iterator  # type: ignore[method-assign]
    OperatorNet.fit_loop = NeuralNet.fit_loop  # type: ignore[method-assign]
    OperatorNet.on_batch_end = NeuralNet.on_batch_end  # type: ignore[method-assign]
    OperatorNet.train_step_single = _all_reduce_train_step  # type: ignore[method-assign]


# -- the runs --------------------------------------------------------------------------------------


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
    data = est._validate_fit_data(X, y)
    Xv, yv = data.net_input(), data.net_target()
    torch.manual_seed(0)
    module = est.initialize_module(data)
    criterion = est.initialize_criterion(
        data.fitted["target_kind_"], module, float(np.sqrt(np.mean(yv**2) * yv[0].size))
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
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--accelerate", action="store_true", help="add accelerate's run (needs accelerate)")
    parser.add_argument("--worker", choices=["package", "allreduce", "accelerate"])
    parser.add_argument("--out")
    parser.add_argument("--results", default=RESULTS)
    args = parser.parse_args()
    s = settings(args.quick)
    if args.worker:
        if args.worker == "allreduce":
            use_all_reduce_path()
        result = run_accelerate(s) if args.worker == "accelerate" else run_package(s)
        if int(os.environ.get("RANK", "0")) == 0:
            with open(args.out, "w") as f:
                json.dump(result, f)
        return

    import tempfile

    accelerate = None
    plan = [("single", "package", 1), ("ddp_2proc", "package", 2), ("allreduce_2proc", "allreduce", 2)]
    if args.accelerate:
        import accelerate

        plan.append(("accelerate_2proc", "accelerate", 2))
    runs: dict[str, dict] = {name: {"nproc": nproc, "repeats": []} for name, _, nproc in plan}
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(args.repeats):
            for name, mode, nproc in plan:
                result = launch(mode, args.quick, nproc, os.path.join(folder, f"{name}_{repeat}.json"))
                result["epoch_median_s"] = statistics.median(result["epoch_s"][1:])
                runs[name]["repeats"].append(result)
                print(f"repeat {repeat}: {name:<18}{result['epoch_median_s']:>8.3f} s/epoch", flush=True)
    for r in runs.values():
        r["epoch_median_s"] = statistics.median(x["epoch_median_s"] for x in r["repeats"])
        r["last_train_loss"] = r["repeats"][0]["train_loss"][-1]
    base = runs["single"]["epoch_median_s"]
    # Paired by repeat: the runs of one repeat ran back to back, under the same load.
    ratios = [
        d["epoch_median_s"] / a["epoch_median_s"]
        for d, a in zip(runs["ddp_2proc"]["repeats"], runs["allreduce_2proc"]["repeats"], strict=True)
    ]
    print(f"\n{'run':<18}{'procs':>6}{'s/epoch':>10}{'speed-up':>10}{'last loss':>12}")
    for name, r in runs.items():
        r["speedup"] = base / r["epoch_median_s"]
        print(
            f"{name:<18}{r['nproc']:>6}{r['epoch_median_s']:>10.3f}{r['speedup']:>10.2f}{r['last_train_loss']:>12.5f}"
        )
    print(
        f"DDP / all-reduce epoch time, per repeat: {', '.join(f'{x:.3f}' for x in ratios)}; "
        f"median {statistics.median(ratios):.3f}"
    )
    record = {
        "command": "OMP_NUM_THREADS=1 python benchmarks/bench_distributed.py"
        + (" --quick" if args.quick else "")
        + f" --repeats {args.repeats}"
        + (" --accelerate" if args.accelerate else ""),
        "settings": s,
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
            "platform": platform.platform(),
            "torch": torch.__version__,
            "sklearn_amfno": sklearn_amfno.__version__,
            "accelerate": getattr(accelerate, "__version__", None),
        },
        "ddp_over_allreduce_epoch_time": {"per_repeat": ratios, "median": statistics.median(ratios)},
        "runs": runs,
    }
    os.makedirs(os.path.dirname(args.results), exist_ok=True)
    with open(args.results, "w") as f:
        json.dump(record, f, indent=1)
    print(f"written {args.results}")


if __name__ == "__main__":
    main()
