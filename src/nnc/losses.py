"""Loss objects: `forward(output, target) -> mean loss (float)` and `backward() -> d(loss)/d(output)`.

The training loop, written out:
    out = model.forward(x)
    loss = loss_fn.forward(out, y)
    model.backward(loss_fn.backward())

Each object calls the active backend's `<loss>_forward` / `<loss>_backward` on every call and
keeps the cache in `self._cache`. Targets are converted once to the output's dtype (float targets)
here, so `y` may come as float64 or int while the model computes in float32; the kernels
themselves insist on matching dtypes.

Names as in Keras (`get("mse")`, `compile(loss="sparse_categorical_crossentropy")`), plus nnc's
"softmax_cross_entropy", "multiclass_hinge" and "ova_hinge". Means: elementwise losses (MSE, MAE,
Huber, binary cross-entropy) average over every element; class losses sum over the classes of a
sample and average over the batch. Probabilities are clipped to [1e-7, 1 - 1e-7] before a log.

`from_logits`: nnc models usually end in a Dense layer without activation, i.e. they output
logits. The Keras default from_logits=False (the output is already probabilities, e.g. after a
Softmax layer) is kept for compatibility; pass from_logits=True, or use SoftmaxCrossEntropy /
"softmax_cross_entropy", for the fused and numerically stable path on logits. Sequential.fit
refuses a probability loss after a layer that outputs logits.

Labels, deliberately lenient: CategoricalCrossentropy, SparseCategoricalCrossentropy and
SoftmaxCrossEntropy all take class ids (N,) or (N, 1) AND one-hot/probability rows (N, K), and
compute the same loss from either (Keras accepts only one form per loss). Sequential.fit checks
ids against the number of outputs before training. docs/conventions.md lists the defaults.

`reduction=` (every loss; the kernels always return their mean, and the loss object scales the value
and the gradient by the same factor). A batch of N samples with K terms each (K = outputs per sample):
    "mean" (default)        elementwise losses: the mean over all N*K terms; per-sample losses: the mean
                            of the N per-sample sums (what every loss did before reduction= existed)
    "sum"                   the sum of all terms (N*K for elementwise losses; N per-sample sums otherwise)
    "sum_over_batch_size"   the sum of all terms divided by N: each sample's terms summed, averaged over
                            the batch. For a per-sample loss this equals "mean".
So MeanSquaredError(reduction="sum_over_batch_size") is 1/N sum_n ||y_hat_n - y_n||^2, and HalfSquaredError
("half_squared_error") is the lectures' squared error 1/2 ||y_hat - y||^2 per sample, averaged over the batch.
Keras's names differ slightly: its MSE first averages each sample over its last axis, so Keras's
"sum_over_batch_size" MSE is nnc's "mean"; PyTorch's "mean" and "sum" are nnc's.
"""
from typing import Any

import numpy as np

from . import backend
from ._names import Registered, Registry, unknown_name

__all__ = ["Loss", "MeanSquaredError", "HalfSquaredError", "MeanAbsoluteError", "Huber", "BinaryCrossentropy",
           "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "SoftmaxCrossEntropy", "MulticlassHinge",
           "OneVsAllHinge",
           "KLDivergence", "REDUCTIONS", "get"]

REDUCTIONS = ("mean", "sum", "sum_over_batch_size")


def _float_target(target, output):
    """Float targets in the output's dtype and shape. (N,) targets for an (N, 1) output (one
    sigmoid unit, binary labels) are reshaped, as Keras does. Copies only when needed."""
    t = np.ascontiguousarray(target, dtype=output.dtype)
    if t.shape != output.shape and output.ndim == 2 and output.shape[1] == 1 and t.shape == (output.shape[0],):
        t = t.reshape(output.shape)
    return t


def _class_target(target, output):
    """Class ids (N,) or (N, 1) stay as given (the kernel checks and converts them); rows
    (N, K) are converted to the output's dtype."""
    t = np.asarray(target)
    if t.ndim == 2 and t.shape[1] == 1 and output.ndim == 2 and output.shape[1] != 1:
        return t.reshape(-1)           # Keras allows (N, 1) sparse labels
    if t.ndim == 2:
        return np.ascontiguousarray(t, dtype=output.dtype)
    return t


def _check_reduction(owner, reduction):
    if not isinstance(reduction, str) or reduction.strip().lower() not in REDUCTIONS:
        err = unknown_name("reduction", reduction, REDUCTIONS)
        raise ValueError(f"{owner}: {err}; pass reduction='mean' (the default), 'sum' or 'sum_over_batch_size'")
    return reduction.strip().lower()


