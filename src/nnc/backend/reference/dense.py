"""Dense (affine) layer, reference: the equations of the lecture, one line each.

Forward:   y[n, m] = sum_d x[n, d] * W[d, m] + b[m]
Backward:  dx = dout @ W.T      dW = x.T @ dout      db[m] = sum_n dout[n, m]
"""
import numpy as np

from .._cache_checks import check_dense_cache
from .._checks import check_dense
from ..caches import DenseCache

__all__ = ["dense_forward", "dense_backward"]


def dense_forward(x, W, b=None):
    """y = x @ W + b.  x: (N, D), W: (D, M), b: (M,) or None -> (y (N, M), DenseCache)."""
    check_dense("dense_forward", x, W, b)
    y = x @ W
    if b is not None:
        y = y + b            # b is broadcast over the batch: every row gets the same bias
    return y, DenseCache(x, W, b is not None)


def dense_backward(dout, cache, need_dx=True):
    """Gradients of y = x @ W + b.  dout: (N, M) -> (dx (N, D) or None, dW (D, M), db (M,) or None).

    need_dx=False skips dx (the first layer of a model has no use for it)."""
    x, W, use_bias = check_dense_cache("dense_backward", dout, cache)
    dx = dout @ W.T if need_dx else None     # each input feeds every output through W
    dW = x.T @ dout                          # sum over the batch of outer products x[n] dout[n]
    db = dout.sum(axis=0) if use_bias else None
    return dx, dW, db
