"""In-place parameter updates, native: y += alpha * x in one pass, no temporary.

Optimizers call this for their hot update (`param -= lr * grad` in NumPy allocates a temporary the
size of the parameter and reads memory twice; for an MLP step that was about 15% of the time).
Same names, arguments and results as nnc/backend/reference/update.py."""
from cython.parallel cimport prange

from nnc._config import get_num_threads
from nnc.backend._checks import check_axpy

from ._blas cimport floating

__all__ = ["axpy"]

cdef enum:
    OMP_MIN = 32768   # below this many elements one thread is faster than waking a team


def _axpy(double alpha, const floating[::1] x, floating[::1] y, int nthreads):
    cdef Py_ssize_t i, n = x.shape[0]
    cdef floating a = <floating> alpha
    if nthreads > 1 and n > OMP_MIN:
        for i in prange(n, nogil=True, num_threads=nthreads, schedule="static"):
            y[i] += a * x[i]
    else:
        with nogil:
            for i in range(n):
                y[i] += a * x[i]


def axpy(alpha, x, y):
    """y += alpha * x, in place (y is returned).  x, y: same shape and dtype, C-contiguous; y writable."""
    check_axpy("axpy", alpha, x, y)
    _axpy(float(alpha), x.reshape(-1), y.reshape(-1), get_num_threads())
    return y
