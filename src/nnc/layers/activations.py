"""Activation layers: thin objects around the activation kernels of the active backend.

Each layer calls its kernel pair (`relu_forward(x)`, `relu_backward(dout, cache)`; the table
KERNELS below names every pair) in the active backend, looked up on every call (so switching
backends takes effect at once), and keeps the kernel's cache in `self._cache`. They have no
parameters except PReLU's `alpha`.

Use them as layers (`Sequential([Dense(64), ReLU()])`) or by name (`Dense(64, activation="relu")`:
Dense and Conv2D call `get("relu")` below). Defaults follow PyTorch where Keras differs:
LeakyReLU(alpha=0.01) (Keras uses 0.3), GELU is the exact erf form (GELU(approximate="tanh") or the
name "gelu_tanh" for the tanh approximation).
"""
import functools

import numpy as np

from .. import backend
from .._names import Registry
from ..validation import check_number
from .base import Layer

__all__ = ["Activation", "ReLU", "Sigmoid", "Tanh", "LeakyReLU", "PReLU", "ELU", "SELU", "GELU", "Swish", "SiLU",
           "Softplus", "Softsign", "Softmax", "Identity", "Linear", "Step", "get"]


# The kernel pair of each activation in a backend module (kernels = nnc.backend.get()), by the
# activation's kernel name: written out, so a search for relu_forward finds its caller.
KERNELS = {
    "identity": lambda kernels: (kernels.identity_forward, kernels.identity_backward),
    "step": lambda kernels: (kernels.step_forward, kernels.step_backward),
    "sigmoid": lambda kernels: (kernels.sigmoid_forward, kernels.sigmoid_backward),
    "tanh": lambda kernels: (kernels.tanh_forward, kernels.tanh_backward),
    "relu": lambda kernels: (kernels.relu_forward, kernels.relu_backward),
    "leaky_relu": lambda kernels: (kernels.leaky_relu_forward, kernels.leaky_relu_backward),
    "elu": lambda kernels: (kernels.elu_forward, kernels.elu_backward),
    "selu": lambda kernels: (kernels.selu_forward, kernels.selu_backward),
    "gelu": lambda kernels: (kernels.gelu_forward, kernels.gelu_backward),
    "gelu_tanh": lambda kernels: (kernels.gelu_tanh_forward, kernels.gelu_tanh_backward),
    "swish": lambda kernels: (kernels.swish_forward, kernels.swish_backward),
    "softplus": lambda kernels: (kernels.softplus_forward, kernels.softplus_backward),
    "softsign": lambda kernels: (kernels.softsign_forward, kernels.softsign_backward),
    "softmax": lambda kernels: (kernels.softmax_forward, kernels.softmax_backward),
}


class _ActivationLayer(Layer):
    """An activation without parameters: forward/backward call the kernel pair KERNELS[kernel]."""
    kernel: str     # the activation's kernel name (each subclass sets it), "relu" for relu_forward/relu_backward

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._cache = None     # ActivationCache of the last forward

    def _kernel_args(self):
        """Hyperparameters passed after x (alpha, axis); none by default."""
        return ()

    def forward(self, x, training=False):
        self._ensure_built(x)
        forward, _ = KERNELS[self.kernel](backend.get())
        out, self._cache = self._kernel(forward, x, *self._kernel_args())
        return out

    def backward(self, dout):
        _, backward = KERNELS[self.kernel](backend.get())
        return self._kernel(backward, dout, self._check_cache(self._cache))


def _simple(class_name, kernel, doc):
    cls = type(class_name, (_ActivationLayer,), {"kernel": kernel, "__doc__": doc, "__module__": __name__})
    return cls


ReLU = _simple("ReLU", "relu", "max(x, 0).")
Sigmoid = _simple("Sigmoid", "sigmoid", "1 / (1 + exp(-x)), stable for large |x|.")
Tanh = _simple("Tanh", "tanh", "tanh(x).")
SELU = _simple("SELU", "selu", "Scaled ELU with the constants of Klambauer et al. 2017.")
Swish = _simple("Swish", "swish", "x * sigmoid(x) (also called SiLU).")
SiLU = Swish
Softplus = _simple("Softplus", "softplus", "log(1 + exp(x)), stable.")
Softsign = _simple("Softsign", "softsign", "x / (1 + |x|).")
Identity = _simple("Identity", "identity", "The identity (Keras's 'linear' activation): out = x.")


def Linear(*args, **kwargs):
    """Not a layer in nnc: PyTorch's nn.Linear(in_features, out_features) is Dense(out_features) here (the
    input size is inferred), and the identity activation is Identity() / Activation("linear")."""
    units = args[1] if len(args) >= 2 else kwargs.get("out_features", "units")
    raise TypeError(f"nnc has no Linear(in_features, out_features) layer: use Dense({units}) (its input size "
                    f"is inferred from the data or the model's input_shape); for the identity activation "
                    f"use Identity() or activation='linear'")


class Step(_ActivationLayer):
    """Heaviside step: 1 where x >= 0 else 0. Forward only (the perceptron); backward raises."""
    kernel = "step"


class _WithAlpha(_ActivationLayer):
    """An activation with one number alpha, handed to its kernel and kept in its config (each
    subclass sets its default and its bounds)."""
    alpha: float

    def _kernel_args(self):
        return (self.alpha,)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class LeakyReLU(_WithAlpha):
    """x where x > 0 else alpha * x. alpha=0.01 as in PyTorch (Keras's default is 0.3)."""
    kernel = "leaky_relu"

    def __init__(self, alpha=0.01, **kwargs):
        super().__init__(**kwargs)
        self.alpha = check_number("LeakyReLU", "alpha", alpha, minimum=0)


