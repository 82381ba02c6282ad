"""Pooling kernels: native vs reference, ties, finite differences, overlap, threads, bad input."""

import numpy as np
import pytest

import nnc
from nnc.backend import native_available, reference as R
from nnc.gradcheck import numerical_gradient, relative_error

from conftest import assert_close

# (N, C, H, W, pool_size, stride, padding): non-square, odd, overlapping (stride < pool), padded, batch 1
CASES = [
    (2, 3, 7, 6, (3, 2), (2, 1), (1, 0)),
    (1, 1, 9, 5, 3, None, 1),
    (3, 2, 8, 8, 2, None, 0),
    (2, 4, 5, 7, (3, 3), 1, 1),
    (1, 2, 6, 9, (2, 4), (3, 2), (1, 2)),
    (3, 2, 7, 9, 2, 2, 0),            # the 2x2 stride-2 fast path, odd sizes (a row and a column in no window)
    (2, 3, 8, 6, 3, 2, 1),            # Ho = H/2, Wo = W/2 without being 2x2: backward must notice
]


@pytest.mark.parametrize("kind", ["maxpool2d", "avgpool2d"])
@pytest.mark.parametrize("case", CASES)
def test_native_matches_reference(native, dtype, rng, kind, case):
    N, C, H, W, k, s, p = case
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    out_n, cache_n = getattr(native, kind + "_forward")(x, k, s, p)
    out_r, cache_r = getattr(R, kind + "_forward")(x, k, s, p)
    assert out_n.dtype == dtype
    assert_close(out_n, out_r)
    if kind == "maxpool2d":
        np.testing.assert_array_equal(cache_n.argmax, cache_r.argmax)
    dout = rng.standard_normal(out_n.shape).astype(dtype)
    assert_close(getattr(native, kind + "_backward")(dout, cache_n), getattr(R, kind + "_backward")(dout, cache_r))


def test_global_native_matches_reference(native, dtype, rng):
    x = rng.standard_normal((3, 5, 7, 4)).astype(dtype)
    out_n, cache_n = native.global_avgpool2d_forward(x)
    out_r, cache_r = R.global_avgpool2d_forward(x)
    assert out_n.shape == (3, 5)
    assert_close(out_n, out_r)
    dout = rng.standard_normal((3, 5)).astype(dtype)
    assert_close(native.global_avgpool2d_backward(dout, cache_n), R.global_avgpool2d_backward(dout, cache_r))


