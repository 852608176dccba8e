"""Uncertainty: a deep ensemble of operators and split-conformal bands around its mean."""

from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, MetaEstimatorMixin, RegressorMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from ._compat import OPEN_FRACTION, POSITIVE_INT, RANDOM_STATE, HasMethods, StrOptions
from ._persistence import SaveMixin, register_estimator
from ._resources import resolve_device
from ._sample_weight import check_fit_sample_weight
from .datasets._constraints import N_JOBS
from .estimators import AMFNORegressor
from .metrics import flat_r2_score

# A quantile level is a product of floats (0.9 * 41 = 36.900000000000006): shave the last bits
# before the ceiling so that an exact integer is not rounded up to the next order statistic.
_CEIL_TOLERANCE = 1e-12

# The normalised score divides by the members' spread; where the members agree to within this
# fraction of their mean spread on the calibration set, that floor is used instead, so a point
# where all members coincide cannot produce an infinite score.
_STD_FLOOR_FRACTION = 1e-3


_OPEN_UNIT = OPEN_FRACTION[0]


def _fit_member(estimator, X, y, sample_weight=None):
    if sample_weight is None:
        return estimator.fit(X, y)
    return estimator.fit(X, y, sample_weight=sample_weight)


def _seed_parameters(estimator) -> list[str]:
    """The parameters (nested ones included) that seed ``estimator``: ``random_state`` and
    ``<step>__random_state``, as scikit-learn's ensembles find them."""
    names = estimator.get_params(deep=True)
    return sorted(n for n in names if n == "random_state" or n.endswith("__random_state"))


def _accelerator_devices(estimator) -> list[str]:
    """The CUDA/MPS devices the estimator's ``device`` parameters (nested ones included) resolve to."""
    devices = []
    for name, value in estimator.get_params(deep=True).items():
        if (name == "device" or name.endswith("__device")) and isinstance(value, str):
            try:
                resolved = resolve_device(value)
            except ValueError:
                continue  # the member's own fit refuses it, with its message
            if not resolved.startswith("cpu"):
                devices.append(resolved)
    return devices


def _ceil(value: float) -> int:
    return math.ceil(value * (1 - _CEIL_TOLERANCE))


