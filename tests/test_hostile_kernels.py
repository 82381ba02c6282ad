"""Hostile input for every kernel: caches that disagree with themselves or with dout, rank-deficient
caches, geometry that overflows a C int, oversized and misaligned arrays, and NaN.

Each case runs on BOTH backends and must raise the same exception (same type, same message, naming
the argument) there; before issue 11 the native backend crashed (heap overflow, NULL dereference,
"malloc(): invalid size") or returned garbage on most of these. The NaN cases pin the one rule of
nnc/backend/_checks.py (NaN in, NaN out) where the two backends used to differ.
"""
import re

import numpy as np
import pytest

from nnc import backend
from nnc.backend.caches import (ActivationCache, BatchNormCache, Conv2DCache, DenseCache, DropoutCache, LossCache,
                                PoolCache)

pytestmark = pytest.mark.skipif(not backend.native_available(), reason="compares native with reference")

f32, f64 = np.float32, np.float64
BIG = 2**31 - 1


def ones(*shape, dtype=f64):
    return np.ones(shape, dtype)


def huge(*shape):
    """A C-contiguous-looking array of more than 2**31 - 1 elements without allocating it: a broadcast
    view (the size check comes before the contiguity check, so this is what the kernels see first)."""
    return np.broadcast_to(np.zeros(1, f32), shape)


def misaligned(*shape):
    """A float32 view at a byte offset of 1 into a byte buffer."""
    n = int(np.prod(shape))
    return np.zeros(4 * n + 1, np.uint8)[1:].view(f32).reshape(shape)


# ---- the cases: (id, call(B), exception type, regex naming the argument) ----------------------------

def _act(name, x_in, **kw):
    """A real cache of activation `name` from backend B, edited by `kw`."""
    def make(B):
        args = (ones(*x_in.shape[1:]),) if name == "prelu" else ()
        _, cache = getattr(B, f"{name}_forward")(x_in, *args)
        return cache._replace(**kw)
    return make


def _loss(name, output_in, target_in, **kw):
    def make(B):
        _, cache = getattr(B, f"{name}_forward")(output_in, target_in)
        return cache._replace(**kw)
    return make


def _bn(training=True, **kw):
    def make(B):
        x = np.random.default_rng(0).standard_normal((4, 3))
        _, cache = B.batchnorm_forward(x, ones(3), np.zeros(3), np.zeros(3), ones(3), training=training)
        return cache._replace(**kw)
    return make


def _conv_cache(x, W, s=(1, 1), p=(0, 0), d=(1, 1)):
    return Conv2DCache(x, W, True, s, p, d)


ACTIVATIONS = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "gelu_tanh", "swish",
               "softplus", "softsign", "softmax", "prelu"]
ELEM_LOSSES = ["mse", "mae", "huber", "binary_crossentropy", "binary_crossentropy_with_logits", "kl_divergence"]
CLASS_LOSSES = ["softmax_cross_entropy", "categorical_crossentropy", "multiclass_hinge", "ova_hinge"]
P = np.full((4, 3), 0.3)
LABELS = np.array([0, 1, 2, 0])

