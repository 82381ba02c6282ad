"""Activation kernels (both backends) and activation layers."""
import math

import numpy as np
import pytest
from scipy import special

import nnc
from nnc.gradcheck import numerical_gradient, relative_error
from nnc.layers import activations as A
from conftest import assert_close

# name -> extra positional hyperparameters of <name>_forward (beyond x)
ELEMENTWISE = {"identity": (), "sigmoid": (), "tanh": (), "relu": (), "leaky_relu": (0.1,), "elu": (0.7,),
               "selu": (), "gelu": (), "gelu_tanh": (), "swish": (), "silu": (), "softplus": (), "softsign": ()}
KINKED = {"relu", "leaky_relu", "elu", "selu"}        # gradient jumps at 0: keep test points away
SHAPES = [(1, 7), (5, 3), (2, 3, 5, 7)]


def away_from_zero(rng, shape, dtype=np.float64, margin=0.1):
    """Random points with |x| >= margin, so finite differences never straddle a kink."""
    x = rng.standard_normal(shape)
    return (np.sign(x) * (margin + np.abs(x))).astype(dtype)


def fwd(B, name, x, *args):
    return getattr(B, f"{name}_forward")(x, *args)


def bwd(B, name, dout, cache):
    return getattr(B, f"{name}_backward")(dout, cache)


# ---- native vs reference -------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", sorted(ELEMENTWISE) + ["step"])
def test_native_matches_reference(native, reference, name, shape, dtype, rng):
    x = (3 * rng.standard_normal(shape)).astype(dtype)
    args = ELEMENTWISE.get(name, ())
    out_n, cache_n = fwd(native, name, x, *args)
    out_r, cache_r = fwd(reference, name, x, *args)
    assert out_n.dtype == out_r.dtype == dtype and out_n.shape == shape
    assert_close(out_n, out_r, dtype)
    if name != "step":
        dout = rng.standard_normal(shape).astype(dtype)
        dx_n, dx_r = bwd(native, name, dout, cache_n), bwd(reference, name, dout, cache_r)
        assert dx_n.dtype == dtype
        assert_close(dx_n, dx_r, dtype)


@pytest.mark.parametrize("x_shape,alpha_shape", [((1, 5), (5,)), ((4, 3), (3,)), ((3, 4, 5, 6), (4, 1, 1)),
                                                 ((2, 3, 5, 7), (3, 5, 7)), ((2, 3, 5), (1, 5)), ((3, 4), ())])
def test_prelu_native_matches_reference(native, reference, x_shape, alpha_shape, dtype, rng):
    x = rng.standard_normal(x_shape).astype(dtype)
    alpha = rng.uniform(0.05, 0.5, alpha_shape).astype(dtype)
    out_n, cn = native.prelu_forward(x, alpha)
    out_r, cr = reference.prelu_forward(x, alpha)
    assert_close(out_n, out_r, dtype)
    dout = rng.standard_normal(x_shape).astype(dtype)
    (dx_n, da_n), (dx_r, da_r) = native.prelu_backward(dout, cn), reference.prelu_backward(dout, cr)
    assert da_n.shape == da_r.shape == alpha.shape and da_n.dtype == dtype
    assert_close(dx_n, dx_r, dtype)
    assert_close(da_n, da_r, dtype)


