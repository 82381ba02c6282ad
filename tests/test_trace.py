"""nnc.trace: the lecture's 3-4-2 sigmoid network (LECTURES.md item 7) traced for one sample and checked
against the lecture's formulas written out unit by unit, against finite differences, and between backends;
a small convnet against finite differences; the renderings and the refusals."""
import numpy as np
import pytest

import nnc
from nnc import backend
from nnc.gradcheck import numerical_gradient
from nnc.layers import Conv2D, Dense, Flatten, MaxPool2D, Sigmoid

# Units as the lecture numbers them: inputs 1-3, hidden 4-7, outputs 8-9. W[i][j] is the weight from
# unit i to unit j (nnc's Dense W is (in, out), so W1[i - 1, j - 4] = w_ij and W2[i - 4, j - 8] = w_ij).
W1 = np.array([[0.2, -0.3, 0.4, 0.1], [-0.5, 0.2, -0.1, 0.3], [0.1, 0.4, -0.2, -0.4]])
B1 = np.array([0.1, -0.1, 0.05, 0.0])
W2 = np.array([[0.3, -0.2], [-0.4, 0.5], [0.2, 0.1], [-0.1, -0.3]])
B2 = np.array([0.05, -0.05])
X = np.array([1.0, 0.5, -1.5])
Y = np.array([1.0, 0.0])


def sig(v):
    return 1 / (1 + np.exp(-v))


def lecture_net(dtype="float64", fused=True):
    layers = ([Dense(4, activation="sigmoid", input_shape=(3,)), Dense(2, activation="sigmoid")] if fused else
              [Dense(4, input_shape=(3,)), Sigmoid(), Dense(2), Sigmoid()])
    model = nnc.Sequential(layers, dtype=dtype)
    model.build()
    dense = [lyr for lyr in model.layers if "W" in lyr.params]
    for layer, W, b in zip(dense, (W1, W2), (B1, B2)):
        layer.params["W"][...] = W
        layer.params["b"][...] = b
    return model


def by_hand():
    """The lecture's formulas, one unit at a time."""
    a = {i: X[i - 1] for i in (1, 2, 3)}
    w = {(i, j): W1[i - 1, j - 4] for i in (1, 2, 3) for j in (4, 5, 6, 7)}
    w.update({(i, j): W2[i - 4, j - 8] for i in (4, 5, 6, 7) for j in (8, 9)})
    bias = {j: B1[j - 4] for j in (4, 5, 6, 7)} | {j: B2[j - 8] for j in (8, 9)}
    for j in (4, 5, 6, 7):
        a[j] = sig(sum(a[i] * w[i, j] for i in (1, 2, 3)) + bias[j])
    for j in (8, 9):
        a[j] = sig(sum(a[i] * w[i, j] for i in (4, 5, 6, 7)) + bias[j])
    y = {8: Y[0], 9: Y[1]}
    loss = 0.5 * ((y[8] - a[8]) ** 2 + (y[9] - a[9]) ** 2)                 # 1/2 ||y - a||^2
    delta = {k: a[k] * (1 - a[k]) * (a[k] - y[k]) for k in (8, 9)}        # delta8 = a8 (1 - a8)(a8 - y8)
    for j in (4, 5, 6, 7):               # delta4 = (delta8 W48 + delta9 W49) a4 (1 - a4)
        delta[j] = (delta[8] * w[j, 8] + delta[9] * w[j, 9]) * a[j] * (1 - a[j])
    dW2 = np.array([[a[i] * delta[k] for k in (8, 9)] for i in (4, 5, 6, 7)])     # dL/dW48 = a4 delta8
    dW1 = np.array([[a[i] * delta[j] for j in (4, 5, 6, 7)] for i in (1, 2, 3)])
    return dict(a=a, loss=loss, delta=delta, dW1=dW1, dW2=dW2)


