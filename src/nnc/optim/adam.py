"""Adam and AdamW."""
from .. import backend
from ..validation import check_number
from .adaptive import _rate
from .base import Optimizer


class Adam(Optimizer):
    """Kingma & Ba 2015, Algorithm 1 (t = 1, 2, ... counts updates):

        m <- b1 * m + (1 - b1) * g          v <- b2 * v + (1 - b2) * g^2
        m_hat = m / (1 - b1^t)              v_hat = v / (1 - b2^t)
        theta <- theta - lr * m_hat / (sqrt(v_hat) + eps)

    Defaults lr = 0.001, b1 = 0.9, b2 = 0.999, eps = 1e-8 (the paper's)."""
    aliases = ("adam",)
    weight_decay = 0.0      # none: the decoupled decay is AdamW's

    def __init__(self, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8, **kwargs):
        super().__init__(lr, **kwargs)
        name = type(self).__name__
        self.beta_1 = _rate(name, "beta_1", beta_1)
        self.beta_2 = _rate(name, "beta_2", beta_2)
        self.epsilon = check_number(name, "epsilon", epsilon, minimum=0, strict=True)

    def update(self, key, param, grad):
        # t = iterations + 1: the base class counts steps after they are done
        backend.get().adam_update(param, grad, self._slot(key, "m", param), self._slot(key, "v", param), self.lr,
                                  self.beta_1, self.beta_2, self.epsilon, self.iterations + 1, self.weight_decay)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019), in PyTorch's form:

        theta <- theta - lr * weight_decay * theta        (first, on the current weights)
        theta <- theta - lr * m_hat / (sqrt(v_hat) + eps) (then the Adam step, which never sees the decay)

    Unlike an L2 regularizer, the decay is not scaled by Adam's per-parameter step size.
    Default weight_decay = 0.01. It applies to every trainable parameter the optimizer updates."""
    aliases = ("adamw",)

    def __init__(self, lr=0.001, weight_decay=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-8, **kwargs):
        super().__init__(lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, **kwargs)
        self.weight_decay = check_number("AdamW", "weight_decay", weight_decay, minimum=0)

    def get_config(self):
        return {**super().get_config(), "weight_decay": self.weight_decay}
