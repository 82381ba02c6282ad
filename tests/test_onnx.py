"""nnc.onnx.export: every layer type, alone and in a LeNet-5, run by onnxruntime and compared with nnc.

The expected outputs are nnc's own forward pass (model.predict, training=False), computed by nnc's kernels;
the exported graph is computed by onnxruntime's (or, for the float64 ops onnxruntime's CPU provider lacks:
Conv, AveragePool, GlobalAveragePool, Erf, by onnx's reference evaluator). Two implementations agree.
"""
import inspect
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx.reference import ReferenceEvaluator

import nnc
import nnc.onnx
from nnc.layers import (ELU, GELU, SELU, Activation, AvgPool2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten,
                        GlobalAveragePooling2D, Identity, Input, LeakyReLU, MaxPool2D, PReLU, ReLU, Sigmoid, Softmax,
                        Softplus, Softsign, SpatialDropout2D, Step, Swish, Tanh)
from nnc.layers.activations import KERNELS
from nnc.layers.base import Layer

# ONNX attributes are float32 (alpha, epsilon), so float64 agrees to ~1e-7 relative where they are used.
TOL = {np.dtype(np.float32): dict(rtol=1e-4, atol=1e-5), np.dtype(np.float64): dict(rtol=1e-6, atol=1e-9)}


def run_onnx(path, x):
    """The exported model's output for x: onnxruntime, or onnx's reference evaluator where onnxruntime's
    CPU provider has no kernel for this dtype (it has no float64 Conv, AveragePool or Erf)."""
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as e:     # onnxruntime's NotImplemented has no public class to catch
        assert x.dtype == np.float64 and "NOT_IMPLEMENTED" in str(e), e
        return ReferenceEvaluator(str(path)).run(None, {"x": x})[0]
    return session.run(None, {"x": x})[0]


def randomize(model, rng):
    """Random weights everywhere, with batch norm's running variance and gamma away from 0, so no
    parameter is the trivial value its initializer gives (zero biases, unit variance, ...)."""
    for layer in model.layers:
        for store in (layer.params, layer.buffers):
            for k, a in store.items():
                a[...] = rng.uniform(0.5, 1.5, a.shape) if k in ("running_var", "gamma") else \
                    rng.standard_normal(a.shape)


def check_round_trip(model, tmp_path, rng, batches=(1, 5), **kw):
    model.build()
    randomize(model, rng)
    path = tmp_path / "model.onnx"
    proto = nnc.onnx.export(model, path, **kw)
    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded, full_check=True)
    assert loaded.SerializeToString() == proto.SerializeToString()
    for n in batches:     # one file, several batch sizes: the batch axis is free
        x = rng.standard_normal((n, *model.input_shape)).astype(model.dtype)
        want = model.predict(x)
        if kw.get("softmax"):
            e = np.exp(want - want.max(axis=-1, keepdims=True))
            want = e / e.sum(axis=-1, keepdims=True)
        got = run_onnx(path, x)
        assert got.dtype == model.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, **TOL[model.dtype])
    return loaded


