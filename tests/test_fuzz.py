"""Differential fuzz: the native kernels against the reference, over shapes, strides, padding, dilation,
dtypes, non-contiguous and negatively strided views, NaN and inf, and hostile caches.

Each example runs one kernel (forward, then backward on its own cache) in both backends; either both
return results that agree to the dtype's tolerance (NaN where the other has NaN), or both raise the
same exception with the same message.

The default budget is small (NNC_FUZZ_EXAMPLES=8 examples per test, a few seconds in all) and the
examples are derandomized, so CI sees the same cases every run. To fuzz for real, raise the budget
and let hypothesis draw fresh cases (NNC_FUZZ_SEED picks the stream; "random" draws a new one):
    NNC_FUZZ_EXAMPLES=5000 NNC_FUZZ_SEED=random python -m pytest -q -p no:cacheprovider tests/test_fuzz.py
and under the sanitizers: NNC_FUZZ_EXAMPLES=500 bash tools/sanitize.sh tests/test_fuzz.py
"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from nnc import backend
from nnc.backend.caches import LossCache

pytestmark = pytest.mark.skipif(not backend.native_available(), reason="compares native with reference")

EXAMPLES = int(os.environ.get("NNC_FUZZ_EXAMPLES", "8"))
_SEED = os.environ.get("NNC_FUZZ_SEED", "")
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not _SEED, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def fuzz(test):
    test = FUZZ(test)
    if _SEED and _SEED != "random":
        test = seed(int(_SEED))(test)
    return test


TOL = {np.dtype(np.float32): dict(rtol=2e-3, atol=2e-4), np.dtype(np.float64): dict(rtol=1e-9, atol=1e-11)}
dtypes = st.sampled_from([np.float32, np.float64])


def _run(call):
    """(kind, payload): ("ok", results) or ("err", (type, message))."""
    try:
        out = call()
    except (ValueError, TypeError) as e:
        return "err", (type(e), str(e))
    return "ok", out if isinstance(out, tuple) else (out,)


def differential(call, dtype):
    """call(B) on both backends: the same outcome, results close to dtype's tolerance (NaN patterns equal)."""
    got = {}
    for name in ("native", "reference"):
        with backend.using(name) as B, np.errstate(all="ignore"):
            got[name] = _run(lambda: call(B))
    (kn, n), (kr, r) = got["native"], got["reference"]
    assert kn == kr, f"native {kn} {n if kn == 'err' else ''} vs reference {kr} {r if kr == 'err' else ''}"
    if kn == "err":
        assert n == r
        return
    for a, b in zip(n, r):
        if a is None or b is None or np.isscalar(a) and not isinstance(a, (float, np.floating)):
            assert a is None and b is None or a == b
            continue
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
        np.testing.assert_allclose(a, b, **TOL[np.dtype(dtype)])


