"""axpy, the in-place update the optimizers use: y += alpha * x."""
import numpy as np
import pytest

import nnc

from conftest import assert_close


@pytest.mark.parametrize("shape", [(1,), (7, 3), (2, 3, 5, 4), (40000,)])
def test_native_matches_reference_and_updates_in_place(native, reference, rng, dtype, shape):
    x = rng.standard_normal(shape).astype(dtype)
    y0 = rng.standard_normal(shape).astype(dtype)
    y_n, y_r = y0.copy(), y0.copy()
    assert native.axpy(-0.37, x, y_n) is y_n
    reference.axpy(-0.37, x, y_r)
    assert_close(y_n, y_r)
    np.testing.assert_allclose(y_r, y0.astype(np.float64) - 0.37 * x, rtol=1e-6 if dtype == np.float32 else 1e-15)


def test_thread_count_does_not_change_results(native, rng):
    x = rng.standard_normal(300_007).astype(np.float32)
    y = rng.standard_normal(300_007).astype(np.float32)
    out = []
    for n in (1, 2):
        with nnc.threads(n):
            out.append(native.axpy(0.5, x, y.copy()))
    np.testing.assert_array_equal(*out)


def test_bad_input(B, rng):
    x = rng.standard_normal((3, 4))
    y = np.zeros((3, 4))
    with pytest.raises(ValueError, match="alpha must be a finite number"):
        B.axpy(np.nan, x, y)
    with pytest.raises(ValueError, match=r"y must have shape \(3, 4\)"):
        B.axpy(1.0, x, np.zeros((4, 3)))
    with pytest.raises(TypeError, match="y has dtype float32"):
        B.axpy(1.0, x, y.astype(np.float32))
    y.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        B.axpy(1.0, x, y)
    with pytest.raises(ValueError, match="C-contiguous"):
        B.axpy(1.0, x.T, np.zeros((4, 3)))


def test_overlapping_operands_read_x_before_y_changes(B, rng):
    """x and y views of one buffer, one element apart: every y[i] gets alpha * the ORIGINAL x[i] (as in
    numpy's y += alpha * x, which buffers overlapping operands)."""
    buf = rng.standard_normal(40_001)
    want = buf[1:] + 0.5 * buf[:-1]
    got = B.axpy(0.5, buf[:-1], buf[1:])
    np.testing.assert_allclose(got, want, rtol=1e-15)
    same = rng.standard_normal(5)
    doubled = 2 * same
    np.testing.assert_allclose(B.axpy(1.0, same, same), doubled, rtol=1e-15)


# ---- the optimizer update kernels ----------------------------------------------------------------
# rule name -> (state slot names, hyperparameters). Values away from the defaults, so that a swapped
# or ignored hyperparameter shows.
RULES = {
    "sgd_momentum_update": (("velocity",), dict(lr=0.07, momentum=0.85)),
    "sgd_nesterov": (("velocity",), dict(lr=0.07, momentum=0.85, nesterov=True)),
    "adam_update": (("m", "v"), dict(lr=0.01, beta_1=0.8, beta_2=0.95, epsilon=1e-6)),
    "adamw": (("m", "v"), dict(lr=0.01, beta_1=0.8, beta_2=0.95, epsilon=1e-6, weight_decay=0.3)),
    "rmsprop_update": (("mean_square",), dict(lr=0.01, rho=0.8, epsilon=1e-5)),
    "adagrad_update": (("accumulator",), dict(lr=0.05, epsilon=1e-6)),
    "adadelta_update": (("mean_square_grad", "mean_square_delta"), dict(lr=0.9, rho=0.7, epsilon=1e-4)),
}
KERNEL = {"sgd_nesterov": "sgd_momentum_update", "adamw": "adam_update"}


def run_rule(B, rule, param, grads):
    """Apply the rule's kernel of backend B for each gradient in turn; returns (param, state)."""
    slots, h = RULES[rule]
    state = {s: np.zeros_like(param) for s in slots}
    kernel = getattr(B, KERNEL.get(rule, rule))
    for t, g in enumerate(grads, start=1):
        extra = {"t": t} if "beta_1" in h else {}
        assert kernel(param, g, *state.values(), **h, **extra) is param
    return param, state


