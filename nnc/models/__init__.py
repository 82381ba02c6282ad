"""Floor 3: models."""
from .perceptron import Perceptron
