"""The checks fit/evaluate/predict run once per call, before the loop: data that would train a wrong
or useless model without an error (wrong shapes, unscaled pixels, labels the loss cannot use, a loss
that does not match the last layer) is refused or warned about here, naming the cause and the fix."""
import warnings

import numpy as np

from .. import losses as losses_mod
from ..validation import all_finite

# Layers that pass their input's kind (logits, probabilities) through unchanged.
_TRANSPARENT = ("Dropout", "SpatialDropout2D", "Flatten", "Input", "Reshape")


def _plain(fn, name, a):
    """Refuse what np.asarray would turn silently into something else: masks and imaginary parts."""
    if isinstance(a, np.ma.MaskedArray):
        raise TypeError(f"{fn}: {name} is a masked array; nnc ignores masks, so masked values would be used "
                        f"as data. Pass {name}.filled(value), or drop the masked samples first")
    a = np.asarray(a)
    if a.dtype.kind == "c":
        raise TypeError(f"{fn}: {name} is complex ({a.dtype}); nnc computes with real numbers and would drop "
                        f"the imaginary part. Pass np.real({name}), np.abs({name}), or the two parts as features")
    return a


def as_inputs(fn, x, dtype, name="x") -> np.ndarray:
    """x as a C-contiguous array of the model's dtype, checked: batch axis, numeric, finite."""
    x = _plain(fn, name, x)
    if x.ndim < 2:
        raise ValueError(f"{fn}: {name} must have a batch axis, shape (N, ...), got shape {x.shape}; "
                         f"for one sample use {name}[None]")
    if x.shape[0] == 0:
        raise ValueError(f"{fn}: {name} is empty (0 samples)")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise TypeError(f"{fn}: {name} must be numeric, got dtype {x.dtype}")
    x = np.ascontiguousarray(x, dtype=dtype)
    if not all_finite(x):
        raise ValueError(f"{fn}: {name} contains NaN or inf")
    return x


def as_targets(fn, y, n, dtype, name="y", x_name="x") -> np.ndarray:
    y = _plain(fn, name, y)
    if y.ndim == 0 or y.shape[0] != n:
        raise ValueError(f"{fn}: {x_name} has {n} samples but {name} has shape {y.shape}; they must match")
    if np.issubdtype(y.dtype, np.floating):
        if not all_finite(y):
            raise ValueError(f"{fn}: {name} contains NaN or inf")
        return np.ascontiguousarray(y, dtype=dtype)
    if not np.issubdtype(y.dtype, np.integer) and y.dtype != bool:
        raise TypeError(f"{fn}: {name} must be numeric, got dtype {y.dtype}")
    return np.ascontiguousarray(y)


def validation_pair(fn, data, dtype, input_shape) -> tuple[np.ndarray, np.ndarray]:
    """validation_data (x_val, y_val), checked like the training data, before any step."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        what = f"a {type(data).__name__}" + (f" of length {len(data)}" if isinstance(data, (tuple, list)) else "")
        raise ValueError(f"{fn}: validation_data must be a tuple (x_val, y_val), got {what}")
    xv = as_inputs(fn, data[0], dtype, name="validation_data x")
    check_input_shape(fn, input_shape, xv.shape[1:], name="validation_data x")
    yv = as_targets(fn, data[1], xv.shape[0], dtype, name="validation_data y", x_name="validation_data x")
    return xv, yv


def check_input_shape(fn, expected, got, name="x"):
    """Refuse data whose per-sample shape is not the one the model was declared or built for."""
    if expected is None:
        return
    expected, got = tuple(expected), tuple(got)
    if got == expected:
        return
    msg = (f"{fn}: the model expects inputs of per-sample shape {expected} but {name} has shape "
           f"(N, {', '.join(map(str, got))})")
    if len(expected) == 3 and got == (expected[1], expected[2], expected[0]):
        hint = (f"nnc is NCHW (channels first) and these images look channels-last (N, H, W, C): "
                f"pass {name}.transpose(0, 3, 1, 2)")
    elif len(expected) == 3 and expected[0] == 1 and got == expected[1:]:
        hint = f"add the channel axis: {name}[:, None] (shape (N, 1, {expected[1]}, {expected[2]}))"
    elif int(np.prod(got)) == int(np.prod(expected)):
        hint = f"reshape it: {name}.reshape(len({name}), {', '.join(map(str, expected))})"
    else:
        hint = f"pass data of that shape, or build a new model with input_shape={got}"
    raise ValueError(f"{msg}; {hint}")


def _peak(x):
    """The largest |x|, without np.abs(x)'s temporary the size of the training set."""
    return float(max(np.max(x), -np.min(x)))


