"""The backend switch, thread settings and show_config."""
import inspect
import os
import sys

import numpy as np
import pytest

import nnc
from nnc import backend

from conftest import run_python


def test_native_is_built_when_required():
    # CI sets NNC_REQUIRE_NATIVE=1: a silent fallback to reference mode must fail the run there.
    if os.environ.get("NNC_REQUIRE_NATIVE") == "1":
        assert backend.native_available(), "native extension failed to import"
        assert nnc.config.openmp_enabled(), "native extension built without OpenMP"


def test_both_backends_export_the_same_kernels_family_by_family(native, reference):
    assert [f.__name__.rsplit(".", 1)[1] for f in native.FAMILIES] == \
        [f.__name__.rsplit(".", 1)[1] for f in reference.FAMILIES]
    for nf, rf in zip(native.FAMILIES, reference.FAMILIES):
        assert sorted(nf.__all__) == sorted(rf.__all__), rf.__name__


@pytest.mark.parametrize("name", backend.reference.__all__)
def test_kernel_has_the_same_signature_in_both_backends(native, reference, name):
    """One name, one signature (parameter names, kinds and defaults) in every backend."""
    assert inspect.signature(getattr(native, name)) == inspect.signature(getattr(reference, name))


def test_switching(native):
    with nnc.native():
        _check_switching()


def _check_switching():
    assert backend.name() == "native"
    with nnc.reference():
        assert backend.name() == "reference" and backend.get() is backend.reference
        with nnc.native():
            assert backend.get() is backend.native
        assert backend.name() == "reference"
    assert backend.name() == "native"
    nnc.use("reference")
    assert backend.name() == "reference"
    nnc.use("native")
    with pytest.raises(ValueError, match="unknown backend 'cuda'"):
        nnc.use("cuda")


def test_layers_follow_the_switch_mid_training(native, rng, monkeypatch):
    layer = nnc.layers.Dense(3)
    x = rng.standard_normal((4, 5)).astype(np.float32)
    calls = []
    original = backend.reference.dense_forward
    monkeypatch.setattr(backend.reference, "dense_forward", lambda *a: calls.append(1) or original(*a))
    with nnc.native():
        y_native = layer.forward(x)
    with nnc.reference():
        y_ref = layer.forward(x)
    assert calls == [1]
    np.testing.assert_allclose(y_native, y_ref, rtol=1e-5, atol=1e-6)


def test_env_variable_selects_reference():
    code = "import nnc; print(nnc.backend.name())"
    out = run_python(["-c", code], {"NNC_BACKEND": "reference"}, check=True)
    assert out.stdout.strip() == "reference"
    bad = run_python(["-c", code], {"NNC_BACKEND": "bogus"})
    assert bad.returncode != 0 and "NNC_BACKEND='bogus'" in bad.stderr


def test_threads_context_restores(native):
    before = nnc.get_num_threads()
    with nnc.threads(1) as n:
        assert n == 1 and nnc.get_num_threads() == 1
        assert all(lib["threads"] == 1 for lib in nnc.config.blas_info())
    assert nnc.get_num_threads() == before
    with pytest.raises(ValueError, match="must not be 0"):
        nnc.set_num_threads(0)
    with pytest.raises(TypeError):
        nnc.set_num_threads(1.5)


def test_omp_num_threads_is_respected_at_import(native):
    code = "import nnc; print(nnc.backend.name(), nnc.get_num_threads())"
    out = run_python(["-c", code], {"OMP_NUM_THREADS": "1"}, check=True)
    assert out.stdout.split() == ["native", "1"]


def test_show_config_reports_the_build(capsys):
    nnc.show_config()
    text = capsys.readouterr().out
    assert nnc.__version__ in text and "OpenMP:" in text and "threads:" in text and "BLAS:" in text


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning is Linux-only")
def test_malloc_tuning_keeps_large_buffers_and_can_be_turned_off():
    """With the tuning, a freed 8 MB array's pages are reused by the next one (almost no minor page
    faults); NNC_MALLOC=system leaves glibc as it is, which the config reports."""
    code = ("import resource, numpy as np, nnc\n"
            "def faults():\n"
            "    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
            "a = np.ones(2 << 20, np.float32); del a\n"
            "f = faults()\n"
            "for _ in range(10):\n"
            "    a = np.ones(2 << 20, np.float32); del a\n"
            "print(nnc.config.as_dict()['malloc_tuned'], faults() - f)")
    tuned = run_python(["-c", code], check=True).stdout.split()
    system = run_python(["-c", code], {"NNC_MALLOC": "system"}, check=True).stdout.split()
    assert system[0] == "False"
    if tuned[0] == "True":        # glibc: 10 x 2048 pages would fault without the tuning
        assert int(tuned[1]) < 200


def test_all_finite_finds_a_bad_value_in_any_chunk():
    from nnc.backend._checks import all_finite
    x = np.zeros((3, 70_000), np.float32)       # several 64k chunks
    assert all_finite(x)
    for bad in (np.nan, np.inf, -np.inf):
        y = x.copy()
        y[2, 69_999] = bad                       # the very last value, in the last chunk
        assert not all_finite(y)
    assert all_finite(np.arange(5)) and all_finite(np.zeros(0))
