"""Diagnostic callbacks that look inside the passes: a NaN/inf guard that names the first bad tensor
and shows how the gradients grew before it, per-layer statistics (vanishing and exploding gradients,
the update/weight ratio, dead ReLU units), and the dead-network warning fit always runs.

They watch through the model's hook (Sequential.register_hook): while training, each gets
`after_forward(i, layer, out)` after layer i's forward and `after_backward(i, layer, dx)` after its
backward (layer.grads are filled by then). fit calls on_batch_begin before a batch's forward and
on_batch_end after the optimizer's step, so what changes between the two is the step. The callbacks
register their hook at on_train_begin and remove it at on_train_end.
"""
import collections
import math
import warnings

import numpy as np

from .validation import all_finite, check_positive_int
from ._callback import Callback, check_verbose, print_line


def _norm(a):
    """||a||_2 as a float: one BLAS dot; a float32 sum that overflows is redone in float64."""
    flat = np.ravel(a)
    with np.errstate(over="ignore", invalid="ignore"):   # inf is the answer, not a warning
        n = math.sqrt(float(np.dot(flat, flat)))
        if math.isinf(n) and flat.dtype != np.float64:
            flat = flat.astype(np.float64)
            n = math.sqrt(float(np.dot(flat, flat)))
    return n


class _Watcher(Callback):
    def on_train_begin(self, logs=None):
        index = {id(layer): i for i, layer in enumerate(self.model.layers)}

        def hook(layer, event, array):
            (self.after_forward if event == "forward" else self.after_backward)(index[id(layer)], layer, array)
        self._hook = self.model.register_hook(hook)

    def on_train_end(self, logs=None):
        if getattr(self, "_hook", None) is not None:
            self._hook.remove()
            self._hook = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def after_forward(self, i, layer, out):
        pass

    def after_backward(self, i, layer, dx):
        pass


class TerminateOnNaN(_Watcher):
    """Stop training at the first batch where an activation, a gradient or the loss is NaN or inf,
    and say where it started: the first layer (in the order the passes ran) and the tensor, and how
    the gradient norms of each layer moved over the `last` batches before it (exploding gradients
    grow by orders of magnitude; a NaN from the data or from log(0) comes out of nowhere).

    After a stop, `self.report` is a dict {epoch, batch, layer_index, layer, tensor, batches,
    grad_norms}: batches the (epoch, batch) of the last batches, oldest first, and grad_norms
    {layer name: [||dL/dparams|| of the layer on each of those batches]}, the norm over all of the
    layer's parameter gradients together. `self.message` says it in words; it is issued as a
    RuntimeWarning (and printed with verbose=1). The norms cost nothing extra: the finiteness check
    of each gradient is its norm (finite norm <=> finite entries, unless the sum overflows)."""

    def __init__(self, verbose=0, last=5):
        super().__init__()
        self.verbose = check_verbose("TerminateOnNaN", verbose)
        self.last = check_positive_int("TerminateOnNaN", "last", last)
        self.report = self.message = None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.report = self.message = None
        self._recent: collections.deque = collections.deque(maxlen=self.last)   # ((epoch, batch), {layer: norm})

    def on_batch_begin(self, batch, logs=None):
        self.batch, self._first, self._norms = batch, None, {}

    def _check(self, i, layer, tensor, what):
        if self._first is None and tensor is not None and not all_finite(tensor):
            self._first = (i, layer, what)

    def after_forward(self, i, layer, out):
        self._check(i, layer, out, "activation (layer output)")

    def after_backward(self, i, layer, dx):
        squares = 0.0
        for name, g in layer.grads.items():
            if g is None:
                continue
            n = _norm(g)
            if not math.isfinite(n):
                self._check(i, layer, g, f"gradient of {name}")
            squares += n * n
        if layer.grads:
            self._norms[layer.name] = math.sqrt(squares)
        self._check(i, layer, dx, "gradient w.r.t. the layer input")

    def on_batch_end(self, batch, logs=None):
        self._recent.append(((self.epoch, batch), self._norms))
        loss = (logs or {}).get("loss", 0.0)
        if self.report is not None or (self._first is None and math.isfinite(loss)):
            return   # nothing wrong, or already reported
        if self._first is None:
            i, name, kind, what = None, None, None, "the loss (all activations and gradients were finite)"
        else:
            i, layer, what = self._first
            name, kind = layer.name, type(layer).__name__
        batches = [at for at, _ in self._recent]
        layers = list(dict.fromkeys(k for _, seen in self._recent for k in seen))[::-1]  # input side first
        norms = {k: [seen.get(k, math.nan) for _, seen in self._recent] for k in layers}
        self.report = {"epoch": self.epoch, "batch": batch, "layer_index": i, "layer": name, "tensor": what,
                       "batches": batches, "grad_norms": norms}
        where = f"layer {i} '{name}' ({kind}): {what}" if i is not None else what
        self.message = (f"TerminateOnNaN: NaN/inf at epoch {self.epoch + 1}, batch {batch}; first non-finite "
                        f"tensor: {where}. Training stopped." + _growth(norms))
        warnings.warn(self.message, RuntimeWarning, stacklevel=2)
        self._print(self.message)
        self.model.stop_training = True


