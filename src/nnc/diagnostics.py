"""Diagnostic callbacks that look inside the passes: a NaN/inf guard that names the first bad tensor,
and per-layer activation and gradient statistics (to see vanishing and exploding gradients).

They watch through a small hook in Sequential.forward/backward: while training, every object in
`model.watchers` gets `after_forward(i, layer, out)` after layer i's forward and
`after_backward(i, layer, dx)` after its backward (layer.grads are filled by then). Both
callbacks add themselves at on_train_begin and remove themselves at on_train_end.
"""
import math
import warnings

import numpy as np

from .callbacks import Callback, check_verbose


class _Watcher(Callback):
    def on_train_begin(self, logs=None):
        self.model.watchers.append(self)

    def on_train_end(self, logs=None):
        if self in self.model.watchers:
            self.model.watchers.remove(self)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def after_forward(self, i, layer, out):
        pass

    def after_backward(self, i, layer, dx):
        pass


class TerminateOnNaN(_Watcher):
    """Stop training at the first batch where an activation, a gradient or the loss is NaN or inf,
    and say where it started: the first layer (in the order the passes ran) and the tensor.

    After a stop, `self.report` is a dict {epoch, batch, layer_index, layer, tensor} and
    `self.message` a sentence, also issued as a RuntimeWarning (and printed with verbose=1)."""

    def __init__(self, verbose=0):
        super().__init__()
        self.verbose = check_verbose("TerminateOnNaN", verbose)
        self.report = self.message = None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.report = self.message = None

    def on_batch_begin(self, batch, logs=None):
        self.batch, self._first = batch, None

    def _check(self, i, layer, tensor, what):
        if self._first is None and tensor is not None and not np.isfinite(tensor).all():
            self._first = (i, layer, what)

    def after_forward(self, i, layer, out):
        self._check(i, layer, out, "activation (layer output)")

    def after_backward(self, i, layer, dx):
        for name, g in layer.grads.items():
            self._check(i, layer, g, f"gradient of {name}")
        self._check(i, layer, dx, "gradient w.r.t. the layer input")

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss", 0.0)
        if self.report is not None or (self._first is None and math.isfinite(loss)):
            return   # nothing wrong, or already reported
        if self._first is None:
            i, name, kind, what = None, None, None, "the loss (all activations and gradients were finite)"
        else:
            i, layer, what = self._first
            name, kind = layer.name, type(layer).__name__
        self.report = {"epoch": self.epoch, "batch": batch, "layer_index": i, "layer": name, "tensor": what}
        where = f"layer {i} '{name}' ({kind}): {what}" if i is not None else what
        self.message = (f"TerminateOnNaN: NaN/inf at epoch {self.epoch + 1}, batch {batch}; first non-finite "
                        f"tensor: {where}. Training stopped.")
        warnings.warn(self.message, RuntimeWarning, stacklevel=2)
        self._print(self.message)
        self.model.stop_training = True


class LayerStatsLogger(_Watcher):
    """Record, for one batch every `every` epochs (its batch 0), per layer:
        act_mean, act_std, act_zero_frac   of the layer output (zero_frac near 1: dead ReLUs)
        grad_norm/<param>                  L2 norm of each parameter gradient
        grad_ratio/<param>                 lr * ||grad|| / ||param||, the relative step size
                                           (about 1e-3 is healthy; far below: vanishing; above: exploding)
        dx_norm                            L2 norm of the gradient passed further down
    `self.history[(layer name, stat)]` is the list of values, one per recorded epoch, and
    `self.epochs` the matching epoch numbers. With `stream`, a table is written there every time."""

    def __init__(self, every=1, stream=None):
        super().__init__()
        self.every = int(every)
        self.stream = stream
        self.history, self.epochs = {}, []
        self._on = False

    def on_batch_begin(self, batch, logs=None):
        self._on = batch == 0 and self.epoch % self.every == 0
        if self._on:
            self.epochs.append(self.epoch)
            self._rows = []

    def on_batch_end(self, batch, logs=None):
        if self._on:
            self._on = False
            if self.stream is not None:
                self.stream.write(self.format(self._rows, self.epoch) + "\n")

    def _record(self, layer, stat, value):
        self.history.setdefault((layer.name, stat), []).append(float(value))
        self._rows.append((layer.name, stat, float(value)))

    def after_forward(self, i, layer, out):
        if self._on:
            out = np.asarray(out, dtype=np.float64)
            self._record(layer, "act_mean", out.mean())
            self._record(layer, "act_std", out.std())
            self._record(layer, "act_zero_frac", np.mean(out == 0))

    def after_backward(self, i, layer, dx):
        if not self._on:
            return
        lr = float(getattr(self.model.optimizer, "lr", 1.0))
        for name, g in layer.grads.items():
            gn = float(np.linalg.norm(np.asarray(g, np.float64)))
            pn = float(np.linalg.norm(np.asarray(layer.params[name], np.float64)))
            self._record(layer, f"grad_norm/{name}", gn)
            self._record(layer, f"grad_ratio/{name}", lr * gn / pn if pn > 0 else math.inf)
        if dx is not None:
            self._record(layer, "dx_norm", np.linalg.norm(np.asarray(dx, np.float64)))

    @staticmethod
    def format(rows, epoch):
        lines = [f"layer statistics, epoch {epoch + 1}:"]
        lines += [f"  {layer:<20s} {stat:<18s} {value:12.4e}" for layer, stat, value in rows]
        return "\n".join(lines)


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
