# distutils: sources = csrc/pool.c
"""Pooling kernels, native: C loops over NCHW planes with OpenMP (csrc/pool.c), GIL released.

Same names, arguments and results as nnc/backend/reference/pool.py (padding and tie rules are written there).
"""
import numpy as np

from nnc._threads import get_num_threads
from nnc.backend._cache_checks import ARGMAX_ERROR, check_avgpool_cache, check_global_pool_cache, check_maxpool_cache
from nnc.backend._checks import check_float, check_pool
from nnc.backend.caches import PoolCache
from ._blas cimport floating

cdef extern from "pool.h":
    void nnc_maxpool2d_forward_f32(const float *x, int NC, int H, int W, int kh, int kw, int sh, int sw,
                                   int ph, int pw, float *out, int *argmax, int nthreads) noexcept nogil
    void nnc_maxpool2d_forward_f64(const double *x, int NC, int H, int W, int kh, int kw, int sh, int sw,
                                   int ph, int pw, double *out, int *argmax, int nthreads) noexcept nogil
    Py_ssize_t nnc_maxpool2d_backward_f32(const float *dout, const int *argmax, int NC, int H, int W, int Ho,
                                          int Wo, float *dx, int nthreads) noexcept nogil
    Py_ssize_t nnc_maxpool2d_backward_f64(const double *dout, const int *argmax, int NC, int H, int W, int Ho,
                                          int Wo, double *dx, int nthreads) noexcept nogil
    void nnc_avgpool2d_forward_f32(const float *x, int NC, int H, int W, int kh, int kw, int sh, int sw,
                                   int ph, int pw, float *out, int nthreads) noexcept nogil
    void nnc_avgpool2d_forward_f64(const double *x, int NC, int H, int W, int kh, int kw, int sh, int sw,
                                   int ph, int pw, double *out, int nthreads) noexcept nogil
    void nnc_avgpool2d_backward_f32(const float *dout, int NC, int H, int W, int kh, int kw, int sh, int sw,
                                    int ph, int pw, float *dx, int nthreads) noexcept nogil
    void nnc_avgpool2d_backward_f64(const double *dout, int NC, int H, int W, int kh, int kw, int sh, int sw,
                                    int ph, int pw, double *dx, int nthreads) noexcept nogil
    void nnc_global_avgpool2d_forward_f32(const float *x, int NC, int HW, float *out, int nthreads) noexcept nogil
    void nnc_global_avgpool2d_forward_f64(const double *x, int NC, int HW, double *out, int nthreads) noexcept nogil
    void nnc_global_avgpool2d_backward_f32(const float *dout, int NC, int HW, float *dx, int nthreads) noexcept nogil
    void nnc_global_avgpool2d_backward_f64(const double *dout, int NC, int HW, double *dx, int nthreads) noexcept nogil

__all__ = ["maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward", "avgpool2d_backward",
           "global_avgpool2d_forward", "global_avgpool2d_backward"]


def _max_fwd(const floating[:, :, :, ::1] x, tuple k, tuple s, tuple p,
             floating[:, :, :, ::1] out, int[:, :, :, ::1] argmax, int nthreads):
    cdef int NC = x.shape[0] * x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef int kh = k[0], kw = k[1], sh = s[0], sw = s[1], ph = p[0], pw = p[1]
    with nogil:
        if floating is float:
            nnc_maxpool2d_forward_f32(&x[0, 0, 0, 0], NC, H, W, kh, kw, sh, sw, ph, pw,
                                      &out[0, 0, 0, 0], &argmax[0, 0, 0, 0], nthreads)
        else:
            nnc_maxpool2d_forward_f64(&x[0, 0, 0, 0], NC, H, W, kh, kw, sh, sw, ph, pw,
                                      &out[0, 0, 0, 0], &argmax[0, 0, 0, 0], nthreads)


def _max_bwd(const floating[:, :, :, ::1] dout, const int[:, :, :, ::1] argmax,
             floating[:, :, :, ::1] dx, int nthreads):
    """-> the number of argmax entries outside [0, H*W) (skipped by the kernel)."""
    cdef int NC = dx.shape[0] * dx.shape[1], H = dx.shape[2], W = dx.shape[3]
    cdef int Ho = dout.shape[2], Wo = dout.shape[3]
    cdef Py_ssize_t bad
    with nogil:
        if floating is float:
            bad = nnc_maxpool2d_backward_f32(&dout[0, 0, 0, 0], &argmax[0, 0, 0, 0], NC, H, W, Ho, Wo,
                                             &dx[0, 0, 0, 0], nthreads)
        else:
            bad = nnc_maxpool2d_backward_f64(&dout[0, 0, 0, 0], &argmax[0, 0, 0, 0], NC, H, W, Ho, Wo,
                                             &dx[0, 0, 0, 0], nthreads)
    return bad


