"""Batch normalization: kernels in both backends, the gradient, running statistics, the layer, freezing."""

import numpy as np
import pytest

import nnc
from nnc.gradcheck import numerical_gradient, relative_error
from nnc.layers import BatchNormalization, Dense

from conftest import assert_close

SHAPES = [(1, 3), (7, 5), (33, 130), (1, 2, 3, 4), (4, 3, 5, 6), (9, 1, 2, 7)]


def params(rng, C, dtype):
    gamma = rng.uniform(0.5, 2.0, C).astype(dtype)
    beta = rng.standard_normal(C).astype(dtype)
    mean = rng.standard_normal(C).astype(dtype)
    var = rng.uniform(0.5, 2.0, C).astype(dtype)
    return gamma, beta, mean, var


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
def test_native_matches_reference(native, reference, rng, dtype, shape, training):
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    gamma, beta, rm, rv = params(rng, shape[1], dtype)
    rm_n, rv_n, rm_r, rv_r = rm.copy(), rv.copy(), rm.copy(), rv.copy()
    out_n, c_n = native.batchnorm_forward(x, gamma, beta, rm_n, rv_n, momentum=0.9, eps=1e-3, training=training)
    out_r, c_r = reference.batchnorm_forward(x, gamma, beta, rm_r, rv_r, momentum=0.9, eps=1e-3, training=training)
    assert out_n.dtype == dtype and out_n.shape == shape
    assert_close(out_n, out_r)
    assert_close(rm_n, rm_r)
    assert_close(rv_n, rv_r)
    for a, b in zip(native.batchnorm_backward(dout, c_n), reference.batchnorm_backward(dout, c_r)):
        assert a.dtype == dtype
        assert_close(a, b, atol=1e-4 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("shape", [(8, 3), (5, 2, 3, 4)])
def test_training_output_is_normalized(B, rng, shape):
    x = rng.standard_normal(shape) * 5 + 3
    C = shape[1]
    gamma, beta = np.full(C, 2.0), np.full(C, -1.0)
    out, cache = B.batchnorm_forward(x, gamma, beta, np.zeros(C), np.ones(C), eps=1e-12)
    axes = (0,) if len(shape) == 2 else (0, 2, 3)
    np.testing.assert_allclose(out.mean(axis=axes), beta, atol=1e-10)
    np.testing.assert_allclose(out.std(axis=axes), gamma, rtol=1e-8)
    np.testing.assert_allclose(cache.mean, x.mean(axis=axes), rtol=1e-12)


def test_running_averages_follow_keras_momentum(B, rng):
    x = rng.standard_normal((6, 4, 3, 2)) + 2
    rm, rv = np.full(4, 0.5), np.full(4, 3.0)
    B.batchnorm_forward(x, np.ones(4), np.zeros(4), rm, rv, momentum=0.8, training=True)
    mu, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))       # biased variance
    np.testing.assert_allclose(rm, 0.8 * 0.5 + 0.2 * mu, rtol=1e-12)
    np.testing.assert_allclose(rv, 0.8 * 3.0 + 0.2 * var, rtol=1e-12)
    before = rm.copy(), rv.copy()
    out, _ = B.batchnorm_forward(x, np.ones(4), np.zeros(4), rm, rv, eps=1e-3, training=False)
    np.testing.assert_array_equal(rm, before[0])                   # inference leaves them alone
    np.testing.assert_allclose(out, (x - rm[:, None, None]) / np.sqrt(rv[:, None, None] + 1e-3), rtol=1e-12)


