"""Torch modules: the shared backbone, operator blocks, spectral kernels, bases and KAN layers."""

from .backbone import OperatorNetwork, grid_coordinates
from .bases import BASES, basis_embedding
from .kan import KAN, KANLayer, bspline_basis
from .layers import FourierBlock, PointwiseLinear, PointwiseMLP, ResidualFFNBlock
from .losses import RelativeL2Loss, ScaledMSELoss
from .spectral import (
    AmortizedSpectralKernel,
    DenseSpectralKernel,
    SpectralConv,
    SpectralKernel,
    contract_modes,
    grid_wavenumbers,
)

__all__ = [
    "BASES",
    "KAN",
    "AmortizedSpectralKernel",
    "DenseSpectralKernel",
    "FourierBlock",
    "KANLayer",
    "OperatorNetwork",
    "PointwiseLinear",
    "PointwiseMLP",
    "RelativeL2Loss",
    "ResidualFFNBlock",
    "ScaledMSELoss",
    "SpectralConv",
    "SpectralKernel",
    "basis_embedding",
    "bspline_basis",
    "contract_modes",
    "grid_coordinates",
    "grid_wavenumbers",
]
