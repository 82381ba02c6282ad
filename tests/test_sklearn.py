"""nnc.sklearn and nnc.Perceptron as scikit-learn estimators: check_estimator, the parameter mapping, random_state,
warm_start and partial_fit, routed parameters, Pipeline/cross_val_score/GridSearchCV/clone, joblib pickling."""
import pickle
import subprocess
import sys

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import nnc
from nnc.layers import Dense, Dropout
from nnc.sklearn import (ConvNetClassifier, MLPClassifier, MLPRegressor, NNCClassifier, NNCRegressor,
                         expected_failed_checks)


def build(n_features_in, n_outputs, hidden=16, dropout=0.0):
    """The generic wrappers' model: n_features_in and n_outputs come from fit, hidden and dropout from model__."""
    layers = [Dense(hidden, activation="relu", input_shape=(n_features_in,))]
    if dropout:
        layers.append(Dropout(dropout))
    return nnc.Sequential(layers + [Dense(n_outputs)])


# Small settings so that the ~60 checks per estimator stay quick; check_classifiers_train still asks for > 83%.
CHECKED = [
    MLPClassifier((16,), max_iter=20, learning_rate_init=0.01, random_state=0),
    MLPRegressor((16,), max_iter=20, learning_rate_init=0.01, random_state=0),
    ConvNetClassifier(filters=(4,), hidden_layer_sizes=(16,), max_iter=20, learning_rate_init=0.01, random_state=0),
    NNCClassifier(build, optimizer__lr=0.01, epochs=20, random_state=0),
    NNCRegressor(build, optimizer__lr=0.01, epochs=20, random_state=0),
    nnc.Perceptron(random_state=0),
]


@parametrize_with_checks(CHECKED, expected_failed_checks=expected_failed_checks)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def blobs():
    X, y = make_classification(240, n_features=8, n_informative=5, n_classes=3, random_state=0)
    return StandardScaler().fit_transform(X), y


def test_import_nnc_does_not_import_scikit_learn():
    code = "import sys, nnc; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_scikit_learn_says_what_to_install():
    code = "import sys; sys.modules['sklearn'] = None\nimport nnc.sklearn"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode != 0 and 'pip install ".[sklearn]"' in out.stderr


def test_same_random_state_same_bits_other_state_other_model(blobs):
    X, y = blobs
    a = MLPClassifier((12,), max_iter=5, random_state=3).fit(X, y)
    b = MLPClassifier((12,), max_iter=5, random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = MLPClassifier((12,), max_iter=5, random_state=4).fit(X, y)
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))
    # random_state=0 is nnc's seed=0: the estimator trains exactly the model one would write by hand.
    l2 = nnc.regularizers.L2(1e-4 / (2 * 200))   # alpha=1e-4, batch_size "auto" = min(200, 240)
    model = nnc.Sequential([Dense(12, activation="relu", kernel_regularizer=l2), Dense(3, kernel_regularizer=l2)],
                           seed=3)
    model.compile(nnc.optim.Adam(0.001), "softmax_cross_entropy")
    model.fit(X, y, batch_size=200, epochs=5, verbose=0)
    np.testing.assert_array_equal(a.model_.predict(X), model.predict(X))
    # A Generator or RandomState is drawn from: the same state gives the same fit.
    g = [MLPClassifier((12,), max_iter=2, random_state=np.random.default_rng(7)).fit(X, y) for _ in range(2)]
    np.testing.assert_array_equal(g[0].predict_proba(X), g[1].predict_proba(X))
    with pytest.raises(ValueError, match="random_state"):
        MLPClassifier(max_iter=1, random_state=-1).fit(X, y)


def test_predictions_do_not_depend_on_the_thread_count(blobs):
    X, y = blobs
    fits = []
    for n in (1, 2):
        with nnc.threads(n):
            fits.append(MLPClassifier((64, 32), max_iter=3, random_state=0).fit(X, y).predict_proba(X))
    np.testing.assert_array_equal(fits[0], fits[1])


def test_mlp_parameters_map_onto_nnc(blobs):
    X, y = blobs
    clf = MLPClassifier((10, 6), activation="logistic", alpha=0.5, batch_size=40, solver="sgd", momentum=0.8,
                        learning_rate_init=0.05, max_iter=2, random_state=0).fit(X, y)
    dense = [layer for layer in clf.model_.layers if isinstance(layer, Dense)]
    assert [d.units for d in dense] == [10, 6, 3]
    # scikit-learn's penalty alpha/2 ||W||^2 / batch is nnc's L2(l2) = l2 ||W||^2 with l2 = alpha / (2 batch)
    assert all(d.kernel_regularizer.l2 == pytest.approx(0.5 / 80) for d in dense)
    assert type(clf.model_.optimizer).__name__ == "SGD" and clf.model_.optimizer.momentum == 0.8
    assert clf.model_.optimizer.lr == pytest.approx(0.05)
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2 and clf.loss_ == clf.loss_curve_[-1]
    for bad, match in [(dict(solver="lbfgs"), "lbfgs"), (dict(learning_rate="adaptive"), "learning_rate"),
                       (dict(max_iter=0), "max_iter"), (dict(alpha=-1.0), "alpha"),
                       (dict(hidden_layer_sizes=(4, 0)), "hidden_layer_sizes")]:
        with pytest.raises(ValueError, match=match):
            MLPClassifier(**bad).fit(X, y)


