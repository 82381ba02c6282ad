"""The backward kernels' checks of the cache they are handed, shared by both backends.

A cache is whatever the caller passes back: normally the record its forward returned, but it may
have been edited, rebuilt or mixed up with another layer's. Each check here validates the WHOLE cache
that its backward reads (every array against the others and against dout: ranks, shapes, dtypes,
contiguity, sizes that fit a C int, the geometry, the hyperparameters) and returns the fields ready
to use, so the native backward hands nothing unchecked to C and both backends raise the same error:
    ValueError: dense_backward: cache.x has 64 features but cache.W expects 8 (cache.W is (8, 16))
Indices that no shape check can vouch for (max-pool argmax, class ids) are checked where they are
read: numpy in the reference, a counting C kernel in the native backend, with the same message.
"""
import math

import numpy as np

from ._checks import (check_axis, check_conv, check_dense, check_dims, check_dout, check_float, check_number,
                      check_pool_window, check_prelu, check_shape)
from .caches import (ActivationCache, BatchNormCache, Conv2DCache, DenseCache, DropoutCache, LossCache,
                     PoolCache)


def cache_record(fn, cache, cls):
    """`cache` as a `cls` record: the record itself, or a plain tuple of its fields."""
    if type(cache) is cls:
        return cache
    if isinstance(cache, tuple) and len(cache) == len(cls._fields):
        return cls(*cache)
    got = f"a tuple of {len(cache)}" if isinstance(cache, tuple) else type(cache).__name__
    raise TypeError(f"{fn}: cache must be the {cls.__name__} its forward returned "
                    f"({', '.join(cls._fields)}), got {got}")


def _number(fn, name, v):
    # Most caches hold a plain float already: one test, no call.
    if type(v) is float and math.isfinite(v):
        return v
    return check_number(fn, name, v)


# ---- dense and convolution ---------------------------------------------------------------------

def check_dense_cache(fn, dout, cache):
    """dense_backward: cache.x (N, D), cache.W (D, M) of one dtype; dout (N, M). -> (x, W, use_bias)."""
    x, W, use_bias = cache_record(fn, cache, DenseCache)
    check_dense(fn, x, W, None, prefix="cache.")
    check_dout(fn, dout, (x.shape[0], W.shape[1]), x.dtype)
    return x, W, bool(use_bias)


def check_conv_cache(fn, dout, cache):
    """conv2d_backward: cache.x (N, C, H, W) and cache.W (C_out, C, kh, kw) agree, the cached stride,
    padding and dilation are valid for them, dout is (N, C_out, Ho, Wo).
    -> (x, W, use_bias, (k, s, p, d, (Ho, Wo)))."""
    x, W, use_bias, s, p, d = cache_record(fn, cache, Conv2DCache)
    geometry = check_conv(fn, x, W, None, s, p, d, prefix="cache.")
    o = geometry[4]
    check_dout(fn, dout, (x.shape[0], W.shape[0], o[0], o[1]), x.dtype)
    return x, W, bool(use_bias), geometry


# ---- activations --------------------------------------------------------------------------------

def check_activation_cache(fn, dout, cache, alpha=None):
    """An activation's backward: cache.x and cache.out of one shape and dtype, dout like them.
    alpha: None (not read), "number" (a finite scalar: leaky_relu, elu), "prelu" (an array
    broadcasting to one sample) or "axis" (softmax: cache.axis valid for x). -> (x, out, alpha or axis)."""
    cache = cache_record(fn, cache, ActivationCache)
    x, out = cache.x, cache.out
    check_float(fn, "cache.x", x)
    if out is not x:
        check_float(fn, "cache.out", out, x.ndim, dtype=x.dtype)
        check_shape(fn, "cache.out", out, x.shape)
    check_dout(fn, dout, x.shape, x.dtype)
    if alpha is None:
        return x, out, None
    if alpha == "number":
        return x, out, _number(fn, "cache.alpha", cache.alpha)
    if alpha == "prelu":
        check_prelu(fn, x, cache.alpha, prefix="cache.")
        return x, out, cache.alpha
    return x, out, check_axis(fn, cache.axis, x.ndim, "cache.axis")


