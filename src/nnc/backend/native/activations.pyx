# distutils: sources = csrc/activations.c
"""Activation kernels, native: one C dispatch (csrc/activations_body.h), OpenMP over elements.

Same names, arguments and results as nnc/backend/reference/activations.py. Every activation
takes an input of any rank (the kernel walks the flat C-contiguous buffer), except prelu (x is
(N, ...)) and softmax (along `axis`; the C kernel handles the last axis, any other axis is moved
last with one documented copy in and one copy out).
"""
import numpy as np

from nnc._threads import get_num_threads
from nnc.backend._cache_checks import check_activation_cache
from nnc.backend._checks import check_axis, check_float, check_number, check_prelu
from nnc.backend.caches import ActivationCache
from ._blas cimport floating

cdef extern from "activations.h":
    ctypedef enum nnc_act_kind:
        NNC_ACT_IDENTITY, NNC_ACT_STEP, NNC_ACT_SIGMOID, NNC_ACT_TANH, NNC_ACT_RELU,
        NNC_ACT_LEAKY_RELU, NNC_ACT_ELU, NNC_ACT_SELU, NNC_ACT_GELU, NNC_ACT_SWISH,
        NNC_ACT_SOFTPLUS, NNC_ACT_SOFTSIGN, NNC_ACT_GELU_TANH
    void nnc_act_forward_f32(int kind, const float *x, Py_ssize_t n, double alpha, float *out,
                             int nthreads) noexcept nogil
    void nnc_act_forward_f64(int kind, const double *x, Py_ssize_t n, double alpha, double *out,
                             int nthreads) noexcept nogil
    void nnc_act_backward_f32(int kind, const float *x, const float *out, const float *dout, Py_ssize_t n,
                              double alpha, float *dx, int nthreads) noexcept nogil
    void nnc_act_backward_f64(int kind, const double *x, const double *out, const double *dout, Py_ssize_t n,
                              double alpha, double *dx, int nthreads) noexcept nogil
    void nnc_prelu_forward_f32(const float *x, const float *alpha, int N, Py_ssize_t M, float *out,
                               int nthreads) noexcept nogil
    void nnc_prelu_forward_f64(const double *x, const double *alpha, int N, Py_ssize_t M, double *out,
                               int nthreads) noexcept nogil
    void nnc_prelu_backward_f32(const float *x, const float *alpha, const float *dout, int N, Py_ssize_t M,
                                float *dx, float *dalpha, int nthreads) noexcept nogil
    void nnc_prelu_backward_f64(const double *x, const double *alpha, const double *dout, int N, Py_ssize_t M,
                                double *dx, double *dalpha, int nthreads) noexcept nogil
    void nnc_softmax_forward_f32(const float *x, Py_ssize_t rows, int cols, float *out, int nthreads) noexcept nogil
    void nnc_softmax_forward_f64(const double *x, Py_ssize_t rows, int cols, double *out, int nthreads) noexcept nogil
    void nnc_softmax_backward_f32(const float *out, const float *dout, Py_ssize_t rows, int cols, float *dx,
                                  int nthreads) noexcept nogil
    void nnc_softmax_backward_f64(const double *out, const double *dout, Py_ssize_t rows, int cols, double *dx,
                                  int nthreads) noexcept nogil

__all__ = [f"{name}_{d}" for name in ("identity", "step", "sigmoid", "tanh", "relu", "leaky_relu", "prelu", "elu",
                                        "selu", "gelu", "gelu_tanh", "swish", "silu", "softplus", "softsign", "softmax")
           for d in ("forward", "backward")]


# ---- the two typed entry points of the elementwise family --------------------------------------

def _act_forward(int kind, const floating[::1] x, double alpha, floating[::1] out, int nthreads):
    with nogil:
        if floating is float:
            nnc_act_forward_f32(kind, &x[0], x.shape[0], alpha, &out[0], nthreads)
        else:
            nnc_act_forward_f64(kind, &x[0], x.shape[0], alpha, &out[0], nthreads)


