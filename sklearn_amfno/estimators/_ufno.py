"""U-FNO: Fourier layers followed by U-Fourier layers with a U-Net branch (Wen et al., 2022)."""

from __future__ import annotations

from .._base import BaseOperatorRegressor, store_parameters
from .._compat import N_MODES, NON_NEGATIVE_INT, POSITIVE_INT
from .._docs import fill_doc
from .._persistence import register_estimator
from ..nn.layers import DenseSpectralKernel, resolve_modes
from ..nn.models import UFNO


@register_estimator(name="UFNORegressor")
class UFNORegressor(BaseOperatorRegressor):
    """U-FNO, the Fourier neural operator enhanced with U-Net branches (Wen et al., 2022).

    ``n_layers - n_unet_layers`` Fourier layers ``act(K v + W v)`` are followed by
    ``n_unet_layers`` U-Fourier layers ``act(K v + W v + U(v))``, each with its own small U-Net
    ``U``: ``unet_levels`` stride-2 levels of 3x3 convolutions with BatchNorm and
    LeakyReLU(0.1), a transposed-convolution decoder with skip connections, at constant width.
    ``K`` is the FNO spectral convolution keeping ``n_modes`` per axis; the last layer has no
    activation.

    Parameters
    ----------
    n_modes : int, tuple of int or None, default=12
        Modes kept per axis by the spectral convolutions, as in
        :class:`~sklearn_amfno.FNORegressor` (wavenumbers ``-m <= k < m``; ``0 <= k < m`` on the
        last axis). ``None`` keeps every mode of the training grid.
    n_unet_layers : int, default=3
        How many of the last layers are U-Fourier layers (the paper: 3 of 6). ``0`` gives a plain
        FNO. At most ``n_layers``: with fewer layers, every layer is a U-Fourier layer (so the
        defaults run with any ``n_layers``, e.g. in a grid search over it).
    unet_levels : int, default=3
        Stride-2 levels of each U-Net (the paper: 3).
    {common_parameters}

    Attributes
    ----------
    n_modes_ : tuple of int
        The modes kept per axis.
    n_unet_layers_ : int
        The number of U-Fourier layers, ``min(n_unet_layers, n_layers)``.
    {common_attributes}

    See Also
    --------
    FNORegressor : the same without the U-Net branches.

    Notes
    -----
    Defaults follow the paper's layout (6 layers, the last 3 U-Fourier, 3 U-Net levels, 12
    modes) at ``width=32`` (the reference code: 36). Simplifications with respect to the
    reference (gegewen/ufno):

    - Activations are GELU (the shared :class:`~sklearn_amfno.nn.layers.FourierBlock`) where the
      reference uses ReLU, and the last layer has none. Every U-Net level has a stride-2 and a
      stride-1 convolution (the reference's first level has only the stride-2 one); no dropout.
    - The reference pads the whole network input so that each axis divides by 8. Here each
      U-Net pads its own input at the end of each axis (replicating the edge values) to the next
      multiple of ``2 ** unet_levels`` and crops its output back, so any grid size works and the
      Fourier path sees the unpadded grid.
    - Projection ``width -> 4 width -> out`` of the shared backbone (the reference: 128).

    **Other grids.** ``predict`` runs on any grid, but the U-Net convolutions are local stencils
    in grid-index units: on a grid other than the training grid they see the function at another
    spacing, so the model is *not* discretisation-invariant (only the Fourier path is). Treat
    U-FNO as a fixed-resolution model and expect larger errors away from the training grid.

    References
    ----------
    .. [1] Wen, G., Li, Z., Azizzadenesheli, K., Anandkumar, A., Benson, S. M. (2022). U-FNO -- An
       enhanced Fourier neural operator-based deep-learning model for multiphase flow.
       Advances in Water Resources 163, 104180.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_amfno import UFNORegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((16, 32))
    >>> est = UFNORegressor(n_modes=8, width=8, n_layers=2, n_unet_layers=1, max_epochs=2,
    ...                     random_state=0)
    >>> est.fit(X, 2 * X).predict(X[:2]).shape
    (2, 32)
    """

    _module_class = UFNO

    _parameter_constraints: dict = {
        **BaseOperatorRegressor._parameter_constraints,
        "n_modes": N_MODES,
        "n_unet_layers": NON_NEGATIVE_INT,
        "unet_levels": POSITIVE_INT,
    }

    def __init__(
        self,
        n_modes=12,
        n_unet_layers=3,
        unet_levels=3,
        *,
        width=32,
        n_layers=6,
        channel_axis=None,
        target_kind="auto",
        add_grid=True,
        loss="auto",
        optimizer="adamw",
        optimizer_params=None,
        lr=1e-3,
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
        # The same mode rule as FNO (the spectral convolutions are FNO's).
        return {
            "n_modes_": resolve_modes(self.n_modes, DenseSpectralKernel.mode_limits(grid_shape)),
            "n_unet_layers_": min(self.n_unet_layers, self.n_layers),
        }


fill_doc(UFNORegressor)