@pytest.mark.parametrize("shape,axis", [((1, 7), -1), ((5, 3), 1), ((5, 3), 0), ((2, 3, 5, 7), 1), ((2, 3, 4), -2)])
def test_softmax_native_matches_reference(native, reference, shape, axis, dtype, rng):
    x = (4 * rng.standard_normal(shape)).astype(dtype)
    out_n, cn = native.softmax_forward(x, axis)
    out_r, cr = reference.softmax_forward(x, axis)
    assert out_n.flags.c_contiguous
    assert_close(out_n, out_r, dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    assert_close(native.softmax_backward(dout, cn), reference.softmax_backward(dout, cr), dtype)


# ---- gradients -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_gradcheck(B, name, rng):
    # |x| in [0.2, 3]: away from the kinks at 0, and out of the far tails where a gradient
    # (gelu's ~1e-8 at x = -6) is smaller than the finite-difference noise.
    x = rng.choice([-1.0, 1.0], (3, 4)) * rng.uniform(0.2, 3, (3, 4))
    args = ELEMENTWISE[name]
    R = rng.standard_normal(x.shape)
    out, cache = fwd(B, name, x, *args)
    dx = bwd(B, name, R, cache)
    num = numerical_gradient(lambda: np.sum(fwd(B, name, x, *args)[0] * R), x)
    assert relative_error(dx, num) < 1e-6


@pytest.mark.parametrize("x_shape,alpha_shape", [((4, 5), (5,)), ((2, 3, 4, 3), (3, 1, 1))])
def test_prelu_gradcheck(B, x_shape, alpha_shape, rng):
    x = away_from_zero(rng, x_shape)
    alpha = rng.uniform(0.1, 0.4, alpha_shape)
    R = rng.standard_normal(x_shape)
    _, cache = B.prelu_forward(x, alpha)
    dx, dalpha = B.prelu_backward(R, cache)

    def f():
        return np.sum(B.prelu_forward(x, alpha)[0] * R)

    assert relative_error(dx, numerical_gradient(f, x)) < 1e-6
    assert relative_error(dalpha, numerical_gradient(f, alpha)) < 1e-6


@pytest.mark.parametrize("shape,axis", [((3, 5), -1), ((2, 3, 4), 1)])
def test_softmax_gradcheck(B, shape, axis, rng):
    x = rng.standard_normal(shape)
    R = rng.standard_normal(shape)
    _, cache = B.softmax_forward(x, axis)
    num = numerical_gradient(lambda: np.sum(B.softmax_forward(x, axis)[0] * R), x)
    assert relative_error(B.softmax_backward(R, cache), num) < 1e-6


# ---- invariants and independent formulas ---------------------------------------------------------

def test_softmax_rows_sum_to_one_and_shift_invariant(B, dtype, rng):
    x = (5 * rng.standard_normal((6, 9))).astype(dtype)
    out, _ = B.softmax_forward(x)
    np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-5 if dtype == np.float32 else 1e-12)
    shifted, _ = B.softmax_forward(x + dtype(100))
    assert_close(shifted, out, dtype, atol=1e-6)
    big, _ = B.softmax_forward(np.array([[1e4, 0, -1e4]], dtype))    # no overflow, no NaN
    np.testing.assert_array_equal(big, [[1, 0, 0]])


def test_against_independent_formulas(B, rng):
    x = 3 * rng.standard_normal((4, 6))
    flat = x.ravel()
    expect = {
        "sigmoid": special.expit(x),
        "gelu": np.array([v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in flat]).reshape(x.shape),
        # Klambauer et al. 2017, eq. (14): the constants as printed in the paper
        "selu": 1.0507009873554804934 * np.where(x > 0, x, 1.6732632423543772848 * (np.exp(x) - 1)),
        "softplus": np.logaddexp(0, x),
        "swish": x * special.expit(x),
        "softsign": x / (1 + np.abs(x)),
        "tanh": np.array([math.tanh(v) for v in flat]).reshape(x.shape),
        "elu": np.where(x > 0, x, 0.7 * (np.exp(x) - 1)),
        "leaky_relu": np.where(x > 0, x, 0.1 * x),
        # Hendrycks & Gimpel 2016, section 2: the tanh approximation as printed
        "gelu_tanh": np.array([0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v**3)))
                               for v in flat]).reshape(x.shape),
    }
    for name, want in expect.items():
        got, _ = fwd(B, name, x, *ELEMENTWISE[name])
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14, err_msg=name)
    step, _ = B.step_forward(np.array([-1e-30, 0.0, -0.0, 2.0]))
    np.testing.assert_array_equal(step, [0, 1, 1, 1])          # step(0) = 1


