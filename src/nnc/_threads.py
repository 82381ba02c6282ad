"""The thread count every native kernel passes to OpenMP as `num_threads(n)`: the state behind
nnc.set_num_threads / nnc.threads (nnc/config.py), on the ground floor so the kernels can read it
without importing anything above them.

    get_num_threads()  the count in this Python thread: `with nnc.threads(n):` if inside one, else the
                       process-wide nnc.set_num_threads(n), else the OpenMP runtime's default
"""
import threading


class _PerThread(threading.local):
    n = None   # the count inside `with nnc.threads(n):` in this Python thread (a class default: no
               # AttributeError to catch on every kernel call, which getattr(local, "n", None) would cost)


local = _PerThread()
process = None            # nnc.set_num_threads(n), resolved; None: not set
_default = lambda: 1      # noqa: E731  the OpenMP runtime's default, once the native backend registers it
# Whether idle OpenMP threads spin (set by nnc.config.set_openmp_wait_policy at import): a kernel whose second
# thread pays only when it is awake already (the dense backward's GEMM pair) reads it.
spinning = False


def set_default(fn):
    """Called by the native backend at import when all its modules have OpenMP: fn() -> the runtime's
    current default (omp_get_max_threads), read on every call (see get_num_threads)."""
    global _default
    _default = fn


def get_num_threads():
    """Threads the native kernels use in this Python thread: the OpenMP team size (their BLAS stays at one).

    Without nnc.set_num_threads or nnc.threads, this is the OpenMP runtime's default, read on every call
    rather than once: a worker process started with OMP_NUM_THREADS=k (joblib's loky workers, Dask's
    nannies) gets k, and threadpoolctl's `threadpool_limits(1)` (what joblib and scikit-learn use to share
    the cores among workers) lowers it with omp_set_num_threads for as long as the block lasts."""
    n = local.n
    if n is not None:
        return n
    if process is not None:
        return process
    return _default()
