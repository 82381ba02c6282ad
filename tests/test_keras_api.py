"""Keras conventions nnc claims: argument order, model methods, names, epoch counting, interrupts."""
import json
import os
import signal

import numpy as np
import pytest

import nnc
from nnc.callbacks import Callback
from nnc.layers import BatchNormalization, Dense


def toy(n=64, d=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x, (x @ rng.standard_normal((d, k))).argmax(axis=1)


def make(seed=0, metrics=("accuracy",)):
    model = nnc.Sequential([Dense(8, activation="relu", input_shape=(4,)), BatchNormalization(), Dense(3)], seed=seed)
    return model.compile(nnc.optim.SGD(0.1), "softmax_cross_entropy", list(metrics))


class Steps(Callback):
    def __init__(self):
        super().__init__()
        self.batches, self.ended = 0, False

    def on_batch_end(self, batch, logs=None):
        self.batches += 1

    def on_train_end(self, logs=None):
        self.ended = True


def test_fit_takes_batch_size_then_epochs_positionally():
    x, y = toy()
    model, steps = make(), Steps()
    history = model.fit(x, y, 16, 3, 0, callbacks=[steps])
    assert len(history.epoch) == 3 and steps.batches == 3 * 4
    with pytest.raises(TypeError):
        model.fit(x, y, 16, 3, 0, [steps])     # callbacks and the rest are keyword-only


def test_epoch_counts_every_epoch_trained():
    x, y = toy()
    model = make()
    model.fit(x, y, epochs=5, verbose=0)
    history = model.fit(x, y, epochs=5, verbose=0)
    assert model.epoch == 10 and history.epoch == [0, 1, 2, 3, 4]
    model.fit(x, y, epochs=12, initial_epoch=model.epoch, verbose=0)   # Keras' resume form
    assert model.epoch == 12


def test_get_and_set_weights_round_trip_and_refuse_whole():
    x, y = toy()
    a, b = make(0), make(1)
    a.fit(x, y, epochs=2, verbose=0)
    b.build()
    w = a.get_weights()
    assert [v.shape for v in w] == [(4, 8), (8,), (8,), (8,), (8,), (8,), (8, 3), (3,)]   # BN: gamma, beta, mean, var
    b.set_weights(w)
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    before = b.get_weights()
    with pytest.raises(ValueError, match=r"batchnormalization.beta must have shape \(8,\), got \(7,\)"):
        b.set_weights(w[:3] + [np.zeros(7)] + w[4:])
    with pytest.raises(ValueError, match="expected 8 arrays"):
        b.set_weights(w[:-1])
    assert all(np.array_equal(p, q) for p, q in zip(before, b.get_weights()))


def test_get_layer_pop_and_add():
    model = make().build()
    assert model.get_layer("dense_1") is model.layers[2] and model.get_layer(index=-1) is model.layers[2]
    with pytest.raises(ValueError, match="unknown layer 'dense_2'; did you mean 'dense_1'"):
        model.get_layer("dense_2")
    with pytest.raises(ValueError, match="exactly one"):
        model.get_layer()
    head = model.pop()
    assert head.name == "dense_1" and model.output_shape == (8,)
    model.add(Dense(2))
    assert model.output_shape == (2,) and model.predict(np.zeros((3, 4))).shape == (3, 2)
    x, y = toy(k=2)
    model.fit(x, y, epochs=1, verbose=0)   # the optimizer was bound to the new head


def test_config_round_trip_and_repr():
    model = make().build()
    config = json.loads(json.dumps(model.get_config()))
    clone = nnc.Sequential.from_config(config)
    assert [type(lyr) for lyr in clone.layers] == [type(lyr) for lyr in model.layers]
    clone.build()
    clone.set_weights(model.get_weights())
    x, _ = toy()
    np.testing.assert_array_equal(clone.predict(x), model.predict(x))
    text = repr(model)
    assert text.startswith("Sequential([") and "units=3" in text and "83 params" in text


def test_trained_layers_keep_their_weights_in_a_new_model():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6)).astype(np.float32)
    auto = nnc.Sequential([Dense(4, activation="tanh", input_shape=(6,)), Dense(2, activation="tanh"),
                           Dense(4, activation="tanh"), Dense(6)], seed=0)
    auto.compile(nnc.optim.Adam(0.01), "mse").fit(x, x, epochs=3, verbose=0)
    code = auto.layers[1].forward(auto.layers[0].forward(x))
    W = auto.layers[0].params["W"]
    encoder = nnc.Sequential(auto.layers[:2], seed=99)
    np.testing.assert_array_equal(encoder.predict(x), code)
    assert encoder.layers[0].params["W"] is W    # the same arrays, not re-initialized copies
    with pytest.raises(ValueError, match=r"already built \(it has weights\) for inputs \(6,\) but receives \(5,\)"):
        nnc.Sequential([Dense(5, input_shape=(3,)), auto.layers[0]]).build()


def test_keras_names_and_typos():
    assert nnc.optim.Adagrad is nnc.optim.AdaGrad and nnc.optim.Adadelta is nnc.optim.AdaDelta
    assert isinstance(nnc.optim.get("Adagrad"), nnc.optim.AdaGrad)
    with pytest.raises(ValueError, match="unknown optimizer 'adma'; did you mean 'adam'"):
        nnc.optim.get("adma")
    with pytest.raises(ValueError, match="did you mean 'sparse_categorical_crossentropy'"):
        nnc.losses.get("sparse_categorical_crossentropi")
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'CosineDecy'; did you mean 'CosineDecay'"):
        nnc.optim.schedules.get({"class_name": "CosineDecy", "config": {}})


