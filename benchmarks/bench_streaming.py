"""Data larger than memory: one training epoch streamed from memory-mapped files, its peak RSS.

Writes a Darcy-like data set (``X`` the coefficient, ``y`` the solution, float32, one
``np.memmap`` file each) of ``--gib`` GiB per array under ``--dir``, fits one epoch of a small
FNO from the read-only memory maps in a child process, and reports the child's peak resident set
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``, read in the child after the fit) with its
resident set after the imports, before any data were read. The files are deleted afterwards.

The samples are ``make_darcy`` solutions under the exact symmetries of the problem (the
square's eight rotations and reflections, and ``a -> c a``, ``u -> u / c`` for a random
``c`` in [0.5, 2]), so a few hundred solver runs make any number of distinct, valid samples.

``--check-equal`` instead fits the same small case in memory and from memory maps (and from an
HDF5 file) and reports whether losses, scaling statistics and predictions are identical.

Usage (results in ``benchmarks/results/bench_streaming*.json``)::

    OMP_NUM_THREADS=2 python benchmarks/bench_streaming.py --check-equal \
        --out benchmarks/results/bench_streaming_equal.json
    OMP_NUM_THREADS=2 python benchmarks/bench_streaming.py --gib 1 \
        --out benchmarks/results/bench_streaming_1gib.json
    OMP_NUM_THREADS=2 python benchmarks/bench_streaming.py --gib 5 \
        --out benchmarks/results/bench_streaming_10gb.json   # X and y 5 GiB each
    OMP_NUM_THREADS=1 python benchmarks/bench_streaming.py --gib 0.125 --workers 0 1 2 \
        --out benchmarks/results/bench_streaming_workers.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

GRID = 64
MODEL = {"n_modes": 4, "width": 4, "n_layers": 1, "max_epochs": 1, "batch_size": 64}


def base_samples(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    from sklearn_amfno.datasets import make_darcy

    X, y = make_darcy(n, GRID, random_state=0)
    return X.astype(np.float32), y.astype(np.float32)


def symmetric(a: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The square's symmetry number ``k`` (0..7) applied to each sample of ``a`` (n, H, W)."""
    out = np.empty_like(a)
    for s in range(8):
        sel = k == s
        b = np.rot90(a[sel], s % 4, axes=(1, 2))
        out[sel] = b[:, ::-1] if s >= 4 else b
    return out


def write_data(directory: str, n: int) -> tuple[str, str]:
    """X and y memory-mapped files of ``n`` Darcy-like samples, written in chunks."""
    X0, y0 = base_samples()
    shape = (n, GRID, GRID)
    xp, yp = os.path.join(directory, "X.f32"), os.path.join(directory, "y.f32")
    X = np.memmap(xp, dtype=np.float32, mode="w+", shape=shape)
    y = np.memmap(yp, dtype=np.float32, mode="w+", shape=shape)
    rng = np.random.default_rng(1)
    step = 4096
    for start in range(0, n, step):
        stop = min(n, start + step)
        pick = rng.integers(0, len(X0), stop - start)
        k = rng.integers(0, 8, stop - start)
        c = rng.uniform(0.5, 2.0, stop - start).astype(np.float32)[:, None, None]
        X[start:stop] = symmetric(X0[pick], k) * c
        y[start:stop] = symmetric(y0[pick], k) / c
        X.flush()
        y.flush()
    del X, y
    return xp, yp


