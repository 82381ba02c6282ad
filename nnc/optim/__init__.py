"""Optimizers: small classes with per-parameter state and an in-place `step()`."""
from .base import Optimizer, get  # noqa: F401
from .sgd import SGD  # noqa: F401
