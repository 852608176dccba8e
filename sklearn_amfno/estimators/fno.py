"""FNO: the Fourier neural operator with one stored weight per kept mode (Li et al., 2021)."""

from __future__ import annotations

import numbers

from sklearn.utils._param_validation import Interval
from torch import nn

from .._base import BaseOperatorRegressor, fill_doc, store_parameters
from ..nn.layers import FourierBlock
from ..nn.spectral import DenseSpectralKernel, SpectralConv


def resolve_modes(n_modes, limits: tuple[int, ...]) -> tuple[int, ...]:
    """Modes kept per axis: ``n_modes`` (int, tuple, or ``None`` for all) clipped to ``limits``.

    ``limits`` is what the training grid holds on each axis. A grid too coarse for the requested
    modes keeps all it holds (as FNO code slicing the spectrum does), so default settings run on
    any data, including small test grids. Raises ValueError for anything but a positive int or a
    tuple of one positive int per axis.
    """
    d = len(limits)
    if n_modes is None:
        return tuple(limits)
    modes = (n_modes,) * d if isinstance(n_modes, numbers.Integral) else tuple(n_modes)
    if len(modes) != d or not all(isinstance(m, numbers.Integral) and m >= 1 for m in modes):
        raise ValueError(
            f"n_modes must be a positive int or a tuple of {d} positive ints for a {d}-D grid, "
            f"got {n_modes!r}."
        )
    return tuple(int(min(m, lim)) for m, lim in zip(modes, limits))


def rfftn_mode_limits(grid_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Modes an ``rfftn`` spectrum holds per axis: ``(n + 1) // 2`` per sign on full axes."""
    *full, last = grid_shape
    return tuple((n + 1) // 2 for n in full) + (last // 2 + 1,)


class FNORegressor(BaseOperatorRegressor):
    """Fourier Neural Operator (Li et al., ICLR 2021), and FNO+ with ``n_modes=None``.

    Each layer is ``act(K v + W v)``, ``K`` keeping the lowest ``n_modes`` wavenumbers per axis
    (the corner blocks of the spectrum) with a learned complex matrix per mode, ``W`` a pointwise
    linear map; the last layer has no activation.

    Parameters
    ----------
    n_modes : int, tuple of int or None, default=12
        Modes kept per axis (wavenumbers ``-m <= k < m``; ``0 <= k < m`` on the last axis).
        ``None`` keeps every mode of the training grid (FNO+, "no truncation"); the parameter
        count then grows with the grid.
    {common_parameters}

    Attributes
    ----------
    n_modes_ : tuple of int
        The modes kept per axis.
    {common_attributes}

    See Also
    --------
    AMFNORegressor : the amortized kernel, every mode at a fixed parameter count.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_amfno import FNORegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((16, 32))
    >>> est = FNORegressor(n_modes=8, width=8, max_epochs=2, random_state=0).fit(X, 2 * X)
    >>> est.predict(X[:2]).shape
    (2, 32)
    """

    _parameter_constraints: dict = {
        **BaseOperatorRegressor._parameter_constraints,
        "n_modes": [None, Interval(numbers.Integral, 1, None, closed="left"), tuple, list],
    }

    def __init__(
        self,
        n_modes=12,
        *,
        width=32,
        n_layers=4,
        channel_axis=None,
        add_grid=True,
        loss="auto",
        lr=1e-2,
        weight_decay=1e-4,
        lr_schedule="cosine",
        max_epochs=100,
        batch_size=32,
        validation_fraction=None,
        device="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
    ):
        store_parameters(self, locals())

    def _validate_family_params(self, grid_shape: tuple[int, ...]) -> None:
        self.n_modes_ = resolve_modes(self.n_modes, rfftn_mode_limits(grid_shape))

    def _build_processor(self, n_dim: int, grid_shape: tuple[int, ...]) -> nn.Module:
        return nn.Sequential(
            *(
                FourierBlock(
                    SpectralConv(DenseSpectralKernel(self.width, self.width, self.n_modes_), n_dim),
                    self.width,
                    activation=i < self.n_layers - 1,
                )
                for i in range(self.n_layers)
            )
        )


fill_doc(FNORegressor)
