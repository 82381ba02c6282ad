"""Floor 2: layers. Each owns params/grads/cache and calls the active backend's kernels."""
from .base import Layer, get, register  # noqa: F401
from .dense import Dense  # noqa: F401
from .reshape import Flatten, Input  # noqa: F401
