"""Refactors change no numbers: seeded fits reproduce predictions saved before the refactor.

``tests/data/reference_predictions.npz`` was written by ``tests/data/make_reference_predictions.py``
at commit 97278de, before the torch models moved to ``sklearn_amfno.nn.models``. The same
configurations (spelled with today's parameter names) refitted now must give the same predictions.
"""

from pathlib import Path

import numpy as np
import pytest

from sklearn_amfno import (
    AFNORegressor,
    AMFNORegressor,
    FFNORegressor,
    FNORegressor,
    LSMRegressor,
    OFormerRegressor,
    UFNORegressor,
)

REFERENCE = np.load(Path(__file__).parent / "data" / "reference_predictions.npz")
COMMON = dict(width=8, max_epochs=2, batch_size=8, random_state=0, device="cpu")
# The references predate ``frequency_map``, the default ``n_basis=32`` and ``dense_modes``: they
# were saved with the linear map, 16 basis functions and no dense modes, all still available.
LINEAR = dict(frequency_map="linear", n_basis=16, dense_modes=0)
CASES = {
    "amfno_mlp": (AMFNORegressor, dict(n_layers=2, **LINEAR)),
    "amfno_kan": (AMFNORegressor, dict(kernel="kan", n_layers=2, **LINEAR)),
    "amfno_joint": (AMFNORegressor, dict(factorization="joint", basis="fourier", n_layers=2, **LINEAR)),
    "fno": (FNORegressor, dict(n_modes=6, n_layers=2)),
    "fno_plus": (FNORegressor, dict(n_modes=None, n_layers=2)),
    "ffno": (FFNORegressor, dict(n_modes=6, n_layers=2)),
    "ufno": (UFNORegressor, dict(n_modes=6, n_layers=2, n_unet_layers=1, unet_levels=2)),
    "afno": (AFNORegressor, dict(n_blocks=2, n_layers=2)),
    "oformer": (OFormerRegressor, dict(n_heads=2, n_layers=1, latent_width=8)),
    # n_scales=2 and n_basis=4 before the renames.
    "lsm": (LSMRegressor, dict(unet_levels=1, patch_size=2, n_heads=2, n_frequencies=4)),
}


def _data(n_dim):
    rng = np.random.default_rng(1)
    shape = (24, 32) if n_dim == 1 else (24, 16, 16)
    X = rng.standard_normal(shape).astype(np.float32)
    y = np.roll(X, 3, axis=1) + 0.5 * X**2
    return X, y


@pytest.mark.parametrize("n_dim", [1, 2])
@pytest.mark.parametrize("name", sorted(CASES))
def test_refit_reproduces_the_predictions_saved_before_the_refactor(name, n_dim):
    cls, params = CASES[name]
    X, y = _data(n_dim)
    pred = cls(**params, **COMMON).fit(X[:16], y[:16]).predict(X[16:])
    np.testing.assert_allclose(pred, REFERENCE[f"{name}_{n_dim}d"], rtol=1e-5, atol=1e-5)


def test_refit_reproduces_the_saved_scalar_target_predictions():
    X, y = _data(2)
    est = AMFNORegressor(n_layers=2, **LINEAR, **COMMON).fit(X[:16], y[:16].mean(axis=(1, 2)))
    np.testing.assert_allclose(est.predict(X[16:]), REFERENCE["amfno_scalar_2d"], rtol=1e-5, atol=1e-5)
