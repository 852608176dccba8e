"""The problems: each one's data for one seed at a preset's size, split into train and test."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

#: Problem key -> column title of the accuracy table.
PROBLEMS: dict[str, str] = {
    "burgers": "Burgers 1-D",
    "darcy": "Darcy 2-D",
    "ns": "Navier-Stokes 2-D",
    "cfd1d": "CFD-1D",
    "cfd2d": "CFD-2D",
    "airfoil": "Airfoil",
    "pipe": "Pipe",
}

#: Problems on a body-fitted grid: the input is the mesh ``(n, H, W, 2)``, channels last.
MESH_PROBLEMS = ("airfoil", "pipe")

#: An accuracy cell whose problem's generator is not in this version of the package.
GENERATOR_MISSING = "generator missing"

#: A joblib cache directory for the generated Airfoil and Pipe data (their solvers take seconds
#: per sample): ``SKLEARN_AMFNO_BENCH_CACHE=dir python -m benchmarks.paper`` generates each set once.
DATA_CACHE = os.environ.get("SKLEARN_AMFNO_BENCH_CACHE") or None

#: Navier-Stokes viscosity (FNO's middle setting; the generator's default is 1e-3).
NS_VISCOSITY = 1e-4


@dataclass
class Problem:
    """Train and test arrays of one problem for one seed; ``n_fields`` is None for static maps."""

    key: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_fields: int | None = None
    #: The test set on the grid twice as fine (super-resolution), where the data have one.
    X_fine: np.ndarray | None = None
    y_fine: np.ndarray | None = None
    description: str = ""
    #: Estimator parameters the data need (the mesh problems: ``channel_axis=-1``).
    estimator_params: dict = field(default_factory=dict)


def cfd_2d_generator() -> Callable | None:
    """``sklearn_amfno.datasets.make_cfd_2d`` when this version of the package has it."""
    import sklearn_amfno.datasets

    return getattr(sklearn_amfno.datasets, "make_cfd_2d", None)


def _split(X, y, n_train):
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def make_problem(key: str, size: dict, seed: int) -> Problem:
    """Generate ``key``'s data at the preset's ``size`` with ``random_state=seed``."""
    from sklearn_amfno import datasets

    n_train, n_test, res = size["n_train"], size["n_test"], size["resolution"]
    n = n_train + n_test
    if key == "burgers":
        X, y = datasets.make_burgers(n, res, random_state=seed)
        return Problem(key, *_split(X, y, n_train), description=f"make_burgers({n}, {res})")
    if key in ("darcy", "spectral"):
        # Solved on the grid twice as fine and subsampled (as FNO's Darcy data are from 421 x 421):
        # the coarse grid's permeability is the fine one's, sampled, so the fine test set is the
        # same problem. For "spectral" the resolution is the grid trained on (no fine grid).
        fine = 2 * res if key == "darcy" else res
        X, y = datasets.make_darcy(n, fine, random_state=seed)
        if key == "spectral":
            return Problem(key, *_split(X, y, n_train), description=f"make_darcy({n}, {res})")
        Xc, yc = X[:, ::2, ::2], y[:, ::2, ::2]
        p = Problem(key, *_split(Xc, yc, n_train), description=f"make_darcy({n}, {fine})[::2, ::2]")
        p.X_fine, p.y_fine = X[n_train:], y[n_train:]
        return p
    if key == "ns":
        X, y = datasets.make_navier_stokes(
            n,
            2 * res,
            viscosity=NS_VISCOSITY,
            n_steps_in=size["n_steps_in"],
            n_steps_out=size["n_steps_out"],
            random_state=seed,
        )
        Xc, yc = X[:, ::2, ::2], y[:, ::2, ::2]
        p = Problem(key, *_split(Xc, yc, n_train), n_fields=1)
        p.X_fine, p.y_fine = X[n_train:], y[n_train:]
        p.description = (
            f"make_navier_stokes({n}, {2 * res}, viscosity={NS_VISCOSITY}, n_steps_in={size['n_steps_in']}, "
            f"n_steps_out={size['n_steps_out']})[:, ::2, ::2]"
        )
        return p
    if key == "cfd1d":
        X, y = datasets.make_cfd_1d(
            n, res, n_steps_in=size["n_steps_in"], n_steps_out=size["n_steps_out"], random_state=seed
        )
        desc = f"make_cfd_1d({n}, {res}, n_steps_in={size['n_steps_in']}, n_steps_out={size['n_steps_out']})"
        return Problem(key, *_split(X, y, n_train), n_fields=3, description=desc)
    if key == "cfd2d":
        make_cfd_2d = cfd_2d_generator()
        if make_cfd_2d is None:
            raise LookupError(GENERATOR_MISSING)
        X, y = make_cfd_2d(
            n, res, n_steps_in=size["n_steps_in"], n_steps_out=size["n_steps_out"], random_state=seed
        )
        desc = f"make_cfd_2d({n}, {res}, n_steps_in={size['n_steps_in']}, n_steps_out={size['n_steps_out']})"
        return Problem(key, *_split(X, y, n_train), n_fields=4, description=desc)
    if key == "airfoil":
        options = {"mach": size["mach"]} if "mach" in size else {}
        X, y = datasets.make_airfoil(n, tuple(res), random_state=seed, memory=DATA_CACHE, **options)
        desc = f"make_airfoil({n}, {tuple(res)}{''.join(f', {k}={v}' for k, v in options.items())})"
        return Problem(key, *_split(X, y, n_train), description=desc, estimator_params={"channel_axis": -1})
    if key == "pipe":
        X, y = datasets.make_pipe(n, res, random_state=seed, memory=DATA_CACHE)
        desc = f"make_pipe({n}, {res})"
        return Problem(key, *_split(X, y, n_train), description=desc, estimator_params={"channel_axis": -1})
    raise ValueError(f"unknown problem {key!r}")


def grid_points(size: dict, key: str) -> int:
    """Points of ``key``'s grid at ``size`` (its resolution per axis, or a per-axis tuple)."""
    res = size["resolution"]
    if isinstance(res, (tuple, list)):
        return math.prod(res)
    return res ** (2 if key in ("darcy", "ns", "cfd2d", "spectral", *MESH_PROBLEMS) else 1)


def modes_per_axis(size: dict) -> int:
    """The fewest Fourier modes along an axis of the grid (``n // 2 + 1``)."""
    res = size["resolution"]
    return min(res) // 2 + 1 if isinstance(res, (tuple, list)) else res // 2 + 1
