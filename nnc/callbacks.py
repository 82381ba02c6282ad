"""Callbacks: objects the training loop calls at fixed points, Keras style.

    on_train_begin(logs)  on_epoch_begin(epoch, logs)  on_batch_begin(batch, logs)
    on_batch_end(batch, logs)  on_epoch_end(epoch, logs)  on_train_end(logs)

`logs` is a dict of floats ("loss", "accuracy", "val_loss", ...). A callback sees the model as
`self.model` and may stop training with `self.model.stop_training = True`.
"""
import sys
import time


class Callback:
    def __init__(self):
        self.model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass


class CallbackList:
    """Calls the same hook on every callback in order."""

    def __init__(self, callbacks, model):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            cb.set_model(model)

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call(*args, **kwargs):
            for cb in self.callbacks:
                getattr(cb, hook)(*args, **kwargs)
        return call


class History(Callback):
    """Records the logs of every epoch: history.history["loss"] is a list, one value per epoch."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


class ProgressLogger(Callback):
    """The progress line of `fit(verbose=...)`: 1 = a live line per batch plus a line per epoch,
    2 = one line per epoch. Writes to `stream` (stdout by default)."""

    def __init__(self, epochs, steps, verbose=1, stream=None):
        super().__init__()
        self.epochs, self.steps, self.verbose = epochs, steps, verbose
        self.stream = stream or sys.stdout
        self._t0 = self._last = 0.0

    @staticmethod
    def _fmt(logs):
        return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items() if isinstance(v, float))

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = self._last = time.perf_counter()
        self._epoch = epoch

    def on_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        if self.verbose == 1 and (now - self._last > 0.2 or batch + 1 == self.steps):
            self._last = now
            self.stream.write(f"\repoch {self._epoch + 1}/{self.epochs} {batch + 1}/{self.steps} "
                              f"- {now - self._t0:.1f}s - {self._fmt(logs or {})}")
            self.stream.flush()

    def on_epoch_end(self, epoch, logs=None):
        lead = "\r" if self.verbose == 1 else ""
        self.stream.write(f"{lead}epoch {epoch + 1}/{self.epochs} - {time.perf_counter() - self._t0:.1f}s - "
                          f"{self._fmt(logs or {})}\n")
        self.stream.flush()
