"""The catalogue: every kernel a student writes, with its cases and the usual mistakes.

An Exercise names the reference kernel that is its solution (nnc/backend/reference/*.py, or
nnc.optim for the updates), the backend function `plug` replaces, the cases `check` runs, and the
mistakes it recognizes: a mistake is the reference output transformed the way the mistake
transforms it (a missing 1/N gives N * expected), so matching it names the mistake.
"""
import inspect
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Tuple

import numpy as np

from ..backend import reference as R
from ._cases import (BN_CASES, CONV_CASES, DENSE_CASES, DROPOUT_CASES, IM2COL_CASES, POOL_CASES, Case,  # noqa: F401
                     _act_cases, _case, _class_cases, _update_args)


@dataclass(frozen=True)
class Mistake:
    """A common wrong answer: wrong(expected, context) gives the outputs that mistake would produce;
    when a student's outputs match them, check() shows `hint`."""
    hint: str
    wrong: Callable         # (expected outputs dict, context dict) -> the outputs this mistake gives


@dataclass(frozen=True)
class Exercise:
    """One exercise of the catalogue: the kernel to write (`name`), its reference solution, the names
    of its outputs, the docstring of the stub (shapes and the equation), the cases check() runs and
    the mistakes it recognizes; for a backward exercise, the forward that makes its cache."""
    name: str
    reference: Callable            # the solution, called like the student's function
    solution: str                  # where a teacher points: "nnc.backend.reference.dense.dense_forward"
    outputs: Tuple[str, ...]       # names of the returned values ("cache" ones are not compared)
    doc: str                       # shapes and the equation, for the stub
    cases: Tuple[Case, ...]
    mistakes: Tuple[Mistake, ...] = ()
    kernel: Optional[str] = None   # backend function plug() replaces
    forward: Optional[str] = None  # backward exercises: the reference forward that makes the cache
    grads: Dict[str, int] = field(default_factory=dict)   # backward output -> forward argument it differentiates
    imports: str = ""              # what the stub imports besides numpy
    extra: Optional[Callable] = None   # (args) -> outputs the kernel writes in place (running statistics)
    summary: str = ""

    @property
    def signature(self):
        return str(inspect.signature(self.reference))

    @property
    def is_backward(self):
        return self.forward is not None


# ---- mistakes shared by many exercises ------------------------------------------------------------

def _each(f):
    """A transform applied to every array output."""
    return lambda E, ctx: {k: f(v, ctx) for k, v in E.items() if isinstance(v, (np.ndarray, float))}


SIGN = Mistake("every value has the wrong sign: check the minus signs (a gradient points uphill; "
               "the update goes against it)", _each(lambda v, ctx: -v))


def _batch(ctx):
    return ctx["N"]


MISSING_1_N = Mistake("your result is N times too large (N = the batch size): the loss is the MEAN over the "
                      "batch, so divide by N", _each(lambda v, ctx: v * _batch(ctx)))
EXTRA_1_N = Mistake("your result is N times too small (N = the batch size): it is a sum over the batch, "
                    "not a mean; do not divide by N here", _each(lambda v, ctx: v / _batch(ctx)))


def _transposed(name, shape_doc):
    return Mistake(f"{name} is transposed: it must have the shape {shape_doc}",
                   lambda E, ctx: {name: np.swapaxes(E[name], 0, 1)} if E.get(name) is not None else {})


def _wrong_axis_sum(name, axes, right):
    def wrong(E, ctx):
        d = ctx["dout"]
        return {name: d.sum(axis=right)} if d is not None else {}   # summed over the unit axis instead
    return Mistake(f"{name} is summed over the wrong axes: sum dout over axes {axes} (the batch, and for "
                   f"images the positions), leaving one value per output unit/channel", wrong)


def sgd_momentum_update(w, dw, v, lr=0.01, momentum=0.9):
    """The reference: nnc.optim.SGD.update with momentum, on copies."""
    from ..optim import SGD
    opt, w = SGD(lr, momentum=momentum), w.copy()
    opt.state = {"w": {"velocity": v.copy()}}
    opt.update("w", w, dw)
    return w, opt.state["w"]["velocity"]


