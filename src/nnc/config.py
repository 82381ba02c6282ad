"""Thread settings shared by the OpenMP kernels and the BLAS pool, and `show_config()`.

One number, `get_num_threads()`, is what every native kernel passes to OpenMP as `num_threads(n)`.
There is one thread pool: the BLAS behind the native kernels (scipy's OpenBLAS, reached through
cython_blas) is pinned to one thread and nnc splits its GEMMs over OpenMP threads itself, so BLAS
threads and OpenMP threads never compete for the cores. `set_num_threads(n)` also caps numpy's BLAS
(used by reference mode) at n, through threadpoolctl. The library never calls omp_set_num_threads:
the count travels as an argument (the way scikit-learn does it).

`set_num_threads` sets the process-wide count; `with nnc.threads(n):` overrides it for the calling
Python thread only, so two threads may each run their own setting (numpy's BLAS cap, a property of the
process, is the one thing the block changes for everyone).

What `import nnc` changes in the process, why, and the switch that leaves each alone (show_config()
prints all three):

    OMP_WAIT_POLICY=PASSIVE   for nnc's OpenMP runtime when the user set no wait policy (in the environment
                              while the runtime loads, then taken out): idle OpenMP threads sleep instead
                              of spinning, so a busy machine does not make 2 threads slower than 1.
                                                                                   NNC_OMP_WAIT=default
    scipy's OpenBLAS          pinned to one thread: the native kernels split their GEMMs over OpenMP
                              threads themselves (one thread pool, never two).     NNC_PIN_BLAS=0
    glibc's malloc            keeps up to 64 MiB of freed memory for reuse instead of returning it to the
                              kernel (page faults were a quarter of a LeNet-5 step). NNC_MALLOC=system
numpy's BLAS is left alone until nnc.set_num_threads or nnc.threads is called.
"""
import contextlib
import os
import threading
import warnings

from . import _threads
from ._threads import get_num_threads

_blas_controller = None
_blas_lock = threading.RLock()   # threads() blocks in several Python threads change numpy's BLAS cap in turn


# OpenMP threads that finish a parallel region spin, waiting for the next one (libgomp for 300,000 turns,
# LLVM's libomp for 200 ms). On a quiet machine that saves a wake-up per region; on a machine where any other
# process is busy it is a disaster: the spinning thread holds the core the descheduled one needs, and 2
# threads ran slower than 1. Passive waiting (sleep at once) keeps 2 threads near 1 thread's time beside a
# busy process; on a quiet machine each wake-up costs tens of microseconds, which is why the kernels keep
# small work on one thread (NNC_OMP_MIN, GEMM_THREADS_MIN_MACS). benchmarks/contention.py measures the
# policies (figures in benchmarks/README.md). It must be in the
# environment before the OpenMP runtime loads, so nnc sets it on import, only where the user set none;
# NNC_OMP_WAIT=default opts out. The runtime reads it once, as it loads; nnc then takes it out again
# (restore_environment), so that it reaches neither another OpenMP runtime loaded later in the process
# (PyTorch's own libgomp: its MLP step at 2 threads went from 1.4 to 2.6 ms) nor a child process.
_WAIT_POLICY = {"OMP_WAIT_POLICY": "PASSIVE"}
_USER_WAIT_VARS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")
_wait_policy = "not set"
_wait_env_set = False


def _openmp_runtime_loaded():
    try:
        with open("/proc/self/maps") as f:
            return any(name in line for line in f for name in ("libgomp", "libomp", "libiomp"))
    except OSError:
        return False


def _spin_amount(value):
    """GOMP_SPINCOUNT ("10k", "2M", "infinite") or KMP_BLOCKTIME ("200", "0ms", "infinite") as a number, inf for
    infinite; None for what the runtimes would not read."""
    v = value.strip().lower()
    if v in ("infinite", "infinity"):
        return float("inf")
    for suffix, scale in (("ms", 1), ("us", 1e-3), ("k", 1e3), ("m", 1e6), ("g", 1e9), ("t", 1e12)):
        if v.endswith(suffix):
            v, factor = v[:-len(suffix)].strip(), scale
            break
    else:
        factor = 1
    try:
        return float(v) * factor
    except ValueError:
        return None


def _spins(env):
    """Whether idle OpenMP threads spin under the wait variables in env. A spin count or block time given
    beats the policy in both runtimes (libgomp's GOMP_SPINCOUNT, LLVM's KMP_BLOCKTIME); then OMP_WAIT_POLICY;
    the runtimes' default is to spin."""
    for name in ("GOMP_SPINCOUNT", "KMP_BLOCKTIME"):
        amount = _spin_amount(env.get(name, ""))
        if amount is not None:
            return amount > 0
    policy = env.get("OMP_WAIT_POLICY", "").strip().lower()
    if policy in ("passive", "active"):
        return policy == "active"
    return True


