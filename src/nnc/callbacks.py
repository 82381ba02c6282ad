"""Callbacks: objects the training loop calls at fixed points, Keras style.

    on_train_begin(logs)  on_epoch_begin(epoch, logs)  on_batch_begin(batch, logs)
    on_batch_end(batch, logs)  on_epoch_end(epoch, logs)  on_train_end(logs)

`logs` is a dict of floats ("loss", "accuracy", "val_loss", ...). A callback sees the model as
`self.model` and may stop training with `self.model.stop_training = True`.

The callbacks that act (EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, LearningRateScheduler,
TerminateOnNaN) take verbose= as in Keras: 0 is silent, 1 prints a line for each action taken
("Epoch 3: early stopping"), on the stream the progress line of fit(verbose=...) uses.
"""
import math
import numbers
import os
import sys
import time
import warnings
from typing import Any

from ._callback import LIVE_BARS, Callback, CallbackList, check_verbose
from .diagnostics import LayerStatsLogger, TerminateOnNaN  # noqa: F401  (nnc.callbacks.TerminateOnNaN, as in Keras)

# What this module documents: its own callbacks and the base it hands on from nnc/_callback.py. The
# watchers TerminateOnNaN and LayerStatsLogger are reachable here too; their home is nnc.diagnostics.
__all__ = ["Callback", "CallbackList", "check_verbose", "History", "check_progress_verbose", "ProgressLogger",
           "EarlyStopping", "ModelCheckpoint", "CSVLogger", "LearningRateScheduler", "ReduceLROnPlateau"]


class History(Callback):
    """Records the logs of every epoch: history.history["loss"] is a list, one value per epoch.

    With a regularizer in the model (kernel_regularizer=L2(...), ...), fit also logs the two parts of
    the training loss: loss = data_loss + reg_loss, the data term (mean over the samples) and the
    penalty (of the weights each step started from), so one sees which of the two training lowers."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


def _in_notebook():
    """Whether this runs in a Jupyter kernel (a notebook or Colab), where tqdm.auto draws a widget."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return any(c.__name__ == "ZMQInteractiveShell" for c in type(shell).__mro__)


def _isatty(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):    # no isatty, or a closed file
        return False


def check_progress_verbose(fn, verbose):
    """`verbose` of fit: 0, 1, 2 or "auto" (Keras' values), else ValueError naming `fn`."""
    if isinstance(verbose, str) and verbose == "auto":
        return verbose
    if isinstance(verbose, numbers.Integral) and not isinstance(verbose, bool) and verbose in (0, 1, 2):
        return int(verbose)
    raise ValueError(f"{fn}: verbose must be 0 (silent), 1 (a progress bar per epoch), 2 (one line per epoch) "
                     f"or 'auto' (1 on a terminal or in a notebook, else silent), got {verbose!r}")


