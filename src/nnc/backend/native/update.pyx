# distutils: sources = csrc/update.c
# distutils: extra_compile_args = -ffp-contract=off -fno-math-errno
"""In-place parameter updates, native: each optimizer rule in one C pass over the parameters, their
gradients and the rule's state, with no temporary arrays (csrc/update.h gives the equations).

Why: the same rules in NumPy allocate and traverse several temporaries the size of the parameter per
step (Adam about eight), which costs more than the arithmetic. The loops run the reference's operations
in the reference's order without fused multiply-adds, so both backends give the same bits.
Same names, arguments and results as nnc/backend/reference/update.py."""
import numpy as np

from nnc._threads import get_num_threads
from nnc.backend._checks import check_axpy, check_update

from ._blas cimport floating

cdef extern from "update.h":
    ctypedef enum nnc_rule:
        NNC_RULE_MOMENTUM, NNC_RULE_ADAM, NNC_RULE_RMSPROP, NNC_RULE_ADAGRAD, NNC_RULE_ADADELTA
    ctypedef struct nnc_hyper:
        double alpha, lr, mu, beta_1, beta_2, c1, c2, decay, rho, eps
        int nesterov, decoupled
    void nnc_axpy_f32(Py_ssize_t n, double alpha, const float *x, float *y, int nthreads) noexcept nogil
    void nnc_axpy_f64(Py_ssize_t n, double alpha, const double *x, double *y, int nthreads) noexcept nogil
    void nnc_opt_step_f32(nnc_rule rule, const nnc_hyper *h, Py_ssize_t n, const float *g, float *theta,
                          float *s1, float *s2, int nthreads) noexcept nogil
    void nnc_opt_step_f64(nnc_rule rule, const nnc_hyper *h, Py_ssize_t n, const double *g, double *theta,
                          double *s1, double *s2, int nthreads) noexcept nogil

__all__ = ["axpy", "sgd_momentum_update", "adam_update", "rmsprop_update", "adagrad_update", "adadelta_update"]


def _axpy(double alpha, const floating[::1] x, floating[::1] y, int nthreads):
    with nogil:
        if floating is float:
            nnc_axpy_f32(x.shape[0], alpha, &x[0], &y[0], nthreads)
        else:
            nnc_axpy_f64(x.shape[0], alpha, &x[0], &y[0], nthreads)


def axpy(alpha, x, y):
    """y += alpha * x, in place (y is returned).  x, y: same shape and dtype, C-contiguous; y writable."""
    check_axpy("axpy", alpha, x, y)
    if np.may_share_memory(x, y):   # the C loop assumes no overlap (restrict): read x before y changes
        x = x.copy()
    _axpy(float(alpha), x.reshape(-1), y.reshape(-1), get_num_threads())
    return y


cdef class _Step:
    """One rule and its hyperparameters (nnc_hyper, csrc/update.h), handed to _run."""
    cdef nnc_rule rule
    cdef nnc_hyper h

    def __init__(self, int rule, double lr, double mu=0, bint nesterov=False, double beta_1=0, double beta_2=0,
                 long t=1, double weight_decay=0, double rho=0, double eps=0):
        self.rule = <nnc_rule> rule
        self.h.lr, self.h.mu, self.h.nesterov = lr, mu, nesterov
        self.h.beta_1, self.h.beta_2 = beta_1, beta_2
        self.h.c1, self.h.c2 = 1 - beta_1 ** t, 1 - beta_2 ** t
        self.h.decoupled = weight_decay != 0
        self.h.decay = 1 - lr * weight_decay
        self.h.rho, self.h.eps = rho, eps


def _run(_Step step, const floating[::1] g, floating[::1] theta, floating[::1] s1, floating[::1] s2, int nthreads):
    if g.shape[0] == 0:     # an empty parameter: nothing to update (and no element to point at)
        return
    cdef floating *s2_p = NULL if s2 is None else &s2[0]
    with nogil:
        if floating is float:
            nnc_opt_step_f32(step.rule, &step.h, g.shape[0], &g[0], &theta[0], &s1[0], s2_p, nthreads)
        else:
            nnc_opt_step_f64(step.rule, &step.h, g.shape[0], &g[0], &theta[0], &s1[0], s2_p, nthreads)


def sgd_momentum_update(param, grad, velocity, lr, momentum, nesterov=False):
    """SGD with momentum (Nesterov's with nesterov=True), in place; returns param. The equations:
    nnc/backend/reference/update.py."""
    grad = check_update("sgd_momentum_update", param, grad, {"velocity": velocity}, lr=lr, momentum=momentum)
    _run(_Step(NNC_RULE_MOMENTUM, lr, mu=momentum, nesterov=nesterov), grad.reshape(-1), param.reshape(-1),
         velocity.reshape(-1), None, get_num_threads())
    return param


def adam_update(param, grad, m, v, lr, beta_1, beta_2, epsilon, t, weight_decay=0.0):
    """Adam's step t, in place (AdamW's decay first when weight_decay > 0); returns param. The equations:
    nnc/backend/reference/update.py."""
    grad = check_update("adam_update", param, grad, {"m": m, "v": v}, lr=lr, beta_1=beta_1, beta_2=beta_2,
                        epsilon=epsilon, t=t, weight_decay=weight_decay)
    _run(_Step(NNC_RULE_ADAM, lr, beta_1=beta_1, beta_2=beta_2, t=t, weight_decay=weight_decay, eps=epsilon),
         grad.reshape(-1), param.reshape(-1), m.reshape(-1), v.reshape(-1), get_num_threads())
    return param


def rmsprop_update(param, grad, mean_square, lr, rho, epsilon):
    """RMSprop, in place; returns param. The equations: nnc/backend/reference/update.py."""
    grad = check_update("rmsprop_update", param, grad, {"mean_square": mean_square}, lr=lr, rho=rho,
                        epsilon=epsilon)
    _run(_Step(NNC_RULE_RMSPROP, lr, rho=rho, eps=epsilon), grad.reshape(-1), param.reshape(-1),
         mean_square.reshape(-1), None, get_num_threads())
    return param


def adagrad_update(param, grad, accumulator, lr, epsilon):
    """AdaGrad, in place; returns param. The equations: nnc/backend/reference/update.py."""
    grad = check_update("adagrad_update", param, grad, {"accumulator": accumulator}, lr=lr, epsilon=epsilon)
    _run(_Step(NNC_RULE_ADAGRAD, lr, eps=epsilon), grad.reshape(-1), param.reshape(-1), accumulator.reshape(-1),
         None, get_num_threads())
    return param


def adadelta_update(param, grad, mean_square_grad, mean_square_delta, lr, rho, epsilon):
    """AdaDelta, in place; returns param. The equations: nnc/backend/reference/update.py."""
    grad = check_update("adadelta_update", param, grad, {"mean_square_grad": mean_square_grad,
                        "mean_square_delta": mean_square_delta}, lr=lr, rho=rho, epsilon=epsilon)
    _run(_Step(NNC_RULE_ADADELTA, lr, rho=rho, eps=epsilon), grad.reshape(-1), param.reshape(-1),
         mean_square_grad.reshape(-1), mean_square_delta.reshape(-1), get_num_threads())
    return param


include "_build.pxi"