def _act_backward(int kind, const floating[::1] x, const floating[::1] out, const floating[::1] dout,
                  double alpha, floating[::1] dx, int nthreads):
    with nogil:
        if floating is float:
            nnc_act_backward_f32(kind, &x[0], &out[0], &dout[0], x.shape[0], alpha, &dx[0], nthreads)
        else:
            nnc_act_backward_f64(kind, &x[0], &out[0], &dout[0], x.shape[0], alpha, &dx[0], nthreads)


def _forward(fn, int kind, x, alpha=None):
    """Check x, run activation `kind` over its flat buffer -> (out, ActivationCache)."""
    check_float(fn, "x", x)
    out = np.empty_like(x)
    _act_forward(kind, x.reshape(-1), 0.0 if alpha is None else alpha, out.reshape(-1), get_num_threads())
    return out, ActivationCache(x, out, alpha)


def _backward(fn, int kind, dout, cache, alpha_kind=None):
    x, out, alpha = check_activation_cache(fn, dout, cache, alpha_kind)
    dx = np.empty_like(x)
    _act_backward(kind, x.reshape(-1), out.reshape(-1), dout.reshape(-1), 0.0 if alpha is None else alpha,
                  dx.reshape(-1), get_num_threads())
    return dx


# ---- one pair per activation (docstrings: the equation; reference has the same ones) ----------

def identity_forward(x):
    """out = x (a copy).  x: any shape -> (out, ActivationCache)."""
    return _forward("identity_forward", NNC_ACT_IDENTITY, x)


def identity_backward(dout, cache):
    """dx = dout."""
    return _backward("identity_backward", NNC_ACT_IDENTITY, dout, cache)


def step_forward(x):
    """Heaviside step: out = 1 where x >= 0 else 0 (step(0) = 1). Forward only: the perceptron rule."""
    return _forward("step_forward", NNC_ACT_STEP, x)


def step_backward(dout, cache):
    """Always raises: the step has zero gradient almost everywhere, so backpropagation cannot train it."""
    raise RuntimeError("step_backward: the step function has zero gradient almost everywhere (and none at 0), "
                       "so it cannot be trained by backpropagation; use the perceptron learning rule, or "
                       "sigmoid/tanh for a differentiable model")


def sigmoid_forward(x):
    """out = 1 / (1 + exp(-x)), computed without overflow for large |x|."""
    return _forward("sigmoid_forward", NNC_ACT_SIGMOID, x)


def sigmoid_backward(dout, cache):
    """dx = dout * out * (1 - out)."""
    return _backward("sigmoid_backward", NNC_ACT_SIGMOID, dout, cache)


def tanh_forward(x):
    """out = tanh(x)."""
    return _forward("tanh_forward", NNC_ACT_TANH, x)


def tanh_backward(dout, cache):
    """dx = dout * (1 - out**2)."""
    return _backward("tanh_backward", NNC_ACT_TANH, dout, cache)


def relu_forward(x):
    """out = max(x, 0)."""
    return _forward("relu_forward", NNC_ACT_RELU, x)


def relu_backward(dout, cache):
    """dx = dout where x > 0 else 0 (subgradient 0 at x = 0)."""
    return _backward("relu_backward", NNC_ACT_RELU, dout, cache)


def leaky_relu_forward(x, alpha=0.01):
    """out = x where x > 0 else alpha * x, alpha >= 0 (0.01 like PyTorch)."""
    alpha = check_number("leaky_relu_forward", "alpha", alpha, minimum=0)
    return _forward("leaky_relu_forward", NNC_ACT_LEAKY_RELU, x, alpha)


def leaky_relu_backward(dout, cache):
    """dx = dout where x > 0 else alpha * dout."""
    return _backward("leaky_relu_backward", NNC_ACT_LEAKY_RELU, dout, cache, "number")


def elu_forward(x, alpha=1.0):
    """out = x where x > 0 else alpha * (exp(x) - 1), alpha > 0."""
    alpha = check_number("elu_forward", "alpha", alpha, minimum=0, strict=True)
    return _forward("elu_forward", NNC_ACT_ELU, x, alpha)


def elu_backward(dout, cache):
    """dx = dout where x > 0 else dout * (out + alpha)."""
    return _backward("elu_backward", NNC_ACT_ELU, dout, cache, "number")


def selu_forward(x):
    """out = scale * (x where x > 0 else alpha * (exp(x) - 1)), Klambauer et al. 2017 constants
    alpha = 1.6732632423543772, scale = 1.0507009873554805."""
    return _forward("selu_forward", NNC_ACT_SELU, x)


