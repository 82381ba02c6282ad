"""Loss kernels (both backends) and loss objects."""

import numpy as np
import pytest
from scipy import special

import nnc
from nnc import losses as L
from nnc.gradcheck import numerical_gradient, relative_error
from conftest import assert_close


def probs(rng, shape, dtype):
    """Rows of probabilities well inside (0, 1), so no clipping happens."""
    e = np.exp(rng.standard_normal(shape))
    return (e / e.sum(axis=-1, keepdims=True)).astype(dtype)


def make(name, rng, N, K, dtype, labels=False):
    """(output, target, extra args) of a valid call of `name`_forward on a batch of N."""
    if name in ("mse", "mae"):
        return rng.standard_normal((N, K)).astype(dtype), rng.standard_normal((N, K)).astype(dtype), ()
    if name == "huber":
        return (2 * rng.standard_normal((N, K))).astype(dtype), rng.standard_normal((N, K)).astype(dtype), (0.7,)
    if name == "binary_crossentropy":
        return rng.uniform(0.05, 0.95, (N, K)).astype(dtype), rng.uniform(0, 1, (N, K)).astype(dtype), ()
    if name == "binary_crossentropy_with_logits":
        return (3 * rng.standard_normal((N, K))).astype(dtype), rng.integers(0, 2, (N, K)).astype(dtype), ()
    if name == "kl_divergence":
        return probs(rng, (N, K), dtype), probs(rng, (N, K), dtype), ()
    ids = rng.integers(0, K, N)
    if name == "softmax_cross_entropy":
        out = (3 * rng.standard_normal((N, K))).astype(dtype)
        return out, (ids if labels else probs(rng, (N, K), dtype)), ()
    if name == "categorical_crossentropy":
        return probs(rng, (N, K), dtype), (ids if labels else probs(rng, (N, K), dtype)), ()
    if name == "multiclass_hinge":
        return (2 * rng.standard_normal((N, K))).astype(dtype), ids, (0.9,)
    if name == "ova_hinge":
        return (2 * rng.standard_normal((N, K))).astype(dtype), ids, ()
    raise KeyError(name)


CASES = [("mse", False), ("mae", False), ("huber", False), ("binary_crossentropy", False),
         ("binary_crossentropy_with_logits", False), ("kl_divergence", False), ("softmax_cross_entropy", False),
         ("softmax_cross_entropy", True), ("categorical_crossentropy", False), ("categorical_crossentropy", True),
         ("multiclass_hinge", True), ("ova_hinge", True)]
IDS = [f"{n}{'-ids' if lab else ''}" for n, lab in CASES]


def fwd(B, name, output, target, *args):
    return getattr(B, f"{name}_forward")(output, target, *args)


@pytest.mark.parametrize("N,K", [(1, 5), (7, 3), (13, 11)])
@pytest.mark.parametrize("name,labels", CASES, ids=IDS)
def test_native_matches_reference(native, reference, name, labels, N, K, dtype, rng):
    out, target, args = make(name, rng, N, K, dtype, labels)
    ln, cn = fwd(native, name, out, target, *args)
    lr, cr = fwd(reference, name, out, target, *args)
    assert isinstance(ln, float) and isinstance(lr, float)
    np.testing.assert_allclose(ln, lr, rtol=1e-5 if dtype == np.float32 else 1e-12)
    gn, gr = getattr(native, f"{name}_backward")(cn), getattr(reference, f"{name}_backward")(cr)
    assert gn.dtype == gr.dtype == dtype and gn.shape == out.shape
    assert_close(gn, gr, dtype)


@pytest.mark.parametrize("name", ["mse", "mae", "huber", "binary_crossentropy", "binary_crossentropy_with_logits",
                                  "kl_divergence"])
def test_elementwise_losses_any_rank(native, reference, name, rng):
    out, target, args = make(name, rng, 2, 60, np.float64)
    out, target = out.reshape(2, 3, 4, 5), target.reshape(2, 3, 4, 5)
    (ln, cn), (lr, cr) = fwd(native, name, out, target, *args), fwd(reference, name, out, target, *args)
    np.testing.assert_allclose(ln, lr, rtol=1e-12)
    assert_close(getattr(native, f"{name}_backward")(cn), getattr(reference, f"{name}_backward")(cr))


@pytest.mark.parametrize("name,labels", CASES, ids=IDS)
def test_gradcheck(B, name, labels, rng):
    out, target, args = make(name, rng, 4, 5, np.float64, labels)
    if name in ("mae", "huber"):       # keep |r| away from 0 (mae) and from delta (huber)
        target = out - rng.choice([-1, 1], out.shape) * rng.choice([0.2, 0.5, 1.5], out.shape)
    if name in ("multiclass_hinge", "ova_hinge"):    # margins away from their kinks
        out = np.round(out * 4) / 4 + 0.05
    _, cache = fwd(B, name, out, target, *args)
    grad = getattr(B, f"{name}_backward")(cache)
    num = numerical_gradient(lambda: fwd(B, name, out, target, *args)[0], out)
    # absolute floor: the finite-difference noise is ~1e-10, some softmax gradients are ~1e-6
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-9)
    assert relative_error(grad, num) < 1e-3


