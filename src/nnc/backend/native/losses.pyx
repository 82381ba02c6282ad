# distutils: sources = csrc/losses.c
"""Loss kernels, native: per-sample losses in C/OpenMP, summed in a fixed order (csrc/losses_body.h).

Same names, arguments and results as nnc/backend/reference/losses.py. Every forward returns
(mean loss as a Python float, LossCache); every backward(cache) returns d(loss)/d(output), the
1/N of the mean included.

Two kinds of mean, as in Keras and PyTorch:
  * elementwise losses (mse, mae, huber, binary_crossentropy[_with_logits]): the mean over every
    element, i.e. the per-sample mean over features averaged over the batch; the gradient carries
    1/(N*M) with M the elements per sample;
  * distribution/class losses (softmax_cross_entropy, categorical_crossentropy, multiclass_hinge,
    ova_hinge, kl_divergence): summed over the classes of a sample, averaged over the batch (1/N).
Probabilities are clipped to [EPSILON, 1 - EPSILON] before a log (EPSILON = 1e-7, Keras's
value; kl_divergence clips both distributions to [EPSILON, 1] as Keras does); the gradient is 0
where the output lies outside the clip range.
"""
import numpy as np

from libc.stdint cimport int64_t
from nnc._threads import get_num_threads
from nnc.backend._cache_checks import check_class_loss_cache, check_elem_loss_cache, check_loss_cache, label_error
from nnc.backend._checks import check_class_ids, check_class_target, check_loss_pair, check_number
from nnc.backend.caches import LossCache
from ._blas cimport floating

cdef extern from "losses.h":
    ctypedef enum nnc_elem_loss_kind:
        NNC_LOSS_MSE, NNC_LOSS_MAE, NNC_LOSS_HUBER, NNC_LOSS_BCE, NNC_LOSS_BCE_LOGITS, NNC_LOSS_CCE, NNC_LOSS_KL
    ctypedef enum nnc_label_loss_kind:
        NNC_LABEL_CCE, NNC_LABEL_HINGE_WW, NNC_LABEL_HINGE_OVA
    double nnc_elem_loss_forward_f32(int kind, const float *y, const float *t, int N, Py_ssize_t M, double param,
                                     double *rowloss, int nthreads) noexcept nogil
    double nnc_elem_loss_forward_f64(int kind, const double *y, const double *t, int N, Py_ssize_t M, double param,
                                     double *rowloss, int nthreads) noexcept nogil
    void nnc_elem_loss_backward_f32(int kind, const float *y, const float *t, Py_ssize_t n, double param,
                                    double scale, float *dy, int nthreads) noexcept nogil
    void nnc_elem_loss_backward_f64(int kind, const double *y, const double *t, Py_ssize_t n, double param,
                                    double scale, double *dy, int nthreads) noexcept nogil
    double nnc_label_loss_forward_f32(int kind, const float *s, const int64_t *labels, int N, int K, double param,
                                      double *rowloss, int nthreads) noexcept nogil
    double nnc_label_loss_forward_f64(int kind, const double *s, const int64_t *labels, int N, int K, double param,
                                      double *rowloss, int nthreads) noexcept nogil
    Py_ssize_t nnc_label_loss_backward_f32(int kind, const float *s, const int64_t *labels, int N, int K,
                                           double param, double scale, float *ds, int nthreads) noexcept nogil
    Py_ssize_t nnc_label_loss_backward_f64(int kind, const double *s, const int64_t *labels, int N, int K,
                                           double param, double scale, double *ds, int nthreads) noexcept nogil
    double nnc_softmax_ce_forward_f32(const float *z, const float *t, const int64_t *labels, int N, int K,
                                      float *prob, double *rowloss, int nthreads) noexcept nogil
    double nnc_softmax_ce_forward_f64(const double *z, const double *t, const int64_t *labels, int N, int K,
                                      double *prob, double *rowloss, int nthreads) noexcept nogil
    Py_ssize_t nnc_softmax_ce_backward_f32(const float *prob, const float *t, const int64_t *labels, int N, int K,
                                           double scale, float *dz, int nthreads) noexcept nogil
    Py_ssize_t nnc_softmax_ce_backward_f64(const double *prob, const double *t, const int64_t *labels, int N, int K,
                                           double scale, double *dz, int nthreads) noexcept nogil

EPSILON = 1e-7

__all__ = [f"{name}_{d}" for name in ("mse", "mae", "huber", "binary_crossentropy", "binary_crossentropy_with_logits",
                                        "softmax_cross_entropy", "categorical_crossentropy", "multiclass_hinge",
                                        "ova_hinge", "kl_divergence")
           for d in ("forward", "backward")]

