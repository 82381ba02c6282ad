"""Thread settings shared by the OpenMP kernels and the BLAS pool, and `show_config()`.

One number, `get_num_threads()`, is what every native kernel passes to OpenMP as `num_threads(n)`.
There is one thread pool: the BLAS behind the native kernels (scipy's OpenBLAS, reached through
cython_blas) is pinned to one thread and nnc splits its GEMMs over OpenMP threads itself, so BLAS
threads and OpenMP threads never compete for the cores. `set_num_threads(n)` also caps numpy's BLAS
(used by reference mode) at n, through threadpoolctl. The library never calls omp_set_num_threads:
the count travels as an argument (the way scikit-learn does it).
"""
import contextlib
import os

_num_threads = None  # None: not set by the user, use the OpenMP default (honours OMP_NUM_THREADS)
_blas_controller = None


def _openmp_module():
    try:
        from .backend.native import _openmp
    except ImportError:
        return None
    return _openmp


def openmp_enabled():
    """True when the native backend was built with OpenMP."""
    mod = _openmp_module()
    return bool(mod is not None and mod.openmp_enabled())


def cpu_count():
    """Cores this process may run on (the affinity mask, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _resolve(n):
    """Like scikit-learn's _openmp_effective_n_threads: None -> default, -1 -> all cores,
    -2 -> all but one, ..., 0 -> error; always 1 when built without OpenMP."""
    if n is None:
        mod = _openmp_module()
        n = mod.max_threads() if mod is not None else 1
    elif isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"number of threads must be an int or None, got {n!r}")
    elif n == 0:
        raise ValueError("number of threads must not be 0 (use -1 for all cores)")
    elif n < 0:
        n = max(1, cpu_count() + 1 + n)
    return n if openmp_enabled() else 1


_default_threads = None


def get_num_threads():
    """Threads the native kernels use: the OpenMP team size (their BLAS stays at one thread)."""
    global _default_threads
    if _num_threads is not None:
        return _num_threads
    if _default_threads is None:  # asked on every kernel call: resolve once
        _default_threads = _resolve(None)
    return _default_threads


def _blas():
    global _blas_controller
    if _blas_controller is None:
        import scipy.linalg.cython_blas  # noqa: F401  make sure scipy's OpenBLAS is loaded and seen
        from threadpoolctl import ThreadpoolController
        _blas_controller = ThreadpoolController()
    return _blas_controller


def _blas_libs():
    """(native, others): the BLAS that the native kernels call (scipy's, through cython_blas) and the
    rest (numpy's, used by reference mode and user code)."""
    import scipy
    root = os.path.dirname(os.path.abspath(scipy.__file__))  # also a prefix of the sibling "scipy.libs"
    libs = [lib for lib in _blas().lib_controllers if lib.user_api == "blas"]
    native = [lib for lib in libs if os.path.abspath(lib.filepath).startswith(root)]
    if not native:  # one system BLAS shared by numpy and scipy: it serves both
        native = libs
    return native, [lib for lib in libs if lib not in native]


def pin_native_blas():
    """Run the BLAS behind the native kernels on one thread: nnc threads its GEMMs itself with
    OpenMP (see gemm_threads in nnc/backend/native/_blas.pyx), and a second, busy-waiting pthread
    pool beside the OpenMP team made 2-core training steps several times slower."""
    for lib in _blas_libs()[0]:
        lib.set_num_threads(1)


# glibc's malloc returns memory to the kernel as soon as the free space at the top of the heap passes
# M_TRIM_THRESHOLD (128 KiB by default, growing with use), and the next large array has to fault every
# page in again: a LeNet-5 step at batch 128 took ~970 minor faults, 1.5 of its 6 ms (2-core VM). Keeping
# up to 64 MiB of freed memory for reuse, and serving arrays up to 32 MiB from the heap, removes them
# (step 6.0 -> 5.0 ms), at the cost of the process keeping that much freed memory (PyTorch's caching
# allocator keeps far more). NNC_MALLOC=system leaves the allocator as it is.
_MALLOC_TUNING = {"M_TRIM_THRESHOLD": (-1, 64 << 20), "M_MMAP_THRESHOLD": (-3, 32 << 20)}
_malloc_tuned = False


def tune_malloc():
    """Apply the glibc settings above (Linux with glibc only); returns whether they were applied.
    Called once when nnc is imported."""
    global _malloc_tuned
    if _malloc_tuned or os.environ.get("NNC_MALLOC", "").lower() == "system":
        return _malloc_tuned
    import ctypes
    import sys
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt     # glibc; musl's is a stub that returns 0
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    _malloc_tuned = all([mallopt(param, value) == 1 for param, value in _MALLOC_TUNING.values()])
    return _malloc_tuned


def set_num_threads(n):
    """Use n threads in the native kernels (OpenMP) and in numpy's BLAS (None: default, -1: all cores)."""
    global _num_threads
    # numpy's BLAS is capped at the same count even without OpenMP: BLAS has its own threads.
    blas_n = _resolve(n) if openmp_enabled() else (cpu_count() if n in (None, -1) else max(1, n))
    _num_threads = None if n is None else _resolve(n)
    for lib in _blas_libs()[1]:
        lib.set_num_threads(blas_n)


@contextlib.contextmanager
def threads(n):
    """`with nnc.threads(2): ...` runs the block with n threads, then restores the previous setting."""
    global _num_threads
    previous = _num_threads
    previous_blas = [(lib, lib.num_threads) for lib in _blas_libs()[1]]
    set_num_threads(n)
    try:
        yield get_num_threads()
    finally:
        _num_threads = previous
        for lib, count in previous_blas:
            lib.set_num_threads(count)


def blas_info():
    """One dict per BLAS library loaded in the process (numpy's and scipy's may differ)."""
    return [{"api": lib.internal_api, "version": lib.version, "threads": lib.num_threads,
             "library": os.path.basename(lib.filepath), "arch": getattr(lib, "architecture", None)}
            for lib in _blas().lib_controllers if lib.user_api == "blas"]


def config():
    """Build and runtime facts as a dict (what show_config prints; benchmarks store it)."""
    import numpy
    import scipy
    from . import __version__, backend
    return {
        "nnc": __version__, "numpy": numpy.__version__, "scipy": scipy.__version__,
        "backend": backend.name(), "native_built": backend.native_available(),
        "openmp": openmp_enabled(), "num_threads": get_num_threads(), "cpu_count": cpu_count(),
        "blas": blas_info(), "malloc_tuned": _malloc_tuned,
    }


def show_config(file=None):
    """Print version, active backend, OpenMP on/off, thread counts and the BLAS libraries in use."""
    cfg = config()
    lines = [f"nnc {cfg['nnc']}  (numpy {cfg['numpy']}, scipy {cfg['scipy']})",
             f"backend:      {cfg['backend']}" + ("" if cfg["native_built"] else "  (native extension not built)"),
             f"OpenMP:       {'yes' if cfg['openmp'] else 'no (serial build)'}",
             f"threads:      {cfg['num_threads']} of {cfg['cpu_count']} cores",
             "malloc:       " + ("glibc tuned to keep freed memory for reuse (NNC_MALLOC=system to opt out)"
                                 if cfg["malloc_tuned"] else "as the system set it")]
    for lib in cfg["blas"]:
        lines.append(f"BLAS:         {lib['api']} {lib['version']} ({lib['library']}), "
                     f"{lib['threads']} threads, arch {lib['arch']}")
    print("\n".join(lines), file=file)
