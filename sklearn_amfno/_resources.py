"""The device a fit runs on and whether the model can fit in its memory, checked before training.

Both failures would otherwise come from deep inside torch, minutes into a fit, in torch's words:
here they come first and name the parameter to change. The model's size (its parameters and
bytes, counted on a ``meta``-device build) and the CUDA device a name resolves to (which
:mod:`sklearn_amfno.parallel` and the shared-device warning compare) live here too.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable
from typing import cast

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


def cuda_device_key(device: str) -> str | None:
    """``"cuda:<i>"`` for a CUDA device (an unnumbered ``"cuda"`` is the current one), else None.

    Two device names train on the same GPU exactly when their keys are equal.
    """
    parsed = torch.device(device)
    if parsed.type != "cuda":
        return None
    index = parsed.index
    if index is None:
        index = torch.cuda.current_device() if torch.cuda.is_available() else 0
    return f"cuda:{index}"


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


def count_parameters(module: torch.nn.Module) -> int:
    """Trainable parameters in real scalars (a complex entry counts two): ``n_parameters_``."""
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in module.parameters() if p.requires_grad)


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


def check_training_memory(
    build: Callable[[dict], torch.nn.Module],
    module_kwargs: dict,
    *,
    defaults: dict,
    batch_size: int,
    n_samples: int,
    grid_shape: tuple[int, ...],
    device: str,
    owner: str,
) -> None:
    """Fail fast when training a family's model certainly cannot fit in the device's memory.

    The estimate (:func:`training_bytes`) is a lower bound from the model's parameter count (built
    on the ``meta`` device, no allocation) and the activations of one batch. The ValueError
    names the parameter whose reduction to its default helps most.

    Parameters
    ----------
    build : callable
        ``build(module_kwargs)`` returns the model for those keyword arguments (the estimator's
        ``_build_module`` for the data at hand); it runs on the ``meta`` device.
    module_kwargs : dict
        The model's keyword arguments (``width``, ``n_layers``, the family's own).
    defaults : dict
        The estimator's ``__init__`` defaults, for the parameter that helps most.
    batch_size, n_samples : int
        The training batch and the number of training samples (a batch holds at most that).
    grid_shape : tuple of int
        The training grid.
    device : str
        The resolved device; nothing is checked where its memory is unknown.
    owner : str
        The estimator's class name, for the message.
    """
    total = device_memory(device)
    if total is None:
        return
    n_points = 1
    for n in grid_shape:
        n_points *= int(n)

    def meta_build(kwargs: dict, n_layers: int) -> torch.nn.Module:
        return meta_module(lambda: build({**kwargs, "n_layers": n_layers}))

    def estimate(**overrides) -> int:
        kwargs = {**module_kwargs, **overrides}
        batch = min(kwargs.pop("batch_size", batch_size), n_samples)
        n_layers = kwargs["n_layers"]
        if n_layers <= 4:
            module = meta_build(kwargs, n_layers)
            weights = parameter_bytes(module)
        else:
            # Weights grow linearly with the layers: extrapolate from one and two layers
            # rather than building thousands of (meta) layers.
            module, two = meta_build(kwargs, 1), meta_build(kwargs, 2)
            one_bytes = parameter_bytes(module)
            weights = one_bytes + (n_layers - 1) * (parameter_bytes(two) - one_bytes)
        # An int attribute of OperatorNetwork; nn.Module.__getattr__ is typed for submodules and tensors.
        channels = cast(int, module.activation_channels)
        return training_bytes(weights, batch, n_points, channels, n_layers)

    need = estimate()
    if need <= total:
        return
    current = {**module_kwargs, "batch_size": batch_size}
    relief: dict[str, int] = {}
    for name, value in current.items():
        default = defaults.get(name)
        if (
            isinstance(value, numbers.Integral)
            and isinstance(default, numbers.Integral)
            and not isinstance(value, bool)
            and value > default
        ):
            relief[name] = estimate(**{name: default})
    gib = 2.0**30
    message = (
        f"Training this {owner} needs at least {need / gib:.1f} GiB, more than the "
        f"{total / gib:.1f} GiB of device {device!r} (grid {tuple(grid_shape)}, "
        f"batch_size={batch_size}, width={module_kwargs['width']}, n_layers={module_kwargs['n_layers']})."
    )
    if relief:
        name = min(relief, key=relief.__getitem__)
        message += (
            f" The largest contributor is {name}={current[name]}: with {name}={defaults[name]} "
            f"it would need {relief[name] / gib:.2f} GiB."
        )
    raise ValueError(message)
