"""Sphinx configuration of the sklearn_amfno documentation.

Build (from the repository root, after ``python -m pip install -e ".[docs]"``)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The gallery scripts in ``examples/`` run during the build (sphinx-gallery); the Markdown pages
are read by MyST, so the long-form pages stay plain Markdown.
"""

from __future__ import annotations

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


def _process_docstring(app, what, name, obj, options, lines: list[str]) -> None:
    lines[:] = [_escape_shape_stars(line) for line in lines]


def _skip_foreign_members(app, what, name, obj, skip, options) -> bool | None:
    """Document the methods this package defines, not those of scikit-learn's or torch's bases.

    The class pages list inherited members, so the estimators show ``fit``/``predict``/``score``
    of their private base; ``get_params``, ``set_fit_request``, ``torch.nn.Module.to`` and the
    like are documented by their own projects.
    """
    if what != "class" or skip:
        return None
    func = getattr(obj, "__func__", obj)
    module = getattr(func, "__module__", None)
    if callable(func) and module is not None and not module.startswith("sklearn_amfno"):
        return True
    return None


def setup(app) -> None:
    # Before numpydoc (priority 500) turns the sections into reStructuredText.
    app.connect("autodoc-process-docstring", _process_docstring, priority=400)
    app.connect("autodoc-skip-member", _skip_foreign_members)
