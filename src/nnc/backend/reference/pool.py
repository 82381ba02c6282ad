"""Pooling, reference: an explicit window per output position, NCHW.

    max:  out[n, c, oh, ow] = max over the window of x[n, c, oh*sh - ph + i, ow*sw - pw + j]
    avg:  out[n, c, oh, ow] = (1 / (kh*kw)) * sum over the same window
Output size: floor((H + 2p - k) / s) + 1 (PyTorch's meaning); stride defaults to the pool size; padding
is at most half the pool size.
Padding: max pooling ignores padded cells (they are -inf, never chosen); average pooling COUNTS them as
zeros, i.e. always divides by kh*kw (PyTorch's default count_include_pad=True).
Ties in max pooling: the first maximum in row-major window order wins (both backends), and backward
sends the whole gradient to that one cell.
"""
import numpy as np

from .._cache_checks import ARGMAX_ERROR, check_avgpool_cache, check_global_pool_cache, check_maxpool_cache
from .._checks import check_float, check_pool
from ..caches import PoolCache

__all__ = ["maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward", "avgpool2d_backward",
           "global_avgpool2d_forward", "global_avgpool2d_backward"]


def _window_rows_cols(oh, ow, k, s, p, H, W):
    """Rows and columns of the window of (oh, ow) that lie inside the image (padding clipped off)."""
    h0, w0 = oh * s[0] - p[0], ow * s[1] - p[1]
    return range(max(h0, 0), min(h0 + k[0], H)), range(max(w0, 0), min(w0 + k[1], W))


def maxpool2d_forward(x, pool_size, stride=None, padding=0):
    """x (N, C, H, W) -> (out (N, C, Ho, Wo), PoolCache with argmax = flat index ih*W + iw in the plane)."""
    k, s, p, _, (Ho, Wo) = check_pool("maxpool2d_forward", x, pool_size, stride, padding)
    N, C, H, W = x.shape
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    argmax = np.empty((N, C, Ho, Wo), dtype=np.int32)
    for oh in range(Ho):
        for ow in range(Wo):
            rows, cols = _window_rows_cols(oh, ow, k, s, p, H, W)
            window = x[:, :, rows.start:rows.stop, cols.start:cols.stop].reshape(N, C, -1)
            a = window.argmax(axis=2)                  # first maximum in row-major window order
            out[:, :, oh, ow] = np.take_along_axis(window, a[:, :, None], axis=2)[:, :, 0]
            argmax[:, :, oh, ow] = (rows.start + a // len(cols)) * W + cols.start + a % len(cols)
    return out, PoolCache(x.shape, k, s, p, argmax)


def maxpool2d_backward(dout, cache):
    """dout (N, C, Ho, Wo) -> dx (N, C, H, W): each dout goes to its window's argmax (overlaps add)."""
    x_shape, argmax = check_maxpool_cache("maxpool2d_backward", dout, cache)
    N, C, H, W = x_shape
    if argmax.min() < 0 or argmax.max() >= H * W:     # (numpy would wrap a negative index silently)
        raise ValueError(f"maxpool2d_backward: {ARGMAX_ERROR}")
    dx = np.zeros((N * C, H * W), dtype=dout.dtype)   # one row per plane
    planes = np.arange(N * C)
    for oh in range(argmax.shape[2]):
        for ow in range(argmax.shape[3]):
            # each plane appears once per (oh, ow), so this += never hits a cell twice in one go
            dx[planes, argmax[:, :, oh, ow].reshape(-1)] += dout[:, :, oh, ow].reshape(-1)
    return dx.reshape(x_shape)


def avgpool2d_forward(x, pool_size, stride=None, padding=0):
    """x (N, C, H, W) -> (out (N, C, Ho, Wo), PoolCache). Divides by kh*kw: padding counts as zeros."""
    k, s, p, _, (Ho, Wo) = check_pool("avgpool2d_forward", x, pool_size, stride, padding)
    N, C, H, W = x.shape
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    for oh in range(Ho):
        for ow in range(Wo):
            rows, cols = _window_rows_cols(oh, ow, k, s, p, H, W)
            window = x[:, :, rows.start:rows.stop, cols.start:cols.stop]
            out[:, :, oh, ow] = window.sum(axis=(2, 3)) / (k[0] * k[1])
    return out, PoolCache(x.shape, k, s, p, None)


def avgpool2d_backward(dout, cache):
    """dout (N, C, Ho, Wo) -> dx: every cell of a window receives dout / (kh*kw) (overlaps add)."""
    x_shape, k, s, p = check_avgpool_cache("avgpool2d_backward", dout, cache)
    H, W = x_shape[2:]
    Ho, Wo = dout.shape[2:]
    dx = np.zeros(x_shape, dtype=dout.dtype)
    for oh in range(Ho):
        for ow in range(Wo):
            rows, cols = _window_rows_cols(oh, ow, k, s, p, H, W)
            dx[:, :, rows.start:rows.stop, cols.start:cols.stop] += (dout[:, :, oh, ow] / (k[0] * k[1]))[:, :, None, None]
    return dx


def global_avgpool2d_forward(x):
    """x (N, C, H, W) -> (out (N, C) = mean over H and W, PoolCache)."""
    check_float("global_avgpool2d_forward", "x", x, 4, "(N, C, H, W)")
    H, W = x.shape[2:]
    return x.mean(axis=(2, 3)), PoolCache(x.shape, (H, W), (H, W), (0, 0), None)


def global_avgpool2d_backward(dout, cache):
    """dout (N, C) -> dx (N, C, H, W) = dout / (H*W) at every pixel."""
    x_shape = check_global_pool_cache("global_avgpool2d_backward", dout, cache)
    H, W = x_shape[2:]
    return np.ascontiguousarray(np.broadcast_to((dout / (H * W))[:, :, None, None], x_shape))
