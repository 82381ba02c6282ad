"""Dropout layers: inverted dropout in training, the identity in inference."""
import numpy as np

from .. import backend
from ..backend._checks import check_rate
from .base import Layer


class Dropout(Layer):
    """Zero each unit with probability `rate` during training and scale the rest by 1 / (1 - rate)
    (inverted dropout, Srivastava et al. 2014); `forward(x, training=False)` returns x unchanged.

    The masks are drawn from the numpy Generator the layer is built with: inside a Sequential that
    is the model's seeded `model.rng`, so a seed fixes them and a saved checkpoint resumes them."""
    _kernels = ("dropout_forward", "dropout_backward")

    def __init__(self, rate, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate(type(self).__name__, rate)
        self.rng = None
        self._cache = None

    def _build(self, rng):
        self.rng = rng if rng is not None else np.random.default_rng()

    def forward(self, x, training=False):
        self._ensure_built(x)
        out, self._cache = self._kernel(getattr(backend.get(), self._kernels[0]), x, self.rate, self.rng,
                                        training=training)
        return out

    def backward(self, dout):
        return self._kernel(getattr(backend.get(), self._kernels[1]), dout, self._check_cache(self._cache))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


class SpatialDropout2D(Dropout):
    """Dropout of whole feature maps: input (N, C, H, W), one keep/drop decision per (n, c)
    (Tompson et al. 2015). Neighbouring pixels are correlated, so dropping single pixels of a
    conv feature map regularizes little; dropping channels does."""
    _kernels = ("spatial_dropout2d_forward", "spatial_dropout2d_backward")

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"SpatialDropout2D expects inputs (N, C, H, W), got per-sample shape "
                             f"{tuple(input_shape)}")
        return tuple(input_shape)
