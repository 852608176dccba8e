"""
==============================================
Long rollouts: teacher forcing and pushforward
==============================================

A one-step operator trained on true frames only (teacher forcing) never sees its own errors,
yet a rollout feeds it nothing else. ``AutoregressiveRegressor(training="pushforward")`` trains
the step on its own predictions at almost the cost of teacher forcing (one step unrolled without
gradient), and ``input_noise`` trains it on slightly perturbed frames. Here the two together
are compared with teacher forcing on a 20-frame rollout of 2-D Navier-Stokes (viscosity
``1e-3``, 32 x 32), on a budget small enough for the gallery. :doc:`/time_dependent` has the
measured comparison at equal fit time: neither beats teacher forcing on 10 frames, and
pushforward with noise slows the late error growth on 40.
"""

# %%
# Trajectories: 4 frames in, 20 out
# ---------------------------------
import matplotlib.pyplot as plt

from sklearn_amfno import AutoregressiveRegressor, FNORegressor
from sklearn_amfno.datasets import make_navier_stokes
from sklearn_amfno.metrics import rollout_error
from sklearn_amfno.plotting import RolloutErrorDisplay

X, y = make_navier_stokes(40, resolution=32, n_steps_in=4, n_steps_out=20, random_state=0)
X_train, X_test, y_train, y_test = X[:32], X[32:], y[:32], y[32:]
print("X", X.shape, "y", y.shape)

# %%
# Two ways to train the same one-step operator
# --------------------------------------------
# ``rollout_steps=2`` (the default for pushforward): ``k`` is 1 or 2 per batch, so half of the
# updates train the step on its own previous prediction. ``input_noise=0.03``: noise of 3 % of
# each frame's standard deviation on the true input frames, in training only (``predict`` adds
# none). Pushforward without noise, from scratch on a budget this small, is risky: in one try
# its rollout here reached an error of 1.7 by frame 20 (the step learns from its own early,
# poor predictions); the noise kept it on track.
modes = {
    "teacher forcing": dict(training="one_step"),
    "pushforward + noise 0.03": dict(training="pushforward", input_noise=0.03),
}
fig, ax = plt.subplots()
for name, params in modes.items():
    inner = FNORegressor(n_modes=8, width=12, max_epochs=8, random_state=0)
    est = AutoregressiveRegressor(inner, **params).fit(X_train, y_train)
    errors = rollout_error(y_test, est.predict(X_test))
    print(f"{name:>26}: frame 1 {errors[0]:.3f}, frame 20 {errors[-1]:.3f}, mean {errors.mean():.3f}")
    RolloutErrorDisplay(errors=errors).plot(ax=ax, log_scale=True, name=name)
plt.show()
