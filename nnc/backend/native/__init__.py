"""Native backend: Cython wrappers (validate, release the GIL) over C/OpenMP kernels and BLAS.

Exports exactly the functions of nnc.backend.reference, with the same signatures."""
from .dense import *  # noqa: F401,F403
from .batchnorm import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from . import batchnorm as _batchnorm, dense as _dense, dropout as _dropout

__all__ = list(_dense.__all__) + _batchnorm.__all__ + _dropout.__all__
