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


class LossCache(NamedTuple):
    loss: str                          # the loss that made it ("mse", "softmax_cross_entropy", ...)
    output: np.ndarray                 # model output: predictions, probabilities or logits
    target: np.ndarray                 # float targets shaped like output, or int64 class ids (N,)
    aux: Optional[np.ndarray] = None   # softmax probabilities of the fused softmax cross-entropy
    param: float = 0.0                 # delta (huber, multiclass hinge) or clipping eps
