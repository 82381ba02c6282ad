"""Timing, environment, tables and JSON for the nnc benchmarks.

How a case is timed (`measure`):
  * every contender (nnc, torch, numpy, ...) is a zero-argument callable doing one call of the
    operation on data prepared beforehand (same arrays, float32, same thread count);
  * each contender is warmed up, then the harness picks a batch size `k` so one batch of calls lasts
    about `target_s` (short calls are timed in groups: the clock and the loop cost stay small);
  * `repeats` rounds follow; in each round every contender runs one batch, in an order that
    rotates from round to round (interleaving: a burst of load from another process hits all
    contenders, not just one), and the time per call is recorded;
  * median, min and max over the rounds are reported; ratios are taken between medians.
Page faults: ru_minflt (minor faults, e.g. touching a freshly mapped page) is read around every
batch; faults per call times the measured cost of one fault says how much of a figure is the
allocator, and the table flags figures where that is more than FAULT_FLAG of the time.
"""
import json
import os
import platform
import resource
import statistics
import sys
import time

import numpy as np

FAULT_FLAG = 0.10       # flag a figure when page faults may be more than 10% of its time
# Pause before each batch of a case where nnc runs threaded OpenBLAS GEMMs: the workers spin ~0.1 s
# (2**28 cycles) after the last call whatever the thread cap says, and a torch call made meanwhile
# on 2 cores can take 7 ms instead of 50 us (measured: torch's first ~10 linear calls after 180 nnc
# dense calls).
SETTLE_BLAS = 0.15
_fault_cost_s = None


def minflt():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def fault_cost():
    """(seconds per minor fault on small arrays, seconds per fault on large ones).

    numpy asks for transparent huge pages on large arrays (madvise), so one fault there maps and
    zeroes 2 MiB instead of 4 KiB: a fault count alone cannot say how long the faults took. The
    table therefore gives a lower estimate (small-page cost) and an upper one (huge-page cost)."""
    global _fault_cost_s
    if _fault_cost_s is None:
        costs = []
        for n in (1 << 20, 64 << 20):       # 1 MiB: small pages; 64 MiB: huge pages where enabled
            best = float("inf")
            for _ in range(3):
                f0, t0 = minflt(), time.perf_counter()
                a = np.empty(n, np.uint8)
                a[::4096] = 1                   # one write per page: the cost is almost all the fault
                t1, f1 = time.perf_counter(), minflt()
                del a
                if f1 > f0:
                    best = min(best, (t1 - t0) / (f1 - f0))
            costs.append(best if best < float("inf") else 0.0)
        _fault_cost_s = (costs[0], max(costs))
    return _fault_cost_s


def _blas_capped():
    """Cap the OpenBLAS pools at one thread: their workers, still spinning after nnc's last threaded
    GEMM, stop competing for the cores while a peer that does not use OpenBLAS (torch) is timed."""
    from nnc.config import _blas
    return _blas().limit(limits=1, user_api="blas")


# After a pause as long as SETTLE_BLAS, the VM's idle second core comes back slowly: a 2-thread dense
# forward+backward took 1.8-2.1 ms per call for the first ~50 ms of calls, then 1.0-1.3 ms (1 thread: no
# such start). Training runs its steps back to back, so every batch of timed calls after such a pause
# follows WARM_S of untimed calls, the same for every contender.
WARM_S = 0.1


def _warm(fn, settle_s):
    t0 = time.perf_counter()
    fn()
    while settle_s >= SETTLE_BLAS / 2 and time.perf_counter() - t0 < WARM_S:
        fn()


