"""Docstrings document what the signatures say (after scikit-learn's test_docstring_parameters).

Checked with :mod:`numpydoc.docscrape` on the final ``__doc__`` (the estimators' and the models'
docstrings are completed at import time from shared templates):

- the estimators exported by :mod:`sklearn_amfno`: their ``__init__`` parameters, and those of their
  public methods defined in this package (``fit``, ``predict``, ``score``, ``initialize_*``, ...);
- the torch models of :mod:`sklearn_amfno.nn.models`: their ``__init__`` parameters;
- the public functions of :mod:`sklearn_amfno.datasets`, :mod:`sklearn_amfno.metrics`,
  :mod:`sklearn_amfno.preprocessing`, :mod:`sklearn_amfno.plotting`,
  :mod:`sklearn_amfno.callbacks`, :mod:`sklearn_amfno.parallel` and
  :mod:`sklearn_amfno.nn.losses`, the functions of :mod:`sklearn_amfno` (``load``), and the
  public classes there (``__init__`` and methods);

each documents every parameter of its signature in its "Parameters" section, in signature
order, and nothing else (``self``, ``cls``, ``*args`` and ``**kwargs`` need not be documented).
Estimators and models have an "Examples" section, estimators a "References" section, and every
docstring example imports from the public paths only.
"""

from __future__ import annotations

import importlib
import inspect
import re
import types
from collections.abc import Callable, Iterator

import pytest
from numpydoc.docscrape import NumpyDocString
from sklearn.base import BaseEstimator

import sklearn_amfno
import sklearn_amfno.callbacks
import sklearn_amfno.datasets
import sklearn_amfno.metrics
import sklearn_amfno.nn.losses
import sklearn_amfno.nn.models
import sklearn_amfno.parallel
import sklearn_amfno.plotting
import sklearn_amfno.preprocessing

PACKAGE = "sklearn_amfno"

# The paths users import from; examples must not reach into private modules.
PUBLIC_MODULES = frozenset(
    {
        "sklearn_amfno",
        "sklearn_amfno.nn",
        "sklearn_amfno.nn.models",
        "sklearn_amfno.nn.layers",
        "sklearn_amfno.nn.losses",
        "sklearn_amfno.datasets",
        "sklearn_amfno.metrics",
        "sklearn_amfno.preprocessing",
        "sklearn_amfno.plotting",
        "sklearn_amfno.callbacks",
        "sklearn_amfno.parallel",
    }
)


# -- the objects ---------------------------------------------------------------------------------


def _in_package(obj: object) -> bool:
    return (getattr(obj, "__module__", None) or "").split(".")[0] == PACKAGE


def _public_methods(cls: type) -> Iterator[tuple[str, Callable[..., object], bool]]:
    """``(name, function, takes_self)`` of the public methods of ``cls`` defined in this package.

    Methods inherited from scikit-learn (``get_params``, ``fit_transform``, ...) and properties
    are left out; a method is yielded once, by the class that defines it.
    """
    seen = set()
    for klass in cls.__mro__:
        for name, raw in vars(klass).items():
            if name.startswith("_") or name in seen:
                continue
            seen.add(name)
            func = raw.__func__ if isinstance(raw, (classmethod, staticmethod)) else raw
            if inspect.isfunction(func) and _in_package(func):
                yield name, func, not isinstance(raw, staticmethod)


def _public_names(module: types.ModuleType) -> list[str]:
    """``module.__all__``, else the public functions and classes the module defines."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return sorted(
        name
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and obj.__module__ == module.__name__
    )


ESTIMATORS = {
    name: obj
    for name in sklearn_amfno.__all__
    if isinstance(obj := getattr(sklearn_amfno, name), type) and issubclass(obj, BaseEstimator)
}

MODELS = {name: getattr(sklearn_amfno.nn.models, name) for name in sklearn_amfno.nn.models.__all__}

UTILITY_MODULES = (
    sklearn_amfno.datasets,
    sklearn_amfno.metrics,
    sklearn_amfno.preprocessing,
    sklearn_amfno.plotting,
    sklearn_amfno.callbacks,
    sklearn_amfno.parallel,
    sklearn_amfno.nn.losses,
)

# Public functions and classes of the utility modules, named "<module>.<name>", and the
# functions of the top-level package (``load``), named by themselves.
UTILITIES = {
    **{
        f"{module.__name__.removeprefix(PACKAGE + '.')}.{name}": getattr(module, name)
        for module in UTILITY_MODULES
        for name in _public_names(module)
        if inspect.isfunction(getattr(module, name)) or inspect.isclass(getattr(module, name))
    },
    **{
        name: obj for name in sklearn_amfno.__all__ if inspect.isfunction(obj := getattr(sklearn_amfno, name))
    },
}


def _methods_of(classes: dict[str, type]) -> dict[str, tuple[Callable[..., object], bool]]:
    """``(function, takes_self)`` of the public methods of ``classes``, each once, named by the
    class that defines it (a method of the shared base is checked once) with the module prefix
    of the class's key."""
    methods: dict[str, tuple[Callable[..., object], bool]] = {}
    for key, cls in classes.items():
        prefix = key.rpartition(".")[0]
        for _, func, takes_self in _public_methods(cls):
            name = f"{prefix}.{func.__qualname__}" if prefix else func.__qualname__
            methods.setdefault(name, (func, takes_self))
    return dict(sorted(methods.items()))