CASES = [
    # dense
    ("dense x/W disagree", lambda B: B.dense_backward(ones(4, 16), DenseCache(ones(4, 64), ones(8, 16), True)),
     ValueError, r"cache\.x has 64 features but cache\.W expects 8"),
    ("dense 1-D W", lambda B: B.dense_backward(ones(4, 16), DenseCache(ones(4, 64), ones(16), True)),
     ValueError, r"cache\.W must be 2-D"),
    ("dense 1-D x", lambda B: B.dense_backward(ones(4, 16), DenseCache(ones(64), ones(64, 16), True)),
     ValueError, r"cache\.x must be 2-D"),
    ("dense dout", lambda B: B.dense_backward(ones(4, 15), DenseCache(ones(4, 8), ones(8, 16), True)),
     ValueError, r"dout must have shape \(4, 16\)"),
    ("dense dtypes", lambda B: B.dense_backward(ones(4, 16), DenseCache(ones(4, 8), ones(8, 16, dtype=f32), True)),
     TypeError, r"cache\.W has dtype float32"),
    ("dense not a cache", lambda B: B.dense_backward(ones(4, 16), (ones(4, 8),)),
     TypeError, r"cache must be the DenseCache"),
    # convolution
    ("conv channels", lambda B: B.conv2d_backward(ones(2, 4, 6, 6), _conv_cache(ones(2, 64, 8, 8), ones(4, 1, 3, 3))),
     ValueError, r"cache\.x has 64 channels but cache\.W expects C_in = 1"),
    ("conv 3-D x", lambda B: B.conv2d_backward(ones(2, 4, 6, 6), _conv_cache(ones(2, 8, 8), ones(4, 2, 3, 3))),
     ValueError, r"cache\.x must be 4-D"),
    ("conv 2-D W", lambda B: B.conv2d_backward(ones(2, 4, 6, 6), _conv_cache(ones(2, 2, 8, 8), ones(4, 18))),
     ValueError, r"cache\.W must be 4-D"),
    ("conv stride 0", lambda B: B.conv2d_backward(ones(1, 1, 6, 6), _conv_cache(ones(1, 1, 8, 8), ones(1, 1, 3, 3),
                                                                                s=(0, 1))),
     ValueError, r"stride must be an integer >= 1"),
    ("conv kernel too big", lambda B: B.conv2d_backward(ones(1, 1, 1, 1), _conv_cache(ones(1, 1, 8, 8),
                                                                                      ones(1, 1, 9, 9))),
     ValueError, r"kernel \(9 with dilation\) is larger than the padded input"),
    ("conv cached stride overflow", lambda B: B.conv2d_backward(
        ones(1, 1, 1, 1), _conv_cache(ones(1, 1, 1, 1), ones(1, 1, 1, 1), s=(BIG, 1))),
     ValueError, r"stride 2147483647 and padding 0 are too large"),
    ("conv dout", lambda B: B.conv2d_backward(ones(2, 4, 5, 6), _conv_cache(ones(2, 1, 8, 8), ones(4, 1, 3, 3))),
     ValueError, r"dout must have shape \(2, 4, 6, 6\)"),
    ("conv forward stride+padding overflow", lambda B: B.conv2d_forward(ones(1, 1, 1, 1), ones(1, 1, 1, 1), None,
                                                                        stride=2**30, padding=2**30),
     ValueError, r"stride 1073741824 and padding 1073741824 are too large for the input height 1"),
    ("conv forward stride 2**31-1", lambda B: B.conv2d_forward(np.full((1, 1, 1, 1), 20.0), ones(1, 1, 1, 1), None,
                                                               stride=BIG),
     ValueError, r"stride 2147483647 and padding 0 are too large"),
    ("conv forward output overflow", lambda B: B.conv2d_forward(ones(3, 1, 1, 1), ones(1, 1, 1, 1), None,
                                                                padding=16383),
     ValueError, r"the result would have shape \(3, 1, 32767, 32767\)"),
    ("im2col stride overflow", lambda B: B.im2col(ones(1, 1, 4, 4), 2, stride=(1, BIG)),
     ValueError, r"stride 2147483647 and padding 0 are too large for the input width 4"),
    ("col2im x_shape int", lambda B: B.col2im(ones(1, 9, 1), 3, 3),
     ValueError, r"x_shape must be a tuple of 4 integers >= 1 \(N, C, H, W\), got 3"),
    ("col2im x_shape zero", lambda B: B.col2im(ones(1, 9, 1), (1, 1, 0, 3), 3),
     ValueError, r"x_shape must be a tuple of 4 integers >= 1"),
    # pooling
    ("maxpool x_shape 3-D", lambda B: B.maxpool2d_backward(ones(1, 1, 2, 2), PoolCache(
        (1, 4, 4), (2, 2), (2, 2), (0, 0), np.zeros((1, 1, 2, 2), np.int32))),
     ValueError, r"cache\.x_shape must be a tuple of 4 integers"),
    ("maxpool argmax int64", lambda B: B.maxpool2d_backward(ones(1, 1, 2, 2), PoolCache(
        (1, 1, 4, 4), (2, 2), (2, 2), (0, 0), np.zeros((1, 1, 2, 2), np.int64))),
     ValueError, r"cache\.argmax must hold int32 indices"),
    ("maxpool argmax out of range", lambda B: B.maxpool2d_backward(ones(1, 1, 2, 2), PoolCache(
        (1, 1, 4, 4), (2, 2), (2, 2), (0, 0), np.full((1, 1, 2, 2), 10**6, np.int32))),
     ValueError, r"cache\.argmax must hold int32 indices into an H\*W plane"),
    ("maxpool dout 2-D", lambda B: B.maxpool2d_backward(ones(2, 2), PoolCache(
        (1, 1, 4, 4), (2, 2), (2, 2), (0, 0), np.zeros((1, 1, 2, 2), np.int32))),
     ValueError, r"dout must be 4-D"),
    ("avgpool cached stride 0", lambda B: B.avgpool2d_backward(ones(1, 1, 2, 2), PoolCache(
        (1, 1, 4, 4), (2, 2), (0, 0), (0, 0))),
     ValueError, r"stride must be an integer >= 1"),
    ("avgpool cached window overflow", lambda B: B.avgpool2d_backward(ones(1, 1, 1, 1), PoolCache(
        (1, 1, 1, 1), (2**20, 2**20), (1, 1), (2**19, 2**19))),
     ValueError, r"the pool window \(1048576, 1048576\) has more than 2147483647 cells"),
    ("avgpool x_shape disagrees with dout", lambda B: B.avgpool2d_backward(ones(1, 1, 2, 2), PoolCache(
        (1, 1, 8, 8), (2, 2), (2, 2), (0, 0))),
     ValueError, r"dout must have shape \(1, 1, 4, 4\)"),
    ("avgpool padding > half", lambda B: B.avgpool2d_backward(ones(1, 1, 3, 3), PoolCache(
        (1, 1, 4, 4), (2, 2), (2, 2), (2, 2))),
     ValueError, r"padding \(2, 2\) must be at most half the pool size"),
    ("global pool x_shape overflow", lambda B: B.global_avgpool2d_backward(ones(1, 1), PoolCache(
        (1, 1, 65536, 65536), (65536, 65536), (65536, 65536), (0, 0))),
     ValueError, r"cache\.x_shape \(1, 1, 65536, 65536\) has 4294967296 elements"),
    ("global pool x_shape 2-D", lambda B: B.global_avgpool2d_backward(ones(1, 1), PoolCache(
        (1, 1), (1, 1), (1, 1), (0, 0))),
     ValueError, r"cache\.x_shape must be a tuple of 4 integers"),
    ("maxpool forward stride overflow", lambda B: B.maxpool2d_forward(ones(1, 1, 4, 4), 2, stride=BIG),
     ValueError, r"stride 2147483647 and padding 0 are too large"),
    ("avgpool forward window overflow", lambda B: B.avgpool2d_forward(ones(1, 1, 1, 1), 2**20, padding=2**19),
     ValueError, r"the pool window \(1048576, 1048576\) has more than 2147483647 cells"),
    # batch norm
    ("bn gamma length", lambda B: B.batchnorm_backward(ones(4, 3), _bn(gamma=ones(2))(B)),
     ValueError, r"cache\.gamma must have shape \(3,\), got \(2,\)"),
    ("bn inv_std length", lambda B: B.batchnorm_backward(ones(4, 3), _bn(training=False, inv_std=ones(7))(B)),
     ValueError, r"cache\.inv_std must have shape \(3,\), got \(7,\)"),
    ("bn 1-D xhat", lambda B: B.batchnorm_backward(ones(3), _bn(xhat=ones(3))(B)),
     ValueError, r"cache\.xhat must be 2-D \(N, F\) or 4-D"),
    ("bn 1-D gamma of 2-D", lambda B: B.batchnorm_backward(ones(4, 3), _bn(gamma=ones(3, 1))(B)),
     ValueError, r"cache\.gamma must be 1-D"),
    ("bn dout", lambda B: B.batchnorm_backward(ones(4, 4), _bn()(B)),
     ValueError, r"dout must have shape \(4, 3\)"),
    ("bn dtypes", lambda B: B.batchnorm_backward(ones(4, 3), _bn(inv_std=ones(3, dtype=f32))(B)),
     TypeError, r"cache\.inv_std has dtype float32"),
    # dropout
    ("dropout spatial on 2-D", lambda B: B.dropout_backward(ones(4, 3), DropoutCache(np.ones((4, 3), bool), 2.0, True)),
     ValueError, r"dout must be 4-D \(N, C, H, W\)"),
    ("dropout spatial keep 4-D", lambda B: B.dropout_backward(ones(4, 3, 2, 2), DropoutCache(
        np.ones((4, 3, 2, 2), bool), 2.0, True)),
     ValueError, r"cache\.keep of a spatial dropout must be \(N, C\)"),
    ("dropout keep int64", lambda B: B.dropout_backward(ones(4, 3), DropoutCache(np.ones((4, 3), np.int64), 2.0,
                                                                                 False)),
     TypeError, r"cache\.keep must be the boolean mask"),
    ("dropout keep shape", lambda B: B.dropout_backward(ones(4, 3), DropoutCache(np.ones((4, 1), bool), 2.0, False)),
     ValueError, r"dout must have shape \(4, 1\)"),
    ("dropout scale NaN", lambda B: B.dropout_backward(ones(4, 3), DropoutCache(np.ones((4, 3), bool), np.nan,
                                                                                False)),
     ValueError, r"cache\.scale must be a finite number"),
    # sizes and alignment of inputs
    ("global pool forward 2**32 elements", lambda B: B.global_avgpool2d_forward(huge(1, 1, 65536, 65536)),
     ValueError, r"x of shape \(1, 1, 65536, 65536\) has 4294967296 elements"),
    ("avgpool forward 2**32 elements", lambda B: B.avgpool2d_forward(huge(1, 1, 65536, 65536), 2),
     ValueError, r"x of shape \(1, 1, 65536, 65536\) has 4294967296 elements"),
    ("batchnorm forward 2**32 elements", lambda B: B.batchnorm_forward(
        huge(65536, 1, 256, 256), ones(1, dtype=f32), ones(1, dtype=f32), ones(1, dtype=f32), ones(1, dtype=f32)),
     ValueError, r"x of shape \(65536, 1, 256, 256\) has 4294967296 elements"),
    # caches of more than 2**31 - 1 elements (broadcast views: nothing is allocated)
    ("dense cache 2**32 elements", lambda B: B.dense_backward(ones(65536, 2), DenseCache(
        huge(65536, 65536), ones(65536, 2, dtype=f32), True)),
     ValueError, r"cache\.x of shape \(65536, 65536\) has 4294967296 elements"),
    ("conv cache 2**32 elements", lambda B: B.conv2d_backward(ones(1, 1, 1, 1), _conv_cache(
        huge(1, 1, 65536, 65536), ones(1, 1, 3, 3, dtype=f32))),
     ValueError, r"cache\.x of shape \(1, 1, 65536, 65536\) has 4294967296 elements"),
    ("maxpool cache x_shape 2**32", lambda B: B.maxpool2d_backward(ones(1, 1, 1, 1), PoolCache(
        (1, 1, 65536, 65536), (2, 2), (2, 2), (0, 0), np.zeros((1, 1, 1, 1), np.int32))),
     ValueError, r"cache\.x_shape \(1, 1, 65536, 65536\) has 4294967296 elements"),
    ("avgpool cache x_shape 2**32", lambda B: B.avgpool2d_backward(ones(1, 1, 1, 1), PoolCache(
        (1, 1, 65536, 65536), (65536, 65536), (1, 1), (0, 0))),
     ValueError, r"cache\.x_shape \(1, 1, 65536, 65536\) has 4294967296 elements"),
    ("bn cache 2**32 elements", lambda B: B.batchnorm_backward(huge(65536, 1, 256, 256), _bn(
        xhat=huge(65536, 1, 256, 256), gamma=ones(1, dtype=f32), inv_std=ones(1, dtype=f32))(B)),
     ValueError, r"cache\.xhat of shape \(65536, 1, 256, 256\) has 4294967296 elements"),
    ("activation cache 2**32 elements", lambda B: B.tanh_backward(huge(65536, 65536), ActivationCache(
        huge(65536, 65536), huge(65536, 65536))),
     ValueError, r"cache\.x of shape \(65536, 65536\) has 4294967296 elements"),
    ("loss cache 2**32 elements", lambda B: B.mse_backward(LossCache("mse", huge(65536, 65536), huge(65536, 65536))),
     ValueError, r"cache\.output of shape \(65536, 65536\) has 4294967296 elements"),
    ("dropout 2**32 elements", lambda B: B.dropout_backward(huge(65536, 65536), DropoutCache(
        np.broadcast_to(np.ones(1, bool), (65536, 65536)), 2.0, False)),
     ValueError, r"dout of shape \(65536, 65536\) has 4294967296 elements"),
    ("misaligned input", lambda B: B.sigmoid_forward(misaligned(4, 4)),
     ValueError, r"x is not aligned to its dtype \(float32\); pass x\.copy\(\)"),
    ("misaligned weights", lambda B: B.dense_forward(ones(2, 4, dtype=f32), misaligned(4, 3), None),
     ValueError, r"W is not aligned"),
    ("misaligned axpy", lambda B: B.axpy(0.5, misaligned(8), ones(8, dtype=f32)),
     ValueError, r"x is not aligned"),
]

