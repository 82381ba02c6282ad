"""Thread settings and the build report: caps, per-thread blocks, what show_config says about the build."""
import threading
import warnings

import pytest

import nnc
from nnc import config


def test_thread_count_is_capped_with_a_warning(native):
    before = nnc.get_num_threads()
    try:
        with pytest.warns(RuntimeWarning, match="capped at"):
            nnc.set_num_threads(100_000)
        assert nnc.get_num_threads() == config.max_threads()
        with pytest.warns(RuntimeWarning, match="capped at"):
            with nnc.threads(10 ** 9) as n:
                assert n == config.max_threads()
    finally:
        nnc.set_num_threads(None)
    assert nnc.get_num_threads() == before


def test_threads_block_is_per_python_thread(native):
    """A `with nnc.threads(1)` block in one thread does not change the count another thread sees."""
    inside, seen_outside = threading.Event(), []
    release = threading.Event()

    def worker():
        with nnc.threads(1):
            inside.set()
            release.wait(10)
            seen_outside.append(("worker", nnc.get_num_threads()))

    t = threading.Thread(target=worker)
    with nnc.threads(2):
        t.start()
        assert inside.wait(10)
        for _ in range(200):
            seen_outside.append(("main", nnc.get_num_threads()))
        release.set()
        t.join(10)
    expected = 2 if config.openmp_enabled() else 1
    assert {n for who, n in seen_outside if who == "main"} == {expected}
    assert [n for who, n in seen_outside if who == "worker"] == [1]


def test_serial_build_says_it_stays_at_one_thread(native, monkeypatch):
    monkeypatch.setattr(config, "openmp_enabled", lambda: False)
    with pytest.warns(RuntimeWarning, match="built without OpenMP, so they run on 1 thread, not 2"):
        with nnc.threads(2) as n:
            assert n == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with nnc.threads(1):   # nothing to warn about
            pass


def test_every_module_reports_its_build(native):
    info = config.build_info()
    assert set(info) == {"_blas", "_openmp", "activations", "batchnorm", "conv", "dense", "dropout",
                         "losses", "pool", "update", "winograd"}
    for opts in info.values():
        assert set(opts) >= {"openmp", "debug", "sanitize", "compiler"}
    # One configuration for all modules, and the OpenMP switch agrees with what the runtime module knows.
    assert len({tuple(sorted(o.items())) for o in info.values()}) == 1
    assert config.openmp_enabled() == bool(native._openmp.openmp_enabled())


def test_show_config_names_a_mixed_build():
    same = {"openmp": "1", "debug": "0", "sanitize": "0", "compiler": "gcc-12"}
    line = config._describe_build({"_openmp": same, "conv": dict(same)})
    assert line.startswith("compiler=gcc-12 debug=0 openmp=1 sanitize=0") and "all 2 modules" in line
    mixed = config._describe_build({"_openmp": same, "conv": dict(same, openmp="0")})
    assert "MIXED" in mixed and "conv: " in mixed and "pip install --force-reinstall ." in mixed


def test_show_config_prints_the_build_line(capsys, native):
    nnc.show_config()
    out = capsys.readouterr().out
    assert "build:" in out and "(all 11 modules)" in out


def test_openmp_wait_policy_is_set_before_the_runtime_loads_and_yields_to_the_user():
    from conftest import run_python
    code = ("import os, nnc; print(os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT'));"
            "print(nnc.config.as_dict()['openmp_wait'])")
    # The policy is in the environment only while the runtime loads: after `import nnc` it is gone again.
    unset = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME", "NNC_OMP_WAIT")
    out = run_python(["-c", code], env_remove=unset, check=True).stdout.splitlines()
    assert out[0] == "None None" and out[1].startswith("passive")
    out = run_python(["-c", code], {"GOMP_SPINCOUNT": "1000"}, env_remove=("OMP_WAIT_POLICY", "KMP_BLOCKTIME",
                     "NNC_OMP_WAIT"), check=True).stdout.splitlines()
    assert out[0] == "None 1000" and out[1] == "as set in the environment: GOMP_SPINCOUNT=1000"
    out = run_python(["-c", code], {"NNC_OMP_WAIT": "default"}, env_remove=unset[:3], check=True).stdout.splitlines()
    assert out[0] == "None None" and "NNC_OMP_WAIT=default" in out[1]


@pytest.mark.parametrize("env,spins", [({}, False), ({"NNC_OMP_WAIT": "default"}, True),
                                       ({"OMP_WAIT_POLICY": "active"}, True), ({"OMP_WAIT_POLICY": "Passive"}, False),
                                       ({"GOMP_SPINCOUNT": "1000"}, True), ({"GOMP_SPINCOUNT": "0"}, False),
                                       ({"GOMP_SPINCOUNT": "0k"}, False), ({"GOMP_SPINCOUNT": "infinite"}, True),
                                       ({"OMP_WAIT_POLICY": "active", "GOMP_SPINCOUNT": "0"}, False),
                                       ({"OMP_WAIT_POLICY": "passive", "GOMP_SPINCOUNT": "10k"}, True),
                                       ({"KMP_BLOCKTIME": "0ms"}, False),
                                       ({"NNC_OMP_WAIT": "default", "OMP_WAIT_POLICY": "passive"}, False)])
