"""Torch modules, usable without the estimators.

- :mod:`sklearn_amfno.nn.models`: the operator models ``AMFNO``, ``FNO``, ``FFNO``, ``UFNO``,
  ``AFNO``, ``OFormer``, ``LSM`` (each the shared :class:`OperatorNetwork` backbone with its
  family's processor) — plain ``torch.nn.Module`` s for your own training loop.
- :mod:`sklearn_amfno.nn.layers`: the blocks they are built from (spectral convolutions and
  kernels, bases, KAN, attention, U-Nets, ...).
- :mod:`sklearn_amfno.nn.losses`: the training criteria.
"""

from .losses import LastStepLoss, RelativeH1Loss, RelativeL2Loss, ScaledMSELoss, StepwiseLoss
from .models import (
    AFNO,
    AMFNO,
    FFNO,
    FNO,
    LSM,
    UFNO,
    InputNoise,
    OFormer,
    OperatorNetwork,
    Pushforward,
    Rollout,
)

__all__ = [
    "AFNO",
    "AMFNO",
    "FFNO",
    "FNO",
    "InputNoise",
    "LastStepLoss",
    "LSM",
    "UFNO",
    "OFormer",
    "OperatorNetwork",
    "Pushforward",
    "RelativeH1Loss",
    "RelativeL2Loss",
    "Rollout",
    "ScaledMSELoss",
    "StepwiseLoss",
]
