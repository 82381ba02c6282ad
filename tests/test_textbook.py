"""The textbook backend: its scalar-loop conv, batch norm and max pooling equal the reference and native ones."""
import inspect

import numpy as np
import pytest

import nnc
from nnc import backend
from nnc.backend import native_available, reference as R, textbook as T
from nnc.gradcheck import numerical_gradient, relative_error

from conftest import assert_close

REWRITTEN = ("conv2d_forward", "conv2d_backward", "batchnorm_forward", "batchnorm_backward",
             "maxpool2d_forward", "maxpool2d_backward")
# Small shapes (every scalar is a Python step): (N, C_in, H, W, C_out, kernel, stride, padding, dilation)
CONV_CASES = [
    (2, 3, 7, 6, 4, (3, 2), (2, 1), (1, 0), 1),
    (1, 1, 5, 5, 2, 3, 1, 1, 1),                 # batch 1, one channel, 'same'
    (2, 2, 7, 5, 3, (3, 3), 2, 2, (2, 1)),       # dilation, padding larger than the stride
    (1, 2, 4, 6, 3, 1, 1, 0, 1),                 # 1x1
    (3, 1, 6, 7, 2, (2, 3), (3, 2), (1, 1), 1),
]
# (N, C, H, W, pool, stride, padding): overlapping windows (stride < pool), padding, odd sizes, batch 1
POOL_CASES = [
    (2, 3, 7, 6, 2, None, 0),
    (1, 2, 7, 7, 3, 2, 1),
    (2, 1, 5, 8, (3, 2), (1, 2), (1, 1)),
    (1, 3, 4, 5, (2, 3), 1, 0),
]


def _backends():
    """The modules held equal: textbook, reference, and native where built."""
    return [T, R] + ([backend.native] if native_available() else [])


def _close(a, b, dtype):
    if a is None or b is None:
        assert a is None and b is None
        return
    assert a.dtype == b.dtype and a.shape == b.shape
    assert_close(a, b, dtype)


def test_textbook_is_a_backend_like_the_others():
    assert "textbook" in backend.BACKENDS
    assert sorted(T.__all__) == sorted(R.__all__)
    for name in R.__all__:
        assert str(inspect.signature(getattr(T, name))) == str(inspect.signature(getattr(R, name))), name
        if name not in REWRITTEN:
            assert getattr(T, name) is getattr(R, name), name      # everything else is the reference
    for name in REWRITTEN:
        assert getattr(T, name) is not getattr(R, name), name
    with backend.using("textbook") as mod:
        assert mod is T and backend.get() is T and backend.name() == "textbook"
        with nnc.reference():
            assert backend.name() == "reference"
        assert backend.name() == "textbook"
    before = backend.name()
    nnc.use("textbook")
    try:
        assert backend.name() == "textbook"
    finally:
        nnc.use(before)


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("use_bias", [True, False])
def test_conv2d_three_forms_agree(case, use_bias, dtype, rng):
    N, C, H, W, C_out, k, s, p, d = case
    k2 = (k, k) if isinstance(k, int) else k
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    Wt = rng.standard_normal((C_out, C) + k2).astype(dtype)
    b = rng.standard_normal(C_out).astype(dtype) if use_bias else None
    out_t, cache_t = T.conv2d_forward(x, Wt, b, s, p, d)
    dout = rng.standard_normal(out_t.shape).astype(dtype)
    grads_t = T.conv2d_backward(dout, cache_t)
    assert type(cache_t) is R.conv2d_forward(x, Wt, b, s, p, d)[1].__class__
    for B in _backends()[1:]:
        out, cache = B.conv2d_forward(x, Wt, b, s, p, d)
        _close(out_t, out, dtype)
        for g_t, g in zip(grads_t, B.conv2d_backward(dout, cache)):
            _close(g_t, g, dtype)
        assert cache_t.stride == cache.stride and cache_t.padding == cache.padding
    # each backward reads the other's cache
    for g_t, g in zip(grads_t, R.conv2d_backward(dout, cache_t)):
        _close(g_t, g, dtype)
    for g_t, g in zip(grads_t, T.conv2d_backward(dout, R.conv2d_forward(x, Wt, b, s, p, d)[1])):
        _close(g_t, g, dtype)
    dx, dW, db = T.conv2d_backward(dout, cache_t, need_dx=False)
    assert dx is None
    _close(dW, grads_t[1], dtype)


def test_conv2d_backward_matches_finite_differences(rng):
    x = rng.standard_normal((2, 2, 5, 4))
    Wt = rng.standard_normal((3, 2, 3, 2))
    b = rng.standard_normal(3)
    args = dict(stride=(2, 1), padding=(1, 1), dilation=(1, 2))
    out, cache = T.conv2d_forward(x, Wt, b, **args)
    dout = rng.standard_normal(out.shape)
    dx, dW, db = T.conv2d_backward(dout, cache)
    loss = lambda: float((T.conv2d_forward(x, Wt, b, **args)[0] * dout).sum())  # noqa: E731
    for analytic, array in ((dx, x), (dW, Wt), (db, b)):
        assert relative_error(analytic, numerical_gradient(loss, array)) < 1e-7


