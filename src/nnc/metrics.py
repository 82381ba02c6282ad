"""Metrics: `metric(output, target) -> float` on one batch, and what fit/evaluate accumulate over many.

    accuracy            fraction of correct predictions ("accuracy", "acc")
    mean_squared_error  mean((output - target)^2) over every element ("mse")
    mean_absolute_error mean(|output - target|) ("mae")
    TopKAccuracy(k=5)   target among the k largest outputs ("top_k_accuracy", "top_3_accuracy", ...;
                        Keras' "top_k_categorical_accuracy" and "sparse_top_k_categorical_accuracy")
    Precision, Recall, F1Score   macro averages over the classes ("precision", "recall", "f1")
    confusion_matrix(y_true, y_pred, num_classes=None)   C[i, j] = number of samples of class i predicted j

Predicted classes: argmax of an (N, K) output with K > 1; for an (N,) or (N, 1) output (binary) the
class is output > 0.5 (a sigmoid output's probability). Targets: class ids (N,) or one-hot rows (N, K).

fit and evaluate report a metric over a whole epoch, not as a mean of batch values: a metric keeps
additive statistics (`stats(output, target)`: a sum and a count, or a confusion matrix) that the loop
adds up, and `result(stats)` turns the total into the number. Precision/recall/F1 need this: the mean
of per-batch F1 scores is not the F1 score of the epoch.
"""
import re
from typing import Any

import numpy as np

from ._names import Registry

__all__ = ["Metric", "accuracy", "mean_squared_error", "mean_absolute_error", "TopKAccuracy", "Precision",
           "Recall", "F1Score", "confusion_matrix", "get", "name_of"]


def _classes(output, target):
    """(predicted class ids, true class ids, number of classes K) of a batch."""
    output = np.asarray(output)
    target = np.asarray(target)
    if output.ndim == 2 and output.shape[1] > 1:
        pred = output.argmax(axis=1)
        true = target.argmax(axis=1) if target.ndim == 2 and target.shape[1] > 1 else target.reshape(-1)
        return pred, true.astype(np.int64, copy=False), output.shape[1]
    return (output.reshape(-1) > 0.5).astype(np.int64), (target.reshape(-1) > 0.5).astype(np.int64), 2


def accuracy(output, target):
    """Fraction of correct predictions.

    output (N, K), K > 1: predicted class = argmax; target: class ids (N,) or one-hot (N, K).
    output (N,) or (N, 1): binary, predicted class = output > 0.5 (probabilities); target 0/1."""
    pred, true, _ = _classes(output, target)
    return float(np.mean(pred == true))


def _regression_pair(fn, output, target):
    output = np.asarray(output, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if target.shape != output.shape and target.shape == output.shape[:1] and output.shape[1:] == (1,):
        target = target.reshape(output.shape)   # (N,) targets for one output unit, as the losses allow
    if target.shape != output.shape:
        raise ValueError(f"{fn}: target must have the output's shape {output.shape}, got {target.shape}")
    return output, target


def mean_squared_error(output, target):
    """mean((output - target)^2) over every element (output and target of the same shape)."""
    output, target = _regression_pair("mean_squared_error", output, target)
    return float(np.mean((output - target) ** 2))


def mean_absolute_error(output, target):
    """mean(|output - target|) over every element."""
    output, target = _regression_pair("mean_absolute_error", output, target)
    return float(np.mean(np.abs(output - target)))


def confusion_matrix(y_true, y_pred, num_classes=None):
    """C (K, K) int64 with C[i, j] = the number of samples of true class i predicted as class j.

    y_true, y_pred: class ids (N,) (one-hot rows (N, K) are turned into ids); K = num_classes, or
    1 + the largest id seen. Rows sum to the class counts, the diagonal holds the correct predictions."""
    fn = "confusion_matrix"
    ids = []
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] > 1:
            y = y.argmax(axis=1)
        y = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
        if y.ndim != 1:
            raise ValueError(f"{fn}: {name} must be class ids (N,) or one-hot rows (N, K), got shape {y.shape}")
        if y.dtype.kind == "b":
            y = y.astype(np.int64)
        if y.dtype.kind == "f" and y.size and not np.array_equal(y, np.round(y)):
            raise ValueError(f"{fn}: {name} must hold whole class ids 0 .. K-1, got a value such as "
                             f"{y[y != np.round(y)][0]!r}")
        if y.dtype.kind not in "iuf":
            raise TypeError(f"{fn}: {name} must hold integer class ids, got dtype {y.dtype}")
        y = y.astype(np.int64)
        if y.size and y.min() < 0:
            raise ValueError(f"{fn}: {name} must hold class ids >= 0, got {y.min()}")
        ids.append(y)
    t, p = ids
    if t.shape != p.shape:
        raise ValueError(f"{fn}: y_true has {len(t)} samples but y_pred has {len(p)}; they must match")
    seen = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    if num_classes is None:
        num_classes = max(seen, 1)
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"{fn}: num_classes must be an integer >= 1, got {num_classes!r}")
    elif seen > num_classes:
        raise ValueError(f"{fn}: class id {seen - 1} does not fit num_classes={num_classes} (ids are 0 .. K-1)")
    K = int(num_classes)
    return np.bincount(t * K + p, minlength=K * K).reshape(K, K)