ESTIMATOR_METHODS = _methods_of(ESTIMATORS)
UTILITY_CLASSES = {name: obj for name, obj in UTILITIES.items() if inspect.isclass(obj)}
# Module-level functions (no self) and the methods of the classes.
UTILITY_CALLABLES = {
    **{name: (obj, False) for name, obj in UTILITIES.items() if inspect.isfunction(obj)},
    **_methods_of(UTILITY_CLASSES),
}


# -- the checks ----------------------------------------------------------------------------------


def _docstring(obj: object) -> NumpyDocString:
    doc = inspect.getdoc(obj) if not inspect.isclass(obj) else inspect.cleandoc(obj.__doc__ or "")
    return NumpyDocString(doc or "")


def _signature_parameters(func: Callable[..., object], *, bound: bool) -> list[str]:
    """Names a docstring must document: no ``self``/``cls``, no ``*args``/``**kwargs``."""
    parameters = list(inspect.signature(func).parameters.values())
    if bound and parameters:  # a method or __init__ taken from its class: drop self / cls
        parameters = parameters[1:]
    return [
        p.name
        for p in parameters
        if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]


def _documented_parameters(doc: NumpyDocString) -> list[str]:
    """Parameter names of the "Parameters" section; ``a, b : int`` documents both."""
    names = []
    for entry in doc["Parameters"]:
        for name in entry.name.split(","):
            name = name.strip()
            if name and not name.startswith("*"):  # *args / **kwargs need not be documented
                names.append(name)
    return names


def _compare(expected: list[str], documented: list[str]) -> list[str]:
    problems = []
    missing = [n for n in expected if n not in documented]
    extra = [n for n in documented if n not in expected]
    if missing:
        problems.append(f"not documented: {missing}")
    if extra:
        problems.append(f"documented but not in the signature: {extra}")
    duplicated = sorted({n for n in documented if documented.count(n) > 1})
    if duplicated:
        problems.append(f"documented more than once: {duplicated}")
    common_expected = [n for n in expected if n in documented]
    common_documented = list(dict.fromkeys(n for n in documented if n in expected))
    if common_expected != common_documented:
        problems.append(f"out of order: documented {common_documented}, signature {common_expected}")
    return problems


def _check_parameters(name: str, func: Callable[..., object], doc_owner: object, bound: bool) -> None:
    expected = _signature_parameters(func, bound=bound)
    documented = _documented_parameters(_docstring(doc_owner))
    problems = _compare(expected, documented)
    assert not problems, f"{name}: " + "; ".join(problems)


_IMPORT = re.compile(r"^\s*(?:>>>|\.\.\.)\s*(?:from\s+([\w.]+)\s+import\s+(.+)|import\s+(.+))$")


def _example_imports(doc: str) -> Iterator[tuple[str, list[str]]]:
    """``(module, names)`` of every import in the doctest lines of ``doc``."""
    for line in doc.splitlines():
        match = _IMPORT.match(line)
        if match is None:
            continue
        if match.group(1):
            names = [n.split(" as ")[0].strip(" ()") for n in match.group(2).split(",")]
            yield match.group(1), [n for n in names if n]
        else:
            for module in match.group(3).split(","):
                yield module.split(" as ")[0].strip(), []


def _all_docstrings(obj: object) -> Iterator[tuple[str, str]]:
    """The docstring of ``obj`` and, for a class, those of its public methods of this package."""
    yield getattr(obj, "__qualname__", repr(obj)), (obj.__doc__ or "")
    if inspect.isclass(obj):
        for _, func, _ in _public_methods(obj):
            yield func.__qualname__, func.__doc__ or ""