@pytest.mark.parametrize("shape", [(5, 3), (3, 2, 3, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_backward_matches_finite_differences(B, rng, shape, training):
    x = rng.standard_normal(shape)
    R = rng.standard_normal(shape)
    gamma, beta, rm, rv = params(rng, shape[1], np.float64)

    def loss():  # copies: training updates the running stats in place
        return float(np.sum(B.batchnorm_forward(x, gamma, beta, rm.copy(), rv.copy(), momentum=0.9,
                                                training=training)[0] * R))

    _, cache = B.batchnorm_forward(x, gamma, beta, rm.copy(), rv.copy(), momentum=0.9, training=training)
    dx, dgamma, dbeta = B.batchnorm_backward(R, cache)
    for analytic, wrt in ((dx, x), (dgamma, gamma), (dbeta, beta)):
        assert relative_error(analytic, numerical_gradient(loss, wrt)) < 1e-6


def test_thread_count_does_not_change_results(native, rng):
    for shape in [(2000, 70), (16, 8, 24, 24)]:
        x = rng.standard_normal(shape).astype(np.float32)
        dout = rng.standard_normal(shape).astype(np.float32)
        gamma, beta, rm, rv = params(rng, shape[1], np.float32)
        results = []
        for n in (1, 2):
            with nnc.threads(n):
                r1, r2 = rm.copy(), rv.copy()
                out, cache = native.batchnorm_forward(x, gamma, beta, r1, r2)
                results.append((out, r1, r2, *native.batchnorm_backward(dout, cache)))
        for a, b in zip(*results):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mutate,err,match", [
    (lambda a: {**a, "x": a["x"][0]}, ValueError, "2-D"),
    (lambda a: {**a, "x": np.ones((4, 3, 2))}, ValueError, "2-D"),
    (lambda a: {**a, "gamma": a["gamma"][:2]}, ValueError, "gamma"),
    (lambda a: {**a, "beta": a["beta"].astype(np.float32)}, TypeError, "beta"),
    (lambda a: {**a, "running_mean": np.ones(6)[::2]}, ValueError, "running_mean"),
    (lambda a: {**a, "x": np.asfortranarray(a["x"])}, ValueError, "contiguous"),
    (lambda a: {**a, "x": a["x"][:0]}, ValueError, "empty"),
    (lambda a: {**a, "momentum": 1.5}, ValueError, "momentum"),
    (lambda a: {**a, "eps": 0.0}, ValueError, "eps"),
    (lambda a: {**a, "running_var": -np.ones(3)}, ValueError, "running_var"),
    (lambda a: {**a, "running_var": np.array([1.0, -0.5, 2.0])}, ValueError, "running_var must be >= 0"),
    (lambda a: {**a, "running_var": np.array([1.0, np.nan, 2.0])}, ValueError, "running_var must be >= 0"),
    (lambda a: {**a, "running_var": np.array([1.0, 2.0, np.nan])}, ValueError, "running_var must be >= 0"),
])
def test_bad_input_raises(B, rng, mutate, err, match):
    args = dict(x=rng.standard_normal((4, 3)), gamma=np.ones(3), beta=np.zeros(3),
                running_mean=np.zeros(3), running_var=np.ones(3), momentum=0.9, eps=1e-3)
    with pytest.raises(err, match=match):
        B.batchnorm_forward(**mutate(args))


def test_read_only_running_stats(B, rng):
    x = rng.standard_normal((4, 3))
    rm, rv = np.zeros(3), np.ones(3)
    rm.flags.writeable = rv.flags.writeable = False
    B.batchnorm_forward(x, np.ones(3), np.zeros(3), rm, rv, training=False)   # fine: only read
    with pytest.raises(ValueError, match="read-only"):
        B.batchnorm_forward(x, np.ones(3), np.zeros(3), rm, rv, training=True)


def test_layer_train_and_inference_modes(rng):
    layer = BatchNormalization(momentum=0.5)
    x = (rng.standard_normal((10, 2, 3, 3)) * 4 + 7).astype(np.float32)
    layer.forward(x, training=True)
    assert layer.running_mean.mean() > 1.0                  # moved halfway towards ~7
    first = layer.forward(x, training=False)
    again = layer.forward(x, training=False)
    np.testing.assert_array_equal(first, again)             # inference changes nothing
    assert set(layer.params) == {"gamma", "beta"} and set(layer.buffers) == {"running_mean", "running_var"}
    cfg = BatchNormalization.from_config(layer.get_config()).get_config()
    assert cfg["momentum"] == 0.5 and cfg["epsilon"] == 1e-3


def test_frozen_layers_keep_weights_and_statistics_but_pass_gradients(rng):
    x = rng.standard_normal((64, 5))
    y = rng.integers(0, 3, 64)
    model = nnc.Sequential([Dense(8, input_shape=(5,)), BatchNormalization(), Dense(8), BatchNormalization(),
                            Dense(3)], seed=0)
    model.compile(optimizer=nnc.optim.Adam(0.01), loss="softmax_cross_entropy")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    frozen = [model.layers[1], model.layers[2]]
    for layer in frozen:
        layer.trainable = False
    snap = [{k: v.copy() for k, v in {**lyr.params, **lyr.buffers}.items()} for lyr in frozen]
    first_W = model.layers[0].params["W"].copy()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    for layer, before in zip(frozen, snap):
        for k, v in before.items():
            np.testing.assert_array_equal({**layer.params, **layer.buffers}[k], v)
    assert not np.array_equal(model.layers[0].params["W"], first_W)   # gradients flowed through
    assert np.abs(model.layers[0].grads["W"]).sum() > 0


def test_keras_course_model_builds_and_learns(rng):
    # Dense 256-128-64 without bias, each followed by BatchNormalization (and an activation in the
    # course material; the activation layers live elsewhere), then a 10-way output.
    x = rng.standard_normal((200, 20)).astype(np.float32)
    y = (x[:, :10].argmax(axis=1)).astype(np.int64)
    layers = []
    for units in (256, 128, 64):
        layers += [Dense(units, use_bias=False), BatchNormalization()]
    model = nnc.Sequential([nnc.layers.Input((20,)), *layers, Dense(10)], seed=0)
    model.compile(optimizer="adam", loss="softmax_cross_entropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=5, batch_size=32, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert model.count_params() == 20 * 256 + 256 * 128 + 128 * 64 + 2 * (256 + 128 + 64) + 64 * 10 + 10


def test_layer_bad_arguments_raise():
    with pytest.raises(ValueError, match="momentum"):
        BatchNormalization(momentum=1.5)
    with pytest.raises(ValueError, match="epsilon"):
        BatchNormalization(epsilon=0)
    with pytest.raises(ValueError, match="axis"):
        BatchNormalization(axis=2).build((3, 4, 4))
    with pytest.raises(ValueError, match="per-sample shape"):
        BatchNormalization().build((3, 4))