# ---- values against independent formulas ---------------------------------------------------------

def test_values_against_independent_formulas(B, rng):
    y, t = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    assert np.isclose(B.mse_forward(y, t)[0], ((y - t) ** 2).sum() / 15)
    assert np.isclose(B.mae_forward(y, t)[0], np.abs(y - t).sum() / 15)
    r = y - t
    huber = [0.5 * v * v if abs(v) <= 0.5 else 0.5 * abs(v) - 0.125 for v in r.ravel()]
    assert np.isclose(B.huber_forward(y, t, 0.5)[0], np.mean(huber))
    z, tb = rng.standard_normal((5, 3)), rng.uniform(0, 1, (5, 3))
    p = special.expit(z)
    bce = -(tb * np.log(p) + (1 - tb) * np.log(1 - p)).mean()
    assert np.isclose(B.binary_crossentropy_with_logits_forward(z, tb)[0], bce)
    assert np.isclose(B.binary_crossentropy_forward(p, tb)[0], bce)
    pk, tk = probs(rng, (5, 4), np.float64), probs(rng, (5, 4), np.float64)
    assert np.isclose(B.kl_divergence_forward(pk, tk)[0], special.rel_entr(tk, pk).sum() / 5)
    s, ids = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    # CS231n's vectorized SVM loss
    margins = np.maximum(0, s - s[np.arange(6), ids][:, None] + 1.0)
    margins[np.arange(6), ids] = 0
    assert np.isclose(B.multiclass_hinge_forward(s, ids)[0], margins.sum() / 6)
    sign = -np.ones((6, 4))
    sign[np.arange(6), ids] = 1
    assert np.isclose(B.ova_hinge_forward(s, ids)[0], np.maximum(0, 1 - sign * s).sum() / 6)


def test_softmax_cross_entropy_stable_for_huge_logits(B, dtype):
    z = np.array([[1e4, 0.0, -1e4], [1e4, 1e4 - 3, 5.0]], dtype)
    ids = np.array([1, 1])
    loss, cache = B.softmax_cross_entropy_forward(z, ids)
    # row 0: -log softmax = 1e4 + log(1 + e^-1e4 + e^-2e4) = 1e4 exactly in floating point;
    # row 1: 3 + log(1 + e^-3 + e^(5 - 1e4)) (logaddexp of the shifted logits).
    exact = (1e4 + (3 + np.logaddexp(0, -3))) / 2
    assert np.isfinite(loss) and np.isclose(loss, exact, rtol=1e-7)
    grad = B.softmax_cross_entropy_backward(cache)
    assert np.isfinite(grad).all()
    np.testing.assert_allclose(grad.sum(axis=1), 0, atol=1e-6)


def test_softmax_cross_entropy_consistency(B, dtype, rng):
    z = (2 * rng.standard_normal((9, 5))).astype(dtype)
    ids = rng.integers(0, 5, 9)
    onehot = np.eye(5, dtype=dtype)[ids]
    l_ids, c_ids = B.softmax_cross_entropy_forward(z, ids)
    l_hot, c_hot = B.softmax_cross_entropy_forward(z, onehot)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(l_ids, l_hot, rtol=tol)
    assert_close(B.softmax_cross_entropy_backward(c_ids), B.softmax_cross_entropy_backward(c_hot), dtype)
    p, _ = B.softmax_forward(z)
    np.testing.assert_allclose(B.categorical_crossentropy_forward(p, ids)[0], l_ids, rtol=tol * 10)
    for ids_typed in (ids.astype(np.int8), ids.astype(np.uint16), ids.astype(np.int32), ids.astype(np.float64)):
        np.testing.assert_allclose(B.softmax_cross_entropy_forward(z, ids_typed)[0], l_ids, rtol=tol)
    g = B.softmax_cross_entropy_backward(c_ids)
    assert_close(g, (p - onehot) / 9, dtype)


def test_thread_count_does_not_change_results(native, rng):
    z = rng.standard_normal((30011, 10)).astype(np.float32)     # above NNC_OMP_MIN
    ids = rng.integers(0, 10, 30011)
    t = rng.standard_normal(z.shape).astype(np.float32)
    results = []
    for n in (1, 2):
        with nnc.threads(n):
            l1, c1 = native.softmax_cross_entropy_forward(z, ids)
            l2, c2 = native.mse_forward(z, t)
            l3, c3 = native.multiclass_hinge_forward(z, ids)
            results.append((l1, l2, l3, native.softmax_cross_entropy_backward(c1), native.mse_backward(c2),
                            native.multiclass_hinge_backward(c3)))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


# ---- bad input -----------------------------------------------------------------------------------

