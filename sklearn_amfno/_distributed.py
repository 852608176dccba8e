"""Data-parallel training over a torch process group (``torchrun``) on ``DistributedDataParallel``.

A script that fits an estimator runs unchanged under ``torchrun --nproc_per_node=N``: ``fit``
finds the process group (or starts it from the environment variables the launcher exports), and
every rank then

- draws the same seed (rank 0's), hence the same weights, shuffles and validation split;
- reads only its contiguous shard of every global batch of ``batch_size`` samples
  (:class:`ShardBatchSampler`, :func:`shard_bounds`): the ranks draw the same order of the
  samples and cut the same global batches, so ``batch_size`` means the same on 1 or N processes;
- trains through ``torch.nn.parallel.DistributedDataParallel`` (:func:`distributed_model`),
  which all-reduces the gradients bucket by bucket while the backward pass runs, and averages
  them over the ranks. Each rank's shard mean loss is scaled by ``world_size * shard size /
  batch size`` before its backward pass, so that the average is the gradient of the mean over
  the global batch: a loss that is a mean of per-sample terms gives the one-process gradient,
  uneven last batch included (float rounding apart). A rank whose shard of a last batch smaller
  than the group is empty still runs a forward and backward pass (DDP needs every rank in every
  step), on a placeholder sample with the weight zero;
- normalises batch normalisation layers with the statistics of the global batch
  (:class:`SyncedBatchNorm`, the placeholder not counted), so U-FNO and LSM train as on one
  process;
- steps the same optimizer on the same gradient, so the models never drift apart;
- writes files (``est.save``, checkpoints) only on rank 0 (:func:`is_main_process`).

DDP wraps a training view of the model: the estimator's ``net_.module_`` stays the plain model
(its parameter names, saving, ``predict`` and warm starts are those of a one-process fit), and the
view shares its parameters and buffers, with the batch normalisation layers synchronised
(:func:`with_synced_batch_norm`). torch's own ``SyncBatchNorm`` is not used: it runs on GPUs only,
converts only ``torch.nn.BatchNorm*d`` (not the package's :class:`~sklearn_amfno.nn.layers.BatchNorm`)
and would count the placeholder sample.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import inspect
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.parallel import DistributedDataParallel

from .nn.layers import BatchNorm

# What torchrun (and ``accelerate launch``) export besides WORLD_SIZE; init_process_group's
# default "env://" rendezvous reads them.
_LAUNCHER_VARIABLES = ("RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class DataParallel:
    """Where this process stands in a data-parallel fit.

    Parameters
    ----------
    rank : int
        This process's rank, 0 to ``world_size - 1``.
    world_size : int
        Processes in the group (at least 2: one process is no data parallelism).
    local_rank : int
        Rank on this node (``LOCAL_RANK``): the GPU this process trains on.
    """

    rank: int
    world_size: int
    local_rank: int = 0


def process_group(device: str | None = None) -> DataParallel | None:
    """The data-parallel group this process belongs to, or ``None`` when it trains alone.

    An initialised default process group is used as it is. Otherwise, when the environment says
    ``WORLD_SIZE > 1`` (``torchrun``, ``accelerate launch``), the group is started from the
    environment variables: NCCL for a CUDA ``device``, gloo otherwise. It is never destroyed
    here: the next fit of the script uses it again.

    Parameters
    ----------
    device : str or None, default=None
        The training device; it picks the backend of a group started here.

    Returns
    -------
    DataParallel or None
    """
    if not dist.is_available():
        return None
    if not dist.is_initialized():
        world_size = _env_int("WORLD_SIZE", 1)
        if world_size <= 1:
            return None
        missing = [name for name in _LAUNCHER_VARIABLES if name not in os.environ]
        if missing:
            raise ValueError(
                f"WORLD_SIZE={world_size} asks for data-parallel training, but the environment "
                f"lacks {', '.join(missing)}: launch the script with torchrun (or accelerate "
                "launch), or unset WORLD_SIZE."
            )
        cuda = device is not None and device.startswith("cuda")
        backend = "nccl" if cuda and dist.is_nccl_available() else "gloo"
        if cuda:
            torch.cuda.set_device(_env_int("LOCAL_RANK", 0))
        dist.init_process_group(backend)
        # The group was started here, so it is torn down here: a process that exits with gloo's
        # threads still alive is aborted ("terminate called without an active exception").
        atexit.register(_destroy_process_group)
    world_size = dist.get_world_size()
    if world_size <= 1:
        return None
    return DataParallel(dist.get_rank(), world_size, _env_int("LOCAL_RANK", 0))


def _destroy_process_group() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, str(default))
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"The environment variable {name} must be an integer, got {value!r}.") from None


def is_main_process() -> bool:
    """Whether this process may write files: rank 0 of a process group, or a process alone."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def rank_device(device: str, group: DataParallel | None) -> str:
    """The device of this rank: an unnumbered ``"cuda"`` becomes ``"cuda:<local_rank>"``."""
    if group is not None and device == "cuda":
        return f"cuda:{group.local_rank}"
    return device


