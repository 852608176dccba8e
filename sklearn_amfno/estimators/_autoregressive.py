"""Time-dependent problems: a one-step operator trained on windows of a trajectory and rolled out."""

from __future__ import annotations

import math

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

from .._base import BaseOperatorRegressor
from .._compat import NON_NEGATIVE_REAL, POSITIVE_INT, StrOptions
from .._data_contract import MAX_ABS_VALUE
from .._persistence import SaveMixin, register_estimator
from .._resources import device_memory
from .._sample_weight import check_fit_sample_weight
from .._training_checks import check_validation_split
from ..metrics import flat_r2_score
from ._amfno import AMFNORegressor

_GIB = 2.0**30


@register_estimator(name="AutoregressiveRegressor")
class AutoregressiveRegressor(SaveMixin, MetaEstimatorMixin, RegressorMixin, BaseEstimator):
    """Learn the next frames of a trajectory, then predict by rolling out (autoregression).

    The data are trajectories with frames stacked **frame-major** on the last axis: all
    ``n_fields`` fields of frame 1, then of frame 2, ... — the layout of
    :func:`~sklearn_amfno.datasets.make_navier_stokes`, :func:`~sklearn_amfno.datasets.make_cfd_1d`
    and :func:`~sklearn_amfno.datasets.load_pdebench`, so their ``X, y`` go in as they come. ``X``
    holds the first ``n_in`` frames (read from its shape), ``y`` the following ones.

    ``fit`` joins ``X`` and ``y`` into one trajectory per sample and cuts it into windows: the
    last ``n_in`` frames -> the next ``n_steps_out`` frames. A clone of ``estimator`` (its
    ``channel_axis`` set to ``-1``) learns that map:

    - ``training="one_step"`` (teacher forcing): every window of every trajectory is a training
      sample, the inputs always true frames;
    - ``training="rollout"``: the model is trained through its own rollout — ``rollout_steps``
      steps, each fed the previous predictions, the loss summed over the steps (as the FNO
      Navier-Stokes scripts do) — through the inner estimator's skorch net;
    - ``training="pushforward"`` (the pushforward trick [3]_): for each batch, ``k`` is drawn
      uniformly from ``{1, ..., rollout_steps}``; the model is unrolled ``k - 1`` steps from the
      window's true frames **without gradient**, and its ``k``-th step, fed its own
      predictions, is trained on that step's target. The gradient flows through one step only,
      so an update costs one teacher-forced update plus ``k - 1`` forward passes.

    ``input_noise > 0`` adds relative Gaussian noise to the true input frames during training,
    in every mode (never in ``predict``): each channel of each window gets noise of standard
    deviation ``input_noise`` times that channel's standard deviation over the grid
    (:class:`~sklearn_amfno.nn.InputNoise`). The ``k`` of pushforward and the noise are drawn
    from a generator seeded by one draw of the fit's own (``estimator.random_state``), so a fit
    is repeatable and leaves torch's global random state alone.

    ``predict`` starts from ``X`` and feeds predictions back until it has ``n_steps`` frames.

    Parameters
    ----------
    estimator : BaseOperatorRegressor or None, default=None
        The one-step operator (any estimator of this package); ``None`` means
        ``AMFNORegressor()``. Its ``channel_axis`` is set to ``-1`` on the clone.
    n_steps_out : int, default=1
        Frames the operator predicts per step (temporal bundling: a rollout of ``n`` frames
        takes ``ceil(n / n_steps_out)`` model calls).
    n_fields : int, default=1
        Fields per frame (e.g. 1 for vorticity, 3 for (rho, v, p), 4 for 2-D CFD).
    training : {"one_step", "rollout", "pushforward"}, default="one_step"
        Teacher forcing on one-step windows, training through the unrolled steps, or the
        pushforward trick. ``docs/time_dependent.md`` compares them at equal fit time.
    rollout_steps : int or None, default=None
        With ``training="rollout"``, the steps unrolled: ``None`` means as many as ``y`` holds
        (``n_frames_y // n_steps_out``). With ``training="pushforward"``, the largest ``k``:
        ``None`` means 2 (at most one step without gradient, the paper's default), or 1 when
        ``y`` holds a single step. A window spans ``rollout_steps * n_steps_out`` target frames
        in both modes, so larger values leave fewer windows per trajectory.
    input_noise : float, default=0.0
        Relative level of the Gaussian noise added to the input frames in training (0: none).

    Attributes
    ----------
    estimator_ : BaseOperatorRegressor
        The fitted one-step operator (inputs ``n_in * n_fields`` channels, outputs
        ``n_steps_out * n_fields``).
    n_in_ : int
        Input frames, read from ``X``.
    n_frames_out_ : int
        Frames of the training ``y``: what ``predict`` returns by default.
    n_dim_ : int
        Grid axes.
    grid_shape_ : tuple of int
        The training grid; ``predict`` accepts any grid with as many axes.
    rollout_steps_ : int or None
        Steps unrolled in training, the largest ``k`` with pushforward (``None`` for one-step
        training).
    n_windows_ : int
        Training windows per trajectory.

    See Also
    --------
    sklearn_amfno.metrics.rollout_error : relative L2 error per predicted frame.

    References
    ----------
    .. [1] Li, Z., Kovachki, N., Azizzadenesheli, K., Liu, B., Bhattacharya, K., Stuart, A.,
       Anandkumar, A. (2021). Fourier Neural Operator for Parametric Partial Differential
       Equations. ICLR 2021 (the Navier-Stokes rollout: 10 frames in, each next frame fed back).
    .. [2] Xiao, Z., Kou, S., Hao, Z., Lin, B., Ma, Z. (2024). Amortized Fourier Neural Operators.
       NeurIPS 2024 (NS-2D, CFD-1D and CFD-2D benchmarks by rollout).
    .. [3] Brandstetter, J., Worrall, D., Welling, M. (2022). Message Passing Neural PDE Solvers.
       ICLR 2022 (the pushforward trick, section 2.3).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_amfno import AutoregressiveRegressor, FNORegressor
    >>> t = np.arange(8)[None, None, :] * 0.1
    >>> x = np.linspace(0, 1, 32, endpoint=False)[None, :, None]
    >>> phase = np.random.default_rng(0).uniform(0, 1, (20, 1, 1))
    >>> traj = np.sin(2 * np.pi * (x - t - phase))           # 20 trajectories, 8 frames
    >>> X, y = traj[..., :3], traj[..., 3:]                   # 3 frames in, 5 to predict
    >>> est = AutoregressiveRegressor(FNORegressor(n_modes=4, width=8, max_epochs=2, random_state=0))
    >>> est.fit(X, y).predict(X).shape                        # all 5 frames, rolled out
    (20, 32, 5)
    >>> est.predict(X, n_steps=12).shape
    (20, 32, 12)
    """

    _parameter_constraints: dict = {
        "estimator": [None, BaseOperatorRegressor],
        "n_steps_out": POSITIVE_INT,
        "n_fields": POSITIVE_INT,
        "training": [StrOptions({"one_step", "rollout", "pushforward"})],
        "rollout_steps": [None] + POSITIVE_INT,
        "input_noise": NON_NEGATIVE_REAL,
    }

    def __init__(
        self,
        estimator=None,
        n_steps_out=1,
        n_fields=1,
        training="one_step",
        *,
        rollout_steps=None,
        input_noise=0.0,
    ):
        self.estimator = estimator
        self.n_steps_out = n_steps_out
        self.n_fields = n_fields
        self.training = training
        self.rollout_steps = rollout_steps
        self.input_noise = input_noise

    # -- layout ----------------------------------------------------------------------------------

    def _frames(self, a, name: str, n_dim: int | None = None) -> tuple[np.ndarray, int]:
        """``a`` as a float array ``(n, *grid, channels)`` and its frame count."""
        a = np.asarray(a, dtype=float) if not isinstance(a, np.ndarray) else a
        if a.ndim < 3 or a.ndim > 5:
            raise ValueError(
                f"{name} must be (n_samples, *grid, n_frames * n_fields) with 1, 2 or 3 grid axes, "
                f"got shape {a.shape}."
            )
        if n_dim is not None and a.ndim - 2 != n_dim:
            raise ValueError(
                f"{name} of shape {a.shape} has {a.ndim - 2} grid axes, but the estimator was fitted "
                f"on {n_dim}-D grids."
            )
        # Refused here, on the shape the user passed: the windows cut from it would carry the
        # empty axis into the inner estimator, whose message would quote a shape never passed.
        if a.shape[-1] == 0:
            raise ValueError(
                f"{name} of shape {a.shape} has no channels on its last axis: expected "
                f"n_frames * n_fields >= {self.n_fields} channels (n_fields={self.n_fields}), "
                "frame-major."
            )
        if 0 in a.shape[:-1]:
            raise ValueError(
                f"{name} of shape {a.shape} is empty: expected (n_samples, *grid, n_frames * n_fields) "
                "with at least one sample and one point per grid axis."
            )
        if a.shape[-1] % self.n_fields:
            raise ValueError(
                f"{name} has {a.shape[-1]} channels on its last axis, not a multiple of "
                f"n_fields={self.n_fields}: expected n_frames * n_fields channels, frame-major."
            )
        return a, a.shape[-1] // self.n_fields

    # -- fit ---------------------------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None):
        """Train the one-step operator on windows of the trajectories ``[X, y]``.

        Parameters
        ----------
        X : array-like of shape (n_samples, *grid, n_in * n_fields)
            The first ``n_in`` frames of each trajectory, frame-major.
        y : array-like of shape (n_samples, *grid, n_frames * n_fields)
            The following frames, on X's grid, ``n_frames >= n_steps_out``.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            One weight per **trajectory**, given to each of its windows (the inner estimator's
            ``sample_weight``, with its rules: a weight 0 drops the trajectory, equal weights fit
            as none).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        X, n_in = self._frames(X, "X")
        y, n_out = self._frames(y, "y", n_dim=X.ndim - 2)
        if y.shape[:-1] != X.shape[:-1]:
            raise ValueError(
                f"y of shape {y.shape} does not lie on X's grid: expected (n_samples, *grid) = "
                f"{X.shape[:-1]} before the channel axis."
            )
        if n_out < self.n_steps_out:
            raise ValueError(
                f"y holds {n_out} frames, fewer than n_steps_out={self.n_steps_out}: a training window "
                "needs n_steps_out target frames."
            )
        weights = check_fit_sample_weight(sample_weight, len(X))
        estimator = AMFNORegressor() if self.estimator is None else self.estimator
        inner = clone(estimator).set_params(channel_axis=-1)
        f, s = self.n_fields, self.n_steps_out
        trajectory = np.concatenate([X, y], axis=-1)
        if self.training == "one_step":
            steps = None
        elif self.training == "rollout":
            steps = self.rollout_steps or n_out // s
        else:
            # One pushforward step at most by default: the paper's choice, and about 1.3x the
            # cost of a teacher-forced update (docs/time_dependent.md).
            steps = self.rollout_steps or min(2, n_out // s)
        horizon = s * (steps or 1)  # target frames per window
        if horizon > n_out:
            raise ValueError(
                f"rollout_steps={steps} steps of n_steps_out={s} frames need {horizon} target frames, "
                f"but y holds {n_out}."
            )
        starts = range(0, n_out - horizon + 1)
        # The inner estimator's validation split is over windows: say so, before cutting them.
        check_validation_split(
            len(X) * len(starts),
            inner._validation_fraction(),
            early_stopping=inner.early_stopping,
            validation_fraction=inner.validation_fraction,
            unit="windows",
            detail=f"{len(X)} trajectories x {len(starts)} windows each",
        )
        X_windows = np.concatenate([trajectory[..., k * f : (k + n_in) * f] for k in starts])
        y_windows = np.concatenate(
            [trajectory[..., (k + n_in) * f : (k + n_in + horizon) * f] for k in starts]
        )
        inner._fit_rollout(
            X_windows,
            y_windows,
            rollout_steps=steps,
            pushforward=self.training == "pushforward",
            input_noise=float(self.input_noise),
            # The windows are cut start by start, each over all trajectories (above).
            sample_weight=None if weights is None else np.tile(weights, len(starts)),
        )
        self.estimator_ = inner
        self.n_in_, self.n_frames_out_ = n_in, n_out
        self.n_dim_, self.grid_shape_ = X.ndim - 2, tuple(X.shape[1:-1])
        self.rollout_steps_, self.n_windows_ = steps, len(starts)
        return self

    # -- predict -----------------------------------------------------------------------------------

    def predict(self, X, n_steps=None):
        """Roll out from ``X``: predict ``n_steps`` frames, feeding predictions back.

        Parameters
        ----------
        X : array-like of shape (n_samples, *grid, n_in * n_fields)
            The first frames, on any grid with the training number of axes (zero-shot
            super-resolution of the whole rollout).
        n_steps : int or None, default=None
            Frames to predict; ``None`` means as many as the training ``y`` had.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, *grid, n_steps * n_fields)
            Frame-major, the layout of the training ``y``.

        Raises
        ------
        ValueError
            Before the rollout, when its frames cannot fit in this machine's memory (naming
            ``n_steps`` and the largest that fits). During it, when the model's own prediction
            becomes NaN/infinite or exceeds float32 headroom (``|value| > 1e30``): the rollout
            diverged at that step, and the message says so instead of blaming ``X``.
        """
        check_is_fitted(self, "estimator_")
        n_steps = self.n_frames_out_ if n_steps is None else n_steps
        if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
            raise ValueError(f"n_steps must be a positive int (frames to predict), got {n_steps!r}.")
        X, n_in = self._frames(X, "X", n_dim=self.n_dim_)
        if n_in != self.n_in_:
            raise ValueError(
                f"X holds {n_in} frames of {self.n_fields} fields ({X.shape[-1]} channels), but the "
                f"estimator was fitted on {self.n_in_} frames ({self.n_in_ * self.n_fields} channels)."
            )
        self._check_rollout_memory(X, n_steps)
        f, s = self.n_fields, self.n_steps_out
        n_calls = math.ceil(n_steps / s)
        window, frames = X, []
        for step in range(1, n_calls + 1):
            try:
                out = self.estimator_.predict(window)
            except ValueError as error:
                if step == 1:
                    raise  # about the user's X, which the inner estimator has checked
                # The window is the model's own (finite, in range) output: its prediction broke.
                raise self._diverged(step, n_calls, n_steps, "became NaN or infinite") from error
            # Checked before feeding back: the next step would blame its input (the model's own
            # output) as if it were the user's X.
            peak = float(np.abs(out).max()) if out.size else 0.0
            if not np.isfinite(peak):
                raise self._diverged(step, n_calls, n_steps, "became NaN or infinite")
            if peak > MAX_ABS_VALUE:
                raise self._diverged(
                    step,
                    n_calls,
                    n_steps,
                    f"reached {peak:.3g} in magnitude, beyond float32 headroom (|value| <= "
                    f"{MAX_ABS_VALUE:.0e}), so it cannot be fed back",
                )
            frames.append(out)
            window = np.concatenate([window, out], axis=-1)[..., -self.n_in_ * f :]
        return np.concatenate(frames, axis=-1)[..., : n_steps * f]

    def _check_rollout_memory(self, X: np.ndarray, n_steps: int) -> None:
        """Refuse a rollout whose frames cannot fit in this machine's memory, before it starts.

        The frames predicted (``ceil(n_steps / n_steps_out)`` steps of ``n_steps_out`` frames)
        and the array they are joined into are in memory together at the end, so the rollout
        needs at least twice the returned array: a certain lower bound, as for the generators'
        check (:mod:`sklearn_amfno.datasets._budget`).
        """
        total = device_memory("cpu")
        if total is None:
            return
        itemsize = 4 if X.dtype == np.float32 else 8  # the inner predict's output dtype
        per_frame = len(X) * math.prod(X.shape[1:-1]) * self.n_fields * itemsize
        frames = math.ceil(n_steps / self.n_steps_out) * self.n_steps_out
        output = n_steps * per_frame
        need = frames * per_frame + output
        if need <= total:
            return
        fits = max(0, int(total // (2 * per_frame)))
        raise ValueError(
            f"predict(X, n_steps={n_steps}) would return {output / _GIB:.3g} GiB ({len(X)} samples "
            f"of {n_steps} frames of {self.n_fields} fields on the grid {X.shape[1:-1]}, "
            f"{np.dtype(f'f{itemsize}').name}) and holds at least {need / _GIB:.3g} GiB during the "
            f"rollout, more than this machine's {total / _GIB:.1f} GiB of memory, so it cannot "
            f"succeed. Use n_steps <= {fits}, or roll out fewer samples per call (the rollout of "
            "each sample is independent), or continue a rollout from its last frames."
        )

    def _diverged(self, step: int, n_calls: int, n_steps: int, what: str) -> ValueError:
        """The error for a rollout whose own prediction broke at ``step`` (of ``n_calls``)."""
        s = self.n_steps_out
        first, last = (step - 1) * s + 1, min(step * s, n_steps)
        frames = f"frame {first}" if first == last else f"frames {first}-{last}"
        good = (step - 1) * s
        # How the fitted model was trained (not the training parameter, which may have changed).
        if self.rollout_steps_ is not None:
            train = f"a model trained through more rollout steps (rollout_steps_={self.rollout_steps_})"
        else:
            train = (
                'a model trained on its own predictions (training="pushforward" with input_noise > 0, '
                'or training="rollout")'
            )
        if good:
            advice = (
                "the model amplifies its own output as it is fed back. Predict fewer steps "
                f"(n_steps <= {good} ran without this), or use {train}."
            )
        else:
            # Broke on its first output: nothing was fed back yet.
            advice = (
                "its very first output is out of range, so X is far from the training data or the "
                f"model's weights are off. Check that X is scaled like the training data, or use {train}."
            )
        return ValueError(
            f"The rollout diverged at step {step} of {n_calls} ({frames} of n_steps={n_steps}): the "
            f"model's own prediction {what}. The input X was fine (it passed every check); {advice}"
        )

    def score(self, X, y, sample_weight=None) -> float:
        """R² of the whole rollout, outputs flattened and weighted by their variance.

        Parameters
        ----------
        X : array-like of shape (n_samples, *grid, n_in * n_fields)
            The first frames.
        y : array-like of shape (n_samples, *grid, n_frames * n_fields)
            The true following frames; the rollout predicts as many.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
        """
        check_is_fitted(self, "estimator_")
        y, n_frames = self._frames(y, "y", n_dim=self.n_dim_)
        if len(y) != len(np.asarray(X)):
            raise ValueError(f"X and y hold different numbers of samples: {len(np.asarray(X))} and {len(y)}.")
        return flat_r2_score(y, self.predict(X, n_steps=n_frames), sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.allow_nan = False
        return tags
