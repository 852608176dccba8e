"""Pushforward in the last epochs only (a curriculum) against teacher forcing, Navier-Stokes 10 -> 10.

The question (issue 18): ``benchmarks/bench_rollout.py`` found that pushforward from the first
epoch loses to teacher forcing at equal fit time (1.24x its mean rollout error), because half
of its updates train the step on its own, still poor, predictions and its one-step error ends
1.6x teacher forcing's. Does switching pushforward on only for the last epochs, once the
one-step model is good, keep teacher forcing's one-step error and add pushforward's slower
error growth?

Setting: ``bench_rollout.py``'s default (``make_navier_stokes(200, 64, viscosity=1e-4,
n_steps_in=10, n_steps_out=10, random_state=0)`` subsampled to 32 x 32, 160 training and 40
test trajectories, ``FNORegressor(n_modes=12, width=20, n_layers=4, batch_size=20)``, one
thread). Modes (``--modes``, comma-separated ``KIND:EPOCHS:START:NOISE``): ``tf:20:0:0`` is
teacher forcing for 20 epochs; ``pf:19:14:0`` is ``training="pushforward"`` (``rollout_steps=2``)
for 19 epochs whose draws of ``k`` are held at 1 (teacher forcing) before epoch 14 (a skorch
callback sets a flag the benchmark's ``Pushforward.draw_steps`` reads; the package has no such
option). 19 epochs with the last 6 pushforward ones cost about the 20 teacher-forced epochs (a
pushforward update costs 1.19-1.26x a teacher-forced one, ``docs/time_dependent.md``).

    OMP_NUM_THREADS=1 python -m benchmarks.pushforward_curriculum \\
        [--modes tf:20:0:0,pf:19:14:0,pf:19:14:0.03] [--seeds 0,1,2] [--cache DIR] [--out JSON]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time

import torch
from skorch.callbacks import Callback

import sklearn_amfno
from sklearn_amfno import AutoregressiveRegressor, FNORegressor
from sklearn_amfno.datasets import make_navier_stokes
from sklearn_amfno.metrics import rollout_error
from sklearn_amfno.nn import Pushforward


class _HeldPushforward(Pushforward):
    """``Pushforward`` whose draws are ``k = 1`` (teacher forcing) while ``active`` is false."""

    active = True

    def draw_steps(self) -> int:
        return super().draw_steps() if self.active else 1


class PushforwardFrom(Callback):
    """Switch pushforward on from epoch ``start`` (1-based; earlier epochs teacher-force)."""

    def __init__(self, start: int) -> None:
        self.start = start

    def on_epoch_begin(self, net, **kwargs) -> None:
        for module in net.module_.modules():
            if isinstance(module, Pushforward):
                module.__class__ = _HeldPushforward
                module.active = len(net.history) >= self.start


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--modes", default="tf:20:0:0,pf:19:14:0,pf:19:14:0.03")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--cache", default=None, help="joblib cache folder for the generated data")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    X64, y64 = make_navier_stokes(
        200, 64, viscosity=1e-4, n_steps_in=10, n_steps_out=10, random_state=0, memory=args.cache
    )
    X, y = X64[:, ::2, ::2], y64[:, ::2, ::2]
    train, test = slice(0, 160), slice(160, None)
    runs = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for mode in args.modes.split(","):
            kind, epochs, start, noise = mode.split(":")
            pushforward = kind == "pf"
            inner = FNORegressor(
                n_modes=12,
                width=20,
                n_layers=4,
                max_epochs=int(epochs),
                batch_size=20,
                random_state=seed,
                callbacks=[("pushforward_from", PushforwardFrom(int(start)))] if pushforward else None,
            )
            est = AutoregressiveRegressor(
                inner,
                n_fields=1,
                training="pushforward" if pushforward else "one_step",
                rollout_steps=2 if pushforward else None,
                input_noise=float(noise),
            )
            t0, cpu = time.perf_counter(), time.process_time()
            est.fit(X[train], y[train])
            fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - cpu
            errors = rollout_error(y[test], est.predict(X[test]))
            run = {
                "mode": mode,
                "seed": seed,
                "mean": round(float(errors.mean()), 4),
                "per_step": [round(float(e), 4) for e in errors],
                "fit_s": round(fit_s, 1),
                "fit_cpu_s": round(fit_cpu, 1),
            }
            runs.append(run)
            print(json.dumps(run), flush=True)
    summary = {}
    for mode in args.modes.split(","):
        means = {r["seed"]: r["mean"] for r in runs if r["mode"] == mode}
        reference = {r["seed"]: r["mean"] for r in runs if r["mode"] == "tf:20:0:0"}
        row = {"mean": round(statistics.fmean(means.values()), 4)}
        if reference and mode != "tf:20:0:0":
            row["vs_teacher_forcing"] = round(
                statistics.fmean(means[s] / reference[s] for s in means if s in reference), 3
            )
        summary[mode] = row
    print(json.dumps(summary), flush=True)
    if args.out:
        record = {
            "command": "python -m benchmarks.pushforward_curriculum " + " ".join(sys.argv[1:]),
            "machine": f"{platform.machine()}, 1 torch thread",
            "versions": {"sklearn_amfno": sklearn_amfno.__version__, "torch": torch.__version__},
            "runs": runs,
            "summary": summary,
        }
        with open(args.out, "w") as fh:
            json.dump(record, fh, indent=1)


if __name__ == "__main__":
    main()
