"""Optimizers against their update equations written out by hand, clipping, schedules, state."""
import math

import numpy as np
import pytest

import nnc
from nnc import optim
from nnc.optim import schedules


class Holder:
    """The smallest thing an optimizer can bind to: a named object with params and grads."""

    def __init__(self, params, name="p"):
        self.name, self.trainable = name, True
        self.params = params
        self.grads = {k: np.zeros_like(v) for k, v in params.items()}


def run_two_steps(opt, dtype, rng):
    w0 = rng.standard_normal((3, 4))
    g1, g2 = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    layer = Holder({"W": w0.astype(dtype)})
    w = layer.params["W"]
    opt.bind([layer])
    for g in (g1, g2):
        layer.grads["W"] = g.astype(dtype)
        opt.step()
    assert layer.params["W"] is w, "the update must be in place"
    assert w.dtype == dtype
    return w0, g1, g2, w


def by_hand(name, w, grads, **h):
    """The update equations of the papers, in float64, step by step."""
    w = w.copy()
    s1, s2 = np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        if name == "sgd":
            w = w - h["lr"] * g
        elif name == "momentum":
            s1 = h["mu"] * s1 - h["lr"] * g
            w = w + s1
        elif name == "nesterov":
            s1 = h["mu"] * s1 - h["lr"] * g
            w = w + h["mu"] * s1 - h["lr"] * g
        elif name == "adagrad":
            s1 = s1 + g ** 2
            w = w - h["lr"] * g / (np.sqrt(s1) + h["eps"])
        elif name == "rmsprop":
            s1 = h["rho"] * s1 + (1 - h["rho"]) * g ** 2
            w = w - h["lr"] * g / (np.sqrt(s1) + h["eps"])
        elif name == "adadelta":
            s1 = h["rho"] * s1 + (1 - h["rho"]) * g ** 2
            dx = -np.sqrt(s2 + h["eps"]) / np.sqrt(s1 + h["eps"]) * g
            s2 = h["rho"] * s2 + (1 - h["rho"]) * dx ** 2
            w = w + h["lr"] * dx
        elif name in ("adam", "adamw"):
            if name == "adamw":
                w = w - h["lr"] * h["wd"] * w
            s1 = h["b1"] * s1 + (1 - h["b1"]) * g
            s2 = h["b2"] * s2 + (1 - h["b2"]) * g ** 2
            mhat, vhat = s1 / (1 - h["b1"] ** t), s2 / (1 - h["b2"] ** t)
            w = w - h["lr"] * mhat / (np.sqrt(vhat) + h["eps"])
    return w


CASES = [
    ("sgd", lambda: optim.SGD(0.1), dict(lr=0.1)),
    ("momentum", lambda: optim.SGD(0.1, momentum=0.8), dict(lr=0.1, mu=0.8)),
    ("momentum", lambda: optim.Momentum(0.05), dict(lr=0.05, mu=0.9)),
    ("nesterov", lambda: optim.SGD(0.1, momentum=0.7, nesterov=True), dict(lr=0.1, mu=0.7)),
    ("nesterov", lambda: optim.Nesterov(0.05), dict(lr=0.05, mu=0.9)),
    ("adagrad", lambda: optim.AdaGrad(0.3), dict(lr=0.3, eps=1e-8)),
    ("rmsprop", lambda: optim.RMSprop(0.01, rho=0.8), dict(lr=0.01, rho=0.8, eps=1e-7)),
    ("adadelta", lambda: optim.AdaDelta(), dict(lr=1.0, rho=0.95, eps=1e-6)),
    ("adam", lambda: optim.Adam(0.01), dict(lr=0.01, b1=0.9, b2=0.999, eps=1e-8)),
    ("adam", lambda: optim.Adam(0.02, beta_1=0.5, beta_2=0.9, epsilon=1e-3),
     dict(lr=0.02, b1=0.5, b2=0.9, eps=1e-3)),
    ("adamw", lambda: optim.AdamW(0.01, weight_decay=0.1), dict(lr=0.01, wd=0.1, b1=0.9, b2=0.999, eps=1e-8)),
]


