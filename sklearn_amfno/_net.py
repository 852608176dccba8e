"""The skorch net that trains every estimator: data-parallel steps, mixed precision, weighted
losses, the fit's own random stream, and the ``DataLoader`` it reads batches with (and, under
``torchrun``, each rank's :class:`ShardLoader`).

:class:`OperatorNet` is skorch's ``NeuralNetRegressor`` with the package's training step; the
estimators build it in ``initialize_net`` (:mod:`sklearn_amfno._base`) and keep it as ``net_``.
Pickles name the net, its loader and its generators' states here; pickles written before this
module existed name them in ``sklearn_amfno._base``, which still exports them for those.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist
from skorch import NeuralNetRegressor
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from ._distributed import (
    DataParallel,
    ShardBatchSampler,
    distributed_model,
    is_main_process,
    placeholder_shard,
    shard_bounds,
)
from ._precision import autocast_forward
from ._sample_weight import split_input, weight_scale
from ._streaming import GridDataset
from ._torch_state import ShuffleSampler, fit_generator
from ._training_checks import check_param_groups_match

if TYPE_CHECKING:
    from ._training import FitInProgress


def data_loader(
    dataset,
    num_workers: int = 0,
    shuffle: bool = False,
    generator: torch.Generator | None = None,
    **kwargs,
) -> torch.utils.data.DataLoader:
    """skorch's iterator: a ``DataLoader``, with worker processes only for lazily read samples.

    Workers pay off where reading a sample is work (a :class:`GridDataset` over lazy arrays,
    or the subset of it that skorch's validation split makes); for rows already in memory they
    would only copy them across processes. With a ``generator`` (the fit's), the shuffling and
    the loader's seeds come from it, never from torch's global generator.
    """
    return torch.utils.data.DataLoader(
        dataset,
        sampler=_sample_order(dataset, shuffle, generator),
        num_workers=_workers(dataset, num_workers),
        generator=generator,
        **kwargs,
    )


def _workers(dataset, num_workers: int) -> int:
    base = dataset.dataset if isinstance(dataset, torch.utils.data.Subset) else dataset
    return num_workers if isinstance(base, GridDataset) else 0


def _sample_order(dataset, shuffle: bool, generator: torch.Generator | None) -> torch.utils.data.Sampler:
    # The order of one pass: the fit's generator shuffles through ShuffleSampler; without one,
    # what DataLoader(shuffle=...) would pick. Shared by data_loader and ShardLoader.
    if shuffle and generator is not None:
        return ShuffleSampler(dataset, generator)
    if shuffle:
        return torch.utils.data.RandomSampler(dataset, generator=generator)
    return torch.utils.data.SequentialSampler(dataset)


class ShardLoader:
    """This rank's shards of the global batches :func:`data_loader` makes, read by this rank alone.

    A ``DataLoader`` over :class:`~sklearn_amfno._distributed.ShardBatchSampler`: the same
    order of the samples as :func:`data_loader` (the same draws from the fit's generator, hence
    the same on every rank), cut into the same global batches, of which it reads and yields this
    rank's shard. While a batch is being trained on, :attr:`global_size` is the size of its
    global batch. An empty shard (a last batch smaller than the group) is yielded empty, and its
    placeholder (the global batch's first sample, the only one read) is :attr:`placeholder`.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
    group : DataParallel
        This rank's place in the process group.
    batch_size : int
        The global batch size.
    num_workers, shuffle, generator, **kwargs
        As for :func:`data_loader`.
    """

    def __init__(
        self,
        dataset,
        group: DataParallel,
        batch_size: int,
        num_workers: int = 0,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        **kwargs,
    ) -> None:
        self.batches = ShardBatchSampler(
            _sample_order(dataset, shuffle, generator), batch_size, group.rank, group.world_size
        )
        self.loader = torch.utils.data.DataLoader(
            dataset,
            batch_sampler=self.batches,
            num_workers=_workers(dataset, num_workers),
            generator=generator,
            **kwargs,
        )
        self.group = group
        self.global_size = 0
        self.placeholder: Any = None

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[Any]:
        sizes = self.batches.global_batch_sizes()
        for batch, size in zip(self.loader, sizes, strict=True):
            self.global_size = size
            start, stop = shard_bounds(size, self.group.rank, self.group.world_size)
            self.placeholder = None if stop > start else batch
            yield batch if stop > start else _take(batch, 0)


def _take(data, stop: int):
    """The first ``stop`` samples of a collated batch (tensors, and dicts or sequences of them)."""
    if isinstance(data, Mapping):
        return {key: _take(value, stop) for key, value in data.items()}
    if isinstance(data, tuple | list):
        return type(data)(_take(value, stop) for value in data)
    return data[:stop]


class _DistributedFit:
    """What a data-parallel ``fit_loop`` trains with: the DDP model and this rank's loader."""

    def __init__(self, model: torch.nn.parallel.DistributedDataParallel) -> None:
        self.model = model
        self.loader: ShardLoader | None = None


class OperatorNet(NeuralNetRegressor):
    """skorch's ``NeuralNetRegressor`` with data-parallel training steps and mixed precision.

    Parameters
    ----------
    *args, **kwargs
        Those of ``skorch.NeuralNetRegressor``.
    precision : {"fp32", "bf16"}, default="fp32"
        Forward passes in float32, or under bfloat16 autocast with the spectral layers in
        float32 (:mod:`sklearn_amfno._precision`).
    data_parallel : DataParallel or None, default=None
        This rank's place in a process group: each training step then reads and trains on this
        rank's shard of the global batch (:class:`ShardLoader`) through
        ``DistributedDataParallel``, its loss weighted so that the averaged gradient is the
        global batch's (:mod:`sklearn_amfno._distributed`). ``None``: one process.
    """

    #: The data-parallel training in progress (inside ``fit_loop``, under a process group),
    #: else ``None``. Never pickled.
    _distributed: _DistributedFit | None = None

    #: The estimator's fit this net is training for, set by that fit around the training loop
    #: (:func:`~sklearn_amfno._training.training_for`) and read by the callbacks through
    #: :func:`~sklearn_amfno._training.current_fit`; ``None`` outside it. Never pickled.
    fit_in_progress: FitInProgress | None = None

    def __init__(self, *args, precision: str = "fp32", data_parallel: DataParallel | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.precision = precision
        self.data_parallel = data_parallel

    def infer(self, x, **fit_params):
        return self._forward(self.module_, x, **fit_params)

    def _forward(self, module: torch.nn.Module, x, **fit_params) -> torch.Tensor:
        # skorch's infer through ``module`` (the model, or its DDP wrapper in training).
        # A weighted fit's input carries the weights (_sample_weight.weighted_input): the model
        # sees the samples only; get_loss takes the weights.
        x, _ = split_input(x)
        x = to_tensor(x, device=self.device)
        with autocast_forward(module, torch.device(self.device).type, self.precision):
            if isinstance(x, Mapping):
                y_pred = module(**self._merge_x_and_fit_params(x, fit_params))
            else:
                y_pred = module(x, **fit_params)
        # The loss and the predictions in float32.
        return y_pred if self.precision == "fp32" else y_pred.float()

    def get_loss(self, y_pred, y_true, X=None, training=False):
        _, weights = split_input(X)
        if weights is None:
            return super().get_loss(y_pred, y_true, X=X, training=training)
        # Weights over the mean weight of the split the batch comes from (get_split_datasets):
        # the batch mean estimates the split's weighted mean without bias (_sample_weight).
        scale = self._weight_scales["train" if training else "valid"]
        weights = to_tensor(weights, device=self.device) * scale
        return self.criterion_(y_pred, to_tensor(y_true, device=self.device), sample_weight=weights)

    def get_split_datasets(self, X, y=None, **fit_params):
        dataset_train, dataset_valid = super().get_split_datasets(X, y, **fit_params)
        self._weight_scales = {"train": weight_scale(dataset_train, "training")}
        if dataset_valid is not None:
            self._weight_scales["valid"] = weight_scale(dataset_valid, "validation")
        return dataset_train, dataset_valid

    def get_iterator(self, dataset, training=False):
        fit = self._distributed
        if not training or fit is None or self.data_parallel is None or fit.loader is not None:
            return super().get_iterator(dataset, training=training)
        # The training loop's loader (fit_loop asks first): under a process group each rank
        # reads only its shards of the global batches.
        kwargs = self.get_params_for("iterator_train")
        batch_size = kwargs.pop("batch_size", self.batch_size)
        fit.loader = ShardLoader(
            dataset, self.data_parallel, len(dataset) if batch_size == -1 else batch_size, **kwargs
        )
        return fit.loader

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        if self.data_parallel is None:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        # DDP around the model for this loop only: nothing of it outlives the fit (pickles,
        # predict, a later fit's backward passes see the plain model).
        self._distributed = _DistributedFit(distributed_model(self.module_))
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        finally:
            self._distributed = None

    def train_step_single(self, batch, **fit_params):
        group, fit = self.data_parallel, self._distributed
        if group is None or fit is None or fit.loader is None:
            return super().train_step_single(batch, **fit_params)
        self._set_training(True)
        model = fit.model
        model.train()
        Xi, yi = unpack_data(batch)
        n_batch = fit.loader.global_size
        start, stop = shard_bounds(n_batch, group.rank, group.world_size)
        if stop > start:
            y_pred = self._forward(model, Xi, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=True)
            # The shard's share of the global batch: the shares' sum of the shard means is the
            # mean over the global batch.
            share = (stop - start) / n_batch
            global_loss = (loss.detach() * share).reshape(1)
        else:
            # An empty shard: every rank must run the step's forward and backward passes (DDP,
            # synchronised batch norm), so this one runs them on the placeholder, weighted by zero.
            with placeholder_shard(model):
                placeholder = self._forward(model, unpack_data(fit.loader.placeholder)[0], **fit_params)
            loss = (placeholder * 0).sum()
            share = 0.0
            y_pred = placeholder[:0]
            global_loss = torch.zeros(1, device=loss.device)
        # The global batch's loss for the history, summed while the backward pass runs.
        summed = dist.all_reduce(global_loss, async_op=True)
        # DDP averages the ranks' gradients: world_size * share makes that the weighted sum.
        (loss * (share * group.world_size)).backward()
        summed.wait()
        return {"loss": global_loss[0], "y_pred": y_pred}

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        # The history records the global batch's size with its loss (as one process does).
        fit = self._distributed
        if training and fit is not None and fit.loader is not None:
            self.history.record_batch("train_batch_size", fit.loader.global_size)

    def initialize_optimizer(self, *args, **kwargs):
        # A param_groups pattern that matches nothing would be ignored by skorch: refuse it.
        groups = getattr(self, "optimizer__param_groups", None)
        if groups is not None:
            check_param_groups_match(groups, [name for name, _ in self.module_.named_parameters()])
        return super().initialize_optimizer(*args, **kwargs)

    def save_params(self, *args, **kwargs):
        # Checkpoint callbacks write through save_params: once, from rank 0.
        if is_main_process():
            super().save_params(*args, **kwargs)

    # The fit's generator, held as the loaders' keyword arguments.
    _GENERATORS = ("iterator_train__generator", "iterator_valid__generator")

    def __getstate__(self) -> dict[str, Any]:
        # torch.Generator pickles only from torch 2.4 on: the generators travel as their states
        # (one object stays one object), so nets pickle (joblib, searches) with torch 2.2 too.
        state = super().__getstate__()
        # A net pickled mid-fit (skorch's Checkpoint(f_pickle=...)) leaves its fit behind.
        state.pop("fit_in_progress", None)
        state.pop("_distributed", None)
        saved: dict[int, _GeneratorState] = {}
        for key in self._GENERATORS:
            generator = state.get(key)
            if isinstance(generator, torch.Generator):
                state[key] = saved.setdefault(id(generator), _GeneratorState(generator.get_state()))
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        rebuilt: dict[int, torch.Generator] = {}
        for key in self._GENERATORS:
            saved = state.get(key)
            if isinstance(saved, _GeneratorState):
                state[key] = rebuilt.setdefault(id(saved), fit_generator(saved.state))
        super().__setstate__(state)


class _GeneratorState:
    """A ``torch.Generator`` in a pickle: its state (``OperatorNet.__getstate__``)."""

    def __init__(self, state: torch.Tensor) -> None:
        self.state = state