def test_tol_and_early_stopping_end_training(blobs):
    X, y = blobs
    # A loss that cannot fall by tol = 10: the first epoch sets the best loss, n_iter_no_change more end training.
    assert MLPClassifier((8,), tol=10.0, n_iter_no_change=3, max_iter=50, random_state=0).fit(X, y).n_iter_ == 4
    es = MLPClassifier((8,), early_stopping=True, validation_fraction=0.25, tol=10.0, n_iter_no_change=2,
                       max_iter=50, random_state=0).fit(X, y)
    assert es.n_iter_ == 3 and "val_loss" in es.history_
    with pytest.raises(ValueError, match="validation_fraction"):
        MLPClassifier(early_stopping=True, validation_fraction=1.5).fit(X, y)


def test_warm_start_and_partial_fit_continue_exactly(blobs):
    X, y = blobs
    once = NNCClassifier(build, epochs=6, random_state=1).fit(X, y)
    warm = NNCClassifier(build, epochs=3, warm_start=True, random_state=1).fit(X, y)
    first = warm.model_
    warm.fit(X, y)
    assert warm.model_ is first and warm.n_iter_ == 6 and len(warm.loss_curve_) == 6
    np.testing.assert_array_equal(warm.predict_proba(X), once.predict_proba(X))
    assert warm.loss_curve_ == once.loss_curve_

    stream = NNCClassifier(build, random_state=1)
    with pytest.raises(ValueError, match="classes"):
        stream.partial_fit(X, y)
    for _ in range(6):
        stream.partial_fit(X, y, classes=[0, 1, 2])
    np.testing.assert_array_equal(stream.predict_proba(X), once.predict_proba(X))
    with pytest.raises(ValueError, match=r"classes \[7\]"):
        stream.partial_fit(X[:3], [0, 1, 7])
    with pytest.raises(ValueError, match="features"):
        stream.partial_fit(X[:, :4], y)


def test_sample_weight(blobs):
    X, y = blobs
    plain = MLPClassifier((8,), max_iter=3, random_state=0).fit(X, y)
    ones = MLPClassifier((8,), max_iter=3, random_state=0).fit(X, y, sample_weight=np.ones(len(y)))
    np.testing.assert_array_equal(plain.predict_proba(X), ones.predict_proba(X))
    # Weighting class 2 heavily makes it the prediction for more samples.
    w = np.where(y == 2, 20.0, 1.0)
    heavy = MLPClassifier((8,), max_iter=30, learning_rate_init=0.01, random_state=0).fit(X, y, sample_weight=w)
    light = MLPClassifier((8,), max_iter=30, learning_rate_init=0.01, random_state=0).fit(X, y)
    assert (heavy.predict(X) == 2).sum() > (light.predict(X) == 2).sum()
    with pytest.raises(ValueError, match="sample_weight"):
        MLPClassifier(max_iter=1).fit(X, y, sample_weight=np.ones(3))


@pytest.mark.parametrize("make", [lambda: MLPClassifier((8,), max_iter=3, random_state=0),
                                  lambda: NNCClassifier(build, epochs=3, random_state=0)])
def test_a_refused_refit_leaves_the_fitted_estimator_as_it_was(blobs, make):
    X, y = blobs
    est = make().fit(X, y)
    before = (est.n_features_in_, est.classes_.copy(), est.model_, est.predict_proba(X))
    X6 = np.hstack([X, X[:, :2]])
    y3 = np.arange(len(y)) % 3 + 5        # other features, other classes
    with pytest.raises(ValueError, match="zero"):
        est.fit(X6, y3, sample_weight=np.zeros(len(y)))
    assert est.n_features_in_ == before[0] and est.model_ is before[2]
    np.testing.assert_array_equal(est.classes_, before[1])
    np.testing.assert_array_equal(est.predict_proba(X), before[3])


