"""Old keyword arguments whose value changes with the name, which ``renamed_parameters`` cannot map.

:func:`sklearn_amfno._compat.renamed_parameters` passes an old keyword's value on unchanged. Where
the meaning of the value moved too (``make_darcy(n_modes=m)`` is ``max_wavenumber=m - 1``; an
int ``load_pdebench(input_frames=k)`` is the count ``n_steps_in=k``), the function's own wrapper
decides the new value and calls :func:`move_keyword`, which warns and refuses as
``renamed_parameters`` does.
"""

from __future__ import annotations

import warnings

__all__ = ["move_keyword"]

SINCE = "0.2.0"
REMOVED_IN = "0.4.0"


def move_keyword(kwargs: dict, func_name: str, old: str, new: str, value: object, how: str) -> None:
    """Replace ``kwargs[old]`` by ``kwargs[new] = value``, with a FutureWarning saying ``how``.

    Passing both names is a TypeError. Call it from the public function's wrapper: the warning
    points at the wrapper's caller.
    """
    if new in kwargs:
        raise TypeError(
            f"{func_name}() got both {old!r} (the name before {SINCE}) and {new!r}; pass {new!r} only."
        )
    warnings.warn(
        f"{func_name}: {how} in {SINCE}; {old!r} will stop working in {REMOVED_IN}.",
        FutureWarning,
        stacklevel=3,
    )
    del kwargs[old]
    kwargs[new] = value
