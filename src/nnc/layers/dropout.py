"""Dropout layers: inverted dropout in training, the identity in inference."""
from typing import Any, Sequence

import numpy as np

from .. import backend
from ..validation import check_rate
from .base import Layer


class Dropout(Layer):
    """Zero each unit with probability `rate` during training and scale the rest by 1 / (1 - rate)
    (inverted dropout, Srivastava et al. 2014); `forward(x, training=False)` returns x unchanged.

    noise_shape (Keras): None (one decision per unit) or the shape of the mask including the batch
    axis, broadcast to x: an entry 1 shares one decision along that axis, None takes x's size.
    For x (N, T, F), noise_shape=(None, 1, None) drops the same features at every step T.

    The masks are drawn from the numpy Generator the layer is built with: inside a Sequential that
    is the model's seeded `model.rng`, so a seed fixes them and a saved checkpoint resumes them.
    seed=int gives the layer its own Generator `np.random.default_rng(seed)` instead (Keras' seed),
    the same masks whatever the model's seed (its state is the layer's, in `layer.rng`)."""

    @staticmethod
    def _kernels(kernels):
        """The kernel pair in the backend module `kernels` (nnc.backend.get())."""
        return kernels.dropout_forward, kernels.dropout_backward

    def __init__(self, rate: float, noise_shape: Sequence[int | None] | None = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.rate = check_rate(cls, rate)
        if noise_shape is not None:
            ok = isinstance(noise_shape, (tuple, list)) and len(noise_shape) >= 2 and all(
                d is None or (not isinstance(d, bool) and isinstance(d, (int, np.integer)) and d >= 1)
                for d in noise_shape)
            if not ok:
                raise ValueError(f"{cls}: noise_shape must be None or a tuple with the batch axis, of positive "
                                 f"ints or None (None: x's size, 1: one decision shared along that axis), "
                                 f"e.g. (None, 1, 64); got {noise_shape!r}")
            noise_shape = tuple(None if d is None else int(d) for d in noise_shape)
        self.noise_shape = noise_shape
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"{cls}: seed must be None or an integer >= 0, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self.rng = None if seed is None else np.random.default_rng(self.seed)
        self._cache = None
        self._noise = None     # the broadcast mask (keep / (1 - rate)) when noise_shape is set

    def compute_output_shape(self, input_shape):
        if self.noise_shape is not None:
            ns = self.noise_shape[1:]
            if len(ns) != len(input_shape) or any(d not in (None, 1, n) for d, n in zip(ns, input_shape)):
                raise ValueError(f"{self.label}: noise_shape {self.noise_shape} does not broadcast to inputs "
                                 f"(N, {', '.join(map(str, input_shape))}): each entry after the batch axis "
                                 f"must be None, 1 or the input's size")
        return tuple(input_shape)

    def _build(self, rng):
        if self.rng is None:
            self.rng = rng

    def build(self, input_shape, dtype=np.float32, rng=None):
        out = super().build(input_shape, dtype, rng)
        if self.seed is None and rng is not None:
            # Moved into another model (already built): draw from that model's generator, so its seed
            # and its checkpoints still fix the masks.
            self.rng = rng
        return out

    def forward(self, x, training=False):
        self._ensure_built(x)
        forward, _ = self._kernels(backend.get())
        if self.noise_shape is None or not training or self.rate == 0:
            out, self._cache = self._kernel(forward, x, self.rate, self.rng, training=training)
            self._noise = None
            return out
        N = self.noise_shape[0]
        if N not in (None, 1, x.shape[0]):
            raise ValueError(f"{self.label}: noise_shape {self.noise_shape} has batch entry {N} but the batch "
                             f"has {x.shape[0]} samples; use None")
        shape = tuple(n if d is None else d for d, n in zip(self.noise_shape, x.shape))
        # The kernel draws the small mask (scaled by 1 / (1 - rate)); broadcasting spreads it over x.
        noise, cache = self._kernel(forward, np.ones(shape, x.dtype), self.rate, self.rng, training=True)
        self._cache, self._noise = cache, noise
        return x * noise

    def backward(self, dout):
        cache = self._check_cache(self._cache)
        if self._noise is None:
            _, backward = self._kernels(backend.get())
            return self._kernel(backward, dout, cache)
        if not isinstance(dout, np.ndarray) or dout.shape[1:] != self.input_shape or dout.dtype != self.dtype:
            raise ValueError(f"{self.label}: dout must be a {self.dtype} array of shape (N, "
                             f"{', '.join(map(str, self.input_shape))}), got "
                             f"{getattr(dout, 'shape', type(dout).__name__)}")
        return dout * self._noise

    def get_config(self):
        return {**super().get_config(), "rate": self.rate,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape), "seed": self.seed}


class SpatialDropout2D(Dropout):
    """Dropout of whole feature maps: input (N, C, H, W), one keep/drop decision per (n, c)
    (Tompson et al. 2015). Neighbouring pixels are correlated, so dropping single pixels of a
    conv feature map regularizes little; dropping channels does. (Dropout(rate, noise_shape=(None, None,
    1, 1)) draws the same kind of mask.)"""

    @staticmethod
    def _kernels(kernels):
        return kernels.spatial_dropout2d_forward, kernels.spatial_dropout2d_backward

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(rate, seed=seed, **kwargs)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self.label} expects inputs (N, C, H, W), got per-sample shape "
                             f"{tuple(input_shape)}")
        return tuple(input_shape)

    def get_config(self):
        cfg = super().get_config()
        del cfg["noise_shape"]
        return cfg
