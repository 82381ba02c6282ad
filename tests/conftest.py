"""Shared fixtures: seeded random data, and the two backends to compare."""
import os

import numpy as np
import pytest

from nnc import backend

# A run that tests only the reference kernels must be asked for, never happen by accident: without the
# compiled kernels, half the suite (every native-vs-reference comparison) would pass vacuously.
if not backend.native_available() and os.environ.get("NNC_TEST_REFERENCE_ONLY") != "1":
    pytest.exit(f"nnc's tests need the native backend, and {backend.native_error()}. "
                "(NNC_TEST_REFERENCE_ONLY=1 runs the reference-only tests on purpose.)", returncode=4)

BACKEND_NAMES = ["native", "reference"] if backend.native_available() else ["reference"]
DTYPES = [np.float32, np.float64]
# Native vs reference agree to float tolerance (different summation orders), not bit for bit.
TOL = {np.dtype(np.float32): dict(rtol=2e-4, atol=2e-5), np.dtype(np.float64): dict(rtol=1e-10, atol=1e-12)}


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(params=DTYPES, ids=["f32", "f64"])
def dtype(request):
    return request.param


@pytest.fixture(params=BACKEND_NAMES)
def B(request):
    """The backend module under test (native or reference)."""
    with backend.using(request.param) as mod:
        yield mod


@pytest.fixture
def native():
    if not backend.native_available():
        pytest.skip("native extension not built")
    return backend.native


@pytest.fixture
def reference():
    return backend.reference


def assert_close(a, b, dtype=None, **kw):
    """Compare native and reference results with the dtype's tolerance."""
    dt = np.dtype(dtype or np.asarray(a).dtype)
    tol = dict(TOL.get(dt, TOL[np.dtype(np.float64)]))
    tol.update(kw)
    np.testing.assert_allclose(a, b, **tol)


def run_python(args, env_updates=None, env_remove=(), **kwargs):
    """Run `python args...` in a child process that imports the same nnc as this test process
    (the installed package in CI, the in-place build in a checkout), not whatever the cwd holds;
    `env_remove` names variables the child must not inherit."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import nnc

    home = str(Path(nnc.__file__).resolve().parent.parent)
    env = dict(os.environ, **(env_updates or {}))
    for name in env_remove:
        env.pop(name, None)
    env["PYTHONPATH"] = home + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, *args], env=env, cwd=home, capture_output=True, text=True,
                          timeout=kwargs.pop("timeout", 300), **kwargs)
