"""Layers the Keras way: constructor checks that name the class and argument, get/set_weights,
Dropout(rate, noise_shape, seed), readable reprs, and the PyTorch name Linear pointed at Dense."""
import numpy as np
import pytest

import nnc
from nnc import initializers, layers
from nnc.layers import (Activation, AvgPool2D, BatchNormalization, Conv2D, Dense, Dropout, ELU, GELU, Input,
                        LeakyReLU, MaxPool2D, PReLU, Softmax, SpatialDropout2D)


# ---- constructor arguments ---------------------------------------------------------------------------

BAD_ARGS = [
    (lambda: Softmax(axis=2.5), TypeError, r"Softmax: axis must be an integer .*got 2.5"),
    (lambda: Softmax(axis=None), TypeError, r"Softmax: axis must be an integer .*got None"),
    (lambda: LeakyReLU("3"), ValueError, r"LeakyReLU: alpha must be a finite number, got '3'"),
    (lambda: LeakyReLU(None), ValueError, r"LeakyReLU: alpha must be a finite number, got None"),
    (lambda: LeakyReLU(-1), ValueError, r"LeakyReLU: alpha must satisfy 0 <= alpha, got -1"),
    (lambda: ELU(0), ValueError, r"ELU: alpha must satisfy 0 < alpha, got 0"),
    (lambda: PReLU(alpha_initializer=float("nan")), ValueError, r"PReLU: alpha_initializer must be a finite"),
    (lambda: PReLU(shared_axes=(0,)), ValueError, r"PReLU: shared_axes must be None, an axis or a tuple of axes"),
    (lambda: PReLU(shared_axes="2"), ValueError, r"PReLU: shared_axes must be"),
    (lambda: GELU(approximate=None), ValueError, r"GELU: approximate must be 'none' or 'tanh'"),
    (lambda: Activation("rleu"), ValueError, r"unknown activation 'rleu'; did you mean 'relu'"),
    (lambda: Dense(None), ValueError, r"Dense: units must be a positive integer \(the number of outputs\), got None"),
    (lambda: Dense(2.5), ValueError, r"Dense: units must be a positive integer"),
    (lambda: Dense(3, input_dim=0), ValueError, r"Dense: input_dim must be an integer >= 1, got 0"),
    (lambda: Dense(3, activation="rleu"), ValueError, r"Dense: activation: unknown activation 'rleu'; did you mean"),
    (lambda: Dense(3, activation=3), TypeError, r"Dense: activation: activation must be a name"),
    (lambda: Dense(3, use_bias=None), TypeError, r"Dense: use_bias must be True or False, got None"),
    (lambda: Dense(3, kernel_initializer="he_nromal"), ValueError,
     r"Dense: kernel_initializer: unknown initializer 'he_nromal'; did you mean 'he_normal'"),
    (lambda: Dense(3, kernel_regularizer="l22"), ValueError, r"Dense: kernel_regularizer: unknown regularizer 'l22'"),
    (lambda: Dense(3, input_shape=784), ValueError, r"Dense: input_shape must be the shape of one sample"),
    (lambda: Dense(3, input_shape=(None, 784)), ValueError, r"input_shape must be .* without the batch axis"),
    (lambda: Dense(3, name=""), TypeError, r"Dense: name must be a non-empty string"),
    (lambda: Dense(3, trainable="no"), TypeError, r"Dense: trainable must be True or False, got 'no'"),
    (lambda: Conv2D(None, 3), ValueError, r"Conv2D: filters must be an integer >= 1, got None"),
    (lambda: Conv2D(4, None), ValueError, r"Conv2D: kernel_size must be an integer >= 1, got None"),
    (lambda: Conv2D(4, (3, True)), ValueError, r"Conv2D: kernel_size must be an integer >= 1, got True"),
    (lambda: Conv2D(4, 3, strides=0), ValueError, r"Conv2D: strides must be an integer >= 1, got 0"),
    (lambda: Conv2D(4, 3, padding="full"), ValueError, r"Conv2D: padding must be 'valid', 'same', an int"),
    (lambda: Conv2D(4, 3, padding=-1), ValueError, r"Conv2D: padding must be an integer >= 0, got -1"),
    (lambda: Conv2D(4, 3, data_format="channels_last"), ValueError,
     r"Conv2D: data_format must be None or 'channels_first' \(nnc's images are \(N, C, H, W\)\), got "
     r"'channels_last': transpose NHWC images once with x.transpose\(0, 3, 1, 2\)"),
    (lambda: MaxPool2D(data_format="nhwc"), ValueError, r"MaxPool2D: data_format must be None or 'channels_first'"),
    (lambda: layers.GlobalAveragePooling2D(data_format="channels_last"), ValueError,
     r"GlobalAveragePooling2D: data_format must be"),
    (lambda: MaxPool2D(None), ValueError, r"MaxPool2D: pool_size must be an integer >= 1, got None"),
    (lambda: AvgPool2D(2, strides=(1, 2, 3)), ValueError, r"AvgPool2D: strides must be an int or an \(h, w\) pair"),
    (lambda: BatchNormalization(axis=2), ValueError, r"BatchNormalization: axis must be 1 .* or -1"),
    (lambda: BatchNormalization(axis=None), ValueError, r"BatchNormalization: axis must be 1"),
    (lambda: BatchNormalization(momentum=None), ValueError, r"BatchNormalization: momentum must be a finite number"),
    (lambda: BatchNormalization(center="yes"), TypeError, r"BatchNormalization: center must be True or False"),
    (lambda: BatchNormalization(gamma_regularizer="l3"), ValueError, r"BatchNormalization: gamma_regularizer: unknown"),
    (lambda: BatchNormalization(beta_initializer="zero_"), ValueError,
     r"BatchNormalization: beta_initializer: unknown initializer 'zero_'; did you mean 'zero'"),
    (lambda: Dropout(None), ValueError, r"Dropout: rate must be a finite number, got None"),
    (lambda: Dropout(1.0), ValueError, r"Dropout: rate must satisfy 0 <= rate < 1"),
    (lambda: Dropout(0.5, noise_shape=(None, 0)), ValueError, r"Dropout: noise_shape must be None or a tuple"),
    (lambda: Dropout(0.5, noise_shape=5), ValueError, r"Dropout: noise_shape must be None or a tuple"),
    (lambda: Dropout(0.5, seed=1.5), ValueError, r"Dropout: seed must be None or an integer >= 0, got 1.5"),
    (lambda: BatchNormalization(momentun=0.9), TypeError,
     r"BatchNormalization: unknown argument 'momentun'; did you mean 'momentum'\? \(known: axis, "),
    (lambda: layers.ReLU(alpha=1), TypeError,
     r"ReLU: unknown argument 'alpha' \(known: input_shape, name, trainable\)"),
    (lambda: Input(None), ValueError, r"Input: shape must be the shape of one sample"),
]


