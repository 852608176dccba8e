"""Where an AM-FNO training step spends its time, next to FNO+ (torch.profiler, CPU).

Setting: the training benchmark's (64 x 64 grid, width 32, 4 layers, batch 32, float32, random
inputs, relative L2 loss), one thread by default. Each model's torch module (``sklearn_amfno.nn``)
runs ``--warmup`` untimed steps, then ``--steps`` profiled forward + backward + AdamW steps; the
table lists the operators by self CPU time, and a summary groups them (FFT, spectral contraction,
pointwise maps, kernel network, the rest), with the median step time of both models and their
ratio measured in the same run.

    python benchmarks/profile_step.py [--steps 5] [--threads 1] [--rows 15]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.profiler import ProfilerActivity, profile

from sklearn_amfno.nn import AMFNO, FNO, RelativeL2Loss


def step_time(model, x, y, steps: int) -> list[float]:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = RelativeL2Loss()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rows", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x, y = torch.randn(32, 1, 64, 64), torch.randn(32, 1, 64, 64)
    models = {
        "AM-FNO (mlp)": AMFNO(1, 1, (64, 64)),
        "FNO+ (all modes)": FNO(1, 1, (64, 64), n_modes=None),
    }
    medians = {}
    for name, model in models.items():
        step_time(model, x, y, args.warmup)
        medians[name] = statistics.median(step_time(model, x, y, args.steps))
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            step_time(model, x, y, args.steps)
        events = prof.key_averages()
        total = sum(e.self_cpu_time_total for e in events)
        print(f"\n== {name}: median step {medians[name]:.3f} s ({args.threads} thread(s))")
        print(events.table(sort_by="self_cpu_time_total", row_limit=args.rows))
        fft = sum(e.self_cpu_time_total for e in events if "fft" in e.key)
        mm = sum(
            e.self_cpu_time_total
            for e in events
            if e.key in ("aten::bmm", "aten::baddbmm", "aten::mm", "aten::addmm")
        )
        gelu = sum(e.self_cpu_time_total for e in events if "gelu" in e.key)
        print(
            f"share of self CPU time: FFTs {fft / total:.0%}, matrix products (bmm/mm: contraction, "
            f"pointwise maps, kernel net) {mm / total:.0%}, GELU {gelu / total:.0%}, "
            f"other {(total - fft - mm - gelu) / total:.0%}"
        )
    a, f = medians["AM-FNO (mlp)"], medians["FNO+ (all modes)"]
    print(f"\nAM-FNO / FNO+ step time: {a / f:.2f}")


if __name__ == "__main__":
    main()
