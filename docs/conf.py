"""Sphinx configuration of nnc's documentation site.

    pip install -e ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html

Pages are MyST Markdown (myst-parser); the API reference comes from the docstrings (autodoc +
napoleon); the gallery is sphinx-gallery over the scripts in examples/ (run in quick mode).
"""
import importlib.util
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Gallery scripts read this and train for a few epochs on little data, so the build stays short.
os.environ.setdefault("NNC_GALLERY_QUICK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import nnc  # noqa: E402  (the installed, compiled package: the docs describe what users get)

project = "nnc"
author = "The nnc developers"
copyright = "The nnc developers, MIT License"
version = release = nnc.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
default_role = "literal"      # docstrings write `name` for code, as Markdown does
language = "en"
exclude_patterns = ["_build", "_gallery_src", "_gallery_header.rst", "Thumbs.db", ".DS_Store"]
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath"]
myst_heading_anchors = 3
suppress_warnings = ["config.cache"]   # sphinx_gallery_conf holds functions: Sphinx cannot pickle it

html_theme = "pydata_sphinx_theme"
html_title = f"nnc {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path = []
html_show_sourcelink = False

# ---- API reference ------------------------------------------------------------------------------
autodoc_default_options = {
    "members": True,
    "undoc-members": False,
    "private-members": False,
    "special-members": "",
    "show-inheritance": True,
    "member-order": "bysource",
}
autodoc_typehints = "none"          # the docstrings state shapes and types in words
autodoc_inherit_docstrings = True
autoclass_content = "both"          # class docstring and __init__ docstring together
napoleon_google_docstring = True
napoleon_numpy_docstring = True

# The modules of the API reference, in order, with a one-line title. A module not (yet) in the
# package is skipped, so the site builds while modules are being written.
API_MODULES = [
    ("nnc", "The top level: models, backends, threads"),
    ("nnc.layers", "Layers"),
    ("nnc.losses", "Losses"),
    ("nnc.optim", "Optimizers"),
    ("nnc.optim.schedules", "Learning-rate schedules"),
    ("nnc.optim.trajectory", "Optimizer paths on 2-D surfaces"),
    ("nnc.regularizers", "Regularizers"),
    ("nnc.initializers", "Initializers"),
    ("nnc.models.trainer", "Training: compile, fit, evaluate, predict"),
    ("nnc.models.hooks", "Hooks"),
    ("nnc.callbacks", "Callbacks"),
    ("nnc.metrics", "Metrics"),
    ("nnc.data", "Data utilities"),
    ("nnc.datasets", "Datasets"),
    ("nnc.plot", "Plots (matplotlib)"),
    ("nnc.diagnostics", "Diagnostics"),
    ("nnc.trace", "Tracing a batch"),
    ("nnc.exercises", "Exercises"),
    ("nnc.debug", "Stepping into a kernel with pdb"),
    ("nnc.config", "Threads, the build, what import changes"),
    ("nnc.validation", "Argument checks and window geometry"),
    ("nnc.sklearn", "scikit-learn estimators"),
    ("nnc.onnx", "ONNX export"),
    ("nnc.gallery", "Helpers of the gallery scripts"),
    ("nnc.backend", "The backend switch"),
    ("nnc.backend.reference", "Reference kernels (pure Python)"),
    ("nnc.backend.caches", "Kernel caches"),
]


def _importable(name):
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


def _write_if_changed(path, text):
    """Write only when the text differs, so Sphinx does not rebuild unchanged pages."""
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    except OSError:
        pass
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _api_pages():
    out = os.path.join(HERE, "api", "_generated")
    os.makedirs(out, exist_ok=True)
    present = []
    for name, title in API_MODULES:
        if not _importable(name):
            print(f"docs: {name} is not in the package: no API page for it")
            continue
        present.append(name)
        head = f"``{name}``: {title}"
        # A package re-exports what its modules define: document those names here, under it.
        spec = importlib.util.find_spec(name)
        extra = ""
        if spec.submodule_search_locations is not None:
            # ... except a name that has a page of its own (nnc.trace the function, nnc.trace the module)
            own = [m[len(name) + 1:] for m, _ in API_MODULES if m.startswith(name + ".") and "." not in m[len(name) + 1:]]
            extra = "   :imported-members:\n" + (f"   :exclude-members: {', '.join(own)}\n" if own else "")
        _write_if_changed(os.path.join(out, f"{name}.rst"),
                          f"{head}\n{'=' * len(head)}\n\n.. automodule:: {name}\n{extra}")
    for stale in os.listdir(out):
        if stale.endswith(".rst") and stale[:-4] not in present:
            os.remove(os.path.join(out, stale))
    lines = [".. toctree::", "   :maxdepth: 1", ""] + [f"   _generated/{n}" for n in present]
    _write_if_changed(os.path.join(HERE, "api", "_toctree.inc"), "\n".join(lines) + "\n")
    return present


API_PRESENT = _api_pages()
for _name in ("nnc.exercises", "nnc.trace"):
    if _name in API_PRESENT:
        tags.add("has_" + _name.split(".")[-1])  # noqa: F821  (Sphinx defines `tags` in conf.py)

# Docstrings are plain text: an indented block after a line is an equation or a code sample,
# meant to be read as written. Turn each into a literal block, so that docutils neither reflows it
# nor warns about unexpected indentation.
_FIELD = re.compile(r"^\s*(:\w|\.\. |>>>)")


def _literal_blocks(app, what, name, obj, options, lines):
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        indent = len(line) - len(line.lstrip())
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        nxt_indent = len(nxt) - len(nxt.lstrip())
        out.append(_escape_line(line))
        i += 1
        if (line.strip() and nxt.strip() and nxt_indent > indent and not _FIELD.match(line)
                and not line.rstrip().endswith("::") and not _FIELD.match(nxt)):
            # a paragraph line directly followed by a deeper one: start a literal block
            out[-1] = line.rstrip()
            out.append("")
            out.append(" " * indent + "::")
            out.append("")
            while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
                out.append(" " * 4 + lines[i] if lines[i].strip() else "")
                i += 1
            out.append("")
        elif not line.strip() and nxt.strip() and out[:-1] and nxt_indent > _para_indent(out[:-1]) \
                and not _FIELD.match(nxt) and not (len(out) > 1 and out[-2].rstrip().endswith("::")):
            base = _para_indent(out[:-1])
            out.append(" " * base + "::")
            out.append("")
            while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > base):
                out.append(" " * 4 + lines[i] if lines[i].strip() else "")
                i += 1
            out.append("")
    lines[:] = out


