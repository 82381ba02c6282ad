"""nnc.gradcheck leaves the model as it found it, and reports the worst entries."""
import numpy as np
import pytest

import nnc
from nnc.gradcheck import GradcheckReport, gradcheck, worst_entries
from nnc.layers import BatchNormalization, Dense, Dropout


def _trained_float32_model(rng):
    model = nnc.Sequential([Dense(5, activation="tanh", input_shape=(3,)), BatchNormalization(),
                            Dropout(0.2), Dense(2)], seed=0)
    model.compile(optimizer=nnc.optim.SGD(0.05, momentum=0.9), loss="mse")
    x = rng.standard_normal((16, 3)).astype(np.float32)
    y = rng.standard_normal((16, 2)).astype(np.float32)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    return model, x, y


def _arrays(model):
    return [(store, k, a) for layer in model.layers
            for store in ("params", "buffers") for k, a in getattr(layer, store).items()]


def test_gradcheck_leaves_a_float32_model_unchanged_and_fit_still_works(rng):
    model, x, y = _trained_float32_model(rng)
    before = [(store, k, a, a.copy()) for store, k, a in _arrays(model)]
    velocity = {k: dict(v) for k, v in model.optimizer.state.items()}
    rng_state = model.rng.bit_generator.state

    report = gradcheck(model, x, y, loss="mse", check_input=False)
    assert report.ok, str(report)

    after = _arrays(model)
    assert len(after) == len(before)
    for (store, k, a, saved), (_, _, b) in zip(before, after):
        assert b is a, f"{store}[{k}] was replaced by a new array"
        assert b.dtype == np.float32 and saved.dtype == np.float32
        np.testing.assert_array_equal(b, saved)
    assert model.rng.bit_generator.state == rng_state      # dropout masks drawn in the copy only
    for k, slots in velocity.items():
        assert all(model.optimizer.state[k][n] is a for n, a in slots.items())

    W = model.layers[0].params["W"]
    W_before = W.copy()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)      # failed before: float64 W vs float32 x
    assert model.layers[0].params["W"] is W and W.dtype == np.float32
    assert not np.array_equal(W, W_before)                   # the optimizer still updates the same array


def test_gradcheck_leaves_an_unbuilt_layer_unbuilt(rng):
    layer = Dense(3, activation="tanh")
    report = gradcheck(layer, rng.standard_normal((4, 2)))
    assert report.ok, str(report)
    assert not layer.built and layer.params == {}


class _OffByOne(Dense):
    """A Dense whose backward adds 1 to dW[2, 1]: a bug in one entry."""
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"] = self.grads["W"].copy()
        self.grads["W"][2, 1] += 1.0
        return dx


def test_report_names_the_wrong_entry_with_both_values(rng):
    layer = _OffByOne(2, input_shape=(4,))
    layer.build((4,), np.float64, rng)
    x = rng.standard_normal((3, 4))
    report = gradcheck(layer, x, seed=7)
    assert not report.ok and report.errors["W"] > 1e-3 and report.errors["b"] < 1e-6
    worst = report.entries[0]
    assert worst.tensor == "W" and worst.position == (2, 1)
    R = np.random.default_rng(7).standard_normal((3, 2))     # the check's dL/dout, so dW = x.T @ R
    true = (x.T @ R)[2, 1]
    assert worst.numeric == pytest.approx(true, rel=1e-6)
    assert worst.analytic == pytest.approx(true + 1.0, rel=1e-9)
    text = str(report)
    assert "W[2, 1]" in text and "FAIL" in text and "finite differences" in text


def test_worst_entries_order_and_nan():
    a = np.array([[1.0, 2.0], [np.nan, 4.0]])
    n = np.array([[1.0, 2.2], [3.0, 4.0]])
    entries = worst_entries(a, n, "W", top=2)
    assert [e.position for e in entries] == [(1, 0), (0, 1)]
    assert entries[1].error == pytest.approx(0.2 / 4.2)


def test_report_built_the_old_way_still_works():
    report = GradcheckReport({"W": 1e-9, "b": 0.5}, 1e-6)
    assert not report.ok and report.worst == 0.5 and report.entries == ()
    assert "FAIL" in str(report)