def warn_unscaled(fn, x):
    """One warning for inputs far outside the unit range (raw pixels): they saturate or kill units.
    Returns the largest |x|, which predict/evaluate compare their inputs with."""
    peak = _peak(x)
    if peak > 100:
        warnings.warn(f"{fn}: x has values up to {peak:g}; a network trains poorly (or not at all) on unscaled "
                      f"inputs. Scale them first: x / 255 for 8-bit images, or nnc.data.standardize(x)",
                      stacklevel=3)
    return peak


def warn_scale_mismatch(fn, x, trained_peak, name="x"):
    """Warn when x is on a scale far above the data the model was trained on (raw pixels into a model
    fit on x / 255): the outputs would be confident nonsense."""
    if trained_peak is None or trained_peak > 10:
        return
    peak = _peak(x)
    if peak > 100:
        warnings.warn(f"{fn}: {name} has values up to {peak:g} but the model was trained on inputs up to "
                      f"{trained_peak:.3g}; scale {name} as the training data was (x / 255 for 8-bit images)",
                      stacklevel=3)


# ---- the loss against the model's last layer -------------------------------------------------------
def _output_kind(model):
    """(kind, layer) of what the model outputs: "softmax", "sigmoid", "linear" (unbounded scores),
    another activation's kernel name, or None when it cannot tell (a custom layer)."""
    for layer in reversed(model.layers):
        cls = type(layer).__name__
        if cls in _TRANSPARENT:
            continue
        if cls in ("Dense", "Conv2D"):
            act = layer.activation
            kernel = None if act is None else getattr(act, "kernel", None)
            return ("linear" if kernel in (None, "identity") else kernel), layer
        if cls == "BatchNormalization":
            return "linear", layer
        kernel = getattr(layer, "kernel", None)
        if isinstance(kernel, str):
            return ("linear" if kernel == "identity" else kernel), layer
        return None, layer
    return None, None


def check_loss_output(model, loss, output_shape):
    """Refuse a loss that cannot work with the last layer; warn when it works badly."""
    kind, layer = _output_kind(model)
    where = f"the last layer '{layer.name}'" if layer is not None else "the model"
    if loss.class_target and tuple(output_shape) == (1,):
        raise ValueError(f"fit: loss {loss.name!r} needs one output per class, but the model has 1 output unit: "
                         "over one class the loss is the same whatever the weights. For a binary task use "
                         "Dense(2) with this loss, or Dense(1) with loss='binary_crossentropy' "
                         "(activation='sigmoid', or nnc.losses.BinaryCrossentropy(from_logits=True))")
    if kind is None:
        return
    logits = getattr(loss, "from_logits", True)
    if isinstance(loss, losses_mod.CategoricalCrossentropy) and not logits and kind != "softmax":
        if kind != "sigmoid":
            raise ValueError(
                f"fit: loss {loss.name!r} with from_logits=False expects probabilities, but {where} outputs "
                f"unbounded scores ({kind}, logits): the clipped loss would fall while accuracy stays at chance. "
                f"Use loss=nnc.losses.{type(loss).__name__}(from_logits=True) or loss='softmax_cross_entropy', "
                "or end the model with activation='softmax'")
    elif isinstance(loss, losses_mod.BinaryCrossentropy) and not logits and kind not in ("sigmoid", "softmax"):
        raise ValueError(
            f"fit: loss 'binary_crossentropy' with from_logits=False expects probabilities in [0, 1], but {where} "
            f"outputs unbounded scores ({kind}). Use loss=nnc.losses.BinaryCrossentropy(from_logits=True), "
            "or give the last layer activation='sigmoid'")
    elif logits and kind == "softmax" and isinstance(loss, (losses_mod.SoftmaxCrossEntropy,
                                                            losses_mod.CategoricalCrossentropy)):
        fix = ("loss='sparse_categorical_crossentropy' (class ids) or 'categorical_crossentropy' (one-hot), "
               "which take probabilities" if isinstance(loss, losses_mod.SoftmaxCrossEntropy)
               else f"nnc.losses.{type(loss).__name__}(from_logits=False)")
        warnings.warn(f"fit: {where} applies softmax and loss {loss.name!r} expects logits, so softmax is applied "
                      f"twice and learning slows down. Remove the softmax (end with Dense(K)), or use {fix}",
                      stacklevel=3)
    elif logits and kind == "sigmoid" and isinstance(loss, losses_mod.BinaryCrossentropy):
        warnings.warn(f"fit: {where} applies sigmoid and BinaryCrossentropy(from_logits=True) expects logits, so "
                      "sigmoid is applied twice. Remove the sigmoid, or use "
                      "nnc.losses.BinaryCrossentropy(from_logits=False)", stacklevel=3)


