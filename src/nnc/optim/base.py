"""The Optimizer base class: parameters are bound once, `step()` updates them in place.

    opt = nnc.optim.SGD(lr=0.1).bind(model)     # or model.compile(optimizer=opt, ...) binds it
    out = model.forward(x, training=True); loss = loss_fn.forward(out, y)
    model.backward(loss_fn.backward()); opt.step()

State (momentum buffers, Adam moments, ...) lives in `self.state[key][name]`, keyed by a stable
parameter key "<layer index>.<layer name>.<param>", so `state_dict()` can be saved as arrays and
loaded into a fresh optimizer bound to the same architecture.

One style for every update: an optimizer's `update` holds the rule's state and hands the arithmetic to
one in-place kernel of the backend in use (`axpy`, `sgd_momentum_update`, `adam_update`,
`rmsprop_update`, `adagrad_update`, `adadelta_update`; nnc/backend/reference/update.py writes each as
the paper does). The native twins update parameter and state in one pass with no temporary arrays, and
give the reference's bits, so switching backend never changes a training run.

Options every optimizer takes (Keras names):
    lr / learning_rate   a number, or a schedule (nnc.optim.schedules) evaluated at every step
    clipvalue            clip every gradient element to [-clipvalue, clipvalue]
    clipnorm             rescale each parameter's gradient whose L2 norm exceeds clipnorm
    global_clipnorm      rescale ALL gradients together when their joint L2 norm exceeds it
                         (Pascanu et al. 2013); the direction of the whole update is kept
Clipping works on copies: layer.grads keep the raw gradients for inspection.
"""
import contextlib
import signal
import threading
from typing import Any

import numpy as np

from .._names import Registered, Registry
from ..validation import check_number
from . import schedules

OPTIMIZERS = Registry("optimizer")