# The kernel pair of each loss in a backend module (kernels = nnc.backend.get()), by the loss's
# kernel name: written out, so a search for mse_forward finds its caller.
KERNELS = {
    "mse": lambda kernels: (kernels.mse_forward, kernels.mse_backward),
    "mae": lambda kernels: (kernels.mae_forward, kernels.mae_backward),
    "huber": lambda kernels: (kernels.huber_forward, kernels.huber_backward),
    "binary_crossentropy": lambda kernels: (kernels.binary_crossentropy_forward,
                                            kernels.binary_crossentropy_backward),
    "binary_crossentropy_with_logits": lambda kernels: (kernels.binary_crossentropy_with_logits_forward,
                                                        kernels.binary_crossentropy_with_logits_backward),
    "categorical_crossentropy": lambda kernels: (kernels.categorical_crossentropy_forward,
                                                 kernels.categorical_crossentropy_backward),
    "softmax_cross_entropy": lambda kernels: (kernels.softmax_cross_entropy_forward,
                                              kernels.softmax_cross_entropy_backward),
    "multiclass_hinge": lambda kernels: (kernels.multiclass_hinge_forward, kernels.multiclass_hinge_backward),
    "ova_hinge": lambda kernels: (kernels.ova_hinge_forward, kernels.ova_hinge_backward),
    "kl_divergence": lambda kernels: (kernels.kl_divergence_forward, kernels.kl_divergence_backward),
}
LOSS_CLASSES = Registry("loss class", exact=True)     # every Loss subclass, by class name (saved configs)


