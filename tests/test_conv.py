"""Convolution kernels: native vs reference, finite differences, invariants, thread independence, bad input."""

import numpy as np
import pytest

import nnc
from nnc.backend import native_available, reference as R
from nnc.validation import conv_output_size
from nnc.gradcheck import numerical_gradient, relative_error

from conftest import assert_close

# (N, C_in, H, W, C_out, kernel, stride, padding, dilation): odd and non-square sizes, stride 2 and 3,
# 1x1 kernels (the im2col-free path), C_in = 1, batch 1, kernels larger than the stride, dilation.
CASES = [
    (2, 3, 7, 6, 4, (3, 2), (2, 1), (1, 0), 1),
    (1, 1, 9, 5, 2, 3, 3, 2, 1),
    (3, 2, 9, 8, 3, (3, 3), 2, 2, (2, 1)),
    (2, 3, 6, 7, 5, 1, 1, 0, 1),
    (1, 4, 5, 5, 3, (1, 1), 2, 0, 1),
    (5, 2, 8, 11, 3, (5, 4), (3, 2), (2, 1), 1),
    (9, 1, 4, 4, 1, 4, 1, 0, 1),
    (13, 3, 9, 8, 5, 3, 1, 1, 1),           # 'same' 3x3: shifted-row im2col/col2im, several groups of images
    (3, 2, 7, 9, 3, (3, 5), 1, (2, 4), 2),  # 'same' width with dilation, rows clipped at the top and bottom
    (5, 2, 6, 4, 3, (3, 3), 1, (1, 1), (2, 1)),  # 'same' width, not 'same' height
    (3, 2, 7, 6, 17, 3, 1, 1, 1),           # 16+ outputs: dW computed transposed, in row blocks
    (2, 3, 9, 7, 16, (3, 2), 2, 1, 1),      # the same with stride 2
    (1, 2, 1, 1, 2, (1, 3), 1, (0, 2), 2),  # 'same' width 1, taps entirely in the padding (found by hypothesis:
]                                           # a negative copy length once)


def _data(rng, dtype, N, C, H, W, C_out, k):
    k = (k, k) if isinstance(k, int) else k
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    Wt = rng.standard_normal((C_out, C) + tuple(k)).astype(dtype)
    b = rng.standard_normal(C_out).astype(dtype)
    return x, Wt, b


def _bits_at_1_and_2_threads(native, x, Wt, b, p, dout):
    """Forward and backward at 1 and at 2 threads, checked equal bit for bit; returns the 1-thread results
    (out, dx, dW, db)."""
    results = []
    for n in (1, 2):
        with nnc.threads(n):
            out, cache = native.conv2d_forward(x, Wt, b, 1, p)
            results.append((out,) + native.conv2d_backward(dout, cache))
    for a, c in zip(*results):
        np.testing.assert_array_equal(a, c)
    return results[0]


@pytest.mark.parametrize("case", CASES)
def test_native_matches_reference(native, dtype, rng, case):
    N, C, H, W, C_out, k, s, p, d = case
    x, Wt, b = _data(rng, dtype, N, C, H, W, C_out, k)
    out_n, cache_n = native.conv2d_forward(x, Wt, b, s, p, d)
    out_r, cache_r = R.conv2d_forward(x, Wt, b, s, p, d)
    assert out_n.dtype == dtype and out_n.shape == out_r.shape
    assert_close(out_n, out_r)
    dout = rng.standard_normal(out_n.shape).astype(dtype)
    for got, want in zip(native.conv2d_backward(dout, cache_n), R.conv2d_backward(dout, cache_r)):
        assert got.dtype == dtype
        assert_close(got, want, atol=TOL_BWD[np.dtype(dtype)])
    cols_n = native.im2col(x, k, s, p, d)
    np.testing.assert_array_equal(cols_n, R.im2col(x, k, s, p, d))     # a pure copy: exact
    assert_close(native.col2im(cols_n, x.shape, k, s, p, d), R.col2im(cols_n, x.shape, k, s, p, d))


TOL_BWD = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-11}


