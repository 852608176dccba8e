"""The AM-FNO paper's tables (Xiao et al., NeurIPS 2024), re-run with this package at reduced sizes.

    python -m benchmarks.paper [--quick | --smoke] [--out-dir benchmarks/results]
        [--only TABLE ...] [--rows LABEL ...] [--seeds 0 1 2] [--device auto] [--threads N]
        [--jobs N]

from the repository root (``benchmarks`` is a namespace package there).

Tables (``--only`` takes their names):

1. ``accuracy``: every model on every problem (Burgers, Darcy, Navier-Stokes, CFD-1D, CFD-2D,
   and the Geo-FNO Airfoil and Pipe on body-fitted meshes), test relative L2 error, mean +- std over the seeds
   (the rollout problems: the mean over the rolled-out frames of ``metrics.rollout_error``), the
   paper's Table 2 beside it where we have it.
2. ``cost``: parameters, seconds per epoch and peak memory on Darcy 64 x 64 (the paper's appendix
   table), each model trained in a subprocess of its own.
3. ``superres``: zero-shot super-resolution, train on 32 x 32 and test on 32 and 64
   (Navier-Stokes rollout, Darcy).
4. ``spectral``: error per wavenumber band (low / mid / high) on Darcy (the paper's Table 3).
5. ``ablation``: the basis of AM-FNO (MLP)'s frequency embedding.

Every model of a table gets the same data, epochs and batch size (the point is equal budgets);
everything else is the estimator's default, except ``width`` in the reduced presets. Seed ``s``
draws the data (``random_state=s`` of the generator) and initialises the models
(``random_state=s``). A fit that raises is recorded in its cell as ``failed: <ExceptionName>``.

Output (``--out-dir``, default ``benchmarks/results``): ``paper.md`` with every table and the
stamp (machine, versions, seeds, command, wall time per table, sizes), ``paper.<table>.csv`` per
table and ``paper.json`` with the raw per-seed results; ``paper_quick.*`` with ``--quick``,
``paper_smoke.*`` with ``--smoke``.

Presets: the default is the full run (about two hours on 2 CPU cores, see ``SIZES["full"]``);
``--quick`` runs every table and row tiny with one seed (a few minutes); ``--smoke`` is smaller
still (the test suite's check that every code path runs).

The package, one module per concern: :mod:`.presets` (rows, tables, sizes, the paper's
numbers), :mod:`.problems` (the data), :mod:`.fitting` (one fit and its errors),
:mod:`.formatting` (cells, Markdown, CSV), :mod:`.run` (data and fits shared by the tables),
one module per table (:mod:`.accuracy`, :mod:`.cost`, :mod:`.superres`, :mod:`.spectral`,
:mod:`.ablation`), :mod:`.processes` (worker processes), :mod:`.prefetch` (``--jobs``),
:mod:`.estimate` (``--estimate``), :mod:`.output` (stamp and files) and :mod:`.cli` (the command
line, run by ``__main__``). The other benchmarks import what they share from here
(``from benchmarks import paper``): the names below.
"""

from __future__ import annotations

from .ablation import NOT_SUPPORTED, no_embedding_basis
from .cli import main
from .cost import cost_worker
from .fitting import Budget, fit_eval, make_estimator
from .formatting import cell, fmt_number, summarise, write_csv
from .output import json_default
from .prefetch import planned_fits
from .presets import ABLATION_ROWS, PAPER_TABLE2, RESOLUTION_ROWS, ROWS, SIZES, TABLES
from .problems import MESH_PROBLEMS, PROBLEMS, Problem, cfd_2d_generator, make_problem
from .processes import RESULT_MARK, WorkerProcess, serve
from .run import Run

__all__ = [
    "ABLATION_ROWS",
    "MESH_PROBLEMS",
    "NOT_SUPPORTED",
    "PAPER_TABLE2",
    "PROBLEMS",
    "RESOLUTION_ROWS",
    "RESULT_MARK",
    "ROWS",
    "SIZES",
    "TABLES",
    "Budget",
    "Problem",
    "Run",
    "WorkerProcess",
    "cell",
    "cfd_2d_generator",
    "cost_worker",
    "fit_eval",
    "fmt_number",
    "json_default",
    "main",
    "make_estimator",
    "make_problem",
    "no_embedding_basis",
    "planned_fits",
    "serve",
    "summarise",
    "write_csv",
]
