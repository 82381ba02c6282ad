# distutils: sources = csrc/update.c
"""In-place parameter updates, native: y += alpha * x in one pass, no temporary.

Optimizers call this for their hot update (`param -= lr * grad` in NumPy allocates a temporary the
size of the parameter and reads memory twice; for an MLP step that was about 15% of the time).
The loop is C (csrc/update.c), compiled per CPU: as a Cython prange it ran at SSE2 width with an
overlap test, 7% of an MLP step.
Same names, arguments and results as nnc/backend/reference/update.py."""
import numpy as np

from nnc._config import get_num_threads
from nnc.backend._checks import check_axpy

from ._blas cimport floating

cdef extern from "update.h":
    void nnc_axpy_f32(Py_ssize_t n, double alpha, const float *x, float *y, int nthreads) noexcept nogil
    void nnc_axpy_f64(Py_ssize_t n, double alpha, const double *x, double *y, int nthreads) noexcept nogil

__all__ = ["axpy"]


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


include "_build.pxi"