@pytest.mark.parametrize("case", CASES[:4])
def test_output_size_formula(B, case):
    N, C, H, W, C_out, k, s, p, d = case
    x, Wt, b = _data(np.random.default_rng(0), np.float64, N, C, H, W, C_out, k)
    kk, ss, pp, dd = [(v, v) if isinstance(v, int) else v for v in (k, s, p, d)]
    out, _ = B.conv2d_forward(x, Wt, b, s, p, d)
    assert out.shape == (N, C_out) + tuple(conv_output_size(n, *a) for n, a in
                                           zip((H, W), zip(kk, ss, pp, dd)))


def test_matches_im2col_gemm(B, rng):
    """The direct convolution equals W.reshape(C_out, -1) @ im2col(x) image by image (the lecture identity)."""
    x, Wt, b = _data(rng, np.float64, 2, 3, 8, 7, 4, (3, 2))
    out, _ = B.conv2d_forward(x, Wt, b, 2, 1, (1, 2))
    cols = B.im2col(x, (3, 2), 2, 1, (1, 2))
    via_gemm = np.einsum("ok,nkq->noq", Wt.reshape(4, -1), cols) + b[None, :, None]
    assert_close(out.reshape(2, 4, -1), via_gemm)


def test_delta_kernel_is_identity(B, dtype, rng):
    """A kernel that is 1 at its centre and 0 elsewhere, padded 'same', returns the input."""
    x = rng.standard_normal((2, 3, 7, 5)).astype(dtype)
    Wt = np.zeros((3, 3, 3, 5), dtype)
    for c in range(3):
        Wt[c, c, 1, 2] = 1
    out, _ = B.conv2d_forward(x, Wt, None, 1, (1, 2))
    np.testing.assert_array_equal(out, x)


def test_col2im_is_adjoint_of_im2col(B, rng):
    """<im2col(x), c> == <x, col2im(c)> for every x, c: col2im accumulates overlaps exactly once each."""
    x = rng.standard_normal((2, 2, 7, 6))
    args = ((3, 3), (1, 2), 1, (2, 1))
    cols = B.im2col(x, *args)
    c = rng.standard_normal(cols.shape)
    np.testing.assert_allclose(np.sum(cols * c), np.sum(x * B.col2im(c, x.shape, *args)), rtol=1e-12)


@pytest.mark.parametrize("case", [CASES[0], CASES[2], (2, 2, 5, 4, 3, (2, 3), 1, (1, 1), 1),
                                  (2, 2, 6, 19, 5, 5, 1, (2, 1), 1)])     # the last one native computes directly
def test_gradcheck(B, rng, case):
    N, C, H, W, C_out, k, s, p, d = case
    x, Wt, b = _data(rng, np.float64, N, C, H, W, C_out, k)
    out, cache = B.conv2d_forward(x, Wt, b, s, p, d)
    R_ = rng.standard_normal(out.shape)

    def loss():
        return np.sum(B.conv2d_forward(x, Wt, b, s, p, d)[0] * R_)

    dx, dW, db = B.conv2d_backward(R_, cache)
    for name, analytic, wrt in (("x", dx, x), ("W", dW, Wt), ("b", db, b)):
        err = relative_error(analytic, numerical_gradient(loss, wrt))
        assert err < 1e-6, (name, err)


def test_need_dx_false_and_no_bias(B, rng):
    x, Wt, _ = _data(rng, np.float64, 2, 3, 6, 5, 2, 3)
    out, cache = B.conv2d_forward(x, Wt, None, 1, 1)
    dx, dW, db = B.conv2d_backward(np.ones_like(out), cache, need_dx=False)
    assert dx is None and db is None and dW.shape == Wt.shape


@pytest.mark.skipif(not native_available(), reason="native extension not built")
def test_threads_give_identical_bits(native, rng):
    # batch 11: groups of 4 images split unevenly between threads
    x, Wt, b = _data(rng, np.float32, 11, 3, 9, 8, 4, 3)
    results = []
    for n in (1, 2):
        with nnc.threads(n):
            out, cache = native.conv2d_forward(x, Wt, b, 2, 1)
            results.append((out,) + native.conv2d_backward(out, cache) + (native.col2im(native.im2col(x, 3), x.shape, 3),))
    for a, c in zip(*results):
        np.testing.assert_array_equal(a, c)


