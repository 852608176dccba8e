"""A fused, chunked bf16 feed-forward network: measured for ``precision="bf16"`` and not adopted.

An experiment of issue 17 (a faster AM-FNO step), kept with its benchmark
(``benchmarks/bench_precision.py``) so that the measurement can be repeated. Alone, the fused FFN
takes 0.66-0.84x the time of the autocast one (forward + backward, width 32, 64 x 64, batch 32,
1-2 threads of an AMD EPYC); a whole AM-FNO training step took 0.95-1.02x, no gain beyond the
noise of the shared machine, and on 1-D grids it is slower (1.2-1.5x). The package's
``PointwiseMLP`` therefore stays unfused; here the fused path replaces its forward only inside
:func:`fused_ffn`. It does save the hidden activations' memory.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from sklearn_amfno.nn.layers.pointwise import PointwiseLinear, PointwiseMLP

_unfused_forward = PointwiseMLP.forward


def _forward(self: PointwiseMLP, x: torch.Tensor) -> torch.Tensor:
    if _FUSED_FFN.get() and x.device.type == "cpu" and _cpu_autocast_dtype() == torch.bfloat16:
        return fused_pointwise_mlp(x, self.fc1, self.fc2, torch.bfloat16)
    return _unfused_forward(self, x)


FUSED_CHUNK = 8192
"""Grid points per chunk of :func:`fused_pointwise_mlp` (samples of fewer points are grouped).