@pytest.mark.parametrize("name,make,h", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_two_steps_match_the_equations(name, make, h, dtype, rng):
    w0, g1, g2, w = run_two_steps(make(), dtype, rng)
    start = w0.astype(dtype).astype(np.float64)
    expected = by_hand(name, start, [g1.astype(dtype).astype(np.float64), g2.astype(dtype).astype(np.float64)], **h)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(w, expected, **tol)
    assert not np.allclose(w, start)   # something happened


def test_defaults_are_the_papers():
    assert optim.Adam().get_config() == {"lr": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8}
    assert (optim.AdaDelta().rho, optim.AdaDelta().epsilon, optim.AdaDelta().lr) == (0.95, 1e-6, 1.0)
    assert (optim.RMSprop().lr, optim.RMSprop().rho) == (0.001, 0.9)
    assert optim.Momentum().momentum == 0.9 and optim.Nesterov().nesterov
    assert optim.AdamW().weight_decay == 0.01


def test_adamw_decay_is_decoupled(rng):
    # With a zero gradient Adam does nothing; AdamW still shrinks the weights by lr * wd.
    layer = Holder({"W": rng.standard_normal(5)})
    w0 = layer.params["W"].copy()
    optim.AdamW(0.1, weight_decay=0.5).bind([layer]).step()
    np.testing.assert_allclose(layer.params["W"], w0 * (1 - 0.05))


def test_frozen_layers_are_skipped(rng):
    a, b = Holder({"W": rng.standard_normal(3)}, "a"), Holder({"W": rng.standard_normal(3)}, "b")
    a.grads["W"][:] = b.grads["W"][:] = 1.0
    a.trainable = False
    wa, wb = a.params["W"].copy(), b.params["W"].copy()
    optim.SGD(0.1).bind([a, b]).step()
    np.testing.assert_array_equal(a.params["W"], wa)
    np.testing.assert_allclose(b.params["W"], wb - 0.1)


def test_clip_by_value(rng):
    layer = Holder({"W": np.zeros(4)})
    layer.grads["W"] = np.array([-3.0, -0.2, 0.5, 7.0])
    raw = layer.grads["W"].copy()
    optim.SGD(1.0, clipvalue=1.0).bind([layer]).step()
    np.testing.assert_allclose(layer.params["W"], -np.array([-1.0, -0.2, 0.5, 1.0]))
    np.testing.assert_array_equal(layer.grads["W"], raw)   # the layer's gradient is not modified


def test_clip_by_global_norm(rng):
    a, b = Holder({"W": np.zeros(2)}, "a"), Holder({"W": np.zeros(1)}, "b")
    a.grads["W"], b.grads["W"] = np.array([3.0, 0.0]), np.array([4.0])   # global norm 5
    optim.SGD(1.0, global_clipnorm=1.0).bind([a, b]).step()
    np.testing.assert_allclose(np.r_[a.params["W"], b.params["W"]], -np.array([0.6, 0.0, 0.8]))
    # below the threshold nothing changes
    c = Holder({"W": np.zeros(2)})
    c.grads["W"] = np.array([0.3, 0.4])
    optim.SGD(1.0, global_clipnorm=1.0).bind([c]).step()
    np.testing.assert_allclose(c.params["W"], [-0.3, -0.4])


def test_clip_by_norm_per_tensor():
    a, b = Holder({"W": np.zeros(2)}, "a"), Holder({"W": np.zeros(1)}, "b")
    a.grads["W"], b.grads["W"] = np.array([3.0, 4.0]), np.array([0.5])
    optim.SGD(1.0, clipnorm=1.0).bind([a, b]).step()
    np.testing.assert_allclose(a.params["W"], [-0.6, -0.8])
    np.testing.assert_allclose(b.params["W"], [-0.5])


def test_schedules_follow_their_formulas():
    s = schedules.StepDecay(0.1, step_size=3, gamma=0.5)
    assert [s(t) for t in range(7)] == pytest.approx([0.1] * 3 + [0.05] * 3 + [0.025])
    e = schedules.ExponentialDecay(0.2, decay_steps=10, decay_rate=0.5)
    assert e(5) == pytest.approx(0.2 * 0.5 ** 0.5)
    assert schedules.ExponentialDecay(0.2, 10, 0.5, staircase=True)(15) == pytest.approx(0.1)
    c = schedules.CosineDecay(1.0, decay_steps=100, alpha=0.1)
    assert c(0) == pytest.approx(1.0) and c(100) == pytest.approx(0.1) and c(500) == pytest.approx(0.1)
    assert c(50) == pytest.approx(0.1 + 0.9 * 0.5)
    w = schedules.WarmUp(c, warmup_steps=4)
    assert [w(t) for t in range(5)] == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])
    assert w(54) == pytest.approx(c(50))
    assert schedules.WarmUp(0.3, 2, start_lr=0.1)(1) == pytest.approx(0.2)


