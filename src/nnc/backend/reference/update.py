"""In-place parameter updates, reference:  y <- y + alpha * x  (the step of gradient descent is
axpy(-lr, grad, param))."""
from .._checks import check_axpy

__all__ = ["axpy"]


def axpy(alpha, x, y):
    """y += alpha * x, in place (y is returned).  x, y: same shape and dtype, C-contiguous; y writable."""
    check_axpy("axpy", alpha, x, y)
    y += y.dtype.type(alpha) * x
    return y