def test_checker_reports_missing_extra_and_order() -> None:
    def f(a: int, b: int, *args: int, c: int = 0, **kwargs: int) -> None:
        """Doc.

        Parameters
        ----------
        b, a : int
            Swapped.
        d : int
            Not a parameter.
        **kwargs : dict
            Allowed, not required.
        """

    assert _signature_parameters(f, bound=False) == ["a", "b", "c"]
    assert _documented_parameters(_docstring(f)) == ["b", "a", "d"]
    problems = _compare(["a", "b", "c"], ["b", "a", "d"])
    assert len(problems) == 3
    assert "['c']" in problems[0] and "['d']" in problems[1] and "out of order" in problems[2]
    assert list(_example_imports(">>> from sklearn_amfno._base import fill_doc")) == [
        ("sklearn_amfno._base", ["fill_doc"])
    ]


# -- (a) estimators ------------------------------------------------------------------------------


def test_objects_found() -> None:
    assert ESTIMATORS and MODELS and UTILITIES and ESTIMATOR_METHODS
    assert "EnsembleRegressor" in ESTIMATORS and "load" in UTILITIES
    assert {
        "plotting.FieldDisplay",
        "plotting.SpectrumDisplay",
        "plotting.TrainingCurveDisplay",
        "callbacks.EstimatorCheckpoint",
        "callbacks.latest_checkpoint",
        "parallel.check_shared_device",
        "nn.losses.RelativeH1Loss",
    } <= set(UTILITIES)
    assert set(MODELS) >= {"AMFNO", "FNO", "FFNO", "UFNO", "AFNO", "OFormer", "LSM", "OperatorNetwork"}
    assert {"fit", "predict", "score"} <= {name.rsplit(".", 1)[1] for name in ESTIMATOR_METHODS}


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_estimator_init_parameters(name: str) -> None:
    cls = ESTIMATORS[name]
    _check_parameters(name, cls.__init__, cls, bound=True)


@pytest.mark.parametrize("name", sorted(ESTIMATOR_METHODS))
def test_estimator_method_parameters(name: str) -> None:
    func, takes_self = ESTIMATOR_METHODS[name]
    _check_parameters(name, func, func, bound=takes_self)


# -- (b) torch models ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_init_parameters(name: str) -> None:
    cls = MODELS[name]
    _check_parameters(f"nn.{name}", cls.__init__, cls, bound=True)


# -- (c) datasets, metrics, preprocessing --------------------------------------------------------


@pytest.mark.parametrize("name", sorted(UTILITY_CLASSES))
def test_utility_class_init_parameters(name: str) -> None:
    cls = UTILITY_CLASSES[name]
    _check_parameters(name, cls.__init__, cls, bound=True)


@pytest.mark.parametrize("name", sorted(UTILITY_CALLABLES))
def test_utility_function_parameters(name: str) -> None:
    func, takes_self = UTILITY_CALLABLES[name]
    _check_parameters(name, func, func, bound=takes_self)


# -- (d) sections --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ESTIMATORS) + [f"nn.{m}" for m in sorted(MODELS)])
def test_examples_section(name: str) -> None:
    obj = MODELS[name[3:]] if name.startswith("nn.") else ESTIMATORS[name]
    assert "".join(_docstring(obj)["Examples"]).strip(), f"{name} has no Examples section"


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_references_section(name: str) -> None:
    assert "".join(_docstring(ESTIMATORS[name])["References"]).strip(), f"{name} has no References section"


# -- (e) examples import from the public paths ---------------------------------------------------

_ALL_OBJECTS = {
    **ESTIMATORS,
    **{f"nn.{name}": obj for name, obj in MODELS.items()},
    **UTILITIES,
}


@pytest.mark.parametrize("name", sorted(_ALL_OBJECTS))
def test_examples_import_public_paths(name: str) -> None:
    problems = []
    for where, doc in _all_docstrings(_ALL_OBJECTS[name]):
        for module, names in _example_imports(doc):
            if module.split(".")[0] != PACKAGE:
                continue
            if module not in PUBLIC_MODULES:
                problems.append(f"{where}: imports from private path {module!r}")
                continue
            public = importlib.import_module(module)
            missing = [n for n in names if not hasattr(public, n)]
            if missing:
                problems.append(f"{where}: {module!r} has no {missing}")
    assert not problems, "; ".join(problems)
