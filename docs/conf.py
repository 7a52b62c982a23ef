"""Sphinx configuration of the lowdim-diffusion documentation.

Build from the repository root (warnings are errors)::

    pip install -e '.[docs]'
    python -m sphinx -W --keep-going -b html docs docs/_build/html

Generated at build time and kept out of git: ``api/generated/`` (the API pages),
``auto_examples/`` and ``sg_execution_times.rst`` (the executed gallery), ``generated/``
(pages read from the code by ``_ext/lowdim_docs.py``).
"""
import os
import sys

import matplotlib

matplotlib.use("Agg")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "_ext"))

from lowdim.compare.provenance import package_version  # noqa: E402

project = "lowdim-diffusion"
author = "the lowdim-diffusion authors"
copyright = "the lowdim-diffusion authors"
release = package_version()
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "lowdim_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "_templates", "_ext", "examples", "generated",
                    "**.ipynb_checkpoints"]

# ----------------------------------------------------------------------------- API pages
autosummary_generate = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"          # the numpydoc sections state the types
numpydoc_show_class_members = False  # autodoc lists the members; no second table
numpydoc_class_members_toctree = False

# ----------------------------------------------------------------------------- Markdown
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath"]

# ----------------------------------------------------------------------------- gallery
# Every docs/examples/plot_*.py runs at build time (a failing example fails the build);
# each page offers the example as a script and as a notebook.
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "lowdim_docs.ExampleOrder",
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 0,
}

# ----------------------------------------------------------------------------- output
html_theme = "alabaster"
html_title = f"lowdim-diffusion {release}"
html_theme_options = {"page_width": "1100px", "sidebar_width": "240px",
                      "description": "diffusion theory, checked by simulation"}
