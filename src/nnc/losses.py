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
"""
import numpy as np

from . import backend
from ._names import unknown_name

__all__ = ["Loss", "MeanSquaredError", "MeanAbsoluteError", "Huber", "BinaryCrossentropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "SoftmaxCrossEntropy", "MulticlassHinge", "OneVsAllHinge",
           "KLDivergence", "get"]


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


class Loss:
    """Base class: subclasses name their kernel pair and say how targets are prepared."""
    kernel = None          # "mse" -> backend.mse_forward / backend.mse_backward
    name = "loss"
    class_target = False   # True: targets may be class ids (N,)

    def __init__(self):
        self._cache = None

    def _kernel(self):
        return self.kernel

    def _args(self):
        """Hyperparameters passed after (output, target)."""
        return ()

    def forward(self, output, target):
        """Mean loss of the batch (a Python float); remembers what backward() needs."""
        target = _class_target(target, output) if self.class_target else _float_target(target, output)
        loss, self._cache = getattr(backend.get(), f"{self._kernel()}_forward")(output, target, *self._args())
        return loss

    def backward(self):
        """d(loss)/d(output) of the last forward, the 1/N of the mean included."""
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward() called before forward()")
        return getattr(backend.get(), f"{self._kernel()}_backward")(self._cache)

    __call__ = forward

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


class MeanSquaredError(Loss):
    """mean((output - target)**2) over every element."""
    kernel, name = "mse", "mean_squared_error"


class MeanAbsoluteError(Loss):
    """mean(|output - target|) over every element."""
    kernel, name = "mae", "mean_absolute_error"


class Huber(Loss):
    """Quadratic within `delta` of the target, linear beyond (delta > 0)."""
    kernel, name = "huber", "huber"

    def __init__(self, delta=1.0):
        super().__init__()
        self.delta = float(delta)

    def _args(self):
        return (self.delta,)

    def get_config(self):
        return {"delta": self.delta}


class _FromLogits(Loss):
    def __init__(self, from_logits=False):
        super().__init__()
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
        return {"from_logits": self.from_logits}


class BinaryCrossentropy(_FromLogits):
    """Binary cross-entropy on probabilities, or on logits (stable) with from_logits=True."""
    name = "binary_crossentropy"

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


class MulticlassHinge(Loss):
    """Weston-Watkins multiclass SVM loss with margin `delta` on scores; class-id targets."""
    kernel, name = "multiclass_hinge", "multiclass_hinge"
    class_target = True

    def __init__(self, delta=1.0):
        super().__init__()
        self.delta = float(delta)

    def _args(self):
        return (self.delta,)

    def get_config(self):
        return {"delta": self.delta}


class OneVsAllHinge(Loss):
    """One-vs-all hinge on scores: each class a binary SVM; class-id targets."""
    kernel, name = "ova_hinge", "ova_hinge"
    class_target = True


class KLDivergence(Loss):
    """KL(target || output) of distributions, summed over a sample, averaged over the batch."""
    kernel, name = "kl_divergence", "kl_divergence"


_BY_NAME = {
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "huber": Huber, "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "kl_divergence": KLDivergence, "kld": KLDivergence, "kullback_leibler_divergence": KLDivergence,
    "softmax_cross_entropy": SoftmaxCrossEntropy, "multiclass_hinge": MulticlassHinge, "ova_hinge": OneVsAllHinge,
}
_CLASSES = {cls.__name__: cls for cls in set(_BY_NAME.values())}


def get(identifier):
    """A loss object from a Loss instance (returned as is), a name ("mse", "huber", ...), or a
    config dict {"class_name": ..., "config": {...}} as written by `serialize`."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        key = identifier.strip().lower()
        if key not in _BY_NAME:
            raise unknown_name("loss", identifier, _BY_NAME)
        return _BY_NAME[key]()
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:
        return _CLASSES[identifier["class_name"]].from_config(identifier.get("config", {}))
    raise ValueError(f"cannot make a loss from {identifier!r}: pass a Loss, a name or a serialize() dict")


def serialize(loss):
    """{"class_name", "config"}: JSON-ready, and `get()` turns it back into an equal loss."""
    return {"class_name": type(loss).__name__, "config": loss.get_config()}
