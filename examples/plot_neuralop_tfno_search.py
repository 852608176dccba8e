"""
===========================================================
Grid-searching neuraloperator's TFNO with OperatorRegressor
===========================================================

:class:`~sklearn_amfno.OperatorRegressor` trains any torch module that maps
``(n, c_in, *grid)`` to ``(n, c_out, *grid)`` with this package's estimator machinery: input and
target scaling, the relative L2 loss, AdamW with a cosine schedule, early stopping, ``save``.
The module's own arguments become estimator parameters, ``module__<name>`` (skorch's
convention), so scikit-learn's :class:`~sklearn.model_selection.GridSearchCV` searches them
like any other.

Here the module is neuraloperator's Tucker-factorised FNO (``TFNO``), and the search is over
its factorisation rank: the fraction of a dense FNO's spectral weights it keeps. The channel
counts are filled in from the data. See :doc:`/coming_from_neuraloperator` for the side-by-side
with neuraloperator's ``Trainer``.

This example needs neuraloperator (``pip install neuraloperator``); without it, it says so and
stops.
"""

# %%
# neuraloperator, if installed
# ----------------------------
# The documentation's own build does not install it: each step below then does nothing.
try:
    from neuralop.models import TFNO
except ImportError:
    TFNO = None
    print("neuraloperator is not installed (pip install neuraloperator): this example is skipped.")

# %%
# A small Darcy flow problem
# --------------------------
# Permeability fields in, pressure out, on a 16 x 16 grid; few samples and epochs keep the
# search to seconds on a CPU.
import matplotlib.pyplot as plt
from sklearn.model_selection import GridSearchCV

from sklearn_amfno import OperatorRegressor
from sklearn_amfno.datasets import make_darcy
from sklearn_amfno.metrics import relative_l2_error, relative_l2_scorer

if TFNO is not None:
    X, y = make_darcy(64, 16, random_state=0)
    X_train, X_test, y_train, y_test = X[:48], X[48:], y[:48], y[48:]

# %%
# The search
# ----------
# ``module__n_modes``, ``module__hidden_channels`` and ``module__n_layers`` are passed to
# ``TFNO``; ``in_channels`` and ``out_channels`` are filled in from ``X`` and ``y`` (``TFNO``
# forwards its arguments to ``FNO``, whose signature names them). The grid lists ranks.
if TFNO is not None:
    ranks = [0.02, 0.1, 0.5]
    search = GridSearchCV(
        OperatorRegressor(
            TFNO,
            module__n_modes=(6, 6),
            module__hidden_channels=12,
            module__n_layers=2,
            lr=1e-2,
            max_epochs=12,
            batch_size=8,
            random_state=0,
            device="cpu",
        ),
        {"module__rank": ranks},
        scoring=relative_l2_scorer,
        cv=2,
    )
    search.fit(X_train, y_train)

    cv = search.cv_results_
    cv_error = -cv["mean_test_score"]  # the scorer is the negated error
    print(f"{'rank':>6s} {'cv relative L2':>15s} {'fit time (s)':>13s}")
    for rank, error, seconds in zip(cv["param_module__rank"], cv_error, cv["mean_fit_time"]):
        print(f"{rank:6.2f} {error:15.4f} {seconds:13.2f}")
    print("best:", search.best_params_)

# %%
# The refitted best model
# -----------------------
# ``search.best_estimator_`` is an ordinary fitted estimator: ``predict`` on held-out data,
# ``n_parameters_``, the history in ``net_.history``. With the class registered
# (``sklearn_amfno.register_module(TFNO)``), ``best.save(path)`` writes a file that
# :func:`sklearn_amfno.load` reads without unpickling.
if TFNO is not None:
    best = search.best_estimator_
    error = relative_l2_error(y_test, best.predict(X_test))
    print(f"held-out relative L2: {error:.4f} with {best.n_parameters_} parameters")

    fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
    ax.plot(ranks, cv_error, marker="o")
    ax.set(xscale="log", xlabel="TFNO rank", ylabel="cross-validated relative L2")
    plt.show()

# %%
# With these few epochs the differences are small and depend on the data; rank trades the
# parameter count for expressiveness, so a search on your own data decides.
