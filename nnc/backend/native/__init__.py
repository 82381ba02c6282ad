"""Native backend: Cython wrappers (validate, release the GIL) over C/OpenMP kernels and BLAS.

Exports exactly the functions of nnc.backend.reference, with the same signatures."""
from .dense import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403
from . import dense as _dense, conv as _conv, pool as _pool

__all__ = list(_dense.__all__)
from .activations import *  # noqa: F401,F403
from . import activations as _activations
from .losses import *  # noqa: F401,F403
from . import losses as _losses

__all__ += _activations.__all__ + _losses.__all__
__all__ += _conv.__all__ + _pool.__all__
