"""Losses, reference: each loss the formula of the lecture on whole arrays.

`<loss>_forward(output, target) -> (mean loss as a float, LossCache)` and
`<loss>_backward(cache) -> d(loss)/d(output)`, the 1/N of the mean included.

Elementwise losses (mse, mae, huber, binary_crossentropy[_with_logits]) average over every element
(the per-sample mean over features, averaged over the batch), as Keras and PyTorch do; class and
distribution losses sum over the classes of a sample and average over the batch. Probabilities
are clipped to [EPSILON, 1 - EPSILON] before a log (EPSILON = 1e-7, Keras's value;
kl_divergence clips both distributions to [EPSILON, 1] like Keras); the gradient is 0 where the
output lies outside the clip range.
"""
import numpy as np

from .._cache_checks import check_class_loss_cache, check_elem_loss_cache, check_label_range
from .._checks import check_class_ids, check_class_target, check_loss_pair, check_number
from ..caches import LossCache

EPSILON = 1e-7

__all__ = [f"{name}_{d}" for name in ("mse", "mae", "huber", "binary_crossentropy", "binary_crossentropy_with_logits",
                                        "softmax_cross_entropy", "categorical_crossentropy", "multiclass_hinge",
                                        "ova_hinge", "kl_divergence")
           for d in ("forward", "backward")]


def _mean_over_samples(per_sample):
    """Per-sample losses (N,) -> their mean over the batch, accumulated in float64."""
    return float(np.sum(per_sample, dtype=np.float64) / per_sample.shape[0])


def _outside(p, lo, hi):
    """Where the clip changes p, so the clipped loss has derivative 0. A NaN is not outside: its
    gradient is the formula's, NaN (NaN in, NaN out: nnc/backend/_checks.py)."""
    return (p < lo) | (p > hi)


def _one_hot(labels, K, dtype):
    t = np.zeros((labels.shape[0], K), dtype=dtype)
    t[np.arange(labels.shape[0]), labels] = 1
    return t


# ---- regression losses ---------------------------------------------------------------------------

def mse_forward(output, target):
    """L = mean over all elements of (output - target)**2.  output, target: (N, ...) same shape."""
    check_loss_pair("mse_forward", output, target)
    return float(np.mean((output.astype(np.float64) - target) ** 2)), LossCache("mse", output, target)


def mse_backward(cache):
    """dL/doutput = 2 (output - target) / (N*M)."""
    y, t, _ = check_elem_loss_cache("mse_backward", cache, "mse")
    return 2 * (y - t) / y.size


def mae_forward(output, target):
    """L = mean over all elements of |output - target|."""
    check_loss_pair("mae_forward", output, target)
    return float(np.mean(np.abs(output.astype(np.float64) - target))), LossCache("mae", output, target)


def mae_backward(cache):
    """dL/doutput = sign(output - target) / (N*M), 0 where they are equal."""
    y, t, _ = check_elem_loss_cache("mae_backward", cache, "mae")
    return np.sign(y - t) / y.size


def huber_forward(output, target, delta=1.0):
    """L = mean of r**2/2 where |r| <= delta else delta (|r| - delta/2),  r = output - target, delta > 0."""
    delta = check_number("huber_forward", "delta", delta, minimum=0, strict=True)
    check_loss_pair("huber_forward", output, target)
    r = output.astype(np.float64) - target
    quadratic = np.abs(r) <= delta            # near the target: like MSE; far away: like MAE
    per_element = np.where(quadratic, 0.5 * r ** 2, delta * (np.abs(r) - 0.5 * delta))
    return float(np.mean(per_element)), LossCache("huber", output, target, None, delta)


def huber_backward(cache):
    """dL/doutput = clip(r, -delta, delta) / (N*M)."""
    y, t, delta = check_elem_loss_cache("huber_backward", cache, "huber")
    delta = y.dtype.type(delta)
    return np.clip(y - t, -delta, delta) / y.size


# ---- binary classification -----------------------------------------------------------------------

def binary_crossentropy_forward(output, target):
    """L = mean of -(t log p + (1 - t) log(1 - p)),  p = clip(output, 1e-7, 1 - 1e-7) probabilities."""
    check_loss_pair("binary_crossentropy_forward", output, target)
    p = np.clip(output, EPSILON, 1 - EPSILON).astype(np.float64)   # keep log away from 0
    t = target
    per_element = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    return float(np.mean(per_element)), LossCache("binary_crossentropy", output, target, None, EPSILON)