# ---- batch norm and dropout ---------------------------------------------------------------------

def check_batchnorm_cache(fn, dout, cache):
    """batchnorm_backward: cache.xhat (N, C) or (N, C, H, W); cache.gamma and cache.inv_std (C,) of
    its dtype; dout like xhat. -> (xhat, gamma, inv_std, training)."""
    xhat, gamma, _, _, inv_std, training = cache_record(fn, cache, BatchNormCache)
    check_float(fn, "cache.xhat", xhat)
    if xhat.ndim not in (2, 4):
        raise ValueError(f"{fn}: cache.xhat must be 2-D (N, F) or 4-D (N, C, H, W), got shape {xhat.shape}")
    C = xhat.shape[1]
    for name, a in (("cache.gamma", gamma), ("cache.inv_std", inv_std)):
        check_float(fn, name, a, 1, "(C,)", dtype=xhat.dtype)
        check_shape(fn, name, a, (C,))
    check_dout(fn, dout, xhat.shape, xhat.dtype)
    return xhat, gamma, inv_std, bool(training)


def check_dropout_cache(fn, dout, cache):
    """dropout_backward: cache.keep None (an identity pass) or a bool mask shaped like dout, (N, C)
    with a 4-D dout when spatial; cache.scale a finite number >= 1. -> (keep, scale, spatial)."""
    keep, scale, spatial = cache_record(fn, cache, DropoutCache)
    if keep is None:
        return None, 1.0, bool(spatial)
    if not (isinstance(keep, np.ndarray) and keep.dtype == np.bool_):
        got = keep.dtype if isinstance(keep, np.ndarray) else type(keep).__name__
        raise TypeError(f"{fn}: cache.keep must be the boolean mask the forward drew, got {got}")
    if not (type(scale) is float and 1 <= scale < math.inf):     # 1 / (1 - rate)
        scale = check_number(fn, "cache.scale", scale, minimum=1)
    if spatial:
        check_float(fn, "dout", dout, 4, "(N, C, H, W)")
        if keep.ndim != 2:
            raise ValueError(f"{fn}: cache.keep of a spatial dropout must be (N, C), got shape {keep.shape}")
        shape = keep.shape + dout.shape[2:]
    else:
        shape = keep.shape
    check_dout(fn, dout, shape, dout.dtype)
    return keep, scale, bool(spatial)


# ---- pooling --------------------------------------------------------------------------------------

ARGMAX_ERROR = "cache.argmax must hold int32 indices into an H*W plane, in [0, H*W)"


def check_maxpool_cache(fn, dout, cache):
    """maxpool2d_backward: cache.x_shape 4 positive ints; cache.argmax a C-contiguous int32 array
    (N, C, Ho, Wo) with x's N and C; dout like argmax. Whether every index lies in [0, H*W) is checked
    where the indices are read (numpy in the reference; the C kernel counts strays). -> (x_shape, argmax)."""
    cache = cache_record(fn, cache, PoolCache)
    x_shape = check_dims(fn, "cache.x_shape", cache.x_shape, 4, "(N, C, H, W)")
    argmax = cache.argmax
    if (not isinstance(argmax, np.ndarray) or argmax.dtype != np.int32 or not argmax.flags.c_contiguous
            or not argmax.flags.aligned or argmax.ndim != 4 or argmax.shape[:2] != x_shape[:2]):
        raise ValueError(f"{fn}: {ARGMAX_ERROR}, C-contiguous, of shape (N, C, Ho, Wo) with x's N and C")
    check_dout(fn, dout, argmax.shape, dout.dtype, "(N, C, Ho, Wo)")
    return x_shape, argmax


def check_avgpool_cache(fn, dout, cache):
    """avgpool2d_backward: cache.x_shape and the cached window valid together (as in the forward);
    dout (N, C, Ho, Wo) of that forward. -> (x_shape, k, s, p)."""
    cache = cache_record(fn, cache, PoolCache)
    x_shape = check_dims(fn, "cache.x_shape", cache.x_shape, 4, "(N, C, H, W)")
    k, s, p, _, o = check_pool_window(fn, x_shape, cache.pool_size, cache.stride, cache.padding)
    check_dout(fn, dout, x_shape[:2] + o, dout.dtype, "(N, C, Ho, Wo)")
    return x_shape, k, s, p


