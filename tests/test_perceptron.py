"""Perceptron: the textbook numbers, the learning rule traced by hand, convergence, one-vs-rest, errors."""
import warnings

import numpy as np
import pytest

from nnc.datasets import make_blobs, make_linearly_separable, make_xor
from nnc.models.perceptron import ConvergenceWarning, DataConversionWarning, NotFittedError, Perceptron


def test_textbook_scores_and_predictions(B, dtype):
    """w = (-1, 4), b = 0.4: scores of (2, 0.4), (1, 0.6), (3, 0.4) are 0, 1.8, -1; step gives 1, 1, 0."""
    p = Perceptron.from_weights([-1.0, 4.0], 0.4)
    X = np.array([[2.0, 0.4], [1.0, 0.6], [3.0, 0.4]], dtype=dtype)
    z = p.decision_function(X)
    assert z.shape == (3,) and z.dtype == dtype
    np.testing.assert_allclose(z, [0.0, 1.8, -1.0], atol=1e-6)
    np.testing.assert_array_equal(p.predict(X), [1, 1, 0])
    assert p.score(X, [1, 1, 0]) == 1.0
    np.testing.assert_array_equal(p.coef_, [[-1.0, 4.0]])
    np.testing.assert_array_equal(p.intercept_, [0.4])
    # A score of exactly zero is on the "1" side: step(0) = 1.
    np.testing.assert_array_equal(Perceptron.from_weights([1.0, -1.0], 0.0).predict(np.ones((1, 2), dtype)), [1])


def test_one_update_traced_by_hand():
    """From w = 0, b = 0 the first sample (x=(1, 2), t=0) scores 0 -> step 1 -> mistake:
    w = 0 - 1 * (1, 2) = (-1, -2), b = -1. The second (x=(-1, 1), t=1) scores 1 - 2 - 1 = -2 -> 0 -> mistake:
    w = (-1, -2) + (-1, 1) = (-2, -1), b = 0. Then both are right: epoch 2 has no mistakes."""
    X = np.array([[1.0, 2.0], [-1.0, 1.0]])
    y = np.array([0, 1])
    p = Perceptron(lr=1.0, shuffle=False).fit(X, y)
    np.testing.assert_array_equal(p.coef_, [[-2.0, -1.0]])
    np.testing.assert_array_equal(p.intercept_, [0.0])
    assert p.errors_ == [2, 0] and p.n_iter_ == 2
    # Starting from zero weights, lr only scales w and b: the same mistakes, the same decisions.
    q = Perceptron(lr=0.5, shuffle=False).fit(X, y)
    np.testing.assert_array_equal(q.coef_, 0.5 * p.coef_)
    assert q.errors_ == p.errors_


def test_no_intercept():
    X = np.array([[1.0, 2.0], [-1.0, 1.0]])
    p = Perceptron(shuffle=False, fit_intercept=False).fit(X, [0, 1])
    np.testing.assert_array_equal(p.intercept_, [0.0])
    assert p.score(X, [0, 1]) == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_converges_on_separable_data(seed):
    X, y = make_linearly_separable(150, n_features=3, margin=0.15, seed=seed)
    p = Perceptron(random_state=seed, max_iter=500).fit(X, y)
    assert p.errors_[-1] == 0 and p.n_iter_ == len(p.errors_) < 500
    assert all(e > 0 for e in p.errors_[:-1])              # it stops at the first clean epoch
    assert p.score(X, y) == 1.0
    assert p.coef_.shape == (1, 3) and p.intercept_.shape == (1,)


def test_same_seed_same_model_different_seed_different_path():
    X, y = make_linearly_separable(200, n_features=4, margin=0.05, seed=3)
    a = Perceptron(random_state=7).fit(X, y)
    b = Perceptron(random_state=7).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.intercept_, b.intercept_)
    assert a.errors_ == b.errors_
    a.fit(X, y)                                             # refitting with an int seed repeats too
    np.testing.assert_array_equal(a.coef_, b.coef_)
    c = Perceptron(random_state=8).fit(X, y)
    assert not (np.array_equal(c.coef_, a.coef_) and c.errors_ == a.errors_)


