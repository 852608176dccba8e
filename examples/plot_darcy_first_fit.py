"""
=====================================
A first fit: AM-FNO and FNO on Darcy
=====================================

Darcy flow, ``-div(a grad u) = 1`` on the unit square with ``u = 0`` on the boundary, is the
classic steady benchmark of neural operators: the input is a piecewise-constant permeability
``a``, the output the pressure ``u``. We generate a small data set, fit the Amortized FNO and the
classic FNO with the same width and training budget, and compare their test errors, parameter
counts and predictions.
"""

# %%
# Data
# ----
# :func:`~sklearn_amfno.datasets.make_darcy` solves the problem for random permeabilities;
# ``X`` and ``y`` are ``(n_samples, 32, 32)`` arrays, one channel each.
import matplotlib.pyplot as plt

from sklearn_amfno import AMFNORegressor, FNORegressor
from sklearn_amfno.datasets import make_darcy
from sklearn_amfno.metrics import relative_l2_error
from sklearn_amfno.plotting import FieldDisplay, SpectrumDisplay, TrainingCurveDisplay

X, y = make_darcy(200, resolution=32, random_state=0)
X_train, X_test, y_train, y_test = X[:160], X[160:], y[:160], y[160:]
print(X_train.shape, y_train.shape)

# %%
# Two estimators, one budget
# --------------------------
# Both are scikit-learn regressors. AM-FNO generates its spectral kernel ``R(k)`` with a small
# network of the wavenumber and uses every Fourier mode; FNO stores one weight matrix per kept
# mode. The defaults are larger (``width=32``, 100 epochs); here everything is shrunk to run in
# seconds.
common = dict(width=16, max_epochs=20, random_state=0)
estimators = {
    "AM-FNO": AMFNORegressor(**common),
    "FNO (8 modes)": FNORegressor(n_modes=8, **common),
}
predictions = {}
for name, est in estimators.items():
    est.fit(X_train, y_train)
    predictions[name] = est.predict(X_test)
    error = relative_l2_error(y_test, predictions[name])
    print(f"{name:14s} test relative L2 {error:.4f}  parameters {est.n_parameters_:7d}")

# %%
# The training history is skorch's: ``est.net_.history`` holds the loss of every epoch, and
# :class:`~sklearn_amfno.plotting.TrainingCurveDisplay` draws it.
fig, ax = plt.subplots(figsize=(5, 3.2), layout="constrained")
for name, est in estimators.items():
    TrainingCurveDisplay.from_estimator(est, ax=ax, name=name)

# %%
# One test sample
# ---------------
# :class:`~sklearn_amfno.plotting.FieldDisplay` shows the permeability, the solver's pressure,
# AM-FNO's prediction (on the same colour scale) and the error.
FieldDisplay.from_predictions(y_test, predictions["AM-FNO"], X=X_test, sample_index=0)

# %%
# Error by wavenumber
# -------------------
# :class:`~sklearn_amfno.plotting.SpectrumDisplay` splits each model's error into shells of the
# radial wavenumber: it shows at which scales a model loses accuracy. FNO keeps the 8 lowest
# modes per axis; AM-FNO acts on all of them.
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True, layout="constrained")
for ax, (name, y_pred) in zip(axes, predictions.items()):
    SpectrumDisplay.from_predictions(y_test, y_pred, ax=ax, name=name)
    ax.set_title(name)
plt.show()

# %%
# With the full defaults and 400 training samples, ``python -m sklearn_amfno.demo`` trains both
# for longer on a larger set (see the README for its output). At the small budget above, the
# printed errors show where the two stand after a few seconds of training, not their accuracy
# at convergence.