@pytest.mark.skipif(not native_available(), reason="native extension not built")
@pytest.mark.parametrize("N, C, H, W, C_out", [(37, 5, 6, 5, 40), (3, 4, 14, 13, 33), (1, 3, 20, 19, 8)])
def test_groups_and_gemm_blocks_give_identical_bits(native, rng, N, C, H, W, C_out):
    """Many groups of images split unevenly (37 images), fewer groups than threads (the GEMM blocks are
    shared instead), and C_out above one 32-row GEMM block: 1 and 2 threads agree bit for bit."""
    x, Wt, b = _data(rng, np.float32, N, C, H, W, C_out, 3)
    dout = rng.standard_normal((N, C_out, H, W)).astype(np.float32)
    got = _bits_at_1_and_2_threads(native, x, Wt, b, 1, dout)
    want = R.conv2d_backward(dout, R.conv2d_forward(x, Wt, b, 1, 1)[1])
    assert_close(got[0], R.conv2d_forward(x, Wt, b, 1, 1)[0])
    for g, w in zip(got[1:], want):
        assert_close(g, w, atol=1e-4)


@pytest.mark.skipif(not native_available(), reason="native extension not built")
def test_large_batch_uses_several_rounds(native, rng):
    """More than _ROUND groups of dW partials (batch > 256): the rounds still add up."""
    x, Wt, b = _data(rng, np.float64, 261, 1, 4, 3, 2, (2, 2))
    out, cache = native.conv2d_forward(x, Wt, b)
    dout = rng.standard_normal(out.shape)
    for got, want in zip(native.conv2d_backward(dout, cache), R.conv2d_backward(dout, R.conv2d_forward(x, Wt, b)[1])):
        assert_close(got, want)


def test_read_only_input(B, rng):
    x, Wt, b = _data(rng, np.float32, 1, 2, 5, 5, 2, 3)
    for a in (x, Wt, b):
        a.setflags(write=False)
    out, cache = B.conv2d_forward(x, Wt, b)
    B.conv2d_backward(out, cache)


@pytest.mark.parametrize("bad, err, match", [
    (dict(x=np.zeros((28, 28))), ValueError, "x must be 4-D"),
    (dict(W=np.zeros((2, 4, 3, 3))), ValueError, "channels but W expects C_in = 4"),
    (dict(W=np.zeros((2, 3, 9, 3))), ValueError, "larger than the padded input height"),
    (dict(stride=0), ValueError, "stride must be an integer >= 1"),
    (dict(padding=-1), ValueError, "padding must be an integer >= 0"),
    (dict(dilation=(1, 0)), ValueError, "dilation must be an integer >= 1"),
    (dict(stride=(1, 2, 3)), ValueError, r"stride must be an int or an \(h, w\) pair"),
    (dict(stride=True), ValueError, "stride must be an integer >= 1, got True"),
    (dict(padding=(0, False)), ValueError, "padding must be an integer >= 0, got False"),
    (dict(stride=1.0), ValueError, "stride must be an integer >= 1, got 1.0"),
    (dict(padding=(1, -1)), ValueError, "padding must be an integer >= 0, got -1"),
    (dict(b=np.zeros(5)), ValueError, r"b must have shape \(2,\)"),
    (dict(x=np.zeros((0, 3, 6, 6))), ValueError, "empty"),
    (dict(x=np.zeros((1, 3, 6, 6), np.float32)), TypeError, "dtype"),
    (dict(x=np.zeros((1, 3, 6, 12))[:, :, :, ::2]), ValueError, "C-contiguous"),
    (dict(x=np.zeros((1, 3, 6, 6), np.int64)), TypeError, "float32 or float64"),
])
def test_bad_input_raises(B, bad, err, match):
    args = dict(x=np.zeros((1, 3, 6, 6)), W=np.zeros((2, 3, 3, 3)), b=np.zeros(2), stride=1, padding=0, dilation=1)
    args.update(bad)
    with pytest.raises(err, match=match):
        B.conv2d_forward(**args)


