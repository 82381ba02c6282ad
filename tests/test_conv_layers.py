"""Conv2D and pooling layers: shapes, summary, padding modes, gradients, config, and LeNet-5 learning."""
import numpy as np
import pytest

import nnc
from nnc.gradcheck import gradcheck
from nnc.layers import AvgPool2D, Conv2D, Dense, Flatten, GlobalAveragePooling2D, MaxPool2D


@pytest.mark.parametrize("layer, in_shape, out_shape", [
    (Conv2D(6, 5, padding=2), (1, 28, 28), (6, 28, 28)),
    (Conv2D(4, (3, 2), strides=(2, 1), padding="valid"), (3, 9, 7), (4, 4, 6)),
    (Conv2D(4, 3, strides=2, padding="same"), (2, 9, 8), (4, 5, 4)),
    (Conv2D(4, 3, padding="same", dilation_rate=2), (2, 9, 8), (4, 9, 8)),
    (MaxPool2D(2), (6, 28, 28), (6, 14, 14)),
    (MaxPool2D(2, padding="same"), (3, 7, 5), (3, 4, 3)),
    (AvgPool2D((3, 2), strides=1, padding=1), (2, 5, 6), (2, 5, 7)),
    (GlobalAveragePooling2D(), (5, 7, 3), (5,)),
])
def test_output_shapes(B, layer, in_shape, out_shape):
    assert layer.build(in_shape, np.float64, np.random.default_rng(0)) == out_shape
    x = np.random.default_rng(1).standard_normal((2,) + in_shape)
    out = layer.forward(x)
    assert out.shape == (2,) + out_shape
    assert layer.backward(np.ones_like(out)).shape == x.shape


def test_params_and_summary():
    model = nnc.Sequential([Conv2D(6, 5, padding=2, input_shape=(1, 28, 28)), MaxPool2D(2),
                            Conv2D(16, 5), MaxPool2D(2), Flatten(), Dense(120), Dense(84), Dense(10)], seed=0)
    text = model.summary(print_fn=lambda s: None)
    conv = model.layers[0]
    assert conv.params["W"].shape == (6, 1, 5, 5) and conv.params["b"].shape == (6,)
    assert conv.params["W"].dtype == np.float32
    assert model.count_params() == 61706     # the LeNet-5 count: 156 + 2416 + 48120 + 10164 + 850
    assert "(None, 16, 5, 5)" in text and "2,416" in text


def test_initializer_fans():
    """fan_in = C_in*kh*kw: he_uniform draws from U(-l, l) with l = sqrt(6 / fan_in)."""
    layer = Conv2D(64, (3, 2), kernel_initializer="he_uniform")
    layer.build((5, 9, 9), np.float64, np.random.default_rng(0))
    limit = np.sqrt(6 / (5 * 3 * 2))
    W = layer.params["W"]
    assert np.abs(W).max() <= limit and np.abs(W).max() > 0.95 * limit
    np.testing.assert_array_equal(layer.params["b"], 0)


def test_conv_layer_gradcheck(B):
    layer = Conv2D(3, (3, 2), strides=(2, 1), padding=1, dilation_rate=(1, 2))
    x = np.random.default_rng(0).standard_normal((2, 2, 7, 6))
    layer.build(x.shape[1:], np.float64, np.random.default_rng(1))
    report = gradcheck(layer, x)
    assert report.ok, str(report)


def test_pool_model_gradcheck(B):
    rng = np.random.default_rng(3)
    model = nnc.Sequential([Conv2D(2, 3, padding="same", input_shape=(1, 6, 5)), MaxPool2D(2, padding="same"),
                            AvgPool2D(2, strides=1), GlobalAveragePooling2D()], seed=0, dtype="float64")
    x = rng.standard_normal((2, 1, 6, 5))
    report = gradcheck(model, x, tol=1e-5)
    assert report.ok, str(report)


def test_first_layer_skips_dx(B):
    layer = Conv2D(2, 3)
    layer.need_input_grad = False
    x = np.ones((1, 1, 5, 5), np.float32)
    out = layer.forward(x)
    assert layer.backward(np.ones_like(out)) is None and layer.grads["W"].shape == (2, 1, 3, 3)


@pytest.mark.parametrize("make, match", [
    (lambda: Conv2D(0, 3), "filters"),
    (lambda: Conv2D(4, 0), "kernel_size"),
    (lambda: Conv2D(4, 3, strides=0), "strides"),
    (lambda: Conv2D(4, 3, padding="full"), "padding"),
    (lambda: Conv2D(4, 3, padding=-1), "padding"),
    (lambda: MaxPool2D(0), "pool_size"),
    (lambda: AvgPool2D(2, padding="bogus"), "padding"),
])
def test_bad_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_input_shapes(B):
    with pytest.raises(ValueError, match="does not fit"):
        Conv2D(2, 7).build((1, 5, 5))
    with pytest.raises(ValueError, match="even kernel|odd"):
        Conv2D(2, 2, padding="same").build((1, 5, 5))
    layer = Conv2D(2, 3)
    layer.forward(np.zeros((1, 3, 6, 6)))
    with pytest.raises(ValueError, match="expected input of shape"):
        layer.forward(np.zeros((1, 2, 6, 6)))        # channel mismatch after build
    with pytest.raises(ValueError, match="at most half"):
        MaxPool2D(2, padding=2).build((1, 8, 8))


def test_config_round_trip():
    layer = Conv2D(4, (3, 2), strides=2, padding="same", dilation_rate=(1, 2), use_bias=False, name="c1")
    clone = Conv2D.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    pool = MaxPool2D((2, 3), strides=1, padding=1)
    assert MaxPool2D.from_config(pool.get_config()).get_config() == pool.get_config()


def _lenet(seed=0):
    return nnc.Sequential([
        Conv2D(6, 5, padding=2, activation="relu", input_shape=(1, 28, 28)), MaxPool2D(2),
        Conv2D(16, 5, activation="relu"), MaxPool2D(2), Flatten(),
        Dense(120, activation="relu"), Dense(84, activation="relu"), Dense(10)], seed=seed)


@pytest.mark.parametrize("backend_name, n_train, epochs", [("native", 512, 4), ("reference", 256, 4)])
def test_lenet5_learns_the_sample(backend_name, n_train, epochs):
    """LeNet-5 on the built-in sample: well above chance (10 %) after a few passes (reference: a few batches)."""
    if backend_name == "native" and not nnc.backend.native_available():
        pytest.skip("native extension not built")
    (x, y), _ = nnc.datasets.load_sample(normalize=True, layout="NCHW")
    x, y = x[:n_train], y[:n_train]
    with nnc.backend.using(backend_name):
        model = _lenet()
        model.compile(optimizer=nnc.optim.SGD(lr=0.03), loss="softmax_cross_entropy", metrics=["accuracy"])
        model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
        acc = model.evaluate(x, y)["accuracy"]
    assert acc > 0.4, acc
