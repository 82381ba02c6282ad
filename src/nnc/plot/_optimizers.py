"""Optimizers' paths on a 2-D loss surface (paths from nnc.optim.trajectory.minimize)."""
import numpy as np

from ._common import axes, finite_limits

__all__ = ["trajectories", "animate_trajectories"]


def _surface(f, gx, gy):
    """f on the grid: one vectorized call on (ny, nx, 2) when f allows it, else point by point."""
    pts = np.stack([gx, gy], axis=-1)
    try:
        value = np.asarray(f(pts)[0], dtype=np.float64)
        if value.shape == gx.shape:
            return value
    except Exception:   # a user's f that only takes one point (2,)
        pass
    return np.array([float(f(p)[0]) for p in pts.reshape(-1, 2)]).reshape(gx.shape)


def trajectories(f, paths, ax=None, xlim=None, ylim=None, levels=30, minimum=None, resolution=200,
                 markers=True):
    """Contours of a 2-D loss f with the path of each optimizer on top.

    f(w) -> (value, grad) for w (2,) or (..., 2) (the surfaces of nnc.optim.trajectory).
    paths: {name: path (steps + 1, 2)}, e.g. from minimize. xlim, ylim: the view (default: around
    the paths). levels: a number of contour levels, spaced logarithmically when f > 0 on the view
    (valleys such as Rosenbrock's show), or a list of levels. minimum: a point (2,) marked with a
    star. Each path starts at a black circle and ends at a marker of its colour.
    Returns the Axes.

        from nnc.optim.trajectory import minimize, rosenbrock
        paths = {name: minimize(rosenbrock, (-1.5, 2), opt, 300) for name, opt in optimizers.items()}
        nnc.plot.trajectories(rosenbrock, paths, minimum=(1, 1))
    """
    return _draw(f, paths, ax, xlim, ylim, levels, minimum, resolution, markers)[0]


def _draw(f, paths, ax, xlim, ylim, levels, minimum, resolution, markers):
    """trajectories' drawing -> (ax, paths, {name: (path line, end marker)})."""
    paths = {str(k): np.asarray(v, dtype=np.float64).reshape(-1, 2) for k, v in dict(paths).items()}
    pts = np.concatenate(list(paths.values())) if paths else np.zeros((0, 2))
    xlim = xlim or finite_limits(pts[:, 0], 0.15)
    ylim = ylim or finite_limits(pts[:, 1], 0.15)
    gx, gy = np.meshgrid(np.linspace(*xlim, resolution), np.linspace(*ylim, resolution))
    with np.errstate(all="ignore"):
        z = _surface(f, gx, gy)
    ax = axes(ax, figsize=(6, 5))
    if np.isscalar(levels) or np.ndim(levels) == 0:
        finite = z[np.isfinite(z)]
        lo, hi = float(finite.min()), float(finite.max())
        if lo > 0 or (lo == 0 and hi > 0):
            lo = max(lo, hi * 1e-6) if lo == 0 else lo
            levels = np.geomspace(lo, hi, int(levels))
        else:
            levels = np.linspace(lo, hi, int(levels))
    ax.contour(gx, gy, z, levels=levels, cmap="viridis", linewidths=0.8, alpha=0.5)
    if minimum is not None:
        ax.plot(*np.asarray(minimum, dtype=np.float64), marker="*", ms=14, color="gold", mec="k",
                ls="none", label="minimum", zorder=5)
    handles = {}
    for i, (name, p) in enumerate(paths.items()):
        color = f"C{i % 10}"
        (line,) = ax.plot(p[:, 0], p[:, 1], "-", color=color, lw=2, label=name,
                          marker="." if markers and len(p) <= 60 else None, ms=4)
        last = p[np.isfinite(p).all(axis=1)][-1]
        (head,) = ax.plot(*last, marker="o", ms=6, color=color, mec="k", ls="none")
        handles[name] = (line, head)
    if paths:
        start = next(iter(paths.values()))[0]
        ax.plot(*start, marker="o", ms=7, color="k", ls="none", label="start", zorder=6)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("w1")
    ax.set_ylabel("w2")
    ax.legend(fontsize="small", loc="best", framealpha=0.8)
    return ax, paths, handles


def animate_trajectories(f, paths, every=1, interval=40, ax=None, xlim=None, ylim=None, levels=30, minimum=None,
                         resolution=200):
    """trajectories as an animation: the paths grow `every` steps per frame, `interval` ms apart
    (the lecture's animated optimizers). The other arguments are trajectories'. Returns the
    matplotlib FuncAnimation; keep a reference to it while it plays.

        anim = nnc.plot.animate_trajectories(saddle, paths, every=2)
        anim.save("saddle.gif", writer="pillow")     # or, in a notebook: HTML(anim.to_jshtml())
    """
    from matplotlib.animation import FuncAnimation

    ax, paths, handles = _draw(f, paths, ax, xlim, ylim, levels, minimum, resolution, markers=False)
    n = max((len(p) for p in paths.values()), default=1)
    frames = list(range(0, n, max(1, int(every))))
    frames += [n - 1] if frames[-1] != n - 1 else []

    def show(k):
        for name, (line, head) in handles.items():
            p = paths[name][:k + 1]
            line.set_data(p[:, 0], p[:, 1])
            ok = p[np.isfinite(p).all(axis=1)]
            head.set_data(ok[-1:, 0], ok[-1:, 1])
        return [a for pair in handles.values() for a in pair]

    show(0)
    return FuncAnimation(ax.figure, show, frames=frames, interval=interval, blit=False)
