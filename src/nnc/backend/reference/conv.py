"""2-D convolution, reference: the loops a student writes on paper, NCHW.

    out[n, o, oh, ow] = b[o] + sum_{c, i, j} W[o, c, i, j] * xp[n, c, oh*sh + i*dh, ow*sw + j*dw]

where xp is x zero-padded by (ph, pw) on each side. Output size (PyTorch's meaning):
    Ho = floor((H + 2ph - dh(kh-1) - 1) / sh) + 1,   Wo likewise with the w values.
Backward, for every output position, reads the same window the forward read:
    dW[o] += dout[n, o, oh, ow] * window,   dxp[window] += sum_o dout[n, o, oh, ow] * W[o],   db[o] = sum dout[:, o]

im2col/col2im spell out the rearrangement the native backend uses (layout: csrc/im2col.h):
per image a matrix (C*kh*kw, Ho*Wo), so the convolution of image n is the product W.reshape(C_out, -1) @ cols[n].
"""
import numpy as np

from .._cache_checks import check_conv_cache
from .._checks import check_col2im, check_conv, check_float, check_window
from ..caches import Conv2DCache

__all__ = ["im2col", "col2im", "conv2d_forward", "conv2d_backward"]


def _window(xp, oh, ow, k, s, d):
    """The (N, C, kh, kw) input window feeding output position (oh, ow) of the padded input xp."""
    h0, w0 = oh * s[0], ow * s[1]
    return xp[:, :, h0:h0 + d[0] * (k[0] - 1) + 1:d[0], w0:w0 + d[1] * (k[1] - 1) + 1:d[1]]


def _pad(x, p):
    return np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))


def im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    """x (N, C, H, W) -> cols (N, C*kh*kw, Ho*Wo), row (c*kh + i)*kw + j, column oh*Wo + ow:
    cols[n, (c, i, j), (oh, ow)] = xp[n, c, oh*sh + i*dh, ow*sw + j*dw]."""
    check_float("im2col", "x", x, 4, "(N, C, H, W)")
    k, s, p, d, (Ho, Wo) = check_window("im2col", x.shape, kernel_size, stride, padding, dilation)
    N, C = x.shape[:2]
    xp = _pad(x, p)
    cols = np.empty((N, C, k[0], k[1], Ho, Wo), dtype=x.dtype)
    for i in range(k[0]):          # one kernel tap at a time: its value at every output position
        for j in range(k[1]):
            h0, w0 = i * d[0], j * d[1]
            cols[:, :, i, j] = xp[:, :, h0:h0 + s[0] * (Ho - 1) + 1:s[0], w0:w0 + s[1] * (Wo - 1) + 1:s[1]]
    return cols.reshape(N, C * k[0] * k[1], Ho * Wo)


def col2im(cols, x_shape, kernel_size, stride=1, padding=0, dilation=1):
    """The adjoint of im2col: cols (N, C*kh*kw, Ho*Wo) -> x (N, C, H, W), where every column entry is
    ADDED back to the pixel it was copied from (overlapping windows sum; padding is dropped)."""
    x_shape, (k, s, p, d, (Ho, Wo)) = check_col2im("col2im", cols, x_shape, kernel_size, stride, padding,
                                                  dilation)
    N, C, H, W = x_shape
    cols = cols.reshape(N, C, k[0], k[1], Ho, Wo)
    xp = np.zeros((N, C, H + 2 * p[0], W + 2 * p[1]), dtype=cols.dtype)
    for i in range(k[0]):
        for j in range(k[1]):
            h0, w0 = i * d[0], j * d[1]
            xp[:, :, h0:h0 + s[0] * (Ho - 1) + 1:s[0], w0:w0 + s[1] * (Wo - 1) + 1:s[1]] += cols[:, :, i, j]
    return xp[:, :, p[0]:p[0] + H, p[1]:p[1] + W].copy()


def conv2d_forward(x, W, b, stride=1, padding=0, dilation=1):
    """Direct convolution with an explicit loop over output positions.

    x (N, C_in, H, W), W (C_out, C_in, kh, kw), b (C_out,) or None -> (out (N, C_out, Ho, Wo), Conv2DCache)."""
    k, s, p, d, (Ho, Wo) = check_conv("conv2d_forward", x, W, b, stride, padding, dilation)
    xp = _pad(x, p)
    out = np.zeros((x.shape[0], W.shape[0], Ho, Wo), dtype=x.dtype)
    for oh in range(Ho):
        for ow in range(Wo):
            window = _window(xp, oh, ow, k, s, d)                        # (N, C_in, kh, kw)
            # every filter o takes the dot product with the window: sum over c, i, j
            out[:, :, oh, ow] = np.tensordot(window, W, axes=([1, 2, 3], [1, 2, 3]))
    if b is not None:
        out += b[None, :, None, None]
    return out, Conv2DCache(x, W, b is not None, s, p, d)


def conv2d_backward(dout, cache, need_dx=True):
    """Gradients of conv2d_forward.  dout (N, C_out, Ho, Wo) -> (dx or None, dW, db or None)."""
    x, W, use_bias, (k, s, p, d, (Ho, Wo)) = check_conv_cache("conv2d_backward", dout, cache)
    xp = _pad(x, p)
    dxp = np.zeros_like(xp)
    dW = np.zeros_like(W)
    for oh in range(Ho):
        for ow in range(Wo):
            g = dout[:, :, oh, ow]                                        # (N, C_out)
            window = _window(xp, oh, ow, k, s, d)                         # (N, C_in, kh, kw)
            dW += np.tensordot(g, window, axes=([0], [0]))                # sum over the batch
            if need_dx:  # the window's pixels received W[o] * g[n, o] from every filter
                _window(dxp, oh, ow, k, s, d)[...] += np.tensordot(g, W, axes=([1], [0]))
    dx = dxp[:, :, p[0]:p[0] + x.shape[2], p[1]:p[1] + x.shape[3]].copy() if need_dx else None
    db = dout.sum(axis=(0, 2, 3)) if use_bias else None
    return dx, dW, db
