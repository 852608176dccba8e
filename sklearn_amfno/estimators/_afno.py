"""AFNO: the Adaptive Fourier Neural Operator mixer as an operator layer (Guibas et al., ICLR 2022)."""

from __future__ import annotations

from .._base import BaseOperatorRegressor, store_parameters
from .._compat import FRACTION, NON_NEGATIVE_REAL, POSITIVE_INT, POSITIVE_REAL
from .._docs import fill_doc
from .._persistence import register_estimator
from ..nn.models import AFNO


@register_estimator(name="AFNORegressor")
class AFNORegressor(BaseOperatorRegressor):
    """Adaptive Fourier Neural Operator (Guibas et al., ICLR 2022) on the shared backbone.

    Each layer is the pre-norm AFNO block ``y = x + Filter(LN x); out = y + MLP(LN y)`` with a
    per-point LayerNorm over channels and a GELU ``MLP`` ``width -> ffn_ratio * width -> width``.
    The filter transforms the grid with a real FFT, applies at every frequency the same
    block-diagonal complex two-layer MLP (``n_blocks`` blocks, ReLU on real and imaginary parts),
    soft-shrinks real and imaginary parts by ``sparsity_threshold``, transforms back and adds its
    own input.

    Parameters
    ----------
    n_blocks : int, default=4
        Diagonal blocks of the complex MLP; ``width`` must be divisible by it. The paper uses 8
        blocks at width 768; 4 keeps blocks of 8 channels at the default ``width=32``.
    sparsity_threshold : float, default=0.01
        Soft-shrinkage ``lambda`` (the paper's value).
    hard_thresholding_fraction : float, default=1.0
        Fraction of each axis' training-grid wavenumbers that go through the MLP
        (``|k_d| < int((n_d // 2 + 1) * fraction)``); the other modes get a zero filter output.
        ``1.0`` keeps all, as in the paper's default.
    ffn_ratio : float, default=4.0
        Hidden width of the channel MLP relative to ``width`` (the paper's value).
    {common_parameters}

    Attributes
    ----------
    {common_attributes}

    See Also
    --------
    FNORegressor : per-mode learned weights instead of one MLP shared by all frequencies.

    Notes
    -----
    Simplifications with respect to the reference (NVlabs/AFNO-transformer, FourCastNet):

    - No patch embedding (patch size 1): the lifting layer of the shared backbone plays the
      embedding, and the grid-coordinate channels replace the learned positional embedding,
      which is tied to one patch grid. That is what lets the model run on other grids. The
      linear head and un-patchify become the backbone's pointwise projection.
    - Defaults: 4 layers at width 32 (the paper: depth 12, width 768), no dropout or stochastic
      depth, and the complex MLP's hidden size equals the block size (the reference's
      ``hidden_size_factor=1``).
    - The FFT normalisation is the ortho one *of the training grid* (identical to the reference
      there), and hard thresholding keeps a box of physical wavenumbers
      (see :mod:`sklearn_amfno.nn.layers.afno`).

    **Other grids.** The filter's weights are shared by all frequencies and do not depend on
    the grid. Its coefficients are normalised with the training grid's point count, so the same
    band-limited function gives the same coefficients on every grid, and wavenumbers above the
    training grid's Nyquist (only on finer grids) get a zero filter output. The filter thus
    maps a band-limited input to the same function on a finer or coarser grid (up to the modes a
    coarser grid cannot hold); the pointwise parts act point by point, so a prediction on a
    finer grid approximates the interpolation of the training-grid prediction.

    References
    ----------
    .. [1] Guibas, J., Mardani, M., Li, Z., Tao, A., Anandkumar, A., Catanzaro, B. (2022). Adaptive
       Fourier Neural Operators: Efficient Token Mixers for Transformers. International
       Conference on Learning Representations (ICLR 2022).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_amfno import AFNORegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((16, 32))
    >>> y = np.roll(X, 3, axis=1)
    >>> est = AFNORegressor(n_blocks=2, width=8, n_layers=2, max_epochs=2, random_state=0)
    >>> est.fit(X, y).predict(X[:2]).shape
    (2, 32)
    >>> est.predict(rng.standard_normal((2, 64))).shape  # another grid
    (2, 64)
    """

    _module_class = AFNO

    _parameter_constraints: dict = {
        **BaseOperatorRegressor._parameter_constraints,
        "n_blocks": POSITIVE_INT,
        "sparsity_threshold": NON_NEGATIVE_REAL,
        "hard_thresholding_fraction": FRACTION,
        "ffn_ratio": POSITIVE_REAL,
    }

    def __init__(
        self,
        n_blocks=4,
        sparsity_threshold=0.01,
        hard_thresholding_fraction=1.0,
        ffn_ratio=4.0,
        *,
        width=32,
        n_layers=4,
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
        if self.width % self.n_blocks:
            raise ValueError(
                f"width ({self.width}) must be divisible by n_blocks ({self.n_blocks}): the complex "
                "MLP splits the channels into n_blocks equal blocks."
            )
        return {}


fill_doc(AFNORegressor)
