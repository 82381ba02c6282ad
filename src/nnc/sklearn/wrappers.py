"""NNCClassifier and NNCRegressor: any nnc Sequential, from a function that builds it, as a scikit-learn estimator.

    def build(n_features_in, n_outputs, hidden=32):
        return nnc.Sequential([Dense(hidden, activation="relu"), Dense(n_outputs)])

    clf = NNCClassifier(build, optimizer="adam", optimizer__lr=0.01, model__hidden=64, epochs=20)
    GridSearchCV(clf, {"model__hidden": [16, 64], "optimizer__lr": [1e-3, 1e-2]}).fit(X, y)

As scikeras does for Keras and skorch for PyTorch: the function's own arguments are set as model__<name>,
the optimizer's as optimizer__<name> and the loss's as loss__<name>; get_params() lists them, set_params()
and clone() carry them, so a grid search can vary them. The function also receives n_features_in and
n_outputs (classes for a classifier, targets for a regressor) when it names them as parameters. It returns
the network without weights (no build()): fit draws them from random_state.
"""
from sklearn.base import ClassifierMixin, RegressorMixin

from ..validation import check_positive_int
from ._base import ClassifierPart, RegressorPart, _NNCEstimator, call_builder, make_loss, make_optimizer

__all__ = ["NNCClassifier", "NNCRegressor"]

ROUTES = ("model", "optimizer", "loss")   # the prefixes of the routed parameters: model__hidden=64, ...


def _is_routed(name):
    prefix, sep, rest = name.partition("__")
    return bool(sep) and bool(rest) and prefix in ROUTES


class _Wrapper(_NNCEstimator):
    """The constructor and the routed parameters of NNCClassifier and NNCRegressor."""

    def __init__(self, model=None, *, optimizer="adam", loss=None, epochs=10, batch_size=32, shuffle=True,
                 warm_start=False, random_state=None, verbose=0, **routed):
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        # Kept apart from the attributes (scikit-learn's rule: __init__ sets its parameters only) and checked in
        # fit; a new dict on every change, so a clone never shares it.
        self._routed_params = dict(routed)

    def get_params(self, deep=True):
        """The constructor's parameters and every routed one (model__..., optimizer__..., loss__...)."""
        return {**super().get_params(deep=deep), **self._routed_params}

    def set_params(self, **params):
        """Set parameters, routed ones (model__hidden=64) included; returns self."""
        routed = {k: v for k, v in params.items() if _is_routed(k)}
        super().set_params(**{k: v for k, v in params.items() if k not in routed})
        self._routed_params = {**self._routed_params, **routed}
        return self

    def _routed(self, prefix):
        unknown = [k for k in self._routed_params if not _is_routed(k)]
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown parameter(s) {unknown}; the model's, optimizer's and "
                            "loss's own arguments are given as model__<name>, optimizer__<name>, loss__<name>")
        return {k[len(prefix) + 2:]: v for k, v in self._routed_params.items() if k.startswith(prefix + "__")}

    def _build_model(self):
        meta = {"n_features_in": self.n_features_in_, "n_outputs": self.n_outputs_}
        return call_builder(type(self).__name__, self.model, self._routed("model"), meta)

    def _optimizer(self):
        return make_optimizer(type(self).__name__, self.optimizer, self._routed("optimizer"))

    def _loss(self):
        return make_loss(type(self).__name__, self._default_loss if self.loss is None else self.loss,
                         self._routed("loss"))

    def _epochs(self):
        return check_positive_int(type(self).__name__, "epochs", self.epochs)

    def _batch_size(self, n_samples):
        return check_positive_int(type(self).__name__, "batch_size", self.batch_size)


class NNCClassifier(ClassifierPart, ClassifierMixin, _Wrapper):
    """A classifier from a function that returns an nnc Sequential with one output (a logit) per class.

    NNCClassifier(model=build, optimizer="adam", loss=None, epochs=10, batch_size=32, shuffle=True,
                  warm_start=False, random_state=None, verbose=0, **routed)
    loss=None is "softmax_cross_entropy" on the logits, and predict_proba their softmax. Labels can be any
    sortable values; they become class ids 0..K-1 in the order of classes_. The module docstring explains the
    routed parameters. Attributes after fit: model_ (the trained Sequential), classes_, n_features_in_,
    n_outputs_, n_iter_ (epochs trained), loss_, loss_curve_ (one training loss per epoch), history_."""
    _default_loss = "softmax_cross_entropy"


class NNCRegressor(RegressorPart, RegressorMixin, _Wrapper):
    """A regressor from a function that returns an nnc Sequential with one linear output per target.

    NNCRegressor(model=build, optimizer="adam", loss=None, epochs=10, batch_size=32, ...), as NNCClassifier;
    loss=None is "mse". score is R^2 (scikit-learn's RegressorMixin)."""
    _default_loss = "mse"
