"""A one-step operator unrolled in time: predictions fed back as inputs."""

from __future__ import annotations

import torch
from torch import nn


class Rollout(nn.Module):
    """Unroll a one-step model ``n_steps`` times, feeding its outputs back.

    The input holds the last ``in_channels`` channels of a trajectory (frame-major: all fields of
    the oldest frame first); each step's output (the next frames) is appended and the window
    slides to the last ``in_channels`` channels. The outputs of all steps are concatenated along
    the channel axis.

    Parameters
    ----------
    step : torch.nn.Module
        The one-step model, ``(batch, in_channels, *grid) -> (batch, out_channels, *grid)``.
    n_steps : int
        Steps to unroll.
    in_channels : int
        Channels of the step's input window.

    Examples
    --------
    >>> import torch
    >>> from sklearn_amfno.nn import FNO, Rollout
    >>> step = FNO(in_channels=3, out_channels=1, grid_shape=(16,), width=4, n_modes=4)
    >>> Rollout(step, n_steps=5, in_channels=3)(torch.randn(2, 3, 16)).shape
    torch.Size([2, 5, 16])
    """

    def __init__(self, step: nn.Module, n_steps: int, in_channels: int) -> None:
        super().__init__()
        self.step, self.n_steps, self.in_channels = step, n_steps, in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = []
        window = x
        for _ in range(self.n_steps):
            out = self.step(window)
            outputs.append(out)
            window = torch.cat([window, out], dim=1)[:, -self.in_channels :]
        return torch.cat(outputs, dim=1)