def _growth(norms):
    """The gradient-norm lines of TerminateOnNaN's message, and what their trend says."""
    n = len(next(iter(norms.values()), []))
    if n == 0:
        return ""
    width = max(len(k) for k in norms)
    lines = [f"\nGradient norms ||dL/dparams|| per layer over the last {n} batches (oldest first):"]
    lines += [f"  {k:<{width}}  " + "  ".join(f"{v:9.3g}" for v in vs) for k, vs in norms.items()]
    finite = [[v for v in vs if math.isfinite(v)] for vs in norms.values()]
    growth = max((vs[-1] / vs[0] for vs in finite if len(vs) >= 2 and vs[0] > 0), default=None)
    peak = max((v for vs in finite for v in vs), default=0.0)
    if growth is None and peak == 0:
        lines.append("No finite gradient before the NaN to compare.")
    elif peak > 1e6 or (growth or 0) >= 2:   # an ordinary gradient norm is below 1e2
        trend = f", {growth:.3g}x over these batches" if growth is not None else ""
        lines.append(f"They reached {peak:.3g}{trend}: exploding gradients. Lower the learning rate "
                     "(e.g. 10x) or clip the gradients (e.g. SGD(lr, clipnorm=1.0)).")
    else:
        lines.append("They did not grow before it: look for NaN/inf in the data or an operation that "
                     "overflows (log of 0, exp of a large number).")
    return "\n".join(lines)


