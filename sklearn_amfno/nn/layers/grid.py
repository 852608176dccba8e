"""Grid coordinates, the positional input every operator network appends to its channels."""

from __future__ import annotations

import torch


def grid_coordinates(shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
    """Coordinates ``j / n`` of each axis on the unit cube, shape ``(n_dim, *shape)``.

    Points sit at ``j / n`` (the periodic convention of the FFT), so refining a grid by an integer
    factor keeps every coarse point's coordinate.
    """
    axes = [torch.arange(n, device=like.device, dtype=like.dtype) / n for n in shape]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"))