# Elementwise losses: name -> (C kind, mean over all elements (True) or sum per sample (False)).
_ELEM = {"mse": (NNC_LOSS_MSE, True), "mae": (NNC_LOSS_MAE, True), "huber": (NNC_LOSS_HUBER, True),
         "binary_crossentropy": (NNC_LOSS_BCE, True),
         "binary_crossentropy_with_logits": (NNC_LOSS_BCE_LOGITS, True),
         "categorical_crossentropy": (NNC_LOSS_CCE, False), "kl_divergence": (NNC_LOSS_KL, False)}
_LABEL = {"categorical_crossentropy": NNC_LABEL_CCE, "multiclass_hinge": NNC_LABEL_HINGE_WW,
          "ova_hinge": NNC_LABEL_HINGE_OVA}
_NO_LABELS = np.zeros(1, np.int64)


# ---- typed entry points --------------------------------------------------------------------------

def _elem_forward(int kind, const floating[:, ::1] y, const floating[:, ::1] t, double param,
                  double[::1] rowloss, int nthreads):
    cdef double total
    with nogil:
        if floating is float:
            total = nnc_elem_loss_forward_f32(kind, &y[0, 0], &t[0, 0], y.shape[0], y.shape[1], param,
                                              &rowloss[0], nthreads)
        else:
            total = nnc_elem_loss_forward_f64(kind, &y[0, 0], &t[0, 0], y.shape[0], y.shape[1], param,
                                              &rowloss[0], nthreads)
    return total


def _elem_backward(int kind, const floating[::1] y, const floating[::1] t, double param, double scale,
                   floating[::1] dy, int nthreads):
    with nogil:
        if floating is float:
            nnc_elem_loss_backward_f32(kind, &y[0], &t[0], y.shape[0], param, scale, &dy[0], nthreads)
        else:
            nnc_elem_loss_backward_f64(kind, &y[0], &t[0], y.shape[0], param, scale, &dy[0], nthreads)


def _label_forward(int kind, const floating[:, ::1] s, const int64_t[::1] labels, double param,
                   double[::1] rowloss, int nthreads):
    cdef double total
    with nogil:
        if floating is float:
            total = nnc_label_loss_forward_f32(kind, &s[0, 0], &labels[0], s.shape[0], s.shape[1], param,
                                               &rowloss[0], nthreads)
        else:
            total = nnc_label_loss_forward_f64(kind, &s[0, 0], &labels[0], s.shape[0], s.shape[1], param,
                                               &rowloss[0], nthreads)
    return total


def _label_backward(int kind, const floating[:, ::1] s, const int64_t[::1] labels, double param, double scale,
                    floating[:, ::1] ds, int nthreads):
    """-> the number of labels outside [0, K) (the kernel checks them as it reads them)."""
    cdef Py_ssize_t bad
    with nogil:
        if floating is float:
            bad = nnc_label_loss_backward_f32(kind, &s[0, 0], &labels[0], s.shape[0], s.shape[1], param, scale,
                                              &ds[0, 0], nthreads)
        else:
            bad = nnc_label_loss_backward_f64(kind, &s[0, 0], &labels[0], s.shape[0], s.shape[1], param, scale,
                                              &ds[0, 0], nthreads)
    return bad


def _softmax_ce_forward(const floating[:, ::1] z, const floating[:, ::1] t, const int64_t[::1] labels,
                        bint use_labels, floating[:, ::1] prob, double[::1] rowloss, int nthreads):
    cdef double total
    cdef const int64_t *lab = NULL   # exactly one of lab, tp is set: class ids or target rows
    cdef const floating *tp = NULL
    if use_labels:
        lab = &labels[0]
    else:
        tp = &t[0, 0]
    with nogil:
        if floating is float:
            total = nnc_softmax_ce_forward_f32(&z[0, 0], tp, lab, z.shape[0], z.shape[1], &prob[0, 0],
                                               &rowloss[0], nthreads)
        else:
            total = nnc_softmax_ce_forward_f64(&z[0, 0], tp, lab, z.shape[0], z.shape[1], &prob[0, 0],
                                               &rowloss[0], nthreads)
    return total


