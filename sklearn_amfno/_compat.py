"""The one door to scikit-learn's private parameter validation, and the package's named constraints.

scikit-learn's ``sklearn.utils._param_validation`` is private API: its names have moved between
releases. Every module of this package imports it from here, so a move costs one edit (as
imbalanced-learn does with ``sklearn-compat``). The constraints every family shares are named
once below (``POSITIVE_INT``, ``N_MODES``, ...) instead of being written out at each use.

Constraints are lists, as scikit-learn's ``_parameter_constraints`` and ``validate_params`` take
them; combine them with ``+`` (``[None] + POSITIVE_INT``). Unlike scikit-learn's own intervals,
these refuse booleans: ``width=True`` is a mistake, not the int 1.

``BaseScorer`` (scikit-learn's private ``_BaseScorer``, the class of every scorer) comes through
here too, for the same reason.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import warnings
from collections.abc import Callable

import numpy as np
from sklearn.metrics._scorer import _BaseScorer as BaseScorer
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    Options,
    StrOptions,
    validate_params,
)

__all__ = [
    "BaseScorer",
    "FRACTION",
    "HasMethods",
    "Interval",
    "N_MODES",
    "NON_NEGATIVE_INT",
    "NON_NEGATIVE_REAL",
    "OPEN_FRACTION",
    "Options",
    "POSITIVE_INT",
    "POSITIVE_REAL",
    "RANDOM_STATE",
    "StrOptions",
    "finite_interval",
    "renamed_parameters",
    "validate_params",
]


class _NumberInterval(Interval):
    """An :class:`Interval` that refuses booleans (scikit-learn's accepts ``True`` as the int 1)."""

    def is_satisfied_by(self, val: object) -> bool:
        if isinstance(val, (bool, np.bool_)):
            return False
        return super().is_satisfied_by(val)


class _FiniteInterval(_NumberInterval):
    """An interval of real numbers that also refuses NaN and infinities."""

    def is_satisfied_by(self, val: object) -> bool:
        if isinstance(val, numbers.Real) and not isinstance(val, (bool, np.bool_)) and not math.isfinite(val):
            return False
        return super().is_satisfied_by(val)

    def __str__(self) -> str:
        return super().__str__().replace("a float", "a finite float", 1)


def finite_interval(low: float | None, high: float | None, closed: str = "both") -> _FiniteInterval:
    """A real interval whose members must also be finite (``numbers.Real``, bools excluded)."""
    return _FiniteInterval(numbers.Real, low, high, closed=closed)


#: An int >= 1 (counts: layers, channels, samples, basis functions, ...).
POSITIVE_INT = [_NumberInterval(numbers.Integral, 1, None, closed="left")]
#: An int >= 0.
NON_NEGATIVE_INT = [_NumberInterval(numbers.Integral, 0, None, closed="left")]
#: A real > 0 (learning rates, viscosities, scales).
POSITIVE_REAL = [_NumberInterval(numbers.Real, 0, None, closed="neither")]
#: A real >= 0 (weight decay, thresholds).
NON_NEGATIVE_REAL = [_NumberInterval(numbers.Real, 0, None, closed="left")]
#: A real in (0, 1] (fractions that may be whole).
FRACTION = [_NumberInterval(numbers.Real, 0, 1, closed="right")]
#: A real in (0, 1) (held-out fractions).
OPEN_FRACTION = [_NumberInterval(numbers.Real, 0, 1, closed="neither")]
#: Fourier modes kept per axis: an int >= 1 for every axis, one per axis, or None for all.
N_MODES = [None, _NumberInterval(numbers.Integral, 1, None, closed="left"), tuple, list]
#: What :func:`sklearn.utils.check_random_state` accepts.
RANDOM_STATE = ["random_state"]


def renamed_parameters(renames: dict[str, str], since: str, removed_in: str) -> Callable:
    """Accept the old keyword names of a function's renamed parameters, with a FutureWarning.

    ``renames`` maps old name -> new name. Passing both the old and the new name is a TypeError.
    Put it outside :func:`validate_params`, which then sees the new names only.
    """

    def decorator(func: Callable) -> Callable:
        parameters = inspect.signature(func).parameters
        for new in renames.values():
            if new not in parameters:
                raise ValueError(f"{func.__name__} has no parameter {new!r}")

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(
                            f"{func.__name__}() got both {old!r} (the name before {since}) and {new!r}; "
                            f"pass {new!r} only."
                        )
                    warnings.warn(
                        f"{func.__name__}: the parameter {old!r} was renamed {new!r} in {since}; "
                        f"{old!r} will stop working in {removed_in}.",
                        FutureWarning,
                        stacklevel=2,
                    )
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper

    return decorator
