"""Building blocks: the layers the operator models are assembled from, usable on their own.

Tensors are channels-first, ``(batch, channels, *grid)``; each module's docstring says what it
computes and which paper it follows.
"""

from .afno import AFNOBlock, AFNOFilter
from .attention import FourierFeatures, GalerkinAttention, GeGLU, RotaryEmbedding
from .bases import BASES, basis_embedding
from .blocks import FourierBlock, ResidualFFNBlock, ffn_hidden
from .factorized import FactorizedSpectralConv, FactorizedSpectralWeights
from .grid import grid_coordinates
from .kan import KAN, KANLayer, bspline_basis
from .lsm import LSMProcessor, NeuralSpectralBlock
from .normalization import BatchNorm, ChannelLayerNorm
from .oformer import GalerkinLayer, OFormerProcessor
from .pointwise import PointwiseLinear, PointwiseMLP
from .spectral import (
    FREQUENCY_MAPS,
    AmortizedSpectralKernel,
    DenseSpectralKernel,
    SpectralConv,
    SpectralKernel,
    contract_modes,
    grid_wavenumbers,
    map_modes,
    resolve_modes,
    scale_wavenumbers,
    select_modes,
)
from .unet import UNetBranch

__all__ = [
    "BASES",
    "FREQUENCY_MAPS",
    "KAN",
    "AFNOBlock",
    "AFNOFilter",
    "AmortizedSpectralKernel",
    "BatchNorm",
    "ChannelLayerNorm",
    "DenseSpectralKernel",
    "FactorizedSpectralConv",
    "FactorizedSpectralWeights",
    "FourierBlock",
    "FourierFeatures",
    "GalerkinAttention",
    "GalerkinLayer",
    "GeGLU",
    "KANLayer",
    "LSMProcessor",
    "NeuralSpectralBlock",
    "OFormerProcessor",
    "PointwiseLinear",
    "PointwiseMLP",
    "ResidualFFNBlock",
    "RotaryEmbedding",
    "SpectralConv",
    "SpectralKernel",
    "UNetBranch",
    "basis_embedding",
    "bspline_basis",
    "contract_modes",
    "ffn_hidden",
    "grid_coordinates",
    "grid_wavenumbers",
    "map_modes",
    "resolve_modes",
    "scale_wavenumbers",
    "select_modes",
]
