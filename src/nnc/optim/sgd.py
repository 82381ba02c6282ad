"""Stochastic gradient descent, with classic or Nesterov momentum as settings."""
from .. import backend
from ..validation import check_number
from .base import Optimizer


class SGD(Optimizer):
    """Plain, momentum and Nesterov SGD (the forms of Sutskever et al. 2013, as in Keras/CS231n):

        momentum = 0:      theta <- theta - lr * g
        classic momentum:  v <- mu * v - lr * g;   theta <- theta + v
        nesterov=True:     v <- mu * v - lr * g;   theta <- theta + mu * v - lr * g
    (the Nesterov line is the look-ahead update rewritten in terms of the current parameters).
    v starts at zero. Options of the base class (clipping, schedules) apply."""
    aliases = ("sgd",)

    def __init__(self, lr=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(lr, **kwargs)
        self.momentum = check_number(type(self).__name__, "momentum", momentum, minimum=0, maximum=1, strict=False)
        if self.momentum >= 1:
            raise ValueError(f"{type(self).__name__}: momentum must satisfy 0 <= momentum < 1, got {momentum!r}")
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum == 0:
            raise ValueError(f"{type(self).__name__}: nesterov=True needs momentum > 0")

    def update(self, key, param, grad):
        if self.momentum == 0:
            backend.get().axpy(-self.lr, grad, param)
        else:
            backend.get().sgd_momentum_update(param, grad, self._slot(key, "velocity", param), self.lr,
                                              self.momentum, self.nesterov)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Momentum(SGD):
    """SGD with classic momentum, mu = 0.9 by default (Polyak 1964)."""
    aliases = ("momentum",)

    def __init__(self, lr=0.01, momentum=0.9, nesterov=False, **kwargs):
        super().__init__(lr, momentum=momentum, nesterov=nesterov, **kwargs)


class Nesterov(SGD):
    """SGD with Nesterov momentum, mu = 0.9 by default (Nesterov 1983, Sutskever et al. 2013)."""
    aliases = ("nesterov",)

    def __init__(self, lr=0.01, momentum=0.9, nesterov=True, **kwargs):
        super().__init__(lr, momentum=momentum, nesterov=nesterov, **kwargs)
