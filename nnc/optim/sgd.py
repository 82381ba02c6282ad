"""Stochastic gradient descent."""
import numpy as np

from .base import Optimizer


class SGD(Optimizer):
    """theta <- theta - lr * g"""
    aliases = ("sgd",)

    def __init__(self, lr=0.01):
        super().__init__(lr)

    def update(self, key, param, grad):
        # In place, so layers and the optimizer keep pointing at the same array.
        param -= np.asarray(self.lr, param.dtype) * grad