def test_bad_input_raises(B):
    z, t = np.zeros((3, 4)), np.zeros((3, 4))
    with pytest.raises(ValueError, match="target must have shape"):
        B.mse_forward(z, np.zeros((3, 5)))
    with pytest.raises(TypeError, match="float32 or float64"):
        B.mse_forward(z.astype(np.int64), t)
    with pytest.raises(TypeError, match="dtype"):
        B.mae_forward(z, t.astype(np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        B.mse_forward(np.zeros((3, 8))[:, ::2], t)
    with pytest.raises(ValueError, match="empty"):
        B.mse_forward(np.zeros((0, 4)), np.zeros((0, 4)))
    with pytest.raises(ValueError, match="NaN"):
        B.mse_forward(z, np.full((3, 4), np.nan))
    with pytest.raises(ValueError, match="delta"):
        B.huber_forward(z, t, 0.0)
    with pytest.raises(ValueError, match="delta"):
        B.multiclass_hinge_forward(z, np.array([0, 1, 2]), -1.0)
    with pytest.raises(ValueError, match="delta"):
        B.huber_forward(z, t, float("inf"))
    ce = B.softmax_cross_entropy_forward
    with pytest.raises(ValueError, match="NaN"):
        ce(z, np.array([0, np.nan, 1]))
    with pytest.raises(ValueError, match="whole numbers"):
        ce(z, np.array([0, 1.5, 1]))
    with pytest.raises(ValueError, match="out of range"):
        ce(z, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match="out of range"):
        ce(z, np.array([0, -1, 1]))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        ce(z, np.array([0, 1]))
    with pytest.raises(TypeError, match="integer class ids"):
        ce(z, np.array([True, False, True]))
    with pytest.raises(ValueError, match="2-D"):
        ce(np.zeros(4), np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="empty"):
        ce(np.zeros((0, 4)), np.zeros(0, np.int64))
    with pytest.raises(ValueError, match="class ids"):
        B.ova_hinge_forward(z, t)
    with pytest.raises(ValueError, match="NaN"):
        B.categorical_crossentropy_forward(z, np.full((3, 4), np.inf))
    _, cache = B.mse_forward(z, t)
    with pytest.raises(ValueError, match="not from mae_forward"):
        B.mae_backward(cache)


# ---- loss objects --------------------------------------------------------------------------------

def test_get_names():
    for name, cls in [("mse", L.MeanSquaredError), ("mean_squared_error", L.MeanSquaredError),
                      ("mae", L.MeanAbsoluteError), ("huber", L.Huber), ("binary_crossentropy", L.BinaryCrossentropy),
                      ("categorical_crossentropy", L.CategoricalCrossentropy),
                      ("sparse_categorical_crossentropy", L.SparseCategoricalCrossentropy),
                      ("kl_divergence", L.KLDivergence), ("kld", L.KLDivergence),
                      ("softmax_cross_entropy", L.SoftmaxCrossEntropy), ("multiclass_hinge", L.MulticlassHinge),
                      ("ova_hinge", L.OneVsAllHinge)]:
        assert type(L.get(name)) is cls
    loss = L.Huber(0.3)
    assert L.get(loss) is loss
    again = L.get(L.serialize(loss))
    assert type(again) is L.Huber and again.delta == 0.3
    with pytest.raises(ValueError, match="unknown loss 'foo'"):
        L.get("foo")


def test_loss_objects_route_to_kernels(B, rng):
    z = rng.standard_normal((6, 4)).astype(np.float32)
    ids = rng.integers(0, 4, 6)
    onehot = np.eye(4)[ids]                         # float64 targets for a float32 output: converted
    p, _ = B.softmax_forward(z)
    expect_logits = B.softmax_cross_entropy_forward(z, ids)[0]
    for loss, output, target in [(L.SparseCategoricalCrossentropy(from_logits=True), z, ids),
                                 (L.SparseCategoricalCrossentropy(), p, ids.reshape(-1, 1)),
                                 (L.CategoricalCrossentropy(from_logits=True), z, onehot),
                                 (L.CategoricalCrossentropy(), p, onehot),
                                 (L.SoftmaxCrossEntropy(), z, ids)]:
        assert np.isclose(loss.forward(output, target), expect_logits, rtol=1e-5), loss
        grad = loss.backward()
        assert grad.shape == output.shape and grad.dtype == np.float32
    bce = L.BinaryCrossentropy(from_logits=True)
    logit = z[:, :1].copy()
    y01 = rng.integers(0, 2, 6)                       # (N,) int labels for an (N, 1) output
    expect = B.binary_crossentropy_with_logits_forward(logit, y01.reshape(6, 1).astype(np.float32))[0]
    assert np.isclose(bce.forward(logit, y01), expect)
    assert bce.backward().shape == (6, 1)
    assert np.isclose(L.MulticlassHinge(0.5).forward(z, ids), B.multiclass_hinge_forward(z, ids, 0.5)[0])
    with pytest.raises(RuntimeError, match="before forward"):
        L.MeanSquaredError().backward()
