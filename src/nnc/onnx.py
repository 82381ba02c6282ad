"""Export a trained Sequential to ONNX, to serve it with onnxruntime or load it into another framework.

    import nnc.onnx
    nnc.onnx.export(model, "model.onnx")            # or model.to_onnx("model.onnx")
    import onnxruntime
    y = onnxruntime.InferenceSession("model.onnx").run(None, {"x": x})[0]   # == model.predict(x)

The graph has one input "x" of shape (N, *model.input_shape) (N, the batch, left free) and one output
"y"; images stay NCHW, as in nnc. Each layer becomes a few ONNX nodes named after the layer, its
weights initializers named "<layer>.W", "<layer>.b", ... The table `_LAYERS` below is the whole
mapping, one small function per layer type:

    Dense                  Gemm(x, W, b)           W (in, out) as nnc keeps it: y = x W + b
    Conv2D                 Conv                    W (C_out, C_in, kh, kw), pads from nnc's own "same"
    MaxPool2D / AvgPool2D  MaxPool / AveragePool   floor mode; padded cells count as zeros in the average
    GlobalAveragePooling2D GlobalAveragePool, Flatten   (N, C, H, W) -> (N, C)
    BatchNormalization     BatchNormalization      inference form: the running mean and variance
    Dropout, Input         Identity                (dropout does nothing in inference)
    Flatten                Flatten(axis=1)         row-major, as nnc flattens
    activations            Relu, Sigmoid, Elu, ... GELU as Gelu from opset 20, else x Phi(x) through Erf

Training-only parts are left out: regularizers (their penalties only change the loss), dropout's masks,
batch norm's batch statistics. `import nnc` does not import onnx; this module imports it on first use.
"""
import math
import os

import numpy as np

from .layers import (ELU, GELU, SELU, Activation, AvgPool2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten,
                     GlobalAveragePooling2D, Identity, Input, LeakyReLU, MaxPool2D, PReLU, ReLU, Sigmoid, Softmax,
                     Softplus, Softsign, SpatialDropout2D, Step, Swish, Tanh)

__all__ = ["export", "to_proto", "DEFAULT_OPSET", "MIN_OPSET"]

# 18: read by onnxruntime since 1.14 and by the other current runtimes; GELU needs 20 for its own op.
DEFAULT_OPSET = 18
# Softmax's axis means one axis (not "flatten from here") from opset 13 on.
MIN_OPSET = 13


def _onnx():
    """The onnx package, or an ImportError that says how to get it."""
    try:
        import onnx
    except ImportError as e:
        raise ImportError('nnc.onnx needs the onnx package: pip install ".[onnx]" in nnc\'s source folder '
                          '(onnx, and onnxruntime to run the exported model)') from e
    return onnx


class _Graph:
    """The graph being built: its nodes, its initializers (the weights) and the names already taken."""

    def __init__(self, onnx, dtype, opset):
        self.onnx, self.dtype, self.opset = onnx, np.dtype(dtype), opset
        self.nodes, self.initializers = [], []
        self.taken = {"x", "y"}

    def name(self, base):
        """`base`, or `base_1`, `base_2`, ... if a tensor already has that name."""
        name, i = base, 0
        while name in self.taken:
            i += 1
            name = f"{base}_{i}"
        self.taken.add(name)
        return name

    def weight(self, name, array):
        """An initializer holding a copy of `array` in the model's dtype; returns its name."""
        name = self.name(name)
        array = np.asarray(array, dtype=self.dtype)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def op(self, op_type, inputs, output, **attrs):
        """Append one node writing tensor `output` (a name already chosen); returns `output`."""
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [output], name=output, **attrs))
        return output

    def tmp(self, op_type, inputs, out, **attrs):
        """A node whose output is an intermediate tensor named `<out>/<op_type>`."""
        return self.op(op_type, inputs, self.name(f"{out}/{op_type}"), **attrs)


# ---- activations: one function per backend kernel, with the kernel's own arguments and defaults --------
def _elementwise(op_type):
    def convert(g, x, out):
        return g.op(op_type, [x], out)
    return convert


def _leaky_relu(g, x, out, alpha=0.01):
    return g.op("LeakyRelu", [x], out, alpha=float(alpha))


def _elu(g, x, out, alpha=1.0):
    return g.op("Elu", [x], out, alpha=float(alpha))