def selu_backward(dout, cache):
    """dx = scale * dout where x > 0 else dout * (out + scale * alpha)."""
    return _backward("selu_backward", NNC_ACT_SELU, dout, cache)


def gelu_forward(x):
    """out = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), the exact form (PyTorch's default)."""
    return _forward("gelu_forward", NNC_ACT_GELU, x)


def gelu_backward(dout, cache):
    """dx = dout * (Phi(x) + x * phi(x)), phi the standard normal density."""
    return _backward("gelu_backward", NNC_ACT_GELU, dout, cache)


def gelu_tanh_forward(x):
    """out = 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3): GELU's tanh approximation
    (PyTorch's approximate="tanh"), computed as x * sigmoid(2u)."""
    return _forward("gelu_tanh_forward", NNC_ACT_GELU_TANH, x)


def gelu_tanh_backward(dout, cache):
    """dx = dout * (s + x s (1 - s) v'), s = sigmoid(v), v = 2u, v' = 2 sqrt(2/pi) (1 + 3 * 0.044715 x^2)."""
    return _backward("gelu_tanh_backward", NNC_ACT_GELU_TANH, dout, cache)


def swish_forward(x):
    """out = x * sigmoid(x) (swish with beta = 1, also called SiLU)."""
    return _forward("swish_forward", NNC_ACT_SWISH, x)


def swish_backward(dout, cache):
    """dx = dout * s * (1 + x * (1 - s)), s = sigmoid(x)."""
    return _backward("swish_backward", NNC_ACT_SWISH, dout, cache)


silu_forward = swish_forward
silu_backward = swish_backward


def softplus_forward(x):
    """out = log(1 + exp(x)) = log1p(exp(-|x|)) + max(x, 0) (no overflow)."""
    return _forward("softplus_forward", NNC_ACT_SOFTPLUS, x)


def softplus_backward(dout, cache):
    """dx = dout * sigmoid(x)."""
    return _backward("softplus_backward", NNC_ACT_SOFTPLUS, dout, cache)


def softsign_forward(x):
    """out = x / (1 + |x|)."""
    return _forward("softsign_forward", NNC_ACT_SOFTSIGN, x)


def softsign_backward(dout, cache):
    """dx = dout / (1 + |x|)**2."""
    return _backward("softsign_backward", NNC_ACT_SOFTSIGN, dout, cache)


# ---- PReLU: alpha is a parameter broadcast over one sample ---------------------------------------

def _prelu_forward(const floating[:, ::1] x, const floating[::1] alpha, floating[:, ::1] out, int nthreads):
    with nogil:
        if floating is float:
            nnc_prelu_forward_f32(&x[0, 0], &alpha[0], x.shape[0], x.shape[1], &out[0, 0], nthreads)
        else:
            nnc_prelu_forward_f64(&x[0, 0], &alpha[0], x.shape[0], x.shape[1], &out[0, 0], nthreads)


def _prelu_backward(const floating[:, ::1] x, const floating[::1] alpha, const floating[:, ::1] dout,
                    floating[:, ::1] dx, floating[::1] dalpha, int nthreads):
    with nogil:
        if floating is float:
            nnc_prelu_backward_f32(&x[0, 0], &alpha[0], &dout[0, 0], x.shape[0], x.shape[1],
                                   &dx[0, 0], &dalpha[0], nthreads)
        else:
            nnc_prelu_backward_f64(&x[0, 0], &alpha[0], &dout[0, 0], x.shape[0], x.shape[1],
                                   &dx[0, 0], &dalpha[0], nthreads)


def _per_sample(x, alpha):
    """x as (N, M) and alpha broadcast to a full sample, flat (M,) (a small copy when alpha is shared)."""
    N = x.shape[0]
    if alpha.shape == x.shape[1:]:     # checked C-contiguous: already the full sample
        return x.reshape(N, -1), alpha.reshape(-1)
    full = np.ascontiguousarray(np.broadcast_to(alpha, x.shape[1:])).reshape(-1)
    return x.reshape(N, -1), full


