"""CPU cost and accuracy of ``precision="bf16"``: the fused bf16 FFN against float32 and autocast.

Three parts, each a median over rounds in which the compared variants alternate (so a slow
spell of the machine hits them all):

(a) one FFN (``PointwiseMLP(32, 128, 32)``) forward + backward, on a 2-D 64 x 64 grid, batch 32,
    and a 1-D grid of 1024 points, batch 16: float32, bf16 autocast unfused (two bmm and a GELU
    under autocast, the path before the fused FFN) and bf16 fused (:func:`fused_pointwise_mlp`,
    what ``PointwiseMLP`` runs under CPU bf16 autocast inside ``fused_ffn()``);
(b) a full training step (forward, ``RelativeL2Loss``, backward, AdamW) of ``AMFNO(1, 1, (64,
    64))`` in float32, in bf16 with the package's ``autocast_forward`` and ``fused_ffn()``, the
    same with the FFN unfused (the default), and FNO+ (``FNO(1, 1, (64, 64), n_modes=None)``)
    in float32, batch 32;
(c) accuracy: ``AMFNORegressor`` fp32 against bf16 (and bf16 with the fused FFN) on
    ``make_darcy(160, 32)`` (128 train / 32 test), 15 epochs, 3 seeds, test relative L2 error,
    mean and standard deviation.

    python benchmarks/bench_precision.py [--threads 2] [--parts abc] \\
        [--out benchmarks/results/bench_precision.json]

Part (b) is measured twice: the four models alternating in one process, and each model alone in
its own process (``--step-repeats`` processes each, alternating), since the unfused FFN's cost
depends on the state of the memory allocator (:func:`part_step`).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from fused_ffn import fused_ffn
from torch import nn

from sklearn_amfno import AMFNORegressor
from sklearn_amfno._precision import autocast_forward
from sklearn_amfno.datasets import make_darcy
from sklearn_amfno.metrics import relative_l2_error
from sklearn_amfno.nn import AMFNO, FNO, RelativeL2Loss
from sklearn_amfno.nn.layers.pointwise import PointwiseMLP


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def unfused(mlp: PointwiseMLP, x: torch.Tensor) -> torch.Tensor:
    """The FFN as two pointwise linears and a GELU, whatever autocast says."""
    return mlp.fc2(nn.functional.gelu(mlp.fc1(x)))


@contextlib.contextmanager
def ffn_unfused() -> Iterator[None]:
    """Make every ``PointwiseMLP`` skip the fused path (the code before it), for comparison."""
    forward = PointwiseMLP.forward
    PointwiseMLP.forward = unfused  # type: ignore[method-assign]
    try:
        yield
    finally:
        PointwiseMLP.forward = forward  # type: ignore[method-assign]


def alternate(variants: dict[str, Callable[[], None]], rounds: int) -> dict[str, list[float]]:
    """ms per variant and round over ``rounds`` rounds after one warm-up round, variants alternating."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for r in range(rounds + 1):
        for name, fn in variants.items():
            start = time.perf_counter()
            fn()
            if r:
                times[name].append(round((time.perf_counter() - start) * 1e3, 2))
    return times


def summarise(times: dict[str, list[float]], ratios: list[tuple[str, str]]) -> dict:
    """Median ms per variant, and per ratio ``a / b`` the median over rounds of the round's ratio.

    A ratio within a round compares variants run seconds apart, so it is less affected than a
    ratio of medians by the slow spells of a shared machine.
    """
    out: dict = {"median_ms": {name: round(statistics.median(t), 2) for name, t in times.items()}}
    out["ratio_median_over_rounds"] = {
        f"{a}/{b}": round(statistics.median(x / y for x, y in zip(times[a], times[b])), 3) for a, b in ratios
    }
    out["ms_per_round"] = times
    return out