@pytest.mark.parametrize("make, err, msg", BAD_ARGS, ids=[m for _, _, m in BAD_ARGS])
def test_bad_constructor_arguments_name_the_class_and_argument(make, err, msg):
    with pytest.raises(err, match=msg):
        make()


def test_channels_first_is_accepted():
    assert Conv2D(4, 3, data_format="channels_first").filters == 4
    assert MaxPool2D(2, data_format="channels_first").pool_size == (2, 2)


def test_linear_points_pytorch_users_to_dense():
    with pytest.raises(TypeError, match=r"nnc has no Linear\(in_features, out_features\) layer: use Dense\(10\) "
                                        r"\(its input size is inferred"):
        layers.Linear(784, 10)
    with pytest.raises(TypeError, match=r"use Dense\(units\).*Identity\(\) or activation='linear'"):
        layers.Linear()
    # the identity itself keeps its names, and its saved config (class Identity) still loads
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(layers.Identity().forward(x), x)
    np.testing.assert_array_equal(Activation("linear").forward(x), x)
    assert isinstance(layers.get("Identity").from_config(layers.Identity().get_config()), layers.Identity)


def test_parameters_too_large_are_refused_at_build_with_their_size():
    layer = Dense(10**12, name="dense")
    x = np.ones((2, 784), np.float32)
    with pytest.raises(MemoryError, match=r"dense \(Dense\): W would be \(784, 1000000000000\) float32 = 3.1 PB"):
        layer.forward(x)
    assert not layer.built and layer.params == {}
    # below int range but far beyond any machine's memory (12.5 TB of float64 draws)
    with pytest.raises(MemoryError, match=r"W would be \(784, 2000000000\) float32 = 6.3 TB"):
        Dense(2 * 10**9).build((784,))