Measured on 2 threads of an AMD EPYC (1 MiB L2 per core, 32 MiB L3), bf16 forward + backward of
``PointwiseMLP(32, 128, 32)``, batch 32, 64 x 64 grid, medians of 5-10 rounds on a shared machine
(+-30% between runs): chunks of 512 / 1024 / 2048 points took 147 / 105 / 79 ms (the python loop
and the per-matmul set-up dominate), 4096 / 8192 / 16384 about 60-65 ms each, 32768 / 65536
points 70-120 ms (the ``hidden x chunk`` activations, 2 MiB each in bfloat16 at 8192 points, no
longer stay in cache). 8192 is in the middle of the flat part with the shortest loop.
"""


_FUSED_FFN: contextvars.ContextVar[bool] = contextvars.ContextVar("sklearn_amfno_fused_ffn", default=False)


@contextlib.contextmanager
def fused_ffn(enabled: bool = True) -> Iterator[None]:
    """Within this context, :class:`PointwiseMLP` runs fused under CPU bfloat16 autocast.

    Off by default: on the CPUs measured, the whole training step barely gains (see the module
    docstring); the fused FFN does keep the hidden activations out of memory. Float32 forward
    passes (no autocast) and CUDA are never affected.

    Parameters
    ----------
    enabled : bool, default=True
        ``False`` switches the fused path off inside an enclosing ``fused_ffn()``.

    Examples
    --------
    >>> import torch
    >>> from sklearn_amfno.nn.layers.pointwise import PointwiseMLP
    >>> from fused_ffn import fused_ffn  # run from benchmarks/
    >>> mlp = PointwiseMLP(4, 16, 4)
    >>> with fused_ffn(), torch.autocast("cpu", dtype=torch.bfloat16):
    ...     out = mlp(torch.randn(2, 4, 8, 8))
    >>> out.dtype
    torch.float32
    """
    token = _FUSED_FFN.set(enabled)
    # The package's PointwiseMLP is unfused; its forward is swapped only for this context.
    previous, PointwiseMLP.forward = PointwiseMLP.forward, _forward  # type: ignore[method-assign]
    try:
        yield
    finally:
        PointwiseMLP.forward = previous  # type: ignore[method-assign]
        _FUSED_FFN.reset(token)


def _cpu_autocast_dtype() -> torch.dtype | None:
    """The dtype of CPU autocast if it is on, else ``None`` (torch >= 2.2 spellings)."""
    try:
        if not torch.is_autocast_enabled("cpu"):
            return None
        return torch.get_autocast_dtype("cpu")
    except (TypeError, AttributeError):  # torch < 2.4: no device_type argument
        if not torch.is_autocast_cpu_enabled():
            return None
        return torch.get_autocast_cpu_dtype()


def _chunks(batch: int, points: int, chunk: int) -> list[tuple[int, int, int, int]]:
    """``(sample start, sample stop, point start, point stop)`` of chunks of about ``chunk`` points.

    A sample of ``chunk`` points or more is split along its points; smaller samples are grouped,
    ``chunk // points`` per chunk, so a batch of short 1-D grids takes few python iterations.
    """
    if points >= chunk:
        return [(i, i + 1, p, min(p + chunk, points)) for i in range(batch) for p in range(0, points, chunk)]
    group = max(1, chunk // points)
    return [(i, min(i + group, batch), 0, points) for i in range(0, batch, group)]


def _gather(
    x: torch.Tensor,
    chunk: tuple[int, int, int, int],
    dtype: torch.dtype,
    into: torch.Tensor | None = None,
) -> torch.Tensor:
    """``x[i0:i1, :, p0:p1]`` as a contiguous ``(channels, (i1 - i0) * (p1 - p0))`` matrix in ``dtype``.

    One copy both casts and moves the grouped samples side by side, so each chunk is one 2-D
    matmul (and a weight gradient one matmul, without a sum over samples). ``into``: a flat
    buffer of the right size to write the matrix to.
    """
    i0, i1, p0, p1 = chunk
    shape = (x.shape[1], i1 - i0, p1 - p0)
    out = x.new_empty(shape, dtype=dtype) if into is None else into.view(shape)
    out.copy_(x[i0:i1, :, p0:p1].transpose(0, 1))
    return out.view(x.shape[1], -1)


def _scatter(out: torch.Tensor, chunk: tuple[int, int, int, int], value: torch.Tensor) -> None:
    """Write a ``(channels, n)`` chunk back into ``out[i0:i1, :, p0:p1]`` (casting to ``out``'s dtype)."""
    i0, i1, p0, p1 = chunk
    out[i0:i1, :, p0:p1].transpose(0, 1).copy_(value.view(value.shape[0], i1 - i0, p1 - p0))


def _fused_forward(
    x: torch.Tensor,
    w1: torch.Tensor,
    b1: torch.Tensor,
    w2: torch.Tensor,
    b2: torch.Tensor,
    dtype: torch.dtype,
    chunk: int,
    keep: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``w2 @ gelu(w1 @ x + b1) + b2`` on ``(batch, channels, points)``, chunk by chunk in ``dtype``.

    With ``keep``, also returns the input chunks as cast for the matmuls, one after the other in
    a flat buffer (what the backward pass reads: in bfloat16 half the bytes of ``x``, and no
    second gather); without it, ``None``.
    """
    out = x.new_empty((x.shape[0], w2.shape[0], x.shape[2]))
    kept = x.new_empty(x.numel(), dtype=dtype) if keep else None
    w1c, b1c, w2c, b2c = (t.to(dtype)[..., None] if t.dim() == 1 else t.to(dtype) for t in (w1, b1, w2, b2))
    start = 0
    for c in _chunks(x.shape[0], x.shape[2], chunk):
        size = x.shape[1] * (c[1] - c[0]) * (c[3] - c[2])
        xc = _gather(x, c, dtype, None if kept is None else kept[start : start + size])
        start += size
        hidden = nn.functional.gelu(torch.addmm(b1c, w1c, xc))
        _scatter(out, c, torch.addmm(b2c, w2c, hidden))
    return out, kept


class _FusedPointwiseMLP(torch.autograd.Function):
    """Autograd of :func:`fused_pointwise_mlp`: saves only the cast input, recomputes the hidden chunks."""

    @staticmethod
    def forward(
        ctx: Any,
        x: torch.Tensor,
        w1: torch.Tensor,
        b1: torch.Tensor,
        w2: torch.Tensor,
        b2: torch.Tensor,
        dtype: torch.dtype,
        chunk: int,
    ) -> torch.Tensor:
        out, kept = _fused_forward(x, w1, b1, w2, b2, dtype, chunk, keep=True)
        assert kept is not None
        ctx.save_for_backward(kept, w1, b1, w2)
        ctx.dtype, ctx.chunk, ctx.x_shape, ctx.x_dtype = dtype, chunk, x.shape, x.dtype
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        if torch.is_grad_enabled():
            # The backward pass is written by hand (no graph of its own): refuse loudly rather
            # than return gradients that silently lack their second derivative.
            raise RuntimeError(
                "fused_pointwise_mlp does not support double backward (backward with "
                "create_graph=True); run the model in float32 (precision='fp32') for that."
            )
        kept, w1, b1, w2 = ctx.saved_tensors
        dtype, chunk, (b, c_in, points) = ctx.dtype, ctx.chunk, ctx.x_shape
        # Weight gradients are sums over every grid point: accumulate them in at least float32
        # (per-chunk partial sums come out of a bf16 matmul, with float32 accumulation inside).
        acc = torch.promote_types(dtype, torch.float32)
        w1c, w2c = w1.to(dtype), w2.to(dtype)
        b1c = b1.to(dtype)[:, None]
        w1t, w2t = w1c.t().contiguous(), w2c.t().contiguous()
        gx = grad.new_empty(ctx.x_shape, dtype=ctx.x_dtype) if ctx.needs_input_grad[0] else None
        gw1 = torch.zeros(w1.shape, dtype=acc)
        gb1 = torch.zeros(b1.shape, dtype=acc)
        gw2 = torch.zeros(w2.shape, dtype=acc)
        start = 0
        for c in _chunks(b, points, chunk):
            size = c_in * (c[1] - c[0]) * (c[3] - c[2])
            xc, gc = kept[start : start + size].view(c_in, -1), _gather(grad, c, dtype)
            start += size
            pre = torch.addmm(b1c, w1c, xc)
            gw2 += (gc @ nn.functional.gelu(pre).t()).to(acc)
            gpre = torch.ops.aten.gelu_backward(w2t @ gc, pre)
            gw1 += (gpre @ xc.t()).to(acc)
            gb1 += gpre.sum(1, dtype=acc)
            if gx is not None:
                _scatter(gx, c, w1t @ gpre)
        gb2 = grad.sum((0, 2), dtype=acc)
        return gx, gw1.to(w1.dtype), gb1.to(b1.dtype), gw2.to(w2.dtype), gb2.to(w2.dtype), None, None


def fused_pointwise_mlp(
    x: torch.Tensor,
    fc1: PointwiseLinear,
    fc2: PointwiseLinear,
    dtype: torch.dtype = torch.bfloat16,
    chunk: int = FUSED_CHUNK,
) -> torch.Tensor:
    """``fc2(gelu(fc1(x)))`` computed chunk by chunk, the hidden activation never stored whole.

    The forward pass runs over chunks of about ``chunk`` grid points (several samples per chunk
    when a sample has fewer points), so each ``hidden x chunk`` block stays in cache between the
    two matmuls. Only ``x`` cast to ``dtype`` (half its bytes in bfloat16) and the weights are
    saved for backward, which recomputes the hidden chunks. Matmuls and GELU run in ``dtype``;
    the output and the input gradient have ``x``'s dtype and the weight gradients are
    accumulated in float32 (or ``dtype`` if wider) and returned in the parameters' dtype, so
    float32 parameters receive float32 gradients. Autocast is off inside. Double backward is not
    supported: a backward pass with ``create_graph=True`` raises a ``RuntimeError``.

    Parameters
    ----------
    x : torch.Tensor
        Input of shape ``(batch, in_channels, *grid)``, any number of grid axes.
    fc1, fc2 : PointwiseLinear
        The two layers of a :class:`PointwiseMLP`; both must have a bias.
    dtype : torch.dtype, default=torch.bfloat16
        Compute dtype; ``torch.float32`` (or ``torch.float64``) gives the unfused result up to
        summation order.
    chunk : int, default=FUSED_CHUNK
        Grid points per chunk.

    Returns
    -------
    torch.Tensor
        Shape ``(batch, out_channels, *grid)``, dtype of ``x``.
    """
    if fc1.bias is None or fc2.bias is None:
        raise ValueError("fused_pointwise_mlp needs layers with a bias.")
    b, _, *grid = x.shape
    flat = x.reshape(b, x.shape[1], -1)
    with torch.autocast("cpu", enabled=False):
        params = (fc1.weight, fc1.bias, fc2.weight, fc2.bias)
        if torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in params)):
            out = _FusedPointwiseMLP.apply(flat, *params, dtype, chunk)
        else:
            # No graph (prediction): nothing is saved.
            out = _fused_forward(flat, *params, dtype, chunk)[0]
    return out.reshape(b, -1, *grid)
