"""nnc.validation: the argument checks and window geometry every floor shares."""
import math

import numpy as np
import pytest

import nnc
from nnc import validation as v
from nnc.layers import Conv2D, MaxPool2D


def _positions(size, k, s, p, d):
    """Count the window positions by sliding: the first cell at i, the last at i + d(k-1), inside the padded input."""
    return sum(1 for i in range(0, size + 2 * p, s) if i + d * (k - 1) < size + 2 * p)


@pytest.mark.parametrize("size", [1, 5, 8, 13])
@pytest.mark.parametrize("k,s,p,d", [(1, 1, 0, 1), (3, 1, 1, 1), (3, 2, 0, 1), (2, 2, 1, 1), (3, 1, 2, 2),
                                     (5, 3, 2, 1)])
def test_conv_output_size_counts_the_window_positions(size, k, s, p, d):
    n = _positions(size, k, s, p, d)
    got = v.conv_output_size(size, k, s, p, d)
    assert got == n or (n == 0 and got < 1)


@pytest.mark.parametrize("H,k,s,d", [(7, 3, 1, 1), (8, 3, 2, 1), (9, 5, 2, 1), (10, 3, 1, 2), (6, 1, 3, 1)])
def test_same_padding_keeps_ceil_of_size_over_stride(H, k, s, d):
    ph, pw = v.resolve_padding("t", "same", (H, H + 1), (k, k), (s, s), (d, d))
    assert v.conv_output_size(H, k, s, ph, d) == math.ceil(H / s)
    assert v.conv_output_size(H + 1, k, s, pw, d) == math.ceil((H + 1) / s)


def test_same_padding_refuses_an_even_kernel_at_stride_1():
    with pytest.raises(ValueError, match="padding='same' needs an odd"):
        v.resolve_padding("Conv2D", "same", (8, 8), (2, 2), (1, 1))


@pytest.mark.parametrize("padding,want", [("valid", (0, 0)), ("VALID", (0, 0)), (2, (2, 2)), ((1, 3), (1, 3))])
def test_resolve_padding_of_explicit_values(padding, want):
    assert v.resolve_padding("t", padding, (9, 9), (3, 3), (1, 1)) == want


@pytest.mark.parametrize("bad", ["full", -1, (1, -1), (1, 2, 3), 1.5, True])
def test_check_padding_names_the_argument(bad):
    with pytest.raises(ValueError, match=r"^Conv2D: padding"):
        v.check_padding("Conv2D", bad)


def test_layer_window_is_a_named_record():
    w = v.layer_window("conv", (3, 28, 28), (5, 5), (1, 1), "same")
    assert isinstance(w, v.Window)
    assert w.padding == (2, 2) and w.output == (28, 28) and w.kernel == (5, 5)
    assert w == ((5, 5), (1, 1), (2, 2), (1, 1), (28, 28))     # unpacks like the tuple the kernels return


def test_layer_window_says_when_nothing_fits():
    with pytest.raises(ValueError, match=r"conv: kernel \(5, 5\) does not fit the input \(1, 3, 3\)"):
        v.layer_window("conv", (1, 3, 3), (5, 5), (1, 1), "valid")
    with pytest.raises(ValueError, match=r"expects inputs \(N, C, H, W\)"):
        v.layer_window("conv", (3, 28), (5, 5), (1, 1), "valid")


@pytest.mark.parametrize("call,match", [
    (lambda: v.check_number("f", "lr", float("nan")), "f: lr must be a finite number"),
    (lambda: v.check_number("f", "lr", 0, minimum=0, strict=True), r"f: lr must satisfy 0 < lr, got 0"),
    (lambda: v.check_number("f", "momentum", 1.5, maximum=1), r"momentum <= 1"),
    (lambda: v.check_positive_int("f", "units", 0), "f: units must be an integer >= 1, got 0"),
    (lambda: v.check_positive_int("f", "units", True), "must be an integer"),
    (lambda: v.check_pair("f", "strides", (1, 0), 1), "f: strides must be an integer >= 1, got 0"),
    (lambda: v.check_rate("f", 1.0), r"0 <= rate < 1"),
    (lambda: v.check_finite("f", "x", np.array([1.0, np.inf])), "f: x contains NaN or inf"),
    (lambda: v.check_data_format("f", "channels_last"), "transpose NHWC"),
])
def test_checks_name_the_function_and_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_all_finite_across_chunks():
    a = np.zeros(3 * (1 << 16) + 5)
    assert v.all_finite(a)
    a[-1] = np.nan
    assert not v.all_finite(a)
    assert v.all_finite(np.arange(5))      # integers are always finite


@pytest.mark.parametrize("layer,shape", [(Conv2D(4, 3, padding="same"), (2, 9, 9)),
                                         (MaxPool2D(3, 2, padding="same"), (2, 9, 9))])
def test_compute_output_shape_changes_nothing(layer, shape):
    before = dict(vars(layer))
    out = layer.compute_output_shape(shape)
    assert out[1:] == (math.ceil(9 / layer.strides[0]),) * 2
    assert vars(layer) == before and not layer.built


def test_the_kernel_checks_reexport_the_same_functions():
    from nnc.backend import _checks
    for name in ("check_number", "check_positive_int", "check_pair", "all_finite", "conv_output_size", "check_rate"):
        assert getattr(_checks, name) is getattr(v, name)
    x = np.zeros((1, 1, 7, 7), np.float32)
    assert nnc.backend.get().im2col(x, 3, 2, 1, 1).shape[-1] == v.conv_output_size(7, 3, 2, 1) ** 2
