"""
======================================
Rolling out a Navier-Stokes trajectory
======================================

Time-dependent benchmarks give a model the first frames of a trajectory and ask for the
following ones, each predicted from the previous predictions. Here the 2-D incompressible
Navier-Stokes equations in vorticity form (the FNO benchmark's forcing, viscosity ``1e-3``) on a
32 x 32 torus: the model sees 4 frames and rolls out the next 8.
"""

# %%
# Trajectories, frame-major
# -------------------------
# :func:`~sklearn_amfno.datasets.make_navier_stokes` returns ``X`` with the first
# ``n_steps_in`` frames and ``y`` with the next ``n_steps_out`` on the last axis, one time unit
# apart: the layout :class:`~sklearn_amfno.AutoregressiveRegressor` takes as it comes.
import matplotlib.pyplot as plt

from sklearn_amfno import AMFNORegressor, AutoregressiveRegressor
from sklearn_amfno.datasets import make_navier_stokes
from sklearn_amfno.metrics import rollout_error
from sklearn_amfno.plotting import FieldDisplay, RolloutErrorDisplay

X, y = make_navier_stokes(32, resolution=32, n_steps_in=4, n_steps_out=8, random_state=0)
X_train, X_test, y_train, y_test = X[:24], X[24:], y[:24], y[24:]
print("X", X.shape, "y", y.shape)

# %%
# A one-step operator, trained by teacher forcing
# -----------------------------------------------
# ``fit`` cuts each trajectory into windows (4 frames -> the next one) and fits a clone of the
# inner estimator on them. ``training="rollout"`` would instead train through the unrolled
# steps, which costs more per epoch and usually slows the error growth
# (:doc:`/time_dependent`).
est = AutoregressiveRegressor(AMFNORegressor(width=16, max_epochs=20, random_state=0))
est.fit(X_train, y_train)
print("training windows per trajectory:", est.n_windows_)

# %%
# Rollout and error growth
# ------------------------
# ``predict`` feeds each predicted frame back as input; :func:`~sklearn_amfno.metrics.rollout_error`
# gives the relative L2 error of every predicted frame.
y_pred = est.predict(X_test)
errors = rollout_error(y_test, y_pred)
for step, error in enumerate(errors, start=1):
    print(f"frame {step}: relative L2 {error:.4f}")

RolloutErrorDisplay.from_predictions(y_test, y_pred, name="AM-FNO, teacher forcing")

# %%
# The vorticity of one test trajectory at the last predicted frame: the solver's, the rollout's
# (same colour scale) and their difference. ``channel_index`` picks the frame.
FieldDisplay.from_predictions(y_test, y_pred, channel_axis=-1, channel_index=-1, cmap="RdBu_r")
plt.show()