def test_stable_for_large_inputs(B, dtype):
    x = np.array([[-1e4, -800.0, 0.0, 800.0, 1e4]], dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):   # the reference must not overflow
        s, _ = B.sigmoid_forward(x)
        sp, _ = B.softplus_forward(x)
        sw, _ = B.swish_forward(x)
        gt, _ = B.gelu_tanh_forward(x)
    np.testing.assert_array_equal(s, np.array([[0, 0, 0.5, 1, 1]], dtype))
    np.testing.assert_array_equal(sp[0, [0, 1, 3, 4]], np.array([0, 0, 800, 1e4], dtype))
    assert np.isfinite(sw).all() and sw[0, 0] == 0
    np.testing.assert_array_equal(gt, np.array([[0, 0, 0, 800, 1e4]], dtype))


@pytest.mark.parametrize("name,args", [("relu", ()), ("gelu", ()), ("elu", (1.0,)), ("softmax", ()), ("prelu", None)])
def test_thread_count_does_not_change_results(native, name, args, rng):
    x = rng.standard_normal((700, 3, 23, 23)).astype(np.float32)       # 1.1M elements: above NNC_OMP_MIN_STREAM
    dout = rng.standard_normal(x.shape).astype(np.float32)
    if name == "prelu":
        args = (rng.uniform(0.1, 0.3, (3, 1, 1)).astype(np.float32),)
    results = []
    for n in (1, 2):
        with nnc.threads(n):
            out, cache = fwd(native, name, x, *args)
            results.append((out, bwd(native, name, dout, cache)))
    (o1, g1), (o2, g2) = results
    np.testing.assert_array_equal(o1, o2)
    for a, b in zip(g1 if name == "prelu" else [g1], g2 if name == "prelu" else [g2]):
        np.testing.assert_array_equal(a, b)


# ---- float32 accuracy of the vectorized math (csrc/nnc_math.h) ------------------------------------

def _float32_sweep():
    """A dense sweep of [-100, 100] plus tiny, denormal and boundary values, as float32."""
    tiny = np.array([1e-45, 1e-40, 1e-38, 1e-30, 1e-10, 1e-7, 3e-4, 0.1, 0.3465, 0.35, 0.5, 0.693, 10, 16, 17,
                     20, 30, 87.3, 88.72, 88.8, 89, 103.9, 104], np.float64)
    return np.concatenate([np.linspace(-100, 100, 400001), tiny, -tiny, [0.0, -0.0]]).astype(np.float32)


# name -> float64 formula on the float32 inputs (the "true" value the float32 result is held to)
FLOAT64_FORMULAS = {
    "sigmoid": special.expit,
    "tanh": np.tanh,
    "elu": lambda x: np.where(x > 0, x, 0.7 * np.expm1(x)),
    "selu": lambda x: 1.0507009873554804934 * np.where(x > 0, x, 1.6732632423543772848 * np.expm1(x)),
    "swish": lambda x: x * special.expit(x),
    "softplus": lambda x: np.logaddexp(0, x),
    # x Phi(x) with the tail of Phi from erfc, so the float64 value itself is accurate for x << 0
    "gelu": lambda x: x * np.where(x < 0, 0.5 * special.erfc(-x / np.sqrt(2)), 1 - 0.5 * special.erfc(x / np.sqrt(2))),
    # 0.5 (1 + tanh u) = sigmoid(2u): the form that keeps the left tail
    "gelu_tanh": lambda x: x * special.expit(2 * np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)),
}
# gelu_tanh: 2u reaches -85 before the result underflows, and rounding it in float (85 ulp, 1e-5
# relative) carries into e^(2u): the error is the argument's, not the exponential's.
FLOAT32_RTOL = {"gelu_tanh": 2e-5}


