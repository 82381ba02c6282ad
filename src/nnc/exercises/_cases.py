"""The cases check() runs: fixed ones worked by hand, and seeded random ones with odd sizes,
stride, padding, batch 1 and float32. Each `make()` builds fresh arrays (and a fresh Generator for
dropout), so the student's and the reference's calls never share state."""
from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Case:
    label: str
    make: Callable          # () -> (args tuple, kwargs dict): fresh arrays (and Generator) each call


def _rng(seed):
    return np.random.default_rng(seed)


def _away(rng, shape, lo=0.1):
    """Normal values pushed at least `lo` away from 0 (finite differences stay clear of kinks)."""
    x = rng.standard_normal(shape)
    return x + np.sign(x) * lo


def _case(label, fn, seed, dtype=np.float64):
    def make():
        args, kw = fn(_rng(seed))
        return tuple(a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
                     for a in args), kw
    return Case(label, make)


# ---- case makers ------------------------------------------------------------------------------

def _dense_args(N, D, M, bias=True):
    return lambda g: ((g.standard_normal((N, D)), g.standard_normal((D, M)),
                       g.standard_normal(M) if bias else None), {})


def _fixed_dense(g):
    x = np.arange(6.0).reshape(2, 3) - 2.5
    W = np.array([[1.0, -2.0], [0.5, 3.0], [-1.0, 1.0]])
    return (x, W, np.array([0.1, -0.2])), {}


DENSE_CASES = (Case("fixed 2x3 input, W 3x2", lambda: _fixed_dense(None)),
               _case("random odd sizes N=5, D=7, M=3", _dense_args(5, 7, 3), 1),
               _case("batch 1 (N=1, D=4, M=6)", _dense_args(1, 4, 6), 2),
               _case("no bias (b=None), N=3, D=2, M=5", _dense_args(3, 2, 5, bias=False), 3),
               _case("float32, N=4, D=5, M=3", _dense_args(4, 5, 3), 4, np.float32))


def _act_cases():
    mk = lambda shape: lambda g: ((_away(g, shape),), {})   # noqa: E731
    return (Case("fixed [-2, -0.5, 0.5, 2]", lambda: ((np.array([[-2.0, -0.5, 0.5, 2.0]]),), {})),
            _case("random (5, 7)", mk((5, 7)), 11), _case("batch 1, images (1, 3, 4, 5)", mk((1, 3, 4, 5)), 12),
            _case("float32 (4, 3)", mk((4, 3)), 13, np.float32))


def _class_args(N, K, scale=1.0):
    return lambda g: ((scale * g.standard_normal((N, K)), g.integers(0, K, N)), {})


def _class_cases():
    return (Case("fixed: the lecture's softmax scores (5.1, 3.2, -1.7, -2.0), label 0",
                 lambda: ((np.array([[5.1, 3.2, -1.7, -2.0]]), np.array([0])), {})),
            _case("random N=7, K=5", _class_args(7, 5, 2.0), 21),
            _case("batch 1, K=3", _class_args(1, 3), 22),
            _case("large scores (N=4, K=6, |s| ~ 300)", _class_args(4, 6, 300.0), 23),
            _case("float32 N=5, K=4", _class_args(5, 4), 24, np.float32))


def _dropout_args(shape, rate):
    return lambda g: ((g.standard_normal(shape), rate, np.random.default_rng(7)), {})


DROPOUT_CASES = (_case("random (6, 9), rate 0.5", _dropout_args((6, 9), 0.5), 31),
                 _case("batch 1 images (1, 2, 3, 5), rate 0.25", _dropout_args((1, 2, 3, 5), 0.25), 32),
                 _case("rate 0 (nothing dropped)", _dropout_args((3, 4), 0.0), 33),
                 _case("float32 (4, 7), rate 0.3", _dropout_args((4, 7), 0.3), 34, np.float32))


def _bn_args(shape):
    C = shape[1]
    return lambda g: ((g.standard_normal(shape) * 2 + 1, 1 + 0.5 * g.standard_normal(C), g.standard_normal(C),
                       0.1 * g.standard_normal(C), 1 + 0.1 * g.random(C)), {})