# (id, layers, per-sample input shape): odd sizes, non-square windows, strides, every padding form.
IMG = (3, 9, 11)
CASES = [
    ("dense", lambda: [Dense(5)], (7,)),
    ("dense_no_bias_relu", lambda: [Dense(3, activation="relu", use_bias=False)], (7,)),
    ("dense_regularized", lambda: [Dense(4, kernel_regularizer="l2", activity_regularizer="l1")], (6,)),
    ("conv_valid", lambda: [Conv2D(4, 3)], IMG),
    ("conv_same", lambda: [Conv2D(2, 5, padding="same")], IMG),
    # kernel 2, stride 2 on 9 rows: nnc pads 1 row on both sides (ONNX's SAME_UPPER would pad only the end)
    ("conv_same_even_kernel_stride2", lambda: [Conv2D(3, (2, 4), strides=2, padding="same")], IMG),
    ("conv_int_padding_stride", lambda: [Conv2D(5, (3, 2), strides=(2, 3), padding=1)], IMG),
    ("conv_pair_padding_dilation", lambda: [Conv2D(2, 3, padding=(2, 1), dilation_rate=(2, 1), activation="tanh")],
     IMG),
    ("conv_no_bias_dilated_same", lambda: [Conv2D(2, 3, padding="same", dilation_rate=2, use_bias=False)], IMG),
    ("maxpool", lambda: [MaxPool2D(2)], IMG),
    ("maxpool_overlap_padding", lambda: [MaxPool2D(3, strides=2, padding=1)], IMG),
    ("maxpool_same", lambda: [MaxPool2D((3, 2), strides=(1, 2), padding="same")], IMG),
    ("avgpool", lambda: [AvgPool2D((3, 2))], IMG),
    ("avgpool_padding_counts_zeros", lambda: [AvgPool2D(3, strides=2, padding=(1, 1))], IMG),
    ("avgpool_same", lambda: [AvgPool2D(3, strides=1, padding="same")], IMG),
    ("global_avgpool", lambda: [GlobalAveragePooling2D()], IMG),
    ("batchnorm_dense", lambda: [BatchNormalization(epsilon=0.01)], (6,)),
    ("batchnorm_conv", lambda: [BatchNormalization()], IMG),
    ("batchnorm_no_scale_center", lambda: [BatchNormalization(center=False, scale=False)], IMG),
    ("dropout", lambda: [Dropout(0.5)], (6,)),
    ("spatial_dropout", lambda: [SpatialDropout2D(0.5)], IMG),
    ("flatten", lambda: [Flatten()], IMG),
    ("input", lambda: [Input((4,)), Dense(3)], (4,)),
    ("prelu_dense", lambda: [PReLU()], (6,)),
    ("prelu_per_channel", lambda: [PReLU(shared_axes=(2, 3))], IMG),
    ("relu", lambda: [ReLU()], IMG),
    ("sigmoid", lambda: [Sigmoid()], (6,)),
    ("tanh", lambda: [Tanh()], (6,)),
    ("leaky_relu", lambda: [LeakyReLU(alpha=0.2)], (6,)),
    ("elu", lambda: [ELU(alpha=0.7)], (6,)),
    ("selu", lambda: [SELU()], (6,)),
    ("gelu", lambda: [GELU()], (6,)),
    ("gelu_tanh", lambda: [GELU(approximate="tanh")], (6,)),
    ("swish", lambda: [Swish()], (6,)),
    ("softplus", lambda: [Softplus()], (6,)),
    ("softsign", lambda: [Softsign()], (6,)),
    ("softmax", lambda: [Softmax()], (6,)),
    ("softmax_channels", lambda: [Softmax(axis=1)], IMG),
    ("identity", lambda: [Identity()], (6,)),
    ("step", lambda: [Step()], (6,)),
] + [(f"activation_{name}", (lambda name=name: [Activation(name)]), (6,))
      for name in ["relu", "sigmoid", "tanh", "softmax", "leaky_relu", "elu", "selu", "gelu", "gelu_tanh", "swish",
                   "silu", "softplus", "softsign", "step", "identity", "linear"]]


@pytest.mark.parametrize("dtype,opset", [("float32", None), ("float64", None), ("float32", nnc.onnx.MIN_OPSET)])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_each_layer_round_trips(case, dtype, opset, tmp_path, rng):
    _, layers, shape = case
    model = nnc.Sequential([Input(shape), *layers()], dtype=dtype, seed=0)
    check_round_trip(model, tmp_path, rng, opset=opset)


def public_layer_classes():
    return {obj for name, obj in vars(nnc.layers).items()
            if inspect.isclass(obj) and issubclass(obj, Layer) and obj is not Layer and not name.startswith("_")}


def test_every_layer_class_is_covered():
    covered = {type(layer) for _, layers, _ in CASES for layer in layers()}
    missing = public_layer_classes() - covered
    assert not missing, f"no export case for {sorted(c.__name__ for c in missing)}: add it to CASES"
    # every activation kernel (Activation("name") and fused activation="name" use them) has its ONNX form
    assert set(nnc.onnx._ACTIVATIONS) == set(KERNELS)


@pytest.mark.parametrize("opset", [13, 18, 20])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_uses_the_gelu_op_only_from_opset_20(opset, approximate, tmp_path, rng):
    model = nnc.Sequential([Input((6,)), GELU(approximate=approximate)], seed=0)
    ops = {n.op_type for n in check_round_trip(model, tmp_path, rng, opset=opset).graph.node}
    assert ("Gelu" in ops) == (opset >= 20)
    assert ("Erf" in ops) == (opset < 20 and approximate == "none")