# every activation: a cache whose out has one element, and one whose x has lost a dimension
for _name in ACTIVATIONS:
    _x = np.random.default_rng(1).standard_normal((4, 3)) + 0.1
    CASES += [
        (f"{_name} out of 1 element", (lambda n, x: lambda B: getattr(B, f"{n}_backward")(
            np.ones_like(x), _act(n, x, out=ones(1))(B)))(_name, _x),
         ValueError, r"cache\.out must be 2-D, got shape \(1,\)"),
        (f"{_name} x 1-D", (lambda n, x: lambda B: getattr(B, f"{n}_backward")(
            np.ones_like(x), _act(n, x, x=ones(12), out=ones(12))(B)))(_name, _x),
         ValueError, r"dout must be 1-D|cache\.x must be at least 2-D"),
    ]
CASES += [
    ("leaky_relu alpha", lambda B: B.leaky_relu_backward(ones(4, 3), _act("leaky_relu", ones(4, 3), alpha="0.1")(B)),
     ValueError, r"cache\.alpha must be a finite number"),
    ("elu alpha NaN", lambda B: B.elu_backward(ones(4, 3), _act("elu", ones(4, 3), alpha=np.nan)(B)),
     ValueError, r"cache\.alpha must be a finite number"),
    ("prelu alpha shape", lambda B: B.prelu_backward(ones(4, 3), _act("prelu", ones(4, 3), alpha=ones(5))(B)),
     ValueError, r"cache\.alpha of shape \(5,\) does not broadcast"),
    ("softmax axis", lambda B: B.softmax_backward(ones(4, 3), _act("softmax", ones(4, 3), axis=5)(B)),
     ValueError, r"cache\.axis must be an integer in \[-2, 2\)"),
    ("activation not a cache", lambda B: B.tanh_backward(ones(4, 3), "cache"),
     TypeError, r"cache must be the ActivationCache"),
]

