"""MLPClassifier, MLPRegressor and ConvNetClassifier: nnc networks behind scikit-learn's MLP parameter names.

The parameters mean what they mean in sklearn.neural_network.MLPClassifier, so one dict of settings runs both
(benchmarks/sklearn_compare.py does). How each maps onto nnc:

    hidden_layer_sizes=(100,)   Dense(h, activation) for each h, then Dense(n_outputs) (logits / linear outputs)
    activation="relu"           "relu", "tanh", "logistic" (nnc's "sigmoid"), "identity"; or any nnc name
    solver="adam"               nnc.optim.Adam(learning_rate_init, beta_1, beta_2, epsilon);
                                "sgd": nnc.optim.SGD(learning_rate_init, momentum, nesterov=nesterovs_momentum)
    alpha=1e-4                  L2 on every weight matrix (not the biases), as scikit-learn's
                                alpha/2 ||W||^2 / n_batch: kernel_regularizer=L2(alpha / (2 batch_size))
    batch_size="auto"           min(200, n_samples)
    max_iter=200                epochs
    shuffle, random_state       the nnc model's shuffling and its seed (random_state=0 is nnc's seed=0)
    tol=1e-4, n_iter_no_change  stop when the training loss (with early_stopping, the validation loss) has not
                                fallen by tol for n_iter_no_change epochs (nnc.callbacks.EarlyStopping)
    early_stopping, validation_fraction   hold out that fraction (stratified for a classifier), as scikit-learn
    warm_start, verbose         as in scikit-learn (verbose: nnc's progress lines)

Not mapped: solver="lbfgs", learning_rate="invscaling"/"adaptive", power_t, max_fun (refused with a
ValueError in fit); scikit-learn's binary classifier has one logistic output, nnc's has two logits and a softmax
(the same model class, parametrized twice); early stopping watches the validation loss, not its accuracy.
nnc computes in float32.
"""
import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split

from .. import optim
from ..callbacks import EarlyStopping
from ..layers import Conv2D, Dense, Flatten, MaxPool2D
from ..models import Sequential
from ..regularizers import L2
from ..validation import check_number, check_positive_int
from ._base import ClassifierPart, RegressorPart, _NNCEstimator

__all__ = ["MLPClassifier", "MLPRegressor", "ConvNetClassifier"]

_ACTIVATIONS = {"logistic": "sigmoid", "identity": "linear"}   # scikit-learn's names that nnc spells otherwise


