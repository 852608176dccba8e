"""Sample weights in training: ``fit(X, y, sample_weight=...)``.

scikit-learn's meaning, for a loss trained by mini-batches:

- the weights are checked by scikit-learn's ``_check_sample_weight`` (one finite, non-negative
  number per sample, not all zero); weights that are all equal fit exactly as no weights (the
  same code path, bit for bit), so ``sample_weight=c`` changes nothing;
- each sample's loss is multiplied by its weight divided by the **mean weight of the data it is
  part of** (the training split, or the validation split for ``valid_loss``): a batch's loss
  ``mean_i(w_i l_i) / mean(w)`` is an unbiased estimate of the weighted mean
  ``sum_i w_i l_i / sum_i w_i`` of the whole split, and equals it for a batch holding the whole
  split. So a weight 0 drops the sample (exactly, in a full-batch fit), an integer weight ``k``
  counts as ``k`` copies of the sample (in expectation: the repeated data make more batches per
  epoch), and scaling all weights changes nothing. Normalising by each batch's own weights
  instead would bias every step (a ratio of sums) and divide by zero in a batch of zero weights;
- the per-channel scaling statistics and the typical target norm (the reference of degenerate
  targets) are weighted too, so that they also see a sample of weight ``k`` as ``k`` copies.

The weights travel with their samples: the input becomes ``{"x": X, "sample_weight": w}``
(skorch's way to hand a loss per-sample data), skorch's validation split cuts both alike, and
:class:`~sklearn_amfno._base.OperatorNet` takes the weights out before the forward pass and
hands them to the loss (:class:`~sklearn_amfno.nn.losses.SampleWeightedLoss`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import _check_sample_weight
from skorch.dataset import Dataset
from torch import nn

from ._streaming import GridDataset

#: The keys of a weighted input: the samples and their weights.
INPUT_KEY, WEIGHT_KEY = "x", "sample_weight"


def check_fit_sample_weight(sample_weight: Any, n_samples: int) -> np.ndarray | None:
    """The weights of a fit as float64, or None when they are absent or all equal.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,), float or None
        The weights given to ``fit``; a number weighs every sample alike.
    n_samples : int
        Samples of the data.

    Returns
    -------
    ndarray of shape (n_samples,) or None
        None when every weight is equal: the fit is then the unweighted one, bit for bit.
    """
    if sample_weight is None:
        return None
    # A zero-width stand-in for X: only its length is read (lazy data need not be touched).
    weights = _check_sample_weight(
        sample_weight, np.empty((n_samples, 0)), dtype=np.float64, ensure_non_negative=True
    )
    if not weights.any():
        # scikit-learn >= 1.8 refuses this in _check_sample_weight; older releases let it pass.
        raise ValueError("Sample weights must contain at least one non-zero number.")
    if (weights == weights[0]).all():
        return None
    return weights


def split_input(x: Any) -> tuple[Any, Any]:
    """A batch's input and its weights (None for an unweighted batch)."""
    if isinstance(x, Mapping) and WEIGHT_KEY in x:
        return x[INPUT_KEY], x[WEIGHT_KEY]
    return x, None


def dataset_weights(dataset: Any) -> np.ndarray | None:
    """The weights of the samples of a (split) training dataset, in float64; None if unweighted."""
    indices = None
    if isinstance(dataset, torch.utils.data.Subset):
        indices, dataset = np.asarray(dataset.indices), dataset.dataset
    if isinstance(dataset, GridDataset):
        weights = dataset.sample_weight
    elif isinstance(dataset, Dataset) and isinstance(dataset.X, Mapping):
        weights = dataset.X.get(WEIGHT_KEY)
    else:
        weights = None
    if weights is None:
        return None
    weights = np.asarray(weights, dtype=np.float64)
    return weights if indices is None else weights[indices]


def weight_scale(dataset: Any, split: str) -> float | None:
    """``1 / mean weight`` of a split (see the module docstring); None for unweighted data.

    Raises ValueError when every sample of the split has weight 0: its weighted loss is
    undefined.
    """
    weights = dataset_weights(dataset)
    if weights is None or len(weights) == 0:
        return None
    total = float(weights.sum())
    if total <= 0:
        raise ValueError(
            f"Every sample of the {split} split has sample_weight 0, so its weighted loss is "
            "undefined: give some of its samples a positive weight, change random_state (the "
            "split) or validation_fraction."
        )
    return len(weights) / total


def per_sample_criterion(criterion: nn.Module, loss: Any) -> nn.Module:
    """A copy of ``criterion`` that gives one loss per sample (``reduction="none"``).

    The built-in losses and torch's (``torch.nn.MSELoss``, ...) follow torch's convention: a
    ``reduction`` attribute, ``"mean"`` for the batch mean and ``"none"`` for unreduced losses.
    A weighted fit needs the unreduced ones; another reduction ("sum", or none at all) has no
    weighted counterpart the package could take, so it is refused.

    Parameters
    ----------
    criterion : torch.nn.Module
        The training loss of an unweighted fit.
    loss : object
        The estimator's ``loss`` parameter, named in the error message.

    Returns
    -------
    torch.nn.Module
    """
    reduction = getattr(criterion, "reduction", None)
    if reduction != "mean":
        shown = loss if isinstance(loss, str) else type(criterion).__name__
        raise ValueError(
            f"sample_weight needs a loss that gives one loss per sample: loss={shown!r} "
            + (
                f"has reduction={reduction!r}"
                if reduction is not None
                else "has no 'reduction' attribute (torch's convention)"
            )
            + ". Give a loss module with reduction='mean' whose reduction='none' returns per-sample "
            "losses (n_samples,) or per-value losses of the prediction's shape (as torch.nn's "
            "losses and sklearn_amfno.nn.losses do), use a built-in loss string, or fit without "
            "sample_weight."
        )
    criterion = copy.deepcopy(criterion)
    # torch types Module.__setattr__'s value as Tensor | Module; a plain attribute takes any value.
    criterion.reduction = "none"  # type: ignore[assignment]
    return criterion
