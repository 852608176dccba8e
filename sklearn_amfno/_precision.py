"""Mixed precision: bf16 autocast for the pointwise layers, float32 for the spectral part.

``precision="bf16"`` runs a forward pass under ``torch.autocast(dtype=torch.bfloat16)``, so
linear maps, convolutions and attention take bfloat16 inputs. The spectral part stays float32:
the FFTs (cuFFT and pocketfft have no bfloat16 transforms, and 8 mantissa bits would swamp the
high modes) and the mode contraction, i.e. everything inside the layers listed in
:data:`SPECTRAL_LAYERS`, AM-FNO's kernel network ``R(k)`` included. Their inputs are cast back
to float32 and autocast is switched off inside them, by hooks that live only for the forward
pass (the model itself is never changed, so it pickles and saves as before). The loss is
computed in float32 on the float32 output.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from .nn.layers.afno import AFNOFilter
from .nn.layers.factorized import FactorizedSpectralConv
from .nn.layers.lsm import SpectralTokenMap
from .nn.layers.spectral import SpectralConv

SPECTRAL_LAYERS: tuple[type[nn.Module], ...] = (
    SpectralConv,
    FactorizedSpectralConv,
    AFNOFilter,
    SpectralTokenMap,
)
"""Layers run in float32 under ``precision="bf16"``: the FFTs, mode contractions and kernels."""

PRECISIONS = ("fp32", "bf16")


def _to_float32(value):
    if isinstance(value, torch.Tensor) and value.is_floating_point() and value.dtype != torch.float32:
        return value.float()
    return value


@contextlib.contextmanager
def autocast_forward(module: nn.Module, device_type: str, precision: str) -> Iterator[None]:
    """Run forward passes of ``module`` in ``precision``, its spectral layers in float32.

    Parameters
    ----------
    module : torch.nn.Module
        The model; hooks on its :data:`SPECTRAL_LAYERS` are removed on exit.
    device_type : str
        ``"cpu"`` or ``"cuda"`` (``torch.device(...).type``).
    precision : {"fp32", "bf16"}
        ``"fp32"`` changes nothing.
    """
    if precision == "fp32":
        yield
        return
    contexts: list[contextlib.ExitStack] = []

    def enter(layer: nn.Module, args: tuple) -> tuple:
        stack = contextlib.ExitStack()
        stack.enter_context(torch.autocast(device_type, enabled=False))
        contexts.append(stack)
        return tuple(_to_float32(a) for a in args)

    def leave(layer: nn.Module, args: tuple, output):
        contexts.pop().close()

    handles = []
    for layer in module.modules():
        if isinstance(layer, SPECTRAL_LAYERS):
            handles.append(layer.register_forward_pre_hook(enter))
            # always_call: autocast is restored even when the layer raises.
            handles.append(layer.register_forward_hook(leave, always_call=True))
    try:
        with torch.autocast(device_type, dtype=torch.bfloat16):
            yield
    finally:
        for handle in handles:
            handle.remove()
        while contexts:
            contexts.pop().close()
