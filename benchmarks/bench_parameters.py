"""Parameter counts of every estimator at its default settings, on 1-D and 2-D grids.

Counts are real scalars (a complex weight counts two), from ``n_parameters_`` after a one-epoch
fit on a handful of random samples (the modules are built in ``fit``).

    python benchmarks/bench_parameters.py
"""

from __future__ import annotations

import numpy as np
import torch

import sklearn_amfno
from sklearn_amfno._base import BaseOperatorRegressor

GRIDS = {"1-D, 1024 points": (1024,), "2-D, 64 x 64": (64, 64), "2-D, 128 x 128": (128, 128)}


def main() -> None:
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    # The operator estimators (meta-estimators such as AutoregressiveRegressor wrap one of them).
    names = [
        n
        for n in sklearn_amfno.__all__
        if n.endswith("Regressor") and issubclass(getattr(sklearn_amfno, n), BaseOperatorRegressor)
    ]
    print(f"{'estimator':18s}" + "".join(f"{g:>18s}" for g in GRIDS))
    for name in names:
        counts = []
        for shape in GRIDS.values():
            X = rng.standard_normal((2, *shape)).astype(np.float32)
            est = getattr(sklearn_amfno, name)(max_epochs=1, batch_size=2, random_state=0)
            counts.append(est.fit(X, X).n_parameters_)
        print(f"{name:18s}" + "".join(f"{c:18,d}" for c in counts))
    X = rng.standard_normal((2, 64, 64)).astype(np.float32)
    fno_plus = sklearn_amfno.FNORegressor(n_modes=None, max_epochs=1, batch_size=2).fit(X, X)
    print(f"{'FNO+ (n_modes=None) on 64 x 64':34s}{fno_plus.n_parameters_:18,d}")


if __name__ == "__main__":
    main()