def part_ffn(rounds: int) -> dict:
    torch.manual_seed(0)
    mlp = PointwiseMLP(32, 128, 32)
    cases = {"2d_64x64_batch32": (32, 32, 64, 64), "1d_1024_batch16": (16, 32, 1024)}
    out = {}
    for case, shape in cases.items():
        x = torch.randn(*shape, requires_grad=True)
        grads = {dt: torch.randn(shape, dtype=dt) for dt in (torch.float32, torch.bfloat16)}

        def step(kind: str, x=x, grads=grads) -> None:
            if kind == "fp32":
                y = unfused(mlp, x)
            else:
                with fused_ffn(), torch.autocast("cpu", dtype=torch.bfloat16):
                    y = mlp(x) if kind == "bf16_fused" else unfused(mlp, x)
            y.backward(grads[y.dtype])
            x.grad = None
            mlp.zero_grad(set_to_none=True)

        kinds = ("fp32", "bf16_autocast_unfused", "bf16_fused")
        times = alternate({k: (lambda k=k: step(k)) for k in kinds}, rounds)
        out[case] = summarise(
            times,
            [
                ("bf16_fused", "bf16_autocast_unfused"),
                ("bf16_fused", "fp32"),
                ("bf16_autocast_unfused", "fp32"),
            ],
        )
        print(case, out[case]["median_ms"], out[case]["ratio_median_over_rounds"], flush=True)
    return out


STEP_RATIOS = [
    ("amfno_bf16_fused", "fno_plus_fp32"),
    ("amfno_bf16_unfused", "fno_plus_fp32"),
    ("amfno_fp32", "fno_plus_fp32"),
    ("amfno_bf16_fused", "amfno_bf16_unfused"),
    ("amfno_bf16_fused", "amfno_fp32"),
]
STEP_VARIANTS = ("amfno_fp32", "amfno_bf16_fused", "amfno_bf16_unfused", "fno_plus_fp32")


def make_step(variant: str) -> Callable[[], None]:
    """One training step (forward, ``RelativeL2Loss``, backward, AdamW) of a fresh model, batch 32."""
    torch.manual_seed(0)
    x, y = torch.randn(32, 1, 64, 64), torch.randn(32, 1, 64, 64)
    loss_fn = RelativeL2Loss()
    model = FNO(1, 1, (64, 64), n_modes=None) if variant.startswith("fno") else AMFNO(1, 1, (64, 64))
    precision = "bf16" if "bf16" in variant else "fp32"
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with contextlib.ExitStack() as stack:
            if variant.endswith("unfused"):
                stack.enter_context(ffn_unfused())
            else:
                stack.enter_context(fused_ffn())
            stack.enter_context(autocast_forward(model, "cpu", precision))
            pred = model(x)
        loss_fn(pred.float(), y).backward()
        opt.step()

    return step


def part_step(rounds: int, threads: int, repeats: int) -> dict:
    """Training steps, models alternating in one process; then each model alone in a process.

    Both, because the unfused bf16 FFN's cost depends on the allocator's state: its hidden
    activations are 32 MiB tensors that glibc serves from fresh ``mmap`` pages (page faults and
    zeroing) unless earlier frees have left it a heap to reuse, as other models in the same
    process can. An estimator trains one model per process, the second setting.
    """
    out = {
        "alternating_in_one_process": summarise(
            alternate({v: make_step(v) for v in STEP_VARIANTS}, rounds), STEP_RATIOS
        )
    }
    print("step (one process)", out["alternating_in_one_process"]["median_ms"], flush=True)
    print(out["alternating_in_one_process"]["ratio_median_over_rounds"], flush=True)
    times: dict[str, list[float]] = {v: [] for v in STEP_VARIANTS}
    for _ in range(repeats):  # variants alternate between processes too
        for variant in STEP_VARIANTS:
            cmd = [sys.executable, __file__, "--one-step", variant, "--step-rounds", str(rounds)]
            run = subprocess.run(
                [*cmd, "--threads", str(threads)], check=True, capture_output=True, text=True
            )
            times[variant] += json.loads(run.stdout.strip().splitlines()[-1])
    medians = {v: round(statistics.median(t), 2) for v, t in times.items()}
    out["one_process_per_model"] = {
        "median_ms": medians,
        "ratio_of_medians": {f"{a}/{b}": round(medians[a] / medians[b], 3) for a, b in STEP_RATIOS},
        "ms_per_step": times,
    }
    print("step (process per model)", medians, out["one_process_per_model"]["ratio_of_medians"], flush=True)
    return out


