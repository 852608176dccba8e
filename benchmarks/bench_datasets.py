"""Time the built-in PDE data generators of ``sklearn_amfno.datasets`` at their benchmark sizes.

Each case generates ``n_samples`` input/output pairs (1000, or 100 with ``--quick``) with
``random_state=0`` and no cache, in this process, and reports the wall time, the CPU time of the
process summed over its threads and the 1-minute load average after the case:

* ``darcy``: ``make_darcy`` on a 64 x 64 node grid (five-point finite differences, harmonic
  face means, SuperLU), coefficient field with ``max_wavenumber=63``, one thread;
* ``darcy_2threads``: the same with ``n_jobs=2``;
* ``burgers``: ``make_burgers`` on 1024 points, ``viscosity=0.1``, ``time=1``, exact
  Cole-Hopf solution;
* ``navier_stokes``: ``make_navier_stokes`` on 64 x 64, ``viscosity=1e-3``, 10 input and 10
  output snapshots every ``record_interval=1`` (to T = 20), single-precision RK3-CN stepping;
* ``cfd_1d``: ``make_cfd_1d`` with 256 cells, ``gamma=5/3``, 10 input and 1 output frames every
  ``record_interval=0.05`` (to T = 0.5), MUSCL-HLLC-SSPRK3 in batches of 16;
* ``cfd_2d``: ``make_cfd_2d`` on 64 x 64 cells, ``gamma=5/3``, 21 frames at t = 0, 0.05, ..., 1
  (PDEBench's 2-D layout: 10 input and 11 output frames), unsplit MUSCL-HLLC-SSPRK3 in batches
  of 4, ``n_jobs=-1`` (one worker process per core; the ``cpu`` column counts this process
  only, not its workers);
* ``cfd_2d_1proc``: the same in this process alone (``n_jobs=1``).

Targets for 1000 samples on 2 CPU cores: Darcy <= 10 s, Burgers <= 5 s, Navier-Stokes <= 5 min,
CFD-1D <= 5 min, CFD-2D <= 20 min; ``--quick`` timings are scaled by 10 for the verdict.

Usage::

    python benchmarks/bench_datasets.py           # 1000 samples a case (several minutes on 2 cores)
    python benchmarks/bench_datasets.py --quick   # 100 samples a case, a smoke test
    python benchmarks/bench_datasets.py --only darcy burgers --json results.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from sklearn_amfno.datasets import (
    make_burgers,
    make_cfd_1d,
    make_cfd_2d,
    make_darcy,
    make_navier_stokes,
)

# name -> (description, target seconds for 1000 samples, callable(n_samples))
CASES = {
    "darcy": (
        "Darcy 64x64 (FD + sparse LU), n_jobs=1",
        10.0,
        lambda n: make_darcy(n, 64, max_wavenumber=63, random_state=0),
    ),
    "darcy_2threads": (
        "Darcy 64x64, n_jobs=2",
        10.0,
        lambda n: make_darcy(n, 64, max_wavenumber=63, n_jobs=2, random_state=0),
    ),
    "burgers": (
        "Burgers 1024 points, nu=0.1, T=1 (Cole-Hopf)",
        5.0,
        lambda n: make_burgers(n, 1024, viscosity=0.1, time=1.0, method="cole_hopf", random_state=0),
    ),
    "navier_stokes": (
        "Navier-Stokes 64x64, nu=1e-3, T=20 (10 in + 10 out), single precision",
        300.0,
        lambda n: make_navier_stokes(
            n,
            64,
            viscosity=1e-3,
            n_steps_in=10,
            n_steps_out=10,
            record_interval=1.0,
            precision="single",
            random_state=0,
        ),
    ),
    "cfd_1d": (
        "CFD-1D 256 cells, 11 frames (T=0.5)",
        300.0,
        lambda n: make_cfd_1d(
            n, 256, n_steps_in=10, n_steps_out=1, record_interval=0.05, batch_size=16, random_state=0
        ),
    ),
    "cfd_2d": (
        "CFD-2D 64x64, 21 frames (T=1), n_jobs=-1",
        1200.0,
        lambda n: make_cfd_2d(
            n,
            64,
            n_steps_in=10,
            n_steps_out=11,
            record_interval=0.05,
            batch_size=4,
            n_jobs=-1,
            random_state=0,
        ),
    ),
    "cfd_2d_1proc": (
        "CFD-2D 64x64, 21 frames (T=1), n_jobs=1",
        1200.0,
        lambda n: make_cfd_2d(
            n,
            64,
            n_steps_in=10,
            n_steps_out=11,
            record_interval=0.05,
            batch_size=4,
            n_jobs=1,
            random_state=0,
        ),
    ),
}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 samples instead of 1000")
    parser.add_argument("--only", nargs="*", choices=sorted(CASES), help="subset of cases")
    parser.add_argument("--json", help="write the timings to this JSON file")
    args = parser.parse_args(argv)
    n = 100 if args.quick else 1000
    names = args.only or list(CASES)
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"numpy {np.__version__}; n_samples={n}"
    )
    print("# wall = elapsed s; cpu = process CPU s (all threads), less sensitive to other jobs")
    print("# on the machine; load = 1-min load average after the case")
    print(f"{'case':<15} {'wall':>7} {'cpu':>7} {'load':>5} {'target':>7}  shapes / description")
    results = {}
    for name in names:
        desc, target, fn = CASES[name]
        t0, c0 = time.perf_counter(), time.process_time()
        X, y = fn(n)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        # Targets are for 1000 samples; --quick runs are scaled up for the verdict.
        ok = "ok" if dt * 1000 / n <= target else "SLOW"
        print(
            f"{name:<15} {dt:7.2f} {cpu:7.2f} {load:5.1f} {target:6.0f}s  {ok:4} "
            f"X{X.shape} y{y.shape} - {desc}",
            flush=True,
        )
        assert np.all(np.isfinite(X)) and np.all(np.isfinite(y))
        results[name] = {
            "n_samples": n,
            "seconds": dt,
            "cpu_seconds": cpu,
            "load_average": load,
            "target_seconds_per_1000": target,
            "X_shape": list(X.shape),
            "y_shape": list(y.shape),
        }
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return results


if __name__ == "__main__":
    main()
