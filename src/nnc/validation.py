"""Argument checks and window geometry, shared by every floor (the ground floor: it imports only numpy).

Each check takes the name of the function or layer that was called (`fn`) and the argument's name,
and raises a ValueError (TypeError for a wrong type) that says what was expected and what was given:
    ValueError: Conv2D: strides must be an integer >= 1, got 0
It returns the value ready to use (a float, an int, an (h, w) pair). The kernels' own contract
(dtype, rank, contiguity, sizes that fit a C int) is nnc/backend/_checks.py, built on these.

Window geometry, with PyTorch's meanings of stride, padding (per side) and dilation:
    Ho = conv_output_size(H, kh, sh, ph, dh) = floor((H + 2 ph - dh (kh - 1) - 1) / sh) + 1
the one place in Python this formula is written. A Window record holds a convolution's or a
pooling's (kh, kw), (sh, sw), (ph, pw), (dh, dw) and (Ho, Wo); resolve_padding turns Keras'
padding="same" into the per-side padding (ph, pw).
"""
import math
from typing import Any, NamedTuple

import numpy as np

FLOAT_DTYPES: tuple[np.dtype, np.dtype] = (np.dtype(np.float32), np.dtype(np.float64))   # what the kernels compute in
INT_MAX = 2**31 - 1         # the kernels index with a C int


# ---- scalars ----------------------------------------------------------------------------------------
def _finite(v: Any) -> bool:
    try:
        return math.isfinite(v)     # a few times cheaper than np.isfinite on a scalar
    except OverflowError:           # an int too large for a double
        return False


def check_number(fn: str, name: str, v: Any, minimum: float | None = None, maximum: float | None = None,
                 strict: bool = False) -> float:
    """A finite real scalar hyperparameter, optionally bounded (strict: open interval) -> float."""
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not _finite(v):
        raise ValueError(f"{fn}: {name} must be a finite number, got {v!r}")
    lo_bad = minimum is not None and (v <= minimum if strict else v < minimum)
    hi_bad = maximum is not None and (v >= maximum if strict else v > maximum)
    if lo_bad or hi_bad:
        op = "<" if strict else "<="
        rng = f"{'' if minimum is None else f'{minimum} {op} '}{name}{'' if maximum is None else f' {op} {maximum}'}"
        raise ValueError(f"{fn}: {name} must satisfy {rng}, got {v!r}")
    return float(v)