def lenet5(dtype="float32"):
    return nnc.Sequential([
        Conv2D(6, 5, padding=2, activation="tanh", input_shape=(1, 28, 28), name="conv1"), AvgPool2D(2, name="pool1"),
        Conv2D(16, 5, name="conv2"), BatchNormalization(name="bn2"), Activation("relu", name="act2"),
        MaxPool2D(2, name="pool2"), Flatten(name="flatten"), Dense(120, activation="relu", name="fc1"),
        Dropout(0.25, name="drop"), Dense(84, activation="relu", name="fc2"), Dense(10, name="logits")],
        seed=0, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_trained_lenet5_round_trips_with_softmax(dtype, tmp_path, rng):
    model = lenet5(dtype).compile(nnc.optim.SGD(0.01), "softmax_cross_entropy", ["accuracy"])
    x = rng.uniform(0, 1, (32, 1, 28, 28))
    model.fit(x, rng.integers(0, 10, 32), epochs=1, batch_size=16, verbose=0)   # running stats move
    path = tmp_path / "lenet.onnx"
    nnc.onnx.export(model, path, softmax=True)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    x = x[:7].astype(dtype)
    logits = model.predict(x)
    probs = run_onnx(path, x)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(probs, e / e.sum(axis=1, keepdims=True), **TOL[np.dtype(dtype)])
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)


def test_graph_names_follow_the_layers_and_the_batch_is_free(tmp_path):
    model = lenet5().build()
    proto = nnc.onnx.export(model, tmp_path / "m.onnx")
    assert [i.name for i in proto.graph.input] == ["x"] and [o.name for o in proto.graph.output] == ["y"]
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "N" and [d.dim_value for d in dims[1:]] == [1, 28, 28]
    assert [d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim[1:]] == [10]
    names = {t.name for t in proto.graph.initializer}
    assert {"conv1.W", "conv1.b", "bn2.gamma", "bn2.running_var", "fc1.W", "logits.b"} <= names
    # the weights as nnc holds them: Dense's W (in, out), Conv2D's (C_out, C_in, kh, kw)
    W = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    np.testing.assert_array_equal(W["fc1.W"], model.get_layer("fc1").params["W"])
    np.testing.assert_array_equal(W["conv1.W"], model.get_layer("conv1").params["W"])
    assert proto.opset_import[0].version == nnc.onnx.DEFAULT_OPSET and proto.producer_name == "nnc"


def test_layer_names_that_clash_with_the_graph_input_are_renamed(tmp_path, rng):
    model = nnc.Sequential([Input((5,)), Dense(4, name="x"), Dense(3, name="y"), ReLU(name="x_1")], seed=0)
    check_round_trip(model, tmp_path, rng)


def test_export_leaves_the_model_as_it_was(tmp_path, rng):
    model = lenet5().build()
    x = rng.standard_normal((3, 1, 28, 28)).astype(np.float32)
    before, out = model.get_weights(), model.predict(x)
    nnc.onnx.export(model, tmp_path / "m.onnx", softmax=True)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.predict(x), out)


# ---- refused ---------------------------------------------------------------------------------------------
class Doubler(Layer):
    """A user's own layer: nnc cannot know its ONNX form."""

    def forward(self, x, training=False):
        self._ensure_built(x)
        return 2 * x


class MyDense(Dense):
    """A subclass of a known layer may compute something else: refused too."""


@pytest.mark.parametrize("layer,name", [(Doubler(), "Doubler"), (MyDense(3), "MyDense")])
def test_a_layer_without_an_onnx_form_is_refused_by_name(layer, name, tmp_path):
    model = nnc.Sequential([Input((4,)), Dense(3), layer], seed=0).build()
    path = tmp_path / "m.onnx"
    with pytest.raises(NotImplementedError, match=rf"\({name}\) has no ONNX form; the layers that export are "
                                                  r".*Conv2D"):
        nnc.onnx.export(model, path)
    assert not os.listdir(tmp_path)


