"""reduction= on the loss objects, and HalfSquaredError: values and gradients against numpy written
from the definitions, and against centered finite differences of the loss object itself."""
import numpy as np
import pytest

import nnc
from nnc import losses as L
from nnc.gradcheck import numerical_gradient


def _data(rng, n=3, k=4):
    return rng.normal(size=(n, k)), rng.normal(size=(n, k))


@pytest.mark.parametrize("reduction, expected", [
    ("mean", lambda d: np.mean(d ** 2)),
    ("sum", lambda d: np.sum(d ** 2)),
    ("sum_over_batch_size", lambda d: np.sum(d ** 2) / d.shape[0]),
])
def test_mse_reductions_match_their_definitions(B, rng, reduction, expected):
    out, y = _data(rng)
    loss = L.MeanSquaredError(reduction=reduction)
    assert loss.forward(out, y) == pytest.approx(expected(out - y), rel=1e-12)
    num = numerical_gradient(lambda: L.MeanSquaredError(reduction=reduction).forward(out, y), out)
    np.testing.assert_allclose(loss.backward(), num, rtol=1e-6, atol=1e-9)


def test_half_squared_error_is_the_lecture_loss(B, rng):
    out, y = _data(rng, n=5, k=3)
    loss = nnc.losses.get("half_squared_error")
    per_sample = [0.5 * sum((out[n, k] - y[n, k]) ** 2 for k in range(3)) for n in range(5)]   # 1/2 ||y_hat - y||^2
    assert loss.forward(out, y) == pytest.approx(sum(per_sample) / 5, rel=1e-12)
    np.testing.assert_allclose(loss.backward(), (out - y) / 5, rtol=1e-12)
    one = L.HalfSquaredError()
    assert one.forward(out[:1], y[:1]) == pytest.approx(per_sample[0], rel=1e-12)
    np.testing.assert_allclose(one.backward(), out[:1] - y[:1], rtol=1e-12)   # dL/dy_hat = y_hat - y
    s = L.HalfSquaredError(reduction="sum")
    assert s.forward(out, y) == pytest.approx(sum(per_sample), rel=1e-12)
    num = numerical_gradient(lambda: L.HalfSquaredError(reduction="sum").forward(out, y), out)
    np.testing.assert_allclose(s.backward(), num, rtol=1e-6, atol=1e-9)
    assert L.HalfSquaredError(reduction="sum_over_batch_size").forward(out, y) == pytest.approx(sum(per_sample) / 5)


def test_with_two_outputs_mse_mean_equals_the_half_squared_error_only_by_accident(rng):
    out, y = _data(rng, n=4, k=2)
    assert L.MeanSquaredError().forward(out, y) == pytest.approx(L.HalfSquaredError().forward(out, y))
    out, y = _data(rng, n=4, k=3)
    assert L.MeanSquaredError().forward(out, y) != pytest.approx(L.HalfSquaredError().forward(out, y))


def test_per_sample_losses_sum_over_samples(B, rng):
    logits = rng.normal(size=(4, 3))
    ids = np.array([0, 2, 1, 2])
    shifted = logits - logits.max(axis=1, keepdims=True)
    per_sample = np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(4), ids]   # -log softmax of the class
    for reduction, expected in [("mean", per_sample.mean()), ("sum", per_sample.sum()),
                                ("sum_over_batch_size", per_sample.mean())]:
        loss = L.SoftmaxCrossEntropy(reduction=reduction)
        assert loss.forward(logits, ids) == pytest.approx(expected, rel=1e-10)
        num = numerical_gradient(lambda: L.SoftmaxCrossEntropy(reduction=reduction).forward(logits, ids), logits)
        np.testing.assert_allclose(loss.backward(), num, rtol=1e-6, atol=1e-9)


def test_elementwise_losses_with_reductions(B, rng):
    out, y = _data(rng, n=3, k=2)
    r = np.abs(out - y)
    huber_terms = np.where(r <= 0.5, 0.5 * r ** 2, 0.5 * (r - 0.25))
    for loss_of, terms in [(lambda red: L.MeanAbsoluteError(reduction=red), r),
                           (lambda red: L.Huber(0.5, reduction=red), huber_terms)]:
        assert loss_of("sum").forward(out, y) == pytest.approx(terms.sum(), rel=1e-12)
        assert loss_of("sum_over_batch_size").forward(out, y) == pytest.approx(terms.sum() / 3, rel=1e-12)
        assert loss_of("mean").forward(out, y) == pytest.approx(terms.mean(), rel=1e-12)


def test_float32_gradient_keeps_its_dtype(rng):
    out, y = (a.astype(np.float32) for a in _data(rng))
    loss = L.MeanSquaredError(reduction="sum")
    loss.forward(out, y)
    assert loss.backward().dtype == np.float32


def test_reduction_round_trips_and_bad_reduction_is_refused():
    loss = L.BinaryCrossentropy(from_logits=True, reduction="sum")
    again = L.get(L.serialize(loss))
    assert type(again) is L.BinaryCrossentropy and again.reduction == "sum" and again.from_logits
    assert L.get(L.serialize(L.HalfSquaredError())).name == "half_squared_error"
    assert L.MeanSquaredError().reduction == "mean"
    with pytest.raises(ValueError, match=r"MeanSquaredError: unknown reduction 'summ'; did you mean 'sum'"):
        L.MeanSquaredError(reduction="summ")
    with pytest.raises(ValueError, match="reduction"):
        L.Huber(1.0, reduction=None)


def test_compile_and_fit_with_half_squared_error(rng):
    x, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    model = nnc.Sequential([nnc.layers.Dense(2, input_shape=(3,))], seed=0, dtype="float64")
    model.compile(optimizer=nnc.optim.SGD(0.1), loss="half_squared_error")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    after = model.evaluate(x, y, verbose=0)
    expected = 0.5 * np.sum((model.predict(x) - y) ** 2) / 8
    assert after["loss"] == pytest.approx(expected, rel=1e-10) and after["loss"] < before["loss"]