def _avg(const floating[:, :, :, ::1] src, tuple k, tuple s, tuple p, floating[:, :, :, ::1] dst, bint backward,
         int nthreads):
    """Average pooling: the forward reads the image src = x and writes dst = out; the backward reads
    src = dout and writes the image dst = dx (the two C kernels take the same arguments)."""
    cdef void (*run)(const floating *, int, int, int, int, int, int, int, int, int, floating *, int) noexcept nogil
    if floating is float:
        run = nnc_avgpool2d_backward_f32 if backward else nnc_avgpool2d_forward_f32
    else:
        run = nnc_avgpool2d_backward_f64 if backward else nnc_avgpool2d_forward_f64
    img = dst if backward else src
    cdef int NC = img.shape[0] * img.shape[1], H = img.shape[2], W = img.shape[3]
    cdef int kh = k[0], kw = k[1], sh = s[0], sw = s[1], ph = p[0], pw = p[1]
    with nogil:
        run(&src[0, 0, 0, 0], NC, H, W, kh, kw, sh, sw, ph, pw, &dst[0, 0, 0, 0], nthreads)


def _gap_fwd(const floating[:, ::1] x, floating[::1] out, int nthreads):
    with nogil:
        if floating is float:
            nnc_global_avgpool2d_forward_f32(&x[0, 0], x.shape[0], x.shape[1], &out[0], nthreads)
        else:
            nnc_global_avgpool2d_forward_f64(&x[0, 0], x.shape[0], x.shape[1], &out[0], nthreads)


def _gap_bwd(const floating[::1] dout, floating[:, ::1] dx, int nthreads):
    with nogil:
        if floating is float:
            nnc_global_avgpool2d_backward_f32(&dout[0], dx.shape[0], dx.shape[1], &dx[0, 0], nthreads)
        else:
            nnc_global_avgpool2d_backward_f64(&dout[0], dx.shape[0], dx.shape[1], &dx[0, 0], nthreads)


def maxpool2d_forward(x, pool_size, stride=None, padding=0):
    """x (N, C, H, W) -> (out (N, C, Ho, Wo), PoolCache with argmax = flat index ih*W + iw in the plane)."""
    k, s, p, _, (Ho, Wo) = check_pool("maxpool2d_forward", x, pool_size, stride, padding)
    out = np.empty((x.shape[0], x.shape[1], Ho, Wo), dtype=x.dtype)
    argmax = np.empty(out.shape, dtype=np.int32)
    _max_fwd(x, k, s, p, out, argmax, get_num_threads())
    return out, PoolCache(x.shape, k, s, p, argmax)


def maxpool2d_backward(dout, cache):
    """dout (N, C, Ho, Wo) -> dx (N, C, H, W): each dout goes to its window's argmax (overlaps add)."""
    x_shape, argmax = check_maxpool_cache("maxpool2d_backward", dout, cache)
    dx = np.empty(x_shape, dtype=dout.dtype)
    if _max_bwd(dout, argmax, dx, get_num_threads()):      # the kernel checks the indices as it reads them
        raise ValueError(f"maxpool2d_backward: {ARGMAX_ERROR}")
    return dx


def avgpool2d_forward(x, pool_size, stride=None, padding=0):
    """x (N, C, H, W) -> (out (N, C, Ho, Wo), PoolCache). Divides by kh*kw: padding counts as zeros."""
    k, s, p, _, (Ho, Wo) = check_pool("avgpool2d_forward", x, pool_size, stride, padding)
    out = np.empty((x.shape[0], x.shape[1], Ho, Wo), dtype=x.dtype)
    _avg(x, k, s, p, out, False, get_num_threads())
    return out, PoolCache(x.shape, k, s, p, None)


def avgpool2d_backward(dout, cache):
    """dout (N, C, Ho, Wo) -> dx: every cell of a window receives dout / (kh*kw) (overlaps add)."""
    x_shape, k, s, p = check_avgpool_cache("avgpool2d_backward", dout, cache)
    dx = np.empty(x_shape, dtype=dout.dtype)
    _avg(dout, k, s, p, dx, True, get_num_threads())
    return dx


def global_avgpool2d_forward(x):
    """x (N, C, H, W) -> (out (N, C) = mean over H and W, PoolCache)."""
    check_float("global_avgpool2d_forward", "x", x, 4, "(N, C, H, W)")
    N, C, H, W = x.shape
    out = np.empty((N, C), dtype=x.dtype)
    _gap_fwd(x.reshape(N * C, H * W), out.reshape(-1), get_num_threads())
    return out, PoolCache(x.shape, (H, W), (H, W), (0, 0), None)


def global_avgpool2d_backward(dout, cache):
    """dout (N, C) -> dx (N, C, H, W) = dout / (H*W) at every pixel."""
    x_shape = check_global_pool_cache("global_avgpool2d_backward", dout, cache)
    N, C, H, W = x_shape
    dx = np.empty(x_shape, dtype=dout.dtype)
    _gap_bwd(dout.reshape(-1), dx.reshape(N * C, H * W), get_num_threads())
    return dx


include "_build.pxi"