@contextlib.contextmanager
def _interrupts_held():
    """Delay a KeyboardInterrupt (SIGINT) that arrives inside the block until the block is done, so a
    Ctrl-C never leaves some parameters updated and others not. Only the main thread gets signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is None:   # a handler set outside Python: it could not be put back
        yield
        return
    caught = []
    signal.signal(signal.SIGINT, lambda sig, frame: caught.append(sig))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught and previous is not signal.SIG_IGN:
        if callable(previous):
            previous(signal.SIGINT, None)   # Python's default handler raises KeyboardInterrupt
        else:
            raise KeyboardInterrupt


class Optimizer(Registered):
    """Base class of the optimizers: bind(model) once, then step() after each backward pass.

    step() updates every trainable parameter theta in place from its gradient g = dL/dtheta
    (layer.grads, clipped first as the options say) with the current learning rate lr (the number,
    or the schedule's value at t = iterations, the updates done so far):

        theta <- theta + update(g, lr, state)        plain SGD: theta <- theta - lr * g

    A subclass implements update(key, param, grad); its per-parameter state (velocity, moments)
    lives in self.state[key]. The options every optimizer takes are in the module docstring."""
    registry = OPTIMIZERS

    def __init__(self, lr=0.01, learning_rate=None, clipvalue=None, clipnorm=None, global_clipnorm=None):
        name = type(self).__name__
        if learning_rate is not None:  # Keras' spelling
            lr = learning_rate
        self.schedule = schedules.get(lr) if isinstance(lr, (dict, schedules.Schedule)) else None
        self.lr = self.schedule(0) if self.schedule is not None else \
            check_number(name, "lr", lr, minimum=0, strict=True)
        self.clipvalue = None if clipvalue is None else check_number(name, "clipvalue", clipvalue, 0, strict=True)
        self.clipnorm = None if clipnorm is None else check_number(name, "clipnorm", clipnorm, 0, strict=True)
        self.global_clipnorm = None if global_clipnorm is None else \
            check_number(name, "global_clipnorm", global_clipnorm, 0, strict=True)
        self.iterations = 0
        self.state = {}
        self._targets = []  # (key, layer, param name)

    def bind(self, model_or_layers):
        """Attach to a model (or a list of layers); returns self for chaining."""
        layers = getattr(model_or_layers, "layers", model_or_layers)
        self._targets = [(f"{i}.{layer.name}.{p}", layer, p)
                         for i, layer in enumerate(layers) for p in layer.params]
        return self

    def step(self):
        """Update every trainable parameter in place from its gradient."""
        if not self._targets:
            raise RuntimeError(f"{type(self).__name__}: no parameters bound; call opt.bind(model) "
                               "(model.compile does it) after the model is built")
        # All or nothing: everything that can fail is computed and checked before the first write,
        # and a Ctrl-C during the writes is held back until the step is complete.
        lr = float(self.schedule(self.iterations)) if self.schedule is not None else self.lr
        work = [(key, layer.params[p], layer.grads[p]) for key, layer, p in self._targets
                if layer.trainable and layer.grads.get(p) is not None]
        for key, param, grad in work:
            if grad.shape != param.shape or grad.dtype != param.dtype:
                raise ValueError(f"{type(self).__name__}.step: the gradient of {key} has shape {grad.shape} and "
                                 f"dtype {grad.dtype}, the parameter {param.shape} {param.dtype}; nothing was updated")
        grads = self.clip([g for _, _, g in work])
        with _interrupts_held():
            self.lr = lr
            for (key, param, _), grad in zip(work, grads):
                self.update(key, param, grad)
            self.iterations += 1

    def clip(self, grads):
        """Apply clipvalue, clipnorm, global_clipnorm (in that order) to a list of gradients; returns
        a new list. Gradients that need no change are passed on uncopied; none is modified in place."""
        out = []
        for g in grads:
            if self.clipvalue is not None:
                g = np.clip(g, -self.clipvalue, self.clipvalue)
            if self.clipnorm is not None:
                norm = float(np.sqrt(np.sum(np.square(g, dtype=np.float64))))
                if norm > self.clipnorm:
                    g = g * np.asarray(self.clipnorm / norm, g.dtype)
            out.append(g)
        if self.global_clipnorm is not None:
            total = float(np.sqrt(sum(np.sum(np.square(g, dtype=np.float64)) for g in out)))
            if total > self.global_clipnorm:
                out = [g * np.asarray(self.global_clipnorm / total, g.dtype) for g in out]
        return out

    def update(self, key, param, grad):
        """Update one parameter array in place (subclasses)."""
        raise NotImplementedError

    def _slot(self, key, name, like):
        """A per-parameter state array (zeros like the parameter), created on first use."""
        slots = self.state.setdefault(key, {})
        if name not in slots:
            slots[name] = np.zeros_like(like)
        return slots[name]

    # ---- persistence ------------------------------------------------------------------------------
    def get_config(self):
        """Constructor arguments, JSON-serializable; `type(opt)(**opt.get_config())` rebuilds it."""
        cfg = {"lr": schedules.serialize(self.schedule) if self.schedule is not None else self.lr}
        for k in ("clipvalue", "clipnorm", "global_clipnorm"):
            if getattr(self, k) is not None:
                cfg[k] = getattr(self, k)
        return cfg

    def state_dict(self):
        """Plain arrays and numbers only (saved without pickle): config, the step counter, the
        current lr (callbacks such as ReduceLROnPlateau change it) and the per-parameter slots."""
        return {"config": self.get_config(), "iterations": self.iterations, "lr": self.lr,
                "state": {k: dict(v) for k, v in self.state.items()}}

    def load_state_dict(self, sd):
        """Restore what state_dict() returned; the config must be this optimizer's own kind."""
        fresh = type(self)(**sd.get("config", self.get_config()))
        for k, v in vars(fresh).items():
            if k not in ("state", "_targets", "iterations"):
                setattr(self, k, v)
        self.iterations = int(sd["iterations"])
        if "lr" in sd:
            self.lr = float(sd["lr"])
        self.state = {k: {n: np.array(a, copy=True) for n, a in v.items()} for k, v in sd["state"].items()}

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


def get(identifier: "str | dict[str, Any] | Optimizer") -> "Optimizer":
    """An optimizer from an instance, a Keras name ("sgd", "adam", ...) or {"class_name", "config"}."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return OPTIMIZERS[identifier["class_name"]](**identifier.get("config", {}))
    if isinstance(identifier, str):
        return OPTIMIZERS[identifier]()
    raise TypeError(f"optimizer must be a name or an Optimizer, got {identifier!r}")
