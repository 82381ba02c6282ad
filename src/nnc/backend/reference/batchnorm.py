"""Batch normalization, reference (Ioffe & Szegedy 2015, Algorithm 1; CS231n assignment 2).

Per channel c (the features of (N, F) data, the channels of (N, C, H, W) images), over the M values
of the batch (M = N, or N * H * W):
    training:   mu = mean(x),  var = mean((x - mu)^2)              (biased variance)
                running_mean <- momentum * running_mean + (1 - momentum) * mu     (in place; Keras'
                running_var  <- momentum * running_var  + (1 - momentum) * var     convention)
    inference:  mu, var = running_mean, running_var
    xhat = (x - mu) / sqrt(var + eps),   out = gamma * xhat + beta
Backward (training), the compact form of the chain rule through mu and var:
    dbeta = sum dout,  dgamma = sum dout * xhat,  dx = gamma / (M * sqrt(var + eps)) * (M * dout - dbeta - xhat * dgamma)
Backward (inference): mu and var are constants, so dx = gamma / sqrt(var + eps) * dout.
"""
import numpy as np

from .._cache_checks import check_batchnorm_cache
from .._checks import check_batchnorm
from ..caches import BatchNormCache

__all__ = ["batchnorm_forward", "batchnorm_backward"]


def _axes(x):
    """Axes summed over, and the shape that broadcasts a (C,) vector against x."""
    if x.ndim == 2:
        return (0,), (1, -1)
    return (0, 2, 3), (1, -1, 1, 1)


def update_running(running_mean, running_var, mean, var, momentum):
    """running <- momentum * running + (1 - momentum) * batch, for the mean and the variance, in place
    (the caller's arrays change), in their dtype."""
    dt = running_mean.dtype.type
    for running, batch in ((running_mean, mean), (running_var, var)):
        running *= dt(momentum)
        running += dt(1 - momentum) * batch


def batchnorm_forward(x, gamma, beta, running_mean, running_var, momentum=0.99, eps=1e-3, training=True):
    """x: (N, C) or (N, C, H, W); gamma, beta, running_mean, running_var: (C,) -> (out like x, BatchNormCache)."""
    momentum, eps = check_batchnorm("batchnorm_forward", x, gamma, beta, running_mean, running_var,
                                    momentum, eps, training)
    axes, col = _axes(x)
    dt = x.dtype.type
    if training:
        mean = x.mean(axis=axes)
        var = ((x - mean.reshape(col)) ** 2).mean(axis=axes)
        update_running(running_mean, running_var, mean, var, momentum)
    else:
        mean, var = running_mean.copy(), running_var.copy()
    inv_std = dt(1) / np.sqrt(var + dt(eps))
    xhat = (x - mean.reshape(col)) * inv_std.reshape(col)
    out = gamma.reshape(col) * xhat + beta.reshape(col)
    return out, BatchNormCache(xhat, gamma, mean, var, inv_std, bool(training))


def batchnorm_backward(dout, cache):
    """dout like x -> (dx like x, dgamma (C,), dbeta (C,))."""
    xhat, gamma, inv_std, training = check_batchnorm_cache("batchnorm_backward", dout, cache)
    axes, col = _axes(xhat)
    M = xhat.size // xhat.shape[1]
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * xhat).sum(axis=axes)
    k = (gamma * inv_std).reshape(col)
    if training:
        dx = k / M * (M * dout - dbeta.reshape(col) - xhat * dgamma.reshape(col))
    else:
        dx = k * dout
    return dx.astype(xhat.dtype, copy=False), dgamma, dbeta
