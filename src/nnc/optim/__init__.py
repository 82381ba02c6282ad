"""Optimizers: small classes with per-parameter state and an in-place `step()`."""
from . import schedules  # noqa: F401
from .adam import Adam, AdamW  # noqa: F401
from .adaptive import AdaDelta, Adadelta, AdaGrad, Adagrad, RMSprop  # noqa: F401
from .base import Optimizer, get  # noqa: F401
from .sgd import SGD, Momentum, Nesterov  # noqa: F401
from . import trajectory  # noqa: F401  (minimize and the 2-D test surfaces of the optimizer lectures)
