# distutils: sources = csrc/dropout.c
"""Dropout kernels, native: the mask is drawn from the caller's numpy Generator by
nnc.backend.masks.draw_keep (the function the reference uses too, so both backends give the same mask
for the same seed) and applied in C with OpenMP. Same names, arguments and results as the reference."""
import numpy as np

from nnc._threads import get_num_threads
from nnc.backend._cache_checks import check_dropout_cache
from nnc.backend._checks import check_dropout
from nnc.backend.caches import DropoutCache
from nnc.backend.masks import draw_keep
from ._blas cimport floating

cdef extern from "dropout.h":
    void nnc_dropout_apply_f32(const float *x, const unsigned char *keep, float scale, size_t planes,
                               size_t plane_size, float *out, int nthreads) noexcept nogil
    void nnc_dropout_apply_f64(const double *x, const unsigned char *keep, double scale, size_t planes,
                               size_t plane_size, double *out, int nthreads) noexcept nogil

__all__ = ["dropout_forward", "dropout_backward", "spatial_dropout2d_forward", "spatial_dropout2d_backward"]


def _apply(const floating[::1] x, const unsigned char[::1] keep, double scale, size_t plane_size,
           floating[::1] out, int nthreads):
    cdef size_t planes = keep.shape[0]
    with nogil:
        if floating is float:
            nnc_dropout_apply_f32(&x[0], &keep[0], <float> scale, planes, plane_size, &out[0], nthreads)
        else:
            nnc_dropout_apply_f64(&x[0], &keep[0], scale, planes, plane_size, &out[0], nthreads)


def _masked(x, keep, scale, plane_size):
    """out = x * keep * scale with keep one byte per plane of plane_size elements."""
    out = np.empty_like(x)
    _apply(x.reshape(-1), keep.reshape(-1).view(np.uint8), scale, plane_size, out.reshape(-1),
           get_num_threads())
    return out


def dropout_forward(x, rate, rng, training=True):
    """x: any shape -> (out like x, DropoutCache). Draws one uniform per element from rng (training, rate > 0)."""
    rate = check_dropout("dropout_forward", x, rate, rng, training)
    if not training or rate == 0:
        return x, DropoutCache(None, 1.0, False)
    keep = draw_keep(rng, x.shape, rate)
    scale = 1.0 / (1.0 - rate)
    return _masked(x, keep, scale, 1), DropoutCache(keep, scale, False)


def dropout_backward(dout, cache):
    """dout like x -> dx = dout * keep * scale."""
    keep, scale, spatial = check_dropout_cache("dropout_backward", dout, cache)
    if keep is None:
        return dout
    plane = dout.shape[2] * dout.shape[3] if spatial else 1
    return _masked(dout, keep, scale, plane)


def spatial_dropout2d_forward(x, rate, rng, training=True):
    """x: (N, C, H, W) -> (out, DropoutCache). Drops whole channels: one uniform per (n, c)."""
    rate = check_dropout("spatial_dropout2d_forward", x, rate, rng, training, spatial=True)
    if not training or rate == 0:
        return x, DropoutCache(None, 1.0, True)
    keep = draw_keep(rng, x.shape[:2], rate)
    scale = 1.0 / (1.0 - rate)
    return _masked(x, keep, scale, x.shape[2] * x.shape[3]), DropoutCache(keep, scale, True)


def spatial_dropout2d_backward(dout, cache):
    """dout: (N, C, H, W) -> dx."""
    return dropout_backward(dout, cache)


include "_build.pxi"