def child(xp: str, yp: str, n: int, num_workers: int = 0) -> None:
    """Fit one epoch from read-only memory maps; print timings and peak RSS as JSON."""
    from sklearn_amfno import FNORegressor

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    X = np.memmap(xp, dtype=np.float32, mode="r", shape=(n, GRID, GRID))
    y = np.memmap(yp, dtype=np.float32, mode="r", shape=(n, GRID, GRID))
    est = FNORegressor(**MODEL, device="cpu", random_state=0, num_workers=num_workers)
    t0 = time.perf_counter()
    est.fit(X, y)
    fit_s = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open("/proc/self/status") as fh:  # the kernel's own high-water mark, as a check
        hwm = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    t0 = time.perf_counter()
    pred = est.predict(X[:1024])
    predict_s = time.perf_counter() - t0
    truth = np.asarray(y[:1024]).reshape(1024, -1)
    err = float(
        np.mean(np.linalg.norm(pred.reshape(1024, -1) - truth, axis=1) / np.linalg.norm(truth, axis=1))
    )
    result = {
        "rss_after_imports_mib": before / 1024,
        "peak_rss_fit_mib": peak / 1024,
        "vmhwm_fit_mib": hwm / 1024,
        "peak_rss_after_predict_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "fit_one_epoch_s": fit_s,
        "train_loss": float(est.net_.history[-1]["train_loss"]),
        "predict_1024_s": predict_s,
        "relative_l2_first_1024": err,
        # DataLoader workers are child processes: their own peak, not counted above.
        "peak_rss_workers_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }
    print(json.dumps(result))


def workers_timing(gib: float, directory: str, workers: list[int], repeats: int) -> dict:
    """One streamed epoch with each ``num_workers``, ``repeats`` times, on one data set."""
    n = int(gib * 2**30) // (4 * GRID * GRID)
    work = tempfile.mkdtemp(prefix="bench_streaming_workers_", dir=directory)
    runs: dict = {}
    try:
        xp, yp = _write_data_in_child(work, n)
        for _ in range(repeats):  # interleaved, so that a change of load hits every setting
            for w in workers:
                runs.setdefault(str(w), []).append(_fit_in_child(xp, yp, n, w))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = {}
    for w, rs in runs.items():
        epochs = sorted(r["fit_one_epoch_s"] for r in rs)
        summary[w] = {
            "epoch_s_median": epochs[len(epochs) // 2],
            "epoch_s": epochs,
            "train_loss": [r["train_loss"] for r in rs],
            "peak_rss_fit_mib": max(r["peak_rss_fit_mib"] for r in rs),
            "peak_rss_workers_mib": max(r["peak_rss_workers_mib"] for r in rs),
        }
    return {"n_samples": n, "grid": [GRID, GRID], "num_workers": summary}


def _write_data_in_child(work: str, n: int) -> tuple[str, str]:
    # Written by a child process: a child's ru_maxrss starts from its parent's resident set
    # at fork (Linux keeps it across exec), and writing maps the files into the writer.
    subprocess.run([sys.executable, __file__, "--write", work, str(n)], check=True)
    return os.path.join(work, "X.f32"), os.path.join(work, "y.f32")


def _fit_in_child(xp: str, yp: str, n: int, num_workers: int = 0) -> dict:
    """:func:`child` in a fresh process (its own peak RSS); its JSON result."""
    command = [sys.executable, __file__, "--child", xp, yp, str(n), "--num-workers", str(num_workers)]
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_size(gib: float, directory: str) -> dict:
    n = int(gib * 2**30) // (4 * GRID * GRID)
    os.makedirs(directory, exist_ok=True)
    work = tempfile.mkdtemp(prefix="bench_streaming_", dir=directory)
    try:
        t0 = time.perf_counter()
        xp, yp = _write_data_in_child(work, n)
        write_s = time.perf_counter() - t0
        result = _fit_in_child(xp, yp, n)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "n_samples": n,
        "grid": [GRID, GRID],
        "bytes_X": n * GRID * GRID * 4,
        "bytes_y": n * GRID * GRID * 4,
        "write_s": write_s,
        **result,
    }


def check_equal() -> dict:
    """In memory vs memory-mapped vs HDF5 on a small case: identical fits?"""
    import h5py

    from sklearn_amfno import AMFNORegressor, FNORegressor

    X0, y0 = base_samples(96)
    work = tempfile.mkdtemp(prefix="bench_streaming_eq_")
    out = {}
    try:
        xp, yp = os.path.join(work, "X.f32"), os.path.join(work, "y.f32")
        for p, a in ((xp, X0), (yp, y0)):
            m = np.memmap(p, dtype=np.float32, mode="w+", shape=a.shape)
            m[:] = a
            m.flush()
            del m
        Xm = np.memmap(xp, dtype=np.float32, mode="r", shape=X0.shape)
        ym = np.memmap(yp, dtype=np.float32, mode="r", shape=y0.shape)
        hp = os.path.join(work, "d.h5")
        with h5py.File(hp, "w") as f:
            f["X"], f["y"] = X0, y0
        with h5py.File(hp, "r") as f:
            for cls, kw in ((FNORegressor, {"n_modes": 8}), (AMFNORegressor, {})):
                params = {
                    **kw,
                    "width": 8,
                    "n_layers": 2,
                    "max_epochs": 5,
                    "batch_size": 16,
                    "validation_fraction": 0.2,
                    "device": "cpu",
                    "random_state": 0,
                }
                fits = {
                    "in_memory": cls(**params).fit(X0, y0),
                    "memmap": cls(**params).fit(Xm, ym),
                    "hdf5": cls(**params).fit(f["X"], f["y"]),
                }
                ref = fits["in_memory"]
                p_ref = ref.predict(X0)
                for name in ("memmap", "hdf5"):
                    est = fits[name]
                    p = est.predict(Xm if name == "memmap" else f["X"])
                    bufs = dict(est.module_.named_buffers())
                    out[f"{cls.__name__}/{name}"] = {
                        "losses_equal": [h["train_loss"] for h in est.net_.history]
                        == [h["train_loss"] for h in ref.net_.history],
                        "valid_losses_equal": [h["valid_loss"] for h in est.net_.history]
                        == [h["valid_loss"] for h in ref.net_.history],
                        "scaling_buffers_equal": all(
                            np.array_equal(t.numpy(), bufs[k].numpy()) for k, t in ref.module_.named_buffers()
                        ),
                        "predictions_bit_identical": bool(np.array_equal(p, p_ref)),
                        "max_abs_difference": float(np.abs(p - p_ref).max()),
                    }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gib", type=float, default=1.0, help="GiB per array (X and y each)")
    parser.add_argument("--dir", default="/tmp", help="where the files are written (and deleted)")
    parser.add_argument("--check-equal", action="store_true")
    parser.add_argument("--out", default=None)
    parser.add_argument("--write", nargs=2, metavar=("DIR", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs=3, metavar=("X", "Y", "N"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--workers",
        nargs="+",
        type=int,
        default=None,
        help="instead: time one streamed epoch with each of these num_workers (--gib of data)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="repeats per --workers value")
    parser.add_argument("--num-workers", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:
        write_data(args.write[0], int(args.write[1]))
        return
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]), args.num_workers)
        return
    result = {
        "command": "OMP_NUM_THREADS="
        + os.environ.get("OMP_NUM_THREADS", "")
        + " python "
        + " ".join(sys.argv),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "model": MODEL,
    }
    if args.check_equal:
        result["equality"] = check_equal()
    elif args.workers:
        result["workers_timing"] = workers_timing(args.gib, args.dir, args.workers, args.repeats)
    else:
        result["streaming_epoch"] = run_size(args.gib, args.dir)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
