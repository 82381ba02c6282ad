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

from .callbacks import Callback


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
    `self.message` a sentence, also issued as a RuntimeWarning."""

    def __init__(self):
        super().__init__()
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
