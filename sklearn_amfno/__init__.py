"""Neural operators for PDEs as scikit-learn estimators, centred on the Amortized FNO."""

from .estimators import (
    AFNORegressor,
    AMFNORegressor,
    FFNORegressor,
    FNORegressor,
    LSMRegressor,
    OFormerRegressor,
    UFNORegressor,
)

__version__ = "0.1.0"

__all__ = [
    "AFNORegressor",
    "AMFNORegressor",
    "FFNORegressor",
    "FNORegressor",
    "LSMRegressor",
    "OFormerRegressor",
    "UFNORegressor",
    "__version__",
]
