"""The parameter descriptions every operator model shares, filled into each model's docstring."""

from __future__ import annotations

import inspect
from typing import TypeVar

_T = TypeVar("_T", bound=type)

MODEL_PARAMETERS = """\
in_channels : int
        Input channels (grid coordinates are appended when ``add_grid``).
    out_channels : int
        Output channels of a field, or outputs per sample when ``pooled``.
    grid_shape : tuple of int
        The training grid (1 to 3 axes). It sets the number of grid axes and what the layers
        derive from the training resolution (kept modes, reference wavenumbers); the model runs on
        any grid with that many axes.
    width : int, default={width}
        Channels inside the operator layers.
    n_layers : int, default={n_layers}
        {n_layers_doc}"""

MODEL_OPTIONS = """\
pooled : bool, default=False
        Per-sample output (mean over the grid before the last linear map) instead of a field.
    add_grid : bool, default=True
        Append the grid coordinates ``j / n`` to the input channels."""


def fill_model_doc(cls: _T, n_layers_doc: str = "Operator layers.") -> _T:
    """Insert the shared descriptions, with the defaults read from ``cls.__init__``."""
    # The signature of the class is that of its ``__init__`` without ``self``.
    defaults = {name: p.default for name, p in inspect.signature(cls).parameters.items()}
    common = MODEL_PARAMETERS.format(n_layers_doc=n_layers_doc, **defaults)
    doc = cls.__doc__
    if doc is None:
        raise TypeError(f"{cls.__name__} has no docstring to fill.")
    cls.__doc__ = doc.replace("{model_parameters}", common).replace("{model_options}", MODEL_OPTIONS)
    return cls
