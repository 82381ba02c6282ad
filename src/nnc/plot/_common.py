"""Shared helpers: where to draw, and the class colours."""
import math

import numpy as np


def pyplot():
    import matplotlib.pyplot as plt   # late: importing pyplot is slow and only needed to make figures
    return plt


def axes(ax, figsize=(5, 4)):
    """`ax`, or the Axes of a new figure."""
    if ax is not None:
        return ax
    _, ax = pyplot().subplots(figsize=figsize, layout="constrained")
    return ax


def grid(n, ncols, fig=None, panel=(3.2, 2.8), **kwargs):
    """A figure with n panels on a grid of `ncols` columns -> (fig, list of n Axes); extra cells hidden."""
    ncols = max(1, min(int(ncols), n))
    nrows = math.ceil(n / ncols)
    if fig is None:
        fig = pyplot().figure(figsize=(panel[0] * ncols, panel[1] * nrows), layout="constrained")
    cells = fig.subplots(nrows, ncols, squeeze=False, **kwargs).ravel()
    for a in cells[n:]:
        a.set_visible(False)
    return fig, list(cells[:n])


def class_colors(k):
    """k distinct colours (matplotlib's tab10, then tab20)."""
    from matplotlib import colormaps
    cmap = colormaps["tab10" if k <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(k)]


def finite_limits(points, pad=0.1):
    """(lo, hi) of the finite values in `points`, widened by `pad` of the range on each side."""
    p = np.asarray(points, dtype=np.float64)
    p = p[np.isfinite(p)]
    if p.size == 0:
        return -1.0, 1.0
    lo, hi = float(p.min()), float(p.max())
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    return lo - pad * span, hi + pad * span
