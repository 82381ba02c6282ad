"""Dense: the fully connected layer y = activation(x @ W + b)."""
from typing import Any, Sequence

import numpy as np

from ..validation import check_positive_int
from .kernel import ActivationArg, InitializerArg, KernelLayer, RegularizerArg


class Dense(KernelLayer):
    """Fully connected layer (Keras arguments).

        y = activation(x @ W + b),   x: (N, D), W: (D, units), b: (units,), y: (N, units)

    activation: None/"linear", a name ("relu", "softmax", ...) or an activation layer; it is applied
    inside this layer (fused), so `Dense(64, activation="relu")` == `Dense(64)` then `ReLU()`.
    kernel_regularizer / bias_regularizer / activity_regularizer: nnc.regularizers (L1, L2, L1L2)."""

    def __init__(self, units: int, activation: ActivationArg = None, use_bias: bool = True,
                 kernel_initializer: InitializerArg = "glorot_uniform", bias_initializer: InitializerArg = "zeros",
                 kernel_regularizer: RegularizerArg = None, bias_regularizer: RegularizerArg = None,
                 activity_regularizer: RegularizerArg = None, input_shape: Sequence[int] | None = None,
                 input_dim: int | None = None, **kwargs: Any) -> None:
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"Dense: units must be a positive integer (the number of outputs), got {units!r}")
        self.units = int(units)
        if input_dim is not None:
            input_shape = (check_positive_int("Dense", "input_dim", input_dim),)
        super().__init__(activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                         bias_regularizer, activity_regularizer, input_shape=input_shape, **kwargs)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 1:
            raise ValueError(f"{self.label} expects inputs of shape (N, features), got per-sample shape "
                             f"{tuple(input_shape)}; put a Flatten() layer before it")
        return (self.units,)

    def _weight_shapes(self):
        D = self.input_shape[0]
        return (D, self.units), self.units, D, self.units

    def _kernel_forward(self, kernels, x):
        return self._kernel(kernels.dense_forward, x, self.params["W"], self.params.get("b"))

    def _kernel_backward(self, kernels, dout):
        return self._kernel(kernels.dense_backward, dout, self._cache, need_dx=self.need_input_grad)

    def get_config(self):
        return {**super().get_config(), "units": self.units}
