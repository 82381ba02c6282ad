"""Reference backend: every kernel in plain Python, written the way the math reads.

Step through any of these in a debugger; `nnc.use("reference")` routes all layers here."""
from . import activations, batchnorm, conv, dense, dropout, losses, pool, update

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
