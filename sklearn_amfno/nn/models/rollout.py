"""A one-step operator unrolled in time: predictions fed back as inputs."""

from __future__ import annotations

from typing import Any

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


class _GeneratorState:
    """A ``torch.Generator`` in a pickle: its state."""

    def __init__(self, state: torch.Tensor) -> None:
        self.state = state


class _DrawsFromGenerator(nn.Module):
    """A module drawing from its own ``generator``, which pickles as its state.

    ``torch.Generator`` pickles only from torch 2.4 on; a fitted estimator that keeps such a
    module (the net's training module) must pickle with older releases too.
    """

    generator: torch.Generator | None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_compiled_call_impl", None)
        if isinstance(self.generator, torch.Generator):
            state["generator"] = _GeneratorState(self.generator.get_state())
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        saved = state.get("generator")
        if isinstance(saved, _GeneratorState):
            generator = torch.Generator()
            generator.set_state(saved.state)
            state = {**state, "generator": generator}
        super().__setstate__(state)


class Pushforward(_DrawsFromGenerator):
    """Train a one-step model on its own input: the pushforward trick of Brandstetter et al. [1]_.

    In training mode each call draws ``k`` uniformly from ``{1, ..., n_steps}`` (one ``k`` per
    call, that is per batch, as in the paper), unrolls the model ``k - 1`` steps from the input
    **without gradient** (as :class:`Rollout` does, each step fed the last ``in_channels``
    channels of ``[x, outputs]``) and runs the ``k``-th step with gradient: the gradient flows
    through that last step only, which therefore learns from the kind of input it meets in a
    rollout (its own, slightly wrong, predictions) at the cost of ``k - 1`` forward passes
    without backward. It returns the ``k`` steps concatenated along the channel axis, so the
    loss (:class:`~sklearn_amfno.nn.losses.LastStepLoss`) knows ``k`` from the output's shape.

    In evaluation mode nothing is drawn: all ``n_steps`` steps are unrolled (the validation loss
    is then the error of the ``n_steps``-th step of a rollout).

    Parameters
    ----------
    step : torch.nn.Module
        The one-step model, ``(batch, in_channels, *grid) -> (batch, out_channels, *grid)``.
    n_steps : int
        The largest ``k``; ``n_steps=1`` is teacher forcing.
    in_channels : int
        Channels of the step's input window.
    generator : torch.Generator or None, default=None
        Where ``k`` is drawn from (a CPU generator); ``None`` means torch's global one.

    References
    ----------
    .. [1] Brandstetter, J., Worrall, D., Welling, M. (2022). Message Passing Neural PDE Solvers.
       ICLR 2022 (the pushforward trick, section 2.3).

    Examples
    --------
    >>> import torch
    >>> from sklearn_amfno.nn import FNO, Pushforward
    >>> step = FNO(in_channels=3, out_channels=1, grid_shape=(16,), width=4, n_modes=4)
    >>> model = Pushforward(step, n_steps=4, in_channels=3, generator=torch.Generator().manual_seed(0))
    >>> 1 <= model(torch.randn(2, 3, 16)).shape[1] <= 4    # k steps, the last with gradient
    True
    >>> model.eval()(torch.randn(2, 3, 16)).shape           # evaluation: all the steps
    torch.Size([2, 4, 16])
    """

    def __init__(
        self, step: nn.Module, n_steps: int, in_channels: int, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        if n_steps < 1:
            raise ValueError(f"n_steps must be an int >= 1, got {n_steps!r}.")
        self.step, self.n_steps, self.in_channels = step, n_steps, in_channels
        self.generator = generator

    def draw_steps(self) -> int:
        """``k``, uniform on ``{1, ..., n_steps}``, from the module's generator."""
        return int(torch.randint(1, self.n_steps + 1, (), generator=self.generator).item())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n_steps = self.draw_steps() if self.training else self.n_steps
        outputs = []
        window = x
        with torch.no_grad():
            for _ in range(n_steps - 1):
                out = self.step(window)
                outputs.append(out)
                window = torch.cat([window, out], dim=1)[:, -self.in_channels :]
        outputs.append(self.step(window))
        return torch.cat(outputs, dim=1)


class InputNoise(_DrawsFromGenerator):
    """Add relative Gaussian noise to a model's input in training mode; the identity in evaluation.

    Each channel of each sample gets independent noise of standard deviation ``level`` times
    that channel's standard deviation over the grid (the RMS of its deviation from its spatial
    mean): scale-free, and blind to constant offsets (a density around 1, a pressure around
    1e5), so one ``level`` suits every field. A channel constant over the grid gets no noise;
    so does an input without a grid axis. Training on inputs slightly off the data is the
    stabiliser of rollouts used by the GNS and PDEArena papers [1]_ [2]_.

    Parameters
    ----------
    model : torch.nn.Module
        The model fed the noisy input, ``(batch, channels, *grid) -> ...``.
    level : float
        Relative noise level, ``>= 0``.
    generator : torch.Generator or None, default=None
        Where the noise is drawn from (a CPU generator: the noise is drawn on the CPU and moved
        to the input's device); ``None`` means torch's global one.

    References
    ----------
    .. [1] Sanchez-Gonzalez, A., Godwin, J., Pfaff, T., Ying, R., Leskovec, J., Battaglia, P.
       (2020). Learning to Simulate Complex Physics with Graph Networks. ICML 2020.
    .. [2] Gupta, J. K., Brandstetter, J. (2022). Towards Multi-spatiotemporal-scale Generalized
       PDE Modeling. arXiv:2209.15616 (PDEArena).

    Examples
    --------
    >>> import torch
    >>> from sklearn_amfno.nn import InputNoise
    >>> model = InputNoise(torch.nn.Identity(), level=0.1, generator=torch.Generator().manual_seed(0))
    >>> x = torch.randn(4, 2, 64)
    >>> bool((model(x) != x).all()), bool((model.eval()(x) == x).all())
    (True, True)
    """

    def __init__(self, model: nn.Module, level: float, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if not level >= 0:
            raise ValueError(f"level must be a float >= 0, got {level!r}.")
        self.model, self.level, self.generator = model, level, generator

    def noise(self, x: torch.Tensor) -> torch.Tensor:
        """The noise added to ``x``: ``level`` times each channel's spatial standard deviation."""
        if x.ndim < 3:
            return torch.zeros_like(x)
        scale = x.detach().std(dim=tuple(range(2, x.ndim)), correction=0, keepdim=True)
        draw = torch.randn(x.shape, generator=self.generator, dtype=x.dtype)
        return draw.to(x.device) * (self.level * scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.level > 0:
            x = x + self.noise(x)
        return self.model(x)
