"""Conv2D: the 2-D convolution layer, NCHW, y = activation(conv(x, W) + b)."""
from ..backend._checks import check_pair, check_positive_int
from .kernel import KernelLayer


def _padding(cls, padding):
    """'valid' / 'same' (any case) or an int / (ph, pw) >= 0, checked at construction."""
    if isinstance(padding, str):
        if padding.lower() not in ("valid", "same"):
            raise ValueError(f"{cls}: padding must be 'valid', 'same', an int or an (h, w) pair, got {padding!r}")
        return padding.lower()
    return check_pair(cls, "padding", padding, 0)


def check_data_format(cls, data_format):
    """nnc's images are NCHW: Keras' data_format is accepted only as None / "channels_first"."""
    if data_format not in (None, "channels_first"):
        hint = (": transpose NHWC images once with x.transpose(0, 3, 1, 2)" if data_format == "channels_last"
                else "")
        raise ValueError(f"{cls}: data_format must be None or 'channels_first' (nnc's images are "
                         f"(N, C, H, W)), got {data_format!r}{hint}")


def resolve_padding(layer, padding, size, k, s, d=(1, 1)):
    """Turn "valid" / "same" / int / (ph, pw) into per-side zero padding (ph, pw) for spatial `size` (H, W).

    "same" keeps Ho = ceil(H / sh) (Keras' output size) with the SAME padding on both sides (the kernels pad
    symmetrically): the smallest p with floor((H + 2p - d(k-1) - 1)/s) + 1 == ceil(H/s). For odd kernels at
    stride 1 that is p = d(k-1)/2; when no symmetric p exists (even kernel at stride 1) it raises."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return (0, 0)
        if mode != "same":
            raise ValueError(f"{layer}: padding must be 'valid', 'same', an int or an (h, w) pair, got {padding!r}")
        pads = []
        for n, kk, ss, dd in zip(size, k, s, d):
            want = -(-n // ss)
            p = next((p for p in range(dd * (kk - 1) + 1) if (n + 2 * p - dd * (kk - 1) - 1) // ss + 1 == want), None)
            if p is None:
                raise ValueError(f"{layer}: padding='same' needs an odd (dilated) kernel at this stride "
                                 f"(kernel {kk}, stride {ss}, size {n}); give the padding as an int")
            pads.append(p)
        return tuple(pads)
    return check_pair(layer, "padding", padding, 0)


def _conv_out(n, k, s, p, d=1):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


class Conv2D(KernelLayer):
    """2-D convolution over NCHW images (Keras arguments, PyTorch meanings of stride/padding/dilation).

        out[n, o] = activation(b[o] + sum_c W[o, c] (*) x[n, c]),   W: (filters, C_in, kh, kw)
        Ho = floor((H + 2ph - dh(kh-1) - 1) / sh) + 1, likewise Wo

    padding: "valid" (none), "same" (Ho = ceil(H/sh), symmetric zero padding) or an int / (ph, pw).
    activation is fused like Dense's: applied after the convolution in forward, undone first in backward."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1, activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 input_shape=None, data_format=None, **kwargs):
        check_data_format("Conv2D", data_format)
        super().__init__(activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                         bias_regularizer, activity_regularizer, input_shape=input_shape, **kwargs)
        self.filters = check_positive_int("Conv2D", "filters", filters)
        self.kernel_size = check_pair("Conv2D", "kernel_size", kernel_size, 1)
        self.strides = check_pair("Conv2D", "strides", strides, 1)
        self.dilation_rate = check_pair("Conv2D", "dilation_rate", dilation_rate, 1)
        self.padding = _padding("Conv2D", padding)
        self._pad = None       # (ph, pw) resolved at build time from the input size

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self.label} expects inputs (N, C, H, W), got per-sample shape {tuple(input_shape)}")
        C, H, W = input_shape
        p = resolve_padding(self.label, self.padding, (H, W), self.kernel_size, self.strides, self.dilation_rate)
        out = tuple(_conv_out(n, k, s, pp, d) for n, k, s, pp, d in
                    zip((H, W), self.kernel_size, self.strides, p, self.dilation_rate))
        if min(out) < 1:
            raise ValueError(f"{self.label}: kernel {self.kernel_size} (dilation {self.dilation_rate}) does not fit "
                             f"the input {tuple(input_shape)} padded by {p}")
        self._pad = p
        return (self.filters,) + out

    def _weight_shapes(self):
        kh, kw = self.kernel_size
        C_in = self.input_shape[0]
        return (self.filters, C_in, kh, kw), self.filters, C_in * kh * kw, self.filters * kh * kw

    def _kernel_forward(self, kernels, x):
        return self._kernel(kernels.conv2d_forward, x, self.params["W"], self.params.get("b"), self.strides, self._pad,
                                self.dilation_rate)

    def _kernel_backward(self, kernels, dout):
        return self._kernel(kernels.conv2d_backward, dout, self._cache, need_dx=self.need_input_grad)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides),
                "padding": self.padding if isinstance(self.padding, str) else list(self.padding),
                "dilation_rate": list(self.dilation_rate)}
