"""The one backbone every operator model shares: normalise -> lift -> processor -> project -> rescale."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn

from ..layers.blocks import ffn_hidden
from ..layers.grid import grid_coordinates
from ..layers.pointwise import PointwiseLinear, PointwiseMLP

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


class _ChannelScaling(nn.Module):
    """Per-channel affine scalings of input and target held as buffers (saved with the weights).

    The estimators fit them to the training data (``set_scaling``); a model that mixes this in
    calls ``_register_scaling`` in ``__init__``, scales its input by ``(x - x_mean) / x_scale``
    and its output back by ``out * y_scale + y_mean``. Shared by :class:`OperatorNetwork` and
    the wrapper of bring-your-own modules (``OperatorRegressor``).
    """

    x_mean: torch.Tensor
    x_scale: torch.Tensor
    y_mean: torch.Tensor
    y_scale: torch.Tensor

    def _register_scaling(self, in_channels: int, out_channels: int, n_dim: int, pooled: bool) -> None:
        field_shape = (1, -1) + (1,) * n_dim
        self.register_buffer("x_mean", torch.zeros(in_channels).view(field_shape))
        self.register_buffer("x_scale", torch.ones(in_channels).view(field_shape))
        y_shape = (1, -1) if pooled else field_shape
        self.register_buffer("y_mean", torch.zeros(out_channels).view(y_shape))
        self.register_buffer("y_scale", torch.ones(out_channels).view(y_shape))

    def set_scaling(
        self,
        x_mean: ArrayLike | torch.Tensor,
        x_scale: ArrayLike | torch.Tensor,
        y_mean: ArrayLike | torch.Tensor,
        y_scale: ArrayLike | torch.Tensor,
    ) -> None:
        """Store per-channel affine scalings of input and target (array-likes of channel size)."""
        for name, value in zip(
            ("x_mean", "x_scale", "y_mean", "y_scale"), (x_mean, x_scale, y_mean, y_scale)
        ):
            buffer = getattr(self, name)
            buffer.copy_(torch.as_tensor(value, dtype=buffer.dtype).view(buffer.shape))


class OperatorNetwork(_ChannelScaling):
    """Lifting, a processor of operator layers, and a pointwise projection or a pooled head.

    The network takes and returns data in physical units: input and target scaling (fitted by the
    estimator) live here as buffers, so the loss can be the relative L2 error of the real target.

    Parameters
    ----------
    in_channels : int
        Input channels (grid coordinates are appended when ``add_grid``).
    out_channels : int
        Output channels of a field target, or number of outputs of a pooled (per-sample) target.
    n_dim : int
        Number of spatial axes.
    width : int
        Channels inside the processor.
    processor : nn.Module
        Maps ``(batch, width, *grid)`` to the same shape: the operator layers.
    pooled : bool, default=False
        If true, the output is per sample: pointwise ``width -> projection_ratio * width`` (GELU),
        mean over the grid, then linear to ``out_channels``. Else a pointwise MLP
        ``width -> projection_ratio * width -> out_channels``.
    add_grid : bool, default=True
        Append grid coordinates to the input channels before lifting.
    projection_ratio : float, default=4
        Hidden channels of the projection relative to ``width`` (FNO's 128 at width 32).
    domain_padding : float, default=0
        Zero padding appended to every axis of the lifted features before the processor, as a
        fraction of the axis length (``round(domain_padding * n)`` points), cropped before the
        projection: a spectral processor then no longer sees a non-periodic field as periodic
        (FNO pads Darcy the same way). A fraction, not a point count, so the padded domain is the
        same physical length on every grid and super-resolution keeps working.

    Attributes
    ----------
    activation_channels : int
        The widest per-point feature count inside the network (at least the projection's hidden
        layer; the families raise it for wider internals such as attention heads). The
        estimators use it for an up-front memory estimate.

    Examples
    --------
    A processor of your own on the shared backbone:

    >>> import torch
    >>> from sklearn_amfno.nn import OperatorNetwork
    >>> net = OperatorNetwork(1, 1, n_dim=2, width=8, processor=torch.nn.Identity())
    >>> net(torch.randn(4, 1, 16, 16)).shape
    torch.Size([4, 1, 16, 16])
    """

    head: nn.Module

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        n_dim: int,
        width: int,
        processor: nn.Module,
        pooled: bool = False,
        add_grid: bool = True,
        projection_ratio: float = 4,
        domain_padding: float = 0.0,
    ) -> None:
        super().__init__()
        if not 0 <= domain_padding < 10:
            raise ValueError(f"domain_padding must be a fraction in [0, 10), got {domain_padding!r}")
        self.domain_padding = float(domain_padding)
        self.n_dim, self.pooled, self.add_grid = n_dim, pooled, add_grid
        self.in_channels, self.out_channels, self.width = in_channels, out_channels, width
        # The widest per-point feature count inside (the projection's hidden layer at least);
        # families with wider internals raise it. Used for up-front memory estimates.
        self.activation_channels = max(width, ffn_hidden(width, projection_ratio))
        self.lift = PointwiseLinear(in_channels + (n_dim if add_grid else 0), width)
        self.processor = processor
        hidden = ffn_hidden(width, projection_ratio)
        if pooled:
            self.head_features = PointwiseLinear(width, hidden)
            self.head = nn.Linear(hidden, out_channels)
        else:
            self.head = PointwiseMLP(width, hidden, out_channels)
        self._register_scaling(in_channels, out_channels, n_dim, pooled)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.x_mean) / self.x_scale
        if self.add_grid:
            coords = grid_coordinates(tuple(x.shape[2:]), x)
            x = torch.cat([x, coords.expand(x.shape[0], *coords.shape)], dim=1)
        v = self.lift(x)
        if self.domain_padding:
            grid = v.shape[2:]
            pad = padding_points(grid, self.domain_padding)
            # F.pad lists (left, right) pairs from the last axis backwards.
            v = nn.functional.pad(v, [p for n in reversed(pad) for p in (0, n)])
            v = self.processor(v)
            crop = (slice(None), slice(None)) + tuple(slice(0, n) for n in grid)
            v = v[crop]
        else:
            v = self.processor(v)
        if self.pooled:
            features = nn.functional.gelu(self.head_features(v)).flatten(2).mean(-1)
            out = self.head(features)
        else:
            out = self.head(v)
        return out * self.y_scale + self.y_mean


def padding_points(grid_shape: Sequence[int], fraction: float) -> tuple[int, ...]:
    """Points appended per axis for a ``domain_padding`` of ``fraction``: ``round(fraction * n)``."""
    return tuple(int(round(fraction * int(n))) for n in grid_shape)


def padded_shape(grid_shape: Sequence[int], fraction: float) -> tuple[int, ...]:
    """The grid a processor sees after ``domain_padding``; what its mode limits refer to."""
    return tuple(int(n) + p for n, p in zip(grid_shape, padding_points(grid_shape, fraction)))