class LayerStatsLogger(_Watcher):
    """Per-layer statistics of the training batches: vanishing and exploding gradients, the size of
    the optimizer's steps, dead ReLU units.

    Measured on a batch, per layer (p: each parameter, W, b, gamma, ...):
        act_mean, act_std, act_zero_frac   of the layer output (zero_frac near 1: dead ReLUs)
        weight_norm/p                      ||p|| before the step
        grad_norm/p                        ||dL/dp||
        update_ratio/p                     ||p_after - p_before|| / ||p_before||, measured across the
                                           optimizer's step (so what momentum and Adam really do; not
                                           lr ||dL/dp|| / ||p||). About 1e-3 is the rule of thumb:
                                           far below, the layer barely learns; above 1e-2, it may diverge
        dx_norm                            ||dL/dx||, the gradient passed further down
    Per epoch, per ReLU layer (every training batch is watched, but only the units not yet seen firing):
        dead_units, dead_frac              units (Dense: output features; Conv2D: channels) that output
                                           0 for every training sample of the epoch (fit itself warns
                                           when a layer is 100% dead: DeadNetworkWarning)

    Which batches are measured: every=None, batch 0 of each epoch; every=k, batches 0, k, 2k, ... of
    each epoch (every=1: all of them). last=k keeps only the last k measured batches, a ring buffer to
    see what led to a NaN; without every=, it measures every batch. A measured batch costs a copy of
    the weights and a few norms; the others cost nothing (except the dead-unit count above).

        history[(layer, stat)]        one value per epoch: the mean over its measured batches (dead
                                      counts over all its batches); epochs: the epoch numbers
        batch_history[(layer, stat)]  one value per measured batch; batches: the (epoch, batch) of each
        table(epoch=-1)               one epoch as text, one row per layer (written to `stream`, if
                                      given, at the end of every epoch)
    """

    def __init__(self, every=None, last=None, stream=None):
        super().__init__()
        self.every = None if every is None else check_positive_int("LayerStatsLogger", "every", every)
        self.last = None if last is None else check_positive_int("LayerStatsLogger", "last", last)
        if self.every is None and self.last is not None:
            self.every = 1
        self.stream = stream
        self.history, self.epochs, self.measured = {}, [], []
        self._reset_batches()
        self._on = self._in_batch = False

    def _reset_batches(self):
        self.batch_history: collections.defaultdict = collections.defaultdict(self._series)
        self.batches = self._series()

    def _series(self):
        return collections.deque(maxlen=self.last) if self.last else []

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._relu = [i for i, layer in enumerate(self.model.layers) if _is_relu(layer)]
        self._units = {}    # ReLU layer -> its number of units

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        self._sums, self._count = {}, 0
        self._pending = {}     # ReLU layer -> indices of its units not yet seen firing this epoch

    # ---- one batch: W copied in on_batch_begin, compared after the step in on_batch_end ----------------
    def on_batch_begin(self, batch, logs=None):
        self._in_batch = True
        self._on = batch % self.every == 0 if self.every else batch == 0
        if self._on:
            self.batches.append((self.epoch, batch))
            self._row = {}
            self._before: list | None = [(layer, {p: a.copy() for p, a in layer.params.items()})
                            for layer in self.model.layers if layer.params]

    def _record(self, layer, stat, value):
        self._row[(layer.name, stat)] = float(value)

    def after_forward(self, i, layer, out):
        if not self._in_batch:
            return   # fit's validation pass
        if i in self._relu:
            self._watch_units(i, out)
        if self._on:
            self._record(layer, "act_mean", out.mean(dtype=np.float64))
            self._record(layer, "act_std", out.std(dtype=np.float64))
            self._record(layer, "act_zero_frac", 1.0 - np.count_nonzero(out) / out.size)

    def _watch_units(self, i, out):
        pending = self._pending.get(i)
        if pending is None:                        # the epoch's first batch: every unit
            fired = _fired(out)
            self._units[i] = fired.size
            self._pending[i] = np.flatnonzero(~fired)
        elif pending.size:                         # then only those still silent
            self._pending[i] = pending[~_fired(np.take(out, pending, axis=1))]

    def after_backward(self, i, layer, dx):
        if not self._on:
            return
        for name, g in layer.grads.items():
            if g is not None:
                self._record(layer, f"grad_norm/{name}", _norm(g))
        if dx is not None:
            self._record(layer, "dx_norm", _norm(dx))

    def on_batch_end(self, batch, logs=None):
        self._in_batch = False
        if not self._on:
            return
        self._on = False
        for layer, before in self._before or ():     # set in on_batch_begin whenever _on is
            for p, w0 in before.items():
                n0 = _norm(w0)
                step = _norm(np.subtract(layer.params[p], w0, out=w0))   # w0 is our copy: reuse it
                self._record(layer, f"weight_norm/{p}", n0)
                self._record(layer, f"update_ratio/{p}", step / n0 if n0 > 0 else (math.inf if step else 0.0))
        self._before = None
        for key, value in self._row.items():
            self.batch_history[key].append(value)
            self._sums[key] = self._sums.get(key, 0.0) + value
        self._count += 1

    def on_epoch_end(self, epoch, logs=None):
        if not self._count:
            return
        self.epochs.append(epoch)
        self.measured.append(self._count)
        for key, total in self._sums.items():
            self.history.setdefault(key, []).append(total / self._count)
        for i, pending in self._pending.items():
            name = self.model.layers[i].name
            self.history.setdefault((name, "dead_units"), []).append(int(pending.size))
            self.history.setdefault((name, "dead_frac"), []).append(pending.size / self._units[i])
        if self.stream is not None:
            print_line(self.stream, self.table())

    def table(self, epoch=-1):
        """One epoch's statistics as text, one row per layer: for its first parameter p (W for Dense
        and Conv2D, gamma for BatchNorm), ||p||, ||dL/dp|| and the update ratio ||p_after - p_before||
        / ||p_before||; the output's mean and std; for ReLU layers, the dead units of the epoch.
        epoch: an epoch number as fit counts them (0 is the first), or -1 (the last recorded), -2, ..."""
        if not self.epochs:
            raise ValueError("LayerStatsLogger.table: nothing recorded yet; pass the logger to fit(callbacks=[...])")
        if epoch < 0 and -epoch <= len(self.epochs):
            j = len(self.epochs) + epoch
        elif epoch in self.epochs:
            j = self.epochs.index(epoch)
        else:
            raise ValueError(f"LayerStatsLogger.table: epoch {epoch} was not recorded; the recorded epochs "
                             f"are {self.epochs} (or -1 for the last)")

        def get(layer, stat, fmt="9.2e"):
            values = self.history.get((layer.name, stat))
            return "-" if values is None else format(values[j], fmt)

        rows = []
        for i, layer in enumerate(self.model.layers):
            p = next(iter(layer.params), None)
            dead = self.history.get((layer.name, "dead_units"))
            rows.append((layer.name, p or "-", *(get(layer, f"{s}/{p}") for s in ("weight_norm", "grad_norm",
                                                                                   "update_ratio")),
                         get(layer, "act_mean", "+9.3f"), get(layer, "act_std", "9.3f"),
                         "-" if dead is None else f"{dead[j]}/{self._units.get(i, '?')} "
                                                  f"({self.history[(layer.name, 'dead_frac')][j]:.0%})"))
        head = ("layer", "p", "||p||", "||dL/dp||", "update", "act mean", "act std", "dead units")
        widths = [max(len(r[c]) for r in rows + [head]) for c in range(len(head))]
        line = lambda r: "  ".join(v.ljust(w) if c < 2 else v.rjust(w) for c, (v, w) in enumerate(zip(r, widths)))
        n = self.measured[j]
        return "\n".join([f"layer statistics, epoch {self.epochs[j] + 1} (mean of {n} measured "
                          f"batch{'es' if n > 1 else ''}; update = ||p_after - p_before|| / ||p_before||):",
                          line(head)] + [line(r) for r in rows])


