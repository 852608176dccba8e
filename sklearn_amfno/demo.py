"""Quick demo: AM-FNO against FNO on generated Darcy flow. Run ``python -m sklearn_amfno.demo``.

Generates Darcy problems (-div(a grad u) = 1, piecewise-constant permeability ``a``), fits
AM-FNO (MLP and KAN kernels) and FNO with the same training budget, and prints each model's
test relative L2 error, parameter count and fit time; a progress bar (``verbose=1``) shows each
fit's epochs, loss and time left on stderr. ``--quick`` shrinks everything for a smoke run.
"""

from __future__ import annotations

import argparse
import time

from .datasets import make_darcy
from .estimators import AMFNORegressor, FNORegressor
from .metrics import relative_l2_error


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-train", type=int, default=400)
    parser.add_argument("--n-test", type=int, default=100)
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.quick:
        args.n_train, args.n_test, args.resolution, args.epochs = 32, 8, 16, 2

    t0 = time.perf_counter()
    X, y = make_darcy(args.n_train + args.n_test, args.resolution, random_state=args.seed)
    X_train, X_test, y_train, y_test = (
        X[: args.n_train],
        X[args.n_train :],
        y[: args.n_train],
        y[args.n_train :],
    )
    print(
        f"Darcy flow, {args.resolution}x{args.resolution} grid: {args.n_train} training and "
        f"{args.n_test} test samples generated in {time.perf_counter() - t0:.1f} s"
    )
    common = dict(max_epochs=args.epochs, random_state=args.seed, verbose=1)
    models = {
        "AM-FNO (mlp, chebyshev)": AMFNORegressor(**common),
        "AM-FNO (kan)": AMFNORegressor(kernel="kan", **common),
        "FNO (12 modes)": FNORegressor(n_modes=12, **common),
    }
    print(f"{'model':26s} {'rel. L2 (test)':>15s} {'parameters':>11s} {'fit time':>9s}")
    for name, model in models.items():
        start = time.perf_counter()
        model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        err = relative_l2_error(y_test, model.predict(X_test))
        print(f"{name:26s} {err:15.4f} {model.n_parameters_:11d} {seconds:8.1f}s")


if __name__ == "__main__":
    main()