def by_the_paper(rule, theta, grads):
    """The update equations in float64, written out independently of both backends."""
    _, h = RULES[rule]
    theta = theta.astype(np.float64)
    s1, s2 = np.zeros_like(theta), np.zeros_like(theta)
    lr, eps = h["lr"], h.get("epsilon")
    for t, g in enumerate(grads, start=1):
        g = g.astype(np.float64)
        if rule.startswith("sgd"):
            s1 = h["momentum"] * s1 - lr * g
            theta = theta + (h["momentum"] * s1 - lr * g if h.get("nesterov") else s1)
        elif rule in ("adam_update", "adamw"):
            theta = theta * (1 - lr * h.get("weight_decay", 0))
            s1 = h["beta_1"] * s1 + (1 - h["beta_1"]) * g
            s2 = h["beta_2"] * s2 + (1 - h["beta_2"]) * g ** 2
            theta = theta - lr * (s1 / (1 - h["beta_1"] ** t)) / (np.sqrt(s2 / (1 - h["beta_2"] ** t)) + eps)
        elif rule == "rmsprop_update":
            s1 = h["rho"] * s1 + (1 - h["rho"]) * g ** 2
            theta = theta - lr * g / (np.sqrt(s1) + eps)
        elif rule == "adagrad_update":
            s1 = s1 + g ** 2
            theta = theta - lr * g / (np.sqrt(s1) + eps)
        else:
            s1 = h["rho"] * s1 + (1 - h["rho"]) * g ** 2
            dx = -np.sqrt(s2 + eps) / np.sqrt(s1 + eps) * g
            s2 = h["rho"] * s2 + (1 - h["rho"]) * dx ** 2
            theta = theta + lr * dx
    return theta


def random_case(rng, dtype, steps=4):
    """A parameter of random shape (a few elements to more than one OpenMP chunk) and its gradients."""
    shape = tuple(int(d) for d in rng.integers(1, 9, size=rng.integers(1, 4)))
    if rng.random() < 0.5:
        shape = (int(rng.integers(16_000, 70_000)),)
    theta = rng.standard_normal(shape).astype(dtype)
    return theta, [rng.standard_normal(shape).astype(dtype) for _ in range(steps)]


@pytest.mark.parametrize("rule", list(RULES))
def test_native_update_is_the_reference_to_the_bit(native, reference, rng, dtype, rule):
    """The native loops run the reference's operations in its order, without fused multiply-adds."""
    for _ in range(3):
        theta, grads = random_case(rng, dtype)
        p_n, s_n = run_rule(native, rule, theta.copy(), grads)
        p_r, s_r = run_rule(reference, rule, theta.copy(), grads)
        np.testing.assert_array_equal(p_n, p_r)
        for name in s_n:
            np.testing.assert_array_equal(s_n[name], s_r[name])


@pytest.mark.parametrize("rule", list(RULES))
def test_update_follows_the_papers_equations(B, rng, dtype, rule):
    theta, grads = random_case(rng, dtype)
    got, _ = run_rule(B, rule, theta.copy(), grads)
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(got, by_the_paper(rule, theta, grads), **tol)


@pytest.mark.parametrize("rule", ["adam_update", "rmsprop_update"])
def test_update_threads_give_identical_bits(native, rng, rule):
    theta = rng.standard_normal(300_007).astype(np.float32)
    grads = [rng.standard_normal(300_007).astype(np.float32) for _ in range(3)]
    results = []
    for n in (1, 2):
        with nnc.threads(n):
            results.append(run_rule(native, rule, theta.copy(), grads)[0])
    np.testing.assert_array_equal(*results)