def measure(contenders, repeats=5, warmup=2, target_s=0.02, max_k=10000, settle_s=0.002, isolate=()):
    """Time each callable in `contenders` (dict name -> fn), interleaved; returns dict name -> stats.

    stats: median, min, max (seconds per call), calls (per round), faults (minflt per call).
    settle_s: a pause before each batch (and before each calibration), so the threads of the
    previous contender stop spinning: 2 ms for OpenMP, SETTLE_BLAS after threaded OpenBLAS.
    isolate: names of contenders that do not use OpenBLAS (torch): their batches run with the
    OpenBLAS pools capped at one thread. OpenBLAS workers spin ~0.1 s after a threaded GEMM; timed
    right after an nnc dense call, a torch call would share the cores with them and run 2-100x slower."""
    import contextlib
    names = list(contenders)
    ctx = {n: (_blas_capped if n in isolate else contextlib.nullcontext) for n in names}
    ks = {}
    for name in names:
        fn = contenders[name]
        time.sleep(settle_s)
        with ctx[name]():
            for _ in range(warmup):
                fn()
            # per-call estimate from a few calls: the first call after a pause pays for waking the
            # thread pool and would make short calls look long (and batches too short)
            t0 = time.perf_counter()
            n_est = 0
            while n_est < 3 or time.perf_counter() - t0 < target_s / 10:
                fn()
                n_est += 1
            one = max((time.perf_counter() - t0) / n_est, 1e-7)
        ks[name] = int(max(1, min(max_k, target_s / one)))
    times = {n: [] for n in names}
    faults = {n: 0 for n in names}
    for r in range(repeats):
        order = names[r % len(names):] + names[:r % len(names)]
        if r % 2:
            order.reverse()
        for name in order:
            fn, k = contenders[name], ks[name]
            time.sleep(settle_s)
            with ctx[name]():
                _warm(fn, settle_s)         # wakes the pool (and the cores, after a long pause); not timed
                f0 = minflt()
                t0 = time.perf_counter()
                for _ in range(k):
                    fn()
                t1 = time.perf_counter()
                faults[name] += minflt() - f0
            times[name].append((t1 - t0) / k)
    return {n: {"median": statistics.median(times[n]), "min": min(times[n]), "max": max(times[n]),
                "calls": ks[n], "repeats": repeats, "faults": faults[n] / (ks[n] * repeats)}
            for n in names}


def fault_share(stats, which=0):
    """Fraction of the median time the page faults may account for (which=0 low, 1 high estimate)."""
    if not stats or stats.get("median", 0) <= 0:
        return 0.0
    return stats["faults"] * fault_cost()[which] / stats["median"]


def ratio(a, b, key="median"):
    if not a or not b:
        return None
    return a[key] / b[key]


# ---- formatting ----------------------------------------------------------------------------------
def fmt_time(s):
    if s is None:
        return "-"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} us"


def fmt_stats(st):
    """'1.23 ms (1.20-1.40)' : median (min-max)."""
    if not st:
        return "-"
    return f"{fmt_time(st['median'])} ({fmt_time(st['min'])}-{fmt_time(st['max'])})"


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}"


def fmt_faults(st):
    """Faults per call; 'PF nn%' when even the small-page estimate of their cost is more than FAULT_FLAG
    of the time; 'pf<=nn%' when only the huge-page estimate is (and is possible: below 100%)."""
    if not st:
        return "-"
    f = st["faults"]
    text = f"{f:.0f}" if f >= 10 else f"{f:.1f}"
    low, high = fault_share(st, 0), fault_share(st, 1)
    if low > FAULT_FLAG:
        text += f" PF{low * 100:.0f}%"
    elif FAULT_FLAG < high <= 1.0:
        text += f" pf<={high * 100:.0f}%"
    return text


def verdict(value, limit, higher_is_better=False):
    """'ok' / 'MISS' against a target, '' when there is no target or no value."""
    if value is None or limit is None:
        return ""
    good = value >= limit if higher_is_better else value <= limit
    return "ok" if good else "MISS"


def table(headers, rows):
    """A markdown table; every cell is turned into a string."""
    rows = [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)


def say(*args):
    """Progress and skip lines go to stdout, flushed, so a long run shows where it is."""
    print(*args, flush=True)


# ---- environment ---------------------------------------------------------------------------------
def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _version(module):
    try:
        mod = __import__(module)
        return getattr(mod, "__version__", "?")
    except Exception:  # not installed, or broken: the benchmark skips it
        return None


def environment():
    """Machine, versions, BLAS, OpenMP and thread settings, stored at the top of the JSON."""
    import nnc
    from nnc import config as nnc_config
    env = {
        "cpu": _cpu_model(), "machine": platform.machine(), "os": platform.platform(),
        "cpu_count": os.cpu_count(), "affinity": nnc_config.cpu_count(),
        "python": platform.python_version(), "numpy": np.__version__,
        "torch": _version("torch"), "sklearn": _version("sklearn"),
        "nnc_config": nnc_config.as_dict(),
        "env_threads": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT", "MKL_NUM_THREADS",
                                                  "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OPENBLAS_CORETYPE") if k in os.environ},
        "loadavg_start": os.getloadavg(), "page_fault_us": [c * 1e6 for c in fault_cost()],
        "thp": _read("/sys/kernel/mm/transparent_hugepage/enabled"),
        "nnc_path": os.path.dirname(nnc.__file__),
    }
    try:
        import torch
        env["torch_threads"] = torch.get_num_threads()
        env["torch_parallel"] = torch.__config__.parallel_info().splitlines()[:8]
    except Exception:
        pass
    return env


