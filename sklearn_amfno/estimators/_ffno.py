"""F-FNO: the factorised Fourier neural operator (Tran et al., ICLR 2023)."""

from __future__ import annotations

from .._base import BaseOperatorRegressor, store_parameters
from .._compat import N_MODES, POSITIVE_REAL
from .._docs import fill_doc
from .._persistence import register_estimator
from ..nn.layers import FactorizedSpectralWeights, resolve_modes
from ..nn.models import FFNO


@register_estimator(name="FFNORegressor")
class FFNORegressor(BaseOperatorRegressor):
    """Factorised Fourier Neural Operator, F-FNO (Tran et al., ICLR 2023).

    Each layer is ``z <- z + FFN(K z)`` with the factorised Fourier operator
    ``K z = sum_d IRFFT_d(R_d * RFFT_d(z))``: a one-dimensional real FFT along one axis at a
    time, the lowest ``n_modes[d]`` wavenumbers of that axis mixed by a complex
    ``width x width`` matrix per mode (the others zeroed), the inverse FFT along the same axis,
    summed over the axes. The spectral weights number ``width^2 * sum_d m_d`` instead of FNO's
    ``width^2 * prod_d m_d``. ``FFN`` is pointwise ``width -> 4 width -> width``.

    Parameters
    ----------
    n_modes : int, tuple of int or None, default=16
        Modes ``0 <= k < m`` kept per axis (physical wavenumbers: cycles per domain length).
        An axis of ``n`` training points holds ``n // 2 + 1``: fewer are kept when it holds
        fewer, and ``None`` keeps them all. The paper uses 16 on its 64 x 64 torus.
    share_weights : bool, default=False
        Use the same spectral weights ``R_d`` in every layer (the paper's weight sharing; the
        ``FFN`` stays per layer). Divides the spectral parameters by ``n_layers``.
    ffn_ratio : float, default=4
        Hidden channels of each block's pointwise feed-forward network relative to ``width``
        (the papers' 4).
    {common_parameters}

    Attributes
    ----------
    n_modes_ : tuple of int
        The modes kept per axis.
    {common_attributes}

    See Also
    --------
    FNORegressor : the dense FNO, one weight per mode of the full grid of kept modes.
    AMFNORegressor : the amortized kernel, every mode at a fixed parameter count.

    Notes
    -----
    Simplifications with respect to the reference implementation (fourierflow):

    - The block is the package's shared :class:`~sklearn_amfno.nn.layers.ResidualFFNBlock`,
      whose ``FFN`` uses GELU where the reference uses ReLU, and no weight normalisation.
      Every block is ``z + FFN(K z)`` without an outer activation, as in the reference code
      (the AM-FNO blocks apply one between layers).
    - No input padding, no per-layer forecast summation ("b_sum" of the reference), no
      teacher forcing or Markov rollout: one operator call maps ``X`` to ``y``.
    - Defaults: ``width=32`` and 4 layers (the paper: width 64, 4 to 24 layers, 16 modes)
      keep CPU fits practical; the learning rate 1e-3 with a cosine schedule (the paper:
      2.5e-3 with warm-up).

    **Other grids.** The modes are physical wavenumbers, so the same weights act on the same
    Fourier modes on every grid. On a finer grid the modes above ``n_modes`` are zero, as in
    training; on a coarser grid an axis holding fewer than ``n_modes[d]`` modes uses only the
    weights of the modes it holds. For inputs band-limited below ``n_modes`` the spectral
    layers are therefore discretisation-invariant; the pointwise ``FFN`` sees the values at the
    new grid points, so the network output on a finer grid approximates (is not exactly) the
    interpolation of the training-grid output.

    References
    ----------
    .. [1] Tran, A., Mathews, A., Xie, L., Ong, C. S. (2023). Factorized Fourier Neural Operators.
       International Conference on Learning Representations (ICLR 2023).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_amfno import FFNORegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((16, 32))
    >>> y = np.roll(X, 3, axis=1)
    >>> est = FFNORegressor(n_modes=8, width=8, n_layers=2, max_epochs=2, random_state=0)
    >>> est.fit(X, y).predict(X[:2]).shape
    (2, 32)
    >>> est.predict(rng.standard_normal((2, 64))).shape  # another grid
    (2, 64)
    """

    _module_class = FFNO

    _parameter_constraints: dict = {
        **BaseOperatorRegressor._parameter_constraints,
        "n_modes": N_MODES,
        "share_weights": ["boolean"],
        "ffn_ratio": POSITIVE_REAL,
    }

    def __init__(
        self,
        n_modes=16,
        share_weights=False,
        *,
        ffn_ratio=4,
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
        return {"n_modes_": resolve_modes(self.n_modes, FactorizedSpectralWeights.mode_limits(grid_shape))}


fill_doc(FFNORegressor)