def binary_crossentropy_backward(cache):
    """dL/dp = (p - t) / (p (1 - p)) / (N*M) inside the clip range, 0 outside."""
    p, t, _ = check_elem_loss_cache("binary_crossentropy_backward", cache, "binary_crossentropy")
    grad = np.where(_outside(p, EPSILON, 1 - EPSILON), 0, (p - t) / (p * (1 - p)))
    return (grad / p.size).astype(p.dtype)


def binary_crossentropy_with_logits_forward(output, target):
    """L = mean of max(z, 0) - z t + log(1 + exp(-|z|)),  z = output logits (BCE of sigmoid(z), stable)."""
    check_loss_pair("binary_crossentropy_with_logits_forward", output, target)
    z, t = output.astype(np.float64), target
    per_element = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
    return float(np.mean(per_element)), LossCache("binary_crossentropy_with_logits", output, target)


def binary_crossentropy_with_logits_backward(cache):
    """dL/dz = (sigmoid(z) - t) / (N*M)."""
    z, t, _ = check_elem_loss_cache("binary_crossentropy_with_logits_backward", cache,
                                    "binary_crossentropy_with_logits")
    e = np.exp(-np.abs(z))
    sigmoid = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return (sigmoid - t) / z.size


# ---- multiclass classification -------------------------------------------------------------------

def softmax_cross_entropy_forward(output, target):
    """Fused softmax + cross-entropy on logits.  output: (N, K) logits; target: class ids (N,)
    (any integer dtype) or rows (N, K) (one-hot or probabilities).
    L = 1/N sum_n sum_k t_nk (logsumexp(z_n) - z_nk), stable for any logits (the row max is
    subtracted first). The cache keeps softmax(z) for the backward pass."""
    target = check_class_target("softmax_cross_entropy_forward", output, target)
    z = output.astype(np.float64)
    shifted = z - z.max(axis=1, keepdims=True)                  # every exponent <= 0: no overflow
    log_sum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    neg_log_p = log_sum - shifted                              # -log softmax, never forms exp(1e4)
    if target.ndim == 1:
        per_sample = neg_log_p[np.arange(z.shape[0]), target]
    else:
        per_sample = (target * neg_log_p).sum(axis=1)
    prob = np.exp(-neg_log_p).astype(output.dtype)
    return _mean_over_samples(per_sample), LossCache("softmax_cross_entropy", output, target, prob)


def softmax_cross_entropy_backward(cache):
    """dL/dz = (softmax(z) * sum_k t_k - t) / N, i.e. (softmax(z) - onehot) / N for class ids."""
    fn = "softmax_cross_entropy_backward"
    _, t, p, _ = check_class_loss_cache(fn, cache, "softmax_cross_entropy", aux=True)
    if t.ndim == 1:
        check_label_range(fn, t, p.shape[1])
        t = _one_hot(t, p.shape[1], p.dtype)
    return (p * t.sum(axis=1, keepdims=True) - t) / p.shape[0]


def categorical_crossentropy_forward(output, target):
    """L = 1/N sum_n -sum_k t_nk log p_nk on probabilities output (N, K), p clipped to
    [1e-7, 1 - 1e-7]; target: rows (N, K) or class ids (N,)."""
    target = check_class_target("categorical_crossentropy_forward", output, target)
    t = _one_hot(target, output.shape[1], np.float64) if target.ndim == 1 else target
    p = np.clip(output, EPSILON, 1 - EPSILON).astype(np.float64)
    per_sample = -(t * np.log(p)).sum(axis=1)
    return _mean_over_samples(per_sample), LossCache("categorical_crossentropy", output, target, None, EPSILON)


def categorical_crossentropy_backward(cache):
    """dL/dp = -t / p / N inside the clip range, 0 outside."""
    fn = "categorical_crossentropy_backward"
    if isinstance(getattr(cache, "target", None), np.ndarray) and cache.target.ndim == 1:   # class ids
        p, t, _, _ = check_class_loss_cache(fn, cache, "categorical_crossentropy", ids_only=True)
        check_label_range(fn, t, p.shape[1])
        t = _one_hot(t, p.shape[1], p.dtype)
    else:
        p, t, _ = check_elem_loss_cache(fn, cache, "categorical_crossentropy")
    grad = np.where(_outside(p, EPSILON, 1 - EPSILON), 0, -t / p)
    return (grad / p.shape[0]).astype(p.dtype)