def test_conv2d_delta_kernel_returns_the_input(rng):
    x = rng.standard_normal((1, 2, 4, 5))
    Wt = np.zeros((2, 2, 3, 3))
    Wt[0, 0, 1, 1] = Wt[1, 1, 1, 1] = 1.0
    out, _ = T.conv2d_forward(x, Wt, None, padding=1)
    np.testing.assert_array_equal(out, x)


@pytest.mark.parametrize("shape", [(6, 3), (1, 4), (2, 3, 4, 5), (1, 2, 3, 3)])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_three_forms_agree(shape, training, dtype, rng):
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    C = shape[1]
    gamma, beta = (rng.standard_normal(C).astype(dtype) for _ in range(2))
    rm0, rv0 = rng.standard_normal(C).astype(dtype), rng.uniform(0.5, 2, C).astype(dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    rm_t, rv_t = rm0.copy(), rv0.copy()
    out_t, cache_t = T.batchnorm_forward(x, gamma, beta, rm_t, rv_t, 0.9, 1e-3, training)
    grads_t = T.batchnorm_backward(dout, cache_t)
    for B in _backends()[1:]:
        rm, rv = rm0.copy(), rv0.copy()
        out, cache = B.batchnorm_forward(x, gamma, beta, rm, rv, 0.9, 1e-3, training)
        _close(out_t, out, dtype)
        _close(rm_t, rm, dtype)
        _close(rv_t, rv, dtype)
        for field in ("xhat", "mean", "var", "inv_std"):
            _close(getattr(cache_t, field), getattr(cache, field), dtype)
        for g_t, g in zip(grads_t, B.batchnorm_backward(dout, cache)):
            _close(g_t, g, dtype)
    for g_t, g in zip(grads_t, R.batchnorm_backward(dout, cache_t)):
        _close(g_t, g, dtype)
    assert out_t.flags.c_contiguous and grads_t[0].flags.c_contiguous


@pytest.mark.parametrize("shape", [(5, 3), (2, 2, 3, 4)])
def test_batchnorm_staged_backward_matches_finite_differences(shape, rng):
    x = rng.standard_normal(shape) * 2 + 0.5
    C = shape[1]
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    dout = rng.standard_normal(shape)

    def loss():
        out, _ = T.batchnorm_forward(x, gamma, beta, np.zeros(C), np.ones(C), 0.9, 1e-3, True)
        return float((out * dout).sum())

    _, cache = T.batchnorm_forward(x, gamma, beta, np.zeros(C), np.ones(C), 0.9, 1e-3, True)
    dx, dgamma, dbeta = T.batchnorm_backward(dout, cache)
    for analytic, array in ((dx, x), (dgamma, gamma), (dbeta, beta)):
        assert relative_error(analytic, numerical_gradient(loss, array)) < 1e-6


@pytest.mark.parametrize("case", POOL_CASES)
def test_maxpool2d_three_forms_agree(case, dtype, rng):
    N, C, H, W, k, s, p = case
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    out_t, cache_t = T.maxpool2d_forward(x, k, s, p)
    dout = rng.standard_normal(out_t.shape).astype(dtype)
    dx_t = T.maxpool2d_backward(dout, cache_t)
    for B in _backends()[1:]:
        out, cache = B.maxpool2d_forward(x, k, s, p)
        np.testing.assert_array_equal(out_t, out)
        np.testing.assert_array_equal(cache_t.argmax, cache.argmax)
        assert cache_t.argmax.dtype == cache.argmax.dtype
        _close(dx_t, B.maxpool2d_backward(dout, cache), dtype)
    _close(dx_t, R.maxpool2d_backward(dout, cache_t), dtype)


def test_maxpool2d_ties_and_nans_go_where_the_reference_sends_them(dtype, rng):
    x = np.round(rng.standard_normal((2, 3, 7, 6))).astype(dtype)   # many ties
    x[0, 0, 2, 3] = x[1, 2, 5, 0] = x[1, 2, 5, 1] = np.nan          # one NaN, and two in one window
    x[0, 1, 4, 4] = np.inf
    x[1, 0] = -np.inf                                               # a plane of -inf: every cell ties
    for k, s, p in ((2, None, 0), (3, 1, 1)):
        out_t, cache_t = T.maxpool2d_forward(x, k, s, p)
        for B in _backends()[1:]:
            out, cache = B.maxpool2d_forward(x, k, s, p)
            np.testing.assert_array_equal(out_t, out)
            np.testing.assert_array_equal(cache_t.argmax, cache.argmax)


def test_maxpool2d_backward_refuses_a_stray_argmax(rng):
    x = rng.standard_normal((1, 1, 4, 4))
    out, cache = T.maxpool2d_forward(x, 2)
    bad = cache._replace(argmax=np.full_like(cache.argmax, 16))
    with pytest.raises(ValueError, match="maxpool2d_backward"):
        T.maxpool2d_backward(np.ones_like(out), bad)


def test_bad_input_raises_the_reference_errors(rng):
    x = rng.standard_normal((2, 3, 5, 5))
    with pytest.raises(ValueError, match="conv2d_forward"):
        T.conv2d_forward(x, rng.standard_normal((4, 2, 3, 3)), None)
    with pytest.raises(ValueError, match="maxpool2d_forward"):
        T.maxpool2d_forward(x, 6)
    with pytest.raises((ValueError, TypeError), match="batchnorm_forward"):
        T.batchnorm_forward(x, np.ones(2), np.zeros(3), np.zeros(3), np.ones(3))


def _small_cnn():
    L = nnc.layers
    model = nnc.Sequential([L.Conv2D(3, (3, 2), padding=(1, 1), input_shape=(1, 7, 6)),
                            L.BatchNormalization(), L.Activation("relu"), L.MaxPool2D(2),
                            L.Flatten(), L.Dense(3)], seed=3, dtype="float64")
    model.compile(optimizer=nnc.optim.SGD(0.1), loss="softmax_cross_entropy")
    return model


@pytest.mark.parametrize("other", ["reference"] + (["native"] if native_available() else []))
def test_a_small_model_trains_one_step_alike(other, rng):
    x = rng.standard_normal((4, 1, 7, 6))
    y = rng.integers(0, 3, 4)
    results = []
    for name in ("textbook", other):
        model = _small_cnn()
        with backend.using(name):
            loss = model.train_on_batch(x, y)
            loss = loss[0] if isinstance(loss, tuple) else loss
            out = model.forward(x)
        results.append((float(loss), out, [w for layer in model.layers for w in layer.get_weights()]))
    (loss_t, out_t, w_t), (loss_o, out_o, w_o) = results
    assert loss_t == pytest.approx(loss_o, rel=1e-9)
    np.testing.assert_allclose(out_t, out_o, rtol=1e-8, atol=1e-10)
    for a, b in zip(w_t, w_o):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies


@hypothesis.settings(max_examples=25, deadline=None)
@hypothesis.given(N=st.integers(1, 2), C=st.integers(1, 2), C_out=st.integers(1, 2), H=st.integers(1, 7),
                  W=st.integers(1, 7), kh=st.integers(1, 3), kw=st.integers(1, 3), sh=st.integers(1, 3),
                  sw=st.integers(1, 3), ph=st.integers(0, 2), pw=st.integers(0, 2), dh=st.integers(1, 2),
                  dw=st.integers(1, 2))
def test_property_textbook_conv_matches_reference(N, C, C_out, H, W, kh, kw, sh, sw, ph, pw, dh, dw):
    hypothesis.assume(dh * (kh - 1) + 1 <= H + 2 * ph and dw * (kw - 1) + 1 <= W + 2 * pw)
    rng = np.random.default_rng(N * 1000 + H * 10 + W)
    x = rng.standard_normal((N, C, H, W))
    Wt = rng.standard_normal((C_out, C, kh, kw))
    b = rng.standard_normal(C_out)
    args = ((sh, sw), (ph, pw), (dh, dw))
    out_t, cache_t = T.conv2d_forward(x, Wt, b, *args)
    out_r, cache_r = R.conv2d_forward(x, Wt, b, *args)
    assert_close(out_t, out_r)
    dout = rng.standard_normal(out_t.shape)
    for got, want in zip(T.conv2d_backward(dout, cache_t), R.conv2d_backward(dout, cache_r)):
        assert_close(got, want)


@hypothesis.settings(max_examples=25, deadline=None)
@hypothesis.given(N=st.integers(1, 2), C=st.integers(1, 2), H=st.integers(1, 8), W=st.integers(1, 8),
                  kh=st.integers(1, 3), kw=st.integers(1, 3), sh=st.integers(1, 3), sw=st.integers(1, 3),
                  ph=st.integers(0, 1), pw=st.integers(0, 1), ties=st.booleans())
def test_property_textbook_maxpool_matches_reference(N, C, H, W, kh, kw, sh, sw, ph, pw, ties):
    hypothesis.assume(ph <= kh // 2 and pw <= kw // 2 and kh <= H + 2 * ph and kw <= W + 2 * pw)
    rng = np.random.default_rng(N * 1000 + H * 10 + W)
    x = rng.standard_normal((N, C, H, W))
    if ties:
        x = np.round(x)
    out_t, cache_t = T.maxpool2d_forward(x, (kh, kw), (sh, sw), (ph, pw))
    out_r, cache_r = R.maxpool2d_forward(x, (kh, kw), (sh, sw), (ph, pw))
    np.testing.assert_array_equal(out_t, out_r)
    np.testing.assert_array_equal(cache_t.argmax, cache_r.argmax)
    dout = rng.standard_normal(out_t.shape)
    assert_close(T.maxpool2d_backward(dout, cache_t), R.maxpool2d_backward(dout, cache_r))
