"""The kernel contract: the argument checks both backends run, so both raise the same clear error for the
same mistake (the scalar, array and window checks they build on are nnc.validation).

Every native kernel runs these before any pointer reaches C: C code assumes what is checked here
(dtype, rank, C-contiguity, alignment, total sizes that fit in a C int, and for a backward pass the
whole cache: its arrays against each other and against dout; _cache_checks.py). Messages name the
function, the argument, what was expected and what was given:
    ValueError: dense_forward: x must be 2-D (N, D), got shape (28, 28, 1)
    ValueError: dense_backward: cache.x has 64 features but cache.W expects 8 (cache.W is (8, 16))

NaN in, NaN out (both backends, every kernel): a result element whose formula reads a NaN is NaN.
A comparison that picks a branch does not turn a NaN into a constant: relu's x > 0, step's x >= 0,
leaky/PReLU's slope choice, mae's sign, the clip range of the cross-entropies and KL, and the hinge
margins all let the NaN through (so relu(NaN) = NaN and its gradient is NaN). A loss is NaN when any
element of its output is NaN (the class-id losses included, so TerminateOnNaN sees it), and its
gradient is NaN wherever the output is (class ids act as their one-hot rows; a NaN true-class score
makes the whole row of the multiclass hinge NaN, since every margin reads it). Values a formula does
not read stay as they are: batch norm's inference dx = gamma * inv_std * dout does not read x.
Infinities follow IEEE arithmetic (inf - inf is NaN), alike in both backends.
"""
import math

import numpy as np

# The scalar, array and window checks live in nnc.validation (every floor uses them); the kernels
# import them from here too, beside the checks below that only the kernel contract needs.
from ..validation import (FLOAT_DTYPES, INT_MAX, Window, all_finite, check_finite, check_number,  # noqa: F401
                          check_pair, check_positive_int, check_rate, conv_output_size)

_F32, _F64 = FLOAT_DTYPES


def check_float(fn, name, a, ndim=None, layout=None, dtype=None, nonempty=True):
    """Check that `a` is a C-contiguous float32/float64 ndarray of rank `ndim`; return it.

    `layout` is the human name of the axes, e.g. "(N, C, H, W)"; `dtype`, when given, is the dtype
    the array must match (the dtype of the other operands)."""
    # Every kernel call runs this, several times: an array that passes takes the first test alone (the
    # dtypes are singletons; 0 < size <= INT_MAX implies every dimension fits in a C int). Anything
    # else takes the full walk below, which says what is wrong.
    if (isinstance(a, np.ndarray) and (a.dtype is _F32 or a.dtype is _F64) and (dtype is None or a.dtype == dtype)
            and (ndim is None or a.ndim == ndim) and (flags := a.flags).c_contiguous and flags.aligned
            and 0 < a.size <= INT_MAX):
        return a
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{fn}: {name} must be a numpy.ndarray, got {type(a).__name__}")
    if a.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{fn}: {name} must be float32 or float64, got {a.dtype}")
    if dtype is not None and a.dtype != dtype:
        raise TypeError(f"{fn}: {name} has dtype {a.dtype} but the other operands are {np.dtype(dtype)}; "
                        "convert with .astype()")
    if ndim is not None and a.ndim != ndim:
        lay = f" {layout}" if layout else ""
        raise ValueError(f"{fn}: {name} must be {ndim}-D{lay}, got shape {a.shape}")
    # Sizes before contiguity, so that a broadcast view (how the tests build an oversized array without
    # allocating it) gets the message that matters.
    if a.size > INT_MAX or any(d > INT_MAX for d in a.shape):
        raise ValueError(f"{fn}: {name} of shape {a.shape} has {a.size} elements; the kernels index with a "
                         f"C int and take at most {INT_MAX}: split the batch")
    if not a.flags.c_contiguous:
        raise ValueError(f"{fn}: {name} must be C-contiguous; pass np.ascontiguousarray({name})")
    if not a.flags.aligned:     # e.g. a float32 view at an odd byte offset into a byte buffer
        raise ValueError(f"{fn}: {name} is not aligned to its dtype ({a.dtype}); pass {name}.copy()")
    if nonempty and a.size == 0:
        raise ValueError(f"{fn}: {name} is empty (shape {a.shape}); a batch needs at least one sample")
    return a