def test_routed_parameters_get_set_clone(blobs):
    X, y = blobs
    clf = NNCClassifier(build, optimizer="sgd", optimizer__lr=0.2, optimizer__momentum=0.9, model__hidden=5,
                        epochs=2, random_state=0)
    params = clf.get_params()
    assert params["optimizer__lr"] == 0.2 and params["model__hidden"] == 5 and params["model"] is build
    twin = clone(clf).set_params(model__hidden=7, model__dropout=0.5)
    assert clf.get_params()["model__hidden"] == 5 and "model__dropout" not in clf.get_params()
    twin.fit(X, y)
    assert twin.model_.layers[0].units == 7 and isinstance(twin.model_.layers[1], Dropout)
    assert twin.model_.optimizer.lr == 0.2 and twin.model_.optimizer.momentum == 0.9
    # The optimizer given as an instance is copied, never trained itself.
    opt = nnc.optim.Adam(0.01)
    NNCClassifier(build, optimizer=opt, epochs=1).fit(X, y)
    assert opt.iterations == 0 and opt.state == {}
    with pytest.raises(TypeError, match="model__"):
        NNCClassifier(build, hidden=3).fit(X, y)
    with pytest.raises(TypeError, match="function"):
        NNCClassifier("mlp").fit(X, y)
    with pytest.raises(ValueError, match="already built"):
        NNCClassifier(lambda: nnc.Sequential([Dense(3, input_shape=(8,))]).build(), epochs=1).fit(X, y)
    reg = NNCRegressor(build, loss="huber", loss__delta=0.5, epochs=1).fit(X, y.astype(float))
    assert reg.model_.loss.delta == 0.5


def test_pipeline_cross_validation_and_searches(blobs):
    X, y = blobs
    X = X * 50 + 10        # unscaled: the pipeline's StandardScaler fixes it
    pipe = make_pipeline(StandardScaler(), MLPClassifier((16,), max_iter=30, learning_rate_init=0.01, random_state=0))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.6
    grid = GridSearchCV(make_pipeline(StandardScaler(), NNCClassifier(build, epochs=10, random_state=0)),
                        {"nncclassifier__model__hidden": [2, 32], "nncclassifier__optimizer__lr": [0.01]}, cv=3)
    grid.fit(X, y)
    assert grid.best_params_["nncclassifier__model__hidden"] == 32   # 2 hidden units fit 3 classes worse
    assert grid.best_estimator_[-1].model_.layers[0].units == 32
    search = RandomizedSearchCV(MLPClassifier(max_iter=5, random_state=0),
                                {"hidden_layer_sizes": [(4,), (8,), (16,)], "alpha": [1e-4, 1e-2]},
                                n_iter=3, cv=2, random_state=0).fit(X / 50, y)
    assert len(search.cv_results_["params"]) == 3


def test_joblib_pickle_round_trip(tmp_path, blobs):
    X, y = blobs
    for est in (MLPClassifier((8,), max_iter=3, random_state=0),
                MLPRegressor((8,), max_iter=3, random_state=0),
                NNCClassifier(build, epochs=2, warm_start=True, random_state=0)):
        target = y if not isinstance(est, MLPRegressor) else y.astype(float)
        est.fit(X, target)
        path = tmp_path / f"{type(est).__name__}.joblib"
        joblib.dump(est, path)
        back = joblib.load(path)
        np.testing.assert_array_equal(back.predict(X), est.predict(X))
        assert back.get_params().keys() == est.get_params().keys()
    # A loaded warm_start estimator goes on as the original does: optimizer state and random generator travel.
    back.fit(X, y)
    est.fit(X, y)
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))


def test_convnet_on_digit_images():
    X, y = load_digits(return_X_y=True)        # 8x8 images, shipped with scikit-learn
    X = X[:600] / 16.0
    y = y[:600]
    clf = ConvNetClassifier(filters=(8,), hidden_layer_sizes=(32,), max_iter=15, learning_rate_init=0.01,
                            batch_size=32, random_state=0).fit(X[:500], y[:500])
    layers = [type(layer).__name__ for layer in clf.model_.layers]
    assert layers == ["Conv2D", "MaxPool2D", "Flatten", "Dense", "Dense"]
    assert clf.model_.input_shape == (1, 8, 8)
    assert clf.score(X[500:], y[500:]) > 0.8      # 10 classes: chance is 0.1
    with pytest.raises(ValueError, match="image_shape"):
        ConvNetClassifier(image_shape=(1, 4, 4), max_iter=1).fit(X, y)


def test_not_fitted_errors_are_scikit_learns():
    X = np.zeros((2, 3))
    for est in (MLPClassifier(), NNCRegressor(build), nnc.Perceptron()):
        with pytest.raises(NotFittedError):
            est.predict(X)
    # Perceptron's error is nnc's class and scikit-learn's at once, and pickles (as from a worker process).
    from nnc.models.perceptron import NotFittedError as NNCNotFittedError
    with pytest.raises(NNCNotFittedError) as info:
        nnc.Perceptron().predict(X)
    back = pickle.loads(pickle.dumps(info.value))
    assert isinstance(back, NNCNotFittedError) and back.args == info.value.args
