"""Neural operators for PDEs as scikit-learn estimators, centred on the Amortized FNO.

The public names and submodules are imported on first use (PEP 562), so that
``import sklearn_amfno.datasets`` (NumPy and SciPy) loads neither torch nor skorch;
``from sklearn_amfno import AMFNORegressor`` and ``sklearn_amfno.load`` import what they need.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from ._version import __version__

__all__ = [
    "AFNORegressor",
    "AMFNORegressor",
    "AutoregressiveRegressor",
    "EnsembleRegressor",
    "FFNORegressor",
    "FNORegressor",
    "LSMRegressor",
    "OFormerRegressor",
    "OperatorRegressor",
    "UFNORegressor",
    "IgnoredParameterWarning",
    "TargetKindWarning",
    "TrainingDivergedError",
    "load",
    "register_module",
    "__version__",
]

# Each public name and the module (relative to this package) it is imported from.
_LAZY_NAMES = {
    "AFNORegressor": ".estimators",
    "AMFNORegressor": ".estimators",
    "AutoregressiveRegressor": ".estimators",
    "FFNORegressor": ".estimators",
    "FNORegressor": ".estimators",
    "LSMRegressor": ".estimators",
    "OFormerRegressor": ".estimators",
    "OperatorRegressor": ".estimators",
    "UFNORegressor": ".estimators",
    "EnsembleRegressor": "._ensemble",
    "IgnoredParameterWarning": "._base",
    "TargetKindWarning": "._data_contract",
    "TrainingDivergedError": "._training",
    "load": "._persistence",
    "register_module": "._file_schema",
}

# The public submodules, listed by ``dir``. These and the private ones (``_base``, ...), which
# ``import sklearn_amfno`` used to import, are imported when first read as attributes.
_SUBMODULES = frozenset(
    {
        "callbacks",
        "datasets",
        "estimators",
        "metrics",
        "nn",
        "parallel",
        "plotting",
        "preprocessing",
    }
)

if TYPE_CHECKING:  # static tools see the names as plain imports
    from ._base import IgnoredParameterWarning
    from ._data_contract import TargetKindWarning
    from ._ensemble import EnsembleRegressor
    from ._file_schema import register_module
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
        OperatorRegressor,
        UFNORegressor,
    )


def __getattr__(name: str) -> Any:
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(_LAZY_NAMES[name], __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    if name in _SUBMODULES or (
        not name.startswith("__") and importlib.util.find_spec(f"{__name__}.{name}") is not None
    ):
        # import_module binds the submodule as an attribute of this package.
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(__all__) | _SUBMODULES)
