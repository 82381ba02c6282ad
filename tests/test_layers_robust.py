"""Layers that survive a bad call: a refused call changes nothing, and messages name the layer."""
import numpy as np
import pytest

import nnc
from nnc.layers import (AvgPool2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPool2D, PReLU,
                        ReLU)


# ---- build: a built layer keeps its weights (transfer learning) ------------------------------------

def test_build_of_a_built_layer_with_the_same_shape_keeps_the_weights(rng):
    layer = Dense(3)
    assert layer.build((4,), np.float32, np.random.default_rng(0)) == (3,)
    W, b = layer.params["W"], layer.params["b"]
    before = W.copy()
    assert layer.build((4,), np.float32, np.random.default_rng(1)) == (3,)
    assert layer.params["W"] is W and layer.params["b"] is b
    np.testing.assert_array_equal(W, before)


def test_build_of_a_built_layer_with_another_shape_or_dtype_raises_and_changes_nothing():
    layer = Dense(3, name="head")
    layer.build((4,), np.float32, np.random.default_rng(0))
    W = layer.params["W"].copy()
    with pytest.raises(ValueError, match=r"head \(Dense\): already built for input \(N, 4\) float32, "
                                         r"cannot rebuild it for \(N, 5\) float32"):
        layer.build((5,))
    with pytest.raises(ValueError, match=r"already built for input \(N, 4\) float32, cannot rebuild it for "
                                         r"\(N, 4\) float64"):
        layer.build((4,), np.float64)
    assert layer.input_shape == (4,) and layer.dtype == np.float32
    np.testing.assert_array_equal(layer.params["W"], W)


def test_a_trained_layer_keeps_its_weights_in_a_new_model():
    first = Dense(3, input_shape=(4,))
    nnc.Sequential([first, Dense(2)], seed=0).build()
    W = first.params["W"].copy()
    nnc.Sequential([first, Dense(5)], seed=1).build()
    np.testing.assert_array_equal(first.params["W"], W)


def test_a_failed_build_leaves_the_layer_unbuilt():
    layer = Dense(3)
    with pytest.raises(ValueError, match="Flatten"):
        layer.build((2, 3))
    assert not layer.built and layer.params == {} and layer.input_shape is None and layer.dtype is None
    assert layer.build((6,)) == (3,)


# ---- a first call with a bad dtype leaves the layer usable ----------------------------------------

def _layers():
    """(factory, good float32 input shape) for every layer kind with state worth poisoning."""
    return {"Dense": (lambda: Dense(3, activation="relu"), (2, 4)),
            "Conv2D": (lambda: Conv2D(2, 3, padding="same"), (2, 1, 5, 4)),
            "BatchNormalization": (lambda: BatchNormalization(), (4, 3)),
            "BatchNormalization2D": (lambda: BatchNormalization(), (2, 3, 2, 2)),
            "PReLU": (lambda: PReLU(shared_axes=(2, 3)), (2, 3, 2, 2)),
            "MaxPool2D": (lambda: MaxPool2D(2), (2, 1, 4, 4)),
            "AvgPool2D": (lambda: AvgPool2D(2), (2, 1, 4, 4)),
            "Dropout": (lambda: Dropout(0.5), (4, 6)),
            "ReLU": (lambda: ReLU(), (2, 3)),
            "Flatten": (lambda: Flatten(), (2, 2, 3))}


BAD_DTYPES = [np.int64, np.float16, bool, object, np.complex128]


def _snapshot(layer):
    return (layer.built, layer.input_shape, layer.dtype, {k: v.copy() for k, v in layer.params.items()},
            {k: v.copy() for k, v in layer.buffers.items()}, dict(layer.grads), getattr(layer, "_cache", None))


def _same_state(a, b):
    assert a[:3] == b[:3]
    for x, y in ((a[3], b[3]), (a[4], b[4])):
        assert x.keys() == y.keys()
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])
    assert a[5].keys() == b[5].keys() and all(a[5][k] is b[5][k] for k in a[5])
    assert a[6] is b[6]


