"""Metrics computed on a batch of model outputs: `metric(output, target) -> float`."""
import numpy as np


def accuracy(output, target):
    """Fraction of correct predictions.

    output (N, K), K > 1: predicted class = argmax; target: class ids (N,) or one-hot (N, K).
    output (N,) or (N, 1): binary, predicted class = output > 0.5 (probabilities); target 0/1."""
    output = np.asarray(output)
    target = np.asarray(target)
    if output.ndim == 2 and output.shape[1] > 1:
        pred = output.argmax(axis=1)
        true = target.argmax(axis=1) if target.ndim == 2 else target.reshape(-1)
    else:
        pred = output.reshape(-1) > 0.5
        true = target.reshape(-1) > 0.5
    return float(np.mean(pred == true))


_METRICS = {"accuracy": accuracy, "acc": accuracy}


def get(identifier):
    """A metric function from a name ("accuracy"/"acc") or a callable(output, target)."""
    if callable(identifier):
        return identifier
    try:
        return _METRICS[identifier]
    except (KeyError, TypeError):
        raise ValueError(f"unknown metric {identifier!r}; known: {sorted(_METRICS)}") from None


def name_of(metric):
    return "accuracy" if metric is accuracy else getattr(metric, "__name__", type(metric).__name__)