# every loss
for _name in ELEM_LOSSES:
    CASES += [
        (f"{_name} output of another size", (lambda n: lambda B: getattr(B, f"{n}_backward")(
            _loss(n, P, P, output=np.full((2, 3), 0.3))(B)))(_name),
         ValueError, r"cache\.target must have shape \(2, 3\), got \(4, 3\)"),
        (f"{_name} target 1-D", (lambda n: lambda B: getattr(B, f"{n}_backward")(
            _loss(n, P, P, target=np.full(12, 0.3))(B)))(_name),
         ValueError, r"cache\.target must be 2-D"),
        (f"{_name} param NaN", (lambda n: lambda B: getattr(B, f"{n}_backward")(
            _loss(n, P, P, param=np.nan)(B)))(_name),
         ValueError, r"cache\.param must be a finite number"),
        (f"{_name} cache of another loss", (lambda n: lambda B: getattr(B, f"{n}_backward")(
            _loss(n, P, P, loss="mse" if n != "mse" else "mae")(B)))(_name),
         ValueError, r"cache comes from 'm[sa]e', not from"),
    ]
for _name in CLASS_LOSSES:
    CASES += [
        (f"{_name} label 10**9", (lambda n: lambda B: getattr(B, f"{n}_backward")(
            _loss(n, P, LABELS, target=np.array([0, 1, 10**9, 0]))(B)))(_name),
         ValueError, r"cache\.target holds class ids outside \[0, 3\) for output with 3 classes"),
        (f"{_name} label -1", (lambda n: lambda B: getattr(B, f"{n}_backward")(
            _loss(n, P, LABELS, target=np.array([0, -1, 2, 0]))(B)))(_name),
         ValueError, r"cache\.target holds class ids outside \[0, 3\)"),
        (f"{_name} labels int32", (lambda n: lambda B: getattr(B, f"{n}_backward")(
            _loss(n, P, LABELS, target=LABELS.astype(np.int32))(B)))(_name),
         ValueError, r"cache\.target must be the int64 class ids \(4,\)"),
        (f"{_name} labels too few", (lambda n: lambda B: getattr(B, f"{n}_backward")(
            _loss(n, P, LABELS, target=LABELS[:2])(B)))(_name),
         ValueError, r"cache\.target must be the int64 class ids \(4,\)"),
        (f"{_name} output 1-D", (lambda n: lambda B: getattr(B, f"{n}_backward")(
            _loss(n, P, LABELS, output=np.full(4, 0.3))(B)))(_name),
         ValueError, r"cache\.output must be 2-D \(N, K\)"),
    ]