BN_CASES = (_case("random (8, 5)", _bn_args((8, 5)), 41), _case("random (3, 7)", _bn_args((3, 7)), 42),
            _case("images (2, 3, 4, 5): statistics over N, H, W", _bn_args((2, 3, 4, 5)), 43),
            _case("float32 (6, 4)", _bn_args((6, 4)), 44, np.float32))


def _conv_args(x_shape, W_shape, stride=1, padding=0, bias=True):
    return lambda g: ((g.standard_normal(x_shape), g.standard_normal(W_shape),
                       g.standard_normal(W_shape[0]) if bias else None), dict(stride=stride, padding=padding))


def _fixed_conv():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    W = np.array([[[[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]]])   # Sobel: a vertical edge
    return (x, W, np.array([0.5])), dict(stride=1, padding=0)


CONV_CASES = (Case("fixed 4x4 image, 3x3 Sobel kernel", _fixed_conv),
              _case("random odd sizes x (2, 3, 7, 5), W (4, 3, 3, 2)", _conv_args((2, 3, 7, 5), (4, 3, 3, 2)), 51),
              _case("stride 2, padding 1, x (2, 2, 7, 6), W (3, 2, 3, 3)",
                    _conv_args((2, 2, 7, 6), (3, 2, 3, 3), stride=2, padding=1), 52),
              _case("batch 1, stride (2, 1), padding (0, 2), no bias",
                    _conv_args((1, 2, 6, 5), (2, 2, 2, 3), stride=(2, 1), padding=(0, 2), bias=False), 53),
              _case("float32 x (2, 1, 6, 6), W (2, 1, 3, 3), padding 1",
                    _conv_args((2, 1, 6, 6), (2, 1, 3, 3), padding=1), 54, np.float32))


def _im2col_args(x_shape, k, stride=1, padding=0):
    return lambda g: ((g.standard_normal(x_shape), k), dict(stride=stride, padding=padding))


IM2COL_CASES = (Case("fixed 1x1x3x3 image, 2x2 kernel", lambda: ((np.arange(9.0).reshape(1, 1, 3, 3), 2), {})),
                _case("random x (2, 3, 5, 4), kernel (3, 2)", _im2col_args((2, 3, 5, 4), (3, 2)), 61),
                _case("stride 2, padding 1, x (1, 2, 5, 6), kernel 3", _im2col_args((1, 2, 5, 6), 3, 2, 1), 62),
                _case("float32 x (2, 1, 4, 5), kernel (2, 3), stride (1, 2)",
                      _im2col_args((2, 1, 4, 5), (2, 3), (1, 2)), 63, np.float32))


def _pool_args(x_shape, k, stride=None, padding=0):
    return lambda g: ((g.standard_normal(x_shape), k), dict(stride=stride, padding=padding))


POOL_CASES = (Case("fixed 1x1x4x4, 2x2 windows", lambda: ((np.array([[[[1.0, 3, 2, 0], [4, 2, 1, 5], [0, 1, 7, 2],
                                                                      [3, 6, 2, 1]]]]), 2), {})),
              _case("random x (2, 3, 6, 4), pool 2", _pool_args((2, 3, 6, 4), 2), 71),
              _case("odd sizes, pool (3, 2), stride 1 (overlapping windows)", _pool_args((2, 2, 5, 7), (3, 2), 1), 72),
              _case("batch 1, pool 3, stride 2, padding 1", _pool_args((1, 2, 7, 5), 3, 2, 1), 73),
              _case("float32 x (2, 2, 4, 6), pool 2", _pool_args((2, 2, 4, 6), 2), 74, np.float32))



def _update_args(t=None):
    def f(g):
        w, dw, m, v = g.standard_normal(7), g.standard_normal(7), 0.1 * g.standard_normal(7), 0.01 * g.random(7)
        return ((w, dw, v), dict(lr=0.1, momentum=0.9)) if t is None else ((w, dw, m, v, t), dict(lr=0.01))
    return f
