"""Reference backend: every kernel in plain Python, written the way the math reads.

Step through any of these in a debugger; `nnc.use("reference")` routes all layers here."""
from .dense import *  # noqa: F401,F403
from .batchnorm import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from . import batchnorm as _batchnorm, dense as _dense, dropout as _dropout

__all__ = list(_dense.__all__) + _batchnorm.__all__ + _dropout.__all__