def multiclass_hinge_forward(output, target, delta=1.0):
    """Weston-Watkins (CS231n SVM) loss: L = 1/N sum_n sum_{j != y_n} max(0, s_nj - s_ny + delta).
    output: scores (N, K); target: class ids (N,); delta > 0."""
    delta = check_number("multiclass_hinge_forward", "delta", delta, minimum=0, strict=True)
    target = check_class_ids("multiclass_hinge_forward", output, target)
    s = output.astype(np.float64)
    N, K = s.shape
    per_sample = np.zeros(N)
    for n in range(N):
        y = target[n]
        for j in range(K):
            if j != y:   # np.maximum, not max(): max(0.0, nan) is 0.0 and would hide a NaN score
                per_sample[n] += np.maximum(0.0, s[n, j] - s[n, y] + delta)
    return _mean_over_samples(per_sample), LossCache("multiclass_hinge", output, target, None, delta)


def multiclass_hinge_backward(cache):
    """dL/ds_j = 1/N for each j != y with a positive margin; dL/ds_y = -(their count)/N."""
    fn = "multiclass_hinge_backward"
    output, labels, _, delta = check_class_loss_cache(fn, cache, "multiclass_hinge", ids_only=True)
    s = output.astype(np.float64)
    N, K = s.shape
    check_label_range(fn, labels, K)
    ds = np.zeros((N, K))
    for n in range(N):
        y = labels[n]
        for j in range(K):
            margin = s[n, j] - s[n, y] + delta
            if j != y and margin > 0:          # this wrong class is inside the margin
                ds[n, j] += 1
                ds[n, y] -= 1
            elif j != y and np.isnan(margin):  # NaN in, NaN out: here and at the true class
                ds[n, j] = ds[n, y] = np.nan
    return (ds / N).astype(output.dtype)


def ova_hinge_forward(output, target):
    """One-vs-all hinge: L = 1/N sum_n sum_j max(0, 1 - t_nj s_nj), t_nj = +1 if j == y_n else -1.
    output: scores (N, K); target: class ids (N,)."""
    target = check_class_ids("ova_hinge_forward", output, target)
    t = 2 * _one_hot(target, output.shape[1], np.float64) - 1      # +1 for the true class, -1 elsewhere
    per_sample = np.maximum(0, 1 - t * output.astype(np.float64)).sum(axis=1)
    return _mean_over_samples(per_sample), LossCache("ova_hinge", output, target)


def ova_hinge_backward(cache):
    """dL/ds_j = -t_j / N where the margin 1 - t_j s_j is positive, else 0."""
    fn = "ova_hinge_backward"
    output, labels, _, _ = check_class_loss_cache(fn, cache, "ova_hinge", ids_only=True)
    s = output.astype(np.float64)
    check_label_range(fn, labels, s.shape[1])
    t = 2 * _one_hot(labels, s.shape[1], np.float64) - 1
    margin = 1 - t * s
    grad = np.where(margin > 0, -t, np.where(margin <= 0, 0, margin))    # a NaN margin stays NaN
    return (grad / s.shape[0]).astype(output.dtype)


def kl_divergence_forward(output, target):
    """L = 1/N sum_n sum_k t log(t / p),  t = clip(target, 1e-7, 1), p = clip(output, 1e-7, 1).
    output: predicted distributions (N, ...); target: true distributions, same shape."""
    check_loss_pair("kl_divergence_forward", output, target)
    t = np.clip(target, EPSILON, 1).astype(np.float64)
    p = np.clip(output, EPSILON, 1).astype(np.float64)
    per_sample = (t * np.log(t / p)).reshape(output.shape[0], -1).sum(axis=1)
    return _mean_over_samples(per_sample), LossCache("kl_divergence", output, target, None, EPSILON)


def kl_divergence_backward(cache):
    """dL/dp = -t / p / N inside the clip range, 0 outside."""
    p, t, _ = check_elem_loss_cache("kl_divergence_backward", cache, "kl_divergence")
    t = np.clip(t, EPSILON, 1)
    return (np.where(_outside(p, EPSILON, 1), 0, -t / p) / p.shape[0]).astype(p.dtype)
