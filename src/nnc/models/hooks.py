"""Hooks: functions that see every layer's result in the forward and the backward pass of a Sequential.

    def show(layer, event, array):            # event is "forward" or "backward"
        print(layer.name, event, None if array is None else array.shape)

    handle = model.register_hook(show)
    model.fit(x, y, epochs=1)                  # show sees every batch
    handle.remove()

    with model.register_hook(show):            # the same, removed at the end of the block
        model.predict(x[:1])

What the hook gets is what the layer's pass just returned:
    "forward"    array = a_l = layer.forward(a_{l-1}), the layer's output (N, ...)
    "backward"   array = dL/da_{l-1} = layer.backward(dL/da_l), the gradient with respect to the layer's
                 input (None for a first layer, which skips that product); layer.grads already hold
                 this batch's dW, db when the hook runs.
Hooks run in the order they were registered, after each layer, in fit, evaluate, predict and in a loop
written out by hand (model.forward / model.backward). A hook may read the arrays but must not write
into them (they are the arrays the next layer uses). With no hook registered the passes cost nothing
extra. A copy of a model (copy.deepcopy) starts without hooks: a handle removes from its own model.
nnc.trace records more (z and delta inside a fused activation) for one sample.
"""

EVENTS = ("forward", "backward")


class HookHandle:
    """What `register_hook` returns: `remove()` it (twice is harmless), or use it in a `with` block."""

    def __init__(self, model, fn):
        self.model, self.fn = model, fn

    @property
    def active(self):
        """True while the hook is registered."""
        return any(f is self.fn for f in self.model._hooks)

    def remove(self):
        """Unregister the hook; the model's other hooks stay."""
        hooks = list(self.model._hooks)
        for i, f in enumerate(hooks):
            if f is self.fn:
                del hooks[i]
                break
        self.model._hooks = tuple(hooks)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False

    def __repr__(self):
        name = getattr(self.fn, "__qualname__", repr(self.fn))
        return f"<HookHandle {name} on {self.model.name!r}{'' if self.active else ' (removed)'}>"


def check_hook(fn):
    """A hook must be callable as fn(layer, event, array)."""
    if not callable(fn):
        raise TypeError(f"register_hook: fn must be a function fn(layer, event, array) (event 'forward' or "
                        f"'backward'), got {type(fn).__name__} {fn!r}")
    return fn


def call_watchers(model, layer, event, array):
    """model.watchers (the older, undocumented API that nnc.diagnostics uses) through one hook:
    after_forward(i, layer, out) and after_backward(i, layer, dx), i the layer's index."""
    i = next(j for j, lyr in enumerate(model.layers) if lyr is layer)
    for w in list(model.watchers):
        (w.after_forward if event == "forward" else w.after_backward)(i, layer, array)
