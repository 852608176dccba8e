"""Epoch time with and without the reuse of freed memory (``sklearn_amfno._allocator``), CPU.

    python benchmarks/bench_allocator.py [--repeats 3] [--threads 2] [--epochs 3]
        [--out benchmarks/results/bench_allocator.json]

Each (model, setting) is an estimator fit in a process of its own (the allocator's settings are
per process): ``SKLEARN_AMFNO_REUSE_MEMORY=1`` (the default) or ``0``, alternating, ``--repeats``
rounds; random 64 x 64 fields, 128 samples, batch 32, width 32, 4 layers, the estimators'
defaults otherwise; the median epoch after the first. Models: AM-FNO (MLP), FNO (12 modes), FNO+
(every mode). The ratios are medians over the rounds of (on / off) in the same round.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone

MODELS = {
    "AM-FNO (MLP)": ("AMFNORegressor", {}),
    "FNO": ("FNORegressor", {"n_modes": 12}),
    "FNO+": ("FNORegressor", {"n_modes": None}),
}

WORKER = """
import json, statistics, sys, numpy as np, torch, sklearn_amfno
cls, params, epochs, threads = json.loads(sys.argv[1])
torch.set_num_threads(threads)
rng = np.random.default_rng(0)
X, y = rng.standard_normal((128, 64, 64)), rng.standard_normal((128, 64, 64))
est = getattr(sklearn_amfno, cls)(**params, max_epochs=epochs, batch_size=32, random_state=0)
est.fit(X, y)
print(json.dumps(statistics.median(est.net_.history[1:, "dur"])))
"""


def epoch_seconds(cls: str, params: dict, flag: str, epochs: int, threads: int) -> float:
    env = {**os.environ, "SKLEARN_AMFNO_REUSE_MEMORY": flag, "OMP_NUM_THREADS": str(threads)}
    out = subprocess.run(
        [sys.executable, "-c", WORKER, json.dumps([cls, params, epochs, threads])],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/bench_allocator.json")
    args = parser.parse_args()
    times: dict[str, dict[str, list[float]]] = {m: {"on": [], "off": []} for m in MODELS}
    t0 = time.perf_counter()
    for r in range(args.repeats):
        for label, (cls, params) in MODELS.items():
            # Alternate which setting goes first, so that a drift in load hits both alike.
            for setting in ("on", "off") if r % 2 == 0 else ("off", "on"):
                flag = "1" if setting == "on" else "0"
                times[label][setting].append(epoch_seconds(cls, params, flag, args.epochs, args.threads))
            print(label, r, {k: round(v[-1], 3) for k, v in times[label].items()}, flush=True)
    result = {
        "command": "python benchmarks/bench_allocator.py "
        + " ".join(f"--{k} {v}" for k, v in vars(args).items() if k != "out"),
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.platform()}, {os.cpu_count()} CPUs, libc {' '.join(platform.libc_ver())}",
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "wall_s": round(time.perf_counter() - t0, 1),
        "epoch_s": {},
    }
    for label, t in times.items():
        ratios = [a / b for a, b in zip(t["on"], t["off"])]
        result["epoch_s"][label] = {
            "reuse_on": round(statistics.median(t["on"]), 3),
            "reuse_off": round(statistics.median(t["off"]), 3),
            "on_over_off": round(statistics.median(ratios), 3),
            "rounds": {k: [round(x, 3) for x in v] for k, v in t.items()},
        }
    a = result["epoch_s"]
    for setting in ("reuse_on", "reuse_off"):
        result[f"amfno_over_fno_plus_{setting}"] = round(a["AM-FNO (MLP)"][setting] / a["FNO+"][setting], 3)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps({k: v for k, v in result.items() if k != "epoch_s"}, indent=1))
    for label, row in a.items():
        print(
            f"{label:14s} on {row['reuse_on']:.3f} s  off {row['reuse_off']:.3f} s  "
            f"on/off {row['on_over_off']:.3f}"
        )


if __name__ == "__main__":
    main()
