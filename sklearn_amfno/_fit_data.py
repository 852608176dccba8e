"""One fit's training data: validated in one chunked pass, then asked, never branched on.

:func:`prepare_fit_data` is ``fit``'s data step. It reads ``X`` and ``y`` once, chunk by chunk:
data in memory are one chunk (the validated arrays, which the net then trains on), lazily loaded
data (``_streaming.is_lazy``: memmap, h5py, zarr, the readers' ``LazyArray``) chunks of about
``_streaming.CHUNK_BYTES`` that are never held whole (the net then reads them sample by sample
through a ``_streaming.GridDataset``). Every chunk passes the data contract's checks
(``_data_contract``) and feeds the per-channel scaling statistics (weighted in a weighted fit,
``_streaming.ChannelMoments``) and the per-sample target norms.

The :class:`FitData` it returns holds the data, the fitted attributes their layout fixes, the
statistics, the norms and the weights. The estimator asks it for each of them
(:meth:`FitData.net_input`, :meth:`FitData.typical_norm`, ...); what differs between data in
memory and streamed data is in its two subclasses, nowhere else.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_consistent_length

from ._data_contract import (
    check_grid_input,
    check_grid_shape,
    check_grid_target,
    classify_target,
    warn_if_field_like,
)
from ._sample_weight import INPUT_KEY, WEIGHT_KEY, check_fit_sample_weight
from ._streaming import (
    ChannelMoments,
    GridDataset,
    check_map_intact,
    is_lazy,
    materialize,
    release_pages,
    rows_per_chunk,
)
from .metrics import _root_mean_square, _sample_norms
from .nn.losses import DEGENERATE_THRESHOLD

__all__ = ["FitData", "prepare_fit_data"]


class FitData:
    """The training data of one fit and what one pass over them learned.

    Built by :func:`prepare_fit_data`; use a subclass's instance, never this class.

    Attributes
    ----------
    fitted : dict
        The fitted attributes the data fix: ``n_dim_``, ``grid_shape_``, ``n_channels_in_``,
        ``n_features_in_``, ``target_kind_``, ``_y_has_channels``, ``n_outputs_``.
    x_statistics, y_statistics : tuple of ndarray
        Per-channel ``(mean, scale)`` of the inputs and the (one-step) targets in the network's
        layout, weighted in a weighted fit (``preprocessing.channel_statistics``' rule).
    sample_norms : ndarray of shape (n_samples,)
        The L2 norm of each (one-step) target sample.
    sample_weight : ndarray of shape (n_samples,) or None
        The validated weights; None for an unweighted fit (also when all weights are equal).
    rollout_steps : int or None
        Steps along the targets' last axis for training through unrolled steps.
    """

    def __init__(
        self,
        *,
        fitted: dict,
        moments: tuple[ChannelMoments, ChannelMoments],
        sample_norms: np.ndarray,
        sample_weight: np.ndarray | None,
        rollout_steps: int | None = None,
    ) -> None:
        self.fitted = fitted
        self.x_statistics = moments[0].statistics()
        self.y_statistics = moments[1].statistics()
        self.sample_norms = sample_norms
        self.sample_weight = sample_weight
        self.rollout_steps = rollout_steps

    def __len__(self) -> int:
        return len(self.sample_norms)

    def typical_norm(self) -> tuple[float, np.ndarray]:
        """The typical target norm and the mask of degenerate (near-zero) target samples.

        Equal to ``metrics.typical_norm(y)`` and ``metrics.degenerate_target_mask(y,
        reference_norm=...)``. With weights, the typical norm is the weighted root mean square
        (a sample of weight 0 counts for nothing) and samples of weight 0 are never degenerate.
        """
        typical = _root_mean_square(self.sample_norms, self.sample_weight)
        degenerate = self.sample_norms <= DEGENERATE_THRESHOLD * typical
        if self.sample_weight is not None:
            degenerate &= self.sample_weight > 0
        return typical, degenerate

    def net_input(self) -> Any:
        """What the skorch net fits on as ``X`` (the weights travel with it in a weighted fit)."""
        raise NotImplementedError

    def net_target(self) -> np.ndarray | None:
        """What the skorch net fits on as ``y`` (every unrolled step for rollout training)."""
        raise NotImplementedError

    def probe_target(self) -> torch.Tensor:
        """Two training targets in the network's layout (float32), to try a loss module on."""
        raise NotImplementedError


class _InMemory(FitData):
    """Data in memory, validated whole: the net trains on the arrays themselves."""

    def __init__(self, X: np.ndarray, y: np.ndarray, unrolled: np.ndarray | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.X, self.y, self.unrolled = X, y, unrolled

    def net_input(self) -> Any:
        if self.sample_weight is None:
            return self.X
        # skorch's dataset and validation split index a dict of arrays row by row.
        return {INPUT_KEY: self.X, WEIGHT_KEY: self.sample_weight.astype(np.float32)}

    def net_target(self) -> np.ndarray:
        return self.y if self.unrolled is None else self.unrolled

    def probe_target(self) -> torch.Tensor:
        return torch.as_tensor(np.asarray(self.y[:2], dtype=np.float32))


class _Streamed(FitData):
    """Lazily loaded data: the net reads them sample by sample through a GridDataset."""

    def __init__(self, dataset: GridDataset, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dataset = dataset

    def net_input(self) -> GridDataset:
        return self.dataset  # its items carry the weights

    def net_target(self) -> None:
        return None  # the dataset holds y

    def probe_target(self) -> torch.Tensor:
        items = [self.dataset[i][1] for i in range(min(2, len(self.dataset)))]
        return torch.as_tensor(np.stack(items))


class _Pass:
    """What the pass over the data accumulates, chunk by chunk."""

    def __init__(self, n_samples: int, sample_weight: np.ndarray | None) -> None:
        self.moments = (ChannelMoments(), ChannelMoments())
        self.sample_norms = np.empty(n_samples)
        self.sample_weight = sample_weight

    def add(self, start: int, x: np.ndarray, y: np.ndarray) -> None:
        """Samples ``start:start + len(x)``, validated, in the network's layout."""
        stop = start + len(x)
        weights = None if self.sample_weight is None else self.sample_weight[start:stop]
        self.moments[0].update(x, weights)
        self.moments[1].update(y, weights)
        self.sample_norms[start:stop] = _sample_norms(
            np.asarray(y, dtype=np.float64).reshape(stop - start, -1)
        )


def _fitted_attributes(
    grid: tuple[int, ...], n_channels: int, kind: str, has_channels: bool, n_outputs: int
) -> dict:
    return {
        "n_dim_": len(grid),
        "grid_shape_": tuple(int(n) for n in grid),
        "n_channels_in_": int(n_channels),
        "n_features_in_": int(n_channels) * int(np.prod(grid)),
        "target_kind_": kind,
        "_y_has_channels": has_channels,
        "n_outputs_": int(n_outputs),
    }


def _passed_x_shape(shape: tuple[int, ...], channel_axis: int | None) -> tuple[int, ...]:
    """The shape of a validated (channels-first) ``X`` as the user passed it, for messages."""
    n, channels, *grid = shape
    return (n, *grid) if channel_axis is None else (n, *grid, channels)


def prepare_fit_data(
    X: Any,
    y: Any,
    *,
    channel_axis: int | None,
    target_kind: str = "auto",
    sample_weight: Any = None,
    rollout_steps: int | None = None,
    estimator: Any = None,
    stacklevel: int = 2,
) -> FitData:
    """Validate the training data in one chunked pass and learn what ``fit`` needs of them.

    Parameters
    ----------
    X, y : array-like or lazy arrays
        Training data in the data contract's layout (``docs/architecture.md``).
    channel_axis : None or -1
        X's channel axis.
    target_kind : {"auto", "field", "vector"}, default="auto"
        How ``y`` is read (``_data_contract.check_grid_target``); ``"auto"`` warns where a
        per-sample ``y`` looks like a field.
    sample_weight : array-like of shape (n_samples,) or None, default=None
        Weights of the samples (``_sample_weight.check_fit_sample_weight``).
    rollout_steps : int or None, default=None
        ``y`` holds this many steps along its last axis (rollout training): the data are loaded
        into memory, the statistics and norms are those of the first step.
    estimator : estimator, optional
        Named in error messages.
    stacklevel : int, default=2
        Of the target-kind warning, as in ``warnings.warn`` called here: 2 names the caller.

    Returns
    -------
    FitData
    """
    unrolled = None
    if rollout_steps is not None:
        # Rollout training joins X and y in memory: lazy data are loaded.
        X = materialize(X)
        unrolled = np.asarray(y)
        if unrolled.ndim < 3 or unrolled.shape[-1] % rollout_steps:
            raise ValueError(
                f"y of shape {unrolled.shape} must hold {rollout_steps} steps along its last axis."
            )
        y = unrolled[..., : unrolled.shape[-1] // rollout_steps]
    if is_lazy(X) or is_lazy(y):
        return _streamed(X, y, channel_axis, target_kind, sample_weight, estimator, stacklevel + 1)
    X = check_grid_input(X, channel_axis=channel_axis, estimator=estimator)
    grid = tuple(X.shape[2:])
    x_shape = _passed_x_shape(X.shape, channel_axis)
    y, kind, has_channels = check_grid_target(y, grid, len(X), target_kind=target_kind, x_shape=x_shape)
    if target_kind == "auto" and kind == "vector":
        warn_if_field_like(y.shape, x_shape, grid, stacklevel=stacklevel)
    weights = check_fit_sample_weight(sample_weight, len(X))
    if unrolled is not None:
        unrolled = check_grid_target(unrolled, grid, len(X))[0]
    summary = _Pass(len(X), weights)
    summary.add(0, X, y)  # data in memory: one chunk
    return _InMemory(
        X,
        y,
        unrolled,
        fitted=_fitted_attributes(grid, X.shape[1], kind, has_channels, y.shape[1]),
        moments=summary.moments,
        sample_norms=summary.sample_norms,
        sample_weight=weights,
        rollout_steps=rollout_steps,
    )


def _streamed(
    X: Any,
    y: Any,
    channel_axis: int | None,
    target_kind: str,
    sample_weight: Any,
    estimator: Any,
    stacklevel: int,
) -> _Streamed:
    """:func:`prepare_fit_data` of lazily loaded data: chunks that are never held together."""
    if y is None:
        raise ValueError("This estimator requires y to be passed, but the target y is None.")
    X = X if is_lazy(X) else np.asarray(X)
    y = y if is_lazy(y) else np.asarray(y)
    shape = tuple(int(s) for s in X.shape)
    if len(shape) < 2 or shape[0] == 0:
        # The in-memory checks word these (rank, no samples) exactly: let them refuse.
        check_grid_input(np.asarray(X[:1]), channel_axis=channel_axis, estimator=estimator)
    grid, n_channels = check_grid_shape(shape, channel_axis=channel_axis)
    # target_kind's errors and warning, on the shapes, before any chunk is read.
    y_shape = tuple(int(s) for s in np.shape(y))
    kind, _ = classify_target(y_shape, grid, target_kind=target_kind, x_shape=shape)
    if target_kind == "auto" and kind == "vector":
        warn_if_field_like(y_shape, shape, grid, stacklevel=stacklevel)
    n = shape[0]
    check_consistent_length(np.empty((n, 0)), np.empty((int(y.shape[0]) if y.ndim else 0, 0)))
    weights = check_fit_sample_weight(sample_weight, n)
    rows = rows_per_chunk(shape)
    summary = _Pass(n, weights)
    has_channels, n_outputs = False, 0
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        check_map_intact(X, "X")
        check_map_intact(y, "y")
        xc = check_grid_input(X[start:stop], channel_axis=channel_axis, estimator=estimator)
        yc, kind, has_channels = check_grid_target(y[start:stop], grid, stop - start, target_kind=target_kind)
        summary.add(start, xc, yc)
        n_outputs = yc.shape[1]
        del xc, yc
        release_pages(X)
        release_pages(y)
    dataset = GridDataset(
        X, y, channel_axis=channel_axis, target_kind=kind, y_has_channels=has_channels, sample_weight=weights
    )
    return _Streamed(
        dataset,
        fitted=_fitted_attributes(grid, n_channels, kind, has_channels, n_outputs),
        moments=summary.moments,
        sample_norms=summary.sample_norms,
        sample_weight=weights,
    )
