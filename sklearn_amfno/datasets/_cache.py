"""Optional on-disk caching of expensive solves through :class:`joblib.Memory`.

Generators draw their random inputs first (cheap, advances the caller's random state as usual)
and then pass the explicit inputs to a module-level batch solver through :func:`cached_call`
(or :func:`budgeted_call`, which also gives the large-request warning when the result is not
cached yet). The cache key is therefore the *inputs*, not the seed, so a cache hit is returned
only when the very same problem would have been solved.

The generators whose samples take seconds each (Airfoil, Pipe) cache every sample on its own
(:func:`solve_samples`): a generation of hours that stops part-way resumes where it stopped,
and any later request that draws some of the same inputs reuses their samples (make_airfoil
draws its displacements in one stream, so the first ``n`` samples of a larger request with the
same seed are those of a smaller one).
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import functools
import hashlib
import inspect
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from joblib import Memory
from sklearn.utils.validation import check_memory
from threadpoolctl import threadpool_limits

from ._budget import Estimate, warn_large
from ._progress import progress

#: Modules of this package that cannot change a solver's result (validation, cost estimates,
#: caching, progress bars): editing them keeps the cached results.
_NOT_NUMERICAL = frozenset({"_budget", "_cache", "_constraints", "_progress", "_moved_keywords", "_files"})


def _imported_datasets_modules(name: str) -> set[str]:
    """The ``sklearn_amfno.datasets`` modules that module ``name`` imports (``from ._x import``)."""
    tree = ast.parse((Path(__file__).parent / f"{name}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            found.add(node.module.split(".")[0])
    return found


def solver_modules(module: str) -> set[str]:
    """The datasets module ``module`` and every module of the package it imports, directly or
    not, but the non-numerical ones (``_NOT_NUMERICAL``): the code its results depend on."""
    modules, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in modules or name in _NOT_NUMERICAL:
            continue
        modules.add(name)
        todo.extend(_imported_datasets_modules(name))
    return modules


@functools.cache
def solver_code_version(module: str) -> str:
    """A hash of the code of :func:`solver_modules` of ``module`` (e.g. ``"_airfoil"``; their
    syntax trees without docstrings and comments); of the whole datasets package for a function
    defined elsewhere.

    joblib keys a cached function on its own code and arguments only; the solvers it calls are
    not part of the key, so a corrected solver would still be served the results of the old one.
    This hash joins the key: any change in a solver's code (an upgrade of the package included)
    makes its cached results miss once, while a change elsewhere (another generator, the cost
    estimates, the validation, any documentation) keeps them: a cache of hours of Airfoil solves
    survives an unrelated fix.
    """
    folder = Path(__file__).parent
    if (folder / f"{module}.py").is_file():
        paths = [folder / f"{name}.py" for name in sorted(solver_modules(module))]
    else:
        paths = sorted(folder.glob("*.py"))
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(_code_without_docs(path.read_text()).encode())
    return digest.hexdigest()[:16]


def _code_without_docs(source: str) -> str:
    """``source``'s syntax tree without its docstrings (and, as any syntax tree, comments and
    layout): what runs, so that editing documentation keeps the cached results."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                if isinstance(body[0].value.value, str):
                    node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def _versioned_call(
    func: Callable[..., Any], code_version: str, args: tuple, kwargs: dict, unkeyed: dict
) -> Any:
    """``func(*args, **kwargs, **unkeyed)``: what the cache stores, keyed on all but ``unkeyed``."""
    return func(*args, **kwargs, **unkeyed)


class _Memoised:
    """``func`` memoised by a joblib ``Memory``, keyed on its arguments and the solvers' code."""

    def __init__(self, mem: Memory, func: Callable[..., Any]) -> None:
        self.func = func
        # Arguments that cannot change the result stay out of the cache key.
        self.unkeyed = [name for name in ("verbose", "n_jobs") if name in inspect.signature(func).parameters]
        self.cached = mem.cache(_versioned_call, ignore=["unkeyed"])

    def _split(self, args: tuple, kwargs: dict) -> tuple:
        keyed = {k: v for k, v in kwargs.items() if k not in self.unkeyed}
        unkeyed = {k: v for k, v in kwargs.items() if k in self.unkeyed}
        module = self.func.__module__.rpartition(".")[2]
        return self.func, solver_code_version(module), tuple(args), keyed, unkeyed

    def __call__(self, *args, **kwargs) -> Any:
        return self.cached(*self._split(args, kwargs))

    def check_call_in_cache(self, *args, **kwargs) -> bool:
        return self.cached.check_call_in_cache(*self._split(args, kwargs))