def check_global_pool_cache(fn, dout, cache):
    """global_avgpool2d_backward: cache.x_shape 4 positive ints; dout (N, C). -> x_shape."""
    cache = cache_record(fn, cache, PoolCache)
    x_shape = check_dims(fn, "cache.x_shape", cache.x_shape, 4, "(N, C, H, W)")
    check_dout(fn, dout, x_shape[:2], dout.dtype, "(N, C)")
    return x_shape


# ---- losses ---------------------------------------------------------------------------------------

def check_loss_cache(fn, cache, loss):
    """The cache handed to `<loss>_backward` must come from `<loss>_forward`. -> the LossCache."""
    if getattr(cache, "loss", None) != loss:
        got = getattr(cache, "loss", type(cache).__name__)
        raise ValueError(f"{fn}: cache comes from {got!r}, not from {loss}_forward")
    return cache_record(fn, cache, LossCache)


# The range each loss's cached param must lie in (open interval): delta > 0, the clip eps in (0, 0.5).
_PARAM_RANGE = {"huber": (0, None), "multiclass_hinge": (0, None), "binary_crossentropy": (0, 0.5),
                "categorical_crossentropy": (0, 0.5), "kl_divergence": (0, 0.5)}


def _loss_param(fn, v, loss):
    lo, hi = _PARAM_RANGE.get(loss, (None, None))
    if type(v) is float and math.isfinite(v) and (lo is None or lo < v) and (hi is None or v < hi):
        return v
    return check_number(fn, "cache.param", v, minimum=lo, maximum=hi, strict=True)


def check_elem_loss_cache(fn, cache, loss):
    """An elementwise loss's backward: cache.output and cache.target float arrays of one shape and
    dtype, cache.param a finite number in its loss's range. -> (output, target, param)."""
    cache = check_loss_cache(fn, cache, loss)
    y, t = cache.output, cache.target
    check_float(fn, "cache.output", y)
    check_float(fn, "cache.target", t, y.ndim, dtype=y.dtype)
    check_shape(fn, "cache.target", t, y.shape)
    return y, t, _loss_param(fn, cache.param, loss)


def label_error(fn, K):
    """The error for class ids outside [0, K) found in a cache (both backends raise it)."""
    return ValueError(f"{fn}: cache.target holds class ids outside [0, {K}) for output with {K} classes; "
                      "pass the cache its forward returned")


def check_class_loss_cache(fn, cache, loss, ids_only=False, aux=False):
    """A class loss's backward: cache.output (N, K); cache.target int64 class ids (N,) (their range
    is checked where they are read) or, unless ids_only, float rows shaped like output; with aux,
    cache.aux (the softmax probabilities) shaped like output. -> (output, target, aux, param)."""
    cache = check_loss_cache(fn, cache, loss)
    s, t = cache.output, cache.target
    check_float(fn, "cache.output", s, 2, "(N, K)")
    if isinstance(t, np.ndarray) and t.ndim == 1 or ids_only:
        if not (isinstance(t, np.ndarray) and t.dtype == np.int64 and t.shape == (s.shape[0],)
                and (tf := t.flags).c_contiguous and tf.aligned):
            got = f"{t.dtype} of shape {t.shape}" if isinstance(t, np.ndarray) else type(t).__name__
            raise ValueError(f"{fn}: cache.target must be the int64 class ids ({s.shape[0]},) of the forward, "
                             f"C-contiguous, got {got}")
    else:
        check_float(fn, "cache.target", t, 2, "(N, K)", dtype=s.dtype)
        check_shape(fn, "cache.target", t, s.shape)
    p = cache.aux
    if aux:
        check_float(fn, "cache.aux", p, 2, "(N, K)", dtype=s.dtype)
        check_shape(fn, "cache.aux", p, s.shape)
    return s, t, p, _loss_param(fn, cache.param, loss)


def check_label_range(fn, labels, K):
    """The reference's range check of cached class ids (the native kernels count strays as they read)."""
    if labels.size and (labels.min() < 0 or labels.max() >= K):
        raise label_error(fn, K)
