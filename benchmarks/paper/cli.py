"""The AM-FNO paper's tables (Xiao et al., NeurIPS 2024), re-run with this package at reduced sizes.

The command line, ``python -m benchmarks.paper [options]`` (``--help``); the package's docstring
describes the tables, presets and outputs. Also the entry of the worker processes
(``--fit-worker``, ``--cost-worker``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from .ablation import table_ablation
from .accuracy import table_accuracy
from .cost import cost_worker, table_cost
from .estimate import estimate
from .fitting import Budget
from .formatting import TableOutput
from .output import json_default, stamp, write_outputs
from .prefetch import fit_worker, prefetch
from .presets import ROWS, SIZES, TABLE_TITLES, TABLES
from .problems import PROBLEMS
from .run import Run
from .spectral import table_spectral
from .superres import table_superres


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line's options (``--threads`` defaults to the CPUs divided among the jobs)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.paper",
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    preset = parser.add_mutually_exclusive_group()
    preset.add_argument("--quick", action="store_true", help="every table and row, tiny, one seed (minutes)")
    preset.add_argument("--smoke", action="store_true", help="smaller still: the test suite's run (seconds)")
    parser.add_argument("--out-dir", default="benchmarks/results", help="where the .md, .csv and .json go")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=TABLES,
        default=None,
        metavar="TABLE",
        help=f"run only these tables ({', '.join(TABLES)})",
    )
    parser.add_argument(
        "--rows",
        nargs="+",
        choices=list(ROWS),
        default=None,
        metavar="LABEL",
        help="run only these rows (labels as in Table 1)",
    )
    parser.add_argument(
        "--seeds", nargs="+", type=int, default=None, help="default: 0 1 2 (full), 0 (--quick)"
    )
    parser.add_argument(
        "--problems",
        nargs="+",
        choices=list(PROBLEMS),
        default=None,
        metavar="KEY",
        help="the accuracy table's columns, e.g. --problems airfoil pipe (output paper_airfoil_pipe.*)",
    )
    parser.add_argument("--device", default="auto", help="estimators' device (auto: CUDA if present)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads per process (default: the CPUs divided among the --jobs processes)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="fit in this many worker processes at once (the cost table still runs its models one "
        "by one, after the other fits); 2 with --threads 1 is about twice as fast on 2 cores",
    )
    parser.add_argument(
        "--inject-failure",
        nargs="+",
        choices=list(ROWS),
        default=[],
        metavar="LABEL",
        help="make these rows' fits raise (width=0): checks that failures are recorded, not fatal",
    )
    parser.add_argument(
        "--estimate",
        action="store_true",
        help="print the preset's projected wall time (2-epoch fits on a few samples) and exit",
    )
    parser.add_argument("--cost-worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--fit-worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be a positive number of processes, got {args.jobs}")
    if args.threads is None:
        args.threads = max(1, (os.cpu_count() or 1) // args.jobs)
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Path]:
    """Run the selected tables and write their files; the paths written (none for ``--estimate``
    and the workers)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.cost_worker is not None:
        print(json.dumps(cost_worker(json.loads(args.cost_worker)), default=json_default), flush=True)
        return {}
    if args.fit_worker is not None:
        fit_worker(json.loads(args.fit_worker))
        return {}

    import torch

    torch.set_num_threads(args.threads)
    preset = "smoke" if args.smoke else "quick" if args.quick else "full"
    stem = {"full": "paper", "quick": "paper_quick", "smoke": "paper_smoke"}[preset]
    if args.problems is not None and set(args.problems) != set(PROBLEMS):
        stem += "_" + "_".join(k for k in PROBLEMS if k in args.problems)  # never overwrites the whole run
    sizes = json.loads(json.dumps(SIZES[preset]))
    args.seeds = args.seeds if args.seeds is not None else sizes["seeds"]
    sizes["seeds"] = args.seeds
    budget = Budget(
        sizes["epochs"], sizes["batch_size"], sizes["width"], args.device, frozenset(args.inject_failure)
    )
    rows = [label for label in ROWS if args.rows is None or label in args.rows]
    run = Run(sizes, list(args.seeds), budget, rows, args.problems or ())
    info = stamp(args, argv, budget)
    info["preset"] = preset
    print(
        f"benchmarks.paper ({preset}): seeds {args.seeds}, {args.threads} threads, "
        f"device {info['machine']['device']}"
    )

    if args.estimate:
        estimate(run, args)
        return {}
    t_start = time.perf_counter()
    selected = [name for name in TABLES if args.only is None or name in args.only]
    if args.jobs > 1:
        print(f"fitting in {args.jobs} worker processes ...", flush=True)
        prefetch(run, selected, args.jobs, args.threads)
        print(f"  ({time.perf_counter() - t_start:.1f} s)", flush=True)
    functions: dict[str, Callable[[], TableOutput]] = {
        "accuracy": lambda: table_accuracy(run),
        "cost": lambda: table_cost(run, args),
        "superres": lambda: table_superres(run),
        "spectral": lambda: table_spectral(run),
        "ablation": lambda: table_ablation(run),
    }
    tables = []
    for name in TABLES:
        if args.only is not None and name not in args.only:
            continue
        print(f"{TABLE_TITLES[name]} ...", flush=True)
        t0 = time.perf_counter()
        try:
            out = functions[name]()
        except Exception as exc:  # a table that cannot run is reported, the others still run
            traceback.print_exc()
            out = TableOutput(
                name, f"failed: {type(exc).__name__}: {exc}", ["failed"], [[type(exc).__name__]]
            )
        out.wall_s = time.perf_counter() - t0
        tables.append(out)
        print(f"  ({out.wall_s:.1f} s)", flush=True)

    info["total_s"] = time.perf_counter() - t_start
    info["machine"]["load_average_end"] = (
        [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
    )
    info["data_s"] = ", ".join(f"{k} {v:.1f} s" for k, v in run.data_s.items()) or "none"
    out_dir = Path(args.out_dir)
    md_path = write_outputs(out_dir, stem, info, tables, sizes)
    print(f"wrote {md_path} and {stem}.<table>.csv, {stem}.json ({info['total_s']:.0f} s)")
    paths = {"md": md_path, "json": out_dir / f"{stem}.json"}
    paths.update({t.name: out_dir / f"{stem}.{t.name}.csv" for t in tables})
    return paths
