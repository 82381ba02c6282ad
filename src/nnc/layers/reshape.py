"""Layers that only change the view of the data: Input and Flatten."""
import numpy as np

from .base import Layer, _check_input_shape


class Input(Layer):
    """Declares the per-sample input shape of a model: `Sequential([Input((1, 28, 28)), ...])`."""

    def __init__(self, shape, **kwargs):
        super().__init__(input_shape=_check_input_shape("Input", shape, "shape"), **kwargs)

    def forward(self, x, training=False):
        self._ensure_built(x)
        return x

    def backward(self, dout):
        return dout

    def get_config(self):
        cfg = super().get_config()
        cfg["shape"] = cfg.pop("input_shape")
        return cfg


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1*d2*...), row-major (C order), so NCHW flattens channel by channel."""

    def compute_output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)

    def forward(self, x, training=False):
        self._ensure_built(x)
        # A C-contiguous array reshapes without a copy; kernels downstream need C order anyway.
        return np.ascontiguousarray(x).reshape(x.shape[0], -1)

    def backward(self, dout):
        if not self.built:
            raise RuntimeError(f"{self.label}: backward() called before forward()")
        if not isinstance(dout, np.ndarray) or dout.shape[1:] != self.output_shape:
            raise ValueError(f"{self.label}: dout must have shape (N, {self.output_shape[0]}), got "
                             f"{getattr(dout, 'shape', type(dout).__name__)}")
        return dout.reshape((dout.shape[0],) + self.input_shape)