def set_openmp_wait_policy():
    """Put nnc's passive OpenMP wait in the environment (see above); returns what is in effect, as a phrase,
    and records in _threads.spinning whether idle threads spin. Called once by `import nnc`, before the
    native modules (and so the OpenMP runtime) load."""
    global _wait_policy
    _threads.spinning = _spins(os.environ)
    user = {k: os.environ[k] for k in _USER_WAIT_VARS if k in os.environ}
    if os.environ.get("NNC_OMP_WAIT", "").lower() == "default":
        _wait_policy = "the OpenMP runtime's default (NNC_OMP_WAIT=default)"
    elif user:
        _wait_policy = "as set in the environment: " + " ".join(f"{k}={v}" for k, v in user.items())
    elif _openmp_runtime_loaded():
        _wait_policy = "the OpenMP runtime's default (it was loaded before nnc)"
    else:
        global _wait_env_set
        os.environ.update(_WAIT_POLICY)
        _wait_env_set = True
        _threads.spinning = False
        _wait_policy = "passive: threads sleep while they wait (" + " ".join(f"{k}={v}" for k, v in _WAIT_POLICY.items()) + ")"
    return _wait_policy


def restore_environment():
    """Take out of os.environ what set_openmp_wait_policy put in, once the native modules have loaded the
    OpenMP runtime (called by `import nnc` right after). The runtime keeps what it read: libgomp reads its
    environment as it loads, LLVM's libomp (clang builds) at its first call, which is made here first."""
    global _wait_env_set
    if _wait_env_set:
        module = _openmp_module()
        if module is not None:
            module.max_threads()
        for k, v in _WAIT_POLICY.items():
            if os.environ.get(k) == v:
                del os.environ[k]
        _wait_env_set = False


def _openmp_module():
    try:
        from .backend.native import _openmp
    except ImportError:
        return None
    return _openmp


def build_info():
    """{module: {option: value}} for every compiled module, from the BUILD_INFO that setup.py stamps into
    each one (openmp, debug, sanitize, compiler); {} when the native backend is not built."""
    from . import backend
    if not backend.native_available():
        return {}
    return {mod.__name__.rsplit(".", 1)[-1]: dict(item.split("=", 1) for item in mod.BUILD_INFO.split() if "=" in item)
            for mod in backend.native.MODULES}


def openmp_enabled():
    """True when every native module was built with OpenMP."""
    info = build_info()
    return bool(info) and all(opts.get("openmp") == "1" for opts in info.values())


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


def _blas():
    global _blas_controller
    if _blas_controller is None:
        from .backend import _scipy_blas
        _scipy_blas.load()      # scipy's OpenBLAS is loaded, so that threadpoolctl sees it
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


_blas_pinned = False


def pin_native_blas():
    """Run the BLAS behind the native kernels on one thread: nnc threads its GEMMs itself with
    OpenMP (see gemm_threads in nnc/backend/native/_blas.pyx), and a second, busy-waiting pthread
    pool beside the OpenMP team made 2-core training steps several times slower. Called once by
    `import nnc` when the native backend is built; NNC_PIN_BLAS=0 leaves scipy's BLAS threads alone
    (scipy.linalg in the same process then keeps its threads, and nnc's GEMMs may oversubscribe).
    Returns whether the BLAS was pinned."""
    global _blas_pinned
    if os.environ.get("NNC_PIN_BLAS", "") == "0":
        return False
    for lib in _blas_libs()[0]:
        lib.set_num_threads(1)
    _blas_pinned = True
    return True


# glibc's malloc returns memory to the kernel as soon as the free space at the top of the heap passes
# M_TRIM_THRESHOLD (128 KiB by default, growing with use), and the next large array has to fault every
# page in again, on every training step (a quarter of a LeNet-5 step: benchmarks/README.md). Keeping up to
# 64 MiB of freed memory for reuse, and serving arrays up to 32 MiB from the heap, removes those faults, at
# the cost of the process keeping that much freed memory (PyTorch's caching allocator keeps far more).
# NNC_MALLOC=system leaves the allocator as it is.
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


def max_threads():
    """The most threads nnc will start: 4 per core (oversubscribing is allowed, for measuring it); a team of
    100,000 made the OpenMP runtime fail inside the next kernel."""
    return 4 * cpu_count()


def _checked(n):
    """Resolve n (see _resolve) and cap it at max_threads(), warning where the request cannot be met."""
    if n is not None and not isinstance(n, bool) and isinstance(n, int) and n > 1 and not openmp_enabled():
        warnings.warn(f"nnc: the native kernels were built without OpenMP, so they run on 1 thread, not {n} "
                      "(rebuild with a compiler that has OpenMP: gcc, or clang with libomp)",
                      RuntimeWarning, stacklevel=3)
    resolved = _resolve(n)
    if resolved > max_threads():
        warnings.warn(f"nnc: {resolved} threads asked for, capped at {max_threads()} "
                      f"(4 per core; this process may use {cpu_count()} cores)", RuntimeWarning, stacklevel=3)
        resolved = max_threads()
    return resolved