def check_targets(fn, name, y, loss, output_shape):
    """Targets the loss can use with this output, checked on the whole array before any step: class ids
    in range (or rows of the output's width) for class losses, the output's shape for elementwise ones."""
    if output_shape is None:
        return
    out = (len(y),) + tuple(output_shape)
    if loss.class_target:
        K = output_shape[-1]
        if len(output_shape) != 1:
            return
        if y.ndim == 2 and y.shape[1] != 1:
            if y.shape[1] != K:
                raise ValueError(f"{fn}: {name} has rows of {y.shape[1]} values but the model outputs {K} classes; "
                                 f"give class ids (N,) or one-hot rows (N, {K})")
            return
        if y.ndim > 2:
            raise ValueError(f"{fn}: {name} must be class ids (N,) or one-hot rows (N, {K}), got shape {y.shape}")
        ids = y.reshape(-1)
        if ids.dtype.kind == "f" and not np.array_equal(ids, np.round(ids)):
            raise ValueError(f"{fn}: {name} holds non-integer values but loss {loss.name!r} needs class ids "
                             f"0 .. {K - 1}; for a regression use loss='mse'")
        lo, hi = (int(ids.min()), int(ids.max())) if ids.size else (0, 0)
        if lo < 0 or hi >= K:
            raise ValueError(f"{fn}: {name} holds class ids {lo} .. {hi} but the model outputs {K} classes "
                             f"(ids 0 .. {K - 1}); give the last layer {max(hi + 1, K)} units, or relabel "
                             "the classes 0 .. K-1")
        return
    shape = y.shape if not (y.ndim == 1 and out[1:] == (1,)) else y.shape + (1,)
    if shape != out:
        hint = ""
        if y.ndim == 1 and len(out) == 2 and out[1] > 1:
            hint = (f"; for class ids use a class loss such as 'softmax_cross_entropy', or one-hot the "
                    f"targets with nnc.data.one_hot({name}, {out[1]})")
        raise ValueError(f"{fn}: {name} has shape {y.shape} but the model outputs {out} and loss {loss.name!r} "
                         f"compares them element by element{hint}")
    if isinstance(loss, losses_mod.BinaryCrossentropy) and y.size and (y.min() < 0 or y.max() > 1):
        raise ValueError(f"{fn}: binary_crossentropy targets must be in [0, 1], {name} has values "
                         f"{y.min():g} .. {y.max():g}")


def sample_weights(fn, y, sample_weight, class_weight, output_shape) -> np.ndarray | None:
    """The per-sample weights (N,) float64 that fit multiplies into the loss, or None: sample_weight
    times class_weight[class of the sample]. Checked: shape, finite, >= 0, a weight for every class."""
    if sample_weight is None and class_weight is None:
        return None
    n = len(y)
    w = np.ones(n)
    if sample_weight is not None:
        sw = _plain(fn, "sample_weight", sample_weight)
        if sw.shape not in ((n,), (n, 1)):
            raise ValueError(f"{fn}: sample_weight must have one weight per sample, shape ({n},), got {sw.shape}")
        if not (np.issubdtype(sw.dtype, np.number) or sw.dtype == bool):
            raise TypeError(f"{fn}: sample_weight must be numbers, got dtype {sw.dtype}")
        w = w * sw.reshape(n).astype(np.float64)
    if class_weight is not None:
        if not isinstance(class_weight, dict):
            raise TypeError(f"{fn}: class_weight must be a dict {{class id: weight}}, got "
                            f"{type(class_weight).__name__}")
        for k, v in class_weight.items():
            if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
                raise TypeError(f"{fn}: class_weight keys must be class ids (integers >= 0), got {k!r}")
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise TypeError(f"{fn}: class_weight[{k!r}] must be a number, got {v!r}")
        if y.ndim == 2 and y.shape[1] > 1:
            ids = y.argmax(axis=1)
        elif output_shape is not None and tuple(output_shape) == (1,):
            ids = (y.reshape(n) > 0.5).astype(np.int64)   # binary targets 0/1 for one output unit
        else:
            ids = y.reshape(n).astype(np.int64)
        missing = sorted(set(np.unique(ids).tolist()) - {int(k) for k in class_weight})
        if missing:
            raise ValueError(f"{fn}: class_weight has no weight for class(es) {missing}; give every class of y "
                             f"a weight (1.0 leaves a class as it is)")
        table = np.zeros(int(max(max(class_weight), ids.max())) + 1)
        for k, v in class_weight.items():
            table[int(k)] = float(v)
        w = w * table[ids]
    if not all_finite(w) or (w < 0).any():
        raise ValueError(f"{fn}: sample weights must be finite and >= 0, got values from {w.min():g} to {w.max():g}")
    if not w.any():
        raise ValueError(f"{fn}: every sample weight is 0; nothing would be learned")
    return w
