"""Sphinx configuration of the geomrep documentation site (``make docs`` → ``docs/_build/html``).

Sphinx (autodoc + napoleon for the Google-style docstrings, myst-nb for the notebooks and Markdown pages)
because autodoc imports the real objects, so the pages cannot drift from ``__all__`` and signatures.
The build is offline: no intersphinx, MathJax is served from the site itself (``sphinx-mathjax-offline``),
and the tutorials are rendered from their stored outputs (``nb_execution_mode = "off"``).
"""

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))

import geomrep  # noqa: E402

project = "geomrep"
author = "geomrep developers"
copyright = "2026, geomrep developers"
release = geomrep.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",
    "myst_nb",
    "geomrep_docs",
]

# the tutorials and the benchmark results live outside docs/; geomrep_docs copies them in (see _ext)
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints", "benchmarks/results/*.md", "reproductions/results/*.md"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}

# --- autodoc / napoleon ---------------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autodoc_default_options = {}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_attr_annotations = True

# Dangling references to geomrep objects are errors (nitpicky + -W); references to other packages are
# not resolvable offline (no intersphinx) and are ignored.
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", r"(?!geomrep\b).*")]

# --- notebooks / Markdown -------------------------------------------------------------------------
nb_execution_mode = "off"  # the test suite executes the tutorials; the site shows the stored outputs
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]

# --- HTML -----------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"geomrep {release}"
html_static_path = []
