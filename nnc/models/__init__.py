"""Floor 3: models and their training loops."""
from .sequential import Sequential  # noqa: F401
from .saving import CheckpointError, load_model, save_model  # noqa: F401
