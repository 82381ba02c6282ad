"""KernelLayer: what Dense and Conv2D share.

A kernel W and an optional bias b created by initializers, an activation fused after the
kernel's output, and the three Keras regularizers:
    forward:   out = activation(kernel_op(x, W, b));   the activity penalty is recorded on out
    backward:  dout += d(activity penalty)/d(out);  dout = activation'(...);  then the kernel's
               backward gives dx, dW, db, and the weight penalties add their gradients to dW, db.
Subclasses supply the shapes (`_weight_shapes`) and the two kernel calls (`_kernel_forward`,
`_kernel_backward`); everything else is here once.
"""
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from .. import backend, initializers
from .base import Layer, _check_bool, _named_arg
from .base import get as get_layer_class

if TYPE_CHECKING:
    from ..regularizers import Regularizer

# What the layers' arguments accept: a Keras name, a config dict or the object (nnc.initializers.get,
# nnc.regularizers.get, nnc.layers.activations.get turn them into objects).
ActivationArg: TypeAlias = "str | Layer | None"
InitializerArg: TypeAlias = "str | dict[str, Any] | initializers.Initializer"
RegularizerArg: TypeAlias = "str | dict[str, Any] | Regularizer | None"


def _activation_config(act):
    if act is None:
        return None
    if type(act).__name__ == "Activation":
        return act.get_config().get("activation")
    return {"class_name": type(act).__name__, "config": act.get_config()}


def _activation_from_config(cfg):
    if cfg is None or isinstance(cfg, str) or not isinstance(cfg, dict):
        return cfg
    return get_layer_class(cfg["class_name"]).from_config(cfg["config"])


class KernelLayer(Layer):
    """Base class of Dense and Conv2D: a kernel W, an optional bias b, a fused activation f and the
    three regularizers.

        forward:   out = f(kernel_op(x, W, b))
                   Dense:  x (N, D), W (D, M), b (M,)  ->  x @ W + b  (N, M)
                   Conv2D: x (N, C_in, H, W), W (C_out, C_in, kh, kw), b (C_out,)  ->  (N, C_out, H', W')
        backward:  dout (plus the activity penalty's gradient) back through f gives dz (f'(z) * dout
                   for an elementwise f), the kernel's backward of dz gives dx, dW, db, and the
                   weight penalties add dR/dW, dR/db

    W and b are drawn by kernel_initializer (default glorot_uniform) and bias_initializer (default
    zeros) with the fan_in and fan_out of the subclass's shapes; use_bias=False drops b."""

    def __init__(self, activation: ActivationArg = None, use_bias: bool = True,
                 kernel_initializer: InitializerArg = "glorot_uniform", bias_initializer: InitializerArg = "zeros",
                 kernel_regularizer: RegularizerArg = None, bias_regularizer: RegularizerArg = None,
                 activity_regularizer: RegularizerArg = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from . import activations  # late: activation layers import base too
        from .. import regularizers  # late: regularizers live on floor 3 beside the models
        cls = type(self).__name__
        self.activation = _named_arg(cls, "activation", activations.get, _activation_from_config(activation))
        self.use_bias = _check_bool(cls, "use_bias", use_bias)
        self.kernel_initializer = _named_arg(cls, "kernel_initializer", initializers.get, kernel_initializer)
        self.bias_initializer = _named_arg(cls, "bias_initializer", initializers.get, bias_initializer)
        self.kernel_regularizer = _named_arg(cls, "kernel_regularizer", regularizers.get, kernel_regularizer)
        self.bias_regularizer = _named_arg(cls, "bias_regularizer", regularizers.get, bias_regularizer)
        self.activity_regularizer = _named_arg(cls, "activity_regularizer", regularizers.get, activity_regularizer)
        self._cache = None            # the kernel's cache record of the last forward
        self._activity_out: Any = None     # last output, kept only when an activity regularizer needs it
        self._activity_penalty = 0.0

    # ---- what a subclass provides ---------------------------------------------------------------
    def _weight_shapes(self):
        """(W shape, number of output units = bias length, fan_in, fan_out) for the built input shape."""
        raise NotImplementedError

    def _kernel_forward(self, kernels, x):
        """(out, cache) from the kernel of the backend module `kernels`."""
        raise NotImplementedError

    def _kernel_backward(self, kernels, dout):
        """(dx or None, dW, db or None) from the kernel of the backend module `kernels`, using self._cache."""
        raise NotImplementedError

    # ---- shared ------------------------------------------------------------------------------
    def _build(self, rng):
        W_shape, units, fan_in, fan_out = self._weight_shapes()
        self._check_param_size("W", W_shape)
        self.params["W"] = self.kernel_initializer(W_shape, self.dtype, rng, fan_in=fan_in, fan_out=fan_out)
        if self.use_bias:
            self.params["b"] = self.bias_initializer((units,), self.dtype, rng, fan_in=fan_in, fan_out=fan_out)
        if self.activation is not None:
            self.activation.build(self.output_shape, self.dtype, rng)

    def forward(self, x, training=False):
        self._ensure_built(x)
        out, self._cache = self._kernel_forward(backend.get(), x)
        if self.activation is not None:
            out = self.activation.forward(out, training)
        if self.activity_regularizer is not None:
            # Averaged over the batch (as Keras does): the penalty per sample does not grow with N.
            self._activity_penalty = self.activity_regularizer.penalty(out) / out.shape[0]
            self._activity_out = out
        return out

    def backward(self, dout):
        self._check_cache(self._cache)
        if self.activity_regularizer is not None:
            out = self._activity_out
            dout = dout + self.activity_regularizer.gradient(out) / np.asarray(out.shape[0], out.dtype)
        if self.activation is not None:
            dout = self.activation.backward(dout)
        dx, dW, db = self._kernel_backward(backend.get(), dout)
        self.grads["W"] = dW
        if self.use_bias:
            self.grads["b"] = db
        for reg, p in ((self.kernel_regularizer, "W"), (self.bias_regularizer, "b")):
            if reg is not None and p in self.grads:
                self.grads[p] = self.grads[p] + reg.gradient(self.params[p])
        return dx

    def regularization_loss(self):
        """Kernel and bias penalties on the current weights, plus the activity penalty of the last forward."""
        total = self._activity_penalty if self.activity_regularizer is not None else 0.0
        for reg, p in ((self.kernel_regularizer, "W"), (self.bias_regularizer, "b")):
            if reg is not None and p in self.params:
                total += reg.penalty(self.params[p])
        return float(total)

    def get_config(self):
        from .. import regularizers
        return {**super().get_config(), "activation": _activation_config(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer)}
