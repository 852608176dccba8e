"""The smallest setting of each operator family, shared by the tests that run every family.

One place for it: ``tests/test_models.py`` (the torch models and their estimators),
``tests/test_h1_loss.py`` and ``tests/test_persistence.py`` take their per-family settings from
here. A new family adds its line (CONTRIBUTING.md, "Adding an operator family"). The estimator
checks (``tests/test_estimator_checks.py``) and the saved reference predictions
(``tests/test_reference_predictions.py``) keep settings of their own: the checks' must learn
scikit-learn's check data, the references' are frozen with the predictions they reproduce.
"""

from sklearn_amfno import (
    AFNORegressor,
    AMFNORegressor,
    FFNORegressor,
    FNORegressor,
    LSMRegressor,
    OFormerRegressor,
    UFNORegressor,
)
from sklearn_amfno.nn import AFNO, AMFNO, FFNO, FNO, LSM, UFNO, OFormer

#: Architecture keywords per estimator class, for fits of a few epochs on small grids; each is a
#: keyword of the estimator and of its torch model alike.
TINY = {
    AMFNORegressor: dict(width=8, n_layers=2),
    FNORegressor: dict(width=8, n_layers=2, n_modes=4),
    FFNORegressor: dict(width=8, n_layers=2, n_modes=4),
    UFNORegressor: dict(width=8, n_layers=2, n_modes=4, n_unet_layers=1, unet_levels=1),
    AFNORegressor: dict(width=8, n_layers=2, n_blocks=2),
    OFormerRegressor: dict(width=8, n_layers=1, n_heads=2, latent_width=8),
    LSMRegressor: dict(width=8, unet_levels=1, patch_size=2, n_heads=2),
}

#: Each estimator's torch model (``sklearn_amfno.nn``), stated here rather than read from the
#: estimator, so that tests/test_models.py checks that the estimator builds it.
MODEL_OF = {
    AMFNORegressor: AMFNO,
    FNORegressor: FNO,
    FFNORegressor: FFNO,
    UFNORegressor: UFNO,
    AFNORegressor: AFNO,
    OFormerRegressor: OFormer,
    LSMRegressor: LSM,
}
