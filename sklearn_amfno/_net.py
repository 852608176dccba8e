"""The skorch net that trains every estimator: data-parallel steps, mixed precision, weighted
losses, the fit's own random stream, and the ``DataLoader`` it reads batches with.

:class:`OperatorNet` is skorch's ``NeuralNetRegressor`` with the package's training step; the
estimators build it in ``initialize_net`` (:mod:`sklearn_amfno._base`) and keep it as ``net_``.
Pickles name the net, its loader and its generators' states here; pickles written before this
module existed name them in ``sklearn_amfno._base``, which still exports them for those.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from skorch import NeuralNetRegressor
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from ._distributed import DataParallel, all_reduce_gradients, is_main_process, shard_bounds
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
    base = dataset.dataset if isinstance(dataset, torch.utils.data.Subset) else dataset
    if not isinstance(base, GridDataset):
        num_workers = 0
    if shuffle and generator is not None:
        kwargs["sampler"] = ShuffleSampler(dataset, generator)
    else:
        kwargs["shuffle"] = shuffle
    return torch.utils.data.DataLoader(dataset, num_workers=num_workers, generator=generator, **kwargs)


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
        This rank's place in a process group: each training step then trains on this rank's
        shard of the global batch and sums the weighted gradients over the ranks
        (:mod:`sklearn_amfno._distributed`). ``None``: one process.
    """

    #: The estimator's fit this net is training for, set by that fit around the training loop
    #: (:func:`~sklearn_amfno._training.training_for`) and read by the callbacks through
    #: :func:`~sklearn_amfno._training.current_fit`; ``None`` outside it. Never pickled.
    fit_in_progress: FitInProgress | None = None

    def __init__(self, *args, precision: str = "fp32", data_parallel: DataParallel | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.precision = precision
        self.data_parallel = data_parallel

    def infer(self, x, **fit_params):
        # A weighted fit's input carries the weights (_sample_weight.weighted_input): the model
        # sees the samples only; get_loss takes the weights.
        x, _ = split_input(x)
        if self.precision == "fp32":
            return super().infer(x, **fit_params)
        with autocast_forward(self.module_, torch.device(self.device).type, self.precision):
            y_pred = super().infer(x, **fit_params)
        # The loss and the predictions in float32.
        return y_pred.float()

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

    def train_step_single(self, batch, **fit_params):
        group = self.data_parallel
        if group is None:
            return super().train_step_single(batch, **fit_params)
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        n_batch = len(yi)
        start, stop = shard_bounds(n_batch, group.rank, group.world_size)
        # The shard's mean loss weighted by its share of the batch: summed over the ranks, the
        # weighted means give the mean over the global batch, whatever the shard sizes.
        weight = (stop - start) / n_batch
        if stop > start:
            # A weighted input is a dict of the samples and their weights: shard both.
            Xs = {k: v[start:stop] for k, v in Xi.items()} if isinstance(Xi, dict) else Xi[start:stop]
            y_pred = self.infer(Xs, **fit_params)
            loss = self.get_loss(y_pred, yi[start:stop], X=Xs, training=True) * weight
            loss.backward()
        else:
            # An empty shard (a last batch smaller than the group): zero gradients, no forward.
            y_pred = torch.empty(0, device=self.device)
            loss = torch.zeros((), device=self.device)
        loss = all_reduce_gradients(self.module_.parameters(), loss)
        return {"loss": loss, "y_pred": y_pred}

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
