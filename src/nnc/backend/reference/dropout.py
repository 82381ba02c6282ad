"""Dropout, reference: inverted dropout (Srivastava et al. 2014, as in CS231n).

Training:   keep ~ Bernoulli(1 - rate) per unit (per channel for spatial dropout)
            out = x * keep / (1 - rate)          so E[out] = x and inference needs no rescaling
Inference:  out = x
Backward:   dx = dout * keep / (1 - rate)
The mask comes from the numpy Generator the caller passes, drawn by nnc.backend.masks.draw_keep
(keep = rng.random(shape) >= rate), the one function every backend uses, so a seed gives the same
mask in each.
"""
import numpy as np

from .._cache_checks import check_dropout_cache
from .._checks import check_dropout
from ..caches import DropoutCache
from ..masks import draw_keep

__all__ = ["dropout_forward", "dropout_backward", "spatial_dropout2d_forward", "spatial_dropout2d_backward"]


def dropout_forward(x, rate, rng, training=True):
    """x: any shape -> (out like x, DropoutCache). Draws one uniform per element from rng (training, rate > 0)."""
    rate = check_dropout("dropout_forward", x, rate, rng, training)
    if not training or rate == 0:
        return x, DropoutCache(None, 1.0, False)   # identity: nothing drawn, the rng is untouched
    keep = draw_keep(rng, x.shape, rate)
    scale = 1.0 / (1.0 - rate)
    out = np.where(keep, x * x.dtype.type(scale), x.dtype.type(0))
    return out, DropoutCache(keep, scale, False)


def dropout_backward(dout, cache):
    """dout like x -> dx = dout * keep * scale (the same mask: dropped units pass no gradient)."""
    keep, scale, spatial = check_dropout_cache("dropout_backward", dout, cache)
    if keep is None:
        return dout
    if spatial:
        keep = keep[:, :, None, None]          # one decision per (sample, channel) plane
    return np.where(keep, dout * dout.dtype.type(scale), dout.dtype.type(0))


def spatial_dropout2d_forward(x, rate, rng, training=True):
    """x: (N, C, H, W) -> (out, DropoutCache). Drops whole channels: one uniform per (n, c)
    (Tompson et al. 2015), because neighbouring pixels of a feature map are strongly correlated."""
    rate = check_dropout("spatial_dropout2d_forward", x, rate, rng, training, spatial=True)
    if not training or rate == 0:
        return x, DropoutCache(None, 1.0, True)
    keep = draw_keep(rng, x.shape[:2], rate)
    scale = 1.0 / (1.0 - rate)
    out = np.where(keep[:, :, None, None], x * x.dtype.type(scale), x.dtype.type(0))
    return out, DropoutCache(keep, scale, True)


def spatial_dropout2d_backward(dout, cache):
    """dout: (N, C, H, W) -> dx."""
    return dropout_backward(dout, cache)