def check_shape(fn, name, a, shape):
    """Check a.shape == shape, where None in `shape` matches any size."""
    if a.shape == shape:
        return a
    if len(a.shape) != len(shape) or any(s is not None and s != d for s, d in zip(shape, a.shape)):
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + (",)" if len(shape) == 1 else ")")
        raise ValueError(f"{fn}: {name} must have shape {want}, got {a.shape}")
    return a


def check_writable(fn, name, a):
    if not a.flags.writeable:
        raise ValueError(f"{fn}: {name} is read-only but is written in place; pass a writable copy")
    return a


def check_dense(fn, x, W, b, prefix=""):
    """dense_forward's checks: x (N, D), W (D, M), b (M,) or None, all one dtype.
    `prefix` ("cache.") names the arrays of a cache handed to the backward pass."""
    _check_x_W_b(fn, prefix, x, W, b, 2, ("(N, D)", "(D, M)", "(M,)"), in_axis=0, out_axis=1,
                 mismatch="{} features but {}W expects {}")


def _check_x_W_b(fn, prefix, x, W, b, ndim, layouts, in_axis, out_axis, mismatch):
    """The operands of a dense or conv kernel: x and the weights W of rank `ndim` (x.shape[1] ==
    W.shape[in_axis]) and the bias b of W.shape[out_axis] values or None, all of x's dtype;
    `layouts` names the axes of x, W and b for the messages."""
    check_float(fn, prefix + "x", x, ndim, layouts[0])
    check_float(fn, prefix + "W", W, ndim, layouts[1], dtype=x.dtype)
    if W.shape[in_axis] != x.shape[1]:
        raise ValueError(f"{fn}: {prefix}x has " + mismatch.format(x.shape[1], prefix, W.shape[in_axis])
                         + f" ({prefix}x is {x.shape}, {prefix}W is {W.shape})")
    if b is not None:
        check_float(fn, "b", b, 1, layouts[2], dtype=x.dtype)
        check_shape(fn, "b", b, (W.shape[out_axis],))


def check_dout(fn, dout, shape, dtype, layout=None):
    """The upstream gradient must match the forward output exactly."""
    check_float(fn, "dout", dout, len(shape), layout, dtype=dtype)
    return check_shape(fn, "dout", dout, tuple(shape))


# ---- convolution and pooling ------------------------------------------------------------------
def check_window(fn, x_shape, kernel_size, stride, padding, dilation=1, columns=True, kernel_name="kernel_size"):
    """Check the window hyperparameters against an (N, C, H, W) shape.

    Returns the Window ((kh, kw), (sh, sw), (ph, pw), (dh, dw), (Ho, Wo)); raises when the dilated kernel
    does not fit the padded input, or when the geometry overflows the C int the kernels compute in
    (padded size + stride; with `columns`, the convolution's column matrix of one image)."""
    k = check_pair(fn, kernel_name, kernel_size, 1)
    s = check_pair(fn, "stride", stride, 1)
    p = check_pair(fn, "padding", padding, 0)
    d = check_pair(fn, "dilation", dilation, 1)
    H, W = x_shape[2], x_shape[3]
    Hp, Wp = H + 2 * p[0], W + 2 * p[1]
    # The C geometry computes the padded size and rounds up divisions by the stride in int: the padded
    # size plus the stride must fit. (One test for the passing case; the loop says what is wrong.)
    if d[0] * (k[0] - 1) >= Hp or d[1] * (k[1] - 1) >= Wp or Hp + s[0] > INT_MAX or Wp + s[1] > INT_MAX:
        for axis, size, kk, ss, pp, dd in (("height", H, k[0], s[0], p[0], d[0]),
                                           ("width", W, k[1], s[1], p[1], d[1])):
            span = dd * (kk - 1) + 1
            if span > size + 2 * pp:
                what = f"kernel ({span} with dilation)" if columns else f"pool window ({kk})"
                raise ValueError(f"{fn}: the {what} is larger than the padded input "
                                 f"{axis} ({size} + 2*{pp}) for x of shape {tuple(x_shape)}")
            if size + 2 * pp + ss > INT_MAX:
                raise ValueError(f"{fn}: stride {ss} and padding {pp} are too large for the input {axis} {size}: "
                                 f"{axis} + 2*padding + stride must be at most {INT_MAX} "
                                 "(the kernels compute in C int)")
    out = (conv_output_size(H, k[0], s[0], p[0], d[0]), conv_output_size(W, k[1], s[1], p[1], d[1]))
    if columns and x_shape[1] * k[0] * k[1] * out[0] * out[1] > INT_MAX:
        raise ValueError(f"{fn}: the column matrix of one image ({x_shape[1]}*{k[0]}*{k[1]} x "
                         f"{out[0]}*{out[1]}) has more than {INT_MAX} entries")
    return Window(k, s, p, d, out)