@register_estimator(name="EnsembleRegressor")
class EnsembleRegressor(SaveMixin, MetaEstimatorMixin, RegressorMixin, BaseEstimator):
    """An ensemble of operators with different seeds: mean, spread and conformal bands.

    ``fit`` trains ``n_estimators`` clones of ``estimator``, each with its own seed (every
    ``random_state`` parameter of the clone, nested ones included, gets a seed drawn from the
    ensemble's ``random_state``), in parallel with joblib. The members keep the data contract of
    ``estimator``: any estimator of this package, :class:`AutoregressiveRegressor` included.
    ``predict`` returns the mean of the members' predictions and, with ``return_std=True``, their
    standard deviation per output value (a deep ensemble, [1]_).

    **Conformal bands.** With ``calibration_fraction``, ``fit`` holds out that fraction of the
    samples, trains the members on the rest and stores the nonconformity scores of the held-out
    samples, one per output value (grid point and channel). ``predict_interval(X, coverage)``
    then returns split-conformal bands [2]_:

    - ``conformity_score="normalized"`` (default): score ``|y - mean| / sigma``, band
      ``mean +/- q * sigma``, with ``sigma`` the members' standard deviation floored at
      ``std_floor_``: wide where the members disagree, narrow where they agree;
    - ``"absolute"``: score ``|y - mean|``, band ``mean +/- q``, of constant width.

    Measured over 8 seeds on Burgers and Darcy (``docs/uncertainty.md``), the normalised score
    gave the steadier coverage and, on average, the narrower pointwise bands, hence the default;
    the absolute score gave the narrower simultaneous bands.

    **What the coverage means.** A field has many values and those of one sample are not
    exchangeable with one another (neighbouring points err together); only the *samples* are
    exchangeable. The bands come in two kinds (``predict_interval``'s ``band``):

    - ``"pointwise"``: ``q`` is the ``ceil((n + 1) m (1 - alpha))``-th smallest of the ``n m``
      pooled calibration scores (``n`` calibration samples of ``m`` values each). Guarantee: for
      a new sample exchangeable with the calibration samples, the *expected fraction* of its
      values inside their bands is at least ``1 - alpha`` (marginal over samples; a single field
      may be covered less or more). This is the ``ceil((n + 1)(1 - alpha)) / n`` rule with ``n``
      counted in samples, not in points: counting points would overstate the information.
    - ``"simultaneous"``: each calibration sample's score is its largest pointwise score and
      ``q`` the ``ceil((n + 1)(1 - alpha))``-th smallest of these ``n``. Guarantee: the whole new
      field lies inside its band with probability at least ``1 - alpha``. Wider.

    Both need ``n >= (1 - alpha) / alpha`` calibration samples (9 for 90 %); with fewer the band
    is infinite, with a warning. The guarantee is for the calibration grid: on another grid the
    bands still follow the members' spread, but their coverage is not guaranteed.

    **Devices and memory.** With ``n_jobs`` workers, that many members train at once, in
    separate processes, and hold their memory at once (each member's own memory check sees one
    fit only). Members placed on a CUDA or MPS device are trained one after the other, with a
    warning, whatever ``n_jobs`` says: processes sharing one accelerator contend for its memory
    and gain nothing. Do not choose joblib's threading backend for this package's estimators:
    their fits seed torch's global random generator, which threads share.

    Parameters
    ----------
    estimator : estimator object or None, default=None
        The member to clone (fit/predict); ``None`` means ``AMFNORegressor()``. It needs a
        ``random_state`` parameter, possibly nested (``estimator__random_state``), for the
        members to differ.
    n_estimators : int, default=5
        Members.
    calibration_fraction : float in (0, 1) or None, default=None
        Fraction of the samples held out to calibrate ``predict_interval`` (at least one sample,
        rounded up). ``None`` trains every member on all samples and leaves ``predict_interval``
        unavailable.
    conformity_score : {"normalized", "absolute"}, default="normalized"
        Nonconformity score of the conformal bands (see above).
    n_jobs : int or None, default=None
        Members trained in parallel (joblib; ``None`` is one, ``-1`` all cores).
    random_state : int, RandomState instance or None, default=None
        Draws the members' seeds and the calibration split: an int makes the ensemble repeatable.
    verbose : int, default=0
        joblib's progress messages while the members train.

    Attributes
    ----------
    estimators_ : list of estimator
        The fitted members.
    member_seeds_ : ndarray of shape (n_estimators,)
        The seed each member was given.
    calibration_indices_ : ndarray of int or None
        Indices of the samples held out for calibration (``None`` without calibration); those
        of weight 0 left out when fitted with ``sample_weight``.
    calibration_scores_ : ndarray of shape (n_calibration_samples, n_values) or None
        Nonconformity score of every value of every calibration sample.
    std_floor_ : float or None
        Floor of the members' standard deviation in the normalised score.
    n_features_in_ : int
        The first member's ``n_features_in_`` (when it has one).

    See Also
    --------
    sklearn_amfno.metrics.relative_l2_error : relative L2 error per sample.

    References
    ----------
    .. [1] Lakshminarayanan, B., Pritzel, A., Blundell, C. (2017). Simple and Scalable Predictive
       Uncertainty Estimation using Deep Ensembles. NeurIPS 2017.
    .. [2] Lei, J., G'Sell, M., Rinaldo, A., Tibshirani, R. J., Wasserman, L. (2018).
       Distribution-Free Predictive Inference for Regression. JASA 113(523), 1094-1111
       (split conformal prediction, locally weighted scores).

    Examples
    --------
    >>> from sklearn_amfno import EnsembleRegressor, FNORegressor
    >>> from sklearn_amfno.datasets import make_burgers
    >>> X, y = make_burgers(60, 32, max_wavenumber=8, random_state=0)
    >>> member = FNORegressor(n_modes=8, width=8, n_layers=2, max_epochs=5, lr=1e-2)
    >>> ens = EnsembleRegressor(member, n_estimators=3, calibration_fraction=0.3, random_state=0)
    >>> mean, std = ens.fit(X[:50], y[:50]).predict(X[50:], return_std=True)
    >>> mean.shape, bool((std >= 0).all())
    ((10, 32), True)
    >>> lower, upper = ens.predict_interval(X[50:], coverage=0.9)
    >>> bool((lower <= mean).all() and (mean <= upper).all())
    True
    """

    _parameter_constraints: dict = {
        "estimator": [None, HasMethods(["fit", "predict"])],
        "n_estimators": POSITIVE_INT,
        "calibration_fraction": [None] + OPEN_FRACTION,
        "conformity_score": [StrOptions({"normalized", "absolute"})],
        "n_jobs": N_JOBS,
        "random_state": RANDOM_STATE,
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        estimator=None,
        n_estimators=5,
        *,
        calibration_fraction=None,
        conformity_score="normalized",
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.calibration_fraction = calibration_fraction
        self.conformity_score = conformity_score
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # -- fit ---------------------------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None):
        """Train the members, each with its own seed, and calibrate the bands if asked.

        Parameters
        ----------
        X : array-like
            Inputs in the layout ``estimator`` takes (e.g. ``(n_samples, *grid)``).
        y : array-like
            Targets in the layout ``estimator`` takes.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Passed to every member's ``fit`` (the weights of its training samples), whose
            ``fit`` must take it. The conformal calibration leaves out the held-out samples of
            weight 0 and counts the others once each: split conformal prediction's guarantee is
            over exchangeable samples, and weighted calibration is not implemented.

        Returns
        -------
        self : object
            The fitted ensemble.
        """
        self._validate_params()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None: expected "
                "targets in the layout of the member estimator."
            )
        estimator = AMFNORegressor() if self.estimator is None else self.estimator
        seed_names = _seed_parameters(estimator)
        if not seed_names:
            raise ValueError(
                f"estimator {type(estimator).__name__} has no random_state parameter (nor a nested "
                "one): the members would differ only by chance, and not repeatably. Pass an "
                "estimator with a random_state (e.g. AutoregressiveRegressor(FNORegressor(...)) "
                "rather than AutoregressiveRegressor())."
            )
        calibrated = self.calibration_fraction is not None
        if calibrated and self.conformity_score == "normalized" and self.n_estimators < 2:
            raise ValueError(
                "conformity_score='normalized' divides by the members' standard deviation, which "
                f"needs n_estimators >= 2; got n_estimators={self.n_estimators}. Use more members "
                "or conformity_score='absolute'."
            )
        if sp.issparse(X) or sp.issparse(y):
            raise TypeError(
                f"{type(self).__name__} takes dense arrays; got sparse data. Sparse input is not "
                "supported: convert it with .toarray()."
            )
        X = X if hasattr(X, "shape") else np.asarray(X)
        y = y if hasattr(y, "shape") else np.asarray(y)
        if len(X) != len(y):
            raise ValueError(f"X and y hold different numbers of samples: {len(X)} and {len(y)}.")
        weights = check_fit_sample_weight(sample_weight, len(X))
        if weights is not None and not has_fit_parameter(estimator, "sample_weight"):
            raise TypeError(
                f"sample_weight was given, but the member {type(estimator).__name__}.fit takes no "
                "sample_weight. Use a member that does (the estimators of this package do), or fit "
                "without sample_weight."
            )
        rng = check_random_state(self.random_state)
        seeds = rng.randint(np.iinfo(np.int32).max, size=self.n_estimators)
        calibration = None
        X_fit, y_fit = X, y
        if self.calibration_fraction is not None:
            n = len(X)
            n_calibration = math.ceil(self.calibration_fraction * n)
            if n_calibration >= n:
                raise ValueError(
                    f"calibration_fraction={self.calibration_fraction} of {n} samples leaves no "
                    "sample to train the members on: expected at least 2 samples."
                )
            # Sorted: array stores such as h5py take increasing indices only.
            order = rng.permutation(n)
            calibration, train = np.sort(order[:n_calibration]), np.sort(order[n_calibration:])
            X_fit, y_fit = X[train], y[train]
            if weights is not None:
                if not weights[train].any():
                    raise ValueError(
                        "Every sample left to train the members on has sample_weight 0 (the others "
                        "were held out for calibration): give them positive weights or change "
                        "random_state."
                    )
                # Samples of weight 0 are dropped from the calibration as from the training.
                calibration = calibration[weights[calibration] > 0]
                if len(calibration) == 0:
                    raise ValueError(
                        "Every sample held out for calibration has sample_weight 0, so no "
                        "sample is left to calibrate on: raise calibration_fraction, change "
                        "random_state or give them positive weights."
                    )
                weights = weights[train]

        members = [clone(estimator).set_params(**dict.fromkeys(seed_names, int(s))) for s in seeds]
        n_jobs = self.n_jobs
        devices = _accelerator_devices(estimator)
        if devices and effective_n_jobs(n_jobs) != 1:
            warnings.warn(
                f"The members train on {devices[0]!r}: they are trained one after the other, not "
                f"with n_jobs={self.n_jobs} workers, since processes sharing one accelerator contend "
                "for its memory. Set n_jobs=None to silence this warning.",
                UserWarning,
                stacklevel=2,
            )
            n_jobs = 1
        # Processes: the package's fits seed torch's global RNG and set its default dtype, which
        # threads would share (a threading backend chosen by the user still wins).
        fitted = Parallel(n_jobs=n_jobs, verbose=self.verbose, prefer="processes")(
            delayed(_fit_member)(member, X_fit, y_fit, weights) for member in members
        )

        scores, floor = None, None
        if calibration is not None:
            mean, std, _ = self._aggregate(fitted, X[calibration], {})
            y_cal = np.asarray(y[calibration], dtype=np.float64)
            if y_cal.shape != mean.shape:
                raise ValueError(
                    f"The members predict shape {mean.shape} for the calibration samples, but their "
                    f"targets have shape {y_cal.shape}: expected y in the layout of the predictions."
                )
            residual = np.abs(y_cal - mean).reshape(len(y_cal), -1)
            if self.conformity_score == "normalized":
                floor = float(_STD_FLOOR_FRACTION * std.mean()) or np.finfo(np.float64).tiny
                scores = residual / np.maximum(std.reshape(len(y_cal), -1), floor)
            else:
                scores = residual

        self.estimators_ = fitted
        self.member_seeds_ = seeds
        self.calibration_indices_ = calibration
        self.calibration_scores_ = scores
        self.std_floor_ = floor
        if hasattr(fitted[0], "n_features_in_"):
            self.n_features_in_ = fitted[0].n_features_in_
        return self

    # -- predict -----------------------------------------------------------------------------------

    @staticmethod
    def _aggregate(members, X, predict_params: dict) -> tuple[np.ndarray, np.ndarray, np.dtype]:
        """Mean and standard deviation (``ddof=0``) over the members, in float64, and the
        members' output dtype."""
        # All predictions at once: n_estimators times the output's memory (predict in chunks of
        # samples for very large X).
        predictions = np.stack([np.asarray(m.predict(X, **predict_params)) for m in members])
        mean = predictions.mean(axis=0, dtype=np.float64)
        return mean, predictions.std(axis=0, dtype=np.float64), predictions.dtype

    def predict(self, X, return_std=False, **predict_params):
        """Mean of the members' predictions, and optionally their standard deviation.

        Parameters
        ----------
        X : array-like
            Inputs in the layout the members take (any grid size they accept).
        return_std : bool, default=False
            Also return the members' standard deviation (``ddof=0``) per output value.
        **predict_params : dict
            Passed to each member's ``predict`` (e.g. ``n_steps`` of
            :class:`AutoregressiveRegressor`).

        Returns
        -------
        y_mean : ndarray
            The arithmetic mean of the members' predictions, in their layout and dtype.
        y_std : ndarray
            Only with ``return_std=True``: the members' standard deviation, same shape.
        """
        check_is_fitted(self, "estimators_")
        mean, std, dtype = self._aggregate(self.estimators_, X, predict_params)
        if return_std:
            return mean.astype(dtype, copy=False), std.astype(dtype, copy=False)
        return mean.astype(dtype, copy=False)

    def predict_interval(self, X, coverage=0.9, *, band="pointwise", **predict_params):
        """Split-conformal bands around the ensemble's mean.

        Parameters
        ----------
        X : array-like
            Inputs in the layout the members take.
        coverage : float in (0, 1), default=0.9
            Nominal coverage ``1 - alpha``.
        band : {"pointwise", "simultaneous"}, default="pointwise"
            ``"pointwise"``: the expected fraction of a new sample's values inside the bands is
            at least ``coverage``. ``"simultaneous"``: the whole new sample lies inside with
            probability at least ``coverage``. Both marginal over exchangeable samples.
        **predict_params : dict
            Passed to each member's ``predict``.

        Returns
        -------
        lower, upper : ndarray
            The bands, each in the layout of ``predict``; infinite (with a warning) when the
            calibration set is too small for ``coverage``.
        """
        q = self.conformal_quantile(coverage, band=band)
        mean, std, dtype = self._aggregate(self.estimators_, X, predict_params)
        if self.conformity_score == "normalized":
            half = q * np.maximum(std, self.std_floor_)
        else:
            half = np.full_like(mean, q)
        return (mean - half).astype(dtype, copy=False), (mean + half).astype(dtype, copy=False)

    def conformal_quantile(self, coverage=0.9, *, band="pointwise") -> float:
        """The calibrated multiplier ``q`` of the bands (finite-sample conformal quantile).

        Parameters
        ----------
        coverage : float in (0, 1), default=0.9
            Nominal coverage ``1 - alpha``.
        band : {"pointwise", "simultaneous"}, default="pointwise"
            Which guarantee (see :meth:`predict_interval`).

        Returns
        -------
        q : float
            ``pointwise``: the ``ceil((n + 1) m (1 - alpha))``-th smallest of the ``n m`` pooled
            calibration scores; ``simultaneous``: the ``ceil((n + 1)(1 - alpha))``-th smallest of
            the ``n`` per-sample maxima. ``inf`` (with a warning) when that order exceeds the
            number of scores.
        """
        check_is_fitted(self, "estimators_")
        if self.calibration_scores_ is None:
            raise ValueError(
                "Conformal bands need calibration scores, and this ensemble was fitted with "
                "calibration_fraction=None: set calibration_fraction (e.g. 0.2) and fit again."
            )
        if not _OPEN_UNIT.is_satisfied_by(coverage):
            raise ValueError(f"coverage must be a float in the open interval (0, 1), got {coverage!r}.")
        if band not in ("pointwise", "simultaneous"):
            raise ValueError(f"band must be 'pointwise' or 'simultaneous', got {band!r}.")
        scores = self.calibration_scores_
        n, m = scores.shape
        if band == "simultaneous":
            scores, m = scores.max(axis=1), 1
        k = _ceil(coverage * (n + 1) * m)
        flat = scores.ravel()
        if k > flat.size:
            warnings.warn(
                f"{n} calibration samples cannot certify coverage={coverage}: that needs at least "
                f"{_ceil(coverage / (1 - coverage))} (n >= coverage / (1 - coverage)). The band is "
                "infinite; use a larger calibration_fraction or more samples.",
                UserWarning,
                stacklevel=2,
            )
            return math.inf
        return float(np.partition(flat, k - 1)[k - 1])

    def score(self, X, y, sample_weight=None) -> float:
        """R² of the ensemble's mean, outputs flattened and weighted by their variance.

        Parameters
        ----------
        X : array-like
            Inputs.
        y : array-like
            True targets, in the layout used for ``fit``.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
        """
        y_pred = self.predict(X)
        y = np.asarray(y, dtype=float)
        if y.shape != y_pred.shape:
            raise ValueError(
                f"y has shape {y.shape}, but the predictions for X have shape {y_pred.shape}: y must "
                "be in the layout used for fit."
            )
        return flat_r2_score(y, y_pred, sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.allow_nan = False
        return tags