# Outside ``literals`` and `roles`, the characters that reST reads as markup in plain text: |x| (a
# substitution), a lone * (emphasis), coef_ (a link target). Escaped so they print as written.
_INLINE = re.compile(r"(``.+?``|:[\w:]+:`[^`]+`|`[^`]+`_{0,2})")
_MARKUP = re.compile(r"(\|)|(?<![\w*\\])(\*{1,2})(?=[^\s*])|(?<=\w)(_{1,2})(?!\w)")


def _escape(text):
    parts = _INLINE.split(text)
    for k in range(0, len(parts), 2):    # the even parts are outside literals and roles
        parts[k] = _MARKUP.sub(lambda m: "\\" + m.group(0) if m.group(1) or m.group(3)
                               else m.group(0).replace("*", "\\*"), parts[k])
    return "".join(parts)


_FIELD_HEAD = re.compile(r"^(\s*:[^:]+:\s*)(.*)$")


def _escape_line(line):
    if line.lstrip().startswith((".. ", ">>>", "...")):
        return line
    m = _FIELD_HEAD.match(line)
    if m:
        return m.group(1) + _escape(m.group(2))
    return _escape(line)


def _para_indent(previous):
    """Indentation of the last non-blank line before a blank one."""
    for line in reversed(previous):
        if line.strip():
            return len(line) - len(line.lstrip())
    return 0


def _skip_sklearn_request_setters(app, what, name, obj, skip, options):
    """scikit-learn adds set_fit_request & co. to every estimator class (metadata routing); their docstrings
    point into scikit-learn's own site (:ref:`metadata_routing`), which this build cannot resolve."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-process-docstring", _literal_blocks, priority=600)
    app.connect("autodoc-skip-member", _skip_sklearn_request_setters)


# ---- Gallery --------------------------------------------------------------------------------------
# The scripts in examples/ in sphinx-gallery form (a docstring whose title is underlined with ===,
# `# %%` cells) are copied to _gallery_src/ with the gallery's header (_gallery_header.rst) and run
# there; any other script in examples/ (argparse tools such as plot_gallery.py) is left out.
GALLERY_SRC = os.path.join(HERE, "_gallery_src")


def _gallery_title(path):
    """The title of a script in sphinx-gallery form, else None."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.match(r'\s*(?:#[^\n]*\n\s*)*[rR]?("""|\'\'\')\s*\n?([^\n]+)\n(=+)[ \t]*\n', text)
    if m is None or len(m.group(3)) < len(m.group(2).strip()):
        return None
    return m.group(2).strip()


def _stage_gallery():
    examples = os.path.join(ROOT, "examples")
    if os.path.isdir(GALLERY_SRC):
        shutil.rmtree(GALLERY_SRC)
    os.makedirs(GALLERY_SRC)
    shutil.copy(os.path.join(HERE, "_gallery_header.rst"), os.path.join(GALLERY_SRC, "GALLERY_HEADER.rst"))
    staged = []
    for fname in sorted(os.listdir(examples)) if os.path.isdir(examples) else []:
        path = os.path.join(examples, fname)
        if not fname.endswith(".py") or fname.startswith("_"):
            continue
        title = _gallery_title(path)
        if title is None:
            print(f"docs: examples/{fname} is not in sphinx-gallery form (no === title): not in the gallery")
            continue
        shutil.copy(path, GALLERY_SRC)
        staged.append((fname[:-3], title))
    # The Portuguese gallery page lists the same examples (their pages are in English).
    os.makedirs(os.path.join(HERE, "_generated"), exist_ok=True)
    items = [f"- {{doc}}`{title} </auto_examples/{stem}>`" for stem, title in staged] or \
            ["- (ainda não há exemplos na galeria)"]
    _write_if_changed(os.path.join(HERE, "_generated", "galeria.inc"), "\n".join(items) + "\n")
    return staged


GALLERY = _stage_gallery()

sphinx_gallery_conf = {
    "examples_dirs": [GALLERY_SRC],
    "gallery_dirs": [os.path.join(HERE, "auto_examples")],
    "filename_pattern": r".*\.py$",          # run every staged script (all are gallery scripts)
    "ignore_pattern": r"(^|/)_[^/]*\.py$",   # private helper scripts, if any, are not examples
    "download_all_examples": True,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "reset_modules": ("matplotlib",),
    "show_memory": False,
    "plot_gallery": "True",
    "only_warn_on_example_error": False,    # a failing example fails the build
    "copyfile_regex": "",
}