def _run(layer, x, training):
    if isinstance(layer, Dropout):
        layer.rng = np.random.default_rng(7)     # the same mask for the probe and the fresh layer
    return layer.forward(x, training=training)


@pytest.mark.parametrize("bad", BAD_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("kind", list(_layers()))
def test_a_bad_dtype_first_call_changes_nothing(B, kind, bad, rng):
    make, shape = _layers()[kind]
    layer = make()
    x = rng.standard_normal(shape)
    before = _snapshot(layer)
    with pytest.raises(TypeError, match=rf"{layer.name} \({type(layer).__name__}\): the input must be float32 "
                                        rf"or float64, got {np.dtype(bad).name}; convert it with x.astype"):
        layer.forward(x.astype(bad), training=True)
    _same_state(_snapshot(layer), before)
    good = x.astype(np.float32)
    out = _run(layer, good, training=True)
    assert out.dtype == np.float32 and layer.dtype == np.float32
    fresh = make()
    fresh.build(shape[1:], np.float32)
    fresh.set_weights(layer.get_weights() if not isinstance(layer, BatchNormalization) else make_bn_start(fresh))
    np.testing.assert_array_equal(_run(fresh, good, training=True), out)


def make_bn_start(layer):
    return layer.get_weights()   # a fresh batch norm starts from the same gamma, beta and running stats


@pytest.mark.parametrize("bad", BAD_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("kind", list(_layers()))
def test_a_bad_dtype_call_on_a_built_layer_changes_nothing(B, kind, bad, rng):
    make, shape = _layers()[kind]
    layer = make()
    x = rng.standard_normal(shape).astype(np.float32)
    out = _run(layer, x, training=False)
    before = _snapshot(layer)
    with pytest.raises(TypeError, match="the input must be float32 or float64"):
        layer.forward(x.astype(bad), training=True)
    _same_state(_snapshot(layer), before)
    np.testing.assert_array_equal(_run(layer, x, training=False), out)


def test_a_float64_call_on_a_float32_layer_says_to_convert(rng):
    layer = Dense(3, name="d")
    layer.forward(rng.standard_normal((2, 4)).astype(np.float32))
    with pytest.raises(TypeError, match=r"d \(Dense\): the layer is built for float32 input, got float64; "
                                        r"convert it with x.astype\(np.float32\)"):
        layer.forward(rng.standard_normal((2, 4)))


@pytest.mark.parametrize("x, err, msg", [
    ([[1.0, 2.0]], TypeError, r"the input must be a numpy.ndarray of float32 or float64, got list"),
    (np.ones(4, np.float32), ValueError, r"needs a batch axis, shape \(N, ...\), got shape \(4,\)"),
    (np.ones((0, 4), np.float32), ValueError, r"the input is empty"),
    (np.ones((4, 2), np.float32).T, ValueError, r"must be C-contiguous; pass np.ascontiguousarray\(x\)"),
    (np.ones((2, 2, 2), np.float32), ValueError, r"put a Flatten\(\) layer before it")])
def test_bad_first_inputs_are_refused_before_building(x, err, msg):
    layer = Dense(3)
    with pytest.raises(err, match=msg):
        layer.forward(x)
    assert not layer.built and layer.params == {}


# ---- kernel messages name the layer ------------------------------------------------------------------

def test_kernel_errors_name_the_layer_and_keep_the_cause(B, rng):
    layer = Dense(3, name="dense_1")
    layer.forward(rng.standard_normal((2, 4)).astype(np.float32))
    cache = layer._cache
    with pytest.raises(ValueError, match=r"^dense_1 \(Dense\): dense_backward: dout must have shape") as info:
        layer.backward(np.ones((2, 5), np.float32))
    assert isinstance(info.value.__cause__, ValueError) and "dense_1" not in str(info.value.__cause__)
    assert layer._cache is cache and layer.grads == {}
    # A non-contiguous batch on a built layer reaches the kernel, whose message now names the layer too.
    with pytest.raises(ValueError, match=r"^dense_1 \(Dense\): dense_forward: x must be C-contiguous"):
        layer.forward(np.ones((4, 2), np.float32).T)
    assert layer._cache is cache


@pytest.mark.parametrize("layer", [Conv2D(2, 3), MaxPool2D(2), BatchNormalization(), PReLU(), ReLU(), Dropout(0.5)],
                         ids=lambda lyr: type(lyr).__name__)
def test_backward_before_forward_names_the_layer(layer):
    with pytest.raises(RuntimeError, match=rf"^{layer.name} \({type(layer).__name__}\): backward\(\) called before"):
        layer.backward(np.ones((2, 3), np.float32))


# ---- batch norm: one NaN batch does not poison the running statistics --------------------------------

@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 2, 2)])
def test_batchnorm_refuses_a_non_finite_batch_and_keeps_its_running_stats(B, shape, rng):
    bn = BatchNormalization(name="bn")
    x = rng.standard_normal(shape).astype(np.float32)
    bn.forward(x, training=True)
    mean, var, cache = bn.running_mean.copy(), bn.running_var.copy(), bn._cache
    bad = x.copy()
    bad[1, 0] = np.nan
    with pytest.raises(ValueError, match=r"bn \(BatchNormalization\): the batch mean or variance is NaN or inf.*"
                                         r"running_mean and running_var were left unchanged"):
        bn.forward(bad, training=True)
    np.testing.assert_array_equal(bn.running_mean, mean)
    np.testing.assert_array_equal(bn.running_var, var)
    assert bn._cache is cache
    bn.forward(x, training=False)              # inference still works
    bn.forward(x, training=True)               # and training goes on
    assert np.isfinite(bn.running_var).all()