def test_window_arguments_in_every_accepted_form(B, rng):
    """An int, an (h, w) tuple or list, and numpy integers all mean the same window."""
    x, Wt, b = _data(rng, np.float64, 2, 3, 7, 6, 4, 3)
    want, _ = B.conv2d_forward(x, Wt, b, stride=2, padding=1, dilation=1)
    for s, p in (((2, 2), (1, 1)), ([2, 2], [1, 1]), (np.int64(2), np.int32(1)), ((np.int64(2), 2), (1, np.int8(1)))):
        got, _ = B.conv2d_forward(x, Wt, b, stride=s, padding=p, dilation=(1, 1))
        np.testing.assert_array_equal(got, want)


def test_bad_dout_and_col2im_raise(B):
    x = np.zeros((1, 3, 6, 6))
    out, cache = B.conv2d_forward(x, np.zeros((2, 3, 3, 3)), None)
    with pytest.raises(ValueError, match="dout must have shape"):
        B.conv2d_backward(np.zeros((1, 2, 5, 4)), cache)
    with pytest.raises(ValueError, match="cols must have shape"):
        B.col2im(np.zeros((1, 27, 15)), x.shape, 3)
    with pytest.raises(ValueError, match="x_shape"):
        B.col2im(np.zeros((1, 27, 16)), (3, 6, 6), 3)


hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies


@pytest.mark.skipif(not native_available(), reason="native extension not built")
@hypothesis.settings(max_examples=40, deadline=None)
@hypothesis.given(N=st.integers(1, 3), C=st.integers(1, 3), C_out=st.integers(1, 3), H=st.integers(1, 9),
                  W=st.integers(1, 9), kh=st.integers(1, 4), kw=st.integers(1, 4), sh=st.integers(1, 3),
                  sw=st.integers(1, 3), ph=st.integers(0, 2), pw=st.integers(0, 2), dh=st.integers(1, 2),
                  dw=st.integers(1, 2))
def test_property_native_matches_reference(N, C, C_out, H, W, kh, kw, sh, sw, ph, pw, dh, dw):
    hypothesis.assume(dh * (kh - 1) + 1 <= H + 2 * ph and dw * (kw - 1) + 1 <= W + 2 * pw)
    from nnc.backend import native
    rng = np.random.default_rng(N * 1000 + H * 10 + W)
    x, Wt, b = _data(rng, np.float64, N, C, H, W, C_out, (kh, kw))
    args = ((sh, sw), (ph, pw), (dh, dw))
    out_n, cache_n = native.conv2d_forward(x, Wt, b, *args)
    out_r, cache_r = R.conv2d_forward(x, Wt, b, *args)
    assert_close(out_n, out_r)
    dout = rng.standard_normal(out_n.shape)
    for got, want in zip(native.conv2d_backward(dout, cache_n), R.conv2d_backward(dout, cache_r)):
        assert_close(got, want)


# 3x3 stride-1 shapes the native forward runs through Winograd's F(2x2, 3x3) (16+ channels, 512+ tiles): odd
# and even sizes (partial tiles at the bottom and right), a 1x1 image in padding, padding 0, 1, 2 and uneven.
WINOGRAD_CASES = [(11, 16, 13, 13, 16, 1), (13, 17, 14, 15, 19, 0), (8, 16, 16, 13, 16, 2), (7, 20, 15, 18, 33, (2, 1)),
                  (32, 16, 7, 7, 17, 1), (512, 18, 1, 1, 16, 1), (171, 16, 4, 5, 16, (0, 1))]


