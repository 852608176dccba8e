"""``--jobs``: the tables' fits in worker processes, planned once each and the slowest first."""

from __future__ import annotations

import json
import queue
import threading
import time
import warnings
from collections.abc import Sequence

from . import problems
from .ablation import no_embedding_basis
from .fitting import Budget, fit_eval
from .presets import ABLATION_ROWS, RESOLUTION_ROWS
from .problems import grid_points, make_problem
from .processes import WorkerProcess, serve
from .run import Run

#: Rough relative cost of a row's epoch (from the full preset's fit times), to start the slowest
#: fits first so that the workers finish together.
ROW_COST = {
    "AM-FNO (MLP)": 2.5,
    "AM-FNO (KAN)": 3.0,
    "FNO": 1.0,
    "FNO+": 1.5,
    "F-FNO": 2.0,
    "U-FNO": 2.0,
    "AFNO": 2.0,
    "OFormer": 10.0,
    "LSM": 10.0,
}


def planned_fits(run: Run, tables: Sequence[str]) -> list[dict]:
    """Every fit the selected tables will ask ``run`` for, each once, the slowest first."""
    have_cfd_2d = problems.cfd_2d_generator() is not None
    plan: dict[tuple, dict] = {}

    def add(key: str, label: str, spectral: bool = False, **overrides) -> None:
        for seed in run.seeds:
            memo = (key, label, seed, tuple(sorted(overrides.items())))
            plan.setdefault(
                memo,
                {"key": key, "label": label, "seed": seed, "spectral": spectral, "overrides": overrides},
            )

    resolution_rows = [label for label in RESOLUTION_ROWS if label in run.rows]
    if "accuracy" in tables:
        for key in run.problems:
            if key != "cfd2d" or have_cfd_2d:
                for label in run.rows:
                    add(key, label)
    if "superres" in tables:
        for key in ("ns", "darcy"):
            for label in resolution_rows:
                add(key, label)
    if "spectral" in tables:
        for label in resolution_rows:
            add("spectral", label, spectral=True)
    if "ablation" in tables and "AM-FNO (MLP)" in run.rows:
        for basis in ABLATION_ROWS.values():
            basis = basis or no_embedding_basis()
            if basis is not None:
                add("darcy", "AM-FNO (MLP)", **({} if basis == "chebyshev" else {"basis": basis}))

    def cost(task: dict) -> float:
        size = run.sizes[task["key"]]
        windows = size.get("n_steps_out", 1)
        return ROW_COST.get(task["label"], 2.0) * size["n_train"] * windows * grid_points(size, task["key"])

    return sorted(plan.values(), key=cost, reverse=True)


def fit_worker(config: dict) -> None:
    """``--fit-worker``: answer each fit task on stdin with one result line.

    The worker keeps the data it generated, so a worker that gets several fits of one problem and
    seed generates it once.
    """
    import torch

    torch.set_num_threads(config["threads"])
    budget = Budget(
        config["epochs"], config["batch_size"], config["width"], config["device"], frozenset(config["fail"])
    )
    data: dict = {}

    def fit(task: dict) -> dict:
        key, seed = task["key"], task["seed"]
        reply: dict = {"task": task, "data_s": 0.0}
        try:
            if (key, seed) not in data:
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    data[key, seed] = make_problem(key, config["sizes"][key], seed)
                reply["data_s"] = time.perf_counter() - t0
            reply["result"] = fit_eval(
                data[key, seed], task["label"], budget, seed, task["spectral"], **task["overrides"]
            )
        except Exception as exc:  # the generator failed: the main process records it per column
            reply["generation_failed"] = [
                type(exc).__name__,
                str(exc).splitlines()[0][:300] if str(exc) else "",
            ]
        return reply

    serve(fit)


def prefetch(run: Run, tables: Sequence[str], jobs: int, threads: int) -> None:
    """Run the tables' fits in ``jobs`` worker processes and store them in ``run``'s memo.

    The tables then find every fit done and only assemble their results. Each worker is a fresh
    interpreter (``--fit-worker``) fed one task at a time, so the slowest-first order balances the
    load; a worker that dies leaves its remaining tasks to the tables, which fit them in-process.
    """
    tasks: queue.Queue = queue.Queue()
    for task in planned_fits(run, tables):
        tasks.put(task)
    n_tasks = tasks.qsize()
    config = {
        "threads": threads,
        "epochs": run.budget.epochs,
        "batch_size": run.budget.batch_size,
        "width": run.budget.width,
        "device": run.budget.device,
        "fail": sorted(run.budget.fail),
        "sizes": run.sizes,
    }
    lock = threading.Lock()
    done = [0]

    def work() -> None:
        # What the worker prints besides its replies (a fit's failure message) is passed through.
        worker = WorkerProcess("benchmarks.paper", "--fit-worker", json.dumps(config), echo=True)
        try:
            while True:
                try:
                    task = tasks.get_nowait()
                except queue.Empty:
                    return
                t0 = time.perf_counter()
                reply = worker.ask(task)
                if reply is None:  # the worker died; the tables fit what is left
                    code = worker.proc.poll() if worker.proc is not None else None
                    print(f"  worker exited ({code}); its remaining fits run in-process", flush=True)
                    return
                key, label, seed = task["key"], task["label"], task["seed"]
                with lock:
                    run.data_s[key] = run.data_s.get(key, 0.0) + reply["data_s"]
                    if "generation_failed" in reply:
                        run._generation_failed[key, seed] = tuple(reply["generation_failed"])
                        status = f"data failed: {reply['generation_failed'][0]}"
                    else:
                        r = reply["result"]
                        run._fits[key, label, seed, tuple(sorted(task["overrides"].items()))] = r
                        status = f"failed: {r['failed']}" if "failed" in r else f"{r['error']:.4f}"
                    done[0] += 1
                    print(
                        f"  [{done[0]}/{n_tasks}] {key:8s} {label:14s} seed {seed} "
                        f"{task['overrides'] or ''}: {status} ({time.perf_counter() - t0:.1f} s)",
                        flush=True,
                    )
        finally:
            worker.close()

    workers = [threading.Thread(target=work) for _ in range(min(jobs, n_tasks))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
