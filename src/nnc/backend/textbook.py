"""Textbook backend: the reference backend with conv, batch norm and max pooling written out in full.

`nnc.use("textbook")` or `with nnc.backend.using("textbook"): ...` routes every layer here. Every kernel
not defined below is the reference one (dense_forward, activations, losses, ...). The six kernels below
have the reference's names, arguments, return values and cache records, so the reference backward accepts
a textbook forward's cache and the other way round; they run its argument checks once, first, and then do
nothing but the math, one scalar at a time:

    conv2d_forward      loops over n, o, oh, ow, and the sum over c, i, j written out
    conv2d_backward     the same loops, each output position adding its share to dW, db and dx
    batchnorm_forward   Algorithm 1 of Ioffe & Szegedy (2015): mean, variance, normalize, scale and shift
    batchnorm_backward  the paper's staged chain rule: dxhat, dvar, dmean, dx (then dgamma, dbeta)
    maxpool2d_forward   each window scanned cell by cell for its maximum and where it is
    maxpool2d_backward  each dout sent to the cell its window's argmax names

These are slow (Python loops over every scalar: use them on small shapes, one step of a small model),
and they are the ones to read and to step through in a debugger (nnc.debug.step_into). The reference
backend keeps the vectorized forms, fast enough for a LeNet-5 step in class; tests/test_textbook.py holds
textbook, reference and native equal.
"""
import numpy as np

from . import reference
from ._cache_checks import ARGMAX_ERROR, check_batchnorm_cache, check_conv_cache, check_maxpool_cache
from ._checks import check_batchnorm, check_conv, check_pool
from .caches import BatchNormCache, Conv2DCache, PoolCache
from .reference import *  # noqa: F401,F403  (every kernel this module does not rewrite)
from .reference.batchnorm import update_running

__all__ = list(reference.__all__)