@pytest.mark.parametrize("name", sorted(FLOAT64_FORMULAS))
def test_float32_accuracy_against_float64(native, name):
    """Within a few ulp of the float64 value everywhere: relative error <= 1e-6, plus an absolute
    2e-43 for results at or near the denormal range (a denormal has fewer significant bits; swish
    multiplies a denormal sigmoid by |x| up to 100, which scales its quantum 1.4e-45 by 100)."""
    x = _float32_sweep()
    got, _ = fwd(native, name, x, *ELEMENTWISE[name])
    with np.errstate(over="ignore", under="ignore"):
        want = FLOAT64_FORMULAS[name](x.astype(np.float64))
    np.testing.assert_allclose(got, want, rtol=FLOAT32_RTOL.get(name, 1e-6), atol=2e-43, err_msg=name)


def test_gelu_float32_gradient_accuracy(native):
    """GELU's float32 derivative Phi(x) + x phi(x) against float64: within 3e-7 absolute everywhere
    (it crosses zero near x = -0.75, where only an absolute bound means anything) and within 2e-6
    relative below x = -1, down to the denormals, where Phi and phi are both tiny and 1 + erf would
    have cancelled."""
    x = _float32_sweep()
    x = x[np.abs(x) <= 20]
    _, cache = native.gelu_forward(x)
    got = native.gelu_backward(np.ones_like(x), cache).astype(np.float64)
    x64 = x.astype(np.float64)
    with np.errstate(under="ignore"):
        Phi = np.where(x64 < 0, 0.5 * special.erfc(-x64 / np.sqrt(2)), 1 - 0.5 * special.erfc(x64 / np.sqrt(2)))
        want = Phi + x64 * np.exp(-0.5 * x64 * x64) / np.sqrt(2 * np.pi)
    np.testing.assert_allclose(got, want, rtol=0, atol=3e-7)
    tail = x < -1
    np.testing.assert_allclose(got[tail], want[tail], rtol=2e-6, atol=2e-43)


@pytest.mark.parametrize("name", sorted(FLOAT64_FORMULAS))
def test_special_values(native, name, dtype):
    """inf, -inf and NaN in give the limits and NaN out (no fast-math: the select-based math keeps them)."""
    x = np.array([np.inf, -np.inf, np.nan, 1e-45, -1e-45], dtype)
    got, _ = fwd(native, name, x, *ELEMENTWISE[name])
    limits = {"sigmoid": (1, 0), "tanh": (1, -1), "elu": (np.inf, -0.7), "selu": (np.inf, -1.0507009873554805 *
              1.6732632423543772), "swish": (np.inf, np.nan), "softplus": (np.inf, 0),
              "gelu": (np.inf, np.nan), "gelu_tanh": (np.inf, np.nan)}[name]
    np.testing.assert_allclose(got[:2], np.array(limits, dtype), rtol=1e-6)
    assert np.isnan(got[2])
    assert np.isfinite(got[3:]).all()


# ---- bad input -----------------------------------------------------------------------------------

def test_bad_input_raises(B):
    x = np.ones((3, 4))
    with pytest.raises(TypeError, match="relu_forward: x must be float32 or float64"):
        B.relu_forward(np.ones((3, 4), np.int32))
    with pytest.raises(ValueError, match="C-contiguous"):
        B.sigmoid_forward(np.ones((4, 6))[:, ::2])
    with pytest.raises(ValueError, match="empty"):
        B.tanh_forward(np.ones((0, 4)))
    with pytest.raises(ValueError, match="alpha"):
        B.leaky_relu_forward(x, -0.1)
    with pytest.raises(ValueError, match="alpha"):
        B.elu_forward(x, 0.0)
    with pytest.raises(ValueError, match="alpha"):
        B.elu_forward(x, float("nan"))
    with pytest.raises(ValueError, match="axis"):
        B.softmax_forward(x, 2)
    with pytest.raises(ValueError, match="does not broadcast"):
        B.prelu_forward(x, np.ones(3))
    with pytest.raises(ValueError, match="at least 2-D"):
        B.prelu_forward(np.ones(4), np.ones(4))
    with pytest.raises(TypeError, match="dtype"):
        B.prelu_forward(x, np.ones(4, np.float32))
    _, cache = B.relu_forward(x)
    with pytest.raises(ValueError, match="dout"):
        B.relu_backward(np.ones((3, 5)), cache)
    with pytest.raises(TypeError, match="dout"):
        B.relu_backward(np.ones((3, 4), np.float32), cache)
    _, cache = B.step_forward(x)
    with pytest.raises(RuntimeError, match="zero gradient"):
        B.step_backward(x, cache)