def check_out_size(fn, shape):
    """The result of a kernel must fit the C int index too (padding can make it larger than the input)."""
    if math.prod(shape) > INT_MAX:
        raise ValueError(f"{fn}: the result would have shape {shape}, more than {INT_MAX} elements; "
                         "reduce the padding or split the batch")


def check_dims(fn, name, shape, ndim, layout):
    """A shape given as `ndim` integers >= 1 whose product fits a C int (x_shape of col2im and of
    the pooling caches) -> a tuple of Python ints."""
    if type(shape) is tuple and len(shape) == ndim and all(type(v) is int and v >= 1 for v in shape):
        dims = shape
    elif (isinstance(shape, (tuple, list)) and len(shape) == ndim
          and all(not isinstance(v, bool) and isinstance(v, (int, np.integer)) and v >= 1 for v in shape)):
        dims = tuple(int(v) for v in shape)
    else:
        raise ValueError(f"{fn}: {name} must be a tuple of {ndim} integers >= 1 {layout}, got {shape!r}")
    if math.prod(dims) > INT_MAX:
        raise ValueError(f"{fn}: {name} {dims} has {math.prod(dims)} elements; the kernels index with a "
                         f"C int and take at most {INT_MAX}: split the batch")
    return dims


def check_conv(fn, x, W, b, stride, padding, dilation, prefix=""):
    """conv2d_forward's checks: x (N, C, H, W), W (C_out, C_in, kh, kw), b (C_out,) or None.
    `prefix` ("cache.") names the arrays of a cache handed to the backward pass."""
    _check_x_W_b(fn, prefix, x, W, b, 4, ("(N, C, H, W)", "(C_out, C_in, kh, kw)", "(C_out,)"), in_axis=1,
                 out_axis=0, mismatch="{} channels but {}W expects C_in = {}")
    geometry = check_window(fn, x.shape, W.shape[2:], stride, padding, dilation)
    o = geometry[4]
    if x.shape[0] * W.shape[0] * o[0] * o[1] > INT_MAX:
        check_out_size(fn, (x.shape[0], W.shape[0]) + o)
    return geometry


def check_pool_window(fn, x_shape, pool_size, stride, padding):
    """The window of a pooling over an (N, C, H, W) shape: stride None means stride = pool_size;
    padding <= half the window (as PyTorch requires), so every window holds at least one real cell."""
    k = check_pair(fn, "pool_size", pool_size, 1)
    geometry = check_window(fn, x_shape, k, k if stride is None else stride, padding, columns=False,
                            kernel_name="pool_size")
    p, o = geometry[2], geometry[4]
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"{fn}: padding {p} must be at most half the pool size {k}")
    if k[0] * k[1] > INT_MAX:       # average pooling divides by the window's cell count, a C int
        raise ValueError(f"{fn}: the pool window {k} has more than {INT_MAX} cells")
    if x_shape[0] * x_shape[1] * o[0] * o[1] > INT_MAX:
        check_out_size(fn, tuple(x_shape[:2]) + o)
    return geometry


def check_pool(fn, x, pool_size, stride, padding):
    """Pooling checks: x (N, C, H, W) and its window (check_pool_window)."""
    check_float(fn, "x", x, 4, "(N, C, H, W)")
    return check_pool_window(fn, x.shape, pool_size, stride, padding)


# ---- activations and losses -------------------------------------------------------------------

