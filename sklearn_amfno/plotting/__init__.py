"""Plots of operator predictions, following scikit-learn's ``Display`` pattern.

Each display is built from a fitted estimator (``from_estimator``) or from arrays
(``from_predictions``), draws on given matplotlib axes or new ones (``plot(ax=...)``) and keeps
``figure_`` and ``ax_`` (and the drawn artists) for further styling:

- :class:`FieldDisplay`: input, truth, prediction and error of one sample (lines in 1-D, images
  with a shared colour scale in 2-D, a slice in 3-D);
- :class:`SpectrumDisplay`: radial power spectrum of truth, prediction and error;
- :class:`TrainingCurveDisplay`: training and validation loss per epoch (``net_.history``);
- :class:`RolloutErrorDisplay`: relative L2 error per step of an autoregressive rollout.

matplotlib is an optional dependency (``pip install "sklearn_amfno[plot]"``), imported only when
something is drawn, so this module imports without it. See ``docs/plotting.md``.
"""

from ._curves import RolloutErrorDisplay, TrainingCurveDisplay
from ._field import FieldDisplay
from ._spectrum import SpectrumDisplay

__all__ = ["FieldDisplay", "RolloutErrorDisplay", "SpectrumDisplay", "TrainingCurveDisplay"]
