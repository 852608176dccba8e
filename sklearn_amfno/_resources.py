"""The device a fit runs on and whether the model can fit in its memory, checked before training.

Both failures would otherwise come from deep inside torch, minutes into a fit, in torch's words:
here they come first and name the parameter to change.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import torch

from ._torch_state import seeded_global_rng


def available_devices() -> list[str]:
    """The device strings that work on this machine (``"auto"`` included)."""
    devices = ["auto", "cpu"]
    if torch.cuda.is_available():
        devices += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices


def resolve_device(device: str) -> str:
    """``"auto"`` -> CUDA when available, else the CPU; any other name checked against the machine.

    Raises ValueError naming the valid choices for a string torch does not know or a device this
    machine does not have.
    """
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    valid = available_devices()
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        raise ValueError(f"device={device!r} is not a torch device; valid choices here: {valid}.") from None
    if parsed.type == "cuda":
        ok = torch.cuda.is_available() and (parsed.index is None or parsed.index < torch.cuda.device_count())
    elif parsed.type == "mps":
        ok = "mps" in valid
    else:
        ok = parsed.type == "cpu"
    if not ok:
        raise ValueError(f"device={device!r} is not available on this machine; valid choices here: {valid}.")
    return device


def device_memory(device: str) -> int | None:
    """Total memory in bytes of ``device`` (physical RAM for the CPU), or None if unknown."""
    parsed = torch.device(device)
    if parsed.type == "cuda":
        return int(torch.cuda.get_device_properties(parsed.index or 0).total_memory)
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def meta_module(build: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    """The module ``build()`` makes, on PyTorch's ``meta`` device: shapes only, no memory.

    Built in a locked fork of the global RNG (``_torch_state.seeded_global_rng``), so the check
    leaves the random state alone and cannot rewind a module being built in another thread.
    """
    with seeded_global_rng(0), torch.device("meta"):
        return build()


def parameter_bytes(module: torch.nn.Module) -> int:
    """Bytes of a module's parameters and buffers (works on meta modules)."""
    tensors = list(module.parameters()) + list(module.buffers())
    return sum(t.numel() * t.element_size() for t in tensors)


# Float32 values kept per grid point and channel per layer for the backward pass. A real layer
# keeps more (FFT inputs and outputs, the FFN's hidden activations, ...): the count is deliberately
# low, so that the estimate is a lower bound and the check refuses only fits that cannot fit.
_ACTIVATION_VALUES_PER_LAYER = 2


def training_bytes(weight_bytes: int, batch_size: int, n_points: int, channels: int, n_layers: int) -> int:
    """A lower estimate of a training step's memory: weights with AdamW's state, activations.

    Weights, gradients and two moment estimates make four copies of the weights; activations are
    ``batch_size * n_points * channels * n_layers`` float32 values times a small constant, with
    ``channels`` the model's widest per-point feature count
    (:attr:`~sklearn_amfno.nn.OperatorNetwork.activation_channels`).
    """
    activations = 4 * batch_size * n_points * channels * max(n_layers, 1) * _ACTIVATION_VALUES_PER_LAYER
    return 4 * weight_bytes + activations
