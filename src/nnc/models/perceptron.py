"""Rosenblatt's perceptron (1958): a step unit and its error-correction learning rule.

For one sample x with target t in {0, 1}:
    score   z     = w . x + b
    output  y_hat = step(z) = 1 if z >= 0 else 0
    update  w    <- w + lr (t - y_hat) x
            b    <- b + lr (t - y_hat)
Correct outputs change nothing (t - y_hat = 0); a false 0 adds x to w, a false 1 subtracts it.
One epoch visits every sample once; training stops after the first epoch with no mistake. On
linearly separable data this happens after finitely many updates (Novikoff's convergence theorem);
on data that is not (XOR) it never does, and max_iter ends training.

More than two classes: one-vs-rest, one such perceptron per class k with targets t_k = [y == class k],
all trained side by side over the same shuffled order; the prediction is the class of the largest score.
"""
import numbers
import warnings

import numpy as np

from .. import backend
from ..data import as_rng

__all__ = ["Perceptron", "ConvergenceWarning"]


class ConvergenceWarning(UserWarning):
    """Training stopped at max_iter with mistakes left (the data may not be linearly separable)."""


def step(z):
    """Heaviside step: 1 where z >= 0, else 0."""
    return (z >= 0).astype(np.int64)


class Perceptron:
    """Perceptron(lr=1.0, max_iter=100, shuffle=True, seed=None, fit_intercept=True).

    Attributes after fit (scikit-learn's names):
        coef_       (1, n_features) for two classes, (n_classes, n_features) for more
        intercept_  (1,) or (n_classes,)
        classes_    the sorted distinct labels; with two classes classes_[1] is the "1" of the rule
        n_iter_     epochs run
        errors_     list: mistakes (weight updates) in each epoch, summed over the one-vs-rest units
    Labels can be anything sortable: {0, 1}, {-1, 1}, strings, or several classes.
    """

    def __init__(self, lr=1.0, max_iter=100, shuffle=True, seed=None, fit_intercept=True):
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not np.isfinite(lr) or lr <= 0:
            raise ValueError(f"Perceptron: lr must be a finite number > 0, got {lr!r}")
        if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
            raise ValueError(f"Perceptron: max_iter must be an integer >= 1, got {max_iter!r}")
        if seed is not None and not isinstance(seed, np.random.Generator):
            as_rng(seed)   # reject a bad seed now rather than at fit time
        self.lr = float(lr)
        self.max_iter = int(max_iter)
        self.shuffle = bool(shuffle)
        self.seed = seed
        self.fit_intercept = bool(fit_intercept)

    # ---- setting weights by hand ---------------------------------------------------------------
    @classmethod
    def from_weights(cls, coef, intercept=0.0, classes=None, **kwargs):
        """A perceptron with given weights, e.g. to check a hand computation:
            Perceptron.from_weights([-1, 4], 0.4).decision_function([[2, 0.4]])  ->  [0.0]
        coef: (n_features,) or (1, n_features) for a binary unit (classes default [0, 1]),
        (k, n_features) for k one-vs-rest units (classes default 0..k-1). intercept: scalar or (k,)."""
        model = cls(**kwargs)
        W = np.array(coef, dtype=np.float64, ndmin=2)
        if W.ndim != 2 or W.size == 0:
            raise ValueError(f"Perceptron.from_weights: coef must be (n_features,) or (k, n_features), "
                             f"got shape {np.shape(coef)}")
        k = W.shape[0]
        b = np.broadcast_to(np.asarray(intercept, dtype=np.float64), (k,)).copy()
        if classes is None:
            classes = np.arange(2 if k == 1 else k)
        classes = np.asarray(classes)
        if len(classes) != (2 if k == 1 else k):
            raise ValueError(f"Perceptron.from_weights: {k} weight row(s) need "
                             f"{2 if k == 1 else k} classes, got {len(classes)}")
        if not (np.isfinite(W).all() and np.isfinite(b).all()):
            raise ValueError("Perceptron.from_weights: coef and intercept must be finite")
        model.coef_, model.intercept_, model.classes_ = W, b, classes
        model.n_iter_, model.errors_ = 0, []
        return model

    # ---- checks --------------------------------------------------------------------------------
    @staticmethod
    def _check_X(fn, X, n_features=None):
        X = np.asarray(X)
        if X.dtype.kind not in "iuf":
            raise TypeError(f"Perceptron.{fn}: X must be numeric, got dtype {X.dtype}")
        if X.ndim != 2:
            raise ValueError(f"Perceptron.{fn}: X must be 2-D (n_samples, n_features), got shape {X.shape}")
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"Perceptron.{fn}: X is empty (shape {X.shape})")
        if not np.isfinite(X).all():
            raise ValueError(f"Perceptron.{fn}: X contains NaN or inf")
        if n_features is not None and X.shape[1] != n_features:
            raise ValueError(f"Perceptron.{fn}: X has {X.shape[1]} features but the model was fitted "
                             f"with {n_features}")
        return X

    def _check_fitted(self, fn):
        if not hasattr(self, "coef_"):
            raise RuntimeError(f"Perceptron.{fn}: call fit(X, y) (or Perceptron.from_weights) first")

    # ---- learning ------------------------------------------------------------------------------
    def fit(self, X, y):
        """Train with the perceptron rule; X (n_samples, n_features), y (n_samples,). Returns self."""
        X = self._check_X("fit", X).astype(np.float64)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(f"Perceptron.fit: y must be 1-D with one label per row of X "
                             f"({len(X)}), got shape {y.shape}")
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(f"Perceptron.fit: y needs at least two classes, got {classes.tolist()}")
        # Targets in {0, 1}: one column per unit (a single unit "is classes_[1]" for two classes).
        if len(classes) == 2:
            T = (y == classes[1]).astype(np.int64)[:, None]
        else:
            T = (y[:, None] == classes[None, :]).astype(np.int64)
        n, d = X.shape
        k = T.shape[1]
        W = np.zeros((k, d))        # one row of weights per unit
        b = np.zeros(k)
        rng = as_rng(self.seed)     # a fresh Generator per fit: same int seed, same run
        self.errors_ = []
        for epoch in range(self.max_iter):
            order = rng.permutation(n) if self.shuffle else np.arange(n)
            mistakes = 0
            for i in order:
                x, t = X[i], T[i]
                y_hat = step(W @ x + b)          # output of every unit for this sample
                delta = t - y_hat                # 0 where right, +1 for a false 0, -1 for a false 1
                if delta.any():
                    W += self.lr * np.outer(delta, x)
                    if self.fit_intercept:
                        b += self.lr * delta
                    mistakes += int(np.count_nonzero(delta))
            self.errors_.append(mistakes)
            if mistakes == 0:
                break
        self.coef_, self.intercept_, self.classes_ = W, b, classes
        self.n_iter_ = len(self.errors_)
        if self.errors_[-1] > 0:
            warnings.warn(f"Perceptron: {self.errors_[-1]} mistakes left after max_iter={self.max_iter} epochs; "
                          "the data may not be linearly separable", ConvergenceWarning, stacklevel=2)
        return self

    # ---- using the trained unit(s) -------------------------------------------------------------
    def decision_function(self, X):
        """Raw scores z = X W^T + b: shape (n_samples,) for two classes, (n_samples, n_classes) for more."""
        self._check_fitted("decision_function")
        X = self._check_X("decision_function", X, self.coef_.shape[1])
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        X = np.ascontiguousarray(X, dtype=dtype)
        W = np.ascontiguousarray(self.coef_.T, dtype=dtype)   # (n_features, k), as dense_forward wants
        b = self.intercept_.astype(dtype)
        scores, _ = backend.get().dense_forward(X, W, b)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Labels: classes_[step(z)] for two classes, classes_[argmax_k z_k] for more."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[step(scores)]
        return self.classes_[np.argmax(scores, axis=1)]

    def score(self, X, y):
        """Accuracy: the fraction of samples whose predicted label equals y."""
        y = np.asarray(y)
        pred = self.predict(X)
        if y.shape != pred.shape:
            raise ValueError(f"Perceptron.score: y must have shape {pred.shape}, got {y.shape}")
        return float(np.mean(pred == y))