def _selu(g, x, out):
    from .backend.reference.activations import SELU_ALPHA, SELU_SCALE
    return g.op("Selu", [x], out, alpha=SELU_ALPHA, gamma=SELU_SCALE)


def _swish(g, x, out):
    """x * sigmoid(x), written out with ops every opset has."""
    return g.op("Mul", [x, g.tmp("Sigmoid", [x], out)], out)


def _step(g, x, out):
    """1 where x >= 0 else 0, NaN passed through as nnc's kernel does: Where(IsNaN(x), x, x >= 0)."""
    zero = g.weight(f"{out}.zero", 0.0)
    ge = g.tmp("Cast", [g.tmp("GreaterOrEqual", [x, zero], out)], out, to=_tensor_type(g.onnx, g.dtype))
    return g.op("Where", [g.tmp("IsNaN", [x], out), x, ge], out)


def _gelu(g, x, out):
    """x Phi(x) = 0.5 x (1 + erf(x / sqrt(2))), the exact form."""
    if g.opset >= 20:
        return g.op("Gelu", [x], out, approximate="none")
    u = g.tmp("Erf", [g.tmp("Div", [x, g.weight(f"{out}.sqrt2", math.sqrt(2.0))], out)], out)
    half_x = g.tmp("Mul", [x, g.weight(f"{out}.half", 0.5)], out)
    return g.op("Mul", [half_x, g.tmp("Add", [u, g.weight(f"{out}.one", 1.0)], out)], out)


def _gelu_tanh(g, x, out):
    """0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), the tanh approximation."""
    if g.opset >= 20:
        return g.op("Gelu", [x], out, approximate="tanh")
    cube = g.tmp("Mul", [g.tmp("Mul", [x, x], out), x], out)
    inner = g.tmp("Add", [x, g.tmp("Mul", [cube, g.weight(f"{out}.c", 0.044715)], out)], out)
    t = g.tmp("Tanh", [g.tmp("Mul", [inner, g.weight(f"{out}.k", math.sqrt(2.0 / math.pi))], out)], out)
    half_x = g.tmp("Mul", [x, g.weight(f"{out}.half", 0.5)], out)
    return g.op("Mul", [half_x, g.tmp("Add", [t, g.weight(f"{out}.one", 1.0)], out)], out)


def _softmax(g, x, out, axis=-1):
    return g.op("Softmax", [x], out, axis=int(axis))


_ACTIVATIONS = {
    "identity": _elementwise("Identity"), "relu": _elementwise("Relu"), "sigmoid": _elementwise("Sigmoid"),
    "tanh": _elementwise("Tanh"), "softplus": _elementwise("Softplus"), "softsign": _elementwise("Softsign"),
    "leaky_relu": _leaky_relu, "elu": _elu, "selu": _selu, "swish": _swish, "step": _step,
    "gelu": _gelu, "gelu_tanh": _gelu_tanh, "softmax": _softmax,
}


def _activation(g, layer, x, out):
    """An activation layer by its kernel name, with the arguments the layer passes to the kernel."""
    return _ACTIVATIONS[layer.kernel](g, x, out, *layer._kernel_args())


# ---- layers -------------------------------------------------------------------------------------------
def _fused(g, layer, z, out):
    """The activation fused into a Dense/Conv2D, applied to its pre-activation z."""
    if layer.activation is None:
        return g.op("Identity", [z], out)
    return _convert(g, layer.activation, z, out)


def _dense(g, layer, x, out):
    """y = x W + b: Gemm(A=x (N, D), B=W (D, units), C=b), no transpose since nnc's W is (in, out)."""
    inputs = [x, g.weight(f"{layer.name}.W", layer.params["W"])]
    if layer.use_bias:
        inputs.append(g.weight(f"{layer.name}.b", layer.params["b"]))
    z = g.op("Gemm", inputs, out if layer.activation is None else g.name(f"{out}/Gemm"))
    return z if layer.activation is None else _fused(g, layer, z, out)


def _pads(layer):
    """ONNX pads are [h_begin, w_begin, h_end, w_end]; nnc pads symmetrically by the (ph, pw) it resolved
    at build time (for "same" too, so no auto_pad: ONNX's SAME_UPPER would put an odd extra row at the end)."""
    ph, pw = layer._pad
    return [ph, pw, ph, pw]


