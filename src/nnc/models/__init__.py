"""Floor 3: models and their training loops."""
from .perceptron import Perceptron  # noqa: F401
from .sequential import Sequential  # noqa: F401
from .saving import CheckpointError, load_model, save_model  # noqa: F401