@pytest.mark.skipif(not native_available(), reason="native extension not built")
@pytest.mark.parametrize("case", WINOGRAD_CASES)
def test_winograd_forward_matches_reference_and_im2col(native, dtype, rng, case):
    from nnc.backend.native import conv as native_conv, winograd
    N, C, H, W, C_out, p = case
    x, Wt, b = _data(rng, dtype, N, C, H, W, C_out, 3)
    ph, pw = (p, p) if isinstance(p, int) else p
    Ho, Wo = conv_output_size(H, 3, 1, ph, 1), conv_output_size(W, 3, 1, pw, 1)
    assert winograd.use_winograd((3, 3), (1, 1), (1, 1), C, C_out, N * ((Ho + 1) // 2) * ((Wo + 1) // 2))
    out, cache = native.conv2d_forward(x, Wt, b, 1, p)
    assert out.shape == (N, C_out, Ho, Wo) and out.dtype == dtype
    assert_close(out, R.conv2d_forward(x, Wt, b, 1, p)[0], atol=TOL_BWD[np.dtype(dtype)])
    plain = native_conv._conv2d_forward(x, Wt, b, 1, p, winograd=False)[0]
    assert_close(out, plain, atol=TOL_BWD[np.dtype(dtype)])
    # The backward: dx by Winograd, dW by its transpose F(3x3, 2x2), against the reference and im2col.
    dout = rng.standard_normal(out.shape).astype(dtype)
    want = R.conv2d_backward(dout, R.conv2d_forward(x, Wt, b, 1, p)[1])
    plain = native_conv._conv2d_backward(dout, cache, winograd=False)
    for got, w, pl in zip(native.conv2d_backward(dout, cache), want, plain):
        assert_close(got, w, atol=TOL_BWD[np.dtype(dtype)])
        assert_close(got, pl, atol=TOL_BWD[np.dtype(dtype)])
    dx, dW, db = native.conv2d_backward(dout, cache, need_dx=False)     # dW alone takes Winograd too
    assert dx is None
    assert_close(dW, want[1], atol=TOL_BWD[np.dtype(dtype)])
    assert_close(db, want[2], atol=TOL_BWD[np.dtype(dtype)])
    assert_close(winograd.winograd_conv2d_dw(x, dout, (ph, pw), 2), want[1], atol=TOL_BWD[np.dtype(dtype)])


@pytest.mark.skipif(not native_available(), reason="native extension not built")
def test_winograd_dw_over_many_rounds_gives_the_same_bits(native, rng):
    """More groups than one round holds (65 groups of 2 images), and rounds of one group each (what the
    partial sums' 64 MiB cap makes of a wide layer): the groups are added in the same order, same bits."""
    from nnc.backend.native import winograd
    x = rng.standard_normal((130, 16, 28, 28)).astype(np.float32)
    dout = rng.standard_normal((130, 16, 28, 28)).astype(np.float32)
    want = winograd.winograd_conv2d_dw(x, dout, (1, 1), 2)
    for n in (1, 2):
        np.testing.assert_array_equal(winograd.winograd_conv2d_dw(x, dout, (1, 1), n, round_groups=1), want)
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    direct = np.stack([np.stack([np.einsum("noij,ncij->oc", dout, xp[:, :, u:u + 28, v:v + 28])
                                 for v in range(3)], -1) for u in range(3)], -2)
    assert_close(want, direct, atol=TOL_BWD[np.dtype(np.float32)] * 10)


@pytest.mark.skipif(not native_available(), reason="native extension not built")
@pytest.mark.parametrize("N, H", [(37, 14), (1, 46)])
def test_winograd_threads_give_identical_bits(native, rng, N, H):
    """Many uneven groups (37 images) and one group whose GEMMs the threads share (1 large image): 1 and 2
    threads agree bit for bit."""
    from nnc.backend.native import winograd
    tiles = N * ((H + 1) // 2) ** 2
    assert winograd.use_winograd((3, 3), (1, 1), (1, 1), 24, 16, tiles)    # forward
    assert winograd.use_winograd((3, 3), (1, 1), (1, 1), 16, 24, tiles)    # dx
    x, Wt, b = _data(rng, np.float32, N, 24, H, H, 16, 3)
    dout = rng.standard_normal((N, 16, H, H)).astype(np.float32)
    _bits_at_1_and_2_threads(native, x, Wt, b, 1, dout)      # dx and dW by Winograd too


# Stride-1 3x3 and 5x5 shapes the native forward computes directly (csrc/direct.h: few input channels), and
# with 5x5 kernels over 16+ images the backward too: rows wider and narrower than one vector (16 floats, 8
# doubles) and exact multiples, odd sizes, padding 0 to k-1 and uneven, batch 1, C_out not a multiple of the
# 4-channel blocks, a 1x1 image in padding, dx taken directly (C_out*k*k <= 400) or by im2col (wider, or
# padding of k and more), and a small batch whose backward goes through im2col.
DIRECT_CASES = [(17, 1, 28, 28, 6, 5, 2), (16, 6, 14, 14, 16, 5, 0), (1, 1, 9, 13, 7, 3, 1), (16, 2, 5, 33, 3, 5, (4, 1)),
                (2, 3, 17, 16, 5, 3, (0, 2)), (16, 16, 6, 8, 1, 5, 2), (3, 1, 1, 1, 2, 3, 2), (2, 2, 7, 24, 9, 3, 1),
                (16, 3, 10, 18, 20, 5, 1), (16, 1, 4, 6, 2, 5, (5, 1)), (5, 2, 9, 9, 4, 5, 2)]


@pytest.mark.skipif(not native_available(), reason="native extension not built")
@pytest.mark.parametrize("case", DIRECT_CASES)
def test_direct_matches_reference_and_im2col(native, dtype, rng, case):
    from nnc.backend.native import conv as native_conv
    N, C, H, W, C_out, k, p = case
    x, Wt, b = _data(rng, dtype, N, C, H, W, C_out, k)
    assert native_conv.use_direct((k, k), (1, 1), (1, 1), C)
    assert native_conv.use_direct_backward((k, k), (1, 1), (1, 1), C, N) == (k == 5 and N >= 16)
    tol = TOL_BWD[np.dtype(dtype)]
    for bias in (b, None):
        out, cache = native.conv2d_forward(x, Wt, bias, 1, p)
        out_r, cache_r = R.conv2d_forward(x, Wt, bias, 1, p)
        assert out.shape == out_r.shape and out.dtype == dtype
        assert_close(out, out_r, atol=tol)
        assert_close(out, native_conv._conv2d_forward(x, Wt, bias, 1, p, direct=False)[0], atol=tol)
        dout = rng.standard_normal(out.shape).astype(dtype)
        want = R.conv2d_backward(dout, cache_r)
        plain = native_conv._conv2d_backward(dout, cache, direct=False)
        for got, w, pl in zip(native.conv2d_backward(dout, cache), want, plain):
            if w is None:
                assert got is None and pl is None
                continue
            assert got.dtype == dtype and got.shape == w.shape
            assert_close(got, w, atol=tol)
            assert_close(got, pl, atol=tol)
        dx, dW, _ = native.conv2d_backward(dout, cache, need_dx=False)
        assert dx is None
        assert_close(dW, want[1], atol=tol)


@pytest.mark.skipif(not native_available(), reason="native extension not built")
@pytest.mark.parametrize("N, chunk_bytes", [(37, 1 << 24), (37, 1), (1, 1 << 24)])
def test_direct_threads_give_identical_bits(native, rng, monkeypatch, N, chunk_bytes):
    """Uneven images per thread (37), chunks of one image each (the weight gradient's rounds), batch 1 (the
    forward alone direct): 1 and 2 threads agree bit for bit, and with the reference."""
    from nnc.backend.native import conv as native_conv
    monkeypatch.setattr(native_conv, "_DIRECT_CHUNK_BYTES", chunk_bytes)
    x, Wt, b = _data(rng, np.float32, N, 2, 21, 19, 6, 5)
    dout = rng.standard_normal((N, 6, 21, 19)).astype(np.float32)
    got = _bits_at_1_and_2_threads(native, x, Wt, b, 2, dout)
    want = R.conv2d_backward(dout, R.conv2d_forward(x, Wt, b, 1, 2)[1])
    for g, w in zip(got[1:], want):
        assert_close(g, w, atol=1e-4)


@pytest.mark.skipif(not native_available(), reason="native extension not built")
def test_direct_dw_ignores_what_lies_past_the_rows(native, rng):
    """The weight gradient's vectors reach past the end of an output row; those lanes are never summed.
    An inf in the last input column (seen only by the kernel's last column j = 4 here) must leave the
    other columns of dW finite, as the reference does."""
    x, Wt, b = _data(rng, np.float32, 16, 1, 9, 21, 3, 5)     # Wo = 17: one whole vector and one lane
    x[:, :, :, -1] = np.inf
    out, cache = native.conv2d_forward(x, Wt, b)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    dW = native.conv2d_backward(dout, cache, need_dx=False)[1]
    with np.errstate(invalid="ignore"):     # inf * 0 in the reference's padding-free columns: NaN, as wanted
        want = R.conv2d_backward(dout, R.conv2d_forward(x, Wt, b)[1], need_dx=False)[1]
    assert np.isfinite(dW[..., :4]).all()
    np.testing.assert_array_equal(np.isfinite(dW), np.isfinite(want))
    assert_close(dW[..., :4], want[..., :4], atol=1e-4)


@pytest.mark.skipif(not native_available(), reason="native extension not built")
def test_direct_kernels_refuse_what_their_c_code_assumes(native, rng):
    """The internal entries check the geometry against the arrays before C sees a pointer: a 3x3 weight
    gradient, a stride of 2, a scratch one value short, a mismatched output."""
    from nnc.backend.native import conv as native_conv
    x = rng.standard_normal((2, 1, 9, 9)).astype(np.float32)
    for k, s, dW_shape, short, out_shape in (((3, 3), (1, 1), (4, 1, 3, 3), 0, (2, 4, 7, 7)),
                                             ((5, 5), (2, 2), (4, 1, 5, 5), 0, (2, 4, 3, 3)),
                                             ((5, 5), (1, 1), (4, 1, 5, 5), 1, (2, 4, 5, 5)),
                                             ((5, 5), (1, 1), (4, 1, 5, 5), 0, (2, 4, 6, 5))):
        o = ((9 - k[0]) // s[0] + 1, (9 - k[1]) // s[1] + 1)
        geo = native_conv._Geometry(x.shape, 4, k, s, (0, 0), (1, 1), o)
        dout = np.zeros(out_shape, np.float32)
        dW = np.zeros(dW_shape, np.float32)
        scratch = np.zeros(native_conv._direct_dw_values(geo, 2, 4) - short, np.float32)
        with pytest.raises(ValueError):
            native_conv._direct_dw(x, dout, dW, scratch, geo, 2, 1)
        fscratch = np.zeros(native_conv._direct_values(geo, 4) - short, np.float32)
        if k == (3, 3):
            continue        # the forward takes 3x3
        with pytest.raises(ValueError):
            native_conv._direct_forward(x, dW, None, dout, fscratch, geo, 1)


@pytest.mark.skipif(not native_available(), reason="native extension not built")
def test_direct_backward_refuses_a_dx_that_does_not_fit(native, rng):
    """The weight gradient's team computes dx too only when every array of it fits: all four given, dx of
    x's shape, dout and the flipped kernel those of the dx geometry, its scratch big enough; a refusal writes
    nothing."""
    from nnc.backend.native import conv as native_conv
    x = rng.standard_normal((3, 2, 9, 9)).astype(np.float32)
    W = rng.standard_normal((4, 2, 5, 5)).astype(np.float32)
    dout = rng.standard_normal((3, 4, 5, 5)).astype(np.float32)
    geo = native_conv._Geometry(x.shape, 4, (5, 5), (1, 1), (0, 0), (1, 1), (5, 5))
    geo_dx = native_conv._Geometry(dout.shape, 2, (5, 5), (1, 1), (4, 4), (1, 1), (9, 9))
    Wf = np.ascontiguousarray(W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    scratch = np.zeros(native_conv._direct_dw_values(geo, 3, 4), np.float32)
    xs = native_conv._direct_values(geo_dx, 4)
    dW = np.full(W.shape, 7, np.float32)
    for args in ((geo_dx, Wf, np.zeros_like(x), None),                             # one missing
                 (geo_dx, Wf, np.zeros((3, 2, 9, 8), np.float32), np.zeros(xs, np.float32)),   # dx of another shape
                 (geo_dx, Wf.transpose(1, 0, 2, 3).copy(), np.zeros_like(x), np.zeros(xs, np.float32)),  # W not flipped
                 (geo_dx, Wf, np.zeros_like(x), np.zeros(xs - 1, np.float32))):     # scratch one value short
        with pytest.raises(ValueError):
            native_conv._direct_dw(x, dout, dW, scratch, geo, 3, 1, *args)
        assert (dW == 7).all()
    dx = np.zeros_like(x)     # and what fits gives what the separate passes give
    native_conv._direct_dw(x, dout, dW, scratch, geo, 3, 2, geo_dx, Wf, dx, np.zeros(2 * xs, np.float32))
    want_dx, want_dW, _ = native_conv._conv2d_backward(dout, native.conv2d_forward(x, W, None)[1], direct=False)
    assert_close(dx, want_dx, atol=1e-4)
    assert_close(dW, want_dW, atol=1e-4)


@pytest.mark.parametrize("P", [1, 7, 15, 16, 17, 63, 64, 65, 200])
def test_bias_gradient_sums_every_position_once(B, dtype, rng, P):
    """db = the sum of dout over images and positions; the native per-image sums run in vectors of 16
    (float32) or 8 (float64) lanes, four at a time, then a tail: plane sizes around those widths."""
    x = rng.standard_normal((3, 2, 1, P)).astype(dtype)
    W = rng.standard_normal((5, 2, 1, 1)).astype(dtype)
    out, cache = B.conv2d_forward(x, W, np.zeros(5, dtype))
    dout = rng.standard_normal(out.shape).astype(dtype) + 1.0       # all positive-leaning: no cancellation to hide a gap
    _, _, db = B.conv2d_backward(dout, cache)
    want = dout.astype(np.float64).sum(axis=(0, 2, 3))
    np.testing.assert_allclose(db, want, rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.skipif(not native_available(), reason="native extension not built")
def test_direct_kernels_refuse_overlap_negative_padding_and_no_threads(native, rng):
    """C takes the arrays as restrict pointers and the padding as an offset into its copy: an output that
    overlaps an input or another output, a negative padding that keeps Ho consistent, or zero threads is
    refused before C, and nothing is written."""
    from nnc.backend.native import conv as native_conv
    x = rng.standard_normal((2, 1, 9, 9)).astype(np.float32)
    W = rng.standard_normal((4, 1, 5, 5)).astype(np.float32)
    geo = native_conv._Geometry(x.shape, 4, (5, 5), (1, 1), (0, 0), (1, 1), (5, 5))
    dout = rng.standard_normal((2, 4, 5, 5)).astype(np.float32)
    scratch = np.zeros(native_conv._direct_dw_values(geo, 2, 4), np.float32)
    fscratch = np.zeros(native_conv._direct_values(geo, 4), np.float32)
    both = np.zeros(dout.size + fscratch.size, np.float32)       # out and scratch in one buffer: overlap
    with pytest.raises(ValueError, match="overlaps"):
        native_conv._direct_forward(x, W, None, both[:dout.size].reshape(dout.shape), both, geo, 1)
    dW = np.full(W.shape, 7, np.float32)
    big = np.zeros(dout.size + scratch.size, np.float32)         # dW's scratch over dout
    with pytest.raises(ValueError, match="overlaps"):
        native_conv._direct_dw(x, big[:dout.size].reshape(dout.shape), dW, big, geo, 2, 1)
    with pytest.raises(ValueError, match="0 threads"):
        native_conv._direct_dw(x, dout, dW, scratch, geo, 2, 0)
    assert (dW == 7).all()
    neg = native_conv._Geometry(x.shape, 4, (5, 5), (1, 1), (-1, -1), (1, 1), (3, 3))   # Ho = 9 - 2 - 5 + 1
    out = np.full((2, 4, 3, 3), 7, np.float32)
    with pytest.raises(ValueError, match=r"padding \(-1, -1\)"):
        native_conv._direct_forward(x, W, None, out, np.zeros(10 * fscratch.size, np.float32), neg, 1)
    assert (out == 7).all()
