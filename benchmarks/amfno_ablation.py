"""Why AM-FNO trailed FNO, one factor at a time: test relative L2 error of AM-FNO variants.

Three generated problems, the settings of issue 8's first probes: ``burgers`` (``make_burgers(300,
128)``, 250 train / 50 test), ``darcy`` (``make_darcy(300, 32)``), ``ns`` (``make_navier_stokes(300,
64, viscosity=1e-4, n_steps_in=10, n_steps_out=10)`` subsampled to 32 x 32, frames as channels).
Every fit uses the estimator's defaults (width 32, 4 layers, AdamW with cosine schedule, lr 1e-2,
batch 32) except the variant's own settings, ``--epochs`` epochs (30), one torch thread.

A variant name joins factors with ``+``. Estimator factors: ``linear`` (the paper's ``k / k_ref``,
the default before this study), ``log`` (``frequency_map="log"``), ``nb32``, ``nb64`` (``n_basis``),
``hidden64``, ``hidden128`` (``kernel_hidden``), ``rank2``, ``rank4`` (``kernel_rank``), ``joint``
(``factorization``), ``fourier`` (``basis``), ``ffn1``, ``ffn2`` (``ffn_ratio``), ``lr3e-3``,
``pad`` (``domain_padding=0.125``). Diagnostic factors change the torch module after it is built
(they answer "what limits the kernel?", they are not estimator options): ``cap16`` (kernel zero
above ``|k| = 16``), ``scale0.1``, ``scale3`` (kernel output scaled at init), ``bypass`` (FNO's ``W
v`` added inside the block), ``linearnet`` (kernel network without hidden layer), ``dense12``,
``dense16``, ``denseall`` (FNO's stored per-mode weights in AM-FNO's block instead of the generated
kernel). Rows ``FNO`` (12 modes), ``FNO+`` (all modes) and ``FFNO`` are the baselines at their
defaults, ``FNO(pad)`` FNO with ``domain_padding=0.125``. Results append to ``--out`` as JSON lines;
``docs/paper_results.md`` summarises them.

    python benchmarks/amfno_ablation.py burgers linear log log+nb32 FNO [--epochs 30] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import torch
from torch import nn

from sklearn_amfno import AMFNORegressor, FFNORegressor, FNORegressor
from sklearn_amfno.datasets import make_burgers, make_darcy, make_navier_stokes
from sklearn_amfno.metrics import relative_l2_error
from sklearn_amfno.nn.layers import (
    AmortizedSpectralKernel,
    DenseSpectralKernel,
    PointwiseLinear,
    ResidualFFNBlock,
    SpectralConv,
    grid_wavenumbers,
    resolve_modes,
)


def load_problem(name: str, seed: int = 0):
    if name == "burgers":
        X, y = make_burgers(300, 128, random_state=seed)
        kw: dict = {}
    elif name == "darcy":
        X, y = make_darcy(300, 32, random_state=seed)
        kw = {}
    elif name == "ns":
        X, y = make_navier_stokes(300, 64, viscosity=1e-4, n_steps_in=10, n_steps_out=10, random_state=seed)
        X, y = X[:, ::2, ::2], y[:, ::2, ::2]
        kw = {"channel_axis": -1}
    else:
        raise ValueError(f"problem must be burgers, darcy or ns, got {name!r}")
    return X[:250], y[:250], X[250:], y[250:], kw


def _kernels(module: nn.Module) -> list[AmortizedSpectralKernel]:
    return [m for m in module.modules() if isinstance(m, AmortizedSpectralKernel)]


class _CappedKernel(nn.Module):
    """The wrapped kernel with the modes above ``|k| = limit`` dropped (a zero kernel there)."""

    def __init__(self, kernel: AmortizedSpectralKernel, limit: int) -> None:
        super().__init__()
        self.kernel, self.limit = kernel, limit
        self.in_channels, self.out_channels = kernel.in_channels, kernel.out_channels

    def forward(self, shape):
        weight, index = self.kernel(shape)
        wavenumbers = grid_wavenumbers(shape, weight.device)
        kept = [torch.nonzero(k[i].abs() <= self.limit).flatten() for k, i in zip(wavenumbers, index)]
        for d, keep in enumerate(kept):
            weight = weight.index_select(2 + d, keep)
        return weight, [i[keep] for i, keep in zip(index, kept)]


def cap_modes(limit: int) -> Callable[[nn.Module], None]:
    """Kernel set to zero above ``|k| = limit``: does using every mode slow convergence?"""

    def apply(module: nn.Module) -> None:
        for conv in module.modules():
            if isinstance(conv, SpectralConv) and isinstance(conv.kernel, AmortizedSpectralKernel):
                conv.kernel = _CappedKernel(conv.kernel, limit)

    return apply


def scale_kernel(factor: float) -> Callable[[nn.Module], None]:
    def apply(module: nn.Module) -> None:
        for kernel in _kernels(module):
            kernel.output_scale *= factor

    return apply


def dense_kernel(n_modes: int | None) -> Callable[[nn.Module], None]:
    """FNO's stored per-mode weights inside AM-FNO's block: is the block or the kernel limiting?"""

    def apply(module: nn.Module) -> None:
        for conv in module.modules():
            if isinstance(conv, SpectralConv) and isinstance(conv.kernel, AmortizedSpectralKernel):
                k = conv.kernel
                limits = DenseSpectralKernel.mode_limits(tuple(2 * r for r in k.reference))
                conv.kernel = DenseSpectralKernel(
                    k.in_channels, k.out_channels, resolve_modes(n_modes, limits)
                )

    return apply


def linear_kernel_net(module: nn.Module) -> None:
    """Kernel network without its hidden layer: ``R(k)`` linear in the basis functions."""
    for kernel in _kernels(module):
        for i, net in enumerate(kernel.nets):
            kernel.nets[i] = nn.Linear(net[0].in_features, net[-1].out_features)


class _BypassBlock(nn.Module):
    """``act(v + FFN(K v + W v))``: AM-FNO's block with FNO's pointwise bypass added."""

    def __init__(self, block: ResidualFFNBlock, width: int) -> None:
        super().__init__()
        self.block, self.bypass = block, PointwiseLinear(width, width)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        out = v + self.block.ffn(self.block.spectral(v) + self.bypass(v))
        return nn.functional.gelu(out) if self.block.activation else out


def bypass(module: nn.Module) -> None:
    processor = module.processor
    for i, block in enumerate(processor):
        processor[i] = _BypassBlock(block, module.width)


FACTORS: dict[str, tuple[dict, list]] = {
    "linear": ({"frequency_map": "linear"}, []),
    "log": ({"frequency_map": "log"}, []),
    "nb32": ({"n_basis": 32}, []),
    "nb64": ({"n_basis": 64}, []),
    "hidden64": ({"kernel_hidden": 64}, []),
    "hidden128": ({"kernel_hidden": 128}, []),
    "rank2": ({"kernel_rank": 2}, []),
    "rank4": ({"kernel_rank": 4}, []),
    "joint": ({"factorization": "joint"}, []),
    "fourier": ({"basis": "fourier"}, []),
    "ffn1": ({"ffn_ratio": 1}, []),
    "ffn2": ({"ffn_ratio": 2}, []),
    "lr3e-3": ({"lr": 3e-3}, []),
    "pad": ({"domain_padding": 0.125}, []),
    "cap16": ({}, [cap_modes(16)]),
    "scale0.1": ({}, [scale_kernel(0.1)]),
    "scale3": ({}, [scale_kernel(3.0)]),
    "bypass": ({}, [bypass]),
    "linearnet": ({}, [linear_kernel_net]),
    "dense12": ({}, [dense_kernel(12)]),
    "dense16": ({}, [dense_kernel(16)]),
    "denseall": ({}, [dense_kernel(None)]),
}


class _Variant(AMFNORegressor):
    """AM-FNO with diagnostic changes applied to the built module (benchmark only)."""

    modifiers: list = []

    def initialize_module(self, data):
        module = super().initialize_module(data)
        for modify in self.modifiers:
            modify(module)
        return module


def make_estimator(variant: str, epochs: int, seed: int, **kw):
    common = {"max_epochs": epochs, "random_state": seed, **kw}
    if variant in ("FNO", "FNO+"):
        return FNORegressor(n_modes=12 if variant == "FNO" else None, **common)
    if variant == "FNO(pad)":
        return FNORegressor(n_modes=12, domain_padding=0.125, **common)
    if variant == "FFNO":
        return FFNORegressor(**common)
    params, modifiers = {}, []
    for factor in variant.split("+"):
        if factor not in FACTORS:
            raise ValueError(f"unknown factor {factor!r}; choose from {sorted(FACTORS)}")
        p, m = FACTORS[factor]
        params.update(p)
        modifiers += m
    est = _Variant(**params, **common)
    est.modifiers = modifiers
    return est


def run(problem: str, variant: str, epochs: int, seed: int) -> dict:
    X_train, y_train, X_test, y_test, kw = load_problem(problem)
    est = make_estimator(variant, epochs, seed, **kw)
    start = time.perf_counter()
    est.fit(X_train, y_train)
    fit_s = time.perf_counter() - start
    n_params = sum(p.numel() for p in est.net_.module_.parameters())
    return {
        "problem": problem,
        "variant": variant,
        "epochs": epochs,
        "seed": seed,
        "test": float(relative_l2_error(y_test, est.predict(X_test))),
        "train": float(relative_l2_error(y_train, est.predict(X_train))),
        "parameters": n_params,
        "fit_s": round(fit_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("problem", choices=["burgers", "darcy", "ns"])
    parser.add_argument("variants", nargs="+")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/results/amfno_ablation.jsonl")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for variant in args.variants:
        result = run(args.problem, variant, args.epochs, args.seed)
        print(json.dumps(result), flush=True)
        with open(args.out, "a") as f:
            f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
