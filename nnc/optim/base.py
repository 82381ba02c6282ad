"""The Optimizer base class: parameters are bound once, `step()` updates them in place.

    opt = nnc.optim.SGD(lr=0.1).bind(model)     # or model.compile(optimizer=opt, ...) binds it
    out = model.forward(x, training=True); loss = loss_fn.forward(out, y)
    model.backward(loss_fn.backward()); opt.step()

State (momentum buffers, Adam moments, ...) lives in `self.state[key][name]`, keyed by a stable
parameter key "<layer index>.<layer name>.<param>", so `state_dict()` can be saved as arrays and
loaded into a fresh optimizer bound to the same architecture.
"""
import numpy as np

from ..backend._checks import check_number

_REGISTRY = {}


class Optimizer:
    aliases = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for key in (cls.__name__, *cls.aliases):
            _REGISTRY[key.lower()] = cls

    def __init__(self, lr=0.01):
        self.lr = check_number(type(self).__name__, "lr", lr, minimum=0, strict=True)
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
        for key, layer, p in self._targets:
            if layer.trainable and p in layer.grads:
                self.update(key, layer.params[p], layer.grads[p])
        self.iterations += 1

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
        return {"lr": self.lr}

    def state_dict(self):
        """Plain arrays and numbers only (saved without pickle)."""
        return {"config": self.get_config(), "iterations": self.iterations,
                "state": {k: dict(v) for k, v in self.state.items()}}

    def load_state_dict(self, sd):
        for k, v in sd.get("config", {}).items():
            setattr(self, k, v)
        self.iterations = int(sd["iterations"])
        self.state = {k: {n: np.array(a, copy=True) for n, a in v.items()} for k, v in sd["state"].items()}

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


def get(identifier):
    """An optimizer from an instance, a Keras name ("sgd", "adam", ...) or {"class_name", "config"}."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return _lookup(identifier["class_name"])(**identifier.get("config", {}))
    if isinstance(identifier, str):
        return _lookup(identifier)()
    raise TypeError(f"optimizer must be a name or an Optimizer, got {identifier!r}")


def _lookup(name):
    try:
        return _REGISTRY[name.lower()]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; known: {sorted(_REGISTRY)}") from None