def adam_update(w, dw, m, v, t, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
    """The reference: nnc.optim.Adam.update at step t (t = 1 for the first update), on copies."""
    from ..optim import Adam
    opt, w = Adam(lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon), w.copy()
    opt.state, opt.iterations = {"w": {"m": m.copy(), "v": v.copy()}}, t - 1
    opt.update("w", w, dw)
    return w, opt.state["w"]["m"], opt.state["w"]["v"]


def _conv_ref(ctx, W):
    (x, _, b), kw = ctx["args"], ctx["kwargs"]
    return R.conv2d_forward(x, np.ascontiguousarray(W), b, **kw)[0]


def _bn_variant(ctx, ddof=0, eps_outside=False, swap=False):
    x, gamma, beta, rm, rv = ctx["args"]
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    col = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)
    mu, var = x.mean(axis=axes), x.var(axis=axes, ddof=ddof)
    std = np.sqrt(var) + 1e-3 if eps_outside else np.sqrt(var + 1e-3)
    out = gamma.reshape(col) * (x - mu.reshape(col)) / std.reshape(col) + beta.reshape(col)
    if swap:
        return {"running_mean": 0.01 * rm + 0.99 * mu, "running_var": 0.01 * rv + 0.99 * var}
    return {"out": out}


def _im2col_cij_last(E, ctx):
    (x, k), kw = ctx["args"], ctx["kwargs"]
    k = (k, k) if np.isscalar(k) else tuple(k)
    N, C = x.shape[:2]
    cols = E["cols"].reshape(N, C, k[0], k[1], -1)
    return {"cols": cols.transpose(0, 2, 3, 1, 4).reshape(E["cols"].shape)}


_DOUT_FIRST = "the chain rule: dx = dout * f'(x); you returned f'(x) alone: multiply by dout"
_BN_CACHE = "BatchNormCache(xhat, gamma, mean, var, inv_std, training)"


