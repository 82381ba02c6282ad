# distutils: sources = csrc/batchnorm.c
"""Batch normalization kernels, native (C with OpenMP over channels, deterministic sums).

Same names, arguments and results as nnc/backend/reference/batchnorm.py."""
import numpy as np

from nnc._threads import get_num_threads
from nnc.backend._cache_checks import check_batchnorm_cache
from nnc.backend._checks import check_batchnorm
from nnc.backend.caches import BatchNormCache
from ._blas cimport floating

cdef extern from "batchnorm.h":
    void nnc_batchnorm_forward_f32(const float *x, int N, int C, int S, const float *gamma, const float *beta,
                                   float *running_mean, float *running_var, float momentum, float eps,
                                   int training, float *mean, float *var, float *inv_std, float *xhat,
                                   float *out, int nthreads) noexcept nogil
    void nnc_batchnorm_forward_f64(const double *x, int N, int C, int S, const double *gamma,
                                   const double *beta, double *running_mean, double *running_var,
                                   double momentum, double eps, int training, double *mean, double *var,
                                   double *inv_std, double *xhat, double *out, int nthreads) noexcept nogil
    void nnc_batchnorm_backward_f32(const float *dout, const float *xhat, int N, int C, int S,
                                    const float *gamma, const float *inv_std, int training, float *dx,
                                    float *dgamma, float *dbeta, int nthreads) noexcept nogil
    void nnc_batchnorm_backward_f64(const double *dout, const double *xhat, int N, int C, int S,
                                    const double *gamma, const double *inv_std, int training, double *dx,
                                    double *dgamma, double *dbeta, int nthreads) noexcept nogil

__all__ = ["batchnorm_forward", "batchnorm_backward"]


def _forward(const floating[::1] x, int N, int C, int S, const floating[::1] gamma, const floating[::1] beta,
             floating[::1] running_mean, floating[::1] running_var, double momentum, double eps,
             bint training, floating[::1] mean, floating[::1] var, floating[::1] inv_std,
             floating[::1] xhat, floating[::1] out, int nthreads):
    with nogil:
        if floating is float:
            nnc_batchnorm_forward_f32(&x[0], N, C, S, &gamma[0], &beta[0], &running_mean[0], &running_var[0],
                                      <float> momentum, <float> eps, training, &mean[0], &var[0],
                                      &inv_std[0], &xhat[0], &out[0], nthreads)
        else:
            nnc_batchnorm_forward_f64(&x[0], N, C, S, &gamma[0], &beta[0], &running_mean[0], &running_var[0],
                                      momentum, eps, training, &mean[0], &var[0], &inv_std[0], &xhat[0],
                                      &out[0], nthreads)


def _backward(const floating[::1] dout, const floating[::1] xhat, int N, int C, int S,
              const floating[::1] gamma, const floating[::1] inv_std, bint training, floating[::1] dx,
              floating[::1] dgamma, floating[::1] dbeta, int nthreads):
    with nogil:
        if floating is float:
            nnc_batchnorm_backward_f32(&dout[0], &xhat[0], N, C, S, &gamma[0], &inv_std[0], training,
                                       &dx[0], &dgamma[0], &dbeta[0], nthreads)
        else:
            nnc_batchnorm_backward_f64(&dout[0], &xhat[0], N, C, S, &gamma[0], &inv_std[0], training,
                                       &dx[0], &dgamma[0], &dbeta[0], nthreads)


def batchnorm_forward(x, gamma, beta, running_mean, running_var, momentum=0.99, eps=1e-3, training=True):
    """x: (N, C) or (N, C, H, W); gamma, beta, running_mean, running_var: (C,) -> (out like x, BatchNormCache).

    training: normalize with the batch statistics and update running_mean/running_var IN PLACE,
    running = momentum * running + (1 - momentum) * batch (Keras' convention; PyTorch's momentum
    is 1 - this one). Otherwise normalize with the running statistics."""
    momentum, eps = check_batchnorm("batchnorm_forward", x, gamma, beta, running_mean, running_var,
                                    momentum, eps, training)
    N, C = x.shape[0], x.shape[1]
    S = x.size // (N * C)
    mean, var, inv_std = np.empty((3, C), x.dtype)     # one allocation, three C-contiguous rows
    xhat, out = np.empty_like(x), np.empty_like(x)
    # The C kernel takes writable running stats; in inference it only reads them, so copies (C floats
    # each) let read-only arrays through there.
    rm = running_mean if training else running_mean.copy()
    rv = running_var if training else running_var.copy()
    _forward(x.reshape(-1), N, C, S, gamma, beta, rm, rv, momentum, eps, bool(training), mean, var, inv_std,
             xhat.reshape(-1), out.reshape(-1), get_num_threads())
    return out, BatchNormCache(xhat, gamma, mean, var, inv_std, bool(training))


def batchnorm_backward(dout, cache):
    """dout like x -> (dx like x, dgamma (C,), dbeta (C,)).

    dbeta = sum dout,  dgamma = sum dout * xhat  (over N, and H, W for images); with M values per channel
    training:  dx = gamma * inv_std / M * (M * dout - dbeta - xhat * dgamma)
    inference: dx = gamma * inv_std * dout"""
    xhat, gamma, inv_std, training = check_batchnorm_cache("batchnorm_backward", dout, cache)
    N, C = xhat.shape[0], xhat.shape[1]
    S = xhat.size // (N * C)
    dx = np.empty_like(xhat)
    dgamma, dbeta = np.empty(C, xhat.dtype), np.empty(C, xhat.dtype)
    _backward(dout.reshape(-1), xhat.reshape(-1), N, C, S, gamma, inv_std, training, dx.reshape(-1), dgamma,
              dbeta, get_num_threads())
    return dx, dgamma, dbeta


include "_build.pxi"