class _MLP(_NNCEstimator):
    """The parameters and the network of MLPClassifier and MLPRegressor (the module docstring maps them)."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, (int, np.integer)) and not isinstance(sizes, bool) else tuple(sizes)
        return tuple(check_positive_int(type(self).__name__, "hidden_layer_sizes[...]", h) for h in sizes)

    def _activation(self):
        if not isinstance(self.activation, str):
            raise TypeError(f"{type(self).__name__}: activation must be a name such as 'relu', "
                            f"got {self.activation!r}")
        return _ACTIVATIONS.get(self.activation, self.activation)

    def _regularizer(self, n_samples):
        alpha = check_number(type(self).__name__, "alpha", self.alpha, minimum=0)
        return L2(alpha / (2 * self._batch_size(n_samples))) if alpha else None

    def _head(self, n_samples):
        """The hidden Dense layers and the output layer, with the L2 penalty alpha on their weights."""
        act = self._activation()
        hidden = [Dense(h, activation=act, kernel_regularizer=self._regularizer(n_samples))
                  for h in self._hidden_sizes()]
        return hidden + [Dense(self.n_outputs_, kernel_regularizer=self._regularizer(n_samples))]

    def _build_model(self):
        return Sequential(self._head(self._n_train))

    def _optimizer(self):
        owner = type(self).__name__
        if self.learning_rate != "constant":
            raise ValueError(f"{owner}: learning_rate={self.learning_rate!r} is not available; nnc keeps "
                             "learning_rate='constant' (a schedule can be given to NNCClassifier's optimizer)")
        if self.solver == "adam":
            return optim.Adam(self.learning_rate_init, beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)
        if self.solver == "sgd":
            return optim.SGD(self.learning_rate_init, momentum=self.momentum, nesterov=bool(self.nesterovs_momentum))
        raise ValueError(f"{owner}: solver must be 'adam' or 'sgd', got {self.solver!r} ('lbfgs' is not available "
                         "in nnc)")

    def _epochs(self):
        return check_positive_int(type(self).__name__, "max_iter", self.max_iter)

    def _batch_size(self, n_samples):
        if isinstance(self.batch_size, str) and self.batch_size == "auto":
            return min(200, n_samples)
        return min(check_positive_int(type(self).__name__, "batch_size", self.batch_size), n_samples)

    def _callbacks(self):
        patience = check_positive_int(type(self).__name__, "n_iter_no_change", self.n_iter_no_change)
        tol = check_number(type(self).__name__, "tol", self.tol, minimum=0)
        return [EarlyStopping("val_loss" if self.early_stopping else "loss", patience=patience, min_delta=tol)]

    def _fit_options(self, X, y, sample_weight, seed):
        self._n_train = X.shape[0]
        if not self.early_stopping:
            return X, y, sample_weight, {}
        fraction = check_number(type(self).__name__, "validation_fraction", self.validation_fraction, 0, 1, strict=True)
        parts = [X, y] + ([] if sample_weight is None else [sample_weight])
        stratify = y if isinstance(self, ClassifierMixin) else None
        split = train_test_split(*parts, test_size=fraction, random_state=seed, stratify=stratify)
        X, X_val, y, y_val = split[:4]
        self._n_train = X.shape[0]
        return X, y, (split[4] if sample_weight is not None else None), {"validation_data": (X_val, y_val)}


class MLPClassifier(ClassifierPart, ClassifierMixin, _MLP):
    """A multi-layer perceptron classifier with scikit-learn's MLPClassifier parameters, trained by nnc.

        clf = nnc.sklearn.MLPClassifier(hidden_layer_sizes=(64,), max_iter=20, random_state=0).fit(X, y)

    Forward pass for x (n_features,): a_0 = x, a_l = f(W_l^T a_(l-1) + b_l) for the hidden layers, logits
    z = W_L^T a_(L-1) + b_L (n_classes,), p = softmax(z); the loss is the mean cross-entropy -log p_y plus
    alpha/2 ||W||^2 / batch. The module docstring says how every parameter maps onto nnc. Attributes after fit:
    model_ (the nnc Sequential), classes_, n_features_in_, n_outputs_, n_iter_ (epochs), loss_, loss_curve_."""

    def _loss(self):
        return "softmax_cross_entropy"


class MLPRegressor(RegressorPart, RegressorMixin, _MLP):
    """A multi-layer perceptron regressor with scikit-learn's MLPRegressor parameters, trained by nnc.

    The same network as MLPClassifier with one linear output per target (y (n_samples,) or
    (n_samples, n_targets)) and the mean squared error as the loss. score is R^2."""

    def _loss(self):
        return "mse"


class ConvNetClassifier(MLPClassifier):
    """A small convnet for images given as rows of X (n_samples, C*H*W), with MLPClassifier's training parameters.

        ConvNetClassifier(image_shape=(1, 28, 28), filters=(8, 16), kernel_size=3, hidden_layer_sizes=(64,))

    Network: for each f in filters, Conv2D(f, kernel_size, padding="same", activation) then MaxPool2D(2) (a
    side of 1 pixel is left unpooled), then Flatten and the MLP head (hidden_layer_sizes, then one logit per
    class). image_shape=None takes a square gray image (1, s, s) when n_features = s*s, else a one-row image
    (1, 1, n_features), where the kernel slides along the row. Rows are reshaped in C, H, W order (what
    X.reshape(n, -1) of NCHW images gives)."""

    def __init__(self, image_shape=None, filters=(8, 16), kernel_size=3, hidden_layer_sizes=(64,), activation="relu",
                 *, solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, max_iter=20, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10):
        super().__init__(hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
                         learning_rate=learning_rate, learning_rate_init=learning_rate_init, max_iter=max_iter,
                         shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose, warm_start=warm_start,
                         momentum=momentum, nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         n_iter_no_change=n_iter_no_change)
        self.image_shape = image_shape
        self.filters = filters
        self.kernel_size = kernel_size

    def _image_shape(self):
        n = self.n_features_in_
        if self.image_shape is None:
            side = int(round(n ** 0.5))
            return (1, side, side) if side * side == n else (1, 1, n)
        shape = tuple(check_positive_int(type(self).__name__, "image_shape[...]", d) for d in self.image_shape)
        if len(shape) != 3 or shape[0] * shape[1] * shape[2] != n:
            raise ValueError(f"{type(self).__name__}: image_shape must be (C, H, W) with C*H*W = n_features "
                             f"({n}), got {self.image_shape!r}")
        return shape

    def _model_input(self, X):
        return X.reshape((X.shape[0],) + self._image_shape())

    def _build_model(self):
        act = self._activation()
        filters = self.filters
        if isinstance(filters, (int, np.integer)) and not isinstance(filters, bool):
            filters = (filters,)
        _, h, w = self._image_shape()
        layers = []
        for f in tuple(filters):
            layers.append(Conv2D(check_positive_int(type(self).__name__, "filters[...]", f), self.kernel_size,
                                 padding="same", activation=act, kernel_regularizer=self._regularizer(self._n_train)))
            pool = (2 if h >= 2 else 1, 2 if w >= 2 else 1)
            if pool != (1, 1):
                layers.append(MaxPool2D(pool))
                h, w = h // pool[0], w // pool[1]
        return Sequential(layers + [Flatten()] + self._head(self._n_train))
