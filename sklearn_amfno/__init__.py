"""Neural operators for PDEs as scikit-learn estimators, centred on the Amortized FNO."""

from ._base import IgnoredParameterWarning
from ._data_contract import TargetKindWarning
from ._ensemble import EnsembleRegressor
from ._persistence import load
from ._training import TrainingDivergedError
from .estimators import (
    AFNORegressor,
    AMFNORegressor,
    AutoregressiveRegressor,
    FFNORegressor,
    FNORegressor,
    LSMRegressor,
    OFormerRegressor,
    UFNORegressor,
)

__version__ = "0.2.0.dev0"

__all__ = [
    "AFNORegressor",
    "AMFNORegressor",
    "AutoregressiveRegressor",
    "EnsembleRegressor",
    "FFNORegressor",
    "FNORegressor",
    "LSMRegressor",
    "OFormerRegressor",
    "UFNORegressor",
    "IgnoredParameterWarning",
    "TargetKindWarning",
    "TrainingDivergedError",
    "load",
    "__version__",
]
