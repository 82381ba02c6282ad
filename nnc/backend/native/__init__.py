"""Native backend: Cython wrappers (validate, release the GIL) over C/OpenMP kernels and BLAS.

Exports exactly the functions of nnc.backend.reference, with the same signatures."""
from . import activations, batchnorm, dense, dropout, losses

from .activations import *  # noqa: F401,F403
from .batchnorm import *  # noqa: F401,F403
from .dense import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403

FAMILIES = (activations, batchnorm, dense, dropout, losses)
__all__ = [name for family in FAMILIES for name in family.__all__]
