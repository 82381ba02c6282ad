"""scipy's BLAS for the native kernels: the `scipy.linalg.cython_blas` extension, loaded on its own.

nnc calls two BLAS functions, sgemm and dgemm, through the function pointers that scipy exports for
Cython's `cimport` (see nnc/backend/native/_blas.pyx). The ordinary `import scipy.linalg.cython_blas` runs
scipy.linalg's package first, with all of its LAPACK wrappers: 26 MB of memory and a fifth of a second
that nnc has no use for. Loading the one extension file from scipy's folder skips that package; its OpenBLAS
is the same library either way, and a later `import scipy.linalg.cython_blas` (by the user, or scikit-learn)
gets this very object back. When the file is not where scipy's wheels put it, the ordinary import is used.
"""
import importlib.machinery
import importlib.util
import os
import sys

NAME = "scipy.linalg.cython_blas"
_module = None


def load():
    """The scipy.linalg.cython_blas module (its `__pyx_capi__` holds sgemm and dgemm), loaded once."""
    global _module
    if _module is None:
        _module = sys.modules.get(NAME) or _load_alone()
    return _module


def _load_alone():
    import scipy
    folder = os.path.join(os.path.dirname(os.path.abspath(scipy.__file__)), "linalg")
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = os.path.join(folder, "cython_blas" + suffix)
        spec = importlib.util.spec_from_file_location(NAME, path) if os.path.isfile(path) else None
        if spec is not None and spec.loader is not None:
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            # Cython's module init entered it in sys.modules; out again, so that a later import goes through
            # the import system, which sets it as scipy.linalg's attribute (and finds this same object in the
            # extension's cache).
            if sys.modules.get(NAME) is module:
                del sys.modules[NAME]
            return module
    from scipy.linalg import cython_blas     # another layout: the ordinary import
    return cython_blas