def test_other_label_sets():
    X, y01 = make_linearly_separable(100, margin=0.2, seed=0)
    ref = Perceptron(random_state=0).fit(X, y01)
    for labels in ([-1, 1], ["cat", "dog"], [3, 7]):
        y = np.array(labels)[y01]
        p = Perceptron(random_state=0).fit(X, y)
        np.testing.assert_array_equal(p.classes_, labels)
        np.testing.assert_array_equal(p.predict(X), y)
        np.testing.assert_array_equal(p.coef_, ref.coef_)   # the same problem after mapping to {0, 1}


def test_one_vs_rest_on_three_blobs(B):
    X, y = make_blobs(300, centers=[[0, 5], [5, -3], [-5, -3]], cluster_std=1.0, seed=0)
    Xtr, ytr, Xte, yte = X[:200], y[:200], X[200:], y[200:]
    with warnings.catch_warnings():
        # The blobs may overlap a little, so a unit may not reach zero mistakes; that is fine here.
        warnings.simplefilter("ignore", ConvergenceWarning)
        p = Perceptron(random_state=0, max_iter=50).fit(Xtr, ytr)
    assert p.coef_.shape == (3, 2) and p.intercept_.shape == (3,)
    assert p.decision_function(Xte).shape == (100, 3)
    assert p.score(Xte, yte) > 0.9
    # predict is the argmax of the per-class scores
    np.testing.assert_array_equal(p.predict(Xte), p.classes_[np.argmax(p.decision_function(Xte), axis=1)])


def test_one_vs_rest_units_match_binary_perceptrons():
    """Each one-vs-rest row is exactly the binary perceptron for "class k vs the rest" on the same order."""
    X, y = make_blobs(90, centers=[[0, 6], [6, -3], [-6, -3]], cluster_std=0.5, seed=1)
    p = Perceptron(shuffle=False, max_iter=30).fit(X, y)
    for k in range(3):
        # A unit that converged early stays fixed, so training it alone for the same epochs gives the same row.
        q = Perceptron(shuffle=False, max_iter=p.n_iter_).fit(X, (y == k).astype(int))
        np.testing.assert_array_equal(p.coef_[k], q.coef_[0])
        np.testing.assert_array_equal(p.intercept_[k], q.intercept_[0])


def test_xor_does_not_converge():
    X, y = make_xor(100, noise=0.05, seed=0)
    with pytest.warns(ConvergenceWarning, match="linearly separable"):
        p = Perceptron(random_state=0, max_iter=20).fit(X, y)
    assert p.n_iter_ == 20 and len(p.errors_) == 20 and min(p.errors_) > 0
    assert p.score(X, y) <= 0.75                           # a line gets at most 3 of the 4 clusters


def test_from_weights_multiclass_and_classes():
    p = Perceptron.from_weights(np.eye(3), [0, 0, 0], classes=["a", "b", "c"])
    np.testing.assert_array_equal(p.predict(np.array([[0.0, 2.0, 1.0], [5.0, 0.0, 0.0]])), ["b", "a"])
    with pytest.raises(ValueError, match="classes"):
        Perceptron.from_weights([1.0, 2.0], 0.0, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="finite"):
        Perceptron.from_weights([np.nan, 1.0])


@pytest.mark.parametrize("kwargs, match", [
    (dict(lr=0), "lr"), (dict(lr=-1.0), "lr"), (dict(lr=float("inf")), "lr"),
    (dict(max_iter=0), "max_iter"), (dict(max_iter=2.5), "max_iter"),
])
def test_bad_hyperparameters_are_refused_by_fit_and_change_nothing(kwargs, match):
    """scikit-learn's rule: the constructor only stores its arguments; fit checks them before anything changes."""
    X = np.array([[1.0, 2.0], [-1.0, 1.0]])
    p = Perceptron(shuffle=False).fit(X, [0, 1])
    coef = p.coef_.copy()
    p.set_params(**kwargs)                       # accepted as it is, like the constructor
    assert Perceptron(**kwargs).get_params()[next(iter(kwargs))] == next(iter(kwargs.values()))
    with pytest.raises(ValueError, match=match):
        p.fit(-X, [0, 1])
    np.testing.assert_array_equal(p.coef_, coef)


def test_bad_random_state():
    with pytest.raises(TypeError, match="random_state"):
        Perceptron(random_state="x").fit([[0.0], [1.0]], [0, 1])