def broadcast_seed(seed: int, group: DataParallel | None) -> int:
    """Rank 0's ``seed`` on every rank (one seed: same weights, shuffles and split everywhere)."""
    if group is None:
        return seed
    box = [seed]
    dist.broadcast_object_list(box, src=0)
    return int(box[0])


def shard_bounds(n_samples: int, rank: int, world_size: int) -> tuple[int, int]:
    """``[start, stop)`` of ``rank``'s contiguous shard of a batch of ``n_samples``.

    Shard sizes differ by at most one; with fewer samples than ranks, the last ranks get empty
    shards (they still take part in the step, on a placeholder weighted by zero).

    Examples
    --------
    >>> [shard_bounds(5, r, 2) for r in range(2)]
    [(0, 3), (3, 5)]
    """
    base, extra = divmod(n_samples, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


class ShardBatchSampler(torch.utils.data.Sampler[list[int]]):
    """This rank's shard of every global batch: the indices of the samples it reads.

    The global batches are those of ``BatchSampler(sampler, batch_size, drop_last=False)``, the
    batches of a one-process fit (every rank iterates the same ``sampler``, whose order comes
    from the fit's generator, the same on every rank); each yields the slice :func:`shard_bounds`
    gives this rank. An empty shard (a last batch smaller than the group) yields the global
    batch's first index instead: a placeholder that the training step weighs by zero (DDP needs
    a forward and backward pass of every rank at every step). :meth:`global_batch_sizes` are the
    sizes of the global batches, in order.

    Parameters
    ----------
    sampler : torch.utils.data.Sampler
        The order of the samples (the same on every rank).
    batch_size : int
        The global batch size.
    rank, world_size : int
        This rank, and the number of ranks.

    Examples
    --------
    >>> [list(ShardBatchSampler(range(5), 4, r, 2)) for r in range(2)]
    [[[0, 1], [4]], [[2, 3], [4]]]
    >>> ShardBatchSampler(range(5), 4, 1, 2).global_batch_sizes()
    [4, 1]
    """

    def __init__(
        self, sampler: Sequence[int] | torch.utils.data.Sampler, batch_size: int, rank: int, world_size: int
    ):
        self.sampler = sampler
        self.batch_size = batch_size
        self.rank = rank
        self.world_size = world_size

    def __len__(self) -> int:
        return math.ceil(len(self.sampler) / self.batch_size)  # type: ignore[arg-type]

    def global_batch_sizes(self) -> list[int]:
        """The sizes of the global batches of one pass, in order."""
        n = len(self.sampler)  # type: ignore[arg-type]
        return [min(self.batch_size, n - start) for start in range(0, n, self.batch_size)]

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield self._shard(batch)
                batch = []
        if batch:
            yield self._shard(batch)

    def _shard(self, batch: list[int]) -> list[int]:
        start, stop = shard_bounds(len(batch), self.rank, self.world_size)
        return batch[start:stop] if stop > start else batch[:1]


class SyncedBatchNorm(nn.Module):
    """A batch normalisation layer normalising with the statistics of the global batch.

    In training, the ranks all-reduce their shards' per-channel counts, means and sums of squared
    deviations (one collective, differentiable: the backward pass all-reduces the statistics'
    gradients) and combine them (Chan et al.'s pairwise update), so every rank normalises with,
    and updates the running statistics from, the statistics of the global batch, as one process
    does. Outside training it is the wrapped layer. It holds the wrapped layer as ``norm``,
    whose parameters and buffers are the ones trained and updated.

    The arithmetic is that of the wrapped layer: the package's
    :class:`~sklearn_amfno.nn.layers.BatchNorm` (a global batch holding a single value per
    channel is normalised with the running statistics) or ``torch.nn.BatchNorm{1,2,3}d``
    (``affine``, ``track_running_stats`` and ``momentum=None`` included; a single value per
    channel is refused as torch refuses it).

    Parameters
    ----------
    norm : BatchNorm or torch.nn.modules.batchnorm._BatchNorm
        The layer to synchronise.

    Attributes
    ----------
    placeholder : bool
        Set (by :func:`placeholder_shard`) while this rank's input is a placeholder: it counts
        for nothing in the statistics.
    """

    def __init__(self, norm: BatchNorm | _BatchNorm) -> None:
        super().__init__()
        self.norm = norm
        self.placeholder = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = self.norm
        if not self.training:
            return norm(x)
        torch_layer = isinstance(norm, _BatchNorm)
        momentum: float | None = norm.momentum
        running_mean: torch.Tensor | None = norm.running_mean
        running_var: torch.Tensor | None = norm.running_var
        if isinstance(norm, _BatchNorm):
            # What torch's layer does before its F.batch_norm call.
            norm._check_input_dim(x)
            tracked = norm.num_batches_tracked
            if norm.track_running_stats and tracked is not None:
                tracked.add_(1)
                if momentum is None:
                    momentum = 1.0 / float(tracked)
            if not norm.track_running_stats:
                running_mean = running_var = None
        dtype = torch.promote_types(x.dtype, torch.float32)
        # The statistics in float32 at least (a bf16 autocast leaves activations in bfloat16).
        counted = (x[:0] if self.placeholder else x).to(dtype)
        axes = [0, *range(2, x.dim())]
        count = counted.numel() // x.shape[1]
        mean = counted.sum(axes) / max(count, 1)
        shape = (1, -1) + (1,) * (x.dim() - 2)
        sq_dev = (counted - mean.view(shape)).square().sum(axes)
        stats = torch.cat([mean, sq_dev, mean.new_full((1,), float(count))])
        rank, world_size = dist.get_rank(), dist.get_world_size()
        # One row per rank (an all-gather by a sum: gloo has no differentiable all-gather).
        rows = torch.cat(
            [
                stats.new_zeros(rank, stats.numel()),
                stats[None],
                stats.new_zeros(world_size - rank - 1, stats.numel()),
            ]
        )
        rows = _AllReduceSum.apply(rows)
        channels = x.shape[1]
        means, sq_devs, counts = rows[:, :channels], rows[:, channels:-1], rows[:, -1:].detach()
        total = counts.sum()
        if float(total) <= 1:
            if torch_layer:
                raise ValueError(
                    f"Expected more than 1 value per channel when training, got input size {tuple(x.shape)}"
                )
            # The package's BatchNorm: a single value per channel is normalised with the running
            # statistics (every rank sees the same global count).
            return F.batch_norm(
                x, running_mean, running_var, norm.weight, norm.bias, training=False, eps=norm.eps
            )
        global_mean = (counts * means).sum(0) / total
        global_sq_dev = (sq_devs + counts * (means - global_mean).square()).sum(0)
        var = global_sq_dev / total
        if running_mean is not None and running_var is not None:
            with torch.no_grad():
                factor = 0.0 if momentum is None else momentum
                running_mean.mul_(1 - factor).add_(global_mean.to(running_mean.dtype), alpha=factor)
                unbiased = global_sq_dev / (total - 1)
                running_var.mul_(1 - factor).add_(unbiased.to(running_var.dtype), alpha=factor)
        out = (x.to(dtype) - global_mean.view(shape)) * torch.rsqrt(var + norm.eps).view(shape)
        if norm.weight is not None:
            out = out * norm.weight.view(shape)
        if norm.bias is not None:
            out = out + norm.bias.view(shape)
        return out.to(x.dtype)


class _AllReduceSum(torch.autograd.Function):
    """A sum over the ranks that back-propagates: the gradient is summed over the ranks too."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        total = tensor.clone()
        dist.all_reduce(total)
        return total

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        total = grad.clone()
        dist.all_reduce(total)
        return total


def with_synced_batch_norm(module: nn.Module) -> nn.Module:
    """``module`` with its batch normalisation layers synchronised, or ``module`` if it has none.

    The result is a view, not a copy of the weights: the modules on the way to a batch
    normalisation layer are shallow copies (sharing their parameters, buffers and hooks with the
    originals) whose children are replaced, the layer itself becomes a :class:`SyncedBatchNorm`
    around it, and every other module is the original. ``module`` is left as it was.

    Parameters
    ----------
    module : torch.nn.Module

    Returns
    -------
    torch.nn.Module
    """
    if isinstance(module, BatchNorm | _BatchNorm):
        return SyncedBatchNorm(module)
    children = {name: child for name, child in module._modules.items() if child is not None}
    synced = {name: with_synced_batch_norm(child) for name, child in children.items()}
    if all(synced[name] is child for name, child in children.items()):
        return module
    view = copy.copy(module)
    # A new dict of children for the view; the original keeps its own.
    object.__setattr__(view, "_modules", {**module._modules, **synced})
    return view


@contextlib.contextmanager
def placeholder_shard(model: nn.Module) -> Iterator[None]:
    """The forward passes inside run on a placeholder: its synchronised batch statistics count nothing."""
    layers = [layer for layer in model.modules() if isinstance(layer, SyncedBatchNorm)]
    for layer in layers:
        layer.placeholder = True
    try:
        yield
    finally:
        for layer in layers:
            layer.placeholder = False


def distributed_model(module: nn.Module) -> DistributedDataParallel:
    """``DistributedDataParallel`` around ``module``'s training view (:func:`with_synced_batch_norm`).

    ``static_graph``: the set of parameters a step uses is the same at every step (the package's
    models; a parameter no step uses keeps ``grad=None``, as in one process), which spares DDP a
    search of the autograd graph per step. Buffers are not broadcast at every forward pass: the
    ranks keep them equal themselves (same initial model, synchronised batch statistics).

    Complex parameters (the spectral weights of FNO, F-FNO, U-FNO) go through the collectives as
    real pairs: DDP's own broadcast of the initial model and its gradient all-reduce pass complex
    tensors to the backend as they are, which gloo refuses in older torch releases (2.2).

    Parameters
    ----------
    module : torch.nn.Module
        The model, on this rank's device.

    Returns
    -------
    torch.nn.parallel.DistributedDataParallel
    """
    view = with_synced_batch_norm(module)
    options = inspect.signature(DistributedDataParallel.__init__).parameters
    # torch 2.13 renames broadcast_buffers (still syncing the buffers once, at construction).
    buffers = "forward_sync_buffers" if "forward_sync_buffers" in options else "broadcast_buffers"
    kwargs = {"static_graph": True, buffers: False}
    has_complex = any(p.is_complex() for p in view.parameters())
    if not has_complex:
        return DistributedDataParallel(view, **kwargs)  # type: ignore[arg-type]
    # Rank 0's model on every rank, sent as real views; then DDP without its own first broadcast.
    for tensor in [*view.parameters(), *view.buffers()]:
        dist.broadcast(_real(tensor.detach()), src=0)
    if "init_sync" in options:
        model = DistributedDataParallel(view, init_sync=False, **kwargs)  # type: ignore[arg-type]
    else:
        with _without_initial_sync():
            model = DistributedDataParallel(view, **kwargs)  # type: ignore[arg-type]
    model.register_comm_hook(None, _mean_all_reduce)
    return model


def _real(tensor: torch.Tensor) -> torch.Tensor:
    return torch.view_as_real(tensor) if tensor.is_complex() else tensor


def _mean_all_reduce(state, bucket):
    # DDP's default communication hook (the mean over the ranks), complex buckets as real pairs.
    # No annotations: DDP checks them against its own classes, and this module's are strings.
    buffer = bucket.buffer()
    real = _real(buffer)
    real.div_(dist.get_world_size())
    reduced = dist.all_reduce(real, async_op=True)
    assert reduced is not None
    return reduced.get_future().then(lambda _: buffer)


@contextlib.contextmanager
def _without_initial_sync() -> Iterator[None]:
    # torch releases whose DDP has no init_sync (2.2): its first broadcast, done here already,
    # is switched off while the wrapper is built.
    import torch.nn.parallel.distributed as ddp_module

    sync = ddp_module._sync_module_states  # type: ignore[attr-defined]
    ddp_module._sync_module_states = lambda *args, **kwargs: None  # type: ignore[attr-defined]
    try:
        yield
    finally:
        ddp_module._sync_module_states = sync  # type: ignore[attr-defined]
