"""Dropout and SpatialDropout2D: kernels in both backends, seeded masks, layer behaviour."""

import numpy as np
import pytest

import nnc
from nnc.gradcheck import numerical_gradient, relative_error
from nnc.layers import Dense, Dropout, SpatialDropout2D

from conftest import assert_close


@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (3, 5, 4, 2), (64, 300)])
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_native_matches_reference_bit_for_bit(native, reference, rng, dtype, shape, rate):
    x = rng.standard_normal(shape).astype(dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    out_n, c_n = native.dropout_forward(x, rate, np.random.default_rng(3))
    out_r, c_r = reference.dropout_forward(x, rate, np.random.default_rng(3))
    assert out_n.dtype == dtype
    np.testing.assert_array_equal(c_n.keep, c_r.keep)
    np.testing.assert_array_equal(out_n, out_r)
    np.testing.assert_array_equal(native.dropout_backward(dout, c_n), reference.dropout_backward(dout, c_r))


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 3, 5, 4), (5, 8, 3, 7)])
def test_spatial_native_matches_reference(native, reference, rng, dtype, shape):
    x = rng.standard_normal(shape).astype(dtype)
    out_n, c_n = native.spatial_dropout2d_forward(x, 0.4, np.random.default_rng(9))
    out_r, c_r = reference.spatial_dropout2d_forward(x, 0.4, np.random.default_rng(9))
    np.testing.assert_array_equal(out_n, out_r)
    np.testing.assert_array_equal(native.spatial_dropout2d_backward(x, c_n), reference.spatial_dropout2d_backward(x, c_r))


def test_inverted_scaling_and_keep_rate(B, rng):
    x = np.ones((200, 500))
    out, cache = B.dropout_forward(x, 0.3, rng)
    kept = out != 0
    np.testing.assert_allclose(out[kept], 1 / 0.7)           # kept units are scaled by 1 / (1 - rate)
    assert abs(kept.mean() - 0.7) < 0.01                     # 100000 draws: sd of the mean ~ 0.0015
    assert abs(out.mean() - 1.0) < 0.02                      # E[out] = x


def test_inference_is_identity_and_draws_nothing(B, rng):
    x = rng.standard_normal((4, 5))
    g = np.random.default_rng(0)
    before = g.bit_generator.state
    out, cache = B.dropout_forward(x, 0.5, g, training=False)
    assert out is x and g.bit_generator.state == before
    assert B.dropout_backward(x, cache) is x
    out, _ = B.dropout_forward(x, 0.0, g)   # rate 0: nothing dropped, nothing drawn
    assert out is x and g.bit_generator.state == before


def test_same_seed_same_mask(B, rng):
    x = rng.standard_normal((6, 7))
    a = B.dropout_forward(x, 0.5, np.random.default_rng(42))[0]
    b = B.dropout_forward(x, 0.5, np.random.default_rng(42))[0]
    c = B.dropout_forward(x, 0.5, np.random.default_rng(43))[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_backward_matches_finite_differences(B, rng):
    x = rng.standard_normal((5, 6))
    R = rng.standard_normal((5, 6))

    def loss():  # the same seed every call: the mask is fixed, the function is linear in x
        return float(np.sum(B.dropout_forward(x, 0.4, np.random.default_rng(5))[0] * R))

    _, cache = B.dropout_forward(x, 0.4, np.random.default_rng(5))
    assert relative_error(B.dropout_backward(R, cache), numerical_gradient(loss, x)) < 1e-8


def test_spatial_drops_whole_channels(B, rng):
    x = rng.uniform(1, 2, (6, 10, 4, 5))
    out, cache = B.spatial_dropout2d_forward(x, 0.5, rng)
    assert cache.keep.shape == (6, 10)
    for n in range(6):
        for c in range(10):
            plane = out[n, c]
            if cache.keep[n, c]:
                assert_close(plane, x[n, c] * 2.0)
            else:
                assert not plane.any()
    assert 0 < cache.keep.sum() < 60


@pytest.mark.parametrize("call,err", [
    (lambda B, x, g: B.dropout_forward(x, 1.0, g), ValueError),
    (lambda B, x, g: B.dropout_forward(x, -0.1, g), ValueError),
    (lambda B, x, g: B.dropout_forward(x, 0.5, 123), TypeError),
    (lambda B, x, g: B.dropout_forward(x.astype(np.int64), 0.5, g), TypeError),
    (lambda B, x, g: B.dropout_forward(np.asfortranarray(x)[:, ::2], 0.5, g), ValueError),
    (lambda B, x, g: B.spatial_dropout2d_forward(x, 0.5, g), ValueError),
    (lambda B, x, g: B.dropout_backward(np.ones((2, 2)), B.dropout_forward(x, 0.5, g)[1]), ValueError),
])
def test_bad_input_raises(B, rng, call, err):
    with pytest.raises(err):
        call(B, rng.standard_normal((4, 6)), np.random.default_rng(0))


def test_layer_is_seeded_by_the_model(rng):
    x = rng.standard_normal((32, 6))
    y = rng.integers(0, 3, 32)

    def train(seed):
        m = nnc.Sequential([Dense(16, input_shape=(6,)), Dropout(0.5), Dense(3)], seed=seed)
        m.compile(optimizer=nnc.optim.SGD(0.1), loss="softmax_cross_entropy")
        m.fit(x, y, epochs=2, batch_size=8, verbose=0)
        return m.layers[0].params["W"]

    np.testing.assert_array_equal(train(0), train(0))
    m = nnc.Sequential([Dense(16, input_shape=(6,)), Dropout(0.5), Dense(3)], seed=0)
    np.testing.assert_array_equal(m.predict(x), m.predict(x))        # inference: deterministic
    assert Dropout.from_config(Dropout(0.25, name="d").get_config()).rate == 0.25
    with pytest.raises(ValueError):
        SpatialDropout2D(0.2).build((5,))


def test_layer_bad_rate_raises():
    for bad in (1.0, -0.5, float("nan"), "half"):
        with pytest.raises(ValueError, match="rate"):
            Dropout(bad)


@pytest.mark.parametrize("cls, shape", [(Dropout, (16, 30)), (SpatialDropout2D, (4, 6, 5, 5))])
def test_switching_backend_mid_run_repeats_the_masks(native, cls, shape, rng):
    """The masks come from the layer's Generator through one function (nnc.backend.masks.draw_keep),
    so a run that changes backend halfway draws the masks of a run that never does."""
    x = rng.standard_normal(shape)

    def masks(backends):
        layer = cls(0.4, seed=11)
        out = []
        for name in backends:
            with nnc.backend.using(name):
                out.append(layer.forward(x, training=True) != 0)
        return out

    for a, b in zip(masks(["native", "native", "reference", "reference"]), masks(["reference"] * 4)):
        np.testing.assert_array_equal(a, b)
    first, second = masks(["reference"] * 2)
    assert not np.array_equal(first, second), "each step draws a fresh mask"

