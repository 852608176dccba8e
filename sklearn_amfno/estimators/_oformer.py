"""OFormer: the operator transformer with Galerkin attention (Li, Meidani, Barati Farimani, TMLR 2023)."""

from __future__ import annotations

from .._base import BaseOperatorRegressor, store_parameters
from .._compat import NON_NEGATIVE_REAL, POSITIVE_INT, POSITIVE_REAL
from .._docs import fill_doc
from .._persistence import register_estimator
from ..nn.models import OFormer


@register_estimator(name="OFormerRegressor")
class OFormerRegressor(BaseOperatorRegressor):
    """Operator Transformer, OFormer (Li, Meidani and Barati Farimani, TMLR 2023).

    The grid is treated as a cloud of points with physical coordinates ``j / n``. Encoder:
    ``n_layers`` x [Galerkin self-attention ``q (k^T v) / N`` (keys and values
    instance-normalised over the points, rotary position embedding of the coordinates on ``q``
    and ``k``, one block of channels per axis) + GeGLU feed-forward], then a linear map to
    ``latent_width``. Decoder: the query coordinates go through random Gaussian Fourier features
    and an MLP; ``n_decoder_layers`` Galerkin cross-attention layers (+ feed-forward) read the
    encoder latents; an MLP of ``[features, coordinates]`` returns ``width`` channels, which the
    shared backbone projects to the output. Attention costs are linear in the number of points.

    Parameters
    ----------
    n_heads : int, default=4
        Attention heads of encoder and decoder; every head has the full ``width`` (encoder)
        or ``latent_width`` (decoder) channels, as in the OFormer code.
    latent_width : int, default=64
        Channels of the encoder output and of the decoder (the paper: 256 on Darcy).
    n_decoder_layers : int, default=1
        Cross-attention layers of the decoder (the paper: 1).
    fourier_feature_scale : float, default=2.0
        Standard deviation of the random frequencies (cycles per unit length) of the decoder's
        Gaussian Fourier features. 2 generalised better than 8 or 1 in our short 1-D/2-D heat
        fits; larger values suit targets with finer detail.
    rotary_min_freq : float, default=1/64
        Coordinates are divided by it in the rotary embedding (the paper uses ``1 / resolution``
        of the training data). Fixed at construction, it does not follow the grid, so the
        embedding of a physical position is the same on every grid.
    {common_parameters}

    Attributes
    ----------
    {common_attributes}

    See Also
    --------
    LSMRegressor : latent spectral model, the other attention-based baseline.

    Notes
    -----
    ``n_layers`` is the encoder depth. Defaults (width 32, 4 encoder layers, 4 heads, latent 64:
    ~0.2M parameters on any grid) are smaller than the paper's Darcy model (encoder dim 96,
    depth 6, latent 256, ~2.6M parameters) so that fits run on a CPU. The rank of each head's
    ``k^T v`` is its width: a target needing more basis functions than ``n_heads * latent_width``
    in the decoder is out of reach (raise ``latent_width`` or ``n_heads`` for 2-D/3-D fields).

    Simplifications against the paper and its code: the input values and coordinates enter
    through the shared backbone's pointwise lifting; the encoder attention has no layer norm in
    front (instance normalisation of keys and values plays that role) and its feed-forward is
    pre-normalised; the decoder is a single pass (no recurrent time propagator), its queries are
    the input grid's points and its output head is followed by the backbone's projection;
    no dropout; no learning-rate warm-up (the shared AdamW and cosine schedule).

    Other grids: the model is discretisation-free. Nothing depends on the number of points, the
    coordinates are physical and the rotary frequencies fixed, and the attention's ``1 / N``
    makes ``k^T v / N`` a quadrature of an integral over the domain, so ``predict`` on a finer or
    coarser grid of the same domain approximates the same operator (the error grows where the
    grid is too coarse to resolve the input).

    References
    ----------
    .. [1] Li, Z., Meidani, K., Barati Farimani, A. (2023). Transformer for Partial Differential
       Equations' Operator Learning. Transactions on Machine Learning Research.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_amfno import OFormerRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((16, 32))
    >>> est = OFormerRegressor(width=8, n_layers=1, latent_width=8, max_epochs=2, random_state=0)
    >>> est.fit(X, np.roll(X, 3, axis=1)).predict(X[:2]).shape
    (2, 32)
    >>> est.predict(rng.standard_normal((2, 64))).shape  # another grid
    (2, 64)
    """

    _module_class = OFormer

    _parameter_constraints: dict = {
        **BaseOperatorRegressor._parameter_constraints,
        "n_heads": POSITIVE_INT,
        "latent_width": POSITIVE_INT,
        "n_decoder_layers": POSITIVE_INT,
        "fourier_feature_scale": NON_NEGATIVE_REAL,
        "rotary_min_freq": POSITIVE_REAL,
    }

    def __init__(
        self,
        n_heads=4,
        latent_width=64,
        n_decoder_layers=1,
        fourier_feature_scale=2.0,
        rotary_min_freq=1 / 64,
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


fill_doc(OFormerRegressor, n_layers_doc="Encoder layers (Galerkin self-attention + GeGLU).")
