"""plug(): train a real model with a student's kernel in place of the library's.

Layers ask `nnc.backend.get()` for their kernels on every call, so plugging installs a small
backend object that hands out the student's function under the kernel's name and everything else
from the backend that was active; leaving the block puts that backend back, even after an error.
The update exercises plug an optimizer instead (`plug(...).optimizer()`).
"""
import inspect
import types

import numpy as np

from .. import backend


class _Plugged:
    """The active backend with one function replaced (the rest is read through)."""

    def __init__(self, base, name, fn):
        self._base, self._name = base, name
        setattr(self, name, fn)

    def __getattr__(self, attr):        # only called for what is not set here
        return getattr(self._base, attr)

    def __repr__(self):
        return f"<nnc backend {backend_name(self._base)} with your {self._name}>"


def backend_name(mod):
    """The name of a backend module, "native" for nnc.backend.native and "reference" otherwise."""
    return "native" if mod is backend.native and mod is not None else "reference"


def _cast(value, dtype):
    return value.astype(dtype, copy=False) if isinstance(value, np.ndarray) and value.dtype.kind == "f" else value


def _adapted(fn):
    """The student's function called the way layers call kernels: need_dx= dropped when it takes no
    such argument, and arrays cast to the input's dtype (a float64 dx would stop a float32 model)."""
    takes_need_dx = "need_dx" in inspect.signature(fn).parameters

    def kernel(*args, **kwargs):
        need_dx = kwargs.get("need_dx", True)
        if not takes_need_dx:
            kwargs.pop("need_dx", None)
        dtype = next((a.dtype for a in args if isinstance(a, np.ndarray) and a.dtype.kind == "f"), None)
        out = fn(*args, **kwargs)
        if isinstance(out, tuple):
            out = tuple(_cast(v, dtype) for v in out)
            if not need_dx and not takes_need_dx:
                out = (None,) + out[1:]
            return out
        return _cast(out, dtype)
    kernel.__name__ = getattr(fn, "__name__", "kernel")
    return kernel


def _optimizer_class(ex_name, fn):
    """A factory of nnc optimizers whose update runs the student's rule. The method is set on the
    instance: a subclass would enter (and, through the inherited aliases, replace) the optimizer
    registry that compile("sgd") reads."""
    from ..optim import SGD, Adam

    def sgd_update(self, key, param, grad):
        v = self._slot(key, "velocity", param)
        w_new, v_new = fn(param.copy(), grad, v.copy(), self.lr, self.momentum)
        param[...], v[...] = w_new, v_new      # in place: the layer keeps the same arrays

    def adam_update(self, key, param, grad):
        m, v = self._slot(key, "m", param), self._slot(key, "v", param)
        w_new, m_new, v_new = fn(param.copy(), grad, m.copy(), v.copy(), self.iterations + 1, self.lr,
                                 self.beta_1, self.beta_2, self.epsilon)
        param[...], m[...], v[...] = w_new, m_new, v_new

    def make(opt, update):
        opt.update = types.MethodType(update, opt)
        return opt

    if ex_name == "sgd_momentum_update":
        return lambda lr=0.05, momentum=0.9: make(SGD(lr, momentum=momentum), sgd_update)
    return lambda lr=0.001: make(Adam(lr), adam_update)


class Plug:
    """`with plug("dense_backward", my_fn): ...` runs every Dense layer through my_fn inside the block;
    `plug("dense_backward", my_fn).train()` trains a small model on the Fashion-MNIST sample with it."""

    def __init__(self, ex, fn):
        self.exercise, self.fn = ex, fn
        self._previous = None
        self._optimizer = _optimizer_class(ex.name, fn) if ex.kernel is None else None

    def __enter__(self):
        if self._optimizer is None:
            if self._previous is not None:
                raise RuntimeError(f"plug({self.exercise.name!r}): this plug is already in use; "
                                   "nest a new plug(...) instead")
            self._previous = backend.get()
            backend._active = _Plugged(self._previous, self.exercise.kernel, _adapted(self.fn))
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            backend._active, self._previous = self._previous, None
        return False

    def optimizer(self, **kwargs):
        """The update exercises: an nnc optimizer whose step runs your update (SGD(lr=0.05, momentum=0.9)
        or Adam(lr=0.001) settings); pass it to model.compile(optimizer=...)."""
        if self._optimizer is None:
            raise ValueError(f"plug({self.exercise.name!r}).optimizer(): only the update exercises "
                             "(sgd_momentum_update, adam_update) make an optimizer")
        return self._optimizer(**kwargs)

    def train(self, epochs=2, samples=1000, batch_size=50, seed=0, verbose=2):
        """Train a small model that uses your kernel on the first `samples` images of
        nnc.datasets.load_sample() -> the History (history.history["loss"], ["accuracy"]). verbose=2 (the
        default) prints each epoch's loss and accuracy, so you see whether your kernel learns; 0: silent."""
        import nnc
        from ..layers import BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPool2D
        name = self.exercise.name
        conv = name.startswith(("conv2d", "maxpool2d"))
        (x, y), _ = nnc.datasets.load_sample(normalize=True, layout="NCHW" if conv else "flat")
        x, y = x[:samples], y[:samples]
        if conv:
            layers = [Conv2D(4, 3, activation="relu", input_shape=x.shape[1:]), MaxPool2D(2), Flatten(), Dense(10)]
        else:
            act = "sigmoid" if name.startswith("sigmoid") else "tanh" if name.startswith("tanh") else "relu"
            layers = [Dense(64, input_shape=x.shape[1:], use_bias=not name.startswith("batchnorm"))]
            layers += [BatchNormalization()] if name.startswith("batchnorm") else []
            layers += [nnc.layers.Activation(act)]
            layers += [Dropout(0.2)] if name.startswith("dropout") else []
            layers += [Dense(10)]
        model = nnc.Sequential(layers, seed=seed)
        loss = "multiclass_hinge" if name.startswith("multiclass_hinge") else "softmax_cross_entropy"
        opt = self.optimizer() if self._optimizer is not None else nnc.optim.SGD(0.1, momentum=0.9)
        with self:
            model.compile(optimizer=opt, loss=loss, metrics=["accuracy"])
            return model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=verbose)