def test_a_fused_activation_without_an_onnx_form_is_refused():
    model = nnc.Sequential([Input((4,)), Dense(3, activation=Doubler(name="twice"))], seed=0).build()
    with pytest.raises(NotImplementedError, match=r"twice \(Doubler\)"):
        nnc.onnx.to_proto(model)


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(opset=12), ValueError, r"opset must be an integer from 13 to \d+"),
    (dict(opset=10_000), ValueError, "opset must be an integer"),
    (dict(opset="18"), ValueError, "opset must be an integer"),
    (dict(softmax="yes"), TypeError, "softmax must be True or False"),
])
def test_bad_arguments_are_refused(kwargs, exc, match, tmp_path):
    with pytest.raises(exc, match=match):
        nnc.onnx.export(lenet5().build(), tmp_path / "m.onnx", **kwargs)
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("last", [lambda: Softmax(), lambda: Dense(3, activation="softmax"),
                                  lambda: Activation("softmax")])
def test_softmax_on_a_model_that_ends_with_one_is_refused(last, tmp_path):
    model = nnc.Sequential([Input((4,)), Dense(3), last()], seed=0).build()
    with pytest.raises(ValueError, match="already ends with a softmax"):
        nnc.onnx.export(model, tmp_path / "m.onnx", softmax=True)
    nnc.onnx.export(model, tmp_path / "m.onnx")    # without softmax=True it exports


def test_an_unbuilt_model_and_other_objects_are_refused(tmp_path):
    with pytest.raises(RuntimeError, match=r"not built yet.*model.build\(input_shape\)"):
        nnc.onnx.export(nnc.Sequential([Dense(3)]), tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="model must be an nnc.Sequential, got Perceptron"):
        nnc.onnx.export(nnc.Perceptron(), tmp_path / "m.onnx")
    assert not os.listdir(tmp_path)


def test_an_unwritable_path_raises_and_leaves_no_file(tmp_path):
    model = lenet5().build()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        nnc.onnx.export(model, tmp_path / "missing" / "m.onnx")
    with pytest.raises(IsADirectoryError):
        nnc.onnx.export(model, tmp_path)
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "m.onnx").write_bytes(b"old")
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running with permission to write anywhere (root): no unwritable folder to test")
        with pytest.raises(PermissionError):
            nnc.onnx.export(model, folder / "m.onnx")
        assert os.listdir(folder) == ["m.onnx"] and (folder / "m.onnx").read_bytes() == b"old"
    finally:
        folder.chmod(0o700)


def test_a_refused_file_creation_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old")
    real_open = os.open

    def refuse(name, *args, **kwargs):     # what a folder without write permission does, even for root
        if os.path.dirname(os.fspath(name)) == str(tmp_path):
            raise PermissionError(13, "Permission denied", name)
        return real_open(name, *args, **kwargs)
    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(PermissionError):
        nnc.onnx.export(lenet5().build(), path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["m.onnx"] and path.read_bytes() == b"old"


def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old")

    def broken(self):
        raise MemoryError("serialization ran out of memory")
    monkeypatch.setattr(onnx.ModelProto, "SerializeToString", broken)
    with pytest.raises(MemoryError):
        nnc.onnx.export(lenet5().build(), path)
    assert os.listdir(tmp_path) == ["m.onnx"] and path.read_bytes() == b"old"


def test_without_onnx_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)     # `import onnx` now raises ImportError
    with pytest.raises(ImportError, match=r'pip install "\.\[onnx\]"'):
        nnc.onnx.to_proto(lenet5().build())


def test_import_nnc_does_not_import_onnx_or_tqdm():
    code = ("import sys, nnc, nnc.onnx; bad = [m for m in ('onnx', 'onnxruntime', 'tqdm') if m in sys.modules]; "
            "sys.exit(f'imported {bad}' if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr + done.stdout


def test_model_to_onnx_is_export(tmp_path, rng):
    model = lenet5().build()
    proto = model.to_onnx(tmp_path / "m.onnx", opset=20, softmax=True)
    assert proto.opset_import[0].version == 20 and proto.graph.node[-1].op_type == "Softmax"
    x = rng.standard_normal((2, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(run_onnx(tmp_path / "m.onnx", x).sum(axis=1), 1, rtol=1e-5)
