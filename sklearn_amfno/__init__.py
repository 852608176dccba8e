"""Neural operators for PDEs as scikit-learn estimators, centred on the Amortized FNO."""

from .estimators import AMFNORegressor, FNORegressor, LSMRegressor, OFormerRegressor

__version__ = "0.1.0"

__all__ = ["AMFNORegressor", "FNORegressor", "LSMRegressor", "OFormerRegressor", "__version__"]