class ProgressLogger(Callback):
    """The progress display of `fit(verbose=...)`, with Keras' meanings of verbose:

        0       nothing
        1       a tqdm bar per epoch (batches done, elapsed time and ETA, loss and metrics so far in the
                postfix, as much as the terminal's width shows); when the epoch ends the bar gives way to
                the epoch's whole line, as verbose=2 writes it (in a notebook the widget stays, with them)
        2       one line per epoch:  epoch 1/10 - 0.2s - loss: 0.5123 - accuracy: 0.8012
        "auto"  (fit's default) 1 when `stream` is a terminal or this runs in a notebook, else nothing:
                a log file or a pipe gets no bar redrawn in place (ask for verbose=2 to log the epochs)

    Writes to `stream` (stdout by default); in a notebook with stdout the bar is tqdm.auto's widget.
    A callback's message (`_print`) written while a bar is showing starts a line of its own below it."""

    _live = LIVE_BARS     # the stream -> logger whose bar shows there (nnc/_callback.py)

    def __init__(self, epochs, steps, verbose=1, stream=None):
        super().__init__()
        verbose = check_progress_verbose("ProgressLogger", verbose)
        self.epochs, self.steps = epochs, steps
        self.stream = stream or sys.stdout
        if verbose == "auto":
            verbose = 1 if _isatty(self.stream) or (stream is None and _in_notebook()) else 0
        self.verbose = verbose
        self._bar = None
        self._widget = False   # the bar is tqdm.auto's notebook widget (it does not write to stream)
        self._t0 = 0.0

    def make_room(self):
        """Before a message is written below the bar (print_line): end the bar's line."""
        if self._bar is not None and not self._widget:
            self._bar.refresh()      # the bar keeps its line, up to date; it redraws itself on the next one
            self.stream.write("\n")

    @staticmethod
    def _fmt(logs):
        return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items() if isinstance(v, float))

    def _close_bar(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        ProgressLogger._live.pop(id(self.stream), None)

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()
        if self.verbose != 1:
            return
        self._close_bar()
        # tqdm is imported here, not at import nnc: only a run that draws a bar needs it.
        if self.stream is sys.stdout and _in_notebook():
            from tqdm.auto import tqdm     # the widget; without ipywidgets tqdm warns and falls back to text
        else:
            from tqdm.std import tqdm
        self._widget = tqdm.__module__ == "tqdm.notebook"
        # A text bar is cut at the terminal's width (the postfix first), so it is erased at the epoch's end
        # and the whole line written instead; the notebook widget wraps, and stays.
        self._bar = tqdm(total=self.steps, desc=f"epoch {epoch + 1}/{self.epochs}", unit="batch",
                         file=self.stream, leave=self._widget, dynamic_ncols=True)
        ProgressLogger._live[id(self.stream)] = self

    def on_batch_end(self, batch, logs=None):
        if self._bar is not None:
            self._bar.set_postfix_str(self._fmt(logs or {}), refresh=False)
            self._bar.update(1)

    def on_epoch_end(self, epoch, logs=None):
        widget = self._widget
        if self._bar is not None and widget:   # the widget keeps the epoch's values, the validation ones too
            self._bar.set_postfix_str(self._fmt(logs or {}), refresh=False)
        self._close_bar()
        if self.verbose == 2 or (self.verbose == 1 and not widget):
            self.stream.write(f"epoch {epoch + 1}/{self.epochs} - {time.perf_counter() - self._t0:.1f}s - "
                              f"{self._fmt(logs or {})}\n")
            self.stream.flush()

    def on_train_end(self, logs=None):
        if self._bar is not None:   # training stopped in mid-epoch or raised: the bar stays, where it stopped
            self._bar.leave = True
        self._close_bar()


# ---- training control ------------------------------------------------------------------------------
def _better(mode, monitor):
    """'min' / 'max' / 'auto' (max for accuracy-like names, min otherwise, as Keras decides)."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        mode = "max" if ("acc" in monitor or monitor.endswith("auc")) else "min"
    return mode


class _Monitoring(Callback):
    """Shared logic: is logs[monitor] an improvement of more than min_delta over the best so far?"""

    def __init__(self, monitor, mode, min_delta):
        super().__init__()
        self.monitor = monitor
        self.mode = _better(mode, monitor)
        self.min_delta = abs(float(min_delta))
        self.best = math.inf if self.mode == "min" else -math.inf

    def _value(self, logs):
        if self.monitor not in (logs or {}):
            warnings.warn(f"{type(self).__name__}: metric {self.monitor!r} is not in the logs "
                          f"(available: {sorted(logs or {})})", RuntimeWarning, stacklevel=3)
            return None
        return float(logs[self.monitor])

    def _improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


def _copy_weights(model):
    return [({k: v.copy() for k, v in lyr.params.items()}, {k: v.copy() for k, v in lyr.buffers.items()})
            for lyr in model.layers]


def _set_weights(model, saved):
    for lyr, (params, buffers) in zip(model.layers, saved):
        for k, v in params.items():
            lyr.params[k][...] = v   # in place: optimizer slots and references stay valid
        for k, v in buffers.items():
            lyr.buffers[k][...] = v


class EarlyStopping(_Monitoring):
    """Stop when `monitor` has not improved by more than min_delta for `patience` epochs.

    restore_best_weights=True puts the weights (and batch-norm statistics) of the best epoch back
    at the end of training. After training: stopped_epoch (0 if it never stopped), best, best_epoch.
    verbose=1 prints when it stops and when it restores the best weights."""

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, mode="auto", baseline=None,
                 restore_best_weights=False, verbose=0):
        super().__init__(monitor, mode, min_delta)
        self.verbose = check_verbose("EarlyStopping", verbose)
        self.patience = int(patience)
        self.baseline = baseline
        self.restore_best_weights = bool(restore_best_weights)

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = None
        self.best = math.inf if self.mode == "min" else -math.inf
        if self.baseline is not None:
            self.best = float(self.baseline)
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        value = self._value(logs)
        if value is None:
            return
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = _copy_weights(self.model)
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            self._print(f"Epoch {epoch + 1}: early stopping ({self.monitor} has not improved by more than "
                        f"{self.min_delta:g} for {self.wait} epochs)")

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self._print(f"Restoring model weights from the end of the best epoch: {(self.best_epoch or 0) + 1} "
                        f"({self.monitor} = {self.best:.5f})")
            _set_weights(self.model, self.best_weights)


class ModelCheckpoint(_Monitoring):
    """Save the model (`model.save`) at the end of every epoch, or only when `monitor` improved.

    filepath may hold format fields: "ckpt-{epoch:02d}-{val_loss:.3f}.npz" (epoch counts from 1).
    A model holding NaN or inf (training diverged; TerminateOnNaN stops after the bad update) is never
    saved: the last good checkpoint stays, and a RuntimeWarning says so. verbose=1 prints each decision."""

    def __init__(self, filepath, monitor="val_loss", save_best_only=False, mode="auto", min_delta=0.0, verbose=0):
        super().__init__(monitor, mode, min_delta)
        self.verbose = check_verbose("ModelCheckpoint", verbose)
        self.filepath = str(filepath)
        self.save_best_only = bool(save_best_only)
        self.saved = []   # paths written, in order

    def on_epoch_end(self, epoch, logs=None):
        from .models.saving import non_finite
        logs = logs or {}
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            value = self._value(logs)
            if value is None:
                return
            if not self._improved(value):
                self._print(f"Epoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
        bad = non_finite(self.model)
        if bad is not None:
            message = (f"ModelCheckpoint: epoch {epoch + 1}: {bad} contains NaN or inf, so the model was not "
                       f"saved to {path}; the last good checkpoint stays (load it and lower the learning rate)")
            warnings.warn(message, RuntimeWarning, stacklevel=2)
            self._print(message)
            return
        if self.save_best_only:
            self._print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to {value:.5f}, "
                        f"saving model to {path}")
            self.best = value
        else:
            self._print(f"Epoch {epoch + 1}: saving model to {path}")
        self.model.save(path)
        self.saved.append(path)


class CSVLogger(Callback):
    """One CSV row per epoch: epoch, then the logs in sorted key order. append=True continues a file
    (for resumed runs) without repeating the header."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.sep, self.append = str(filename), separator, bool(append)
        self._file: Any = None          # the open CSV file during fit
        self._keys = None

    def on_train_begin(self, logs=None):
        has_rows = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._keys = None
        self._header_done = has_rows

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._keys is None:
            self._keys = sorted(logs)
            if not self._header_done:
                self._file.write(self.sep.join(["epoch"] + self._keys) + "\n")
        self._file.write(self.sep.join([str(epoch)] + [repr(float(logs.get(k, math.nan))) for k in self._keys])
                         + "\n")
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


class LearningRateScheduler(Callback):
    """Set the optimizer's lr at the start of every epoch: `schedule(epoch, lr) -> new lr`, or a
    Schedule from nnc.optim.schedules, which is called with the epoch number. verbose=1 prints each lr set."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = check_verbose("LearningRateScheduler", verbose)

    def on_epoch_begin(self, epoch, logs=None):
        from .optim.schedules import Schedule
        opt = self.model.optimizer
        if getattr(opt, "schedule", None) is not None:
            raise RuntimeError("LearningRateScheduler: the optimizer already has a per-step schedule as lr")
        lr = self.schedule(epoch) if isinstance(self.schedule, Schedule) else self.schedule(epoch, opt.lr)
        if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
            raise ValueError(f"LearningRateScheduler: the schedule returned {lr!r}, need a positive number")
        opt.lr = float(lr)
        self._print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {opt.lr:g}")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = float(self.model.optimizer.lr)


class ReduceLROnPlateau(_Monitoring):
    """Multiply the lr by `factor` when `monitor` has not improved for `patience` epochs, then wait
    `cooldown` epochs before watching again; never below min_lr (Keras' defaults). verbose=1 prints
    each reduction."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, verbose=0):
        super().__init__(monitor, mode, min_delta)
        self.verbose = check_verbose("ReduceLROnPlateau", verbose)
        if not 0 < factor < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must satisfy 0 < factor < 1, got {factor!r}")
        self.factor, self.patience, self.cooldown = float(factor), int(patience), int(cooldown)
        self.min_lr = float(min_lr)

    def on_train_begin(self, logs=None):
        self.wait = self.cooldown_counter = 0
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch, logs=None):
        opt = self.model.optimizer
        if getattr(opt, "schedule", None) is not None:
            raise RuntimeError("ReduceLROnPlateau: the optimizer's lr is a per-step schedule, which would "
                               "overwrite the reduced rate; give the optimizer a number as lr")
        if logs is not None:
            logs["lr"] = float(opt.lr)
        value = self._value(logs)
        if value is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(value):
            self.best, self.wait = value, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience and opt.lr > self.min_lr:
                opt.lr = max(opt.lr * self.factor, self.min_lr)
                self.cooldown_counter, self.wait = self.cooldown, 0
                self._print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {opt.lr:g}")
