"""Activations, reference: each one the formula of the lecture on whole arrays.

Every `<name>_forward(x) -> (out, ActivationCache)` works on any shape elementwise; its
`<name>_backward(dout, cache) -> dx` is the chain rule dx = dout * f'(x). prelu also returns
dalpha, softmax works along an axis. step has no backward (zero gradient almost everywhere).
"""
import numpy as np

from .._cache_checks import check_activation_cache
from .._checks import check_axis, check_float, check_number, check_prelu
from ..caches import ActivationCache

__all__ = [f"{name}_{d}" for name in ("identity", "step", "sigmoid", "tanh", "relu", "leaky_relu", "prelu", "elu",
                                        "selu", "gelu", "gelu_tanh", "swish", "silu", "softplus", "softsign", "softmax")
           for d in ("forward", "backward")]

# Klambauer et al. 2017, "Self-Normalizing Neural Networks" (the constants PyTorch uses).
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
# GELU's tanh approximation (Hendrycks & Gimpel 2016): u = sqrt(2/pi) (x + GELU_TANH_C x^3).
GELU_TANH_C = 0.044715


def _sigmoid(x):
    # exp of -|x| only: never overflows; the two branches are the same function rewritten.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _checked(fn, x):
    return check_float(fn, "x", x)


def _dout(fn, dout, cache, alpha=None):
    """The checked cache (the whole of it: _cache_checks.py) -> (dout, x, out, alpha or axis)."""
    return (dout,) + check_activation_cache(fn, dout, cache, alpha)


def _nan_through(x, r):
    """r, with NaN where x is NaN: a gradient that only compares x (relu's x > 0) still says the
    input was NaN (NaN in, NaN out: nnc/backend/_checks.py)."""
    return np.where(x != x, x, r)


def identity_forward(x):
    """out = x (a copy).  x: any shape -> (out, ActivationCache)."""
    _checked("identity_forward", x)
    out = x.copy()
    return out, ActivationCache(x, out)


def identity_backward(dout, cache):
    """dx = dout."""
    return _dout("identity_backward", dout, cache)[0].copy()


def step_forward(x):
    """Heaviside step: out = 1 where x >= 0 else 0 (step(0) = 1). Forward only: the perceptron rule."""
    _checked("step_forward", x)
    out = _nan_through(x, (x >= 0).astype(x.dtype))
    return out, ActivationCache(x, out)


def step_backward(dout, cache):
    """Always raises: the step has zero gradient almost everywhere, so backpropagation cannot train it."""
    raise RuntimeError("step_backward: the step function has zero gradient almost everywhere (and none at 0), "
                       "so it cannot be trained by backpropagation; use the perceptron learning rule, or "
                       "sigmoid/tanh for a differentiable model")


def sigmoid_forward(x):
    """out = 1 / (1 + exp(-x)), computed without overflow for large |x|."""
    _checked("sigmoid_forward", x)
    out = _sigmoid(x)
    return out, ActivationCache(x, out)


def sigmoid_backward(dout, cache):
    """dx = dout * out * (1 - out)."""
    dout, _, s, _ = _dout("sigmoid_backward", dout, cache)
    return dout * s * (1 - s)


def tanh_forward(x):
    """out = tanh(x)."""
    _checked("tanh_forward", x)
    out = np.tanh(x)
    return out, ActivationCache(x, out)


def tanh_backward(dout, cache):
    """dx = dout * (1 - out**2)."""
    dout, _, out, _ = _dout("tanh_backward", dout, cache)
    return dout * (1 - out ** 2)


def relu_forward(x):
    """out = max(x, 0)."""
    _checked("relu_forward", x)
    out = np.where(x <= 0, 0, x).astype(x.dtype)       # NaN is not <= 0: it passes
    return out, ActivationCache(x, out)


def relu_backward(dout, cache):
    """dx = dout where x > 0 else 0 (subgradient 0 at x = 0)."""
    dout, x, _, _ = _dout("relu_backward", dout, cache)
    return _nan_through(x, np.where(x > 0, dout, 0)).astype(dout.dtype)


def leaky_relu_forward(x, alpha=0.01):
    """out = x where x > 0 else alpha * x, alpha >= 0 (0.01 like PyTorch)."""
    alpha = check_number("leaky_relu_forward", "alpha", alpha, minimum=0)
    _checked("leaky_relu_forward", x)
    out = np.where(x > 0, x, alpha * x)
    return out, ActivationCache(x, out, alpha)


def leaky_relu_backward(dout, cache):
    """dx = dout where x > 0 else alpha * dout."""
    dout, x, _, alpha = _dout("leaky_relu_backward", dout, cache, "number")
    return _nan_through(x, np.where(x > 0, dout, alpha * dout))


def prelu_forward(x, alpha):
    """out = x where x > 0 else alpha * x.  x: (N, ...); alpha broadcasts to x.shape[1:],
    e.g. (C, 1, 1) for one slope per channel of NCHW input -> (out, ActivationCache)."""
    check_prelu("prelu_forward", x, alpha)
    out = np.where(x > 0, x, alpha * x)     # alpha broadcasts over the batch axis and shared axes
    return out, ActivationCache(x, out, alpha)


def prelu_backward(dout, cache):
    """dx = dout where x > 0 else alpha * dout;  dalpha = sum over the batch (and over the axes
    where alpha is shared) of dout * x where x <= 0 -> (dx, dalpha shaped like alpha)."""
    dout, x, _, alpha = _dout("prelu_backward", dout, cache, "prelu")
    dx = _nan_through(x, np.where(x > 0, dout, alpha * dout))
    d_per_element = np.where(x > 0, 0, dout * x)           # d out / d alpha = x on the negative side
    # alpha was broadcast to x's shape: its gradient sums over every axis it was repeated along.
    lead = x.ndim - alpha.ndim
    shared = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(alpha.shape) if s == 1)
    dalpha = d_per_element.sum(axis=shared, keepdims=True).reshape(alpha.shape)
    return dx, dalpha.astype(x.dtype)