def prelu_forward(x, alpha):
    """out = x where x > 0 else alpha * x.  x: (N, ...); alpha broadcasts to x.shape[1:],
    e.g. (C, 1, 1) for one slope per channel of NCHW input -> (out, ActivationCache)."""
    check_prelu("prelu_forward", x, alpha)
    x2, full = _per_sample(x, alpha)
    out = np.empty_like(x)
    _prelu_forward(x2, full, out.reshape(x2.shape), get_num_threads())
    return out, ActivationCache(x, out, alpha)


def prelu_backward(dout, cache):
    """dx = dout where x > 0 else alpha * dout;  dalpha = sum over the batch (and over the axes
    where alpha is shared) of dout * x where x <= 0 -> (dx, dalpha shaped like alpha)."""
    x, _, alpha = check_activation_cache("prelu_backward", dout, cache, "prelu")
    x2, full = _per_sample(x, alpha)
    dx = np.empty_like(x)
    dfull = np.empty_like(full)
    _prelu_backward(x2, full, dout.reshape(x2.shape), dx.reshape(x2.shape), dfull, get_num_threads())
    # Sum the per-position gradient over the axes alpha is broadcast along (fixed order: numpy sum
    # of an array that does not depend on the thread count).
    dfull = dfull.reshape(x.shape[1:])
    lead = dfull.ndim - alpha.ndim
    shared = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(alpha.shape) if s == 1)
    dalpha = dfull.sum(axis=shared, keepdims=True).reshape(alpha.shape) if shared else dfull
    return dx, dalpha.astype(x.dtype, copy=False)   # a fresh C-contiguous array already


# ---- softmax ------------------------------------------------------------------------------------

def _softmax_forward(const floating[:, ::1] x, floating[:, ::1] out, int nthreads):
    with nogil:
        if floating is float:
            nnc_softmax_forward_f32(&x[0, 0], x.shape[0], x.shape[1], &out[0, 0], nthreads)
        else:
            nnc_softmax_forward_f64(&x[0, 0], x.shape[0], x.shape[1], &out[0, 0], nthreads)


def _softmax_backward(const floating[:, ::1] out, const floating[:, ::1] dout, floating[:, ::1] dx, int nthreads):
    with nogil:
        if floating is float:
            nnc_softmax_backward_f32(&out[0, 0], &dout[0, 0], out.shape[0], out.shape[1], &dx[0, 0], nthreads)
        else:
            nnc_softmax_backward_f64(&out[0, 0], &dout[0, 0], out.shape[0], out.shape[1], &dx[0, 0], nthreads)


def _to_last(a, axis):
    """View `a` with `axis` last, as C-contiguous rows; a copy unless axis is already last."""
    if axis == a.ndim - 1:
        return a
    return np.ascontiguousarray(np.moveaxis(a, axis, -1))


def _from_last(a, axis):
    if axis == a.ndim - 1:
        return a
    return np.ascontiguousarray(np.moveaxis(a, -1, axis))


def softmax_forward(x, axis=-1):
    """out = exp(x - max) / sum(exp(x - max)) along `axis` (stable: the max is subtracted first).
    x: any shape -> (out, ActivationCache). The C kernel works on the last axis of a C-contiguous
    array; for another axis the input is moved there with one copy and the result moved back."""
    check_float("softmax_forward", "x", x)
    ax = check_axis("softmax_forward", axis, x.ndim)
    xl = _to_last(x, ax)
    out = np.empty_like(xl)
    cols = xl.shape[xl.ndim - 1]
    _softmax_forward(xl.reshape(-1, cols), out.reshape(-1, cols), get_num_threads())
    out = _from_last(out, ax)
    return out, ActivationCache(x, out, None, ax)


def softmax_backward(dout, cache):
    """dx = out * (dout - sum(dout * out, axis)) (the Jacobian-vector product of softmax)."""
    x, out, ax = check_activation_cache("softmax_backward", dout, cache, "axis")
    outl, doutl = _to_last(out, ax), _to_last(dout, ax)
    cols = outl.shape[outl.ndim - 1]
    dx = np.empty_like(outl)
    _softmax_backward(outl.reshape(-1, cols), doutl.reshape(-1, cols), dx.reshape(-1, cols), get_num_threads())
    return _from_last(dx, ax)


include "_build.pxi"
