"""Dense: the fully connected layer y = activation(x @ W + b)."""
import numpy as np

from .. import backend, initializers
from .base import Layer


def _get_activation(identifier):
    from . import activations  # the activation layers (imported late: they import base too)
    return activations.get(identifier)


def _activation_config(act):
    if act is None:
        return None
    return act.get_config().get("activation", type(act).__name__.lower()) if type(act).__name__ == "Activation" \
        else {"class_name": type(act).__name__, "config": act.get_config()}


def _activation_from_config(cfg):
    if cfg is None or isinstance(cfg, str):
        return cfg
    from .base import get
    return get(cfg["class_name"]).from_config(cfg["config"])


class Dense(Layer):
    """Fully connected layer (Keras arguments).

        y = activation(x @ W + b),   x: (N, D), W: (D, units), b: (units,), y: (N, units)

    activation: None/"linear", a name ("relu", "softmax", ...) or an activation layer; it is applied
    inside this layer (fused), so `Dense(64, activation="relu")` == `Dense(64)` then `ReLU()`."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, input_shape=None, input_dim=None, **kwargs):
        if input_dim is not None:
            input_shape = (input_dim,)
        super().__init__(input_shape=input_shape, **kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = _get_activation(_activation_from_config(activation))
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = kernel_regularizer
        self.bias_regularizer = bias_regularizer
        self.activity_regularizer = activity_regularizer
        self._cache = None

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 1:
            raise ValueError(f"Dense expects inputs of shape (N, features), got per-sample shape {tuple(input_shape)}; "
                             "put a Flatten() layer before it")
        return (self.units,)

    def build(self, input_shape, dtype=np.float32, rng=None):
        out_shape = super().build(input_shape, dtype, rng)
        D = self.input_shape[0]
        self.params["W"] = self.kernel_initializer((D, self.units), self.dtype, rng, fan_in=D, fan_out=self.units)
        if self.use_bias:
            self.params["b"] = self.bias_initializer((self.units,), self.dtype, rng, fan_in=D, fan_out=self.units)
        if self.activation is not None:
            self.activation.build(out_shape, dtype, rng)
        return out_shape

    def forward(self, x, training=False):
        self._ensure_built(x)
        out, self._cache = backend.get().dense_forward(x, self.params["W"], self.params.get("b"))
        if self.activation is not None:
            out = self.activation.forward(out, training)
        return out

    def backward(self, dout):
        if self._cache is None:
            raise RuntimeError(f"{self.name}: backward() called before forward()")
        if self.activation is not None:
            dout = self.activation.backward(dout)
        dx, self.grads["W"], db = backend.get().dense_backward(dout, self._cache, need_dx=self.need_input_grad)
        if self.use_bias:
            self.grads["b"] = db
        return dx

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": _activation_config(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer)}
