"""Pooling layers over NCHW images: MaxPool2D, AvgPool2D, GlobalAveragePooling2D (no parameters)."""
from typing import Any, Sequence

from .. import backend
from ..validation import Pair, check_data_format, check_pair, check_padding, layer_window
from .base import Layer


class _Pool2D(Layer):
    """Shared by MaxPool2D and AvgPool2D: window pool_size, strides (default pool_size), padding
    "valid" / "same" (Ho = ceil(H/sh), symmetric, at most half the window) / int / (ph, pw)."""

    @staticmethod
    def _kernels(kernels):
        """The kernel pair in the backend module `kernels` (nnc.backend.get())."""
        raise NotImplementedError

    def __init__(self, pool_size: int | Pair = 2, strides: int | Pair | None = None,
                 padding: str | int | Pair = "valid", input_shape: Sequence[int] | None = None,
                 data_format: str | None = None, **kwargs: Any) -> None:
        cls = type(self).__name__
        check_data_format(cls, data_format)
        super().__init__(input_shape=input_shape, **kwargs)
        self.pool_size = check_pair(cls, "pool_size", pool_size, 1)
        self.strides = self.pool_size if strides is None else check_pair(cls, "strides", strides, 1)
        self.padding = check_padding(cls, padding)
        self._pad = None       # (ph, pw) resolved at build time from the input size
        self._cache = None

    def _window(self, input_shape):
        window = layer_window(self.label, input_shape, self.pool_size, self.strides, self.padding, what="pool")
        p = window.padding
        if p[0] > self.pool_size[0] // 2 or p[1] > self.pool_size[1] // 2:
            raise ValueError(f"{self.label}: padding {p} must be at most half the pool size {self.pool_size}")
        return window

    def compute_output_shape(self, input_shape):
        window = self._window(input_shape)
        return (input_shape[0],) + window.output

    def _build(self, rng):
        self._pad = self._window(self.input_shape).padding

    def forward(self, x, training=False):
        self._ensure_built(x)
        forward, _ = self._kernels(backend.get())
        out, self._cache = self._kernel(forward, x, self.pool_size, self.strides, self._pad)
        return out

    def backward(self, dout):
        _, backward = self._kernels(backend.get())
        return self._kernel(backward, dout, self._check_cache(self._cache))

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding if isinstance(self.padding, str) else list(self.padding)}


class MaxPool2D(_Pool2D):
    """Max over each window; padded cells never win; ties go to the first cell in row-major order and
    backward routes each gradient to that cell (argmax kept from forward)."""

    @staticmethod
    def _kernels(kernels):
        return kernels.maxpool2d_forward, kernels.maxpool2d_backward


class AvgPool2D(_Pool2D):
    """Mean over each window, always divided by pool_h*pool_w (padded cells count as zeros, PyTorch's default)."""

    @staticmethod
    def _kernels(kernels):
        return kernels.avgpool2d_forward, kernels.avgpool2d_backward


class GlobalAveragePooling2D(Layer):
    """(N, C, H, W) -> (N, C): the mean of every channel plane (often replaces Flatten + Dense)."""

    def __init__(self, input_shape: Sequence[int] | None = None, data_format: str | None = None,
                 **kwargs: Any) -> None:
        check_data_format(type(self).__name__, data_format)
        super().__init__(input_shape=input_shape, **kwargs)
        self._cache = None

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self.label} expects inputs (N, C, H, W), got per-sample shape "
                             f"{tuple(input_shape)}")
        return (input_shape[0],)

    def forward(self, x, training=False):
        self._ensure_built(x)
        out, self._cache = self._kernel(backend.get().global_avgpool2d_forward, x)
        return out

    def backward(self, dout):
        return self._kernel(backend.get().global_avgpool2d_backward, dout, self._check_cache(self._cache))


MaxPooling2D = MaxPool2D          # Keras' longer names
AveragePooling2D = AvgPool2D
