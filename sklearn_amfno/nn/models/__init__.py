"""Operator models: the backbone with each family's processor, plain torch modules.

Each model maps ``(batch, in_channels, *grid)`` to ``(batch, out_channels, *grid)`` (or
``(batch, out_channels)`` with ``pooled=True``) on any grid with as many axes as the
``grid_shape`` it was built for, and trains in any torch loop.
"""

from .afno import AFNO
from .amfno import AMFNO
from .backbone import OperatorNetwork
from .ffno import FFNO
from .fno import FNO
from .lsm import LSM
from .oformer import OFormer
from .rollout import InputNoise, Pushforward, Rollout
from .ufno import UFNO

__all__ = [
    "AFNO",
    "AMFNO",
    "FFNO",
    "FNO",
    "InputNoise",
    "LSM",
    "OFormer",
    "OperatorNetwork",
    "Pushforward",
    "Rollout",
    "UFNO",
]
