"""What every nnc estimator shares: the random_state, the fit loop over an nnc Sequential, the two kinds of target.

A subclass says how to build the network (`_build_model`, a Sequential with no weights yet), which
optimizer and loss to compile it with (`_optimizer`, `_loss`), how many epochs a fit runs and the batch size
(`_epochs`, `_batch_size`), and any callbacks (`_callbacks`). `_NNCEstimator._fit` does the rest the same way
for all of them: check X and y with scikit-learn's `validate_data`, build and compile a fresh model (or keep
training the fitted one: warm_start, partial_fit), and call `Sequential.fit`.

A fitted estimator pickles with its Sequential (layers, optimizer state, random generator): joblib and
scikit-learn's tools send estimators to worker processes that way. nnc's own files (model.save) stay pickle-free.
"""
import inspect
import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from .. import backend
from .. import losses as losses_mod
from .. import optim
from ..models import Sequential

# Checks of sklearn.utils.estimator_checks that cannot apply to a network trained by mini-batch gradient
# descent, with the reason; tests/test_sklearn.py passes them to parametrize_with_checks as expected failures.
EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data":
        "a sample of weight 0 still fills a slot of its mini-batch, and repeating a sample changes the batches "
        "and the shuffling order, so weighting is not the same as removing or repeating samples (as for "
        "scikit-learn's own MLPClassifier and SGDClassifier)",
    "check_sample_weight_equivalence_on_sparse_data":
        "as check_sample_weight_equivalence_on_dense_data (and nnc takes dense arrays only)",
}


def expected_failed_checks(estimator):
    """{check name: why it cannot apply} for parametrize_with_checks(..., expected_failed_checks=...)."""
    return dict(EXPECTED_FAILED_CHECKS)


def seed_from(random_state):
    """The int seed of the nnc model for scikit-learn's random_state: an int >= 0 is used as it is (random_state=0
    is nnc's seed=0); None, a RandomState or a Generator draws one (None: from numpy's global RandomState, so
    each fit differs, as in scikit-learn)."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if not 0 <= random_state < 2**32:
            raise ValueError(f"random_state must be an int in [0, 2**32), None, a RandomState or a Generator, "
                             f"got {random_state!r}")
        return int(random_state)
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**31))
    return int(check_random_state(random_state).randint(2**31))   # ValueError for anything else


def _fresh(owner, what, value, base, lookup, example, options):
    """A fresh `base` instance from a name (through `lookup`), an instance (its config is copied: the
    estimator's parameter is never trained itself) or a class, with `options` (optimizer__lr=...) on top."""
    options = dict(options or {})
    if isinstance(value, base):
        return type(value)(**{**value.get_config(), **options})
    if isinstance(value, type) and issubclass(value, base):
        return value(**options)
    if isinstance(value, str):
        return type(lookup(value))(**options)
    raise TypeError(f"{owner}: {what} must be a name such as {example!r}, an nnc {base.__name__} or its class, "
                    f"got {value!r}")


def make_optimizer(owner, optimizer, options=None):
    """A fresh nnc optimizer from a name ("adam"), an nnc Optimizer or an Optimizer class (see _fresh)."""
    return _fresh(owner, "optimizer", optimizer, optim.Optimizer, optim.get, "adam", options)


def make_loss(owner, loss, options=None):
    """A fresh nnc loss from a name ("mse"), an nnc Loss or a Loss class (see _fresh)."""
    return _fresh(owner, "loss", loss, losses_mod.Loss, losses_mod.get, "mse", options)


class _NNCEstimator(BaseEstimator):
    """The shared fit machinery (see the module docstring). Not an estimator by itself."""

    # ---- what a subclass provides ---------------------------------------------------------------
    def _build_model(self):
        raise NotImplementedError

    def _optimizer(self):
        raise NotImplementedError

    def _loss(self):
        raise NotImplementedError

    def _epochs(self):
        raise NotImplementedError

    def _batch_size(self, n_samples):
        raise NotImplementedError

    def _callbacks(self):
        return []

    def _fit_options(self, X, y, sample_weight, seed):
        """(X, y, sample_weight, extra keyword arguments for Sequential.fit): MLP's early stopping holds out
        validation_data here, with a split drawn from `seed`."""
        return X, y, sample_weight, {}

    def _model_input(self, X):
        """X (n_samples, n_features) as the network takes it (the convnet reshapes rows into images)."""
        return X

    # ---- fitting --------------------------------------------------------------------------------
    def _fit(self, X, y, sample_weight=None, *, epochs=None, partial=False, classes=None):
        """_train, all or nothing: a call refused on the way (new features, all-zero weights, a solver nnc
        lacks, a model function that fails) leaves the fitted attributes as they were, so the estimator
        still predicts as before."""
        saved = dict(self.__dict__)
        try:
            return self._train(X, y, sample_weight, epochs=epochs, partial=partial, classes=classes)
        except Exception:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    def _train(self, X, y, sample_weight, *, epochs, partial, classes):
        owner = type(self).__name__
        keep = hasattr(self, "model_") and (partial or self.warm_start)
        X, y = validate_data(self, X, y, reset=not keep, dtype=(np.float32, np.float64), **self._y_options())
        y = self._encode_targets(y, keep, classes)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)   # nnc's fit checks its shape and values
            if sample_weight.size and not sample_weight.any():
                raise ValueError(f"{owner}: every sample weight is zero; nothing would be learned")
        epochs = self._epochs() if epochs is None else epochs
        seed = self.model_.seed if keep else seed_from(self.random_state)
        X, y, sample_weight, options = self._fit_options(X, y, sample_weight, seed)
        if keep:
            model = self.model_
        else:
            model = self._build_model()
            if not isinstance(model, Sequential):
                raise TypeError(f"{owner}: the model must be an nnc.Sequential, got {type(model).__name__}")
            if model.built:
                raise ValueError(f"{owner}: the model is already built; return it without weights (no build() "
                                 "or fit()) so that fit can draw them from random_state")
            # The Generator that draws the initial weights, the shuffling order and the dropout masks.
            model.seed, model.rng = seed, np.random.default_rng(seed)
            model.compile(optimizer=self._optimizer(), loss=self._loss())
        X = self._model_input(X)
        if "validation_data" in options:
            X_val, y_val = options["validation_data"]
            options["validation_data"] = (self._model_input(X_val), y_val)
        verbose = int(self.verbose) if isinstance(self.verbose, (bool, numbers.Integral)) else self.verbose
        history = model.fit(X, y, batch_size=self._batch_size(X.shape[0]), epochs=model.epoch + epochs,
                            initial_epoch=model.epoch, verbose=verbose, shuffle=self.shuffle,
                            sample_weight=sample_weight, callbacks=self._callbacks(), **options)
        self.model_ = model
        self.n_iter_ = model.epoch
        self.loss_curve_ = (self.loss_curve_ if keep else []) + list(history.history.get("loss", []))
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else float("nan")
        self.history_ = history.history
        return self

    def fit(self, X, y, sample_weight=None):
        """Train on X (n_samples, n_features) and y; sample_weight (n_samples,) >= 0 weights each sample's loss.
        A fresh network each call, unless warm_start=True and the estimator is fitted: then training goes on
        from the current weights and optimizer state. Returns self."""
        return self._fit(X, y, sample_weight)

    def _outputs(self, X):
        """The network's outputs (n_samples, n_outputs_) for X, after the usual checks."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=(np.float32, np.float64))
        return self.model_.predict(self._model_input(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False   # a fixed random_state repeats a fit bit for bit, on any thread count
        return tags


def call_builder(owner, build, options, meta):
    """build(**options, plus those of `meta` that build names as parameters): the user's model function."""
    if not callable(build):
        raise TypeError(f"{owner}: model must be a function that returns an nnc.Sequential, got {build!r}")
    try:
        names = inspect.signature(build).parameters
    except (TypeError, ValueError):
        names = {}
    wanted = {k: v for k, v in meta.items() if k in names and k not in options}
    return build(**options, **wanted)