def _softmax_ce_backward(const floating[:, ::1] prob, const floating[:, ::1] t, const int64_t[::1] labels,
                         bint use_labels, double scale, floating[:, ::1] dz, int nthreads):
    """-> the number of labels outside [0, K) (checked as read, as in _label_backward)."""
    cdef const int64_t *lab = NULL   # exactly one of lab, tp is set: class ids or target rows
    cdef const floating *tp = NULL
    cdef Py_ssize_t bad
    if use_labels:
        lab = &labels[0]
    else:
        tp = &t[0, 0]
    with nogil:
        if floating is float:
            bad = nnc_softmax_ce_backward_f32(&prob[0, 0], tp, lab, prob.shape[0], prob.shape[1], scale,
                                              &dz[0, 0], nthreads)
        else:
            bad = nnc_softmax_ce_backward_f64(&prob[0, 0], tp, lab, prob.shape[0], prob.shape[1], scale,
                                              &dz[0, 0], nthreads)
    return bad


# ---- shared plumbing ---------------------------------------------------------------------------

def _denominator(name, output):
    """What the summed loss is divided by: N*M for the elementwise means, N for per-sample sums."""
    mean_all = _ELEM[name][1] if name in _ELEM else False
    return output.size if mean_all else output.shape[0]


def _elem_loss(name, output, target, param=0.0):
    """Forward of an elementwise loss on matching (N, ...) arrays."""
    N = output.shape[0]
    rowloss = np.empty(N, np.float64)
    total = _elem_forward(_ELEM[name][0], output.reshape(N, -1), target.reshape(N, -1), param, rowloss,
                          get_num_threads())
    return total / _denominator(name, output), LossCache(name, output, target, None, param)


def _elem_grad(name, cache):
    y, t, param = check_elem_loss_cache(f"{name}_backward", cache, name)
    dy = np.empty_like(y)
    _elem_backward(_ELEM[name][0], y.reshape(-1), t.reshape(-1), param, 1.0 / _denominator(name, y),
                   dy.reshape(-1), get_num_threads())
    return dy


def _label_loss(name, output, labels, param=0.0):
    rowloss = np.empty(output.shape[0], np.float64)
    total = _label_forward(_LABEL[name], output, labels, param, rowloss, get_num_threads())
    return total / output.shape[0], LossCache(name, output, labels, None, param)


def _label_grad(name, cache):
    fn = f"{name}_backward"
    s, labels, _, param = check_class_loss_cache(fn, cache, name, ids_only=True)
    ds = np.empty_like(s)
    if _label_backward(_LABEL[name], s, labels, param, 1.0 / s.shape[0], ds, get_num_threads()):
        raise label_error(fn, s.shape[1])
    return ds


# ---- regression losses ---------------------------------------------------------------------------

def mse_forward(output, target):
    """L = mean over all elements of (output - target)**2.  output, target: (N, ...) same shape."""
    check_loss_pair("mse_forward", output, target)
    return _elem_loss("mse", output, target)


def mse_backward(cache):
    """dL/doutput = 2 (output - target) / (N*M)."""
    return _elem_grad("mse", cache)


def mae_forward(output, target):
    """L = mean over all elements of |output - target|."""
    check_loss_pair("mae_forward", output, target)
    return _elem_loss("mae", output, target)


def mae_backward(cache):
    """dL/doutput = sign(output - target) / (N*M), 0 where they are equal."""
    return _elem_grad("mae", cache)


def huber_forward(output, target, delta=1.0):
    """L = mean of r**2/2 where |r| <= delta else delta (|r| - delta/2),  r = output - target, delta > 0."""
    delta = check_number("huber_forward", "delta", delta, minimum=0, strict=True)
    check_loss_pair("huber_forward", output, target)
    return _elem_loss("huber", output, target, delta)


def huber_backward(cache):
    """dL/doutput = clip(r, -delta, delta) / (N*M)."""
    return _elem_grad("huber", cache)


# ---- binary classification -----------------------------------------------------------------------

def binary_crossentropy_forward(output, target):
    """L = mean of -(t log p + (1 - t) log(1 - p)),  p = clip(output, 1e-7, 1 - 1e-7) probabilities."""
    check_loss_pair("binary_crossentropy_forward", output, target)
    return _elem_loss("binary_crossentropy", output, target, EPSILON)


def binary_crossentropy_backward(cache):
    """dL/dp = (p - t) / (p (1 - p)) / (N*M) inside the clip range, 0 outside."""
    return _elem_grad("binary_crossentropy", cache)


def binary_crossentropy_with_logits_forward(output, target):
    """L = mean of max(z, 0) - z t + log(1 + exp(-|z|)),  z = output logits (BCE of sigmoid(z), stable)."""
    check_loss_pair("binary_crossentropy_with_logits_forward", output, target)
    return _elem_loss("binary_crossentropy_with_logits", output, target)


