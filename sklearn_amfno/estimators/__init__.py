"""One module per operator family; each turns its parameters into a processor module."""

from .afno import AFNORegressor
from .amfno import AMFNORegressor
from .ffno import FFNORegressor
from .fno import FNORegressor
from .lsm import LSMRegressor
from .oformer import OFormerRegressor
from .ufno import UFNORegressor

__all__ = [
    "AFNORegressor",
    "AMFNORegressor",
    "FFNORegressor",
    "FNORegressor",
    "LSMRegressor",
    "OFormerRegressor",
    "UFNORegressor",
]