# ---- get_weights / set_weights ---------------------------------------------------------------------------

def test_get_weights_are_copies_in_keras_order(rng):
    bn = BatchNormalization()
    bn.forward(rng.standard_normal((8, 3)).astype(np.float32), training=True)
    w = bn.get_weights()
    assert len(w) == 4
    for got, ref in zip(w, [bn.params["gamma"], bn.params["beta"], bn.running_mean, bn.running_var]):
        np.testing.assert_array_equal(got, ref)
        assert got is not ref
    w[2][...] = 99
    assert not np.any(bn.running_mean == 99)
    assert Dense(3).get_weights() == []


def test_set_weights_is_in_place_casts_and_keeps_optimizer_references(rng):
    model = nnc.Sequential([Dense(3, input_shape=(4,))], seed=0)
    model.compile(optimizer="sgd", loss="mse")
    model.build()
    layer = model.layers[0]
    W, b = layer.params["W"], layer.params["b"]
    new_W = rng.standard_normal((4, 3))              # float64 in, cast to the layer's float32
    layer.set_weights([new_W, [1, 2, 3]])
    assert layer.params["W"] is W and layer.params["b"] is b and W.dtype == np.float32
    np.testing.assert_allclose(W, new_W.astype(np.float32))
    np.testing.assert_array_equal(b, [1, 2, 3])


@pytest.mark.parametrize("weights, err, msg", [
    (lambda W: [W], ValueError, r"d \(Dense\): set_weights expects 2 arrays \['W', 'b'\], got 1"),
    (lambda W: [W, np.zeros(4)], ValueError, r"set_weights: b must have shape \(3,\), got \(4,\)"),
    (lambda W: [W.T, np.zeros(3)], ValueError, r"set_weights: W must have shape \(4, 3\), got \(3, 4\)"),
    (lambda W: [W.astype(complex), np.zeros(3)], TypeError, r"W must hold real numbers, got dtype complex128"),
    (lambda W: [W, np.array([0, np.nan, 0])], ValueError, r"set_weights: b contains NaN or inf"),
    (lambda W: W, TypeError, r"set_weights expects a list of arrays, got ndarray")])
