"""Does ``torch.compile`` speed up an AM-FNO training step on CPU? (issue 8's speed candidates)

The torch modules alone, 64 x 64, width 32, 4 layers, batch 32, relative L2 loss, AdamW: eager
AM-FNO, ``torch.compile``-d AM-FNO (inductor; needs a C++ compiler) and eager FNO+ take turns
for ``--steps`` rounds after the compiled model's first (compiling) step; median step times.

    python benchmarks/bench_compile.py [--steps 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from sklearn_amfno.nn import AMFNO, FNO, RelativeL2Loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x, y = torch.randn(32, 1, 64, 64), torch.randn(32, 1, 64, 64)
    models = {
        "AM-FNO (eager)": AMFNO(1, 1, (64, 64)),
        "AM-FNO (torch.compile)": torch.compile(AMFNO(1, 1, (64, 64))),
        "FNO+ (eager)": FNO(1, 1, (64, 64), n_modes=None),
    }
    loss_fn = RelativeL2Loss()
    optimizers = {k: torch.optim.AdamW(m.parameters(), lr=1e-3) for k, m in models.items()}
    start = time.perf_counter()
    loss_fn(models["AM-FNO (torch.compile)"](x), y).backward()
    print(f"compile + first step: {time.perf_counter() - start:.1f} s")
    times: dict[str, list[float]] = {k: [] for k in models}
    for round_ in range(args.steps + 1):
        for name, model in models.items():
            start = time.perf_counter()
            optimizers[name].zero_grad()
            loss_fn(model(x), y).backward()
            optimizers[name].step()
            if round_:
                times[name].append(time.perf_counter() - start)
    reference = statistics.median(times["FNO+ (eager)"])
    for name, t in times.items():
        step = statistics.median(t)
        print(f"{name:24s} median step {step:.3f} s  ({step / reference:.2f}x FNO+)")


if __name__ == "__main__":
    main()