def check_positive_int(fn: str, name: str, v: Any, minimum: int = 1) -> int:
    """An integer >= minimum (never a bool) -> int."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise ValueError(f"{fn}: {name} must be an integer >= {minimum}, got {v!r}")
    return int(v)


def check_rate(fn: str, rate: Any) -> float:
    """A dropout rate: the probability of dropping a unit, 0 <= rate < 1 -> float."""
    rate = check_number(fn, "rate", rate, minimum=0)
    if rate >= 1:
        raise ValueError(f"{fn}: rate must satisfy 0 <= rate < 1, got {rate!r}")
    return rate


# ---- arrays -----------------------------------------------------------------------------------------
_FINITE_CHUNK = 1 << 16


def all_finite(a: Any) -> bool:
    """np.isfinite(a).all() without a temporary the size of a: chunks of 64k values, so the boolean
    scratch stays in cache (fit() checks the whole training set with it)."""
    flat = np.ravel(a)
    if flat.dtype.kind not in "fc":
        return True
    for i in range(0, flat.size, _FINITE_CHUNK):
        if not np.isfinite(flat[i:i + _FINITE_CHUNK]).all():
            return False
    return True


def check_finite(fn: str, name: str, a: np.ndarray) -> np.ndarray:
    """`a` unchanged if it holds no NaN or inf, else ValueError."""
    if not all_finite(a):
        raise ValueError(f"{fn}: {name} contains NaN or inf")
    return a


# ---- windows: convolution and pooling ---------------------------------------------------------------
Pair = tuple[int, int]     # (h, w)


class Window(NamedTuple):
    """The geometry of a convolution or pooling window over (H, W): each field an (h, w) pair."""
    kernel: Pair       # (kh, kw), the pool size for a pooling
    stride: Pair       # (sh, sw)
    padding: Pair      # (ph, pw) zeros on each side
    dilation: Pair     # (dh, dw), 1 a dense kernel
    output: Pair       # (Ho, Wo), conv_output_size of each axis


def check_pair(fn: str, name: str, v: Any, minimum: int) -> Pair:
    """An int or an (h, w) pair of ints >= minimum -> (h, w). Stride 0 or negative padding fail here."""
    # Every conv and pooling call runs this four times or more: plain ints (never bools: type, not
    # isinstance) pass on one test. Anything else takes the general path below, which says what is wrong.
    if type(v) is int and v >= minimum:
        return (v, v)
    if type(v) is tuple and len(v) == 2 and type(v[0]) is int and type(v[1]) is int and min(v) >= minimum:
        return v
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{fn}: {name} must be an int or an (h, w) pair, got {v!r}")
        h, w = (check_positive_int(fn, name, e, minimum) for e in v)
        return (h, w)
    v = check_positive_int(fn, name, v, minimum)
    return (v, v)


def conv_output_size(size: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    """floor((size + 2p - d(k-1) - 1) / s) + 1: the output length of a window of k cells, dilation d,
    sliding by s over size cells padded by p on each side (PyTorch's meanings). Below 1: no window fits."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def check_padding(fn: str, padding: Any) -> str | Pair:
    """A layer's padding argument: "valid" / "same" (any case, returned lower-case) or an int /
    (ph, pw) pair >= 0 (returned as the pair)."""
    if isinstance(padding, str):
        if padding.lower() not in ("valid", "same"):
            raise ValueError(f"{fn}: padding must be 'valid', 'same', an int or an (h, w) pair, got {padding!r}")
        return padding.lower()
    return check_pair(fn, "padding", padding, 0)


def resolve_padding(fn: str, padding: Any, size: Pair, kernel: Pair, stride: Pair, dilation: Pair = (1, 1)) -> Pair:
    """The per-side zero padding (ph, pw) of a window over spatial `size` (H, W).

    padding is what check_padding accepts. "valid" is (0, 0); "same" keeps Ho = ceil(H / sh) (Keras'
    output size) with the same padding on both sides (the kernels pad symmetrically): the smallest p
    with conv_output_size(H, kh, sh, p, dh) == ceil(H / sh). For odd kernels at stride 1 that is
    p = dh (kh - 1) / 2; when no symmetric p exists (an even kernel at stride 1) it raises."""
    padding = check_padding(fn, padding)
    if padding == "valid":
        return (0, 0)
    if padding != "same":
        return padding
    return (_same_padding(fn, size[0], kernel[0], stride[0], dilation[0]),
            _same_padding(fn, size[1], kernel[1], stride[1], dilation[1]))


def _same_padding(fn: str, n: int, k: int, s: int, d: int) -> int:
    """The smallest p with conv_output_size(n, k, s, p, d) == ceil(n / s), for one axis."""
    want = -(-n // s)
    p = next((p for p in range(d * (k - 1) + 1) if conv_output_size(n, k, s, p, d) == want), None)
    if p is None:
        raise ValueError(f"{fn}: padding='same' needs an odd (dilated) kernel at this stride "
                         f"(kernel {k}, stride {s}, size {n}); give the padding as an int")
    return p


def layer_window(fn: str, input_shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Any,
                 dilation: Pair = (1, 1), what: str = "kernel") -> Window:
    """The Window of a convolution or pooling layer (`fn`, its label) over per-sample input (C, H, W):
    kernel, stride and dilation as check_pair returns them, padding as check_padding does ("same"
    resolved to pixels here); raises when the input is not (C, H, W) or no window fits."""
    if len(input_shape) != 3:
        raise ValueError(f"{fn} expects inputs (N, C, H, W), got per-sample shape {tuple(input_shape)}")
    size = (input_shape[1], input_shape[2])
    p = resolve_padding(fn, padding, size, kernel, stride, dilation)
    out = (conv_output_size(size[0], kernel[0], stride[0], p[0], dilation[0]),
           conv_output_size(size[1], kernel[1], stride[1], p[1], dilation[1]))
    if min(out) < 1:
        dilated = f" (dilation {dilation})" if dilation != (1, 1) else ""
        raise ValueError(f"{fn}: {what} {kernel}{dilated} does not fit the input {tuple(input_shape)} padded by {p}")
    return Window(kernel, stride, p, dilation, out)


def check_data_format(fn: str, data_format: Any) -> None:
    """nnc's images are NCHW: Keras' data_format is accepted only as None / "channels_first"."""
    if data_format not in (None, "channels_first"):
        hint = (": transpose NHWC images once with x.transpose(0, 3, 1, 2)" if data_format == "channels_last"
                else "")
        raise ValueError(f"{fn}: data_format must be None or 'channels_first' (nnc's images are "
                         f"(N, C, H, W)), got {data_format!r}{hint}")
