"""Weight and activity regularizers: a penalty added to the loss, and its gradient.

    L1(l1)          penalty = l1 * sum |w|             gradient = l1 * sign(w)
    L2(l2)          penalty = l2 * sum w^2             gradient = 2 * l2 * w
    L1L2(l1, l2)    the sum of both (elastic net)

Keras conventions: no 1/2 in front of the L2 term, defaults l1 = l2 = 0.01. sign(0) = 0 is the
subgradient of |w| used at w = 0. A regularizer called on an array returns (penalty, gradient):

    penalty, grad = nnc.regularizers.L2(1e-4)(W)

Layers take them as `kernel_regularizer=`, `bias_regularizer=`, `activity_regularizer=` (an
instance, a name "l1"/"l2"/"l1_l2", or a config dict); the penalties appear in the reported loss.
"""
from typing import Any

import numpy as np

from ._names import Registered, Registry
from .validation import check_number

REGULARIZERS = Registry("regularizer")


class Regularizer(Registered):
    """Base class of the regularizers: a penalty R(w) added to the loss and its gradient dR/dw.

    reg(w) returns (penalty, gradient): a float, and an array shaped and typed like w. A layer with
    kernel_regularizer=R adds R(W) to the loss, L = data_loss + R(W), and dR/dW to W's gradient
    (bias_regularizer likewise for b); activity_regularizer=R adds R(out) / N for its output out of a
    batch of N samples, and (dR/dout) / N to the gradient flowing back into it. A subclass
    implements penalty and gradient."""
    registry = REGULARIZERS

    def penalty(self, w):
        """The scalar added to the loss (a Python float)."""
        raise NotImplementedError

    def gradient(self, w):
        """d(penalty)/dw, an array shaped and typed like w."""
        raise NotImplementedError

    def __call__(self, w):
        return self.penalty(w), self.gradient(w)

    def get_config(self):
        """Constructor arguments, JSON-serializable: `type(reg)(**reg.get_config())` rebuilds it."""
        return {}

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


class L1L2(Regularizer):
    """Elastic net: l1 * sum |w| + l2 * sum w^2."""
    aliases: tuple[str, ...] = ("l1_l2", "elastic_net")

    def __init__(self, l1=0.0, l2=0.0):
        name = type(self).__name__
        self.l1 = check_number(name, "l1", l1, minimum=0)
        self.l2 = check_number(name, "l2", l2, minimum=0)

    def penalty(self, w):
        w = np.asarray(w, dtype=np.float64)  # sum in float64: the penalty is reported, not trained on
        return float(self.l1 * np.abs(w).sum() + self.l2 * np.square(w).sum())

    def gradient(self, w):
        g = np.zeros_like(w)
        if self.l1:
            g += np.asarray(self.l1, w.dtype) * np.sign(w)
        if self.l2:
            g += np.asarray(2 * self.l2, w.dtype) * w
        return g

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """Lasso: l1 * sum |w| (pushes weights to exactly zero)."""
    aliases = ("l1",)

    def __init__(self, l1=0.01):
        super().__init__(l1=l1, l2=0.0)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """Weight decay / ridge: l2 * sum w^2."""
    aliases = ("l2",)

    def __init__(self, l2=0.01):
        super().__init__(l1=0.0, l2=l2)

    def get_config(self):
        return {"l2": self.l2}


def l1_l2(l1=0.01, l2=0.01):
    """Keras' shortcut with both terms at 0.01 by default."""
    return L1L2(l1=l1, l2=l2)


def get(identifier: "str | dict[str, Any] | Regularizer | None") -> "Regularizer | None":
    """A Regularizer from None, an instance, a name ("l1", "l2", "l1_l2") or {"class_name", "config"}."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, dict):
        return REGULARIZERS[identifier.get("class_name", "")](**identifier.get("config", {}))
    if isinstance(identifier, str):
        if identifier.strip().lower() == "l1_l2":
            return l1_l2()
        return REGULARIZERS[identifier]()
    raise TypeError(f"regularizer must be None, a name ('l1', 'l2', 'l1_l2'), a Regularizer such as L2(1e-4) "
                    f"or a config dict, got {identifier!r}")


def serialize(reg: "Regularizer | None") -> dict[str, Any] | None:
    """The config dict of a Regularizer, {"class_name": ..., "config": reg.get_config()}, or None for
    None; get(serialize(reg)) builds an equal one."""
    return None if reg is None else {"class_name": type(reg).__name__, "config": reg.get_config()}
