"""Optimizers on a bare 2-D point: the paths of the lecture's "optimizers on a loss surface" slides.

    from nnc.optim.trajectory import minimize, rosenbrock, SURFACES
    path = minimize(rosenbrock, x0=(-1.5, 2.0), optimizer=nnc.optim.Adam(lr=0.05), steps=500)
    path.shape   # (501, 2): the start and the point after every step

An optimizer updates `layer.params[p]` from `layer.grads[p]` for the layers it is bound to; any
object with `name`, `trainable`, `params` and `grads` will do. `Point` is that object for one
2-D parameter vector w, so the real nnc optimizers (not a copy of their equations) draw the paths.

The test surfaces take w of shape (..., 2) (one point, or a whole grid for contour plots) and
return (value, grad): value of shape (...), grad of shape (..., 2).
"""
import warnings
from collections import namedtuple

import numpy as np

from .base import get as _get_optimizer

__all__ = ["Point", "minimize", "beale", "rosenbrock", "saddle", "bowl", "Surface", "SURFACES"]


class Point:
    """The duck-typed "layer" an optimizer binds to: one parameter w (2,), float64.

    params = {"w": w}, grads = {"w": g}; the optimizer updates params["w"] in place."""

    def __init__(self, x0):
        w = np.array(x0, dtype=np.float64).reshape(-1)
        if w.shape != (2,):
            raise ValueError(f"Point: x0 must be a 2-D point (2,), got shape {np.shape(x0)}")
        self.name = "point"
        self.trainable = True
        self.params = {"w": w}
        self.grads = {"w": np.zeros_like(w)}


def minimize(f_grad, x0, optimizer, steps):
    """Run `steps` optimizer steps on f from x0; returns the path, an array (steps + 1, 2).

    f_grad(w) -> (value, grad) for w of shape (2,) (the surfaces below, or your own).
    optimizer: an nnc optimizer or a name such as "adam". The optimizer given is left alone (still
    bound to its model, its state unchanged): a fresh copy with the same settings
    (type(opt)(**opt.get_config())) is bound to a `Point`, so every path starts with empty state
    (no momentum or Adam moments carried over from an earlier path).
    If the point or its gradient stops being finite (a too large lr diverges), the path stops
    there: the remaining rows are NaN and a RuntimeWarning says at which step.

        path = minimize(bowl, (-4.0, 1.0), nnc.optim.SGD(lr=0.04), steps=100)
    """
    steps = int(steps)
    if steps < 0:
        raise ValueError(f"minimize: steps must be >= 0, got {steps}")
    opt = _get_optimizer(optimizer)
    opt = type(opt)(**opt.get_config())
    point = Point(x0)
    opt.bind([point])
    w, g = point.params["w"], point.grads["w"]
    path = np.full((steps + 1, 2), np.nan)
    path[0] = w
    for t in range(steps):
        with np.errstate(over="ignore", invalid="ignore"):   # reported below, once
            _, grad = f_grad(w.copy())
        grad = np.asarray(grad, dtype=np.float64).reshape(2)
        if not np.isfinite(grad).all():
            warnings.warn(f"minimize: diverged at step {t}: the gradient at w = {w} is not finite; "
                          "the path stops there", RuntimeWarning, stacklevel=2)
            break
        g[...] = grad
        with np.errstate(over="ignore", invalid="ignore"):
            opt.step()
        if not np.isfinite(w).all():
            warnings.warn(f"minimize: diverged at step {t + 1}: w is not finite; the path stops there",
                          RuntimeWarning, stacklevel=2)
            break
        path[t + 1] = w
    return path


def _xy(w):
    w = np.asarray(w, dtype=np.float64)
    if w.shape[-1:] != (2,):
        raise ValueError(f"the test surfaces take points (..., 2), got shape {w.shape}")
    return w[..., 0], w[..., 1]


def _grad(dx, dy):
    return np.stack(np.broadcast_arrays(dx, dy), axis=-1)


def beale(w):
    """Beale's function (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2;
    minimum 0 at (3, 0.5), flat plateaus and steep walls."""
    x, y = _xy(w)
    a, b, c = 1.5 - x + x * y, 2.25 - x + x * y ** 2, 2.625 - x + x * y ** 3
    value = a ** 2 + b ** 2 + c ** 2
    dx = 2 * a * (y - 1) + 2 * b * (y ** 2 - 1) + 2 * c * (y ** 3 - 1)
    dy = 2 * a * x + 2 * b * 2 * x * y + 2 * c * 3 * x * y ** 2
    return value, _grad(dx, dy)


def rosenbrock(w):
    """Rosenbrock's banana (1 - x)^2 + 100 (y - x^2)^2: a long curved valley, minimum 0 at (1, 1)."""
    x, y = _xy(w)
    value = (1 - x) ** 2 + 100 * (y - x ** 2) ** 2
    return value, _grad(-2 * (1 - x) - 400 * x * (y - x ** 2), 200 * (y - x ** 2))


def saddle(w):
    """x^2 - y^2: a saddle point at (0, 0) (gradient zero, not a minimum); no minimum at all."""
    x, y = _xy(w)
    return x ** 2 - y ** 2, _grad(2 * x, -2 * y)


def bowl(w, condition=20.0):
    """An ill-conditioned bowl 0.5 (x^2 + condition * y^2): curvatures 1 and `condition`, minimum 0
    at (0, 0). Plain SGD zig-zags across the steep y direction and crawls along x."""
    x, y = _xy(w)
    return 0.5 * (x ** 2 + condition * y ** 2), _grad(x, condition * y)


Surface = namedtuple("Surface", "f start minimum xlim ylim")
Surface.__doc__ = """A test surface with a start point, its minimum (None for the saddle) and plot limits."""

SURFACES = {
    "beale": Surface(beale, (1.0, 1.5), (3.0, 0.5), (-0.5, 4.0), (-1.0, 2.0)),
    "rosenbrock": Surface(rosenbrock, (-1.5, 2.0), (1.0, 1.0), (-2.0, 2.0), (-1.0, 3.0)),
    "saddle": Surface(saddle, (-1.0, 0.01), None, (-1.5, 1.5), (-1.5, 1.5)),
    "bowl": Surface(bowl, (-4.0, 1.0), (0.0, 0.0), (-5.0, 5.0), (-2.0, 2.0)),
}