def check_axis(fn, axis, ndim, name="axis"):
    """An axis index valid for rank `ndim` (negative counts from the end); returned non-negative."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -ndim <= axis < ndim:
        raise ValueError(f"{fn}: {name} must be an integer in [{-ndim}, {ndim}), got {axis!r}")
    return int(axis) % ndim


def check_prelu(fn, x, alpha, prefix=""):
    """x (N, ...) and alpha broadcastable to one sample x.shape[1:] (e.g. (C, 1, 1) for NCHW)."""
    check_float(fn, prefix + "x", x)
    if x.ndim < 2:
        raise ValueError(f"{fn}: {prefix}x must be at least 2-D (N, ...), got shape {x.shape}")
    check_float(fn, prefix + "alpha", alpha, dtype=x.dtype)
    sample = x.shape[1:]
    if alpha.shape == sample:      # one slope per position: nothing to broadcast
        return
    try:
        ok = alpha.ndim <= len(sample) and np.broadcast_shapes(alpha.shape, sample) == sample
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{fn}: {prefix}alpha of shape {alpha.shape} does not broadcast to one sample of "
                         f"shape {sample}")


def check_loss_pair(fn, output, target):
    """Elementwise losses: output (N, ...) and a finite float target of the same shape and dtype."""
    check_float(fn, "output", output)
    check_float(fn, "target", target, dtype=output.dtype)
    check_shape(fn, "target", target, output.shape)
    return check_finite(fn, "target", target)


def check_labels(fn, labels, N, K):
    """Class ids: shape (N,), any integer dtype or floats holding whole numbers, each in [0, K).

    Returns them as a C-contiguous int64 array (a copy of N integers, made once here)."""
    if not isinstance(labels, np.ndarray):
        raise TypeError(f"{fn}: labels must be a numpy.ndarray, got {type(labels).__name__}")
    if labels.shape != (N,):
        raise ValueError(f"{fn}: class labels must have shape ({N},), got {labels.shape}")
    if labels.dtype.kind == "f":
        check_finite(fn, "labels", labels)
        if np.any(labels != np.floor(labels)):
            bad = labels[labels != np.floor(labels)][0]
            raise ValueError(f"{fn}: float labels must be whole numbers (class ids), got {bad!r}")
    elif labels.dtype.kind not in "iu":
        raise TypeError(f"{fn}: labels must be integer class ids, got dtype {labels.dtype}")
    lo, hi = labels.min(), labels.max()
    if lo < 0 or hi >= K:
        bad = lo if lo < 0 else hi
        raise ValueError(f"{fn}: class label {bad!r} out of range [0, {K}) for output with {K} classes")
    ids = np.ascontiguousarray(labels, dtype=np.int64)
    return ids if ids.flags.aligned else ids.copy()     # a misaligned view passes ascontiguousarray as it is


def check_class_target(fn, output, target):
    """Class losses: output (N, K); target class ids (N,) or float rows (N, K) (one-hot/probabilities).

    Returns the target ready for a kernel: int64 class ids or the checked float rows."""
    check_float(fn, "output", output, 2, "(N, K)")
    if isinstance(target, np.ndarray) and target.ndim == 1:
        return check_labels(fn, target, output.shape[0], output.shape[1])
    check_float(fn, "target", target, 2, "(N, K)", dtype=output.dtype)
    check_shape(fn, "target", target, output.shape)
    return check_finite(fn, "target", target)


def check_class_ids(fn, output, target):
    """Losses that take class ids only (the hinges): output (N, K), target (N,) in [0, K) as int64."""
    if not (isinstance(target, np.ndarray) and target.ndim == 1):
        got = getattr(target, "shape", type(target).__name__)
        raise ValueError(f"{fn}: target must be class ids of shape (N,), got {got}")
    return check_class_target(fn, output, target)


def check_dropout(fn, x, rate, rng, training, spatial=False):
    """dropout_forward's checks: x float (4-D (N, C, H, W) if spatial), 0 <= rate < 1, and a numpy
    Generator when a mask will be drawn."""
    if spatial:
        check_float(fn, "x", x, 4, "(N, C, H, W)")
    else:
        check_float(fn, "x", x)
    rate = check_rate(fn, rate)
    if training and rate > 0 and not isinstance(rng, np.random.Generator):
        raise TypeError(f"{fn}: rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                        f"got {type(rng).__name__}")
    return rate


def check_batchnorm(fn, x, gamma, beta, running_mean, running_var, momentum, eps, training):
    """batchnorm_forward's checks: x (N, C) or (N, C, H, W); gamma, beta, running_mean, running_var
    (C,) of x's dtype; running stats writable when training (they are updated in place);
    0 <= momentum <= 1; eps > 0."""
    check_float(fn, "x", x)
    if x.ndim not in (2, 4):
        raise ValueError(f"{fn}: x must be 2-D (N, F) or 4-D (N, C, H, W), got shape {x.shape}")
    C = x.shape[1]
    for name, a in (("gamma", gamma), ("beta", beta), ("running_mean", running_mean),
                    ("running_var", running_var)):
        check_float(fn, name, a, 1, "(C,)", dtype=x.dtype)
        check_shape(fn, name, a, (C,))
    if training:
        check_writable(fn, "running_mean", running_mean)
        check_writable(fn, "running_var", running_var)
    # argmin finds a NaN too (NaN counts as the smallest), and costs a third of min()'s reduction.
    if not running_var[running_var.argmin()] >= 0:
        raise ValueError(f"{fn}: running_var must be >= 0")
    if not (type(momentum) is float and 0 <= momentum <= 1):     # the common case skips the general check
        momentum = check_number(fn, "momentum", momentum, minimum=0, maximum=1)
    if not (type(eps) is float and 0 < eps < math.inf):
        eps = check_number(fn, "eps", eps, minimum=0, strict=True)
    return momentum, eps


def check_axpy(fn, alpha, x, y):
    """axpy's checks: a finite scalar alpha; x and y float arrays of one shape and dtype; y writable."""
    # Optimizers call this for every parameter on every step: the passing case in one test first.
    if (type(alpha) is float and math.isfinite(alpha) and isinstance(x, np.ndarray) and isinstance(y, np.ndarray)
            and (x.dtype is _F32 or x.dtype is _F64) and y.dtype is x.dtype and x.shape == y.shape
            and (xf := x.flags).c_contiguous and xf.aligned and (yf := y.flags).c_contiguous and yf.aligned
            and yf.writeable):
        return
    check_number(fn, "alpha", alpha)
    check_float(fn, "x", x, nonempty=False)
    check_float(fn, "y", y, x.ndim, dtype=x.dtype, nonempty=False)
    check_shape(fn, "y", y, x.shape)
    check_writable(fn, "y", y)


