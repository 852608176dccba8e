"""Write ``reference_predictions.npz``: predictions of small seeded fits, kept to prove refactors
change no numbers.

Run once, at commit 97278de (before the ``nn.models`` refactor), with
``python tests/data/make_reference_predictions.py``; ``tests/test_reference_predictions.py`` refits the
same configurations with the current code and compares. The parameter names here are those of that
commit (LSM's ``n_scales`` and ``n_basis`` were renamed since; the test spells the new names).
"""

from pathlib import Path

import numpy as np
import torch

from sklearn_amfno import (
    AFNORegressor,
    AMFNORegressor,
    FFNORegressor,
    FNORegressor,
    LSMRegressor,
    OFormerRegressor,
    UFNORegressor,
)

COMMON = dict(width=8, max_epochs=2, batch_size=8, random_state=0, device="cpu")
CASES = {
    "amfno_mlp": (AMFNORegressor, dict(n_layers=2)),
    "amfno_kan": (AMFNORegressor, dict(kernel="kan", n_layers=2)),
    "amfno_joint": (AMFNORegressor, dict(factorization="joint", basis="fourier", n_layers=2)),
    "fno": (FNORegressor, dict(n_modes=6, n_layers=2)),
    "fno_plus": (FNORegressor, dict(n_modes=None, n_layers=2)),
    "ffno": (FFNORegressor, dict(n_modes=6, n_layers=2)),
    "ufno": (UFNORegressor, dict(n_modes=6, n_layers=2, n_unet_layers=1, unet_levels=2)),
    "afno": (AFNORegressor, dict(n_blocks=2, n_layers=2)),
    "oformer": (OFormerRegressor, dict(n_heads=2, n_layers=1, latent_dim=8)),
    "lsm": (LSMRegressor, dict(n_scales=2, patch_size=2, n_heads=2, n_basis=4)),
}


def data(n_dim: int):
    rng = np.random.default_rng(1)
    shape = (24, 32) if n_dim == 1 else (24, 16, 16)
    X = rng.standard_normal(shape).astype(np.float32)
    y = np.roll(X, 3, axis=1) + 0.5 * X**2
    return X, y


def main() -> None:
    torch.set_num_threads(1)
    out = {}
    for n_dim in (1, 2):
        X, y = data(n_dim)
        for name, (cls, params) in CASES.items():
            est = cls(**params, **COMMON).fit(X[:16], y[:16])
            out[f"{name}_{n_dim}d"] = est.predict(X[16:])
    X, y = data(2)
    est = AMFNORegressor(n_layers=2, **COMMON).fit(X[:16], y[:16].mean(axis=(1, 2)))
    out["amfno_scalar_2d"] = est.predict(X[16:])
    np.savez_compressed(Path(__file__).with_name("reference_predictions.npz"), **out)


if __name__ == "__main__":
    main()