def _memoised(memory: Memory | str | None, func: Callable[..., Any]) -> _Memoised | None:
    """``func`` memoised by ``memory``, or None when ``memory`` has no location."""
    # scikit-learn's check_memory takes a str, not a pathlib.Path.
    mem = check_memory(os.fspath(memory) if isinstance(memory, os.PathLike) else memory)
    if getattr(mem, "location", None) is None:
        return None
    return _Memoised(mem, func)


def cached_call(memory: Memory | str | None, func: Callable[..., Any], /, *args, **kwargs) -> Any:
    """Call ``func(*args, **kwargs)``, memoised by ``memory`` when it has a location.

    ``memory`` may be ``None`` (no caching), a path string or a :class:`joblib.Memory`.
    ``verbose`` and ``n_jobs`` arguments of ``func`` are excluded from the cache key, so turning
    progress bars on or off or changing the parallelism does not trigger a re-solve.
    """
    memoised = _memoised(memory, func)
    if memoised is None:
        return func(*args, **kwargs)
    return memoised(*args, **kwargs)


def budgeted_call(
    memory: Memory | str | None,
    estimate: Estimate,
    verbose: int | None,
    func: Callable[..., Any],
    /,
    *args,
    **kwargs,
) -> Any:
    """:func:`cached_call` for a generator that has announced ``estimate``.

    With a cache location, the :class:`~sklearn_amfno.datasets.LargeGenerationWarning` is given
    here, only when the result is not cached yet (without one the generator warned before
    drawing its inputs). ``func`` is a solver's private implementation (or a batch of it), which
    does not check the cost again: the generator checked the whole request.
    """
    memoised = _memoised(memory, func)
    if memoised is None:
        return func(*args, **kwargs)
    if estimate.is_large and not memoised.check_call_in_cache(*args, **kwargs):
        warn_large(estimate, verbose=verbose, cached=True)
    return memoised(*args, **kwargs)


def solve_samples(
    memory: Memory | str | None,
    estimate: Estimate,
    verbose: int,
    solve: Callable[..., Any],
    inputs: Sequence[tuple],
    /,
    *,
    n_jobs: int,
    desc: str,
    describe: Callable[[int], str],
    limit_blas: bool = False,
) -> list[Any]:
    """``[solve(*args) for args in inputs]``, each sample memoised on its own by ``memory``.

    For solvers of seconds per sample: an interrupted generation resumes, and a cached sample
    is reused by any later request that draws the same inputs. The
    :class:`~sklearn_amfno.datasets.LargeGenerationWarning` (with a cache location; without one
    the generator warned already) counts only the samples not cached yet. ``n_jobs`` threads
    (the solvers release the GIL in their sparse factorisations) with ``limit_blas``: one BLAS
    thread for the whole pool (threadpoolctl's limit is process-wide, so a solver's own limit,
    restored as it returns, would change the others' rounding). A ``RuntimeError`` (no
    convergence) or ``ValueError`` (an input the solver refuses) of sample ``i`` is raised again
    naming it (``describe(i)``), so no data is returned.
    """
    n_samples = len(inputs)
    memoised = _memoised(memory, solve)
    if memoised is not None:
        # Also writes the function's code record once, before any thread reads it.
        missing = sum(not memoised.check_call_in_cache(*args) for args in inputs)
        if missing:
            warn_large(
                dataclasses.replace(estimate, seconds=estimate.seconds * missing / n_samples),
                verbose=verbose,
                cached=True,
                samples=(missing, n_samples),
            )
    call = solve if memoised is None else memoised
    results: list[Any] = [None] * n_samples

    def one(i: int) -> None:
        try:
            results[i] = call(*inputs[i])
        except RuntimeError as exc:
            raise RuntimeError(f"{describe(i)} did not converge, so no data is returned: {exc}") from exc
        except ValueError as exc:  # a drawn input the solver refuses (e.g. a folded mesh)
            raise ValueError(f"{describe(i)} cannot be solved, so no data is returned: {exc}") from exc

    if n_jobs == 1 or n_samples == 1:
        for i in progress(range(n_samples), verbose=verbose, total=n_samples, desc=desc):
            one(i)
        return results
    limits = threadpool_limits(limits=1, user_api="blas") if limit_blas else contextlib.nullcontext()
    with limits:
        pool = ThreadPoolExecutor(min(n_jobs, n_samples))
        try:
            for _ in progress(pool.map(one, range(n_samples)), verbose=verbose, total=n_samples, desc=desc):
                pass
        finally:
            # On a failure (or Ctrl-C) the samples not started are dropped, not solved first;
            # those running finish, and are cached.
            pool.shutdown(wait=True, cancel_futures=True)
    return results
