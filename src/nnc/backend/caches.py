"""The records a forward kernel hands to its backward kernel.

Both backends return these same types, so a cache made by one backend can be read (and printed)
the same way; named fields instead of positional tuples keep the backward pass readable.
"""
from typing import NamedTuple, Optional

import numpy as np


class DenseCache(NamedTuple):
    x: np.ndarray          # (N, D) input of the forward pass
    W: np.ndarray          # (D, M) weights
    use_bias: bool


class ActivationCache(NamedTuple):
    x: np.ndarray                  # input of the activation
    out: np.ndarray                # its output (sigmoid, tanh, softmax... reuse it in backward)
    alpha: Optional[object] = None  # slope/scale parameter where the activation has one (array for PReLU)
    axis: int = -1                  # softmax axis


class Conv2DCache(NamedTuple):
    x: np.ndarray          # (N, C_in, H, W) input of the forward pass (columns are rebuilt in backward)
    W: np.ndarray          # (C_out, C_in, kh, kw) weights
    use_bias: bool
    stride: tuple          # (sh, sw)
    padding: tuple         # (ph, pw)
    dilation: tuple        # (dh, dw)


class PoolCache(NamedTuple):
    x_shape: tuple                     # (N, C, H, W) of the forward input
    pool_size: tuple                   # (kh, kw); (H, W) for global average pooling
    stride: tuple                      # (sh, sw)
    padding: tuple                     # (ph, pw)
    argmax: Optional[np.ndarray] = None  # max pooling: (N, C, Ho, Wo) int32 flat index ih*W + iw in the plane


class LossCache(NamedTuple):
    loss: str                          # the loss that made it ("mse", "softmax_cross_entropy", ...)
    output: np.ndarray                 # model output: predictions, probabilities or logits
    target: np.ndarray                 # float targets shaped like output, or int64 class ids (N,)
    aux: Optional[np.ndarray] = None   # softmax probabilities of the fused softmax cross-entropy
    param: float = 0.0                 # delta (huber, multiclass hinge) or clipping eps

class DropoutCache(NamedTuple):
    keep: Optional[np.ndarray]  # bool mask: x.shape (dropout) or (N, C) (spatial); None = identity pass
    scale: float                # 1 / (1 - rate): kept units are scaled so E[out] = x (inverted dropout)
    spatial: bool = False       # True: keep[n, c] applies to the whole (H, W) plane


class BatchNormCache(NamedTuple):
    xhat: np.ndarray       # normalized input (x - mean) * inv_std, shaped like x
    gamma: np.ndarray      # (C,) scale used in the forward pass
    mean: np.ndarray       # (C,) mean used: the batch mean (training) or the running mean
    var: np.ndarray        # (C,) variance used: the biased batch variance or the running variance
    inv_std: np.ndarray    # (C,) 1 / sqrt(var + eps)
    training: bool         # True: batch statistics (they depend on x, and backward says so)
