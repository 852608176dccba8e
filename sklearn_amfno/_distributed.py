"""Data-parallel training over a torch process group (``torchrun``), without wrapping the model.

A script that fits an estimator runs unchanged under ``torchrun --nproc_per_node=N``: ``fit``
finds the process group (or starts it from the environment variables the launcher exports), and
every rank then

- draws the same seed (rank 0's), hence the same weights, shuffles and validation split;
- loads the same global batch of ``batch_size`` samples and trains on its contiguous shard
  (:func:`shard_bounds`), so ``batch_size`` means the same on 1 or N processes;
- back-propagates its shard's mean loss weighted by ``shard size / batch size`` and sums the
  gradients over the ranks (:func:`all_reduce_gradients`): the sum of the weighted shard means
  is the mean over the global batch, so a loss that is a mean of per-sample terms gives the
  one-process gradient, uneven last batch included (float rounding apart);
- steps the same optimizer on the same gradient, so the models never drift apart;
- writes files (``est.save``, checkpoints) only on rank 0 (:func:`is_main_process`).

Why not ``DistributedDataParallel`` or ``accelerate``: both average the ranks' losses unweighted
(wrong for an uneven last batch) and ``accelerate`` pads that batch with repeated samples; DDP's
wrapper also renames the model's parameters. One flat all-reduce per step after the backward
pass is exact and keeps ``net_.module_`` the plain model. The price, measured on 2 CPU
processes (``docs/scaling_out.md``, ``benchmarks/bench_distributed.py``): 11-20 % more time per
epoch than accelerate's DDP, which overlaps the all-reduce with the backward pass.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.distributed as dist

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
    shards (they still take part in the gradient sum, with zeros).

    Examples
    --------
    >>> [shard_bounds(5, r, 2) for r in range(2)]
    [(0, 3), (3, 5)]
    """
    base, extra = divmod(n_samples, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


def all_reduce_gradients(parameters: Iterable[torch.nn.Parameter], loss: torch.Tensor) -> torch.Tensor:
    """Sum the gradients of ``parameters`` and the value ``loss`` over the ranks, in place.

    One flat buffer, one collective per step: the gradients (complex ones as real pairs), one
    flag per parameter saying whether this rank has a gradient for it, and the loss. A parameter
    no rank has a gradient for keeps ``grad=None`` (an optimizer skips it, as in one process);
    one that only some ranks have (an empty shard) gets zeros on the others.

    Parameters
    ----------
    parameters : iterable of torch.nn.Parameter
        The trainable parameters, in the same order on every rank.
    loss : torch.Tensor
        This rank's (weighted) share of the batch loss, a scalar.

    Returns
    -------
    torch.Tensor
        The summed loss: the loss of the global batch.
    """
    params = [p for p in parameters if p.requires_grad]
    grads = [_real(p.grad if p.grad is not None else torch.zeros_like(p)) for p in params]
    dtype = loss.dtype
    for g in grads:
        dtype = torch.promote_types(dtype, g.dtype)
    device = loss.device
    flags = torch.tensor([p.grad is not None for p in params], dtype=dtype, device=device)
    buffer = torch.cat([*(g.reshape(-1).to(dtype) for g in grads), flags, loss.detach().reshape(1).to(dtype)])
    dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
    offset = 0
    for p, g, flag in zip(params, grads, buffer[-1 - len(params) : -1].tolist(), strict=True):
        size = g.numel()
        if flag > 0:
            summed = buffer[offset : offset + size].view(g.shape).to(g.dtype)
            p.grad = torch.view_as_complex(summed) if p.is_complex() else summed
        else:
            p.grad = None
        offset += size
    return buffer[-1].to(loss.dtype)


def _real(t: torch.Tensor) -> torch.Tensor:
    return torch.view_as_real(t) if t.is_complex() else t
