"""The estimators, one private module per family (``_amfno.py``, ``_fno.py``, ...).

Import them from :mod:`sklearn_amfno` (the public path); the module files may move.
"""

from ._afno import AFNORegressor
from ._amfno import AMFNORegressor
from ._autoregressive import AutoregressiveRegressor
from ._ffno import FFNORegressor
from ._fno import FNORegressor
from ._lsm import LSMRegressor
from ._oformer import OFormerRegressor
from ._operator import OperatorRegressor
from ._ufno import UFNORegressor

__all__ = [
    "AFNORegressor",
    "AMFNORegressor",
    "AutoregressiveRegressor",
    "FFNORegressor",
    "FNORegressor",
    "LSMRegressor",
    "OFormerRegressor",
    "OperatorRegressor",
    "UFNORegressor",
]
