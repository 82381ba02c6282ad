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
import sys
import warnings

import numpy as np

from .. import backend
from .._names import unknown_name
from ..data import as_rng
from ..validation import check_number, check_positive_int

__all__ = ["Perceptron", "ConvergenceWarning", "NotFittedError", "DataConversionWarning"]


class ConvergenceWarning(UserWarning):
    """Training stopped at max_iter with mistakes left (the data may not be linearly separable)."""


class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted model was called before fit (scikit-learn's bases: ValueError, AttributeError)."""


class DataConversionWarning(UserWarning):
    """A column vector y (n_samples, 1) was given where labels (n_samples,) were expected; it was flattened."""


_TWINS: dict[type, type] = {}   # nnc class -> its scikit-learn twin, made once


def _twin(cls):
    """cls, or, when scikit-learn is loaded, a subclass of cls and of scikit-learn's class of the same name, so that
    scikit-learn's checks, `except NotFittedError` and warning filters recognise nnc's. scikit-learn is never
    imported here: a program that has not loaded it cannot be catching or filtering its classes."""
    sk = sys.modules.get("sklearn.exceptions")
    if sk is None or not hasattr(sk, cls.__name__):
        return cls
    if cls not in _TWINS:
        # Pickled (an error sent back from a worker process), a twin travels as nnc's class, which has a name.
        _TWINS[cls] = type(cls.__name__, (cls, getattr(sk, cls.__name__)),
                           {"__module__": cls.__module__, "__doc__": cls.__doc__,
                            "__reduce__": lambda self: (cls, self.args)})
    return _TWINS[cls]


def step(z):
    """Heaviside step: 1 where z >= 0, else 0."""
    return (z >= 0).astype(np.int64)


class Perceptron:
    """Perceptron(lr=1.0, max_iter=100, shuffle=True, random_state=None, fit_intercept=True).

    A scikit-learn estimator (without importing scikit-learn): the constructor only stores its arguments,
    fit checks them; get_params/set_params, clone, Pipeline and GridSearchCV work, and it passes
    sklearn.utils.estimator_checks.check_estimator. random_state: None, an int >= 0, a numpy Generator or
    RandomState; an int repeats a run exactly. (seed= is the old name of random_state, deprecated.)

    Attributes after fit (scikit-learn's names):
        coef_           (1, n_features) for two classes, (n_classes, n_features) for more
        intercept_      (1,) or (n_classes,)
        classes_        the sorted distinct labels; with two classes classes_[1] is the "1" of the rule
        n_features_in_  the number of features fit saw
        n_iter_         epochs run
        errors_         list: mistakes (weight updates) in each epoch, summed over the one-vs-rest units
    Labels can be anything sortable: {0, 1}, {-1, 1}, strings, or several classes.
    """

    _PARAMS = ("lr", "max_iter", "shuffle", "random_state", "fit_intercept", "seed")

    def __init__(self, lr=1.0, max_iter=100, shuffle=True, random_state=None, fit_intercept=True, seed=None):
        self.lr = lr
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.fit_intercept = fit_intercept
        self.seed = seed

    # ---- scikit-learn's estimator protocol -----------------------------------------------------------------
    def get_params(self, deep=True):
        """The constructor's arguments as a dict (what clone and GridSearchCV read)."""
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self, **params):
        """Set constructor arguments by name; returns self. An unknown name changes nothing and raises."""
        for name in params:
            if name not in self._PARAMS:
                raise unknown_name("Perceptron parameter", name, self._PARAMS)
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self):
        defaults = type(self)().get_params()
        changed = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if v is not defaults[k]
                            and not (type(v) is type(defaults[k]) and v == defaults[k]))
        return f"Perceptron({changed})"

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, Tags, TargetTags   # only scikit-learn calls this
        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags())

    def __sklearn_is_fitted__(self):
        return hasattr(self, "coef_")

    def _check_params(self):
        """The constructor's arguments, checked (fit calls this first); returns (lr, max_iter, Generator)."""
        lr = check_number("Perceptron", "lr", self.lr, minimum=0, strict=True)
        max_iter = check_positive_int("Perceptron", "max_iter", self.max_iter)
        random_state = self.random_state
        if self.seed is not None:
            if random_state is not None and random_state is not self.seed:
                raise ValueError("Perceptron: give random_state= only (seed= is its old name)")
            warnings.warn("Perceptron: seed= is now random_state= (scikit-learn's name); seed= will be removed",
                          FutureWarning, stacklevel=3)
            random_state = self.seed
        if isinstance(random_state, np.random.RandomState):
            random_state = int(random_state.randint(2**31))
        try:
            rng = as_rng(random_state)   # a fresh Generator per fit from an int: same int, same run
        except TypeError:
            raise TypeError(f"Perceptron: random_state must be None, an int >= 0, a numpy Generator or "
                            f"RandomState, got {random_state!r}") from None
        return lr, max_iter, rng

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
        model.coef_, model.intercept_, model.classes_, model.n_features_in_ = W, b, classes, W.shape[1]
        model.n_iter_, model.errors_ = 0, []
        return model

    # ---- checks (the messages scikit-learn's checks look for) ------------------------------------------------
    @staticmethod
    def _check_X(fn, X, n_features=None):
        """X as a 2-D float array (float32 and float64 kept, other numbers as float64), or a clear error."""
        # a sparse X exists only if scipy.sparse is loaded: no need to import it (1 MB) to ask
        sparse = sys.modules.get("scipy.sparse")
        if sparse is not None and sparse.issparse(X):
            raise TypeError(f"Perceptron.{fn}: X is a sparse matrix; Perceptron takes dense arrays: X.toarray()")
        X = np.asarray(X)
        if X.dtype.kind == "c":
            raise ValueError(f"Perceptron.{fn}: X is complex; Complex data not supported")
        if X.dtype.kind not in "biufO":
            raise TypeError(f"Perceptron.{fn}: X must be numeric, got dtype {X.dtype}")
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)     # an object array of numbers converts; a dict in it raises TypeError
        if X.ndim != 2:
            hint = (" Reshape your data: X.reshape(-1, 1) for a single feature, X.reshape(1, -1) for a single sample"
                    if X.ndim == 1 else "")
            raise ValueError(f"Perceptron.{fn}: X must be 2-D (n_samples, n_features), got shape {X.shape}.{hint}")
        if X.shape[0] == 0:
            raise ValueError(f"Perceptron.{fn}: X is empty: 0 sample(s) (shape={X.shape})")
        if X.shape[1] == 0:
            raise ValueError(f"Perceptron.{fn}: X is empty: 0 feature(s) (shape={X.shape}) while a minimum of 1 "
                             "is required.")
        if not np.isfinite(X).all():
            raise ValueError(f"Perceptron.{fn}: X contains NaN or inf")
        if n_features is not None and X.shape[1] != n_features:
            raise ValueError(f"Perceptron.{fn}: X has {X.shape[1]} features, but Perceptron is expecting "
                             f"{n_features} features as input")
        return X

    @staticmethod
    def _check_y(y, n_samples):
        """y as 1-D class labels, one per row of X, or a clear error."""
        if y is None:
            raise ValueError("Perceptron.fit requires y to be passed, but the target y is None")
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn("A column-vector y was passed when a 1d array was expected: Perceptron.fit flattens it "
                          "(pass y.ravel())", _twin(DataConversionWarning), stacklevel=3)
            y = y.ravel()
        if y.ndim != 1 or len(y) != n_samples:
            raise ValueError(f"Perceptron.fit: y must be 1-D with one label per row of X "
                             f"({n_samples}), got shape {y.shape}")
        if y.dtype.kind == "f":
            if not np.isfinite(y).all():
                raise ValueError("Perceptron.fit: Input y contains NaN or inf")
            if np.any(y != np.round(y)):
                raise ValueError("Perceptron.fit: Unknown label type: continuous (y has non-integer numbers); "
                                 "the perceptron learns class labels, not real-valued targets")
        return y

    def _check_fitted(self, fn):
        if not hasattr(self, "coef_"):
            raise _twin(NotFittedError)(f"Perceptron.{fn}: this Perceptron is not fitted yet; call fit(X, y) "
                                        "(or Perceptron.from_weights) first")

    # ---- learning ------------------------------------------------------------------------------
    def fit(self, X, y):
        """Train with the perceptron rule; X (n_samples, n_features), y (n_samples,). Returns self.
        Everything is checked before the weights change: a refused fit leaves a fitted model as it was."""
        lr, max_iter, rng = self._check_params()
        X = self._check_X("fit", X).astype(np.float64)
        y = self._check_y(y, len(X))
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(f"Perceptron.fit: y has only one class ({classes.tolist()}); the perceptron needs "
                             "at least two")
        # Targets in {0, 1}: one column per unit (a single unit "is classes_[1]" for two classes).
        if len(classes) == 2:
            T = (y == classes[1]).astype(np.int64)[:, None]
        else:
            T = (y[:, None] == classes[None, :]).astype(np.int64)
        n, d = X.shape
        k = T.shape[1]
        W = np.zeros((k, d))        # one row of weights per unit
        b = np.zeros(k)
        errors = []                 # kept local until the end, so that an interrupted fit changes nothing
        for epoch in range(max_iter):
            order = rng.permutation(n) if self.shuffle else np.arange(n)
            mistakes = 0
            for i in order:
                x, t = X[i], T[i]
                y_hat = step(W @ x + b)          # output of every unit for this sample
                delta = t - y_hat                # 0 where right, +1 for a false 0, -1 for a false 1
                if delta.any():
                    W += lr * np.outer(delta, x)
                    if self.fit_intercept:
                        b += lr * delta
                    mistakes += int(np.count_nonzero(delta))
            errors.append(mistakes)
            if mistakes == 0:
                break
        self.coef_, self.intercept_, self.classes_, self.n_features_in_ = W, b, classes, d
        self.errors_, self.n_iter_ = errors, len(errors)
        if self.errors_[-1] > 0:
            warnings.warn(f"Perceptron: {self.errors_[-1]} mistakes left after max_iter={max_iter} epochs; "
                          "the data may not be linearly separable", _twin(ConvergenceWarning), stacklevel=2)
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
