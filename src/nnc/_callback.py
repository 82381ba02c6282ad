"""What every callback builds on: the Callback base class, the CallbackList fit calls, check_verbose,
and print_line, the one way a callback writes a line (below fit's progress bar when one is showing).

nnc.callbacks (the public module, with the callbacks that act) and nnc.diagnostics (the watchers)
both import this module; it imports neither of them.
"""
import sys
from typing import Any

# The stream (by id) on which a progress bar is showing -> its ProgressLogger, so print_line can end
# the bar's line first instead of gluing a message to it.
LIVE_BARS: dict[int, Any] = {}


def print_line(stream, text):
    """Write `text` as a line of its own on `stream`, below a progress bar if one is showing there."""
    live = LIVE_BARS.pop(id(stream), None)
    if live is not None:
        live.make_room()
    stream.write(text + "\n")
    stream.flush()


def check_verbose(owner, verbose):
    """`verbose` as an int after checking it is 0 (silent) or 1 (print each action), else ValueError
    naming `owner` (the callback's class name)."""
    if verbose not in (0, 1):
        raise ValueError(f"{owner}: verbose must be 0 (silent) or 1 (print each action), got {verbose!r}")
    return int(verbose)


class Callback:
    """Base class of the callbacks: override the hooks you need, the others do nothing.

    fit(x, y, epochs, callbacks=[...]) calls, with epoch counted from 0 (the first one run is initial_epoch)
    and batch the step within the epoch, counted from 0:

        on_train_begin(logs)           once, before the first epoch (logs = {})
        on_epoch_begin(epoch, logs)    at the start of each epoch (logs = {})
        on_batch_begin(batch, logs)    before each training step (logs = {})
        on_batch_end(batch, logs)      after each step: loss and metrics, means over the epoch so far
        on_epoch_end(epoch, logs)      after each epoch: its loss and metrics, plus val_loss, val_...
                                       with validation_data (a callback may add keys such as lr)
        on_train_end(logs)             once at the end, also when training stopped or raised

    fit gives each callback the model first (set_model), as self.model. Setting
    self.model.stop_training = True stops training: in on_batch_end the epoch ends after that step
    (on_epoch_end still runs), in on_epoch_end no further epoch starts."""

    model: Any      # the model fit trains (a Sequential), given by set_model; None before

    def __init__(self):
        self.model = None

    def set_model(self, model):
        """Called by fit before training: the model becomes self.model."""
        self.model = model

    def _print(self, text):
        """One line of verbose=1 output (a no-op for verbose=0), where fit's progress line goes."""
        if getattr(self, "verbose", 0):
            print_line(getattr(self, "stream", None) or sys.stdout, text)

    def on_train_begin(self, logs=None):
        """Once, before the first epoch (logs = {})."""

    def on_train_end(self, logs=None):
        """Once, after the last epoch, also when training stopped early or raised (logs = {})."""

    def on_epoch_begin(self, epoch, logs=None):
        """At the start of epoch `epoch` (from 0; logs = {})."""

    def on_epoch_end(self, epoch, logs=None):
        """After epoch `epoch`: logs holds its loss and metrics (and val_ ones with validation_data)."""

    def on_batch_begin(self, batch, logs=None):
        """Before training step `batch` of the epoch (from 0; logs = {})."""

    def on_batch_end(self, batch, logs=None):
        """After training step `batch`: logs holds loss and metrics, means over the epoch so far."""


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