def test_evaluate_return_dict_and_verbose(capsys):
    x, y = toy()
    model = make()
    logs = model.evaluate(x, y)
    assert model.evaluate(x, y, return_dict=False) == [logs["loss"], logs["accuracy"]]
    bare = make(metrics=())
    assert bare.evaluate(x, y, return_dict=False) == bare.evaluate(x, y)["loss"]
    capsys.readouterr()
    model.predict(x, verbose=1)
    assert capsys.readouterr().out.startswith("predict: 64 samples")
    model.predict(x)
    assert capsys.readouterr().out == ""


def test_an_interrupted_fit_still_ends_its_callbacks():
    x, y = toy()

    class Interrupt(Steps):
        def on_batch_end(self, batch, logs=None):
            super().on_batch_end(batch, logs)
            if self.batches == 3:
                raise KeyboardInterrupt

    model, cb = make(), Interrupt()
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[cb])
    assert cb.ended and model.watchers == []


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
def test_ctrl_c_inside_an_optimizer_step_waits_for_the_whole_step():
    model = make().build()
    x, y = toy()
    loss = nnc.losses.get("softmax_cross_entropy")
    loss.forward(model.forward(x, training=True), y)
    model.backward(loss.backward())
    opt = model.optimizer
    before = [p.copy() for _, layer, name in opt._targets for p in [layer.params[name]]]
    real_update = type(opt).update

    def update(key, param, grad):   # Ctrl-C arrives after the first parameter is written
        real_update(opt, key, param, grad)
        if key.endswith("0.dense.W"):
            os.kill(os.getpid(), signal.SIGINT)

    opt.update = update
    with pytest.raises(KeyboardInterrupt):
        opt.step()
    after = [layer.params[name] for _, layer, name in opt._targets]
    assert all(not np.array_equal(a, b) for a, b in zip(before, after)) and opt.iterations == 1


def test_sample_and_class_weights_scale_loss_and_gradient():
    x, y = toy(n=12)
    w = np.array([0.5, 2.0, 1.0, 0.0] * 3)

    def mlp(lr=0.1):   # no batch norm: its statistics would see the duplicated samples below
        model = nnc.Sequential([Dense(8, activation="tanh", input_shape=(4,)), Dense(3)], seed=0)
        return model.compile(nnc.optim.SGD(lr), "softmax_cross_entropy").build()

    loss = nnc.losses.get("softmax_cross_entropy")
    a = mlp()
    out = a.forward(x, training=True)
    per_sample = np.array([loss.forward(out[i:i + 1], y[i:i + 1]) for i in range(12)])  # l_i, one at a time
    weighted, _ = a.train_on_batch(x, y, sample_weight=w)
    assert weighted == pytest.approx(np.sum(w * per_sample) / 12, rel=1e-5)
    # Keras' sum_over_batch_size: sum_i w_i g_i / 12 is the step of sample i repeated 2 w_i times (M in
    # all, mean gradient sum_i 2 w_i g_i / M) with the learning rate scaled by M / 24.
    keep = np.repeat(np.arange(12), (2 * w).astype(int))
    c = mlp(lr=0.1 * len(keep) / 24)
    c.train_on_batch(x[keep], y[keep])
    np.testing.assert_allclose(a.layers[0].params["W"], c.layers[0].params["W"], rtol=1e-5, atol=1e-6)
    # class_weight is a sample weight per class
    cw = {0: 2.0, 1: 0.5, 2: 1.0}
    b, d = make(0), make(0)
    b.fit(x, y, batch_size=12, epochs=1, verbose=0, shuffle=False, class_weight=cw)
    d.fit(x, y, batch_size=12, epochs=1, verbose=0, shuffle=False, sample_weight=np.vectorize(cw.get)(y))
    np.testing.assert_array_equal(b.layers[0].params["W"], d.layers[0].params["W"])
    plain = make(0)
    plain.fit(x, y, 12, 1, 0, shuffle=False)
    assert not np.array_equal(b.layers[0].params["W"], plain.layers[0].params["W"])


def test_bad_weights_are_refused_before_training():
    x, y = toy(n=12, k=3)
    model = make().build()
    before = model.get_weights()
    for kwargs, match in [(dict(sample_weight=np.ones(11)), r"one weight per sample, shape \(12,\), got \(11,\)"),
                          (dict(sample_weight=-np.ones(12)), "finite and >= 0"),
                          (dict(class_weight={0: 1.0, 1: 2.0}), r"no weight for class\(es\) \[2\]"),
                          (dict(class_weight=[1, 2, 3]), "must be a dict")]:
        with pytest.raises((ValueError, TypeError), match=match):
            model.fit(x, y, verbose=0, **kwargs)
    assert all(np.array_equal(p, q) for p, q in zip(before, model.get_weights()))


def test_evaluate_weights_the_loss_like_fit():
    x, y = toy(n=12)
    model = make().build()
    w = np.array([0.0, 1.0, 3.0] * 4)
    weighted = model.evaluate(x, y, batch_size=5, sample_weight=w)["loss"]
    kept = np.repeat(np.arange(12), w.astype(int))      # sample i counted w_i times
    assert weighted == pytest.approx(model.evaluate(x[kept], y[kept])["loss"] * len(kept) / 12, rel=1e-5)