def _fired(out):
    """Per unit (axis 1: a Dense feature, a Conv2D channel), whether any sample gave it a nonzero output."""
    return out.any(axis=(0,) + tuple(range(2, out.ndim)))


def _is_relu(layer):
    act = getattr(layer, "activation", None)
    return getattr(layer, "kernel", None) == "relu" or getattr(act, "kernel", None) == "relu"


class DeadNetworkWarning(_Watcher):
    """What fit watches by itself (no need to pass it): one warning per fit when
      - every unit of a ReLU layer output 0 for every training sample of an epoch (the layer is dead:
        it passes no gradient back, so nothing before it learns), naming the layer; or
      - the loss of a softmax classifier stayed at log(K), the loss of uniform guessing, for
        `patience` epochs in a row.
    The usual cause of both is a learning rate that is too large (or, for the second, too small).
    Costs one `out.any()` per ReLU layer per epoch once the layer has shown a nonzero output."""

    def __init__(self, patience=3):
        super().__init__()
        self.patience = int(patience)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._relu = {i for i, layer in enumerate(self.model.layers) if _is_relu(layer)}
        self._warned, self._pending, self._flat, self._in_batch = set(), set(), 0, False
        from . import losses
        loss, shape = self.model.loss, self.model.output_shape
        softmax = isinstance(loss, losses.SoftmaxCrossEntropy) or (
            isinstance(loss, losses.CategoricalCrossentropy) and loss.from_logits)
        self._chance = math.log(shape[-1]) if softmax and shape and len(shape) == 1 and shape[-1] > 1 else None

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        self._pending = set(self._relu) - self._warned

    # Only training batches count: the validation pass after the last batch must not hide a dead layer.
    def on_batch_begin(self, batch, logs=None):
        self._in_batch = True

    def on_batch_end(self, batch, logs=None):
        self._in_batch = False

    def after_forward(self, i, layer, out):
        if self._in_batch and i in self._pending and out.any():
            self._pending.discard(i)

    def _lr(self):
        return f"lr={getattr(self.model.optimizer, 'lr', '?'):g}"

    def on_epoch_end(self, epoch, logs=None):
        for i in sorted(self._pending):
            layer = self.model.layers[i]
            self._warned.add(i)
            warnings.warn(f"fit: every ReLU unit of layer '{layer.name}' output 0 for every training sample of "
                          f"epoch {epoch + 1}: the layer is dead and passes no gradient back. The usual cause is "
                          f"a learning rate too large ({self._lr()}): lower it (e.g. 10x), or use LeakyReLU or "
                          "he_uniform initialization", RuntimeWarning, stacklevel=4)
        loss = (logs or {}).get("loss")
        if self._chance is None or loss is None or self._flat < 0:
            return
        self._flat = self._flat + 1 if abs(loss - self._chance) < 0.005 * self._chance else 0
        if self._flat >= self.patience:
            self._flat = -1   # once per fit
            K = self.model.output_shape[-1]
            warnings.warn(f"fit: the loss has stayed at log({K}) = {self._chance:.4f}, the loss of guessing "
                          f"uniformly, for {self.patience} epochs: the network is not learning. Check the "
                          f"learning rate ({self._lr()}; too large kills units, too small does not move), "
                          "the input scaling and the labels", RuntimeWarning, stacklevel=4)