def _conv2d(g, layer, x, out):
    """Conv(x, W, b): cross-correlation over NCHW with W (C_out, C_in, kh, kw), the layout ONNX uses."""
    inputs = [x, g.weight(f"{layer.name}.W", layer.params["W"])]
    if layer.use_bias:
        inputs.append(g.weight(f"{layer.name}.b", layer.params["b"]))
    z = g.op("Conv", inputs, out if layer.activation is None else g.name(f"{out}/Conv"),
             kernel_shape=list(layer.kernel_size), strides=list(layer.strides), pads=_pads(layer),
             dilations=list(layer.dilation_rate))
    return z if layer.activation is None else _fused(g, layer, z, out)


def _maxpool(g, layer, x, out):
    """Padded cells never win, in ONNX as in nnc; floor mode (ceil_mode=0) gives nnc's output size."""
    return g.op("MaxPool", [x], out, kernel_shape=list(layer.pool_size), strides=list(layer.strides),
                pads=_pads(layer), ceil_mode=0)


def _avgpool(g, layer, x, out):
    """nnc divides every window by pool_h * pool_w, padded zeros included: count_include_pad=1."""
    return g.op("AveragePool", [x], out, kernel_shape=list(layer.pool_size), strides=list(layer.strides),
                pads=_pads(layer), ceil_mode=0, count_include_pad=1)


def _global_avgpool(g, layer, x, out):
    """GlobalAveragePool keeps (N, C, 1, 1); nnc's layer gives (N, C)."""
    return g.op("Flatten", [g.tmp("GlobalAveragePool", [x], out)], out, axis=1)


def _batchnorm(g, layer, x, out):
    """gamma (x - running_mean) / sqrt(running_var + epsilon) + beta over axis 1, for (N, F) and (N, C, H, W).
    Without scale/center nnc uses gamma = 1 / beta = 0, which the layer keeps as constants."""
    n = layer.name
    inputs = [x, g.weight(f"{n}.gamma", layer.params.get("gamma", layer._gamma)),
              g.weight(f"{n}.beta", layer.params.get("beta", layer._beta)),
              g.weight(f"{n}.running_mean", layer.buffers["running_mean"]),
              g.weight(f"{n}.running_var", layer.buffers["running_var"])]
    return g.op("BatchNormalization", inputs, out, epsilon=float(layer.epsilon))


def _prelu(g, layer, x, out):
    """alpha has the per-sample shape with 1 on the shared axes, e.g. (C, 1, 1): it broadcasts as PRelu's slope."""
    return g.op("PRelu", [x, g.weight(f"{layer.name}.alpha", layer.params["alpha"])], out)


def _identity(g, layer, x, out):
    return g.op("Identity", [x], out)


def _flatten(g, layer, x, out):
    return g.op("Flatten", [x], out, axis=1)


_LAYERS = {
    Dense: _dense, Conv2D: _conv2d, MaxPool2D: _maxpool, AvgPool2D: _avgpool,
    GlobalAveragePooling2D: _global_avgpool, BatchNormalization: _batchnorm, PReLU: _prelu,
    Flatten: _flatten, Input: _identity, Dropout: _identity, SpatialDropout2D: _identity,
    **{cls: _activation for cls in (Activation, ReLU, Sigmoid, Tanh, LeakyReLU, ELU, SELU, GELU, Swish, Softplus,
                                    Softsign, Softmax, Identity, Step)},
}


def _convert(g, layer, x, out):
    """The nodes for one layer reading tensor x; returns the name of its output (`out`)."""
    # The exact class: a subclass may compute something else in its forward.
    fn = _LAYERS.get(type(layer))
    if fn is None:
        known = ", ".join(sorted({cls.__name__ for cls in _LAYERS}))
        raise NotImplementedError(f"nnc.onnx.export: layer {layer.label} has no ONNX form; the layers that "
                                  f"export are {known}")
    return fn(g, layer, x, out)


def _tensor_type(onnx, dtype):
    return {np.dtype(np.float32): onnx.TensorProto.FLOAT, np.dtype(np.float64): onnx.TensorProto.DOUBLE}[dtype]


def _ends_with_softmax(model):
    """A Softmax / Activation("softmax") layer last, or a last Dense/Conv2D with activation="softmax"."""
    last = model.layers[-1]
    fused = getattr(last, "activation", None)      # a layer for Dense/Conv2D (a name for Activation)
    return getattr(last, "kernel", None) == "softmax" or getattr(fused, "kernel", None) == "softmax"


