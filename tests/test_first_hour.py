"""No silent failures (issue 10): the mistakes of a first hour with nnc get an error or a warning that
names the cause and the fix, before any training step."""
import warnings

import numpy as np
import pytest

import nnc
from nnc.layers import Conv2D, Dense, Flatten, ReLU, Softmax


def mlp(out=3, activation=None, d=4, seed=0):
    return nnc.Sequential([Dense(8, activation="relu", input_shape=(d,)), Dense(out, activation=activation)],
                          seed=seed)


def data(n=40, d=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x, rng.integers(0, k, n)


def weights(model):
    return [a.copy() for a in model.get_weights()]


def unchanged(model, before):
    return all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))


# ---- input shapes ---------------------------------------------------------------------------------
def test_declared_input_shape_that_disagrees_with_the_data_is_refused():
    model = nnc.Sequential([Conv2D(4, 3, input_shape=(1, 28, 28)), Flatten(), Dense(10)], seed=0)
    model.compile("sgd", "softmax_cross_entropy")
    y = np.zeros(2, int)
    with pytest.raises(ValueError, match=r"nnc is NCHW .* x.transpose\(0, 3, 1, 2\)"):
        model.fit(np.zeros((2, 28, 28, 1), np.float32), y, verbose=0)
    with pytest.raises(ValueError, match=r"per-sample shape \(1, 28, 28\) but x has shape \(N, 3, 32, 32\)"):
        model.fit(np.zeros((2, 3, 32, 32), np.float32), y, verbose=0)
    with pytest.raises(ValueError, match=r"add the channel axis: x\[:, None\]"):
        model.predict(np.zeros((2, 28, 28), np.float32))
    assert not model.built   # nothing was silently rebuilt from the data


def test_forward_casts_like_fit_and_predict():
    model = mlp()
    x = np.random.default_rng(0).standard_normal((5, 4))      # float64 into a float32 model
    np.testing.assert_array_equal(model.forward(x), model.predict(x))
    assert model(x.tolist()).dtype == np.float32
    with nnc.reference():                                      # the README's reference-mode snippet
        np.testing.assert_allclose(model.forward(x), model.predict(x), rtol=1e-5, atol=1e-6)


# ---- layers used twice ------------------------------------------------------------------------------
def test_one_layer_instance_twice_is_refused_at_add():
    a = ReLU()
    with pytest.raises(ValueError, match="layer 'relu' is already in this model"):
        nnc.Sequential([Dense(4, input_shape=(3,)), a, Dense(4), a])


# ---- loss against the last layer ---------------------------------------------------------------------
def test_probability_loss_after_logits_is_refused():
    x, y = data()
    model = mlp().compile("sgd", "sparse_categorical_crossentropy")
    before = weights(model.build())
    with pytest.raises(ValueError, match=r"from_logits=True\) or loss='softmax_cross_entropy'"):
        model.fit(x, y, verbose=0)
    assert unchanged(model, before) and model.epoch == 0
    with pytest.raises(ValueError, match="BinaryCrossentropy\\(from_logits=True\\)"):
        mlp(out=1).compile("sgd", "binary_crossentropy").fit(x, y % 2, verbose=0)
    # the right pairs train without a word
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mlp(activation="softmax").compile("sgd", "sparse_categorical_crossentropy").fit(x, y, verbose=0)
        mlp().compile("sgd", nnc.losses.SparseCategoricalCrossentropy(from_logits=True)).fit(x, y, verbose=0)
        mlp(out=1, activation="sigmoid").compile("sgd", "binary_crossentropy").fit(x, y % 2, verbose=0)


def test_softmax_output_into_a_logits_loss_warns():
    x, y = data()
    model = nnc.Sequential([Dense(3, input_shape=(4,)), Softmax()], seed=0).compile("sgd", "softmax_cross_entropy")
    with pytest.warns(UserWarning, match="softmax is applied twice"):
        model.fit(x, y, verbose=0)


def test_one_unit_with_a_class_loss_is_refused():
    x, y = data(k=2)
    with pytest.raises(ValueError, match=r"Dense\(2\) with this loss, or Dense\(1\) with loss='binary_crossentropy'"):
        mlp(out=1).compile("sgd", "softmax_cross_entropy").fit(x, y, verbose=0)


# ---- labels --------------------------------------------------------------------------------------------
def test_one_hot_and_ids_are_both_accepted_by_the_cross_entropies():
    x, y = data()
    losses = []
    for loss, target in [("sparse_categorical_crossentropy", nnc.data.one_hot(y, 3)),
                         ("categorical_crossentropy", y)]:
        model = mlp(activation="softmax").compile("sgd", loss)
        losses.append(model.evaluate(x, target)["loss"])
    assert losses[0] == pytest.approx(losses[1])


def test_labels_the_loss_cannot_use_are_refused_before_training():
    x, y = data()
    model = mlp().compile("sgd", "softmax_cross_entropy")
    before = weights(model.build())
    with pytest.raises(ValueError, match=r"class ids 3 \.\. 5 but the model outputs 3 classes"):
        model.fit(x, y + 3, verbose=0)
    with pytest.raises(ValueError, match=r"one-hot the targets with nnc.data.one_hot\(y, 3\)"):
        mlp().compile("sgd", "mse").fit(x, y, verbose=0)
    with pytest.raises(ValueError, match=r"validation_data y holds class ids 5 \.\. 7"):
        model.fit(x, y, verbose=0, validation_data=(x, y + 5))
    assert unchanged(model, before) and model.epoch == 0


