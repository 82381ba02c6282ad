"""Floor 3: models and their training loops."""
from .sequential import Sequential  # noqa: F401