def _check_opset(onnx, opset):
    newest = onnx.defs.onnx_opset_version()
    if opset is None:
        return min(DEFAULT_OPSET, newest)
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or not MIN_OPSET <= opset <= newest:
        raise ValueError(f"nnc.onnx.export: opset must be an integer from {MIN_OPSET} to {newest} (the newest this "
                         f"onnx {onnx.__version__} knows), or None for {DEFAULT_OPSET}; got {opset!r}")
    return int(opset)


def to_proto(model, *, opset=None, softmax=False):
    """The onnx.ModelProto of a built Sequential (what `export` writes). Arguments as for `export`."""
    from .models.saving import MODELS     # the model classes (not nnc.models itself: Sequential imports us)
    onnx = _onnx()
    if not isinstance(model, tuple(MODELS[name] for name in MODELS.names())):
        raise TypeError(f"nnc.onnx.export: model must be an nnc.Sequential, got {type(model).__name__}")
    if not model.built:
        raise RuntimeError("nnc.onnx.export: the model is not built yet, so it has no weights to export; "
                           "call model.build(input_shape) or train it with fit first")
    if not isinstance(softmax, (bool, np.bool_)):
        raise TypeError(f"nnc.onnx.export: softmax must be True or False, got {softmax!r}")
    if softmax and _ends_with_softmax(model):
        raise ValueError("nnc.onnx.export: softmax=True, but the model already ends with a softmax; a second "
                         "one would flatten the probabilities. Leave softmax=False")
    opset = _check_opset(onnx, opset)
    g = _Graph(onnx, model.dtype, opset)
    # Each layer's output tensor is named after the layer (chosen first, so no helper tensor takes the
    # name); the last one is the graph's output "y".
    outs = [g.name(layer.name) for layer in model.layers]
    if not softmax:
        outs[-1] = "y"
    x = "x"
    for layer, out in zip(model.layers, outs):
        x = _convert(g, layer, x, out)
    if softmax:
        x = g.op("Softmax", [x], "y", axis=-1)

    elem = _tensor_type(onnx, g.dtype)
    helper = onnx.helper
    graph = helper.make_graph(
        g.nodes, model.name,
        [helper.make_tensor_value_info("x", elem, ["N", *model.input_shape])],
        [helper.make_tensor_value_info("y", elem, ["N", *model.output_shape])],
        initializer=g.initializers)
    from . import __version__
    proto = helper.make_model_gen_version(graph, opset_imports=[helper.make_opsetid("", opset)],
                                          producer_name="nnc", producer_version=__version__,
                                          doc_string=f"nnc Sequential {model.name!r}")
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export(model, path, *, opset=None, softmax=False):
    """Write the built Sequential `model` to the ONNX file `path`; returns the onnx.ModelProto written.

        input  "x": (N, *model.input_shape), N free;  output "y": (N, *model.output_shape)
        the model's dtype (float32 or float64) for both and for every weight

    opset: the ONNX operator set, MIN_OPSET (13) up to the newest the installed onnx knows; None takes
    DEFAULT_OPSET (18). GELU becomes ONNX's Gelu op from opset 20 on, else its erf (or tanh) formula.
    softmax=True appends a softmax over the last axis, for a model that outputs logits (trained with
    "softmax_cross_entropy"), so the exported model gives probabilities.

    The graph is the inference form, `model.predict(x)` == the model's output: dropout is the identity
    and batch norm uses its running statistics. Regularizers only change the training loss and are
    not exported. ONNX attributes are float32 numbers (alpha of LeakyReLU/ELU, batch norm's epsilon), so
    a float64 model agrees with nnc to about 1e-7 relative where it uses them. onnxruntime's CPU
    provider has no float64 Conv, AveragePool or Erf: serve a float32 model there.

    A layer type with no ONNX form (your own Layer subclass) raises NotImplementedError naming it; an
    unbuilt model RuntimeError. The file is written whole or not at all (a temporary file renamed)."""
    proto = to_proto(model, opset=opset, softmax=softmax)
    from .models._archive import write_atomic
    data = proto.SerializeToString()
    write_atomic(os.fspath(path), lambda f: f.write(data))
    return proto
