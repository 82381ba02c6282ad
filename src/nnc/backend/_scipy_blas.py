"""scipy's BLAS for the native kernels: the `scipy.linalg.cython_blas` extension, loaded on its own.

nnc calls two BLAS functions, sgemm and dgemm, through the function pointers that scipy exports for
Cython's `cimport` (see nnc/backend/native/_blas.pyx). The ordinary `import scipy.linalg.cython_blas` runs
scipy.linalg's package first, with all of its LAPACK wrappers: 26 MB of memory and a fifth of a second
that nnc has no use for. Loading the one extension file from scipy's folder skips that package; its OpenBLAS
is the same library either way, and a later `import scipy.linalg` (by the user, or scikit-learn) finds
the module already loaded and gets this very object. When the file is not where scipy's wheels put it,
the ordinary import is used.
"""
import importlib.machinery
import importlib.util
import os
import sys

NAME = "scipy.linalg.cython_blas"


def load():
    """The scipy.linalg.cython_blas module (its `__pyx_capi__` holds sgemm and dgemm)."""
    if NAME in sys.modules:
        return sys.modules[NAME]
    import scipy
    folder = os.path.join(os.path.dirname(os.path.abspath(scipy.__file__)), "linalg")
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = os.path.join(folder, "cython_blas" + suffix)
        if os.path.isfile(path):
            spec = importlib.util.spec_from_file_location(NAME, path)
            if spec is not None and spec.loader is not None:
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                return module
    from scipy.linalg import cython_blas     # another layout: the ordinary import
    return cython_blas