class Loss(Registered):
    """Base class: subclasses name their kernel pair and say how targets are prepared.

    reduction: "mean" | "sum" | "sum_over_batch_size" (the module docstring defines each)."""
    registry = LOSS_CLASSES
    kernel = ""            # "mse": KERNELS["mse"], backend.mse_forward / backend.mse_backward
    name = "loss"
    class_target = False   # True: targets may be class ids (N,)
    elementwise = False    # True: the kernel's mean is over every element; False: over the N samples
    scale = 1.0            # the loss is scale * the kernel's (HalfSquaredError: 1/2 of a sum)

    def __init__(self, reduction: str = "mean") -> None:
        self.reduction = _check_reduction(type(self).__name__, reduction)
        self._cache = None
        self._factor = 1.0     # what forward multiplied the kernel's mean by; backward scales the same

    def _reduction_factor(self, output):
        """The factor from the kernel's mean to this loss under self.reduction."""
        n = output.shape[0] if output.ndim else 1
        if not n or not output.size:
            return self.scale
        terms = output.size if self.elementwise else n      # what the kernel's mean divides by
        per_sample = self._per_sample_terms(output)         # terms one sample of this loss sums over
        if self.reduction == "sum":
            return self.scale * terms
        if self.reduction == "sum_over_batch_size":
            return self.scale * terms / n
        return self.scale * terms / (n * per_sample)

    def _per_sample_terms(self, output):
        """How many terms "mean" averages within a sample: all of them for an elementwise loss."""
        return output.size // output.shape[0] if self.elementwise else 1

    def _kernel(self):
        return self.kernel

    def _args(self):
        """Hyperparameters passed after (output, target)."""
        return ()

    def forward(self, output, target):
        """The batch's loss under self.reduction (a Python float); remembers what backward() needs."""
        target = _class_target(target, output) if self.class_target else _float_target(target, output)
        forward, _ = KERNELS[self._kernel()](backend.get())
        loss, cache = forward(output, target, *self._args())
        self._cache, self._factor = cache, self._reduction_factor(np.asarray(output))
        return loss * self._factor if self._factor != 1.0 else loss

    def backward(self):
        """d(loss)/d(output) of the last forward, the reduction's 1/N (or 1/(N K)) included."""
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward() called before forward()")
        _, backward = KERNELS[self._kernel()](backend.get())
        grad = backward(self._cache)
        if self._factor != 1.0:
            grad = grad * np.asarray(self._factor, dtype=grad.dtype)   # keeps the output's dtype
        return grad

    __call__ = forward

    def get_config(self):
        return {"reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


class MeanSquaredError(Loss):
    """mean((output - target)**2) over every element (reduction="mean").

    output, target: (N, K). dL/d(output) = 2 (output - target) / (N K). With
    reduction="sum_over_batch_size": L = 1/N sum_n sum_k (output_nk - target_nk)**2."""
    kernel, name, elementwise = "mse", "mean_squared_error", True


class HalfSquaredError(Loss):
    """The lectures' squared error: per sample L_n = 1/2 ||y_hat_n - y_n||^2 = 1/2 sum_k (y_hat_nk - y_nk)^2,
    averaged over the batch (reduction="mean" and "sum_over_batch_size"; "sum" adds the N samples' L_n).

    output y_hat, target y: (N, K). dL/dy_hat = (y_hat - y) / N, so for one sample dL/dy_hat = y_hat - y
    and with a sigmoid output delta_L = (a_L - y) * a_L (1 - a_L). Name: "half_squared_error".
    Computed from the MSE kernel: L = K/2 * mean over the N K elements."""
    kernel, name, elementwise, scale = "mse", "half_squared_error", True, 0.5

    def _per_sample_terms(self, output):
        return 1   # a sample's loss is the sum over its K outputs, not their mean


class MeanAbsoluteError(Loss):
    """mean(|output - target|) over every element (reduction="mean")."""
    kernel, name, elementwise = "mae", "mean_absolute_error", True


class _WithDelta(Loss):
    """A loss with one hyperparameter `delta` that its kernel takes after (output, target)."""

    def __init__(self, delta: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.delta = float(delta)

    def _args(self):
        return (self.delta,)

    def get_config(self):
        return {"delta": self.delta, **super().get_config()}


class Huber(_WithDelta):
    """Quadratic within `delta` of the target, linear beyond (delta > 0); mean over every element."""
    kernel, name, elementwise = "huber", "huber", True


class _FromLogits(Loss):
    def __init__(self, from_logits: bool = False, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.from_logits = bool(from_logits)

    def forward(self, output, target):
        if not self.from_logits and np.size(output):
            # Logits into a probability loss are clipped into [1e-7, 1 - 1e-7] without an error and give
            # a loss that falls while nothing is learned: refuse them (a cheap pass over the output).
            lo, hi = float(np.min(output)), float(np.max(output))
            if lo < 0 or hi > 1:
                raise ValueError(f"{type(self).__name__}(from_logits=False) expects probabilities in [0, 1], but "
                                 f"the output has values from {lo:.4g} to {hi:.4g} (logits?). Use "
                                 f"{type(self).__name__}(from_logits=True) or 'softmax_cross_entropy' for logits, "
                                 "or end the model with a softmax (sigmoid for binary) activation")
        return super().forward(output, target)

    def get_config(self):
        return {"from_logits": self.from_logits, **super().get_config()}


class BinaryCrossentropy(_FromLogits):
    """Binary cross-entropy on probabilities, or on logits (stable) with from_logits=True; mean over
    every element (reduction="mean")."""
    name, elementwise = "binary_crossentropy", True

    def _kernel(self):
        return "binary_crossentropy_with_logits" if self.from_logits else "binary_crossentropy"


class CategoricalCrossentropy(_FromLogits):
    """Cross-entropy with one-hot/probability targets (N, K): on probabilities, or with
    from_logits=True the fused softmax cross-entropy on logits."""
    name = "categorical_crossentropy"
    class_target = True

    def _kernel(self):
        return "softmax_cross_entropy" if self.from_logits else "categorical_crossentropy"


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Cross-entropy with integer class ids (N,) as targets; from_logits as CategoricalCrossentropy."""
    name = "sparse_categorical_crossentropy"


class SoftmaxCrossEntropy(Loss):
    """Fused softmax + cross-entropy on logits; targets class ids (N,) or rows (N, K)."""
    kernel, name = "softmax_cross_entropy", "softmax_cross_entropy"
    class_target = True


class MulticlassHinge(_WithDelta):
    """Weston-Watkins multiclass SVM loss with margin `delta` on scores; class-id targets."""
    kernel, name = "multiclass_hinge", "multiclass_hinge"
    class_target = True


class OneVsAllHinge(Loss):
    """One-vs-all hinge on scores: each class a binary SVM; class-id targets."""
    kernel, name = "ova_hinge", "ova_hinge"
    class_target = True


class KLDivergence(Loss):
    """KL(target || output) of distributions, summed over a sample, averaged over the batch."""
    kernel, name = "kl_divergence", "kl_divergence"


# Keras' names: what compile(loss=...) takes (serialize writes class names: LOSS_CLASSES)
LOSSES = Registry("loss")
for _cls, *_names in ((MeanSquaredError, "mse", "mean_squared_error"), (HalfSquaredError, "half_squared_error"),
                      (MeanAbsoluteError, "mae", "mean_absolute_error"), (Huber, "huber"),
                      (BinaryCrossentropy, "binary_crossentropy"),
                      (CategoricalCrossentropy, "categorical_crossentropy"),
                      (SparseCategoricalCrossentropy, "sparse_categorical_crossentropy"),
                      (KLDivergence, "kl_divergence", "kld", "kullback_leibler_divergence"),
                      (SoftmaxCrossEntropy, "softmax_cross_entropy"), (MulticlassHinge, "multiclass_hinge"),
                      (OneVsAllHinge, "ova_hinge")):
    LOSSES.add(_cls, *_names)


def get(identifier: "str | dict[str, Any] | Loss") -> "Loss":
    """A loss object from a Loss instance (returned as is), a name ("mse", "huber", ...), or a
    config dict {"class_name": ..., "config": {...}} as written by `serialize`."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        return LOSSES[identifier]()
    if isinstance(identifier, dict) and identifier.get("class_name") in LOSS_CLASSES:
        return LOSS_CLASSES[identifier["class_name"]].from_config(identifier.get("config", {}))
    raise ValueError(f"cannot make a loss from {identifier!r}: pass a Loss, a name or a serialize() dict")


def serialize(loss: "Loss") -> dict[str, Any]:
    """{"class_name", "config"}: JSON-ready, and `get()` turns it back into an equal loss."""
    return {"class_name": type(loss).__name__, "config": loss.get_config()}