class Metric:
    """A metric fit/evaluate accumulate: `stats` of a batch add up, `result` of the sum is the value.
    Calling it on one batch gives that batch's value."""
    name = "metric"

    def stats(self, output, target):
        raise NotImplementedError

    def result(self, stats):
        raise NotImplementedError

    def __call__(self, output, target):
        return self.result(self.stats(output, target))

    def __repr__(self):
        return f"{type(self).__name__}()"


class _Mean(Metric):
    """A per-batch function averaged over samples: stats = [value * batch size, batch size]."""

    def __init__(self, fn: Any, name: str | None = None) -> None:
        self.fn = fn
        self.name: str = name or str(getattr(fn, "__name__", type(fn).__name__))

    def stats(self, output, target):
        n = len(output)
        return np.array([float(self.fn(output, target)) * n, n], dtype=np.float64)

    def result(self, stats):
        return float(stats[0] / stats[1]) if stats[1] else 0.0

    def __call__(self, output, target):
        return float(self.fn(output, target))


class TopKAccuracy(_Mean):
    """Fraction of samples whose true class is among the k largest outputs (k = 5 as in Keras).
    Targets: class ids (N,) or one-hot rows (N, K)."""

    def __init__(self, k=5):
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"TopKAccuracy: k must be an integer >= 1, got {k!r}")
        self.k = int(k)
        super().__init__(self._top_k, "top_k_accuracy" if self.k == 5 else f"top_{self.k}_accuracy")

    def _top_k(self, output, target):
        output = np.asarray(output)
        if output.ndim != 2:
            raise ValueError(f"{self.name}: output must be class scores (N, K), got shape {output.shape}")
        target = np.asarray(target)
        true = target.argmax(axis=1) if target.ndim == 2 and target.shape[1] > 1 else target.reshape(-1)
        k = min(self.k, output.shape[1])
        # The true class's score beaten by fewer than k others (ties count in its favour, as in Keras).
        true_score = output[np.arange(len(output)), true.astype(np.int64)]
        return float(np.mean((output > true_score[:, None]).sum(axis=1) < k))

    def __repr__(self):
        return f"TopKAccuracy(k={self.k})"


class _FromConfusion(Metric):
    """A macro average over the classes, computed from the confusion matrix of all batches seen."""

    def stats(self, output, target):
        pred, true, K = _classes(output, target)
        if true.size and (true.min() < 0 or true.max() >= K):
            raise ValueError(f"{self.name}: class ids must be in [0, {K}) for an output with {K} classes, "
                             f"got {true.min()} .. {true.max()}")
        return np.bincount(true * K + pred, minlength=K * K).reshape(K, K)

    def _per_class(self, tp, predicted, actual):
        """The per-class score from true positives, predicted and actual counts (one array each)."""
        raise NotImplementedError

    def result(self, C):
        C = np.asarray(C, dtype=np.float64)
        tp = np.diag(C)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_class = self._per_class(tp, C.sum(axis=0), C.sum(axis=1))
        # A class with no predictions (precision) or no samples (recall) scores 0, as scikit-learn does.
        return float(np.mean(np.nan_to_num(per_class, nan=0.0)))


class Precision(_FromConfusion):
    """Macro precision: the mean over classes of TP / (TP + FP), FP = others predicted as the class."""
    name = "precision"

    def _per_class(self, tp, predicted, actual):
        return tp / predicted


class Recall(_FromConfusion):
    """Macro recall: the mean over classes of TP / (TP + FN), FN = the class predicted as another."""
    name = "recall"

    def _per_class(self, tp, predicted, actual):
        return tp / actual


class F1Score(_FromConfusion):
    """Macro F1: the mean over classes of 2 P R / (P + R) = 2 TP / (2 TP + FP + FN)."""
    name = "f1"

    def _per_class(self, tp, predicted, actual):
        return 2 * tp / (predicted + actual)


METRICS = Registry("metric")     # Keras' names; top_<k>_accuracy is parsed by get
for _metric, *_names in ((accuracy, "accuracy", "acc"), (mean_squared_error, "mse", "mean_squared_error"),
                         (mean_absolute_error, "mae", "mean_absolute_error"),
                         (TopKAccuracy, "top_k_accuracy", "top_k_categorical_accuracy",
                          "sparse_top_k_categorical_accuracy"),
                         (Precision, "precision"), (Recall, "recall"), (F1Score, "f1", "f1_score")):
    METRICS.add(_metric, *_names)
_NAMES = {accuracy: "accuracy", mean_squared_error: "mse", mean_absolute_error: "mae"}


def get(identifier: Any) -> "Metric":
    """A Metric from a name ("accuracy", "mse", "top_3_accuracy", "f1", ...), a Metric, or a
    callable(output, target) -> float (averaged over samples)."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        key = identifier.strip().lower()
        top = re.fullmatch(r"top_(\d+)_accuracy", key)
        if top:
            return TopKAccuracy(int(top.group(1)))
        m = METRICS[key]
        return m() if isinstance(m, type) else _Mean(m, _NAMES[m])
    if callable(identifier):
        return _Mean(identifier)
    raise TypeError(f"a metric must be a name such as 'accuracy', a Metric or a function(output, target), "
                    f"got {identifier!r}")


def name_of(metric: Any) -> str:
    """The key of the metric in fit's logs and History ("accuracy", "val_accuracy", ...)."""
    if isinstance(metric, Metric):
        return metric.name
    return _NAMES.get(metric) or str(getattr(metric, "__name__", type(metric).__name__))