# ---- convolution --------------------------------------------------------------------------------
def conv2d_forward(x, W, b, stride=1, padding=0, dilation=1):
    """out[n, o, oh, ow] = b[o] + sum_{c, i, j} W[o, c, i, j] * xp[n, c, oh*sh + i*dh, ow*sw + j*dw]

    x (N, C_in, H_in, W_in), W (C_out, C_in, kh, kw), b (C_out,) or None -> (out (N, C_out, Ho, Wo),
    Conv2DCache); xp is x with ph zero rows above and below and pw zero columns left and right. Output size
    Ho = (H_in + 2ph - dh(kh - 1) - 1) // sh + 1, Wo likewise (PyTorch's meaning of stride, padding, dilation)."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (Ho, Wo) = check_conv("conv2d_forward", x, W, b, stride, padding,
                                                                  dilation)
    N, C_in, H_in, W_in = x.shape
    C_out = W.shape[0]
    xp = np.zeros((N, C_in, H_in + 2 * ph, W_in + 2 * pw), dtype=x.dtype)
    xp[:, :, ph:ph + H_in, pw:pw + W_in] = x
    out = np.zeros((N, C_out, Ho, Wo), dtype=x.dtype)
    for n in range(N):
        for o in range(C_out):
            for oh in range(Ho):
                for ow in range(Wo):
                    z = b[o] if b is not None else x.dtype.type(0)
                    for c in range(C_in):
                        for i in range(kh):
                            for j in range(kw):
                                z += W[o, c, i, j] * xp[n, c, oh * sh + i * dh, ow * sw + j * dw]
                    out[n, o, oh, ow] = z
    return out, Conv2DCache(x, W, b is not None, (sh, sw), (ph, pw), (dh, dw))


def conv2d_backward(dout, cache, need_dx=True):
    """Gradients of conv2d_forward.  dout (N, C_out, Ho, Wo) -> (dx or None, dW, db or None).

    Output position (n, o, oh, ow) read W[o, c, i, j] and xp[n, c, oh*sh + i*dh, ow*sw + j*dw], so
        db[o] += dout[n, o, oh, ow]
        dW[o, c, i, j] += dout[n, o, oh, ow] * xp[n, c, oh*sh + i*dh, ow*sw + j*dw]
        dxp[n, c, oh*sh + i*dh, ow*sw + j*dw] += dout[n, o, oh, ow] * W[o, c, i, j]
    and dx is dxp without its padding."""
    x, W, use_bias, ((kh, kw), (sh, sw), (ph, pw), (dh, dw), (Ho, Wo)) = check_conv_cache("conv2d_backward",
                                                                                          dout, cache)
    N, C_in, H_in, W_in = x.shape
    C_out = W.shape[0]
    xp = np.zeros((N, C_in, H_in + 2 * ph, W_in + 2 * pw), dtype=x.dtype)
    xp[:, :, ph:ph + H_in, pw:pw + W_in] = x
    dxp = np.zeros_like(xp)
    dW = np.zeros_like(W)
    db = np.zeros(C_out, dtype=W.dtype)
    for n in range(N):
        for o in range(C_out):
            for oh in range(Ho):
                for ow in range(Wo):
                    g = dout[n, o, oh, ow]
                    db[o] += g
                    for c in range(C_in):
                        for i in range(kh):
                            for j in range(kw):
                                h, w = oh * sh + i * dh, ow * sw + j * dw
                                dW[o, c, i, j] += g * xp[n, c, h, w]
                                if need_dx:
                                    dxp[n, c, h, w] += g * W[o, c, i, j]
    dx = dxp[:, :, ph:ph + H_in, pw:pw + W_in].copy() if need_dx else None
    return dx, dW, (db if use_bias else None)


# ---- batch normalization ------------------------------------------------------------------------
def _as_rows(a):
    """(N, C) stays; (N, C, H, W) -> (N*H*W, C): one row per value of the batch, one column per channel."""
    return a if a.ndim == 2 else a.transpose(0, 2, 3, 1).reshape(-1, a.shape[1])


def _from_rows(rows, like):
    """The inverse of _as_rows, shaped like `like`."""
    if like.ndim == 2:
        return rows
    N, C, H, W = like.shape
    return np.ascontiguousarray(rows.reshape(N, H, W, C).transpose(0, 3, 1, 2))


def batchnorm_forward(x, gamma, beta, running_mean, running_var, momentum=0.99, eps=1e-3, training=True):
    """Algorithm 1 of Ioffe & Szegedy (2015), per channel over its m values x_1..x_m in the batch:

        mu = (1/m) sum_i x_i,   var = (1/m) sum_i (x_i - mu)^2,   xhat_i = (x_i - mu) / sqrt(var + eps),
        y_i = gamma * xhat_i + beta
    Training also moves the running averages, in place (Keras' convention):
        running_mean <- momentum * running_mean + (1 - momentum) * mu, running_var likewise with var.
    Inference uses mu, var = running_mean, running_var.
    x (N, C) or (N, C, H, W); gamma, beta, running_mean, running_var (C,) -> (y like x, BatchNormCache)."""
    momentum, eps = check_batchnorm("batchnorm_forward", x, gamma, beta, running_mean, running_var,
                                    momentum, eps, training)
    dt = x.dtype.type
    X = _as_rows(x)                                   # (m, C)
    m = X.shape[0]
    if training:
        mu = X.sum(axis=0) / dt(m)                    # mini-batch mean
        var = ((X - mu) ** 2).sum(axis=0) / dt(m)     # mini-batch variance (biased: divided by m)
        update_running(running_mean, running_var, mu, var, momentum)
    else:
        mu, var = running_mean.copy(), running_var.copy()
    inv_std = dt(1) / np.sqrt(var + dt(eps))
    xhat = (X - mu) * inv_std                         # normalize
    y = gamma * xhat + beta                           # scale and shift
    return _from_rows(y, x), BatchNormCache(_from_rows(xhat, x), gamma, mu, var, inv_std, bool(training))


def batchnorm_backward(dout, cache):
    """The chain rule of the paper (section 3), stage by stage, per channel over its m values:

        dxhat_i = dout_i * gamma
        dvar    = sum_i dxhat_i * (x_i - mu) * (-1/2) * (var + eps)^(-3/2)
        dmean   = sum_i dxhat_i * (-1 / sqrt(var + eps))  +  dvar * (1/m) sum_i -2 (x_i - mu)
        dx_i    = dxhat_i / sqrt(var + eps)  +  dvar * 2 (x_i - mu) / m  +  dmean / m
        dgamma  = sum_i dout_i * xhat_i,     dbeta = sum_i dout_i
    In inference mu and var are constants, so dx_i = dxhat_i / sqrt(var + eps).
    x - mu is not in the cache: it is xhat * sqrt(var + eps) = xhat / inv_std.
    dout like x -> (dx like x, dgamma (C,), dbeta (C,))."""
    xhat, gamma, inv_std, training = check_batchnorm_cache("batchnorm_backward", dout, cache)
    dt = xhat.dtype.type
    G, XHAT = _as_rows(dout), _as_rows(xhat)          # (m, C)
    m = XHAT.shape[0]
    xmu = XHAT / inv_std                              # x - mu
    dxhat = G * gamma
    if training:
        dvar = (dxhat * xmu * dt(-0.5) * inv_std ** 3).sum(axis=0)
        dmean = (dxhat * -inv_std).sum(axis=0) + dvar * (dt(-2) * xmu).sum(axis=0) / dt(m)
        dx = dxhat * inv_std + dvar * dt(2) * xmu / dt(m) + dmean / dt(m)
    else:
        dx = dxhat * inv_std
    dgamma = (G * XHAT).sum(axis=0)
    dbeta = G.sum(axis=0)
    return _from_rows(dx, xhat), dgamma, dbeta


# ---- max pooling --------------------------------------------------------------------------------
def maxpool2d_forward(x, pool_size, stride=None, padding=0):
    """out[n, c, oh, ow] = max over the window of x[n, c, oh*sh - ph + i, ow*sw - pw + j], 0 <= i < kh,
    0 <= j < kw, cells in the padding left out (they never win).

    x (N, C, H, W) -> (out (N, C, Ho, Wo), PoolCache); cache.argmax[n, c, oh, ow] = ih * W + iw, the flat
    index in its plane of the cell that won. Ties: the first maximum in row-major window order wins (a later
    cell must be strictly greater); a NaN beats every number (numpy's argmax rule, as the reference)."""
    (kh, kw), (sh, sw), (ph, pw), _, (Ho, Wo) = check_pool("maxpool2d_forward", x, pool_size, stride, padding)
    N, C, H, W = x.shape
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    argmax = np.empty((N, C, Ho, Wo), dtype=np.int32)
    for n in range(N):
        for c in range(C):
            for oh in range(Ho):
                for ow in range(Wo):
                    top, left = oh * sh - ph, ow * sw - pw          # the window's corner, maybe in the padding
                    best, where = None, None
                    for ih in range(max(top, 0), min(top + kh, H)):
                        for iw in range(max(left, 0), min(left + kw, W)):
                            v = x[n, c, ih, iw]
                            if best is None or v > best or (np.isnan(v) and not np.isnan(best)):
                                best, where = v, ih * W + iw
                    out[n, c, oh, ow] = best
                    argmax[n, c, oh, ow] = where
    return out, PoolCache(x.shape, (kh, kw), (sh, sw), (ph, pw), argmax)


def maxpool2d_backward(dout, cache):
    """dx[n, c, ih, iw] = sum of dout[n, c, oh, ow] over the windows whose maximum was (ih, iw).

    dout (N, C, Ho, Wo) -> dx (N, C, H, W); the cell is (ih, iw) = divmod(cache.argmax[n, c, oh, ow], W)."""
    (N, C, H, W), argmax = check_maxpool_cache("maxpool2d_backward", dout, cache)
    if argmax.min() < 0 or argmax.max() >= H * W:     # an index no shape check can vouch for
        raise ValueError(f"maxpool2d_backward: {ARGMAX_ERROR}")
    dx = np.zeros((N, C, H, W), dtype=dout.dtype)
    for n in range(N):
        for c in range(C):
            for oh in range(argmax.shape[2]):
                for ow in range(argmax.shape[3]):
                    ih, iw = divmod(int(argmax[n, c, oh, ow]), W)
                    dx[n, c, ih, iw] += dout[n, c, oh, ow]
    return dx
