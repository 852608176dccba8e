"""LSM: Latent Spectral Models (Wu, Hu, Luo, Wang, Long, ICML 2023)."""

from __future__ import annotations

from .._base import BaseOperatorRegressor, store_parameters
from .._compat import NON_NEGATIVE_INT, POSITIVE_INT
from .._docs import fill_doc
from .._persistence import register_estimator
from ..nn.models import LSM


@register_estimator(name="LSMRegressor")
class LSMRegressor(BaseOperatorRegressor):
    """Latent Spectral Model, LSM (Wu et al., ICML 2023).

    A multi-scale U-Net over the lifted features (DoubleConv 3 + BatchNorm + ReLU, max-pool
    down, (bi/tri)linear upsampling + DoubleConv up, ``unet_levels`` halvings with channels
    ``width * 2**i``); every skip connection and the bottleneck pass a Neural Spectral Block:
    the features are cut into patches of ``patch_size`` pixels per axis, ``n_tokens`` learned
    latent tokens attend to the pixels of each patch (``n_heads`` heads), each token value
    ``t`` becomes ``t + sum_{i<K} a_i sin(pi i t / K) + b_i cos(pi i t / K)`` (``K = n_frequencies``,
    coefficients learned per channel and token), the pixels attend back to the tokens, and the
    result is added to the input.

    Parameters
    ----------
    unet_levels : int, default=4
        Times the U-Net halves the grid (the paper's 5 scales: the full resolution and 4
        below it). Each axis is zero-padded at its end to a multiple of
        ``2 ** unet_levels * patch_size`` and cropped back, so any grid runs, but small grids
        then carry mostly padding.
    patch_size : int, default=4
        Patch side, in pixels, of the spectral blocks at every level (the paper: 4 on 64^2
        Navier-Stokes, 3 on Darcy).
    n_tokens : int, default=4
        Latent tokens per patch (the paper: 4).
    n_frequencies : int, default=12
        Sine and cosine frequencies of the latent token map (the paper: 12).
    n_heads : int, default=8
        Attention heads of the spectral blocks (the paper: 8); ``width`` must be divisible
        by it.
    {common_parameters}

    Attributes
    ----------
    {common_attributes}

    See Also
    --------
    OFormerRegressor : the other attention-based baseline, discretisation-free.

    Notes
    -----
    ``n_layers`` is the number of Neural Spectral Blocks applied in sequence on every skip
    connection and at the bottleneck (the paper: 1, the default here). Defaults: width 32
    (the paper: 64 on Navier-Stokes), which gives ~4.9M parameters in 2-D (the paper's width-64
    model: ~19M); the count does not depend on the grid.

    Simplifications against the paper's code: the input values and grid coordinates enter
    through the shared backbone's pointwise lifting, and its projection
    (``width -> 4 width -> out``) replaces LSM's ``width -> 128 -> out`` head; the attention
    scores are scaled by ``1 / sqrt(head_dim)`` (standard scaled dot-product attention);
    the token-map coefficients are per channel and token (the code shares them over tokens);
    a training batch with a single value per channel (a one-point bottleneck with one sample)
    uses BatchNorm's running statistics instead of failing.

    Other grids: LSM is grid-tied, not discretisation-invariant. Its convolution stencils,
    pooling and patches are sized in grid cells, not in physical units, so on a finer grid the
    same weights see the input as a stretched, slower-varying function and the learned
    operator changes: ``predict`` runs on any grid of the training dimension (padding and
    cropping as above) and returns that grid, but its accuracy is only meaningful on the
    training resolution. Resample inputs to the training grid for a fair comparison.

    References
    ----------
    .. [1] Wu, H., Hu, T., Luo, H., Wang, J., Long, M. (2023). Solving High-Dimensional PDEs with
       Latent Spectral Models. International Conference on Machine Learning (ICML 2023).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_amfno import LSMRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((16, 32))
    >>> est = LSMRegressor(unet_levels=2, patch_size=2, n_heads=2, width=8, max_epochs=2,
    ...                    random_state=0)
    >>> est.fit(X, np.roll(X, 3, axis=1)).predict(X[:2]).shape
    (2, 32)
    >>> est.predict(rng.standard_normal((2, 45))).shape  # runs on other grids (grid-tied)
    (2, 45)
    """

    _module_class = LSM

    _parameter_constraints: dict = {
        **BaseOperatorRegressor._parameter_constraints,
        "unet_levels": NON_NEGATIVE_INT,
        "patch_size": POSITIVE_INT,
        "n_tokens": POSITIVE_INT,
        "n_frequencies": POSITIVE_INT,
        "n_heads": POSITIVE_INT,
    }

    def __init__(
        self,
        unet_levels=4,
        patch_size=4,
        n_tokens=4,
        n_frequencies=12,
        n_heads=8,
        *,
        width=32,
        n_layers=1,
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
        if self.width % self.n_heads:
            raise ValueError(
                f"width={self.width} must be divisible by n_heads={self.n_heads}: the spectral blocks "
                "split every level's channels (width * 2**i) into equal heads."
            )
        return {}


fill_doc(
    LSMRegressor,
    n_layers_doc="Neural Spectral Blocks applied in sequence on every skip and at the bottleneck.",
)
