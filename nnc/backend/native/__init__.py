"""Native backend: Cython wrappers (validate, release the GIL) over C/OpenMP kernels and BLAS.

Exports exactly the functions of nnc.backend.reference, with the same signatures."""
from .dense import *  # noqa: F401,F403
from . import dense as _dense

__all__ = list(_dense.__all__)