def _cap_numpy_blas(n, resolved):
    """Cap numpy's BLAS at the count asked for, even in a serial build: that BLAS has threads of its own."""
    if not openmp_enabled():
        resolved = cpu_count() if n in (None, -1) else min(max(1, n), max_threads())
    for lib in _blas_libs()[1]:
        lib.set_num_threads(resolved)


def set_num_threads(n):
    """Use n threads in the native kernels (OpenMP) and in numpy's BLAS (None: default, -1: all cores),
    process-wide. n above max_threads() is capped there, with a warning."""
    resolved = _checked(n)
    _threads.process = None if n is None else resolved
    _cap_numpy_blas(n, resolved)


@contextlib.contextmanager
def threads(n):
    """`with nnc.threads(2): ...` runs the block with n threads in this Python thread, then restores the
    previous setting. Other Python threads keep theirs; numpy's BLAS cap is process-wide."""
    resolved = _checked(n)
    previous = _threads.local.n
    with _blas_lock:
        previous_blas = [(lib, lib.num_threads) for lib in _blas_libs()[1]]
        _cap_numpy_blas(n, resolved)
    _threads.local.n = resolved
    try:
        yield resolved
    finally:
        _threads.local.n = previous
        with _blas_lock:
            for lib, count in previous_blas:
                lib.set_num_threads(count)


def blas_info():
    """One dict per BLAS library loaded in the process (numpy's and scipy's may differ)."""
    return [{"api": lib.internal_api, "version": lib.version, "threads": lib.num_threads,
             "library": os.path.basename(lib.filepath), "arch": getattr(lib, "architecture", None)}
            for lib in _blas().lib_controllers if lib.user_api == "blas"]


def as_dict():
    """Build and runtime facts as a dict (what show_config prints; benchmarks store it)."""
    import numpy
    import scipy
    from . import __version__, backend
    return {
        "nnc": __version__, "numpy": numpy.__version__, "scipy": scipy.__version__,
        "backend": backend.name(), "native_built": backend.native_available(),
        "openmp": openmp_enabled(), "num_threads": get_num_threads(), "cpu_count": cpu_count(),
        "blas": blas_info(), "malloc_tuned": _malloc_tuned, "blas_pinned": _blas_pinned, "build": build_info(),
        "openmp_wait": _wait_policy,
    }


def _describe_build(info):
    """One line: the options every module shares, or, for a mixed build, which module has which."""
    if not info:
        return "native extension not built"
    distinct = {tuple(sorted(opts.items())) for opts in info.values()}
    if len(distinct) == 1:
        return " ".join(f"{k}={v}" for k, v in sorted(info["_openmp"].items())) + f" (all {len(info)} modules)"
    parts = [f"{name}: " + " ".join(f"{k}={v}" for k, v in sorted(opts.items())) for name, opts in info.items()]
    return ("MIXED, reinstall with `pip install --force-reinstall .`: " + "; ".join(parts))


def show_config(file=None):
    """Print version, active backend, OpenMP on/off, thread counts and the BLAS libraries in use."""
    cfg = as_dict()
    lines = [f"nnc {cfg['nnc']}  (numpy {cfg['numpy']}, scipy {cfg['scipy']})",
             f"backend:      {cfg['backend']}" + ("" if cfg["native_built"] else "  (native extension not built)"),
             f"OpenMP:       {'yes' if cfg['openmp'] else 'no (serial build)'}",
             "build:        " + _describe_build(cfg["build"]),
             f"threads:      {cfg['num_threads']} of {cfg['cpu_count']} cores",
             f"OpenMP wait:  {cfg['openmp_wait']}"
             + ("  (NNC_OMP_WAIT=default to opt out)" if cfg["openmp_wait"].startswith("passive") else ""),
             "malloc:       " + ("glibc tuned to keep freed memory for reuse (NNC_MALLOC=system to opt out)"
                                 if cfg["malloc_tuned"] else "as the system set it"),
             "scipy BLAS:   " + ("pinned to 1 thread, nnc threads its GEMMs with OpenMP (NNC_PIN_BLAS=0 to opt out)"
                                 if cfg["blas_pinned"] else "threads left as they were")]
    for lib in cfg["blas"]:
        lines.append(f"BLAS:         {lib['api']} {lib['version']} ({lib['library']}), "
                     f"{lib['threads']} threads, arch {lib['arch']}")
    print("\n".join(lines), file=file)
