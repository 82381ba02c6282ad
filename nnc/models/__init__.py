"""Floor 3: models and their training loops."""
from .perceptron import Perceptron  # noqa: F401
from .sequential import Sequential  # noqa: F401
