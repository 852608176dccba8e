"""Table 2, cost: parameters, seconds per epoch and peak memory on Darcy, one interpreter per model."""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

from .fitting import Budget, epoch_seconds, make_estimator
from .formatting import TableOutput, csv_number, markdown_table
from .processes import module_command, worker_env
from .run import Run


def _status_mib(field: str) -> float | None:
    """A memory line of ``/proc/self/status`` (Linux) in MiB, or None."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _current_rss_mib() -> float | None:
    return _status_mib("VmRSS")


def _max_rss_mib() -> float:
    """Peak RSS of this process. Linux: ``VmHWM``, the high-water mark of this program's memory
    map; ``ru_maxrss`` would not do in a subprocess, since Linux carries the parent's peak at the
    fork over the ``exec`` (every worker would report at least the parent's RSS)."""
    hwm = _status_mib("VmHWM")
    if hwm is not None:
        return hwm
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def cost_worker(spec: dict) -> dict:
    """Measure one model (run in a fresh subprocess so that its peak memory is its own)."""
    import torch

    torch.set_num_threads(spec["threads"])
    data = np.load(spec["data"])
    X, y = data["X"], data["y"]
    budget = Budget(
        spec["epochs"], spec["batch_size"], spec["width"], spec["device"], frozenset(spec["fail"])
    )
    out: dict = {"label": spec["label"]}
    try:
        est = make_estimator(spec["label"], budget, 0)
        # Warm-up on 2 samples of an 8 x 8 grid: lazy imports, thread pools and first-call
        # allocations of torch and skorch (about 90 MiB, the same for every model) stay out of the
        # measured increase; small enough that the real fit cannot reuse its freed pages.
        warm = make_estimator(spec["label"], Budget(1, 2, spec["width"], spec["device"]), 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            step = max(1, X.shape[1] // 8)
            warm.fit(X[:2, ::step, ::step], y[:2, ::step, ::step])
        del warm
        rss_before = _current_rss_mib()
        cuda = torch.cuda.is_available() and est.device != "cpu"
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        est.fit(X, y)
        epoch = epoch_seconds(est.net_.history)
        out.update(n_parameters=int(est.n_parameters_), epoch_s=epoch, samples_per_s=len(X) / epoch)
        out["device"] = est.device_
        out["peak_rss_mib"] = _max_rss_mib()
        if rss_before is not None:
            out["rss_delta_mib"] = out["peak_rss_mib"] - rss_before
        if est.device_.startswith("cuda"):
            out["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2**20
    except Exception as exc:
        out["failed"] = type(exc).__name__
        out["message"] = str(exc).splitlines()[0][:300] if str(exc) else ""
    return out


def table_cost(run: Run, args: argparse.Namespace) -> TableOutput:
    """Fit each row on the same Darcy data in an interpreter of its own (``--cost-worker``)."""
    from sklearn_amfno import datasets

    size = run.sizes["cost"]
    res, n = size["resolution"], size["n_samples"]
    X, y = datasets.make_darcy(n, res, random_state=0)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "darcy.npz")
        np.savez(data, X=X.astype(np.float32), y=y.astype(np.float32))
        for label in run.rows:
            spec = {
                "label": label,
                "data": data,
                "epochs": size["epochs"],
                "batch_size": size["batch_size"],
                "width": size["width"],
                "device": run.budget.device,
                "threads": args.threads,
                "fail": sorted(run.budget.fail),
            }
            t0 = time.perf_counter()
            proc = subprocess.run(
                module_command("benchmarks.paper", "--cost-worker", json.dumps(spec)),
                capture_output=True,
                text=True,
                env=worker_env(),
            )
            lines = proc.stdout.strip().splitlines()
            try:
                r = json.loads(lines[-1])
            except (IndexError, json.JSONDecodeError):
                tail = (proc.stderr.strip().splitlines() or [""])[-1]
                r = {"label": label, "failed": f"subprocess exit {proc.returncode}", "message": tail[:300]}
            results.append(r)
            status = f"failed: {r['failed']}" if "failed" in r else f"{r['epoch_s']:.2f} s/epoch"
            print(f"  cost     {label:14s}: {status} ({time.perf_counter() - t0:.1f} s)", flush=True)

    on_gpu = any(str(r.get("device", "")).startswith("cuda") for r in results)
    mem_title = "peak GPU memory (MiB)" if on_gpu else "peak RSS increase (MiB)"
    header = ["model", "parameters", "s / epoch", "samples / s", mem_title, "peak RSS (MiB)"]
    md_rows, csv_rows = [], []
    for r in results:
        if "failed" in r:
            md_rows.append([r["label"], f"failed: {r['failed']}", "", "", "", ""])
            csv_rows.append([r["label"], "", "", "", "", "", r["failed"]])
            continue
        mem = r.get("peak_gpu_mib") if on_gpu else r.get("rss_delta_mib")
        md_rows.append(
            [
                r["label"],
                f"{r['n_parameters']:,}",
                f"{r['epoch_s']:.3f}",
                f"{r['samples_per_s']:.1f}",
                f"{mem:.0f}" if mem is not None else "n/a",
                f"{r['peak_rss_mib']:.0f}",
            ]
        )
        csv_rows.append(
            [
                r["label"],
                r["n_parameters"],
                csv_number(r["epoch_s"]),
                csv_number(r["samples_per_s"]),
                csv_number(mem),
                csv_number(r["peak_rss_mib"]),
                "",
            ]
        )
    width = "every estimator's default width" if size["width"] is None else f"width {size['width']}"
    devices = ", ".join(sorted({str(r["device"]) for r in results if "device" in r})) or run.budget.device
    notes = [
        f"`make_darcy({n}, {res})`, {n} samples, batch {size['batch_size']}, {width}, "
        f"{size['epochs']} epochs, each model fitted in a subprocess of its own "
        f"(torch threads: {args.threads}, device: {devices}); a 2-sample 8 x 8 warm-up fit "
        "runs first in each, outside the measurement.",
        "s / epoch: median of skorch's per-epoch `dur` after the first epoch "
        "(the first when there is only one); samples / s = samples / (s / epoch).",
        "Memory: on the CPU the increase of the process's peak RSS over its RSS just before `fit` "
        "(model, optimizer state, activations, workspace); on CUDA `torch.cuda.max_memory_allocated`. "
        "Peak RSS includes the ~0.3-0.5 GiB of the interpreter, torch and the data.",
        "The paper's appendix table measures GPU memory and time on its own Darcy setting; no "
        "number of it is reproduced here.",
    ]
    md = markdown_table(header, md_rows, align=["l"]) + "\n\n" + "\n".join(f"- {n}" for n in notes)
    csv_header = ["model", "n_parameters", "epoch_s", "samples_per_s", "memory_mib", "peak_rss_mib", "failed"]
    return TableOutput("cost", md, csv_header, csv_rows, results)
