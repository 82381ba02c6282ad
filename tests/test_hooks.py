"""Sequential.register_hook: what a hook sees, in which order, removal, and the older model.watchers."""
import copy

import numpy as np
import pytest

import nnc
from nnc.layers import Dense, ReLU


def _model():
    return nnc.Sequential([Dense(3, activation="tanh", input_shape=(2,)), ReLU(), Dense(2)], seed=1, dtype="float64")


def test_hook_sees_each_layers_output_and_input_gradient_in_order(B, rng):
    model = _model()
    x, dout = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    seen = []
    handle = model.register_hook(
        lambda layer, event, a: seen.append((layer.name, event, None if a is None else a.copy())))
    out = model.forward(x)
    dx = model.backward(dout)
    names = [lyr.name for lyr in model.layers]
    assert [(n, e) for n, e, _ in seen] == [(n, "forward") for n in names] + [(n, "backward") for n in names[::-1]]
    # forward: each layer's output, recomputed here layer by layer from the weights
    W0, b0 = model.layers[0].params["W"], model.layers[0].params["b"]
    a1 = np.tanh(x @ W0 + b0)
    a2 = np.maximum(a1, 0)
    np.testing.assert_allclose(seen[0][2], a1, rtol=1e-12)
    np.testing.assert_allclose(seen[1][2], a2, rtol=1e-12)
    np.testing.assert_allclose(seen[2][2], out, rtol=1e-12)
    # backward: the gradient w.r.t. each layer's input, by the chain rule written out
    W2 = model.layers[2].params["W"]
    g2 = dout @ W2.T
    g1 = g2 * (a1 > 0)
    np.testing.assert_allclose(seen[3][2], g2, rtol=1e-12)
    np.testing.assert_allclose(seen[4][2], g1, rtol=1e-12)
    assert seen[5][2] is None and dx is None   # the first layer skips dL/dx
    handle.remove()
    model.forward(x)
    assert len(seen) == 6 and not handle.active


def test_backward_hook_runs_after_the_layers_grads_are_filled(rng):
    model = _model()
    x = rng.normal(size=(3, 2))
    model.forward(x)
    model.backward(np.ones((3, 2)))
    old = model.layers[2].grads["W"].copy()
    grads = {}
    with model.register_hook(lambda layer, event, a: grads.setdefault(layer.name, layer.grads.get("W"))
                             if event == "backward" else None) as handle:
        model.forward(x)
        model.backward(2 * np.ones((3, 2)))
    np.testing.assert_allclose(grads[model.layers[2].name], 2 * old, rtol=1e-12)   # this call's dW, not the last
    assert not handle.active


def test_hooks_run_in_registration_order_and_handles_remove_only_their_own(rng):
    model = _model()
    calls = []
    h1 = model.register_hook(lambda layer, event, a: calls.append(1))
    model.register_hook(lambda layer, event, a: calls.append(2))
    model.forward(rng.normal(size=(1, 2)))
    assert calls == [1, 2] * 3
    h1.remove()
    h1.remove()   # harmless
    calls.clear()
    model.forward(rng.normal(size=(1, 2)))
    assert calls == [2] * 3


def test_hooks_see_fit_and_a_copy_starts_without_them(rng):
    model = _model()
    model.compile(optimizer="sgd", loss="mse")
    events = []
    model.register_hook(lambda layer, event, a: events.append(event))
    model.fit(rng.normal(size=(4, 2)), rng.normal(size=(4, 2)), epochs=1, batch_size=2, verbose=0)
    assert events.count("forward") == events.count("backward") == 2 * 3   # 2 batches, 3 layers
    twin = copy.deepcopy(model)
    twin.forward(rng.normal(size=(1, 2)))
    assert len(events) == 12 and twin._hooks == ()


def test_a_non_callable_hook_is_refused_and_nothing_changes():
    model = _model()
    with pytest.raises(TypeError, match=r"register_hook: fn must be a function fn\(layer, event, array\)"):
        model.register_hook("print")
    assert model._hooks == ()


def test_watchers_still_get_index_layer_and_array(rng):
    class Watcher:
        def __init__(self):
            self.calls = []

        def after_forward(self, i, layer, out):
            self.calls.append(("f", i, layer.name, out.shape))

        def after_backward(self, i, layer, dx):
            self.calls.append(("b", i, layer.name, None if dx is None else dx.shape))

    model = _model()
    w = Watcher()
    model.watchers.append(w)
    model.forward(rng.normal(size=(5, 2)))
    model.backward(np.ones((5, 2)))
    names = [lyr.name for lyr in model.layers]
    assert w.calls == [("f", 0, names[0], (5, 3)), ("f", 1, names[1], (5, 3)), ("f", 2, names[2], (5, 2)),
                       ("b", 2, names[2], (5, 3)), ("b", 1, names[1], (5, 3)), ("b", 0, names[0], None)]
    model.watchers.remove(w)
    model.forward(rng.normal(size=(5, 2)))
    assert len(w.calls) == 6 and model.watchers == []