def part_accuracy(seeds: int, epochs: int) -> dict:
    """Test relative L2 error of ``AMFNORegressor`` in fp32, bf16 (unfused FFN) and bf16 fused."""
    X, y = make_darcy(160, 32, random_state=0)
    X_train, y_train, X_test, y_test = X[:128], y[:128], X[128:], y[128:]
    variants = {"fp32": ("fp32", False), "bf16": ("bf16", False), "bf16_fused_ffn": ("bf16", True)}
    errors: dict[str, list[float]] = {v: [] for v in variants}
    fit_s: dict[str, list[float]] = {v: [] for v in variants}
    for seed in range(seeds):
        for name, (precision, fused) in variants.items():
            est = AMFNORegressor(max_epochs=epochs, precision=precision, random_state=seed, device="cpu")
            with fused_ffn(fused):
                start = time.perf_counter()
                est.fit(X_train, y_train)
                fit_s[name].append(round(time.perf_counter() - start, 2))
                err = float(relative_l2_error(y_test, est.predict(X_test)))
            errors[name].append(err)
            print("accuracy", name, seed, round(err, 5), fit_s[name][-1], "s", flush=True)
    return {
        p: {
            "test_relative_l2_mean": float(np.mean(e)),
            "test_relative_l2_std": float(np.std(e)),
            "per_seed": e,
            "fit_seconds": fit_s[p],
        }
        for p, e in errors.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--parts", default="abc", help="which of a (FFN), b (step), c (accuracy)")
    parser.add_argument("--ffn-rounds", type=int, default=15)
    parser.add_argument("--step-rounds", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--step-repeats", type=int, default=2, help="processes per model in part b")
    parser.add_argument("--out", default="benchmarks/results/bench_precision.json")
    parser.add_argument("--one-step", help=argparse.SUPPRESS)  # internal: part b, one model alone
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.one_step:
        times = alternate({args.one_step: make_step(args.one_step)}, args.step_rounds)[args.one_step]
        print(json.dumps(times))
        return
    result: dict = {
        "stamp": {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "torch": torch.__version__,
            "cpu": cpu_model(),
            "threads": args.threads,
            "command": " ".join(["python", *sys.argv]),
        }
    }
    out = Path(args.out)
    if out.exists():  # parts run separately fill one file
        result = {**json.loads(out.read_text()), "stamp": result["stamp"]}
    out.parent.mkdir(parents=True, exist_ok=True)

    # Runs with another thread count go to their own keys of the same file.
    sfx = "" if args.threads == 2 else f"_threads{args.threads}"

    def save() -> None:  # after each part, so a stopped run keeps what it measured
        out.write_text(json.dumps(result, indent=2) + "\n")

    if "a" in args.parts:
        result["ffn_forward_backward_ms" + sfx] = part_ffn(args.ffn_rounds)
        result["ffn_stamp" + sfx] = result["stamp"]
        save()
    if "b" in args.parts:
        result["training_step_ms" + sfx] = part_step(args.step_rounds, args.threads, args.step_repeats)
        result["step_stamp" + sfx] = result["stamp"]
        save()
    if "c" in args.parts:
        result["accuracy_darcy32" + sfx] = part_accuracy(args.seeds, args.epochs)
        result["accuracy_stamp" + sfx] = result["stamp"]
        save()


if __name__ == "__main__":
    main()
