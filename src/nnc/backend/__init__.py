"""Floor 1: the kernel contract and its two implementations.

    native     Cython over C/OpenMP and BLAS (nnc/backend/native, csrc/)
    reference  plain Python that reads like the math (nnc/backend/reference)
    textbook   the reference with conv, batch norm and max pooling as scalar loops (nnc/backend/textbook.py)

Both expose the same functions with the same signatures (`dense_forward(x, W, b)`,
`conv2d_backward(dout, cache)`, ...). Layers call `nnc.backend.get()` on every forward and
backward, so switching with `nnc.use("reference")`, `with nnc.reference():` or the environment
variable NNC_BACKEND=reference takes effect immediately, even in the middle of training.
"""
import contextlib
import os
import types
import warnings

from . import reference, textbook

native: types.ModuleType | None
try:
    from . import native
    _native_error = None
except ImportError as exc:  # extension not compiled: reference mode still works
    native = None
    _native_error = exc

_BUILD_HINT = ("build them with `pip install .` from the repository root "
               "(`pip install -e .` for a checkout you edit)")


def native_error():
    """Why the native backend did not import, in one plain sentence (None when it did)."""
    if native is not None:
        return None
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "native")
    built = [f for f in os.listdir(here) if f.endswith((".so", ".pyd"))] if os.path.isdir(here) else []
    if not built:
        return f"the compiled kernels of nnc are not built in {os.path.dirname(here)}: {_BUILD_HINT}"
    return f"the compiled kernels of nnc failed to import ({_native_error}): {_BUILD_HINT}"

BACKENDS = ("native", "reference", "textbook")
_active = None


def native_available():
    """True when the compiled extension imported."""
    return native is not None


def _module(name):
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {BACKENDS}")
    if name == "native":
        if native is None:
            raise RuntimeError(native_error() + ", or use nnc.use('reference')")
        return native
    return textbook if name == "textbook" else reference


def use(name):
    """Route every layer through backend `name` ("native", "reference" or "textbook") from now on."""
    global _active
    _active = _module(name)


def get():
    """The active backend module; layers call this on every forward/backward."""
    return _active


def name():
    """Name of the active backend."""
    if _active is textbook:
        return "textbook"
    return "native" if _active is native and native is not None else "reference"


@contextlib.contextmanager
def using(name):
    """`with nnc.backend.using("reference"): ...` switches for the block only."""
    global _active
    previous = _active
    use(name)
    try:
        yield _active
    finally:
        _active = previous


def _initial():
    requested = os.environ.get("NNC_BACKEND", "native").strip().lower() or "native"
    if requested not in BACKENDS:
        raise ValueError(f"NNC_BACKEND={requested!r} is not one of {BACKENDS}")
    if requested == "native" and native is None:
        warnings.warn(f"nnc runs the pure-Python reference kernels (slow), because {native_error()}",
                      RuntimeWarning, stacklevel=3)
        return reference
    return _module(requested)


_active = _initial()