def test_output_size_and_meanings(B):
    x = np.arange(2 * 7 * 6, dtype=np.float64).reshape(1, 2, 7, 6)
    out, _ = B.maxpool2d_forward(x, (3, 2), (2, 1), (1, 0))
    assert out.shape == (1, 2, (7 + 2 - 3) // 2 + 1, (6 - 2) // 1 + 1)
    # increasing values: the max of every window is its bottom-right real cell
    np.testing.assert_array_equal(out[0, 0, 0], x[0, 0, 1, 1:])
    avg, _ = B.avgpool2d_forward(x, 3, 1, 1)
    # a corner window holds 4 real cells and 5 padded zeros: padding counts, divide by 9
    assert avg[0, 0, 0, 0] == pytest.approx((x[0, 0, 0, 0] + x[0, 0, 0, 1] + x[0, 0, 1, 0] + x[0, 0, 1, 1]) / 9)


def test_max_ignores_padding_for_negative_inputs(B):
    x = -np.ones((1, 1, 3, 3)) - np.arange(9).reshape(1, 1, 3, 3)
    out, _ = B.maxpool2d_forward(x, 3, 1, 1)
    assert out.max() < 0        # a padded zero was never chosen
    assert out[0, 0, 0, 0] == -1


def test_ties_go_to_first_cell_in_row_major_order(B, dtype):
    x = np.zeros((1, 2, 4, 5), dtype)
    x[0, 1, 1, 3] = x[0, 1, 2, 2] = 1.0      # two maxima in one 3x3 window
    out, cache = B.maxpool2d_forward(x, 3, 2, 1)
    # plane 0 is all ties: every window picks its top-left real cell
    for oh in range(out.shape[2]):
        for ow in range(out.shape[3]):
            r, c = max(2 * oh - 1, 0), max(2 * ow - 1, 0)
            assert cache.argmax[0, 0, oh, ow] == r * 5 + c
    assert cache.argmax[0, 1, 1, 1] == 1 * 5 + 3
    dx = B.maxpool2d_backward(np.ones_like(out), cache)
    assert dx[0, 1, 2, 2] == 0 and dx[0, 1, 1, 3] >= 1
    assert dx.sum() == out.size               # every gradient went to exactly one cell


@pytest.mark.skipif(not native_available(), reason="native extension not built")
@pytest.mark.parametrize("W", [2, 5, 8, 11, 16, 17, 28, 35])
def test_2x2_ties_and_nans_match_reference(native, dtype, rng, W):
    """The 2x2 stride-2 loop picks with selects, 8 or 4 output cells at a time (the last block of a row
    overlapping the one before; rows of 1 to 3 cells one by one); ties and NaNs must still go where the
    general rule sends them. Widths 2..35: 1..17 cells a row, odd widths leave a column out."""
    x = np.round(rng.standard_normal((2, 3, 9, W))).astype(dtype)   # many ties
    x[0, 0, 2, W // 2] = x[1, 2, 5, W - 2] = x[1, 2, 5, W - 1] = np.nan   # NaNs: lone, and two in one window
    x[0, 1, 4, W - 1] = np.inf
    x[1, 0, 7, W - 1] = -np.inf
    out_n, cache_n = native.maxpool2d_forward(x, 2)
    out_r, cache_r = R.maxpool2d_forward(x, 2)
    np.testing.assert_array_equal(out_n, out_r)
    np.testing.assert_array_equal(cache_n.argmax, cache_r.argmax)
    dout = rng.standard_normal(out_n.shape).astype(dtype)
    np.testing.assert_array_equal(native.maxpool2d_backward(dout, cache_n), R.maxpool2d_backward(dout, cache_r))


def test_2x2_backward_with_argmax_outside_its_window(B, rng):
    """An argmax that is not in its own 2x2 window (a hand-made cache) is still scattered where it points."""
    x = rng.standard_normal((1, 2, 4, 6))
    out, cache = B.maxpool2d_forward(x, 2)
    argmax = cache.argmax.copy()
    argmax[0, 1, 0, 0] = argmax[0, 1, 1, 2]     # another window's argmax: that cell receives two gradients
    dout = rng.standard_normal(out.shape)
    dx = B.maxpool2d_backward(dout, cache._replace(argmax=argmax))
    want = R.maxpool2d_backward(dout, cache._replace(argmax=argmax))
    assert_close(dx, want)
    assert dx[0, 1].flat[argmax[0, 1, 0, 0]] == pytest.approx(dout[0, 1, 0, 0] + dout[0, 1, 1, 2])


def test_overlapping_windows_accumulate(B):
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = 1.0                        # the max of all 9 overlapping 3x3 windows
    out, cache = B.maxpool2d_forward(x, 3, 1)
    dx = B.maxpool2d_backward(np.ones_like(out), cache)
    assert dx[0, 0, 2, 2] == 9 and dx.sum() == 9
    avg, cache = B.avgpool2d_forward(x, 3, 1)
    dx = B.avgpool2d_backward(np.ones_like(avg), cache)
    assert dx[0, 0, 2, 2] == pytest.approx(1.0) and dx[0, 0, 0, 0] == pytest.approx(1 / 9)


@pytest.mark.parametrize("kind", ["maxpool2d", "avgpool2d", "global_avgpool2d"])
def test_gradcheck(B, rng, kind):
    # a permutation of spaced values: no ties, and h = 1e-6 never changes the argmax
    x = (rng.permutation(2 * 3 * 7 * 6) * 0.01).reshape(2, 3, 7, 6).astype(np.float64)
    fwd, bwd = getattr(B, kind + "_forward"), getattr(B, kind + "_backward")
    args = () if kind == "global" + "_avgpool2d" else ((3, 2), (2, 1), (1, 1))
    out, cache = fwd(x, *args)
    R_ = rng.standard_normal(out.shape)
    numeric = numerical_gradient(lambda: np.sum(fwd(x, *args)[0] * R_), x)
    assert relative_error(bwd(R_, cache), numeric) < 1e-5


@pytest.mark.skipif(not native_available(), reason="native extension not built")
def test_threads_give_identical_bits(native, rng):
    x = rng.standard_normal((24, 16, 56, 57)).astype(np.float32)   # 1.2M values: above NNC_OMP_MIN_STREAM
    results = []
    for n in (1, 2):
        with nnc.threads(n):
            res = []
            for kind, args in (("maxpool2d", (3, 2, 1)), ("avgpool2d", (3, 2, 1)), ("global_avgpool2d", ()),
                               ("maxpool2d", (2,)), ("avgpool2d", (2,))):
                out, cache = getattr(native, kind + "_forward")(x, *args)
                res += [out, getattr(native, kind + "_backward")(out, cache)]
            results.append(res)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["maxpool2d", "avgpool2d"])
@pytest.mark.parametrize("kwargs, err, match", [
    (dict(x=np.zeros((6, 6))), ValueError, "x must be 4-D"),
    (dict(pool_size=0), ValueError, "pool_size must be an integer >= 1"),
    (dict(stride=0), ValueError, "stride must be an integer >= 1"),
    (dict(padding=-1), ValueError, "padding must be an integer >= 0"),
    (dict(pool_size=3, padding=2), ValueError, "at most half the pool size"),
    (dict(pool_size=(7, 2)), ValueError, "larger than the padded input height"),
    (dict(x=np.zeros((0, 1, 6, 6))), ValueError, "empty"),
    (dict(x=np.zeros((1, 1, 6, 6), np.int32)), TypeError, "float32 or float64"),
    (dict(x=np.zeros((1, 1, 6, 12))[..., ::2]), ValueError, "C-contiguous"),
])
def test_bad_input_raises(B, kind, kwargs, err, match):
    args = dict(x=np.zeros((1, 1, 6, 6)), pool_size=2, stride=None, padding=0)
    args.update(kwargs)
    with pytest.raises(err, match=match):
        getattr(B, kind + "_forward")(**args)


def test_bad_dout_raises(B):
    out, cache = B.maxpool2d_forward(np.zeros((1, 1, 6, 6)), 2)
    with pytest.raises(ValueError, match="dout must have shape"):
        B.maxpool2d_backward(np.zeros((1, 1, 3, 2)), cache)
    out, cache = B.global_avgpool2d_forward(np.zeros((2, 3, 4, 4)))
    with pytest.raises(ValueError, match="dout must be 2-D"):
        B.global_avgpool2d_backward(np.zeros((2, 3, 1, 1)), cache)


@pytest.mark.parametrize("where", [(0, 0, 0, 0), (1, 2, 2, 1), (1, 2, 2, 2)])   # first, middle, last entry
@pytest.mark.parametrize("value", [-1, 49, 2**31 - 1, -2**31])                   # H*W = 49
def test_argmax_out_of_the_plane_raises(B, where, value, dtype, rng):
    """An altered cache must not make the backward write outside dx (nor wrap a negative index)."""
    x = rng.standard_normal((2, 3, 7, 7)).astype(dtype)
    out, cache = B.maxpool2d_forward(x, 2, stride=2, padding=1)       # Ho = Wo = 4
    argmax = cache.argmax.copy()
    argmax[where] = value
    with pytest.raises(ValueError, match=r"argmax must hold int32 indices into an H\*W plane"):
        B.maxpool2d_backward(np.ones_like(out), cache._replace(argmax=argmax))


def test_argmax_wrong_kind_raises(B, rng):
    x = rng.standard_normal((2, 3, 6, 6))
    out, cache = B.maxpool2d_forward(x, 2)
    for bad in (cache.argmax.astype(np.int64), np.asfortranarray(cache.argmax), cache.argmax[:1],
                cache.argmax.reshape(2, 3, 9)):
        with pytest.raises(ValueError, match="argmax must hold int32 indices"):
            B.maxpool2d_backward(np.ones(bad.shape if bad.ndim == 4 else out.shape), cache._replace(argmax=bad))
    with pytest.raises(ValueError, match="argmax must hold int32 indices"):      # x_shape's N, C disagree
        B.maxpool2d_backward(np.ones_like(out), cache._replace(x_shape=(1, 3, 6, 6)))


hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies


@pytest.mark.skipif(not native_available(), reason="native extension not built")
@hypothesis.settings(max_examples=40, deadline=None)
@hypothesis.given(N=st.integers(1, 2), C=st.integers(1, 3), H=st.integers(1, 9), W=st.integers(1, 9),
                  kh=st.integers(1, 4), kw=st.integers(1, 4), sh=st.integers(1, 3), sw=st.integers(1, 3),
                  ph=st.integers(0, 2), pw=st.integers(0, 2), ties=st.booleans())
def test_property_native_matches_reference(N, C, H, W, kh, kw, sh, sw, ph, pw, ties):
    hypothesis.assume(ph <= kh // 2 and pw <= kw // 2 and kh <= H + 2 * ph and kw <= W + 2 * pw)
    from nnc.backend import native
    rng = np.random.default_rng(H * 10 + W)
    x = rng.standard_normal((N, C, H, W))
    if ties:
        x = np.round(x)          # many equal values: the tie rule decides
    for kind in ("maxpool2d", "avgpool2d"):
        out_n, cache_n = getattr(native, kind + "_forward")(x, (kh, kw), (sh, sw), (ph, pw))
        out_r, cache_r = getattr(R, kind + "_forward")(x, (kh, kw), (sh, sw), (ph, pw))
        assert_close(out_n, out_r)
        if kind == "maxpool2d":
            np.testing.assert_array_equal(cache_n.argmax, cache_r.argmax)
        dout = rng.standard_normal(out_n.shape)
        assert_close(getattr(native, kind + "_backward")(dout, cache_n), getattr(R, kind + "_backward")(dout, cache_r))
