"""Sequential: building, the training loop, reproducibility, and bad input."""
import numpy as np
import pytest

import nnc
from nnc.layers import Dense, Flatten


def toy(rng, n=600, d=8, k=3):
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = (x @ rng.standard_normal((d, k))).argmax(axis=1)
    return x, y


def make(seed=0, lr=0.2):
    model = nnc.Sequential([Dense(16, input_shape=(8,)), Dense(3)], seed=seed)
    return model.compile(nnc.optim.SGD(lr), "softmax_cross_entropy", ["accuracy"])


def test_fit_learns_and_reports(rng):
    x, y = toy(rng)
    model = make()
    history = model.fit(x, y, epochs=5, batch_size=32, validation_split=0.2, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history.history["loss"]) == 5 and history.epoch == list(range(5))
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.evaluate(x, y)["accuracy"] > 0.9
    assert model.predict(x).shape == (600, 3)


def test_same_seed_same_run_different_seed_different_run(rng):
    x, y = toy(rng)
    runs = []
    for seed in (1, 1, 2):
        model = make(seed)
        model.fit(x, y, epochs=2, batch_size=50, verbose=0)
        runs.append(model.layers[0].params["W"].copy())
    assert np.array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_explicit_loop_equals_train_on_batch(rng):
    x, y = toy(rng, n=64)
    a, b = make(3), make(3)
    a.build(), b.build()
    a.train_on_batch(x, y)
    loss_fn = nnc.losses.get("softmax_cross_entropy")
    opt = nnc.optim.SGD(0.2).bind(b)
    out = b.forward(x, training=True)
    loss_fn.forward(out, y)
    b.backward(loss_fn.backward())
    opt.step()
    for la, lb in zip(a.layers, b.layers):
        for k in la.params:
            np.testing.assert_array_equal(la.params[k], lb.params[k])


def test_model_gradcheck(rng):
    model = nnc.Sequential([Flatten(input_shape=(2, 3)), Dense(4), Dense(3)], seed=0, dtype="float64")
    model.build()
    x = rng.standard_normal((5, 2, 3))
    report = nnc.gradcheck(model, x, y=np.array([0, 1, 2, 1, 0]), loss="softmax_cross_entropy", check_input=False)
    assert report.ok, str(report)
    assert set(report.errors) == {"1.dense.W", "1.dense.b", "2.dense_1.W", "2.dense_1.b"}


def test_summary_counts_parameters(capsys):
    model = nnc.Sequential([Flatten(input_shape=(28, 28)), Dense(256), Dense(10, use_bias=False)])
    text = model.summary()
    assert "(None, 784)" in text and f"{784 * 256 + 256:,}" in text and f"Total params: {784*256+256+2560:,}" in text
    assert text in capsys.readouterr().out


def test_progress_line(rng, capsys):
    x, y = toy(rng, n=100)
    make().fit(x, y, epochs=2, batch_size=10, verbose=2)
    out = capsys.readouterr().out
    assert "epoch 1/2" in out and "epoch 2/2" in out and "loss:" in out and "accuracy:" in out


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(x=np.zeros((0, 8))), ValueError, "empty"),
    (dict(x=np.zeros(8)), ValueError, "batch axis"),
    (dict(y=np.zeros(5, int)), ValueError, "but y has shape"),
    (dict(x=np.full((10, 8), np.nan)), ValueError, "NaN"),
    (dict(y=np.array([np.nan] * 10)), ValueError, "NaN"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(validation_split=1.5), ValueError, "validation_split"),
    (dict(x=np.array([["a"] * 8] * 10)), TypeError, "numeric"),
])
def test_fit_rejects_bad_input(kwargs, exc, match):
    args = dict(x=np.zeros((10, 8)), y=np.zeros(10, int), batch_size=4)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        make().fit(verbose=0, **args)


def test_wrong_feature_count_is_a_clear_error(rng):
    model = make()
    model.build()
    with pytest.raises(ValueError, match=r"expects inputs of per-sample shape \(8,\) but x has shape \(N, 5\)"):
        model.predict(rng.standard_normal((4, 5)))


def test_uncompiled_and_unbuildable_models():
    with pytest.raises(RuntimeError, match="compile"):
        nnc.Sequential([Dense(2)]).fit(np.zeros((2, 2)), np.zeros(2, int), verbose=0)
    with pytest.raises(ValueError, match="unknown input shape"):
        nnc.Sequential([Dense(2)]).build()
    with pytest.raises(TypeError, match="expected a Layer"):
        nnc.Sequential().add("dense")


def test_training_is_bitwise_independent_of_the_thread_count(native):
    from nnc.layers import BatchNormalization, Conv2D, Dropout, MaxPool2D
    rng = np.random.default_rng(0)
    x = rng.random((48, 2, 13, 11), dtype=np.float32)
    y = rng.integers(0, 3, 48)
    weights = []
    for n in (1, 2):
        with nnc.threads(n):
            model = nnc.Sequential([Conv2D(6, 3, padding=1, activation="relu", input_shape=(2, 13, 11)),
                                    BatchNormalization(), MaxPool2D(2), Flatten(), Dropout(0.2),
                                    Dense(16, activation="gelu"), Dense(3)], seed=5)
            model.compile(nnc.optim.Adam(1e-2), "softmax_cross_entropy")
            model.fit(x, y, epochs=2, batch_size=16, verbose=0)
            weights.append([p.copy() for layer in model.layers for p in layer.params.values()])
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)
