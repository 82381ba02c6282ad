"""Helpers the gallery scripts share (examples/*.py): options, figure saving, data, tables.

Not an example itself: the argument parsing, the output folder and the data loading that every script
of the gallery shares, in the package so that a script works the same run from the shell
(``python examples/NAME.py [--quick] [--full] [--out DIR]``), inside the docs build, and as the
notebook the docs offer for download, wherever it is saved. Figures go into ``gallery/NAME/``
(relative to the working directory) unless ``--out`` says otherwise. ``NNC_GALLERY_QUICK=1`` in the
environment means ``--quick`` (sphinx-gallery and notebooks run a script without our arguments, so the
environment is how they ask for the small versions).

Importing this module imports matplotlib (the ``plot`` extra); ``import nnc`` does not import it.
"""
import argparse
import os
import sys

import matplotlib.pyplot as plt

__all__ = ["options", "save", "load_images", "table", "plt"]


def _interactive():
    """True inside sphinx-gallery or a Jupyter kernel: they show the figures still open at the end
    of a cell, so save() leaves them open there."""
    return "sphinx_gallery" in sys.modules or "ipykernel" in sys.modules


def options(name, description, argv=None, full=False, extra=None):
    """Parse the common options -> argparse.Namespace with quick, out (created), full (if asked for).

    parse_known_args: sphinx-gallery (or a notebook kernel) leaves its own arguments in sys.argv;
    they are ignored rather than refused. extra(parser) may add a script's own options."""
    ap = argparse.ArgumentParser(prog=f"{name}.py", description=description)
    ap.add_argument("--quick", action="store_true",
                    help="a small, fast version (a few seconds); also NNC_GALLERY_QUICK=1")
    ap.add_argument("--out", default=os.path.join("gallery", name),
                    help=f"folder for the figures (default gallery/{name}/)")
    if full:
        ap.add_argument("--full", action="store_true",
                        help="the whole Fashion-MNIST when installed (else the built-in sample, said so)")
    if extra is not None:
        extra(ap)
    args, _unknown = ap.parse_known_args(sys.argv[1:] if argv is None else argv)
    args.quick = args.quick or os.environ.get("NNC_GALLERY_QUICK", "") not in ("", "0")
    if not full:
        args.full = False
    os.makedirs(args.out, exist_ok=True)
    return args


def save(fig, out, filename):
    """Write a figure as PNG into `out` and say so -> its path. The figure stays open under
    sphinx-gallery (its scraper collects open figures into the page) and in a notebook (shown below
    the cell); from the shell it is closed, so a long script does not pile figures up."""
    fig = getattr(fig, "figure", fig)     # an Axes -> its Figure
    path = os.path.join(out, filename)
    fig.savefig(path, dpi=100)
    print("wrote", path)
    if not _interactive():
        plt.close(fig)
    return path


def load_images(full=False, layout="flat", normalize=True):
    """((x_train, y_train), (x_test, y_test)), source: the whole Fashion-MNIST if `full` and its files
    are installed (Debian package dataset-fashion-mnist, or $NNC_DATA), else the built-in sample of
    4000 training and 1000 test images. A missing Fashion-MNIST is said, not hidden."""
    import nnc
    if full:
        try:
            data = nnc.datasets.load_fashion_mnist(normalize=normalize, layout=layout)
            return data, "Fashion-MNIST (60000 train / 10000 test)"
        except FileNotFoundError as e:
            where = "; ".join(line.strip() for line in str(e).splitlines() if line.startswith("  "))
            print(f"--full: Fashion-MNIST is not installed (looked in {where}); using the built-in sample "
                  "instead (apt-get install dataset-fashion-mnist, or set NNC_DATA, for the full set)")
    return nnc.datasets.load_sample(normalize=normalize, layout=layout), "built-in Fashion-MNIST sample (4000 / 1000)"


def _num(v):
    """A float for a table: 3 significant digits, scientific notation when very small or large."""
    return f"{v:.3g}" if v != 0 and not 1e-3 <= abs(v) < 1e4 else f"{v:.3f}"


def table(rows, header):
    """Print rows (tuples) under a header as a plain aligned table."""
    cells = [[str(h) for h in header]] + [[c if isinstance(c, str) else _num(c) if isinstance(c, float)
                                           else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for j, r in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if j == 0:
            print("  ".join("-" * w for w in widths))