@st.composite
def arrays(draw, shape, dtype, specials=True):
    """Seeded normal data of `shape`, with a few NaN/inf cells sometimes, and a layout: C-contiguous,
    a non-contiguous view (the kernels must refuse it alike), or a negatively strided copy."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    a = rng.standard_normal(shape).astype(dtype)
    if specials and a.size and draw(st.booleans()):
        for _ in range(draw(st.integers(1, 3))):
            a.flat[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    layout = draw(st.sampled_from(["c", "c", "c", "reversed_view", "reversed_copy", "strided"]))
    if layout == "reversed_view" and a.ndim and a.shape[-1] > 1:
        a = np.ascontiguousarray(a[..., ::-1])[..., ::-1]         # same values, negative last stride
    elif layout == "reversed_copy":
        a = np.ascontiguousarray(a[..., ::-1])
    elif layout == "strided" and a.ndim:
        wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype)
        wide[..., ::2] = a
        a = wide[..., ::2]                                        # every other element of a buffer
    return a


@fuzz
@given(st.data(), dtypes, st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 8),
       st.integers(1, 8), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3),
       st.integers(0, 2), st.integers(0, 2), st.integers(1, 2), st.integers(1, 2), st.booleans())
def test_conv2d(data, dtype, N, C, C_out, H, W, kh, kw, sh, sw, ph, pw, dh, dw, use_bias):
    x = data.draw(arrays((N, C, H, W), dtype))
    Wt = data.draw(arrays((C_out, C, kh, kw), dtype, specials=False))
    b = np.random.default_rng(0).standard_normal(C_out).astype(dtype) if use_bias else None
    dout_seed = data.draw(st.integers(0, 1000))

    def call(B):
        out, cache = B.conv2d_forward(x, Wt, b, stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw))
        dout = np.random.default_rng(dout_seed).standard_normal(out.shape).astype(dtype)
        return (out,) + tuple(B.conv2d_backward(dout, cache))
    differential(call, dtype)


@fuzz
@given(st.data(), dtypes, st.sampled_from(["max", "avg", "global"]), st.integers(1, 3), st.integers(1, 3),
       st.integers(1, 9), st.integers(1, 9), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4),
       st.integers(1, 4), st.integers(0, 2), st.integers(0, 2))
def test_pooling(data, dtype, kind, N, C, H, W, kh, kw, sh, sw, ph, pw):
    x = data.draw(arrays((N, C, H, W), dtype))

    def call(B):
        if kind == "global":
            out, cache = B.global_avgpool2d_forward(x)
        else:
            out, cache = getattr(B, f"{kind}pool2d_forward")(x, (kh, kw), (sh, sw), (ph, pw))
        dout = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
        return out, getattr(B, f"{'global_avg' if kind == 'global' else kind}pool2d_backward")(dout, cache)
    differential(call, dtype)


@fuzz
@given(st.data(), dtypes, st.integers(1, 6), st.integers(1, 6), st.integers(1, 6), st.booleans(), st.booleans())
def test_dense(data, dtype, N, D, M, use_bias, need_dx):
    x = data.draw(arrays((N, D), dtype))
    Wt = data.draw(arrays((D, M), dtype, specials=False))
    b = np.ones(M, dtype) if use_bias else None

    def call(B):
        out, cache = B.dense_forward(x, Wt, b)
        return (out,) + tuple(B.dense_backward(np.ones_like(out), cache, need_dx=need_dx))
    differential(call, dtype)


ACTS = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "gelu_tanh", "swish",
        "softplus", "softsign", "softmax", "prelu", "step"]


@fuzz
@given(st.data(), dtypes, st.sampled_from(ACTS), st.lists(st.integers(1, 5), min_size=2, max_size=4))
def test_activations(data, dtype, name, shape):
    x = data.draw(arrays(tuple(shape), dtype)) * dtype(3)
    if name == "softmax":   # inf - inf inside softmax is NaN in both; the fuzz wants finite rows here
        x = np.nan_to_num(x, posinf=50, neginf=-50)
    args = (np.full(x.shape[1:], 0.2, dtype),) if name == "prelu" else ()

    def call(B):
        out, cache = getattr(B, f"{name}_forward")(x, *args)
        if name == "step":
            return (out,)
        dx = getattr(B, f"{name}_backward")(np.ones_like(out), cache)
        return (out,) + (dx if isinstance(dx, tuple) else (dx,))
    differential(call, dtype)


ELEM = ["mse", "mae", "huber", "binary_crossentropy", "binary_crossentropy_with_logits", "kl_divergence",
        "categorical_crossentropy"]
CLASS = ["softmax_cross_entropy", "categorical_crossentropy", "multiclass_hinge", "ova_hinge"]


@fuzz
@given(st.data(), dtypes, st.sampled_from(ELEM + CLASS), st.integers(1, 5), st.integers(2, 6), st.booleans())
def test_losses(data, dtype, name, N, K, ids):
    out = data.draw(arrays((N, K), dtype))
    probs = name in ("binary_crossentropy", "kl_divergence", "categorical_crossentropy")
    if probs:
        out = 1 / (1 + np.exp(-out))       # probabilities, NaN stays NaN
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    if name in CLASS and (ids or name in ("multiclass_hinge", "ova_hinge")):
        target = rng.integers(0, K, N)
    else:
        target = rng.random((N, K)).astype(dtype)

    def call(B):
        value, cache = getattr(B, f"{name}_forward")(out, target)
        return np.float64(value), getattr(B, f"{name}_backward")(cache)
    differential(call, dtype)


@fuzz
@given(st.data(), dtypes, st.integers(2, 5), st.integers(1, 4), st.sampled_from([(), (3, 2), (1, 1)]),
       st.booleans())
def test_batchnorm(data, dtype, N, C, spatial, training):
    x = data.draw(arrays((N, C) + spatial, dtype))
    g = np.linspace(0.5, 2, C).astype(dtype)
    z = np.zeros(C, dtype)

    def call(B):
        out, cache = B.batchnorm_forward(x, g, z, z.copy(), np.ones(C, dtype), training=training)
        return (out,) + tuple(B.batchnorm_backward(np.ones_like(x), cache))
    differential(call, dtype)


# ---- hostile caches: a valid cache with one field replaced ---------------------------------------------

def _mutants(rng, a):
    """Replacements for an array field: another size, another rank, another dtype, a NaN, a scalar."""
    if not isinstance(a, np.ndarray):
        return [None, -1, 0, 2**31, "x", (1, 2, 3), np.nan]
    out = [a.reshape(-1), a[..., :1].copy() if a.ndim else a, np.concatenate([a.reshape(-1)] * 2),
           a.astype(np.float32 if a.dtype != np.float32 else np.float64), np.ones(1, a.dtype), None]
    if a.dtype.kind in "iu":
        out += [np.full_like(a, 10**9), np.full_like(a, -1), a.astype(np.int32)]
    if a.ndim >= 2:
        out.append(np.ascontiguousarray(a.swapaxes(0, 1)))
    return out


def _forward_cases(B, rng, dtype):
    x4 = rng.standard_normal((2, 3, 6, 5)).astype(dtype)
    x2 = rng.standard_normal((4, 3)).astype(dtype)
    labels = rng.integers(0, 3, 4)
    return {
        "dense": lambda: B.dense_forward(x2, rng.standard_normal((3, 2)).astype(dtype), None),
        "conv2d": lambda: B.conv2d_forward(x4, rng.standard_normal((2, 3, 3, 2)).astype(dtype), None, 1, 1, 1),
        "maxpool2d": lambda: B.maxpool2d_forward(x4, 2),
        "avgpool2d": lambda: B.avgpool2d_forward(x4, (3, 2), 1, 1),
        "global_avgpool2d": lambda: B.global_avgpool2d_forward(x4),
        "sigmoid": lambda: B.sigmoid_forward(x2),
        "leaky_relu": lambda: B.leaky_relu_forward(x2),
        "prelu": lambda: B.prelu_forward(x2, np.full(3, 0.1, dtype)),
        "softmax": lambda: B.softmax_forward(x4, axis=1),
        "batchnorm": lambda: B.batchnorm_forward(x4, np.ones(3, dtype), np.zeros(3, dtype), np.zeros(3, dtype),
                                                 np.ones(3, dtype)),
        "dropout": lambda: B.dropout_forward(x2, 0.5, np.random.default_rng(0)),
        "spatial_dropout2d": lambda: B.spatial_dropout2d_forward(x4, 0.5, np.random.default_rng(0)),
        "mse": lambda: B.mse_forward(x2, x2 * 0.5),
        "softmax_cross_entropy": lambda: B.softmax_cross_entropy_forward(x2, labels),
        "categorical_crossentropy": lambda: B.categorical_crossentropy_forward(np.abs(x2) / 4, labels),
        "multiclass_hinge": lambda: B.multiclass_hinge_forward(x2, labels),
        "ova_hinge": lambda: B.ova_hinge_forward(x2, labels),
    }


KERNELS = list(_forward_cases(backend.reference, np.random.default_rng(0), np.float64))


@fuzz
@given(st.sampled_from(KERNELS), dtypes, st.integers(0, 40), st.integers(0, 10), st.integers(0, 2**32 - 1))
def test_hostile_caches(kernel, dtype, field_pick, mutant_pick, data_seed):
    """Whatever replaces one field of a valid cache, both backends do the same: the same clean error
    (usually), or results that agree. Never a crash (the sanitizer run drives this one hard)."""
    def call(B):
        rng = np.random.default_rng(data_seed)
        out, cache = _forward_cases(B, rng, dtype)[kernel]()
        fields = [f for f in cache._fields if f not in ("loss", "use_bias", "training", "spatial")]
        field = fields[field_pick % len(fields)]
        mutants = _mutants(rng, getattr(cache, field))
        cache = cache._replace(**{field: mutants[mutant_pick % len(mutants)]})
        if isinstance(cache, LossCache):
            return getattr(B, f"{kernel}_backward")(cache)
        return getattr(B, f"{kernel}_backward")(np.ones_like(out), cache)
    differential(call, dtype)
