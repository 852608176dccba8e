"""One module per operator family; each turns its parameters into a processor module."""

from .amfno import AMFNORegressor
from .fno import FNORegressor

__all__ = ["AMFNORegressor", "FNORegressor"]