def binary_crossentropy_with_logits_backward(cache):
    """dL/dz = (sigmoid(z) - t) / (N*M)."""
    return _elem_grad("binary_crossentropy_with_logits", cache)


# ---- multiclass classification -------------------------------------------------------------------

def softmax_cross_entropy_forward(output, target):
    """Fused softmax + cross-entropy on logits.  output: (N, K) logits; target: class ids (N,)
    (any integer dtype) or rows (N, K) (one-hot or probabilities).
    L = 1/N sum_n sum_k t_nk (logsumexp(z_n) - z_nk), stable for any logits (the row max is
    subtracted first). The cache keeps softmax(z) for the backward pass."""
    target = check_class_target("softmax_cross_entropy_forward", output, target)
    use_labels = target.ndim == 1
    N = output.shape[0]
    prob = np.empty_like(output)
    rowloss = np.empty(N, np.float64)
    total = _softmax_ce_forward(output, output if use_labels else target, target if use_labels else _NO_LABELS,
                                use_labels, prob, rowloss, get_num_threads())
    return total / N, LossCache("softmax_cross_entropy", output, target, prob, 0.0)


def softmax_cross_entropy_backward(cache):
    """dL/dz = (softmax(z) * sum_k t_k - t) / N, i.e. (softmax(z) - onehot) / N for class ids."""
    fn = "softmax_cross_entropy_backward"
    _, target, prob, _ = check_class_loss_cache(fn, cache, "softmax_cross_entropy", aux=True)
    use_labels = target.ndim == 1
    dz = np.empty_like(prob)
    if _softmax_ce_backward(prob, prob if use_labels else target, target if use_labels else _NO_LABELS,
                            use_labels, 1.0 / prob.shape[0], dz, get_num_threads()):
        raise label_error(fn, prob.shape[1])
    return dz


def categorical_crossentropy_forward(output, target):
    """L = 1/N sum_n -sum_k t_nk log p_nk on probabilities output (N, K), p clipped to
    [1e-7, 1 - 1e-7]; target: rows (N, K) or class ids (N,)."""
    target = check_class_target("categorical_crossentropy_forward", output, target)
    if target.ndim == 1:
        return _label_loss("categorical_crossentropy", output, target, EPSILON)
    return _elem_loss("categorical_crossentropy", output, target, EPSILON)


def categorical_crossentropy_backward(cache):
    """dL/dp = -t / p / N inside the clip range, 0 outside."""
    check_loss_cache("categorical_crossentropy_backward", cache, "categorical_crossentropy")
    if isinstance(cache.target, np.ndarray) and cache.target.ndim == 1:   # class ids
        return _label_grad("categorical_crossentropy", cache)
    return _elem_grad("categorical_crossentropy", cache)


def multiclass_hinge_forward(output, target, delta=1.0):
    """Weston-Watkins (CS231n SVM) loss: L = 1/N sum_n sum_{j != y_n} max(0, s_nj - s_ny + delta).
    output: scores (N, K); target: class ids (N,); delta > 0."""
    delta = check_number("multiclass_hinge_forward", "delta", delta, minimum=0, strict=True)
    target = check_class_ids("multiclass_hinge_forward", output, target)
    return _label_loss("multiclass_hinge", output, target, delta)


def multiclass_hinge_backward(cache):
    """dL/ds_j = 1/N for each j != y with a positive margin; dL/ds_y = -(their count)/N."""
    return _label_grad("multiclass_hinge", cache)


def ova_hinge_forward(output, target):
    """One-vs-all hinge: L = 1/N sum_n sum_j max(0, 1 - t_nj s_nj), t_nj = +1 if j == y_n else -1.
    output: scores (N, K); target: class ids (N,)."""
    target = check_class_ids("ova_hinge_forward", output, target)
    return _label_loss("ova_hinge", output, target)


def ova_hinge_backward(cache):
    """dL/ds_j = -t_j / N where the margin 1 - t_j s_j is positive, else 0."""
    return _label_grad("ova_hinge", cache)


def kl_divergence_forward(output, target):
    """L = 1/N sum_n sum_k t log(t / p),  t = clip(target, 1e-7, 1), p = clip(output, 1e-7, 1).
    output: predicted distributions (N, ...); target: true distributions, same shape."""
    check_loss_pair("kl_divergence_forward", output, target)
    return _elem_loss("kl_divergence", output, target, EPSILON)


def kl_divergence_backward(cache):
    """dL/dp = -t / p / N inside the clip range, 0 outside."""
    return _elem_grad("kl_divergence", cache)


include "_build.pxi"
