# distutils: sources = csrc/dense.c
"""Dense (affine) kernels, native: y = x @ W + b with BLAS GEMM, GIL released.

Same names, arguments and results as nnc/backend/reference/dense.py.
"""
import numpy as np

from nnc import _threads
from nnc._threads import get_num_threads
from nnc.backend._cache_checks import check_dense_cache
from nnc.backend._checks import check_dense
from nnc.backend.caches import DenseCache
from cython.parallel cimport prange

from ._blas cimport GEMM_THREADS_MIN_MACS, floating, gemm, gemm_threads

cdef extern from "dense.h":
    void nnc_broadcast_rows_f32(const float *b, int rows, int cols, float *out, int nthreads) noexcept nogil
    void nnc_broadcast_rows_f64(const double *b, int rows, int cols, double *out, int nthreads) noexcept nogil
    void nnc_colsum_f32(const float *a, int rows, int cols, float *out, int nthreads) noexcept nogil
    void nnc_colsum_f64(const double *a, int rows, int cols, double *out, int nthreads) noexcept nogil

__all__ = ["dense_forward", "dense_backward"]


def _forward(const floating[:, ::1] x, const floating[:, ::1] W, const floating[::1] b,
             bint use_bias, floating[:, ::1] out, int nthreads):
    cdef int N = x.shape[0], D = x.shape[1], M = W.shape[1]
    cdef floating beta = 0
    with nogil:
        if use_bias:  # out = b broadcast, then GEMM adds x @ W on top (beta = 1)
            beta = 1
            if floating is float:
                nnc_broadcast_rows_f32(&b[0], N, M, &out[0, 0], nthreads)
            else:
                nnc_broadcast_rows_f64(&b[0], N, M, &out[0, 0], nthreads)
        gemm_threads(False, False, N, M, D, <floating> 1, &x[0, 0], D, &W[0, 0], M, beta, &out[0, 0], M, nthreads)


# dx and dW each N*D*M multiply-adds: from this many each, two GEMMs too small for gemm_threads to split
# run side by side on two threads (the MLP's 256->128 layer: 4.2M), where idle threads spin. Under the
# passive wait (nnc's default) a sleeping thread wakes too late for the pair to pay: measured no faster than
# one thread up to 8.4M each (benchmarks/README.md), so there both run on the calling thread.
cdef enum:
    PAIR_MIN_MACS = 2097152     # 1 << 21


cdef inline void _colsum(const floating *a, int rows, int cols, floating *out, int nthreads) noexcept nogil:
    if floating is float:
        nnc_colsum_f32(a, rows, cols, out, nthreads)
    else:
        nnc_colsum_f64(a, rows, cols, out, nthreads)


def _backward(const floating[:, ::1] dout, const floating[:, ::1] x, const floating[:, ::1] W,
              floating[:, ::1] dx, floating[:, ::1] dW, floating[::1] db,
              bint need_dx, bint use_bias, int nthreads, bint pair):
    cdef int N = x.shape[0], D = x.shape[1], M = W.shape[1], t
    cdef long long macs = <long long> N * D * M
    if pair and need_dx and nthreads > 1 and PAIR_MIN_MACS <= macs < GEMM_THREADS_MIN_MACS:
        # The same BLAS calls as below (gemm_threads makes one call under its threshold), so the same bits.
        with nogil:
            for t in prange(2, num_threads=2, schedule="static"):
                if t == 0:
                    gemm(False, True, N, D, M, <floating> 1, &dout[0, 0], M, &W[0, 0], M, <floating> 0,
                         &dx[0, 0], D)
                else:
                    gemm(True, False, D, M, N, <floating> 1, &x[0, 0], D, &dout[0, 0], M, <floating> 0,
                         &dW[0, 0], M)
                    if use_bias:
                        _colsum(&dout[0, 0], N, M, &db[0], 1)
        return
    with nogil:
        if need_dx:  # dx (N, D) = dout (N, M) @ W.T
            gemm_threads(False, True, N, D, M, <floating> 1, &dout[0, 0], M, &W[0, 0], M, <floating> 0,
                         &dx[0, 0], D, nthreads)
        # dW (D, M) = x.T @ dout
        gemm_threads(True, False, D, M, N, <floating> 1, &x[0, 0], D, &dout[0, 0], M, <floating> 0,
                     &dW[0, 0], M, nthreads)
        if use_bias:
            _colsum(&dout[0, 0], N, M, &db[0], nthreads)


def dense_forward(x, W, b=None):
    """y = x @ W + b.  x: (N, D), W: (D, M), b: (M,) or None -> (y (N, M), DenseCache)."""
    check_dense("dense_forward", x, W, b)
    out = np.empty((x.shape[0], W.shape[1]), dtype=x.dtype)
    use_bias = b is not None
    _forward(x, W, b if use_bias else np.zeros(1, x.dtype), use_bias, out, get_num_threads())
    return out, DenseCache(x, W, use_bias)


def dense_backward(dout, cache, need_dx=True):
    """Gradients of y = x @ W + b.  dout: (N, M) -> (dx (N, D) or None, dW (D, M), db (M,) or None).

    dx = dout @ W.T,  dW = x.T @ dout,  db = sum over the batch of dout.
    need_dx=False skips dx (the first layer of a model has no use for it)."""
    x, W, use_bias = check_dense_cache("dense_backward", dout, cache)
    dx = np.empty_like(x) if need_dx else np.empty((1, 1), x.dtype)
    dW = np.empty_like(W)
    db = np.empty(W.shape[1], x.dtype) if use_bias else np.empty(1, x.dtype)
    _backward(dout, x, W, dx, dW, db, need_dx, use_bias, get_num_threads(), _threads.spinning)
    return (dx if need_dx else None), dW, (db if use_bias else None)


include "_build.pxi"