CASES += [
    ("softmax_cross_entropy aux shape", lambda B: B.softmax_cross_entropy_backward(
        _loss("softmax_cross_entropy", P, LABELS, aux=np.full((4, 2), 0.5))(B)),
     ValueError, r"cache\.aux must have shape \(4, 3\)"),
    ("softmax_cross_entropy rows of another shape", lambda B: B.softmax_cross_entropy_backward(
        _loss("softmax_cross_entropy", P, P, target=np.full((4, 2), 0.5))(B)),
     ValueError, r"cache\.target must have shape \(4, 3\)"),
    ("multiclass_hinge delta 0", lambda B: B.multiclass_hinge_backward(
        _loss("multiclass_hinge", P, LABELS, param=0.0)(B)),
     ValueError, r"cache\.param must satisfy 0 < cache\.param"),
    ("loss not a cache", lambda B: B.mse_backward(("mse", P)),
     ValueError, r"cache comes from 'tuple', not from mse_forward"),
]


@pytest.mark.parametrize("call, exc, match", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_both_backends_raise_the_same_clean_error(call, exc, match):
    messages = []
    for name in ("native", "reference"):
        with backend.using(name) as B:
            with pytest.raises(exc, match=match) as info:
                call(B)
        assert type(info.value) is exc
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    # the message starts with the kernel's name, then names the argument
    assert re.match(r"[a-z0-9_]+: ", messages[0])


def test_misaligned_class_ids_are_copied_not_passed_to_c(B):
    ids = np.zeros(8 * 4 + 1, np.uint8)[1:].view(np.int64)      # int64 at a byte offset of 1
    ids[:] = [0, 2, 1, 0]
    assert not ids.flags.aligned
    loss, cache = B.softmax_cross_entropy_forward(np.eye(4, 3), ids)
    assert cache.target.flags.aligned and cache.target.flags.c_contiguous
    np.testing.assert_array_equal(cache.target, [0, 2, 1, 0])
    assert np.isfinite(loss)


def test_pooling_errors_do_not_speak_of_a_column_matrix(B):
    for call in (lambda: B.maxpool2d_forward(ones(1, 1, 1, 1), 2**20, padding=2**19),
                 lambda: B.avgpool2d_forward(ones(1, 1, 1, 1), 2**20, padding=2**19),
                 lambda: B.maxpool2d_forward(ones(1, 1, 3, 3), 5)):
        with pytest.raises(ValueError) as info:
            call()
        assert "column" not in str(info.value) and "dilation" not in str(info.value)


def test_rejected_calls_leave_their_arguments_unchanged(B):
    x = np.random.default_rng(2).standard_normal((4, 8))
    W = np.random.default_rng(3).standard_normal((8, 5))
    cache = DenseCache(x, W[:4], True)
    before = x.copy(), W.copy()
    with pytest.raises(ValueError):
        B.dense_backward(np.ones((4, 5)), cache)
    np.testing.assert_array_equal(x, before[0])
    np.testing.assert_array_equal(W, before[1])


# ---- NaN in, NaN out (nnc/backend/_checks.py): the same in both backends ------------------------------

nan = np.nan


def _isnan(a):
    return np.isnan(np.asarray(a, dtype=np.float64))


def test_ova_hinge_forward_says_nan(B):
    # native returned 1.0 for a NaN score of the true class (max(0, NaN) skipped), the reference NaN
    loss, _ = B.ova_hinge_forward(np.array([[nan, 0.0]]), np.array([0]))
    assert np.isnan(loss)


@pytest.mark.parametrize("row", [[nan, 0.5, 0.2], [0.1, nan, 0.2]], ids=["true-class", "other-class"])
def test_multiclass_hinge_does_not_hide_nan(B, row):
    # both backends returned 0.0 for a NaN true-class score: TerminateOnNaN never saw it
    loss, cache = B.multiclass_hinge_forward(np.array([row, [0.1, 0.2, 0.3]]), np.array([0, 2]))
    assert np.isnan(loss)
    ds = B.multiclass_hinge_backward(cache)
    bad = _isnan(np.array(row))
    assert _isnan(ds[0, 0])                       # the true class reads every margin
    assert np.array_equal(_isnan(ds[0, 1:]), bad[1:] | bad[0])
    assert not _isnan(ds[1]).any()                # a clean row keeps its finite gradient


def test_ova_hinge_backward_nan_where_output_nan(B):
    _, cache = B.ova_hinge_forward(np.array([[0.1, nan, 0.2]]), np.array([0]))
    assert np.array_equal(_isnan(B.ova_hinge_backward(cache)[0]), [False, True, False])


@pytest.mark.parametrize("loss", ["mae", "mse", "huber", "binary_crossentropy", "kl_divergence",
                                  "categorical_crossentropy", "binary_crossentropy_with_logits"])
def test_elementwise_loss_gradients_nan_where_output_nan(B, loss):
    # mae: native gave 0 (reference NaN); bce, kl, cce: reference gave 0 (native NaN)
    y = np.array([[nan, 0.5, 0.2, 0.3]])
    t = np.array([[0.3, 0.5, 0.2, 0.0]])
    value, cache = getattr(B, f"{loss}_forward")(y, t)
    assert np.isnan(value)
    g = getattr(B, f"{loss}_backward")(cache)
    assert np.array_equal(_isnan(g), [[True, False, False, False]])


def test_clip_losses_still_zero_outside_the_clip_range(B):
    # the NaN rule must not change the clipped gradient of finite probabilities
    _, cache = B.binary_crossentropy_forward(np.array([[0.0, 1.0, 0.5]]), np.array([[1.0, 0.0, 1.0]]))
    with np.errstate(divide="ignore"):      # the reference evaluates the unused arm at p = 0 too
        g = B.binary_crossentropy_backward(cache)
    assert g[0, 0] == 0 and g[0, 1] == 0 and g[0, 2] != 0


def test_categorical_crossentropy_class_ids_nan_anywhere_in_the_row(B):
    # the class-id form read p[y] only (native 0.69 where the one-hot form gives NaN)
    out = np.array([[nan, 0.5, 0.2, 0.3]])
    loss, cache = B.categorical_crossentropy_forward(out, np.array([1]))
    assert np.isnan(loss)
    assert np.array_equal(_isnan(B.categorical_crossentropy_backward(cache)), [[True, False, False, False]])


def test_batchnorm_inference_dx_does_not_read_x(B, dtype):
    # inference dx = gamma * inv_std * dout: native put NaN where x was NaN (through xhat * 0)
    x = np.random.default_rng(4).standard_normal((4, 3)).astype(dtype)
    x[0, 0] = nan
    g, z = np.full(3, 2.0, dtype), np.zeros(3, dtype)
    _, cache = B.batchnorm_forward(x, g, z, z.copy(), np.ones(3, dtype), training=False)
    dout = np.ones_like(x)
    dx, dgamma, _ = B.batchnorm_backward(dout, cache)
    np.testing.assert_array_equal(dx, np.broadcast_to(g * cache.inv_std, x.shape))
    assert np.isnan(dgamma[0]) and not np.isnan(dgamma[1:]).any()   # dgamma reads xhat


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "step"])
def test_piecewise_activations_pass_nan(B, name, dtype):
    # relu(NaN) was 0 in both backends, hiding a NaN from every later layer
    x = np.array([[nan, -1.0, 0.0, 2.0]], dtype)
    out, cache = getattr(B, f"{name}_forward")(x)
    assert np.array_equal(_isnan(out), [[True, False, False, False]])
    if name != "step":
        dx = getattr(B, f"{name}_backward")(np.ones_like(x), cache)
        assert np.array_equal(_isnan(dx), [[True, False, False, False]])


def test_prelu_backward_passes_nan(B):
    x = np.array([[nan, -1.0, 2.0]])
    _, cache = B.prelu_forward(x, np.full(3, 0.25))
    dx, dalpha = B.prelu_backward(np.ones_like(x), cache)
    assert np.array_equal(_isnan(dx), [[True, False, False]])
    assert np.array_equal(_isnan(dalpha), [True, False, False])
