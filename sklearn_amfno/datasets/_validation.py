"""Parameter validation shared by the dataset generators and solvers.

All checks raise :class:`ValueError` with a message naming the parameter, the allowed range and
the value received, e.g. ``"viscosity must be > 0, got -1"``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np


def check_real(
    value: object,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Validate a finite real scalar within optional bounds and return it as ``float``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        rng = _range_text(low, high, low_inclusive, high_inclusive)
        raise ValueError(f"{name} must be a finite real number{rng}, got {value!r}")
    _check_bounds(float(value), value, name, low, high, low_inclusive, high_inclusive)
    return float(value)


def check_int(
    value: object,
    name: str,
    *,
    low: int | None = None,
    high: int | None = None,
) -> int:
    """Validate an integer (not bool) within optional inclusive bounds and return it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        rng = _range_text(low, high, True, True)
        raise ValueError(f"{name} must be an integer{rng}, got {value!r}")
    _check_bounds(int(value), value, name, low, high, True, True)
    return int(value)


def check_choice(value: object, name: str, choices: Sequence[object]) -> object:
    """Validate that ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)!r}, got {value!r}")
    return value


def _range_text(low, high, low_inclusive, high_inclusive) -> str:
    if low is not None and high is not None:
        lb = "[" if low_inclusive else "("
        rb = "]" if high_inclusive else ")"
        return f" in {lb}{low}, {high}{rb}"
    if low is not None:
        return f" {'>=' if low_inclusive else '>'} {low}"
    if high is not None:
        return f" {'<=' if high_inclusive else '<'} {high}"
    return ""


def _check_bounds(x, raw, name, low, high, low_inclusive, high_inclusive) -> None:
    bad = False
    if low is not None:
        bad |= x < low if low_inclusive else x <= low
    if high is not None:
        bad |= x > high if high_inclusive else x >= high
    if bad:
        # e.g. "viscosity must be > 0, got -1"
        text = _range_text(low, high, low_inclusive, high_inclusive)
        text = text[4:] if text.startswith(" in ") else text[1:]
        verb = "must be in" if low is not None and high is not None else "must be"
        raise ValueError(f"{name} {verb} {text}, got {raw!r}")