def elu_forward(x, alpha=1.0):
    """out = x where x > 0 else alpha * (exp(x) - 1), alpha > 0."""
    alpha = check_number("elu_forward", "alpha", alpha, minimum=0, strict=True)
    _checked("elu_forward", x)
    out = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))
    return out, ActivationCache(x, out, alpha)


def elu_backward(dout, cache):
    """dx = dout where x > 0 else dout * (out + alpha)   (alpha e^x = out + alpha)."""
    dout, x, out, alpha = _dout("elu_backward", dout, cache, "number")
    return np.where(x > 0, dout, dout * (out + alpha))


def selu_forward(x):
    """out = scale * (x where x > 0 else alpha * (exp(x) - 1)), Klambauer et al. 2017 constants
    alpha = 1.6732632423543772, scale = 1.0507009873554805."""
    _checked("selu_forward", x)
    out = SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0)))
    return out.astype(x.dtype), ActivationCache(x, out.astype(x.dtype))


def selu_backward(dout, cache):
    """dx = scale * dout where x > 0 else dout * (out + scale * alpha)."""
    dout, x, out, _ = _dout("selu_backward", dout, cache)
    return np.where(x > 0, SELU_SCALE * dout, dout * (out + SELU_SCALE * SELU_ALPHA)).astype(dout.dtype)


def erf(x):
    """The error function, elementwise (scipy.special.erf, imported on first use: scipy.special costs
    `import nnc` a third of a second and 4 MB, and only the exact GELU needs it)."""
    from scipy.special import erf
    return erf(x)


def gelu_forward(x):
    """out = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), the exact form (PyTorch's default)."""
    _checked("gelu_forward", x)
    out = (0.5 * x * (1 + erf(x / np.sqrt(2)))).astype(x.dtype)
    return out, ActivationCache(x, out)


def gelu_backward(dout, cache):
    """dx = dout * (Phi(x) + x * phi(x)), phi the standard normal density."""
    dout, x, _, _ = _dout("gelu_backward", dout, cache)
    Phi = 0.5 * (1 + erf(x / np.sqrt(2)))
    phi = np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)
    return (dout * (Phi + x * phi)).astype(x.dtype)


def _gelu_tanh_u(x):
    return np.sqrt(2 / np.pi) * (x + GELU_TANH_C * x**3)


def gelu_tanh_forward(x):
    """out = 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3): GELU's tanh approximation
    (PyTorch's approximate="tanh")."""
    _checked("gelu_tanh_forward", x)
    u = _gelu_tanh_u(x)
    out = (0.5 * x * (1 + np.tanh(u))).astype(x.dtype)
    return out, ActivationCache(x, out)


def gelu_tanh_backward(dout, cache):
    """dx = dout * (0.5 (1 + tanh u) + 0.5 x (1 - tanh(u)^2) u'), u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2)."""
    dout, x, _, _ = _dout("gelu_tanh_backward", dout, cache)
    u = _gelu_tanh_u(x)
    du = np.sqrt(2 / np.pi) * (1 + 3 * GELU_TANH_C * x**2)
    t = np.tanh(u)
    return (dout * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)).astype(x.dtype)


def swish_forward(x):
    """out = x * sigmoid(x) (swish with beta = 1, also called SiLU)."""
    _checked("swish_forward", x)
    out = x * _sigmoid(x)
    return out, ActivationCache(x, out)


def swish_backward(dout, cache):
    """dx = dout * s * (1 + x * (1 - s)), s = sigmoid(x)."""
    dout, x, _, _ = _dout("swish_backward", dout, cache)
    s = _sigmoid(x)
    return dout * s * (1 + x * (1 - s))


silu_forward = swish_forward
silu_backward = swish_backward


def softplus_forward(x):
    """out = log(1 + exp(x)) = log1p(exp(-|x|)) + max(x, 0) (no overflow)."""
    _checked("softplus_forward", x)
    out = np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)
    return out, ActivationCache(x, out)


def softplus_backward(dout, cache):
    """dx = dout * sigmoid(x)."""
    dout, x, _, _ = _dout("softplus_backward", dout, cache)
    return dout * _sigmoid(x)


def softsign_forward(x):
    """out = x / (1 + |x|)."""
    _checked("softsign_forward", x)
    out = x / (1 + np.abs(x))
    return out, ActivationCache(x, out)


def softsign_backward(dout, cache):
    """dx = dout / (1 + |x|)**2."""
    dout, x, _, _ = _dout("softsign_backward", dout, cache)
    return dout / (1 + np.abs(x)) ** 2


def softmax_forward(x, axis=-1):
    """out = exp(x - max) / sum(exp(x - max)) along `axis` (stable: the max is subtracted first,
    which does not change the result but keeps exp from overflowing).  x: any shape."""
    _checked("softmax_forward", x)
    axis = check_axis("softmax_forward", axis, x.ndim)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    out = e / e.sum(axis=axis, keepdims=True)
    return out, ActivationCache(x, out, None, axis)


def softmax_backward(dout, cache):
    """dx = out * (dout - sum(dout * out, axis)) (the Jacobian-vector product of softmax)."""
    dout, _, out, axis = _dout("softmax_backward", dout, cache, "axis")
    return out * (dout - (dout * out).sum(axis=axis, keepdims=True))
