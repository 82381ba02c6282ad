"""Conv2D: the 2-D convolution layer, NCHW, y = activation(conv(x, W) + b)."""
from typing import Any, Sequence

from ..validation import Pair, check_data_format, check_pair, check_padding, check_positive_int, layer_window
from .kernel import ActivationArg, InitializerArg, KernelLayer, RegularizerArg


class Conv2D(KernelLayer):
    """2-D convolution over NCHW images (Keras arguments, PyTorch meanings of stride/padding/dilation).

        out[n, o] = activation(b[o] + sum_c W[o, c] (*) x[n, c]),   W: (filters, C_in, kh, kw)
        Ho = floor((H + 2ph - dh(kh-1) - 1) / sh) + 1, likewise Wo

    padding: "valid" (none), "same" (Ho = ceil(H/sh), symmetric zero padding) or an int / (ph, pw).
    activation is fused like Dense's: applied after the convolution in forward, undone first in backward."""

    def __init__(self, filters: int, kernel_size: int | Pair, strides: int | Pair = 1,
                 padding: str | int | Pair = "valid", dilation_rate: int | Pair = 1, activation: ActivationArg = None,
                 use_bias: bool = True,
                 kernel_initializer: InitializerArg = "glorot_uniform", bias_initializer: InitializerArg = "zeros",
                 kernel_regularizer: RegularizerArg = None, bias_regularizer: RegularizerArg = None,
                 activity_regularizer: RegularizerArg = None, input_shape: Sequence[int] | None = None,
                 data_format: str | None = None, **kwargs: Any) -> None:
        check_data_format("Conv2D", data_format)
        super().__init__(activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                         bias_regularizer, activity_regularizer, input_shape=input_shape, **kwargs)
        self.filters = check_positive_int("Conv2D", "filters", filters)
        self.kernel_size = check_pair("Conv2D", "kernel_size", kernel_size, 1)
        self.strides = check_pair("Conv2D", "strides", strides, 1)
        self.dilation_rate = check_pair("Conv2D", "dilation_rate", dilation_rate, 1)
        self.padding = check_padding("Conv2D", padding)
        self._pad = None       # (ph, pw) resolved at build time from the input size

    def _window(self, input_shape):
        return layer_window(self.label, input_shape, self.kernel_size, self.strides, self.padding, self.dilation_rate)

    def compute_output_shape(self, input_shape):
        return (self.filters,) + self._window(input_shape).output

    def _build(self, rng):
        self._pad = self._window(self.input_shape).padding
        super()._build(rng)

    def _weight_shapes(self):
        kh, kw = self.kernel_size
        C_in = self.input_shape[0]
        return (self.filters, C_in, kh, kw), self.filters, C_in * kh * kw, self.filters * kh * kw

    def _kernel_forward(self, kernels, x):
        return self._kernel(kernels.conv2d_forward, x, self.params["W"], self.params.get("b"), self.strides,
                            self._pad, self.dilation_rate)

    def _kernel_backward(self, kernels, dout):
        return self._kernel(kernels.conv2d_backward, dout, self._cache, need_dx=self.need_input_grad)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides),
                "padding": self.padding if isinstance(self.padding, str) else list(self.padding),
                "dilation_rate": list(self.dilation_rate)}