# ---- validation data and odd arrays ----------------------------------------------------------------
def test_bad_validation_data_is_found_before_the_first_step():
    x, y = data()
    model = mlp().compile("sgd", "softmax_cross_entropy")
    before = weights(model.build())
    bad_x = x.copy()
    bad_x[3, 1] = np.nan
    for val, match in [((x[:5], y[:4]), "validation_data x has 5 samples but validation_data y has shape"),
                       ((bad_x, y), "validation_data x contains NaN"),
                       ((x[:, :3], y), r"validation_data x has shape \(N, 3\)"),
                       ((x,), "validation_data must be a tuple")]:
        with pytest.raises(ValueError, match=match):
            model.fit(x, y, verbose=0, validation_data=val)
    assert unchanged(model, before) and model.optimizer.iterations == 0


def test_complex_and_masked_inputs_are_refused():
    x, y = data()
    model = mlp().compile("sgd", "softmax_cross_entropy")
    with pytest.raises(TypeError, match="x is complex"):
        model.fit(x + 1j, y, verbose=0)
    with pytest.raises(TypeError, match=r"x is a masked array.*x.filled\(value\)"):
        model.predict(np.ma.masked_less(x, 0))
    with pytest.raises(TypeError, match="y is a masked array"):
        model.fit(x, np.ma.masked_equal(y, 0), verbose=0)


# ---- unscaled inputs and dead networks ----------------------------------------------------------------
def test_unscaled_pixels_warn_once_with_the_fix():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (20, 4)).astype(np.uint8)
    model = mlp().compile("sgd", "softmax_cross_entropy")
    with pytest.warns(UserWarning, match=r"values up to 25\d; .* x / 255") as record:
        model.fit(x, rng.integers(0, 3, 20), epochs=2, verbose=0)
    assert sum("unscaled" in str(w.message) for w in record) == 1


@pytest.mark.filterwarnings("ignore:fit. the loss has stayed")
def test_dead_relu_layer_is_named():
    x, y = data()
    model = nnc.Sequential([Dense(8, activation="relu", input_shape=(4,), name="hidden",
                                  bias_initializer=nnc.initializers.Constant(-100.0)), Dense(3)], seed=0)
    model.compile(nnc.optim.SGD(0.1), "softmax_cross_entropy")
    with pytest.warns(RuntimeWarning, match="every ReLU unit of layer 'hidden' output 0 .* learning rate") as rec:
        model.fit(x, y, epochs=3, verbose=0)
    assert sum("hidden" in str(w.message) for w in rec) == 1          # once per fit, not per epoch


def test_loss_stuck_at_chance_warns():
    x, y = data()
    model = nnc.Sequential([Dense(3, input_shape=(4,), kernel_initializer="zeros")], seed=0)
    model.compile(nnc.optim.SGD(1e-9), "softmax_cross_entropy")
    with pytest.warns(RuntimeWarning, match=r"stayed at log\(3\) = 1.0986, .* for 3 epochs"):
        model.fit(x, y, epochs=3, verbose=0)


def test_a_refused_fit_leaves_an_unbuilt_model_as_it_was():
    x, y = data()
    model = mlp().compile("sgd", "softmax_cross_entropy")
    state = model.rng.bit_generator.state
    with pytest.raises(ValueError, match="class ids"):
        model.fit(x, y + 3, verbose=0)
    assert not model.built and model.rng.bit_generator.state == state
    fresh = mlp().compile("sgd", "softmax_cross_entropy")
    model.fit(x, y, verbose=0)
    fresh.fit(x, y, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), fresh.get_weights()))


def test_probability_loss_refuses_logits_in_an_explicit_loop():
    x, y = data()
    model = mlp()
    loss_fn = nnc.losses.SparseCategoricalCrossentropy()
    with pytest.raises(ValueError, match=r"expects probabilities in \[0, 1\].*from_logits=True"):
        loss_fn.forward(model.forward(x), y)
    with pytest.raises(ValueError, match="BinaryCrossentropy\\(from_logits=True\\)"):
        nnc.losses.BinaryCrossentropy().forward(np.array([[2.5], [-1.0]], np.float32), np.array([1, 0]))
    assert nnc.losses.BinaryCrossentropy().forward(np.array([[0.9], [0.2]]), np.array([1.0, 0.0])) > 0


def test_raw_pixels_into_a_model_trained_on_scaled_ones_warn():
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, (20, 4)).astype(np.uint8)
    y = rng.integers(0, 3, 20)
    model = mlp().compile("sgd", "softmax_cross_entropy")
    with pytest.warns(UserWarning, match=r"validation_data x has values up to 255 but the model was trained on inputs up to 1;"):
        model.fit(raw / 255, y, verbose=0, validation_data=(raw, y))
    for call in (lambda: model.predict(raw), lambda: model.evaluate(raw, y)):
        with pytest.warns(UserWarning, match="x / 255 for 8-bit images"):
            call()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(raw / 255)
