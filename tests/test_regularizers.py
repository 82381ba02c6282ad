"""Regularizers: penalties by formula, gradients by finite differences, and their place in the loss."""
import numpy as np
import pytest

import nnc
from nnc import regularizers
from nnc.gradcheck import numerical_gradient, relative_error
from nnc.layers import BatchNormalization, Conv2D, Dense


def away_from_zero(rng, shape):
    # |w| >= 0.1: finite differences of |w| are exact only away from the kink at 0.
    w = rng.uniform(0.1, 1.0, shape)
    return w * rng.choice([-1.0, 1.0], shape)


@pytest.mark.parametrize("reg", [regularizers.L1(0.3), regularizers.L2(0.2), regularizers.L1L2(0.1, 0.05)])
def test_gradient_matches_finite_differences(reg, rng):
    w = away_from_zero(rng, (4, 3))
    penalty, grad = reg(w)
    assert penalty == pytest.approx(reg.penalty(w))
    assert relative_error(grad, numerical_gradient(lambda: reg.penalty(w), w)) < 1e-7


def test_penalties_by_formula(rng):
    w = rng.standard_normal(10)
    assert regularizers.L1(0.3).penalty(w) == pytest.approx(0.3 * np.sum(np.abs(w)))
    assert regularizers.L2(0.2).penalty(w) == pytest.approx(0.2 * np.sum(w * w))
    assert regularizers.L1L2(0.3, 0.2).penalty(w) == pytest.approx(0.3 * np.sum(np.abs(w)) + 0.2 * np.sum(w * w))
    assert regularizers.L1(0.5).gradient(np.zeros(3)).tolist() == [0.0, 0.0, 0.0]   # subgradient at the kink


def test_names_and_configs():
    assert isinstance(regularizers.get("l2"), regularizers.L2)
    both = regularizers.get("l1_l2")
    assert (both.l1, both.l2) == (0.01, 0.01)
    again = regularizers.get(regularizers.serialize(regularizers.L1L2(0.5, 0.25)))
    assert (again.l1, again.l2) == (0.5, 0.25)
    assert regularizers.get(None) is None
    with pytest.raises(ValueError, match=r"unknown regularizer 'l22'; did you mean 'l2'"):
        regularizers.get("l22")
    with pytest.raises(ValueError):
        regularizers.L2(-1.0)


@pytest.mark.parametrize("kind", ["dense", "conv"])
def test_layer_gradients_include_all_three_penalties(rng, kind):
    regs = dict(kernel_regularizer=regularizers.L1L2(0.05, 0.1), bias_regularizer=regularizers.L2(0.3),
                activity_regularizer=regularizers.L1L2(0.02, 0.04))
    if kind == "dense":
        layer, in_shape = Dense(3, **regs), (4,)
    else:
        layer, in_shape = Conv2D(3, (2, 3), padding=1, **regs), (2, 5, 4)
    layer.build(in_shape, np.float64, rng)
    layer.params["W"][...] = away_from_zero(rng, layer.params["W"].shape)
    layer.params["b"][...] = away_from_zero(rng, (3,))
    x = rng.standard_normal((5,) + in_shape)
    R = rng.standard_normal((5,) + layer.output_shape)

    def total():
        return float(np.sum(layer.forward(x) * R)) + layer.regularization_loss()

    # keep the outputs away from 0 as well (the activity L1 kink)
    out = layer.forward(x)
    assert np.min(np.abs(out)) > 1e-3
    layer.forward(x, training=True)
    dx = layer.backward(R)
    analytic = {"W": layer.grads["W"].copy(), "b": layer.grads["b"].copy()}
    for name in ("W", "b"):
        assert relative_error(analytic[name], numerical_gradient(total, layer.params[name])) < 1e-6
    assert relative_error(dx, numerical_gradient(total, x)) < 1e-6


def test_reported_loss_contains_the_penalties(rng):
    x = rng.standard_normal((16, 5))
    y = rng.integers(0, 3, 16)
    reg = regularizers.L2(0.5)
    model = nnc.Sequential([Dense(3, kernel_regularizer=reg, input_shape=(5,))], seed=1, dtype="float64")
    model.compile(optimizer=nnc.optim.SGD(0.01), loss="softmax_cross_entropy")
    model.build()
    plain = nnc.losses.get("softmax_cross_entropy").forward(model.predict(x), y)
    expected = plain + 0.5 * np.sum(model.layers[0].params["W"] ** 2)
    assert model.evaluate(x, y)["loss"] == pytest.approx(expected, rel=1e-10)
    loss, _ = model.train_on_batch(x, y)
    assert loss == pytest.approx(expected, rel=1e-10)


def test_regularizers_round_trip_through_config():
    layer = Dense(4, kernel_regularizer="l1", activity_regularizer=regularizers.L1L2(0.1, 0.2))
    again = Dense.from_config(layer.get_config())
    assert isinstance(again.kernel_regularizer, regularizers.L1) and again.bias_regularizer is None
    assert (again.activity_regularizer.l1, again.activity_regularizer.l2) == (0.1, 0.2)


def test_l1_drives_weights_towards_zero(rng):
    x = rng.standard_normal((64, 10))
    y = (x[:, 0] > 0).astype(int)    # only feature 0 matters

    def fit(reg):
        m = nnc.Sequential([Dense(2, kernel_regularizer=reg, input_shape=(10,))], seed=0, dtype="float64")
        m.compile(optimizer=nnc.optim.SGD(0.1), loss="softmax_cross_entropy")
        m.fit(x, y, epochs=200, batch_size=64, verbose=0, shuffle=False)
        return np.abs(m.layers[0].params["W"][1:]).sum()

    assert fit(regularizers.L1(0.05)) < 0.3 * fit(None)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 2, 2)])
def test_batchnorm_gamma_and_beta_regularizers(rng, shape):
    bn = BatchNormalization(gamma_regularizer=regularizers.L1L2(0.05, 0.1), beta_regularizer="l2")
    bn.build(shape[1:], np.float64, rng)
    bn.params["gamma"][...] = away_from_zero(rng, (3,))
    bn.params["beta"][...] = away_from_zero(rng, (3,))
    x = rng.standard_normal(shape)
    R = rng.standard_normal(shape)
    expected = (0.05 * np.abs(bn.params["gamma"]).sum() + 0.1 * np.sum(bn.params["gamma"] ** 2)
                + 0.01 * np.sum(bn.params["beta"] ** 2))
    assert bn.regularization_loss() == pytest.approx(expected, rel=1e-12)

    def total():   # inference mode: the running statistics do not move between evaluations
        return float(np.sum(bn.forward(x) * R)) + bn.regularization_loss()

    bn.forward(x)
    bn.backward(R)
    for name in ("gamma", "beta"):
        assert relative_error(bn.grads[name], numerical_gradient(total, bn.params[name])) < 1e-6
    again = BatchNormalization.from_config(bn.get_config())
    assert (again.gamma_regularizer.l1, again.gamma_regularizer.l2) == (0.05, 0.1)
    assert isinstance(again.beta_regularizer, regularizers.L2) and again.beta_regularizer.l2 == 0.01
    assert BatchNormalization().regularization_loss() == 0.0