def test_update_bad_input_changes_nothing(B, rng):
    p = rng.standard_normal((3, 4))
    g = rng.standard_normal((3, 4))
    m, v = np.zeros((3, 4)), np.zeros((3, 4))
    before = [a.copy() for a in (p, m, v)]
    hyper = dict(lr=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8, t=1)
    with pytest.raises(ValueError, match=r"m must have shape \(3, 4\)"):
        B.adam_update(p, g, np.zeros((4, 3)), v, **hyper)
    with pytest.raises(TypeError, match="v has dtype float32"):
        B.adam_update(p, g, m, v.astype(np.float32), **hyper)
    with pytest.raises(ValueError, match="v and m share memory"):
        B.adam_update(p, g, m, m, **hyper)
    with pytest.raises(ValueError, match="lr must be a finite number"):
        B.adam_update(p, g, m, v, **{**hyper, "lr": np.inf})
    m.flags.writeable = False
    with pytest.raises(ValueError, match="m is read-only"):
        B.adam_update(p, g, m, v, **hyper)
    for a, b in zip((p, m, v), before):
        np.testing.assert_array_equal(a, b)


def test_update_with_a_gradient_that_overlaps_the_parameter(B, rng):
    """grad a view of the parameter's own buffer: every element uses the gradient as it was."""
    buf = rng.standard_normal(40_001)
    want = buf[1:] - 0.1 * buf[:-1] / (np.sqrt(buf[:-1] ** 2) + 1e-6)
    got = B.adagrad_update(buf[1:], buf[:-1], np.zeros(40_000), lr=0.1, epsilon=1e-6)
    np.testing.assert_allclose(got, want, rtol=1e-13)


def test_update_of_an_empty_parameter(B):
    p = np.zeros((0, 3))
    assert B.rmsprop_update(p, np.zeros((0, 3)), np.zeros((0, 3)), lr=0.1, rho=0.9, epsilon=1e-7) is p


# PyTorch's optimizers, the same hyperparameters: nnc's optimizer classes, through the backend in use.
TORCH_CASES = [
    ("SGD", dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True), dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01), dict(lr=0.05, momentum=0.8, nesterov=True)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6), dict(lr=0.01, beta_1=0.8, beta_2=0.95, epsilon=1e-6)),
    ("AdamW", dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1),
     dict(lr=0.01, beta_1=0.8, beta_2=0.95, epsilon=1e-6, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, alpha=0.8, eps=1e-5), dict(lr=0.01, rho=0.8, epsilon=1e-5)),
    ("Adagrad", dict(lr=0.05, eps=1e-6, initial_accumulator_value=0.1),
     dict(lr=0.05, epsilon=1e-6, initial_accumulator_value=0.1)),
    ("Adadelta", dict(lr=0.9, rho=0.7, eps=1e-4), dict(lr=0.9, rho=0.7, epsilon=1e-4)),
]


@pytest.mark.parametrize("name, torch_kw, nnc_kw", TORCH_CASES,
                         ids=[f"{c[0]}-{'-'.join(c[1])}" for c in TORCH_CASES])
def test_optimizers_match_pytorch(B, rng, name, torch_kw, nnc_kw):
    torch = pytest.importorskip("torch")
    from nnc import optim

    class Holder:
        def __init__(self, params):
            self.name, self.trainable, self.params, self.grads = "p", True, params, {}

    shapes = {"W": (7, 5), "b": (5,)}
    start = {k: rng.standard_normal(s) for k, s in shapes.items()}
    grads = [{k: rng.standard_normal(s) for k, s in shapes.items()} for _ in range(6)]
    layer = Holder({k: v.copy() for k, v in start.items()})
    opt = getattr(optim, name)(**nnc_kw).bind([layer])
    tparams = {k: torch.tensor(v.copy(), dtype=torch.float64, requires_grad=True) for k, v in start.items()}
    topt = getattr(torch.optim, name)(list(tparams.values()), **torch_kw)
    wd = torch_kw.get("weight_decay", 0.0) if name == "SGD" else 0.0
    for g in grads:
        # torch's SGD weight_decay is an L2 term added to the gradient: nnc's L2 regularizer does that
        layer.grads = {k: g[k] + wd * layer.params[k] for k in shapes}
        opt.step()
        for k, t in tparams.items():
            t.grad = torch.tensor(g[k], dtype=torch.float64)
        topt.step()
    for k in shapes:
        np.testing.assert_allclose(layer.params[k], tparams[k].detach().numpy(), rtol=1e-10, atol=1e-12)
