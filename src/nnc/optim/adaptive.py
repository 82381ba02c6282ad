"""Optimizers with per-parameter adaptive step sizes: AdaGrad, RMSprop, AdaDelta.

All state starts at zero (AdaGrad: at initial_accumulator_value) and is updated in place."""
import numpy as np

from .. import backend
from ..validation import check_number
from .base import Optimizer


def _rate(name, arg, v):
    v = check_number(name, arg, v, minimum=0, maximum=1)
    if v >= 1:
        raise ValueError(f"{name}: {arg} must satisfy 0 <= {arg} < 1, got {v!r}")
    return v


class AdaGrad(Optimizer):
    """Duchi, Hazan & Singer 2011:

        G <- G + g^2;    theta <- theta - lr * g / (sqrt(G) + eps)

    Defaults lr = 0.01, eps = 1e-8, G0 = 0 (PyTorch's; Keras starts G at 0.1)."""
    aliases = ("adagrad",)

    def __init__(self, lr=0.01, epsilon=1e-8, initial_accumulator_value=0.0, **kwargs):
        super().__init__(lr, **kwargs)
        self.epsilon = check_number("AdaGrad", "epsilon", epsilon, minimum=0, strict=True)
        self.initial_accumulator_value = check_number("AdaGrad", "initial_accumulator_value",
                                                      initial_accumulator_value, minimum=0)

    def update(self, key, param, grad):
        new = key not in self.state
        G = self._slot(key, "accumulator", param)
        if new and self.initial_accumulator_value:
            G += np.asarray(self.initial_accumulator_value, param.dtype)
        backend.get().adagrad_update(param, grad, G, self.lr, self.epsilon)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon,
                "initial_accumulator_value": self.initial_accumulator_value}


class RMSprop(Optimizer):
    """Tieleman & Hinton 2012 (Coursera lecture 6e):

        E <- rho * E + (1 - rho) * g^2;    theta <- theta - lr * g / (sqrt(E) + eps)

    Defaults lr = 0.001, rho = 0.9 (the lecture's), eps = 1e-7 (Keras')."""
    aliases = ("rmsprop",)

    def __init__(self, lr=0.001, rho=0.9, epsilon=1e-7, **kwargs):
        super().__init__(lr, **kwargs)
        self.rho = _rate("RMSprop", "rho", rho)
        self.epsilon = check_number("RMSprop", "epsilon", epsilon, minimum=0, strict=True)

    def update(self, key, param, grad):
        backend.get().rmsprop_update(param, grad, self._slot(key, "mean_square", param), self.lr, self.rho,
                                     self.epsilon)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class AdaDelta(Optimizer):
    """Zeiler 2012, Algorithm 1:

        Eg  <- rho * Eg + (1 - rho) * g^2
        dx  =  -sqrt(Edx + eps) / sqrt(Eg + eps) * g
        Edx <- rho * Edx + (1 - rho) * dx^2
        theta <- theta + lr * dx

    Defaults rho = 0.95, eps = 1e-6 (the paper's) and lr = 1.0 (the paper has no learning rate)."""
    aliases = ("adadelta",)

    def __init__(self, lr=1.0, rho=0.95, epsilon=1e-6, **kwargs):
        super().__init__(lr, **kwargs)
        self.rho = _rate("AdaDelta", "rho", rho)
        self.epsilon = check_number("AdaDelta", "epsilon", epsilon, minimum=0, strict=True)

    def update(self, key, param, grad):
        backend.get().adadelta_update(param, grad, self._slot(key, "mean_square_grad", param),
                                      self._slot(key, "mean_square_delta", param), self.lr, self.rho, self.epsilon)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


# Keras' spellings of the same classes.
Adagrad = AdaGrad
Adadelta = AdaDelta
