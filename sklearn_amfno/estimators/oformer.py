"""OFormer: the operator transformer with Galerkin attention (Li, Meidani, Barati Farimani, TMLR 2023)."""

from __future__ import annotations

import numbers

from sklearn.utils._param_validation import Interval
from torch import nn

from .._base import BaseOperatorRegressor, fill_doc, store_parameters
from ..nn.oformer import OFormerProcessor


class OFormerRegressor(BaseOperatorRegressor):
    """Operator Transformer, OFormer (Li, Meidani and Barati Farimani, TMLR 2023).

    The grid is treated as a cloud of points with physical coordinates ``j / n``. Encoder:
    ``n_layers`` x [Galerkin self-attention ``q (k^T v) / N`` (keys and values
    instance-normalised over the points, rotary position embedding of the coordinates on ``q``
    and ``k``, one block of channels per axis) + GeGLU feed-forward], then a linear map to
    ``latent_dim``. Decoder: the query coordinates go through random Gaussian Fourier features
    and an MLP; ``n_decoder_layers`` Galerkin cross-attention layers (+ feed-forward) read the
    encoder latents; an MLP of ``[features, coordinates]`` returns ``width`` channels, which the
    shared backbone projects to the output. Attention costs are linear in the number of points.

    Parameters
    ----------
    n_heads : int, default=4
        Attention heads of encoder and decoder; every head has the full ``width`` (encoder)
        or ``latent_dim`` (decoder) channels, as in the OFormer code.
    latent_dim : int, default=64
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
    ``k^T v`` is its width: a target needing more basis functions than ``n_heads * latent_dim``
    in the decoder is out of reach (raise ``latent_dim`` or ``n_heads`` for 2-D/3-D fields).

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

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_amfno.estimators.oformer import OFormerRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((16, 32))
    >>> est = OFormerRegressor(width=8, n_layers=1, latent_dim=8, max_epochs=2, random_state=0)
    >>> est.fit(X, np.roll(X, 3, axis=1)).predict(X[:2]).shape
    (2, 32)
    >>> est.predict(rng.standard_normal((2, 64))).shape  # another grid
    (2, 64)
    """

    _parameter_constraints: dict = {
        **BaseOperatorRegressor._parameter_constraints,
        "n_heads": [Interval(numbers.Integral, 1, None, closed="left")],
        "latent_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_decoder_layers": [Interval(numbers.Integral, 1, None, closed="left")],
        "fourier_feature_scale": [Interval(numbers.Real, 0, None, closed="left")],
        "rotary_min_freq": [Interval(numbers.Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        n_heads=4,
        latent_dim=64,
        n_decoder_layers=1,
        fourier_feature_scale=2.0,
        rotary_min_freq=1 / 64,
        *,
        width=32,
        n_layers=4,
        channel_axis=None,
        add_grid=True,
        loss="auto",
        lr=1e-3,
        weight_decay=1e-4,
        lr_schedule="cosine",
        max_epochs=100,
        batch_size=32,
        validation_fraction=None,
        device="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
    ):
        store_parameters(self, locals())

    def _build_processor(self, n_dim: int, grid_shape: tuple[int, ...]) -> nn.Module:
        return OFormerProcessor(
            self.width,
            n_dim,
            n_layers=self.n_layers,
            n_heads=self.n_heads,
            latent_dim=self.latent_dim,
            n_decoder_layers=self.n_decoder_layers,
            fourier_feature_scale=float(self.fourier_feature_scale),
            rotary_min_freq=float(self.rotary_min_freq),
        )


fill_doc(OFormerRegressor, n_layers_doc="Encoder layers (Galerkin self-attention + GeGLU).")
