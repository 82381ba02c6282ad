"""Layers that survive a bad call: a refused call changes nothing, and messages name the layer."""
import numpy as np
import pytest

import nnc
from nnc.layers import (AvgPool2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPool2D, PReLU,
                        ReLU)


# ---- build: a built layer keeps its weights (transfer learning) ------------------------------------

def test_build_of_a_built_layer_with_the_same_shape_keeps_the_weights(rng):
    layer = Dense(3)
    assert layer.build((4,), np.float32, np.random.default_rng(0)) == (3,)
    W, b = layer.params["W"], layer.params["b"]
    before = W.copy()
    assert layer.build((4,), np.float32, np.random.default_rng(1)) == (3,)
    assert layer.params["W"] is W and layer.params["b"] is b
    np.testing.assert_array_equal(W, before)


def test_build_of_a_built_layer_with_another_shape_or_dtype_raises_and_changes_nothing():
    layer = Dense(3, name="head")
    layer.build((4,), np.float32, np.random.default_rng(0))
    W = layer.params["W"].copy()
    with pytest.raises(ValueError, match=r"head \(Dense\): already built for input \(N, 4\) float32, "
                                         r"cannot rebuild it for \(N, 5\) float32"):
        layer.build((5,))
    with pytest.raises(ValueError, match=r"already built for input \(N, 4\) float32, cannot rebuild it for "
                                         r"\(N, 4\) float64"):
        layer.build((4,), np.float64)
    assert layer.input_shape == (4,) and layer.dtype == np.float32
    np.testing.assert_array_equal(layer.params["W"], W)


def test_a_trained_layer_keeps_its_weights_in_a_new_model():
    first = Dense(3, input_shape=(4,))
    nnc.Sequential([first, Dense(2)], seed=0).build()
    W = first.params["W"].copy()
    nnc.Sequential([first, Dense(5)], seed=1).build()
    np.testing.assert_array_equal(first.params["W"], W)


def test_a_failed_build_leaves_the_layer_unbuilt():
    layer = Dense(3)
    with pytest.raises(ValueError, match="Flatten"):
        layer.build((2, 3))
    assert not layer.built and layer.params == {} and layer.input_shape is None and layer.dtype is None
    assert layer.build((6,)) == (3,)
