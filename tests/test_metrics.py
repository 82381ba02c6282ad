"""Metrics against values computed by hand, and their accumulation over batches in fit/evaluate."""
import numpy as np
import pytest

import nnc
from nnc import metrics
from nnc.layers import Dense

# 6 samples, 3 classes. Predicted (argmax): 0, 1, 1, 2, 2, 0; true: 0, 1, 2, 2, 0, 0.
OUT = np.array([[.8, .1, .1], [.2, .7, .1], [.1, .5, .4], [.1, .2, .7], [.3, .3, .4], [.6, .3, .1]])
TRUE = np.array([0, 1, 2, 2, 0, 0])


def test_confusion_matrix_by_hand():
    C = metrics.confusion_matrix(TRUE, OUT.argmax(axis=1))
    np.testing.assert_array_equal(C, [[2, 0, 1], [0, 1, 0], [0, 1, 1]])
    np.testing.assert_array_equal(metrics.confusion_matrix([1], [1], num_classes=3), [[0, 0, 0], [0, 1, 0], [0, 0, 0]])
    np.testing.assert_array_equal(metrics.confusion_matrix(np.eye(3)[TRUE], OUT), C)  # one-hot / scores accepted
    with pytest.raises(ValueError, match="does not fit num_classes=2"):
        metrics.confusion_matrix(TRUE, TRUE, num_classes=2)
    with pytest.raises(ValueError, match="y_true has 6 samples but y_pred has 2"):
        metrics.confusion_matrix(TRUE, [0, 1])


def test_precision_recall_f1_macro_by_hand():
    # per class (TP, predicted, actual) = (2, 2, 3), (1, 2, 1), (1, 2, 2):
    # precision 1, 1/2, 1/2; recall 2/3, 1, 1/2; F1 = 2 TP / (predicted + actual) = 4/5, 2/3, 1/2
    assert metrics.get("precision")(OUT, TRUE) == pytest.approx((1 + 1 / 2 + 1 / 2) / 3)
    assert metrics.get("recall")(OUT, TRUE) == pytest.approx((2 / 3 + 1 + 1 / 2) / 3)
    assert metrics.get("f1")(OUT, TRUE) == pytest.approx((4 / 5 + 2 / 3 + 1 / 2) / 3)
    assert metrics.accuracy(OUT, TRUE) == pytest.approx(4 / 6)


def test_top_k_accuracy_by_hand():
    # true-class rank: 1, 1, 2, 1, 2 (0.3 vs 0.3 and 0.4: one larger), 1
    assert metrics.get("top_2_accuracy")(OUT, TRUE) == pytest.approx(1.0)
    assert metrics.TopKAccuracy(1)(OUT, TRUE) == pytest.approx(4 / 6)
    assert metrics.get("sparse_top_k_categorical_accuracy").k == 5


def test_mse_mae_by_hand():
    out, t = np.array([[1.0, 2.0], [3.0, 5.0]]), np.array([[1.0, 0.0], [4.0, 5.0]])
    assert metrics.get("mse")(out, t) == pytest.approx((0 + 4 + 1 + 0) / 4)
    assert metrics.get("mae")(out, t) == pytest.approx((0 + 2 + 1 + 0) / 4)


def test_epoch_f1_is_not_the_mean_of_batch_f1():
    model = nnc.Sequential([Dense(3, input_shape=(3,), activation="softmax")], seed=0)
    model.compile("sgd", nnc.losses.SparseCategoricalCrossentropy(), ["f1", "accuracy"])
    model.build()
    model.layers[0].params["W"][...] = np.eye(3) * 10   # predicts argmax of the input
    model.layers[0].params["b"][...] = 0
    logs = model.evaluate(OUT.astype(np.float32), TRUE, batch_size=2)
    assert logs["f1"] == pytest.approx(metrics.get("f1")(OUT, TRUE))
    assert logs["accuracy"] == pytest.approx(4 / 6)


def test_metric_names_string_and_typos():
    model = nnc.Sequential([Dense(3, input_shape=(3,))], seed=0)
    model.compile("sgd", "softmax_cross_entropy", metrics="accuracy")   # a string, as Keras allows
    assert model.evaluate(OUT.astype(np.float32), TRUE).keys() == {"loss", "accuracy"}
    with pytest.raises(ValueError, match="unknown metric 'acuracy'; did you mean 'accuracy'"):
        metrics.get("acuracy")
