"""What importing the package loads: the top level imports its names lazily (PEP 562), and
``sklearn_amfno.datasets`` (NumPy, SciPy, h5py) loads neither torch nor skorch."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import sklearn_amfno


def _run(code: str, tmp_path=None) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (``sys.modules`` starts empty there)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )


def _assert_ran(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok"), result.stdout + result.stderr


@pytest.mark.slow
def test_importing_the_datasets_loads_neither_torch_nor_skorch(tmp_path):
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(0)
    path = tmp_path / "darcy.h5"
    with h5py.File(path, "w") as f:
        f["nu"] = rng.random((3, 8, 8))
        f["tensor"] = rng.random((3, 1, 8, 8))
    result = _run(
        f"""
        import sys
        import sklearn_amfno.datasets as d

        d.make_darcy(2, 8, random_state=0)
        X, y = d.load_pdebench({str(path)!r})
        X_lazy, y_lazy = d.load_pdebench({str(path)!r}, lazy=True)
        assert (X_lazy[1] == X[1]).all() and (y_lazy[:2] == y[:2]).all()
        loaded = sorted(m for m in ("torch", "skorch") if m in sys.modules)
        assert not loaded, loaded
        print("ok")
        """,
        tmp_path,
    )
    _assert_ran(result)


def test_the_top_level_gives_its_version_without_importing_torch(tmp_path):
    result = _run(
        """
        import sys
        import sklearn_amfno

        version = sklearn_amfno.__version__
        assert "torch" not in sys.modules and "skorch" not in sys.modules
        print(version, "ok")
        """,
        tmp_path,
    )
    _assert_ran(result)
    assert result.stdout.split() == [sklearn_amfno.__version__, "ok"]


@pytest.mark.slow
def test_a_plain_import_reaches_the_public_names_and_submodules_as_attributes(tmp_path):
    result = _run(
        """
        import sklearn_amfno

        assert sklearn_amfno.AMFNORegressor.__module__ == "sklearn_amfno.estimators._amfno"
        assert callable(sklearn_amfno.load)
        assert callable(sklearn_amfno.metrics.relative_l2_error)
        assert callable(sklearn_amfno.datasets.make_darcy)
        assert sklearn_amfno.nn.AMFNO.__name__ == "AMFNO"
        assert sklearn_amfno.preprocessing.GridStandardScaler.__name__ == "GridStandardScaler"
        assert sklearn_amfno.plotting.FieldDisplay.__name__ == "FieldDisplay"
        assert callable(sklearn_amfno.parallel.check_shared_device)
        assert sklearn_amfno.callbacks.EstimatorCheckpoint.__name__ == "EstimatorCheckpoint"
        from sklearn_amfno import FNORegressor, TrainingDivergedError  # noqa: F401
        print("ok")
        """,
        tmp_path,
    )
    _assert_ran(result)


def test_every_public_name_resolves_and_dir_lists_it():
    for name in sklearn_amfno.__all__:
        assert getattr(sklearn_amfno, name) is not None, name
    assert set(sklearn_amfno.__all__) <= set(dir(sklearn_amfno))
    assert {"datasets", "metrics", "nn", "plotting", "preprocessing"} <= set(dir(sklearn_amfno))
    namespace: dict = {}
    exec("from sklearn_amfno import *", namespace)
    assert set(sklearn_amfno.__all__) <= set(namespace)


def test_an_unknown_name_raises_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'NotAnEstimator'"):
        sklearn_amfno.NotAnEstimator  # noqa: B018
    assert not hasattr(sklearn_amfno, "not_a_module")


def _top_level_imports(path) -> list[str]:
    """The imports in ``path`` that reach the top-level namespace of ``sklearn_amfno`` itself."""
    import ast

    package = path.parent
    depth = len(path.relative_to(sklearn_amfno.__path__[0]).parts) - 1  # 0 for a top-level module
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name == "sklearn_amfno"]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module == "sklearn_amfno":
                found.append(f"from sklearn_amfno import {', '.join(a.name for a in node.names)}")
            elif node.level == depth + 1 and node.module is None:
                # ``from . import x`` (``from .. import x`` in a subpackage): fine for submodules.
                base = package.parents[depth - 1] if depth else package
                for alias in node.names:
                    if not ((base / f"{alias.name}.py").exists() or (base / alias.name).is_dir()):
                        found.append(f"from {'.' * node.level} import {alias.name}")
    return found


def test_no_module_of_the_package_imports_its_top_level():
    # The top level is the users' door (lazy public names); inside, modules import the module
    # that defines a name, so that imports run one way (the estimator registry included).
    from pathlib import Path

    root = Path(sklearn_amfno.__path__[0])
    offenders = {
        str(path.relative_to(root)): found
        for path in sorted(root.rglob("*.py"))
        if path.name != "__init__.py" or path.parent != root
        if (found := _top_level_imports(path))
    }
    assert not offenders, offenders
