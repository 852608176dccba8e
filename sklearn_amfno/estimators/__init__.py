"""One module per operator family; each turns its parameters into a processor module."""

from .amfno import AMFNORegressor
from .fno import FNORegressor
from .lsm import LSMRegressor
from .oformer import OFormerRegressor

__all__ = ["AMFNORegressor", "FNORegressor", "LSMRegressor", "OFormerRegressor"]