class ELU(_WithAlpha):
    """x where x > 0 else alpha * (exp(x) - 1), alpha > 0."""
    kernel = "elu"

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = check_number("ELU", "alpha", alpha, minimum=0, strict=True)


class GELU(_ActivationLayer):
    """x * Phi(x), Phi the standard normal CDF: the exact erf form. approximate="tanh" takes the
    tanh approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) instead, as PyTorch's
    nn.GELU(approximate="tanh"); the two differ by at most 4.7e-4 (at |x| = 2.7)."""
    kernel = "gelu"
    _KERNELS = {"none": "gelu", "tanh": "gelu_tanh"}

    def __init__(self, approximate="none", **kwargs):
        if not isinstance(approximate, str) or approximate not in self._KERNELS:
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        super().__init__(**kwargs)
        self.approximate = approximate
        self.kernel = self._KERNELS[approximate]

    def get_config(self):
        return {**super().get_config(), "approximate": self.approximate}


class Softmax(_ActivationLayer):
    """exp(x) / sum(exp(x)) along `axis` (default the last one, the classes of (N, K) scores)."""
    kernel = "softmax"

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"Softmax: axis must be an integer (-1, the last axis, for (N, classes) scores), "
                            f"got {axis!r}")
        self.axis = int(axis)

    def _kernel_args(self):
        return (self.axis,)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class PReLU(Layer):
    """x where x > 0 else alpha * x with a learned slope `alpha` per input position.

    alpha has the per-sample input shape, with size 1 along `shared_axes` (Keras's meaning: axes
    of the full input counted from 1 = the first axis after the batch), e.g. shared_axes=(2, 3)
    for NCHW images gives one slope per channel, alpha of shape (C, 1, 1). Initialized to
    `alpha_initializer` (0.25, the value of He et al. 2015)."""

    def __init__(self, alpha_initializer=0.25, shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = check_number("PReLU", "alpha_initializer", alpha_initializer)
        if shared_axes is None:
            shared_axes = ()
        elif isinstance(shared_axes, (int, np.integer)) and not isinstance(shared_axes, bool):
            shared_axes = (shared_axes,)
        if (not isinstance(shared_axes, (tuple, list))
                or any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) or a < 1 for a in shared_axes)):
            raise ValueError(f"PReLU: shared_axes must be None, an axis or a tuple of axes >= 1 (1 = the first "
                             f"axis after the batch; (2, 3) shares one slope per channel of NCHW images), "
                             f"got {shared_axes!r}")
        self.shared_axes = tuple(int(a) for a in shared_axes)
        self._cache = None

    def _build(self, rng):
        shape = list(self.input_shape)
        for a in self.shared_axes:
            if not 1 <= a <= len(shape):
                raise ValueError(f"{self.label}: shared_axes entry {a} is not an axis of the input "
                                 f"(1..{len(shape)} for per-sample shape {self.input_shape})")
            shape[a - 1] = 1
        self.params["alpha"] = np.full(shape, self.alpha_initializer, dtype=self.dtype)
        self.grads["alpha"] = np.zeros_like(self.params["alpha"])

    def forward(self, x, training=False):
        self._ensure_built(x)
        out, self._cache = self._kernel(backend.get().prelu_forward, x, self.params["alpha"])
        return out

    def backward(self, dout):
        dx, dalpha = self._kernel(backend.get().prelu_backward, dout, self._check_cache(self._cache))
        self.grads["alpha"][...] = dalpha     # in place: optimizers may hold a reference
        return dx

    def get_config(self):
        return {**super().get_config(), "alpha_initializer": self.alpha_initializer,
                "shared_axes": list(self.shared_axes)}


# ---- names ---------------------------------------------------------------------------------------

ACTIVATIONS = Registry("activation")    # Keras' names; "linear" (no activation) is handled by get
for _name, _make in {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh, "softmax": Softmax, "leaky_relu": LeakyReLU,
                     "prelu": PReLU, "elu": ELU, "selu": SELU, "gelu": GELU,
                     "gelu_tanh": functools.partial(GELU, approximate="tanh"), "swish": Swish, "silu": Swish,
                     "softplus": Softplus, "softsign": Softsign, "step": Step, "identity": Identity,
                     "linear": Identity}.items():
    ACTIVATIONS.add(_make, _name)


class Activation(_ActivationLayer):
    """An activation chosen by name, as in Keras: Activation("relu"). Its config is the name."""

    def __init__(self, activation, **kwargs):
        if not isinstance(activation, str):
            raise TypeError(f"Activation: activation must be a name such as 'relu', got {activation!r}")
        make = ACTIVATIONS[activation]
        kwargs.setdefault("name", activation.strip().lower())
        super().__init__(**kwargs)
        self.activation = activation.strip().lower()
        kernel = getattr(make(), "kernel", None)
        if kernel is None:
            raise ValueError(f"Activation: {activation!r} has a parameter; use the PReLU layer")
        self.kernel = kernel

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}


def get(identifier: "str | Layer | None") -> "Layer | None":
    """A new activation layer for a Keras name ("relu", "softmax", ...), None for "linear"/None
    (nothing to apply), or a Layer instance returned as is. Unknown names raise ValueError."""
    if identifier is None:
        return None
    if isinstance(identifier, Layer):
        return identifier
    if isinstance(identifier, str):
        if identifier.strip().lower() == "linear":
            return None
        return ACTIVATIONS[identifier]()
    raise TypeError(f"activation must be a name such as 'relu', an activation layer or None, got {identifier!r}")