def env_summary(env):
    cfg = env["nnc_config"]
    blas = ", ".join(f"{b['api']} {b['version']} ({b['library']}, {b.get('arch')})" for b in cfg["blas"]) or "none"
    return "\n".join([
        f"CPU: {env['cpu']} ({env['affinity']} usable cores of {env['cpu_count']}); load average at start "
        + " ".join(f"{x:.2f}" for x in env["loadavg_start"]),
        f"python {env['python']}, numpy {env['numpy']}, nnc {cfg['nnc']} (backend {cfg['backend']}, "
        f"native built: {cfg['native_built']}, OpenMP: {cfg['openmp']}), torch {env['torch'] or 'not installed'}, "
        f"scikit-learn {env['sklearn'] or 'not installed'}",
        *([f"WARNING: load average {env['loadavg_start'][0]:.1f} on {env['affinity']} cores: other processes "
           "are running, figures (2-thread ones most) are noisy; medians over interleaved rounds limit, "
           "not remove, the effect"] if env["loadavg_start"][0] > 0.5 * env["affinity"] else []),
        # OPENBLAS_CORETYPE names OpenBLAS's kernels: Haswell's (AVX2) on an AVX-512 CPU are the slow ones (README)
        f"BLAS: {blas}; OPENBLAS_THREAD_TIMEOUT={os.environ.get('OPENBLAS_THREAD_TIMEOUT', 'unset')}, "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}",
        f"one minor page fault costs {env['page_fault_us'][0]:.2f} us (small pages), "
        f"{env['page_fault_us'][1]:.0f} us (huge pages, transparent_hugepage: {env['thp']})",
    ])


def write_json(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, default=_json_default)


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


# ---- peers ---------------------------------------------------------------------------------------
_torch = False


def torch_or_none(quiet=False):
    """The torch module, or None with one printed line saying the peer is skipped."""
    global _torch
    if _torch is False:
        try:
            import torch
            _torch = torch
        except Exception as exc:  # ImportError, or a broken install
            _torch = None
            say(f"PyTorch not available ({exc.__class__.__name__}: {exc}); torch columns are skipped "
                "(pip install \".[bench]\" installs it)")
    return _torch


class Threads:
    """`with Threads(n):` the same thread count for nnc (OpenMP + BLAS) and torch."""

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        import nnc
        self._nnc = nnc.threads(self.n)
        self._nnc.__enter__()
        torch = torch_or_none()
        if torch is not None:
            self._torch_prev = torch.get_num_threads()
            torch.set_num_threads(self.n)
        return self.n

    def __exit__(self, *exc):
        torch = torch_or_none()
        if torch is not None:
            torch.set_num_threads(self._torch_prev)
        return self._nnc.__exit__(*exc)


def missing(backend, *names):
    """Names of kernels the backend module does not have yet (not merged)."""
    return [n for n in names if not hasattr(backend, n)]


def thread_list(spec, cores):
    """'1,2' -> [1, 2]; None -> [1, 2, 4, ..., cores] (cores always included)."""
    if spec:
        return [int(t) for t in str(spec).split(",") if t.strip()]
    out, t = [], 1
    while t < cores:
        out.append(t)
        t *= 2
    out.append(cores)
    return out


def sgemm_peak(n_threads, quick=False):
    """Measured float32 GEMM rate (GFLOP/s) of the BLAS nnc uses (scipy's) and of numpy and torch at
    n_threads; the peak is the best of them. Returns (peak, {name: GFLOP/s})."""
    import scipy.linalg.blas as sblas
    import nnc
    n = 1024 if quick else 2048
    rng = np.random.default_rng(0)
    a = np.asfortranarray(rng.standard_normal((n, n), dtype=np.float32))
    b = np.asfortranarray(rng.standard_normal((n, n), dtype=np.float32))
    c = np.empty((n, n), np.float32, order="F")
    ac, bc, cc = np.ascontiguousarray(a), np.ascontiguousarray(b), np.empty((n, n), np.float32)
    flops = 2.0 * n ** 3
    contenders = {"scipy sgemm": lambda: sblas.sgemm(1.0, a, b, c=c, overwrite_c=True),
                  "numpy matmul": lambda: np.matmul(ac, bc, out=cc)}
    torch = torch_or_none()
    if torch is not None:
        ta, tb, tc = torch.from_numpy(ac), torch.from_numpy(bc), torch.from_numpy(cc)
        contenders["torch mm"] = lambda: torch.mm(ta, tb, out=tc)
    with Threads(n_threads):
        st = measure(contenders, repeats=3 if quick else 5, warmup=1, target_s=0.05, isolate=("torch mm",))
    rates = {k: flops / v["min"] / 1e9 for k, v in st.items()}
    del nnc
    return max(rates.values()), rates