def test_lecture_network_trace_matches_the_lecture_formulas(B):
    hand = by_hand()
    t = nnc.trace(lecture_net(), X, Y, loss="half_squared_error")
    hidden, out = t.layers
    assert t.loss == pytest.approx(hand["loss"], rel=1e-12)
    np.testing.assert_allclose(hidden.a[0], [hand["a"][j] for j in (4, 5, 6, 7)], rtol=1e-12)
    np.testing.assert_allclose(out.a[0], [hand["a"][k] for k in (8, 9)], rtol=1e-12)
    np.testing.assert_allclose(hidden.z[0], np.log(hidden.a[0] / (1 - hidden.a[0])), rtol=1e-10)   # a = sigmoid(z)
    np.testing.assert_allclose(out.dL_da[0], out.a[0] - Y, rtol=1e-12)                               # dL/da = a - y
    np.testing.assert_allclose(out.delta[0], [hand["delta"][k] for k in (8, 9)], rtol=1e-12)
    np.testing.assert_allclose(hidden.delta[0], [hand["delta"][j] for j in (4, 5, 6, 7)], rtol=1e-12)
    np.testing.assert_allclose(out.dW, hand["dW2"], rtol=1e-12)
    np.testing.assert_allclose(hidden.dW, hand["dW1"], rtol=1e-12)
    np.testing.assert_allclose(out.db, [hand["delta"][k] for k in (8, 9)], rtol=1e-12)       # dL/db8 = delta8
    np.testing.assert_allclose(hidden.db, [hand["delta"][j] for j in (4, 5, 6, 7)], rtol=1e-12)  # dL/db4 = delta4
    np.testing.assert_allclose(hidden.input[0], X)
    assert hidden.dx is None and out.dx.shape == (1, 4)


def test_lecture_network_gradients_match_finite_differences(B):
    model = lecture_net()
    t = nnc.trace(model, X, Y, loss="half_squared_error")
    loss = nnc.losses.HalfSquaredError()
    for lt, layer in zip(t.layers, model.layers):
        for key, analytic in (("W", lt.dW), ("b", lt.db)):
            num = numerical_gradient(lambda: loss.forward(model.forward(X[None]), Y[None]), layer.params[key])
            np.testing.assert_allclose(analytic, num, rtol=1e-6, atol=1e-10)


def test_both_backends_give_the_same_trace():
    if not backend.native_available():
        pytest.skip("native extension not built")
    traces = []
    for name in ("native", "reference"):
        with backend.using(name):
            traces.append(nnc.trace(lecture_net(), X, Y, loss="half_squared_error"))
    for a, b in zip(*(t.layers for t in traces)):
        for field in ("input", "z", "a", "dL_da", "delta", "dW", "db"):
            np.testing.assert_allclose(getattr(a, field), getattr(b, field), rtol=1e-12, atol=1e-15)
    assert traces[0].loss == pytest.approx(traces[1].loss, rel=1e-12)


def test_separate_activation_layers_give_the_fused_deltas(B):
    fused = nnc.trace(lecture_net(), X, Y, loss="half_squared_error")
    split = nnc.trace(lecture_net(fused=False), X, Y, loss="half_squared_error")
    assert [lt.kind for lt in split.layers] == ["Dense", "Sigmoid", "Dense", "Sigmoid"]
    np.testing.assert_allclose(split.layers[1].delta, fused.layers[0].delta, rtol=1e-12)   # dL/dz of the sigmoid
    np.testing.assert_allclose(split.layers[3].delta, fused.layers[1].delta, rtol=1e-12)
    np.testing.assert_allclose(split.layers[2].dW, fused.layers[1].dW, rtol=1e-12)


def test_text_shows_equations_shapes_and_lecture_notation():
    t = nnc.trace(lecture_net(), X, Y, loss="half_squared_error")
    text = str(t)
    assert text == t.table()
    for piece in ("delta_L = (a_L - y) * a_L (1 - a_L)", "dW_2 = a_1^T delta_2", "z_1 = a_0 W_1 + b_1",
                  "delta_1 = (delta_2 W_2^T) * a_1 (1 - a_1)", "(3, 4)", "half_squared_error"):
        assert piece in text
    lec = nnc.trace(lecture_net(), X, Y, loss="half_squared_error", notation="lecture").table()
    for piece in ("z_1 = W_1 a_0 + b_1", "dW_2 = delta_2 a_1^T", "delta_1 = (W_2^T delta_2) * a_1 (1 - a_1)",
                  "(4, 3)", "[0.2, -0.5, 0.1]"):    # first row of the lecture's W_1 = weights into unit 4
        assert piece in lec
    assert "| quantity |" in t._repr_markdown_() and "<table>" in t._repr_html_()