def test_optimizer_evaluates_schedule_every_step():
    layer = Holder({"W": np.zeros(1)})
    layer.grads["W"][:] = 1.0
    opt = optim.SGD(lr=schedules.StepDecay(1.0, step_size=1, gamma=0.5)).bind([layer])
    for _ in range(3):
        opt.step()
    np.testing.assert_allclose(layer.params["W"], [-(1.0 + 0.5 + 0.25)])
    # The config round-trips through JSON-like dicts, schedule included.
    again = optim.get({"class_name": "SGD", "config": opt.get_config()})
    assert isinstance(again.schedule, schedules.StepDecay) and again.schedule(2) == 0.25


@pytest.mark.parametrize("make", [lambda: optim.Momentum(0.1), lambda: optim.Adam(0.1), lambda: optim.AdaDelta(),
                                  lambda: optim.RMSprop(0.1), lambda: optim.AdaGrad(0.1)])
def test_state_dict_resumes_exactly(make, rng):
    grads = [rng.standard_normal(6) for _ in range(4)]
    w0 = rng.standard_normal(6)

    def run(steps, opt, layer):
        for g in steps:
            layer.grads["W"] = g.copy()
            opt.step()

    full = Holder({"W": w0.copy()})
    run(grads, make().bind([full]), full)
    half = Holder({"W": w0.copy()})
    opt = make().bind([half])
    run(grads[:2], opt, half)
    sd = opt.state_dict()
    opt2 = make().bind([half])
    opt2.load_state_dict(sd)
    assert opt2.iterations == 2
    run(grads[2:], opt2, half)
    np.testing.assert_array_equal(half.params["W"], full.params["W"])


def test_get_by_keras_names():
    for name, cls in [("sgd", optim.SGD), ("adam", optim.Adam), ("adamw", optim.AdamW), ("rmsprop", optim.RMSprop),
                      ("adagrad", optim.AdaGrad), ("adadelta", optim.AdaDelta), ("nesterov", optim.Nesterov)]:
        assert type(optim.get(name)) is cls
    with pytest.raises(ValueError, match="unknown optimizer"):
        optim.get("adamax_typo")
    assert optim.Adam(learning_rate=0.5).lr == 0.5


@pytest.mark.parametrize("bad", [
    lambda: optim.SGD(-1.0), lambda: optim.SGD(0.1, momentum=1.0), lambda: optim.SGD(0.1, nesterov=True),
    lambda: optim.Adam(beta_1=1.0), lambda: optim.Adam(epsilon=0), lambda: optim.RMSprop(rho=-0.1),
    lambda: optim.AdamW(weight_decay=-1), lambda: optim.SGD(0.1, clipvalue=0), lambda: optim.SGD(0.1, clipnorm=-1),
    lambda: optim.SGD(0.1, global_clipnorm=math.nan), lambda: schedules.StepDecay(0.1, 0),
    lambda: schedules.CosineDecay(0.1, 10, alpha=2.0)])
def test_bad_hyperparameters_raise(bad):
    with pytest.raises(ValueError):
        bad()


def test_step_before_bind_raises():
    with pytest.raises(RuntimeError, match="bind"):
        optim.Adam().step()


def test_momentum_beats_plain_sgd_on_an_ill_conditioned_quadratic():
    # f(w) = 0.5 * (w0^2 + 100 w1^2): a long valley where momentum is known to help.
    def run(opt):
        layer = Holder({"W": np.array([1.0, 1.0])})
        opt.bind([layer])
        for _ in range(100):
            layer.grads["W"] = layer.params["W"] * np.array([1.0, 100.0])
            opt.step()
        return 0.5 * (layer.params["W"] ** 2 * np.array([1.0, 100.0])).sum()
    assert run(optim.Momentum(0.01)) < run(optim.SGD(0.01)) * 1e-2
