"""AM-FNO next to neuraloperator's ``FNO``: training throughput and accuracy, ratios from one run.

Needs the optional ``bench`` extra (``pip install "sklearn_amfno[bench]"``, i.e. neuraloperator);
the package itself never imports it.

Throughput: the torch modules alone (``sklearn_amfno.nn.AMFNO``, ``FNO`` with 12 modes and with all
modes, neuraloperator's ``FNO`` with ``n_modes=(16, 16)`` (its Darcy examples) and with every mode
of the grid), width 32, 4 layers, 64 x 64, batch 32, random data, relative L2 loss, AdamW; the
models take turns, one step each per round, so that load on a shared machine hits them alike;
median step time over ``--steps`` rounds after one warm-up round, ratios to AM-FNO.

Accuracy: the same estimator loop for every row (skorch, AdamW lr 1e-2 with cosine schedule,
batch 32, relative L2 loss, input and target scaling), on ``make_darcy(300, 32)`` (250 train / 50
test) for ``--epochs`` epochs; neuraloperator's ``FNO`` is wrapped as an estimator module with the
same scaling buffers, width 32, 4 layers, its default lifting/projection/channel-MLP settings.

    python benchmarks/bench_neuralop.py [--steps 6] [--epochs 30] [--threads 1] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import numpy as np
import torch
from torch import nn

import sklearn_amfno
from sklearn_amfno import AMFNORegressor, FNORegressor
from sklearn_amfno.datasets import make_darcy
from sklearn_amfno.metrics import relative_l2_error
from sklearn_amfno.nn import AMFNO, FNO, OperatorNetwork, RelativeL2Loss


class NeuralopModule(nn.Module):
    """neuraloperator's FNO behind the estimators' scaling buffers (the backbone's interface)."""

    def __init__(self, in_channels, out_channels, grid_shape, *, width, n_layers, n_modes, **_):
        super().__init__()
        from neuralop.models import FNO as NeuralopFNO

        n_dim = len(grid_shape)
        modes = tuple(grid_shape) if n_modes is None else (n_modes,) * n_dim
        self.fno = NeuralopFNO(
            n_modes=modes,
            in_channels=in_channels,
            out_channels=out_channels,
            hidden_channels=width,
            n_layers=n_layers,
        )
        self.activation_channels = 4 * width
        shape = (1, -1) + (1,) * n_dim
        for name, size in (("x", in_channels), ("y", out_channels)):
            self.register_buffer(f"{name}_mean", torch.zeros(size).view(shape))
            self.register_buffer(f"{name}_scale", torch.ones(size).view(shape))

    set_scaling = OperatorNetwork.set_scaling

    def forward(self, x):
        return self.fno((x - self.x_mean) / self.x_scale) * self.y_scale + self.y_mean


class NeuralopFNORegressor(FNORegressor):
    """``FNORegressor``'s loop and defaults around neuraloperator's ``FNO`` (benchmark only).

    ``n_modes`` here is neuraloperator's convention: modes per axis counted over both signs.
    """

    def _build_module(self, fitted, module_kwargs):
        return NeuralopModule(
            fitted["n_channels_in_"],
            fitted["n_outputs_"],
            fitted["grid_shape_"],
            width=self.width,
            n_layers=self.n_layers,
            n_modes=self.n_modes,
        )


def throughput(steps: int, resolution: int) -> dict:
    from neuralop.models import FNO as NeuralopFNO

    torch.manual_seed(0)
    grid = (resolution, resolution)
    x, y = torch.randn(32, 1, *grid), torch.randn(32, 1, *grid)
    models = {
        "AM-FNO (mlp)": AMFNO(1, 1, grid),
        "FNO (12 modes)": FNO(1, 1, grid, n_modes=12),
        "FNO+ (all modes)": FNO(1, 1, grid, n_modes=None),
        "neuralop FNO (16, 16)": NeuralopFNO(
            n_modes=(16, 16), in_channels=1, out_channels=1, hidden_channels=32
        ),
        "neuralop FNO (all modes)": NeuralopFNO(
            n_modes=grid, in_channels=1, out_channels=1, hidden_channels=32
        ),
    }
    loss_fn = RelativeL2Loss()
    optimizers = {k: torch.optim.AdamW(m.parameters(), lr=1e-3) for k, m in models.items()}
    times: dict[str, list[float]] = {k: [] for k in models}
    for round_ in range(steps + 1):
        for name, model in models.items():
            start = time.perf_counter()
            optimizers[name].zero_grad()
            loss_fn(model(x), y).backward()
            optimizers[name].step()
            if round_:
                times[name].append(time.perf_counter() - start)
    reference = statistics.median(times["AM-FNO (mlp)"])
    return {
        name: {
            "parameters": sum(p.numel() for p in models[name].parameters()),
            "step_s": statistics.median(t),
            "step_over_amfno": statistics.median(t) / reference,
        }
        for name, t in times.items()
    }


def accuracy(epochs: int) -> dict:
    X, y = make_darcy(300, 32, random_state=0)
    rows = {
        "AM-FNO (mlp)": AMFNORegressor(),
        "FNO (12 modes)": FNORegressor(n_modes=12),
        "neuralop FNO (16, 16)": NeuralopFNORegressor(n_modes=16),
        "neuralop FNO (all modes)": NeuralopFNORegressor(n_modes=None),
    }
    out = {}
    for name, est in rows.items():
        est.set_params(max_epochs=epochs, random_state=0, device="cpu")
        start = time.perf_counter()
        est.fit(X[:250], y[:250])
        out[name] = {
            "test_rel_l2": float(relative_l2_error(y[250:], est.predict(X[250:]))),
            "fit_s": time.perf_counter() - start,
            "epoch_s": statistics.median([row["dur"] for row in est.net_.history][1:] or [np.nan]),
        }
        print(name, out[name], flush=True)
    reference = out["AM-FNO (mlp)"]["test_rel_l2"]
    for row in out.values():
        row["error_over_amfno"] = row["test_rel_l2"] / reference
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--out", default="benchmarks/results/bench_neuralop.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import neuralop

    result = {
        "command": "python benchmarks/bench_neuralop.py "
        + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k not in ("out", "skip_accuracy")
        ),
        "machine": f"{platform.platform()}, {torch.get_num_threads()} torch threads",
        "load_average": list(np.round(__import__("os").getloadavg(), 2)),
        "versions": {
            "sklearn_amfno": sklearn_amfno.__version__,
            "neuraloperator": getattr(neuralop, "__version__", "?"),
            "torch": torch.__version__,
        },
        "throughput": throughput(args.steps, args.resolution),
    }
    for name, row in result["throughput"].items():
        print(
            f"{name:26s} {row['parameters']:>10,d} params  step {row['step_s']:.3f} s  "
            f"x{row['step_over_amfno']:.2f} of AM-FNO",
            flush=True,
        )
    if not args.skip_accuracy:
        result["accuracy"] = accuracy(args.epochs)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