def test_flatten_backward_checks_dout(rng):
    layer = Flatten(name="flat")
    with pytest.raises(RuntimeError, match=r"flat \(Flatten\): backward\(\) called before forward\(\)"):
        layer.backward(np.ones((2, 6), np.float32))
    layer.forward(rng.standard_normal((2, 2, 3)).astype(np.float32))
    with pytest.raises(ValueError, match=r"flat \(Flatten\): dout must have shape \(N, 6\), got \(2, 5\)"):
        layer.backward(np.ones((2, 5), np.float32))


def test_an_ndarray_subclass_of_the_right_dtype_is_accepted(tmp_path, rng):
    layer = Dense(3)
    x = rng.standard_normal((2, 4)).astype(np.float32)
    out = layer.forward(x)
    mm = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32, shape=x.shape)
    mm[...] = x
    np.testing.assert_array_equal(layer.forward(mm), out)


@pytest.mark.parametrize("make, kernel, shape", [(lambda: Dense(3), "dense_forward", (2, 4)),
                                                 (lambda: Conv2D(2, 3), "conv2d_forward", (1, 1, 4, 4)),
                                                 (lambda: BatchNormalization(), "batchnorm_forward", (4, 3))])
def test_a_first_call_the_kernel_refuses_leaves_the_layer_unbuilt(B, monkeypatch, make, kernel, shape, rng):
    layer = make()

    def refuse(*args, **kwargs):
        raise ValueError(f"{kernel}: refused")

    x = rng.standard_normal(shape).astype(np.float32)
    with monkeypatch.context() as m:
        m.setattr(B, kernel, refuse)
        with pytest.raises(ValueError, match=rf"^{layer.name} \({type(layer).__name__}\): {kernel}: refused"):
            layer.forward(x, training=True)
    assert not layer.built and layer.params == {} and layer.buffers == {} and layer.input_shape is None
    layer.forward(x, training=True)
    assert layer.built
    with monkeypatch.context() as m:      # later refusals leave the built layer built
        m.setattr(B, kernel, refuse)
        with pytest.raises(ValueError, match="refused"):
            layer.forward(x)
    assert layer.built and layer.params
