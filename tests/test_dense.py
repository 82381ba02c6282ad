"""Dense kernels and the Dense layer: native vs reference, finite differences, bad input."""
import numpy as np
import pytest

import nnc
from nnc import backend
from nnc.gradcheck import numerical_gradient, relative_error
from nnc.layers import Dense

from conftest import assert_close

SHAPES = [(1, 1, 1), (1, 7, 3), (5, 3, 9), (17, 33, 13), (64, 31, 2)]


@pytest.mark.parametrize("N,D,M", SHAPES)
@pytest.mark.parametrize("use_bias", [True, False])
def test_native_matches_reference(native, reference, rng, dtype, N, D, M, use_bias):
    x = rng.standard_normal((N, D)).astype(dtype)
    W = rng.standard_normal((D, M)).astype(dtype)
    b = rng.standard_normal(M).astype(dtype) if use_bias else None
    dout = rng.standard_normal((N, M)).astype(dtype)
    y_n, c_n = native.dense_forward(x, W, b)
    y_r, c_r = reference.dense_forward(x, W, b)
    assert y_n.dtype == dtype and y_n.shape == (N, M)
    assert_close(y_n, y_r)
    for g_n, g_r in zip(native.dense_backward(dout, c_n), reference.dense_backward(dout, c_r)):
        if g_r is None:
            assert g_n is None
        else:
            assert g_n.dtype == dtype
            assert_close(g_n, g_r)


def test_forward_is_the_affine_map(B, rng):
    # Independent check: one output element as an explicit sum.
    x, W, b = rng.standard_normal((4, 6)), rng.standard_normal((6, 5)), rng.standard_normal(5)
    y, _ = B.dense_forward(x, W, b)
    assert y[2, 3] == pytest.approx(sum(x[2, d] * W[d, 3] for d in range(6)) + b[3], rel=1e-12)


def test_backward_matches_finite_differences(B, rng):
    x, W, b = rng.standard_normal((6, 5)), rng.standard_normal((5, 4)), rng.standard_normal(4)
    R = rng.standard_normal((6, 4))

    def loss():
        return np.sum(B.dense_forward(x, W, b)[0] * R)

    _, cache = B.dense_forward(x, W, b)
    dx, dW, db = B.dense_backward(R, cache)
    for analytic, wrt in ((dx, x), (dW, W), (db, b)):
        assert relative_error(analytic, numerical_gradient(loss, wrt)) < 1e-7


def test_need_dx_false_skips_dx(B, rng):
    x, W = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    _, cache = B.dense_forward(x, W, None)
    dx, dW, db = B.dense_backward(np.ones((3, 2)), cache, need_dx=False)
    assert dx is None and db is None and dW.shape == (4, 2)


def test_read_only_inputs_work(B, rng):
    x, W = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    x.flags.writeable = W.flags.writeable = False
    y, _ = B.dense_forward(x, W, None)
    np.testing.assert_allclose(y, x @ W)


# The first four cases are above the GEMM and bias thresholds of the threads (GEMM_THREADS_MIN_MACS,
# NNC_OMP_MIN); the last three between PAIR_MIN_MACS and GEMM_THREADS_MIN_MACS, where 2 spinning threads run
# the backward's dx and dW GEMMs side by side (dense.pyx), passive ones one after the other: both are tried.
@pytest.mark.parametrize("spinning", [False, True])
@pytest.mark.parametrize("N,D,M,dtype", [(512, 300, 200, np.float32), (129, 777, 165, np.float32),
                                         (33, 4000, 129, np.float32), (1029, 300, 301, np.float32),
                                         (128, 256, 128, np.float32), (97, 301, 129, np.float32),
                                         (65, 257, 131, np.float64)])
def test_thread_count_does_not_change_results(native, rng, N, D, M, dtype, spinning, monkeypatch):
    monkeypatch.setattr(nnc._threads, "spinning", spinning)
    x = rng.standard_normal((N, D)).astype(dtype)
    W = rng.standard_normal((D, M)).astype(dtype)
    b = rng.standard_normal(M).astype(dtype)
    dout = rng.standard_normal((N, M)).astype(dtype)
    results = []
    for n in (1, 2):
        with nnc.threads(n):
            y, cache = native.dense_forward(x, W, b)
            results.append((y, *native.dense_backward(dout, cache)))
    for a, c in zip(*results):
        np.testing.assert_array_equal(a, c)
    dx, dW, db = results[1][1:]     # and right: against the plain products
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(dx, dout.astype(np.float64) @ W.T, rtol=tol, atol=tol * D)
    np.testing.assert_allclose(dW, x.T.astype(np.float64) @ dout, rtol=tol, atol=tol * N)
    np.testing.assert_allclose(db, dout.sum(0, dtype=np.float64), rtol=tol, atol=tol * N)


@pytest.mark.parametrize("bad,exc,match", [
    (lambda x, W, b: (x[0], W, b), ValueError, r"x must be 2-D \(N, D\), got shape \(5,\)"),
    (lambda x, W, b: (x.astype(np.int64), W, b), TypeError, "x must be float32 or float64"),
    (lambda x, W, b: (x.astype(np.float32), W, b), TypeError, "W has dtype float64 but"),
    (lambda x, W, b: (x, W[:4], b), ValueError, "x has 5 features but W expects 4"),
    (lambda x, W, b: (x, W, b[:2]), ValueError, r"b must have shape \(3,\)"),
    (lambda x, W, b: (np.asfortranarray(np.repeat(x, 2, 0)), W, b), ValueError, "must be C-contiguous"),
    (lambda x, W, b: (x[:0], W, b), ValueError, "empty"),
    (lambda x, W, b: (x.tolist(), W, b), TypeError, "must be a numpy.ndarray"),
])
def test_bad_input_raises(B, rng, bad, exc, match):
    x, W, b = rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)
    with pytest.raises(exc, match=match):
        B.dense_forward(*bad(x, W, b))


def test_backward_rejects_wrong_dout(B, rng):
    _, cache = B.dense_forward(rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), None)
    with pytest.raises(ValueError, match=r"dout must have shape \(4, 3\)"):
        B.dense_backward(np.ones((4, 2)), cache)


def test_layer_gradcheck(rng):
    for act in (None, "tanh"):
        layer = Dense(4, activation=act, input_shape=(3,))
        layer.build((3,), np.float64, rng)
        report = nnc.gradcheck(layer, rng.standard_normal((5, 3)))
        assert report.ok, str(report)


def test_layer_shapes_and_config(rng):
    layer = Dense(7, use_bias=False, kernel_initializer="he_normal")
    out = layer.forward(rng.standard_normal((2, 3)).astype(np.float32))
    assert out.shape == (2, 7) and set(layer.params) == {"W"} and layer.params["W"].shape == (3, 7)
    clone = Dense.from_config(layer.get_config())
    assert clone.units == 7 and not clone.use_bias
    with pytest.raises(ValueError, match="units must be a positive integer"):
        Dense(0)
    with pytest.raises(ValueError, match="Flatten"):
        Dense(3).build((2, 3), np.float32, rng)
