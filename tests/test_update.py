"""axpy, the in-place update the optimizers use: y += alpha * x."""
import numpy as np
import pytest

import nnc

from conftest import assert_close


@pytest.mark.parametrize("shape", [(1,), (7, 3), (2, 3, 5, 4), (40000,)])
def test_native_matches_reference_and_updates_in_place(native, reference, rng, dtype, shape):
    x = rng.standard_normal(shape).astype(dtype)
    y0 = rng.standard_normal(shape).astype(dtype)
    y_n, y_r = y0.copy(), y0.copy()
    assert native.axpy(-0.37, x, y_n) is y_n
    reference.axpy(-0.37, x, y_r)
    assert_close(y_n, y_r)
    np.testing.assert_allclose(y_r, y0.astype(np.float64) - 0.37 * x, rtol=1e-6 if dtype == np.float32 else 1e-15)


def test_thread_count_does_not_change_results(native, rng):
    x = rng.standard_normal(100_003).astype(np.float32)
    y = rng.standard_normal(100_003).astype(np.float32)
    out = []
    for n in (1, 2):
        with nnc.threads(n):
            out.append(native.axpy(0.5, x, y.copy()))
    np.testing.assert_array_equal(*out)


def test_bad_input(B, rng):
    x = rng.standard_normal((3, 4))
    y = np.zeros((3, 4))
    with pytest.raises(ValueError, match="alpha must be a finite number"):
        B.axpy(np.nan, x, y)
    with pytest.raises(ValueError, match=r"y must have shape \(3, 4\)"):
        B.axpy(1.0, x, np.zeros((4, 3)))
    with pytest.raises(TypeError, match="y has dtype float32"):
        B.axpy(1.0, x, y.astype(np.float32))
    y.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        B.axpy(1.0, x, y)
    with pytest.raises(ValueError, match="C-contiguous"):
        B.axpy(1.0, x.T, np.zeros((4, 3)))


def test_overlapping_operands_read_x_before_y_changes(B, rng):
    """x and y views of one buffer, one element apart: every y[i] gets alpha * the ORIGINAL x[i] (as in
    numpy's y += alpha * x, which buffers overlapping operands)."""
    buf = rng.standard_normal(40_001)
    want = buf[1:] + 0.5 * buf[:-1]
    got = B.axpy(0.5, buf[:-1], buf[1:])
    np.testing.assert_allclose(got, want, rtol=1e-15)
    same = rng.standard_normal(5)
    doubled = 2 * same
    np.testing.assert_allclose(B.axpy(1.0, same, same), doubled, rtol=1e-15)
