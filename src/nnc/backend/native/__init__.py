"""Native backend: Cython wrappers (validate, release the GIL) over C/OpenMP kernels and BLAS.

Exports exactly the functions of nnc.backend.reference, with the same signatures."""
from ... import _threads
from . import _blas, _openmp, activations, batchnorm, conv, dense, dropout, losses, pool, update, winograd

from .activations import *  # noqa: F401,F403
from .batchnorm import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dense import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403
from .update import *  # noqa: F401,F403

FAMILIES = (activations, batchnorm, conv, dense, dropout, losses, pool, update)
__all__ = [name for family in FAMILIES for name in family.__all__]
MODULES = (_blas, _openmp, winograd) + FAMILIES    # every compiled module (their BUILD_INFO: nnc.config)

# The kernels' default team size is the OpenMP runtime's when every module has OpenMP (a mixed or
# serial build runs on one thread).
if all("openmp=1" in module.BUILD_INFO.split() for module in MODULES):
    _threads.set_default(_openmp.max_threads)