# ---- layers --------------------------------------------------------------------------------------

LAYERS = [(A.ReLU(), "relu", ()), (A.Sigmoid(), "sigmoid", ()), (A.Tanh(), "tanh", ()),
          (A.LeakyReLU(0.2), "leaky_relu", (0.2,)), (A.ELU(0.5), "elu", (0.5,)), (A.SELU(), "selu", ()),
          (A.GELU(), "gelu", ()), (A.GELU(approximate="tanh"), "gelu_tanh", ()),
          (A.Activation("gelu_tanh"), "gelu_tanh", ()), (A.SiLU(), "swish", ()), (A.Softplus(), "softplus", ()),
          (A.Softsign(), "softsign", ()), (A.Softmax(axis=1), "softmax", (1,)), (A.Identity(), "identity", ()),
          (A.Activation("tanh"), "tanh", ())]


@pytest.mark.parametrize("layer,name,args", LAYERS, ids=[type(lyr[0]).__name__ + "-" + lyr[1] for lyr in LAYERS])
def test_layer_calls_the_active_backend(B, layer, name, args, rng):
    x = rng.standard_normal((3, 5))
    out = layer.forward(x)
    np.testing.assert_array_equal(out, fwd(B, name, x, *args)[0])
    dout = rng.standard_normal(x.shape)
    np.testing.assert_array_equal(layer.backward(dout), bwd(B, name, dout, fwd(B, name, x, *args)[1]))
    again = type(layer).from_config(layer.get_config())
    np.testing.assert_array_equal(again.forward(x), out)


@pytest.mark.parametrize("x_shape,shared,alpha_shape", [((4, 6), None, (6,)), ((2, 3, 5, 4), (2, 3), (3, 1, 1))])
def test_prelu_layer(B, x_shape, shared, alpha_shape, rng):
    from nnc.gradcheck import gradcheck
    layer = A.PReLU(shared_axes=shared)
    x = away_from_zero(rng, x_shape)
    layer.forward(x)
    assert layer.params["alpha"].shape == alpha_shape and np.all(layer.params["alpha"] == 0.25)
    report = gradcheck(layer, x)
    assert report.ok, str(report)
    assert A.PReLU.from_config(layer.get_config()).shared_axes == layer.shared_axes


def test_get():
    assert isinstance(A.get("relu"), A.ReLU) and A.get("relu") is not A.get("relu")
    assert isinstance(A.get("SiLU"), A.Swish) and isinstance(A.get("swish"), A.Swish)
    assert A.get("linear") is None and A.get(None) is None
    for name in ["sigmoid", "tanh", "softmax", "leaky_relu", "elu", "selu", "gelu", "softplus", "softsign", "step"]:
        assert A.get(name).kernel == name
    assert A.get("gelu_tanh").approximate == "tanh" and A.get("gelu_tanh").kernel == "gelu_tanh"
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        A.GELU(approximate=True)
    layer = A.Tanh()
    assert A.get(layer) is layer
    with pytest.raises(ValueError, match=r"unknown activation 'foo' \(known: .*relu"):
        A.get("foo")
    with pytest.raises(ValueError, match="unknown activation"):
        A.Activation("foo")


def test_step_layer_forward_only():
    layer = A.Step()
    np.testing.assert_array_equal(layer.forward(np.array([[-2.0, 0.0, 3.0]])), [[0, 1, 1]])
    with pytest.raises(RuntimeError, match="zero gradient"):
        layer.backward(np.ones((1, 3)))
