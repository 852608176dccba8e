"""FNO: the Fourier neural operator with one stored weight per kept mode (Li et al., 2021)."""

from __future__ import annotations

from .._base import BaseOperatorRegressor, store_parameters
from .._compat import N_MODES, finite_interval
from .._docs import fill_doc
from .._persistence import register_estimator
from ..nn.layers import DenseSpectralKernel, resolve_modes
from ..nn.models import FNO
from ..nn.models.backbone import padded_shape


@register_estimator(name="FNORegressor")
class FNORegressor(BaseOperatorRegressor):
    """Fourier Neural Operator (Li et al., ICLR 2021), and FNO+ with ``n_modes=None``.

    Each layer is ``act(K v + W v)``, ``K`` keeping the lowest ``n_modes`` wavenumbers per axis
    (the corner blocks of the spectrum) with a learned complex matrix per mode, ``W`` a pointwise
    linear map; the last layer has no activation.

    Parameters
    ----------
    n_modes : int, tuple of int or None, default=12
        Modes kept per axis (wavenumbers ``-m <= k < m``; ``0 <= k < m`` on the last axis).
        ``None`` keeps every mode of the training grid (FNO+, "no truncation"); the parameter
        count then grows with the grid.
    domain_padding : float, default=0
        Zero padding appended to every axis inside the network, as a fraction of the axis
        length, cropped before the projection: for non-periodic problems such as Darcy flow (the
        FNO paper pads its Darcy grids). Modes then refer to the padded grid. A fraction keeps
        the padded domain's physical size on every grid, so super-resolution still works.
    {common_parameters}

    Attributes
    ----------
    n_modes_ : tuple of int
        The modes kept per axis.
    {common_attributes}

    See Also
    --------
    AMFNORegressor : the amortized kernel, every mode at a fixed parameter count.

    References
    ----------
    .. [1] Li, Z., Kovachki, N., Azizzadenesheli, K., Liu, B., Bhattacharya, K., Stuart, A.,
       Anandkumar, A. (2021). Fourier Neural Operator for Parametric Partial Differential
       Equations. International Conference on Learning Representations (ICLR 2021).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_amfno import FNORegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((16, 32))
    >>> est = FNORegressor(n_modes=8, width=8, max_epochs=2, random_state=0).fit(X, 2 * X)
    >>> est.predict(X[:2]).shape
    (2, 32)
    """

    _module_class = FNO

    _parameter_constraints: dict = {
        **BaseOperatorRegressor._parameter_constraints,
        "n_modes": N_MODES,
        "domain_padding": [finite_interval(0, 10, closed="left")],
    }

    def __init__(
        self,
        n_modes=12,
        *,
        domain_padding=0.0,
        width=32,
        n_layers=4,
        channel_axis=None,
        target_kind="auto",
        add_grid=True,
        loss="auto",
        optimizer="adamw",
        optimizer_params=None,
        lr=1e-2,
        weight_decay=1e-4,
        lr_schedule="cosine",
        max_epochs=100,
        batch_size=32,
        num_workers=0,
        early_stopping=False,
        validation_fraction=None,
        n_iter_no_change=10,
        warm_start=False,
        device="auto",
        precision="fp32",
        random_state=None,
        verbose=0,
        callbacks=None,
        on_divergence="raise",
    ):
        store_parameters(self, locals())

    def _validate_family_params(self, grid_shape: tuple[int, ...]) -> dict:
        limits = DenseSpectralKernel.mode_limits(padded_shape(grid_shape, self.domain_padding))
        return {"n_modes_": resolve_modes(self.n_modes, limits)}


fill_doc(FNORegressor)