class ClassifierPart:
    """Class labels <-> class ids 0..K-1, one output unit (a logit) per class; predict_proba is their softmax."""

    def _y_options(self):
        return {}

    def _encode_targets(self, y, keep, classes):
        check_classification_targets(y)
        if keep:
            ids = np.searchsorted(self.classes_, y)
            if not np.array_equal(self.classes_[np.minimum(ids, len(self.classes_) - 1)], y):
                unseen = sorted(set(np.unique(y).tolist()) - set(self.classes_.tolist()))
                raise ValueError(f"{type(self).__name__}: y has classes {unseen} that the first fit did not see "
                                 f"(classes_ = {self.classes_.tolist()})")
            return ids
        if classes is not None:
            classes = np.unique(np.asarray(classes))
            if not np.isin(y, classes).all():
                raise ValueError(f"{type(self).__name__}.partial_fit: y has labels outside classes="
                                 f"{classes.tolist()}")
        else:
            classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(f"{type(self).__name__}: y needs at least 2 classes, got only one class: "
                             f"{classes.tolist()}")
        self.classes_ = classes
        self.n_outputs_ = len(classes)
        return np.searchsorted(classes, y)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over (X, y), going on from the current state. The first call needs `classes`, every
        label that will ever come (as scikit-learn's partial_fit). Returns self."""
        if not hasattr(self, "model_") and classes is None:
            raise ValueError(f"{type(self).__name__}.partial_fit: the first call needs classes=, the list of "
                             "every class the stream will contain")
        return self._fit(X, y, sample_weight, epochs=1, partial=True, classes=classes)

    def predict_proba(self, X):
        """Class probabilities (n_samples, n_classes), columns in the order of classes_: softmax of the logits."""
        out = self._outputs(X)
        proba, _ = backend.get().softmax_forward(np.ascontiguousarray(out))
        return proba

    def predict(self, X):
        """Labels (n_samples,): the class of the largest logit."""
        out = self._outputs(X)
        return self.classes_[np.argmax(out, axis=1)]


class RegressorPart:
    """Float targets (n_samples,) or (n_samples, n_targets), one linear output unit per target."""

    def _y_options(self):
        return {"multi_output": True, "y_numeric": True}

    def _encode_targets(self, y, keep, classes):
        y2 = y.reshape(len(y), -1)
        if keep:
            if y2.shape[1] != self.n_outputs_:
                raise ValueError(f"{type(self).__name__}: y has {y2.shape[1]} targets but the first fit had "
                                 f"{self.n_outputs_}")
        else:
            self.n_outputs_ = y2.shape[1]
            self._y_ndim = y.ndim
        return y2

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), going on from the current state. Returns self."""
        return self._fit(X, y, sample_weight, epochs=1, partial=True)

    def predict(self, X):
        """Predictions (n_samples,) for a 1-D y in fit, else (n_samples, n_targets)."""
        out = self._outputs(X).astype(np.float64)   # float64 as scikit-learn's regressors (nnc computes in float32)
        return out[:, 0] if self._y_ndim == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