def test_whether_idle_threads_spin_is_known_to_the_kernels(env, spins):
    """The dense backward runs its two GEMMs side by side only where idle threads spin (dense.pyx)."""
    from conftest import run_python
    unset = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME", "NNC_OMP_WAIT")
    out = run_python(["-c", "import nnc; print(nnc._threads.spinning)"], env,
                     env_remove=[k for k in unset if k not in env], check=True).stdout
    assert out.strip() == str(spins)


def test_the_runtime_keeps_waiting_passively_after_nnc_takes_the_policy_out_of_the_environment(native):
    """The runtime read OMP_WAIT_POLICY as it loaded: its threads sleep between parallel regions, and the
    variable no longer reaches anything started later (another OpenMP runtime, a child process). Spinning
    threads would use CPU time while the main thread sleeps between the regions (measured: CPU time /
    wall time 1.15 spinning, 0.32 passive on 2 cores)."""
    from conftest import run_python
    code = """
import os, resource, time, numpy as np, nnc
assert "OMP_WAIT_POLICY" not in os.environ, os.environ["OMP_WAIT_POLICY"]
nnc.set_num_threads(2)
x = np.ones(2_000_000, np.float32)       # above NNC_OMP_MIN_STREAM: a parallel region per call
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
nnc.backend.native.relu_forward(x)
c0, t0 = cpu(), time.perf_counter()
for _ in range(150):
    nnc.backend.native.relu_forward(x)
    time.sleep(0.002)
print((cpu() - c0) / (time.perf_counter() - t0))
"""
    if nnc.config.cpu_count() < 2:
        pytest.skip("one core: no second thread to wait")
    out = run_python(["-c", code], env_remove=("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME", "NNC_OMP_WAIT"),
                     check=True).stdout
    assert float(out) < 0.8, f"CPU time / wall time {float(out):.2f}: the idle OpenMP thread spins"


def test_what_import_changes_is_reported_and_each_change_has_a_switch(native):
    """import nnc pins scipy's BLAS (the native kernels' own) to one thread, sets a passive OpenMP wait and
    tunes malloc; show_config names all three, and each switch leaves its part of the process alone."""
    from conftest import run_python
    code = ("import threadpoolctl, scipy.linalg, nnc, os\n"
            "scipy_blas = [lib for lib in threadpoolctl.threadpool_info() if lib['user_api'] == 'blas'\n"
            "              and 'scipy' in lib['filepath'] and '64_' not in os.path.basename(lib['filepath'])]\n"
            "print(sorted({lib['num_threads'] for lib in scipy_blas}))\n"
            "nnc.show_config()")
    unset = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME", "NNC_OMP_WAIT", "NNC_PIN_BLAS", "NNC_MALLOC",
             "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
    default = run_python(["-c", code], env_remove=unset, check=True).stdout.splitlines()
    assert default[0] == "[1]"
    text = "\n".join(default)
    assert "NNC_OMP_WAIT=default to opt out" in text and "NNC_PIN_BLAS=0 to opt out" in text
    assert "NNC_MALLOC=system to opt out" in text
    off = run_python(["-c", code], {"NNC_OMP_WAIT": "default", "NNC_PIN_BLAS": "0", "NNC_MALLOC": "system"},
                     env_remove=unset[:3] + unset[6:], check=True).stdout.splitlines()
    text = "\n".join(off)
    assert "scipy BLAS:   threads left as they were" in text and "malloc:       as the system set it" in text
    assert "OpenMP wait:  the OpenMP runtime's default (NNC_OMP_WAIT=default)" in text
    if config.cpu_count() > 1:
        assert off[0] != "[1]", off[0]   # scipy's OpenBLAS keeps its own default (one per core)


def test_import_nnc_stays_light():
    """`import nnc` loads scipy's cython_blas extension alone: not scipy.linalg's package (26 MB of LAPACK
    wrappers), nor scipy.special or scipy.sparse, which wait until they are used (benchmarks/README.md)."""
    from conftest import run_python
    code = ("import sys, nnc; assert nnc.backend.native_available(), nnc.backend.native_error(); "
            "print(sorted(m for m in ('scipy.linalg', 'scipy.special', 'scipy.sparse') if m in sys.modules)); "
            "print(nnc.backend._scipy_blas.load().__name__)")
    out = run_python(["-c", code], check=True).stdout.split("\n")
    assert out[0] == "[]" and out[1] == "scipy.linalg.cython_blas", out


def test_scipy_linalg_before_or_after_nnc_shares_one_cython_blas():
    """Whichever comes first, scipy.linalg and nnc's kernels end up with the same cython_blas module, and the
    kernels compute (the function pointers came from its capsules)."""
    from conftest import run_python
    check = ("import numpy as np; x = np.arange(12.0).reshape(3, 4); W = np.ones((4, 2)); "
             "y, _ = nnc.backend.native.dense_forward(x, W, None); assert np.allclose(y, x @ W); "
             "import scipy.linalg.cython_blas; from nnc.backend import _scipy_blas; "
             "assert _scipy_blas.load() is scipy.linalg.cython_blas; "
             "assert np.allclose(scipy.linalg.solve(np.eye(2), [1.0, 2.0]), [1, 2])")
    for first, second in (("import scipy.linalg", "import nnc"), ("import nnc", "import scipy.linalg")):
        run_python(["-c", f"{first}; {second}; {check}"], check=True)