def test_set_weights_mismatch_changes_nothing(weights, err, msg, rng):
    layer = Dense(3, name="d")
    layer.build((4,), np.float32, rng)
    before = [a.copy() for a in layer.get_weights()]
    with pytest.raises(err, match=msg):
        layer.set_weights(weights(rng.standard_normal((4, 3))))
    for a, b in zip(layer.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_set_weights_needs_a_built_layer():
    with pytest.raises(RuntimeError, match=r"dense \(Dense\): set_weights\(\) needs a built layer"):
        Dense(3).set_weights([])


# ---- Dropout(rate, noise_shape, seed) ------------------------------------------------------------------------

def test_dropout_noise_shape_broadcasts_one_decision(B, rng):
    layer = Dropout(0.5, noise_shape=(None, 1, None), seed=0)
    x = rng.uniform(1, 2, (6, 5, 4)).astype(np.float32)
    out = layer.forward(x, training=True)
    kept = out != 0
    assert np.all(kept == kept[:, :1, :])                       # the same units at every position of axis 1
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(out[kept], 2 * x[kept], rtol=1e-6)  # scaled by 1 / (1 - rate)
    dout = rng.standard_normal(x.shape).astype(np.float32)
    np.testing.assert_allclose(layer.backward(dout), np.where(kept, 2 * dout, 0), rtol=1e-6)
    np.testing.assert_array_equal(layer.forward(x), x)          # inference: the identity
    again = Dropout.from_config(layer.get_config())
    assert again.noise_shape == (None, 1, None) and again.seed == 0


def test_dropout_noise_shape_that_does_not_broadcast_is_refused(rng):
    layer = Dropout(0.5, noise_shape=(None, 2, 4), name="drop")
    with pytest.raises(ValueError, match=r"drop \(Dropout\): noise_shape \(None, 2, 4\) does not broadcast to "
                                         r"inputs \(N, 5, 4\)"):
        layer.forward(np.ones((3, 5, 4), np.float32), training=True)
    assert not layer.built and layer.rng is None
    with pytest.raises(ValueError, match=r"noise_shape \(2, 1\) has batch entry 2 but the batch has 3 samples"):
        Dropout(0.5, noise_shape=(2, 1)).forward(np.ones((3, 4), np.float32), training=True)


def test_dropout_seed_gives_the_layer_its_own_generator(rng):
    x = np.ones((8, 10), np.float32)

    def masks(seed, model_seed):
        layer = Dropout(0.5, seed=seed)
        nnc.Sequential([Dense(10, input_shape=(10,)), layer], seed=model_seed).build()
        return [layer.forward(x, training=True) for _ in range(2)]

    a, b = masks(3, 0), masks(3, 1)        # same layer seed, other model seeds: the same masks
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0], a[1])  # a generator, not one fixed mask
    c, d = masks(None, 5), masks(None, 5)  # no layer seed: the model's seed fixes them
    for u, v in zip(c, d):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(masks(None, 6)[0], c[0])
    assert SpatialDropout2D(0.5, seed=2).get_config()["seed"] == 2


def test_dropout_moved_into_another_model_draws_from_that_models_generator():
    x = np.ones((8, 10), np.float32)
    moved = Dropout(0.5)
    nnc.Sequential([Dense(10, input_shape=(10,)), moved], seed=0).build()
    nnc.Sequential([Dense(10, input_shape=(10,)), moved], seed=5).build()
    fresh = Dropout(0.5)
    nnc.Sequential([Dense(10, input_shape=(10,)), fresh], seed=5).build()
    np.testing.assert_array_equal(moved.forward(x, training=True), fresh.forward(x, training=True))


# ---- repr ------------------------------------------------------------------------------------------------------

def test_repr_is_readable(rng):
    d = Dense(10, activation=LeakyReLU(0.2), kernel_initializer="he_normal", use_bias=False, name="dense_1")
    assert repr(d) == ("Dense(name='dense_1', units=10, activation=LeakyReLU(alpha=0.2), use_bias=False, "
                       "kernel_initializer=HeNormal())")
    d.build((784,))
    assert repr(d).endswith(", built for (N, 784) float32)")
    assert repr(Conv2D(8, 3, padding="same")) == "Conv2D(name='conv2d', filters=8, kernel_size=(3, 3), padding='same')"
    assert repr(BatchNormalization(momentum=0.9, trainable=False)) == \
        "BatchNormalization(name='batchnormalization', momentum=0.9, trainable=False)"
    assert repr(Dense(4, kernel_initializer=initializers.RandomNormal(stddev=0.1, seed=1))) == \
        "Dense(name='dense', units=4, kernel_initializer=RandomNormal(mean=0.0, stddev=0.1, seed=1))"
