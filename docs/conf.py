"""Sphinx configuration of the sklearn_amfno documentation.

Build (from the repository root, after ``python -m pip install -e ".[docs]"``)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The gallery scripts in ``examples/`` run during the build (sphinx-gallery); the Markdown pages
are read by MyST, so the long-form pages stay plain Markdown.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from pathlib import Path

# The package is installed editable in development and CI; the path makes a plain checkout
# build too.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The gallery trains small models on the CPU; one thread (unless the caller chose otherwise) keeps
# their timings comparable between machines. Set before torch is first imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import sklearn_amfno  # noqa: E402

project = "sklearn_amfno"
author = "the sklearn_amfno developers"
copyright = "the sklearn_amfno developers"  # noqa: A001 - Sphinx's name
release = sklearn_amfno.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "sphinx_design",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build"]

# -- API reference ----------------------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"member-order": "bysource"}
# Signatures show the defaults; the types are in the numpydoc "Parameters" sections.
autodoc_typehints = "none"
# numpydoc renders the docstring sections; the class template lists the methods itself, so
# numpydoc's own member tables would repeat them.
numpydoc_show_class_members = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- Markdown (MyST) ----------------------------------------------------------------------------
# The pages link to their own sections by heading ("#errors-and-warnings").
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath", "colon_fence"]

# -- Gallery ------------------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "doc_module": ("sklearn_amfno",),
    "backreferences_dir": "gen_modules/backreferences",
    "reference_url": {"sklearn_amfno": None},
    # A failing example fails the build, with its traceback.
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    # The times are printed in the build log; a page of them would change at every build.
    "write_computation_times": False,
    "matplotlib_animations": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    # A cell's last expression is printed; matplotlib's artists (``ax.legend()``) have nothing to
    # say, the package's displays have a repr.
    "ignore_repr_types": r"matplotlib[.]",
}
# -- HTML ---------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklearn_amfno {release}"
html_static_path = ["_static"]
html_theme_options = {
    # User guide, Examples, API reference in the header; the topic pages under "More".
    "header_links_before_dropdown": 3,
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"**": ["sidebar-nav-bs"]}
html_show_sourcelink = False


# -- Docstring hooks ----------------------------------------------------------------------------
# The docstrings write shapes as plain text, ``array-like of shape (n_samples, *grid)`` (the
# house notation, readable in ``help()``); to reStructuredText a bare ``*grid`` opens an
# emphasis that never closes. Outside literals and roles, a star that starts a name closed by
# ``,`` or ``)`` is such a shape entry and is escaped; ``*emphasis*`` is left as it is.
_LITERAL_OR_ROLE = re.compile(r"(``.*?``|`[^`]*`)")
_SHAPE_STAR = re.compile(r"(?<=[(\[\s,])\*(?=[A-Za-z_]\w*\s*[,)\]])")


def _escape_shape_stars(line: str) -> str:
    parts = _LITERAL_OR_ROLE.split(line)
    # Even indices lie outside literals and roles.
    return "".join(_SHAPE_STAR.sub(r"\\*", part) if i % 2 == 0 else part for i, part in enumerate(parts))


# The docstrings name the topic pages by their path in the repository, ``docs/scaling_out.md``
# (readable in ``help()`` and on GitHub); on the site such a path, quoted or bare, becomes a link
# to the page. Paths that are no page of this site (another project's ``docs/data_format.md``)
# stay as they are.
_DOCS_DIR = Path(__file__).resolve().parent
_PAGE_PATH = re.compile(r"^``docs/([\w/]+)\.md``$")
_BARE_PAGE_PATH = re.compile(r"(?<![\w/.])docs/([\w/]+)\.md\b")


def _page_link(match: re.Match) -> str:
    page = match.group(1)
    return f":doc:`/{page}`" if (_DOCS_DIR / f"{page}.md").is_file() else match.group(0)


def _link_pages(line: str) -> str:
    parts = _LITERAL_OR_ROLE.split(line)
    return "".join(
        _BARE_PAGE_PATH.sub(_page_link, part) if i % 2 == 0 else _PAGE_PATH.sub(_page_link, part)
        for i, part in enumerate(parts)
    )


def _process_docstring(app, what, name, obj, options, lines: list[str]) -> None:
    lines[:] = [_link_pages(_escape_shape_stars(line)) for line in lines]


# The class pages list the sklearn-facing API: the methods this package defines, and the
# estimator methods scikit-learn's bases give (``get_params``, ``set_params``, and
# ``fit_transform``/``get_feature_names_out`` of the transformers). Not listed: scikit-learn's
# metadata routing (``set_fit_request``, ...), torch's ``nn.Module`` methods (``to``, ``train``,
# ...), and the hooks through which an estimator builds its skorch net (``initialize_module``,
# ``initialize_criterion``, ``initialize_callbacks``, ``initialize_net``: extension points,
# described in docs/architecture.md, not methods to call).
_SKLEARN_FACING = frozenset({"get_params", "set_params", "fit_transform", "get_feature_names_out"})


def _defining_class(func) -> type | None:
    module = sys.modules.get(getattr(func, "__module__", None) or "")
    owner = getattr(func, "__qualname__", "").split(".")[0]
    found = getattr(module, owner, None)
    return found if isinstance(found, type) else None


def _skip_member(app, what, name, obj, skip, options) -> bool | None:
    # autodoc asks about a class's members with what="class"; autosummary, filling the class
    # template's list of methods, with the member's own type.
    if what not in ("class", "method", "property") or skip:
        return None
    func = obj.fget if isinstance(obj, property) else getattr(obj, "__func__", obj)
    module = getattr(func, "__module__", None) or ""
    if not callable(func) or not module:
        return None
    if name in _SKLEARN_FACING and module.startswith("sklearn."):
        return False
    if not module.startswith("sklearn_amfno"):
        return True
    if name.startswith("initialize_"):
        from sklearn.base import BaseEstimator

        owner = _defining_class(func)
        if owner is not None and issubclass(owner, BaseEstimator):
            return True
    return None


# "Bases:" lines name public classes only, each linked. A private base of this package (the
# estimators' ``_base.BaseOperatorRegressor``) gives way to its own bases; a documented class of
# this package links to its page; scikit-learn's, torch's, skorch's and Python's classes link to
# their projects' pages (no intersphinx: the build needs no network).
# The modules of docs/api/, the most specific first: a class is documented where it is listed
# there (a layer under sklearn_amfno.nn.layers even if sklearn_amfno.nn exports it too).
_PUBLIC_MODULES = (
    "sklearn_amfno.nn.layers",
    "sklearn_amfno.nn.losses",
    "sklearn_amfno.nn",
    "sklearn_amfno.callbacks",
    "sklearn_amfno.parallel",
    "sklearn_amfno.datasets",
    "sklearn_amfno.metrics",
    "sklearn_amfno.preprocessing",
    "sklearn_amfno.plotting",
    "sklearn_amfno",
)
_EXTERNAL_PAGES = {
    "sklearn.base": "https://scikit-learn.org/stable/modules/generated/sklearn.base.{name}.html",
    "torch.nn": "https://docs.pytorch.org/docs/stable/generated/torch.nn.{name}.html",
    "skorch.callbacks": "https://skorch.readthedocs.io/en/stable/callbacks.html#skorch.callbacks.{name}",
    "builtins": "https://docs.python.org/3/library/exceptions.html#{name}",
}


def _public_path(cls: type, modules) -> str | None:
    """Where ``cls`` is exported from among ``modules`` (by their ``__all__``, when they have one)."""
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        exported = getattr(module, "__all__", None)
        if getattr(module, cls.__name__, None) is cls and (exported is None or cls.__name__ in exported):
            return f"{module_name}.{cls.__name__}"
    return None


def _own_public_path(cls: type) -> str | None:
    if not (getattr(cls, "__module__", None) or "").startswith("sklearn_amfno"):
        return None
    return _public_path(cls, _PUBLIC_MODULES)


def _public_bases(bases) -> list[type]:
    public: list[type] = []
    for base in bases:
        module = getattr(base, "__module__", "") or ""
        if module.startswith("sklearn_amfno") and _own_public_path(base) is None:
            expanded = _public_bases(base.__bases__)
        else:
            expanded = [base]
        public += [b for b in expanded if b not in public]
    return [b for b in public if b is not object] or public


def _base_reference(base: type) -> str | type:
    if base is object:
        return "`object <https://docs.python.org/3/library/functions.html#object>`__"
    own = _own_public_path(base)
    if own is not None:
        return f":py:class:`~{own}`"
    path = _public_path(base, _EXTERNAL_PAGES)
    if path is None:
        return base
    module_name = path.rsplit(".", 1)[0]
    shown = base.__name__ if module_name == "builtins" else path
    return f"`{shown} <{_EXTERNAL_PAGES[module_name].format(name=base.__name__)}>`__"


def _process_bases(app, name, obj, options, bases: list) -> None:
    bases[:] = [_base_reference(base) for base in _public_bases(bases)]


def setup(app) -> None:
    # Before numpydoc (priority 500) turns the sections into reStructuredText.
    app.connect("autodoc-process-docstring", _process_docstring, priority=400)
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("autodoc-process-bases", _process_bases)