def check_update(fn, param, grad, state, **hyper):
    """The optimizer update kernels' checks: param and grad float arrays of one shape and dtype; param
    and the state arrays (`state`: {name: array}) writable, like param, and no two of them sharing
    memory; every hyperparameter a finite number. Returns grad, copied when it shares memory with an
    array the kernel writes (the kernels read each gradient element after writing those)."""
    check_float(fn, "param", param, nonempty=False)
    check_float(fn, "grad", grad, param.ndim, dtype=param.dtype, nonempty=False)
    check_shape(fn, "grad", grad, param.shape)
    check_writable(fn, "param", param)
    written = [("param", param)]
    for name, a in state.items():
        check_float(fn, name, a, param.ndim, dtype=param.dtype, nonempty=False)
        check_shape(fn, name, a, param.shape)
        check_writable(fn, name, a)
        for other, b in written:
            if np.may_share_memory(a, b):
                raise ValueError(f"{fn}: {name} and {other} share memory; each must be an array of its own")
        written.append((name, a))
    for name, v in hyper.items():
        check_number(fn, name, v)
    if any(np.may_share_memory(grad, a) for _, a in written):
        grad = grad.copy()
    return grad

def check_col2im(fn, cols, x_shape, kernel_size, stride, padding, dilation):
    """col2im's checks: x_shape (N, C, H, W) of positive ints, a window that fits it, and cols of
    shape (N, C*kh*kw, Ho*Wo). Returns (x_shape, ((kh, kw), (sh, sw), (ph, pw), (dh, dw), (Ho, Wo)))."""
    x_shape = check_dims(fn, "x_shape", x_shape, 4, "(N, C, H, W)")
    geometry = check_window(fn, x_shape, kernel_size, stride, padding, dilation)
    (kh, kw), (Ho, Wo) = geometry[0], geometry[4]
    N, C = x_shape[:2]
    check_float(fn, "cols", cols, 3, "(N, C*kh*kw, Ho*Wo)")
    if cols.shape != (N, C * kh * kw, Ho * Wo):
        raise ValueError(f"{fn}: cols must have shape {(N, C * kh * kw, Ho * Wo)} for x_shape {x_shape}, "
                         f"got {cols.shape}")
    return x_shape, geometry
