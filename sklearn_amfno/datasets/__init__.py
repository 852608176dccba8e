"""Built-in PDE benchmark generators, their solvers, and readers for published benchmark files.

Every ``make_*`` generator returns ``X, y`` as float64 arrays of shape ``(n_samples, *grid)``
(one channel) or ``(n_samples, *grid, n_channels)`` (channel axis last), with ``y`` on the same
grid as ``X``. See ``docs/datasets.md``.

A request whose estimated time or memory is large gives a :class:`LargeGenerationWarning` before
the work starts; one whose returned arrays cannot fit in the machine's memory is refused with a
ValueError.
"""

from ._airfoil import make_airfoil, solve_airfoil
from ._budget import LargeGenerationWarning
from ._burgers import make_burgers, solve_burgers
from ._cfd_1d import make_cfd_1d
from ._cfd_2d import make_cfd_2d
from ._darcy import make_darcy, solve_darcy
from ._euler_1d import solve_euler_1d
from ._euler_2d import solve_euler_2d
from ._exact_riemann import exact_riemann_euler
from ._fno_mat import load_fno_mat
from ._geofno import load_geofno, save_geofno
from ._heat_advection import advection_solution, heat_solution, make_advection, make_heat
from ._navier_stokes import kolmogorov_forcing, make_navier_stokes, solve_navier_stokes
from ._pdebench import load_pdebench
from ._pipe import make_pipe, solve_pipe
from ._the_well import load_the_well

__all__ = [
    # generators
    "make_advection",
    "make_airfoil",
    "make_burgers",
    "make_cfd_1d",
    "make_cfd_2d",
    "make_darcy",
    "make_heat",
    "make_navier_stokes",
    "make_pipe",
    # solvers and helpers
    "advection_solution",
    "solve_airfoil",
    "exact_riemann_euler",
    "heat_solution",
    "kolmogorov_forcing",
    "solve_burgers",
    "solve_darcy",
    "solve_euler_1d",
    "solve_euler_2d",
    "solve_navier_stokes",
    "solve_pipe",
    # readers
    "load_fno_mat",
    "load_geofno",
    "load_pdebench",
    "load_the_well",
    # writers
    "save_geofno",
    # warnings
    "LargeGenerationWarning",
]