def _list():
    B = "nnc.backend.reference."
    ex = [
        Exercise("dense_forward", R.dense_forward, B + "dense.dense_forward", ("out", "cache"),
                 "x (N, D), W (D, M), b (M,) or None -> out (N, M) and DenseCache(x, W, b is not None)\n"
                 "out[n, m] = sum_d x[n, d] W[d, m] + b[m]        (y = x W + b)", DENSE_CASES,
                 (Mistake("the bias is missing: add b[m] to every row (when b is not None)",
                          lambda E, ctx: {"out": E["out"] - ctx["args"][2]} if ctx["args"][2] is not None else {}),),
                 kernel="dense_forward", imports="from nnc.backend.caches import DenseCache",
                 summary="affine layer y = x W + b"),
        Exercise("dense_backward", R.dense_backward, B + "dense.dense_backward", ("dx", "dW", "db"),
                 "dout (N, M), cache DenseCache(x (N, D), W (D, M), use_bias) -> dx (N, D), dW (D, M), db (M,) or None\n"
                 "dx = dout W^T      dW = x^T dout      db[m] = sum_n dout[n, m]", DENSE_CASES,
                 (_transposed("dW", "(D, M), like W: dW = x^T dout"), _wrong_axis_sum("db", "0", (1,)), SIGN,
                  EXTRA_1_N), kernel="dense_backward", forward="dense_forward", grads={"dx": 0, "dW": 1, "db": 2},
                 summary="gradients of the affine layer"),
    ]
    for name, deriv, wrong in (
            ("sigmoid", "dx = dout * out * (1 - out)       (out = sigmoid(x) from the cache)",
             (Mistake("sigmoid'(x) = out (1 - out) uses the forward's OUTPUT (cache.out), not its input cache.x",
                      lambda E, ctx: {"dx": ctx["dout"] * ctx["cache"].x * (1 - ctx["cache"].x)}),
              Mistake(_DOUT_FIRST, lambda E, ctx: {"dx": ctx["cache"].out * (1 - ctx["cache"].out)}))),
            ("tanh", "dx = dout * (1 - out^2)          (out = tanh(x) from the cache)",
             (Mistake("tanh'(x) = 1 - out^2 uses the forward's OUTPUT (cache.out), not its input cache.x",
                      lambda E, ctx: {"dx": ctx["dout"] * (1 - ctx["cache"].x ** 2)}),
              Mistake("tanh'(x) = 1 - out^2: the output is SQUARED",
                      lambda E, ctx: {"dx": ctx["dout"] * (1 - ctx["cache"].out)}),
              Mistake(_DOUT_FIRST, lambda E, ctx: {"dx": 1 - ctx["cache"].out ** 2}))),
            ("relu", "dx = dout where x > 0, else 0",
             (Mistake("the mask is reversed: the gradient passes where x > 0 and is 0 where x <= 0",
                      lambda E, ctx: {"dx": np.where(ctx["cache"].x > 0, 0, ctx["dout"])}),
              Mistake(_DOUT_FIRST, lambda E, ctx: {"dx": (ctx["cache"].x > 0).astype(ctx["dout"].dtype)})))):
        ex.append(Exercise(f"{name}_backward", getattr(R, f"{name}_backward"), f"{B}activations.{name}_backward",
                           ("dx",), "dout like x, cache ActivationCache(x, out) -> dx like x\n" + deriv, _act_cases(),
                           wrong + (SIGN,), kernel=f"{name}_backward", forward=f"{name}_forward", grads={"dx": 0},
                           summary=f"backward of {name}"))
    ex += [
        Exercise("softmax_cross_entropy_forward", R.softmax_cross_entropy_forward,
                 B + "losses.softmax_cross_entropy_forward", ("loss", "cache"),
                 "output (N, K) scores (logits), target (N,) class ids -> loss (a float) and\n"
                 "LossCache('softmax_cross_entropy', output, target, p) with p = softmax(output) (N, K)\n"
                 "p[n, k] = exp(z[n, k]) / sum_j exp(z[n, j])      L = -(1/N) sum_n log p[n, y_n]\n"
                 "(subtract each row's max from z before exp: the same p, and no overflow)", _class_cases(),
                 (MISSING_1_N,), kernel="softmax_cross_entropy_forward",
                 imports="from nnc.backend.caches import LossCache", summary="softmax + cross-entropy loss"),
        Exercise("softmax_cross_entropy_backward", R.softmax_cross_entropy_backward,
                 B + "losses.softmax_cross_entropy_backward", ("dz",),
                 "cache LossCache(loss, output (N, K), target (N,) class ids, aux = p softmax (N, K)) -> dz (N, K)\n"
                 "dz[n, k] = (p[n, k] - 1{k == y_n}) / N", _class_cases(),
                 (MISSING_1_N, SIGN, Mistake("subtract 1 at the true class: dz = (p - onehot(y)) / N",
                                             lambda E, ctx: {"dz": ctx["cache"].aux / ctx["N"]})),
                 kernel="softmax_cross_entropy_backward", forward="softmax_cross_entropy_forward",
                 grads={"dz": 0}, summary="gradient of softmax + cross-entropy"),
        Exercise("multiclass_hinge_forward", R.multiclass_hinge_forward, B + "losses.multiclass_hinge_forward",
                 ("loss", "cache"),
                 "output (N, K) scores s, target (N,) class ids, delta > 0 -> loss (a float) and\n"
                 "LossCache('multiclass_hinge', output, target, None, delta)\n"
                 "L = (1/N) sum_n sum_{j != y_n} max(0, s[n, j] - s[n, y_n] + delta)     (Weston-Watkins SVM)",
                 _class_cases(), (MISSING_1_N, Mistake("the true class is not summed over: skip j == y_n (it would "
                                                       "add delta per sample)", lambda E, ctx: {"loss": E["loss"] + 1.0})),
                 kernel="multiclass_hinge_forward", imports="from nnc.backend.caches import LossCache",
                 summary="multiclass SVM loss"),
        Exercise("multiclass_hinge_backward", R.multiclass_hinge_backward, B + "losses.multiclass_hinge_backward",
                 ("ds",), "cache LossCache(loss, output (N, K) scores, target (N,) ids, None, delta) -> ds (N, K)\n"
                 "for each j != y_n with s[n, j] - s[n, y_n] + delta > 0:  ds[n, j] += 1/N,  ds[n, y_n] -= 1/N",
                 _class_cases(), (MISSING_1_N, SIGN, Mistake(
                     "the true class also gets a gradient: ds[n, y_n] = -(number of classes inside the margin) / N",
                     lambda E, ctx: {"ds": np.where(np.arange(E["ds"].shape[1]) == ctx["cache"].target[:, None], 0,
                                                    E["ds"])})),
                 kernel="multiclass_hinge_backward", forward="multiclass_hinge_forward", grads={"ds": 0},
                 summary="gradient of the multiclass SVM loss"),
        Exercise("dropout_forward", R.dropout_forward, B + "dropout.dropout_forward", ("out", "cache"),
                 "x any shape, rate in [0, 1), rng a numpy Generator -> out like x and DropoutCache(keep, scale)\n"
                 "keep = rng.random(x.shape) >= rate   (draw exactly this, once)    scale = 1 / (1 - rate)\n"
                 "out = x * keep * scale      (inverted dropout: E[out] = x)\n"
                 "training=False or rate == 0: out = x, DropoutCache(None, 1.0)", DROPOUT_CASES,
                 (Mistake("the kept units are not rescaled: multiply them by 1 / (1 - rate) (inverted dropout)",
                          lambda E, ctx: {"out": E["out"] * (1 - ctx["args"][1])}),
                  Mistake("scale by 1 / (1 - rate), not by (1 - rate)",
                          lambda E, ctx: {"out": E["out"] * (1 - ctx["args"][1]) ** 2}),
                  Mistake("the mask is reversed: KEEP where rng.random(x.shape) >= rate",
                          lambda E, ctx: {} if E["cache"].keep is None else
                          {"out": np.where(E["cache"].keep, 0, ctx["args"][0] * E["cache"].scale)})),
                 kernel="dropout_forward", imports="from nnc.backend.caches import DropoutCache",
                 summary="inverted dropout"),
        Exercise("dropout_backward", R.dropout_backward, B + "dropout.dropout_backward", ("dx",),
                 "dout like x, cache DropoutCache(keep bool mask or None, scale) -> dx like x\n"
                 "dx = dout * keep * scale     (cache.keep None: dx = dout)", DROPOUT_CASES,
                 (Mistake("the gradient is not rescaled: multiply by cache.scale = 1 / (1 - rate), as the forward did",
                          lambda E, ctx: {"dx": E["dx"] / ctx["cache"].scale}), SIGN),
                 kernel="dropout_backward", forward="dropout_forward", grads={"dx": 0},
                 summary="backward of inverted dropout"),
        Exercise("batchnorm_forward", R.batchnorm_forward, B + "batchnorm.batchnorm_forward", ("out", "cache"),
                 "x (N, C) or (N, C, H, W); gamma, beta, running_mean, running_var (C,) -> out like x and\n"
                 f"{_BN_CACHE}; statistics per channel over the M = N (or N*H*W) values\n"
                 "training: mu = mean(x), var = mean((x - mu)^2) (divide by M), xhat = (x - mu) / sqrt(var + eps),\n"
                 "          out = gamma xhat + beta; IN PLACE: running_mean = momentum running_mean + (1 - momentum) mu\n"
                 "          (running_var likewise with var)\n"
                 "inference: mu, var = running_mean, running_var (nothing updated)", BN_CASES,
                 (Mistake("the variance is the biased one: mean((x - mu)^2), divide by M, not M - 1",
                          lambda E, ctx: _bn_variant(ctx, ddof=1)),
                  Mistake("eps goes inside the square root: sqrt(var + eps)",
                          lambda E, ctx: _bn_variant(ctx, eps_outside=True)),
                  Mistake("the running averages keep momentum of the OLD value: running = momentum running + "
                          "(1 - momentum) batch value", lambda E, ctx: _bn_variant(ctx, swap=True))),
                 kernel="batchnorm_forward", imports="from nnc.backend.caches import BatchNormCache",
                 extra=lambda args: {"running_mean": args[3], "running_var": args[4]},
                 summary="batch normalization, training and inference"),
    ]
    bn_mistakes = (Mistake("in training mode mu and var depend on x: dx has the two extra terms through mu and var "
                           "(you wrote the inference-mode dx = gamma dout / sqrt(var + eps))",
                           lambda E, ctx: {"dx": (ctx["cache"].gamma * ctx["cache"].inv_std).reshape(
                               (1, -1) + (1,) * (ctx["dout"].ndim - 2)) * ctx["dout"]}),
                   Mistake("dx is M times too large (M = values per channel): a 1/M is missing",
                           lambda E, ctx: {"dx": E["dx"] * (E["dx"].size // E["dx"].shape[1])}),
                   _wrong_axis_sum("dbeta", "0 (and 2, 3 for images)", (1,)), SIGN)
    bn_doc = (f"dout like x, cache {_BN_CACHE} -> dx like x, dgamma (C,), dbeta (C,); M values per channel\n"
              "dbeta = sum dout      dgamma = sum dout * xhat     (sums over N, and H, W for images)\n")
    ex += [
        Exercise("batchnorm_backward_staged", R.batchnorm_backward, B + "batchnorm.batchnorm_backward", 
                 ("dx", "dgamma", "dbeta"), bn_doc +
                 "staged, through the graph: dxhat = dout gamma;  dvar = sum dxhat (x - mu) (-1/2) (var + eps)^(-3/2);\n"
                 "dmu = sum -dxhat / sqrt(var + eps) + dvar * mean(-2 (x - mu));\n"
                 "dx = dxhat / sqrt(var + eps) + dvar * 2 (x - mu) / M + dmu / M     (x - mu = xhat / inv_std)",
                 BN_CASES, bn_mistakes, kernel="batchnorm_backward", forward="batchnorm_forward",
                 grads={"dx": 0, "dgamma": 1, "dbeta": 2}, summary="batch-norm backward step by step (mu, var)"),
        Exercise("batchnorm_backward", R.batchnorm_backward, B + "batchnorm.batchnorm_backward",
                 ("dx", "dgamma", "dbeta"), bn_doc +
                 "compact: dx = gamma / (M sqrt(var + eps)) * (M dout - dbeta - xhat dgamma)\n"
                 "(cache.training False: dx = gamma dout / sqrt(var + eps))", BN_CASES, bn_mistakes,
                 kernel="batchnorm_backward", forward="batchnorm_forward", grads={"dx": 0, "dgamma": 1, "dbeta": 2},
                 summary="batch-norm backward, the compact formula"),
        Exercise("im2col", R.im2col, B + "conv.im2col", ("cols",),
                 "x (N, C, H, W), kernel_size kh or (kh, kw), stride, padding (int or (h, w) pair) ->\n"
                 "cols (N, C*kh*kw, Ho*Wo), row (c*kh + i)*kw + j, column oh*Wo + ow:\n"
                 "cols[n, (c, i, j), (oh, ow)] = xp[n, c, oh*sh + i, ow*sw + j]   (xp = x zero-padded)\n"
                 "Ho = (H + 2 ph - kh) // sh + 1,   Wo = (W + 2 pw - kw) // sw + 1", IM2COL_CASES,
                 (Mistake("the rows are in (i, j, c) order; the channel comes first: row (c*kh + i)*kw + j",
                          _im2col_cij_last),
                  Mistake("each image's matrix is transposed: it is (C*kh*kw, Ho*Wo), one COLUMN per output position",
                          lambda E, ctx: {"cols": np.swapaxes(E["cols"], 1, 2)})), summary="image to columns"),
        Exercise("conv2d_forward", R.conv2d_forward, B + "conv.conv2d_forward", ("out", "cache"),
                 "x (N, C_in, H, W), W (C_out, C_in, kh, kw), b (C_out,) or None, stride, padding ->\n"
                 "out (N, C_out, Ho, Wo) and Conv2DCache(x, W, b is not None, (sh, sw), (ph, pw), (1, 1))\n"
                 "out[n, o, oh, ow] = b[o] + sum_{c, i, j} W[o, c, i, j] xp[n, c, oh*sh + i, ow*sw + j]\n"
                 "Ho = (H + 2 ph - kh) // sh + 1  (xp = x zero-padded; the checked cases use dilation 1)", CONV_CASES,
                 (Mistake("the kernel is flipped (the convolution of signal processing); a conv layer computes "
                          "the cross-correlation: W[o, c, i, j] meets xp[.., oh*sh + i, ow*sw + j]",
                          lambda E, ctx: {"out": _conv_ref(ctx, ctx["args"][1][:, :, ::-1, ::-1])}),
                  Mistake("the bias is missing: add b[o] to every position of output channel o",
                          lambda E, ctx: {} if ctx["args"][2] is None else
                          {"out": E["out"] - ctx["args"][2][None, :, None, None]})),
                 kernel="conv2d_forward", imports="from nnc.backend.caches import Conv2DCache",
                 summary="convolution with loops"),
        Exercise("conv2d_backward", R.conv2d_backward, B + "conv.conv2d_backward", ("dx", "dW", "db"),
                 "dout (N, C_out, Ho, Wo), cache Conv2DCache(x, W, use_bias, stride, padding, dilation) ->\n"
                 "dx like x, dW like W, db (C_out,) or None; for every output position (oh, ow):\n"
                 "dW[o] += dout[n, o, oh, ow] * window      dxp[window] += sum_o dout[n, o, oh, ow] W[o]\n"
                 "db[o] = sum over n, oh, ow of dout[n, o, oh, ow]", CONV_CASES,
                 (Mistake("dW has its two channel axes swapped: it is (C_out, C_in, kh, kw), like W",
                          lambda E, ctx: {"dW": np.swapaxes(E["dW"], 0, 1)}),
                  _wrong_axis_sum("db", "0, 2, 3", (1,)), SIGN, EXTRA_1_N),
                 kernel="conv2d_backward", forward="conv2d_forward", grads={"dx": 0, "dW": 1, "db": 2},
                 summary="gradients of the convolution"),
        Exercise("maxpool2d_forward", R.maxpool2d_forward, B + "pool.maxpool2d_forward", ("out", "cache"),
                 "x (N, C, H, W), pool_size k or (kh, kw), stride (default: the pool size), padding ->\n"
                 "out (N, C, Ho, Wo) and PoolCache(x.shape, (kh, kw), (sh, sw), (ph, pw), argmax)\n"
                 "out[n, c, oh, ow] = max of the window; argmax (N, C, Ho, Wo) int32 = ih * W + iw of that max\n"
                 "(the first maximum in row-major order; padded cells are never chosen)", POOL_CASES,
                 (Mistake("that is the average of the window: max pooling takes the largest value",
                          lambda E, ctx: {"out": R.avgpool2d_forward(*ctx["args"], **ctx["kwargs"])[0]}),),
                 kernel="maxpool2d_forward", imports="from nnc.backend.caches import PoolCache",
                 summary="max pooling"),
        Exercise("maxpool2d_backward", R.maxpool2d_backward, B + "pool.maxpool2d_backward", ("dx",),
                 "dout (N, C, Ho, Wo), cache PoolCache(x_shape, pool_size, stride, padding, argmax) -> dx (N, C, H, W)\n"
                 "each dout[n, c, oh, ow] goes to the cell argmax[n, c, oh, ow] of its window; overlaps ADD",
                 POOL_CASES, (Mistake("the gradient is spread over the whole window: it goes to the max cell only",
                                      lambda E, ctx: {"dx": R.avgpool2d_backward(ctx["dout"], ctx["cache"]._replace(
                                          argmax=None)) * np.prod(ctx["cache"].pool_size)}), SIGN),
                 kernel="maxpool2d_backward", forward="maxpool2d_forward", grads={"dx": 0},
                 summary="backward of max pooling"),
        Exercise("sgd_momentum_update", sgd_momentum_update, "nnc.optim.SGD.update (momentum > 0)", ("w", "v"),
                 "w, dw, v: arrays of one shape; lr, momentum numbers -> new w and new v (new arrays)\n"
                 "v = momentum v - lr dw        w = w + v", (
                     _case("random, lr 0.1, momentum 0.9", _update_args(), 81),
                     Case("v = 0 (the first step is plain SGD)", lambda: ((np.ones(3), np.arange(3.0), np.zeros(3)),
                                                                          dict(lr=0.5, momentum=0.9)))),
                 (Mistake("w moved with the OLD velocity: update v first, then w = w + v (the new v)",
                          lambda E, ctx: {"w": ctx["args"][0] + ctx["args"][2]}), SIGN),
                 summary="SGD with momentum"),
        Exercise("adam_update", adam_update, "nnc.optim.Adam.update", ("w", "m", "v"),
                 "w, dw, m, v: arrays of one shape; t = 1, 2, ... (the step number) -> new w, m, v\n"
                 "m = b1 m + (1 - b1) dw     v = b2 v + (1 - b2) dw^2\n"
                 "m_hat = m / (1 - b1^t)     v_hat = v / (1 - b2^t)     w = w - lr m_hat / (sqrt(v_hat) + eps)",
                 (_case("first step t = 1", _update_args(1), 91), _case("step t = 5", _update_args(5), 92)),
                 (Mistake("the bias correction is missing: m_hat = m / (1 - beta_1^t), v_hat = v / (1 - beta_2^t)",
                          lambda E, ctx: {"w": ctx["args"][0] - ctx["kwargs"]["lr"] * E["m"] / (np.sqrt(E["v"]) + 1e-8)}), SIGN),
                 summary="the Adam update"),
    ]
    return {e.name: e for e in ex}


EXERCISES = _list()