def test_random_state_kinds_and_the_deprecated_seed():
    X, y = make_linearly_separable(120, n_features=3, margin=0.05, seed=4)
    a = Perceptron(random_state=5).fit(X, y)
    with pytest.warns(FutureWarning, match="random_state"):
        old = Perceptron(seed=5).fit(X, y)       # the old name trains the same model
    np.testing.assert_array_equal(old.coef_, a.coef_)
    with pytest.raises(ValueError, match="random_state= only"):
        Perceptron(seed=5, random_state=6).fit(X, y)
    # A Generator or RandomState is drawn from, as in scikit-learn: the same state gives the same run.
    g1 = Perceptron(random_state=np.random.default_rng(1)).fit(X, y)
    g2 = Perceptron(random_state=np.random.default_rng(1)).fit(X, y)
    np.testing.assert_array_equal(g1.coef_, g2.coef_)
    r1 = Perceptron(random_state=np.random.RandomState(2)).fit(X, y)
    r2 = Perceptron(random_state=np.random.RandomState(2)).fit(X, y)
    np.testing.assert_array_equal(r1.coef_, r2.coef_)


def test_estimator_protocol_without_scikit_learn():
    p = Perceptron(lr=0.5, random_state=3)
    assert p.get_params() == {"lr": 0.5, "max_iter": 100, "shuffle": True, "random_state": 3,
                              "fit_intercept": True, "seed": None}
    q = Perceptron(**p.get_params())             # what clone does
    assert q.get_params() == p.get_params() and repr(q) == "Perceptron(lr=0.5, random_state=3)"
    assert p.set_params(max_iter=7) is p and p.max_iter == 7
    with pytest.raises(ValueError, match="max_itr"):
        p.set_params(lr=2.0, max_itr=3)          # an unknown name: nothing is set
    assert p.lr == 0.5
    X, y = make_linearly_separable(50, n_features=4, margin=0.2, seed=0)
    assert p.fit(X, y).n_features_in_ == 4
    assert Perceptron.from_weights([1.0, 2.0, 3.0]).n_features_in_ == 3


def test_labels_scikit_learn_style():
    X = np.array([[1.0, 2.0], [-1.0, 1.0], [2.0, 2.0]])
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        p = Perceptron(shuffle=False).fit(X, np.array([[0], [1], [0]]))
    np.testing.assert_array_equal(p.predict(X), [0, 1, 0])
    with pytest.raises(ValueError, match="continuous"):
        Perceptron().fit(X, [0.5, 1.0, 2.25])
    np.testing.assert_array_equal(Perceptron(shuffle=False).fit(X, [0.0, 1.0, 0.0]).classes_, [0.0, 1.0])
    with pytest.raises(ValueError, match="requires y"):
        Perceptron().fit(X, None)
    with pytest.raises(ValueError, match="NaN"):
        Perceptron().fit(X, [0.0, np.nan, 1.0])


def test_bad_inputs():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    p = Perceptron()
    with pytest.raises(NotFittedError, match="fit"):
        p.predict(X)
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    with pytest.raises(ValueError, match="2-D"):
        p.fit(X[0], [0, 1])
    with pytest.raises(ValueError, match="NaN"):
        p.fit(np.array([[0.0, np.nan], [1.0, 1.0]]), [0, 1])
    with pytest.raises(ValueError, match="one label per row"):
        p.fit(X, [0, 1])
    with pytest.raises(ValueError, match="one class"):
        p.fit(X, [1, 1, 1])
    with pytest.raises(ValueError, match="empty"):
        p.fit(np.zeros((0, 2)), [])
    with pytest.raises(TypeError, match="numeric"):
        p.fit(np.array([["a", "b"]]), [0])
    with pytest.raises(ValueError, match="Reshape"):
        p.fit(X[:, 0], [0, 1, 1])
    with pytest.raises(ValueError, match="0 feature"):
        p.fit(np.zeros((3, 0)), [0, 1, 1])
    with pytest.raises(ValueError, match="Complex"):
        p.fit(X + 1j, [0, 1, 1])
    import scipy.sparse
    with pytest.raises(TypeError, match="sparse"):
        p.fit(scipy.sparse.csr_matrix(X), [0, 1, 1])
    q = Perceptron(shuffle=False)     # an object array of numbers is converted, as scikit-learn does
    np.testing.assert_array_equal(q.fit(X.astype(object), [0, 1, 1]).coef_, q.fit(X, [0, 1, 1]).coef_)
    p.fit(X, [0, 1, 1])
    with pytest.raises(ValueError, match="3 features"):
        p.predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="shape"):
        p.score(X, [0, 1])