def test_trace_leaves_the_models_gradients_and_weights_as_they_were():
    model = lecture_net()
    model.compile(optimizer="sgd", loss="half_squared_error")
    xb, yb = np.array([[0.3, -0.2, 0.9]]), np.array([[0.0, 1.0]])
    model.backward(model.forward(xb) - yb)          # gradients of another batch, as a training step leaves them
    grads = [{k: v.copy() for k, v in lyr.grads.items()} for lyr in model.layers]
    t = nnc.trace(model, X, Y)                       # the compiled loss
    assert t.loss_name == "half_squared_error"
    for lyr, g in zip(model.layers, grads):
        for k in g:
            np.testing.assert_array_equal(lyr.grads[k], g[k])
    np.testing.assert_array_equal(model.layers[0].params["W"], W1)
    assert model.layers[0].activation.__dict__.get("forward") is None   # the recorder is gone


def test_convnet_trace_shapes_and_finite_differences(B, rng):
    model = nnc.Sequential([Conv2D(2, (2, 3), activation="tanh", input_shape=(1, 5, 6)), MaxPool2D(2), Flatten(),
                            Dense(3, activation="sigmoid")], seed=3, dtype="float64")
    x, y = rng.normal(size=(1, 1, 5, 6)), rng.uniform(size=(1, 3))
    t = nnc.trace(model, x, y, loss="half_squared_error")
    conv, pool, flat, dense = t.layers
    assert conv.z.shape == conv.delta.shape == (1, 2, 4, 4) and pool.a.shape == (1, 2, 2, 2)
    assert flat.a.shape == (1, 8) and conv.dW.shape == (2, 1, 2, 3)
    np.testing.assert_allclose(conv.delta, conv.dL_da * (1 - np.tanh(conv.z) ** 2), rtol=1e-12)   # tanh' = 1 - a^2
    loss = nnc.losses.HalfSquaredError()
    for lt, layer in ((conv, model.layers[0]), (dense, model.layers[3])):
        for key, analytic in (("W", lt.dW), ("b", lt.db)):
            num = numerical_gradient(lambda: loss.forward(model.forward(x), y), layer.params[key])
            np.testing.assert_allclose(analytic, num, rtol=1e-6, atol=1e-10)
    text = str(t)
    assert "(1, 2, 4, 4)" in text and "32 entries" in text and "window's argmax" in text


def test_bad_calls_are_refused():
    model = lecture_net()
    with pytest.raises(ValueError, match="notation must be 'nnc'"):
        nnc.trace(model, X, Y, loss="mse", notation="slides")
    with pytest.raises(ValueError, match="pass loss="):
        nnc.trace(model, X, Y)
    with pytest.raises(TypeError, match="model must be an nnc.Sequential"):
        nnc.trace(model.layers[0], X, Y, loss="mse")


def test_a_few_samples_sum_db_over_the_samples(B, rng):
    x, y = rng.normal(size=(3, 3)), rng.uniform(size=(3, 2))
    t = nnc.trace(lecture_net(), x, y, loss="half_squared_error")
    a1 = sig(x @ W1 + B1)
    a2 = sig(a1 @ W2 + B2)
    delta2 = (a2 - y) / 3 * a2 * (1 - a2)           # dL/da_2 = (a_2 - y) / N for the batch mean
    delta1 = (delta2 @ W2.T) * a1 * (1 - a1)
    np.testing.assert_allclose(t.layers[1].delta, delta2, rtol=1e-12)
    np.testing.assert_allclose(t.layers[0].db, delta1.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(t.layers[0].dW, x.T @ delta1, rtol=1e-12)
    assert "db_1 = sum over samples of delta_1" in str(t) and "dL/da_L = (a_L - y) / N" in str(t)


def test_a_refused_loss_leaves_the_model_as_it_was():
    model = lecture_net()
    with pytest.raises(ValueError):
        nnc.trace(model, X, np.zeros(5), loss="half_squared_error")   # 5 targets for 2 outputs
    assert "forward" not in vars(model.layers[0].activation) and model.layers[0].grads == {}
    assert nnc.trace(model, X, Y, loss="half_squared_error").loss == pytest.approx(by_hand()["loss"])
