"""Sequential: a list of layers, applied in order, and the two passes through them.

The training loop (compile, fit, evaluate, predict) is its base class Trainer, in models/trainer.py;
checkpoints are models/saving.py.
"""
import functools
import os
from typing import Any, Callable, Iterable, Sequence

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .._names import unknown_name
from .._seed import new_rng
from ..layers.base import Layer
from ..layers.base import get as get_layer_class
from . import _fit_checks as checks
from . import hooks as hooks_mod
from .saving import MODELS, restore, save_model
from .trainer import Trainer


@MODELS.register
class Sequential(Trainer):
    """A stack of layers, applied in order.

        model = nnc.Sequential([Dense(64, activation="relu", input_shape=(784,)), Dense(10)], seed=0)
        model.compile(optimizer=nnc.optim.SGD(0.1), loss="softmax_cross_entropy", metrics=["accuracy"])
        history = model.fit(x, y, epochs=5, batch_size=128, validation_split=0.1)

    One numpy Generator, seeded by `seed`, draws the initial weights, the shuffling order and the
    dropout masks, in that order; saving its state is what makes a resumed run repeat exactly.
    seed=None takes the default of nnc.set_seed (unseeded unless it was called)."""

    def __init__(self, layers: Iterable[Layer] | None = None, seed: int | None = None, dtype: DTypeLike = "float32",
                 name: str = "sequential") -> None:
        self.layers = []
        self.name = name
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise TypeError(f"Sequential: dtype must be float32 or float64, got {self.dtype}")
        self.seed = seed
        self.rng = np.random.default_rng(seed) if seed is not None else new_rng()
        self.built = False
        self.optimizer = self.loss = None
        self.metrics = []
        self.stop_training = False
        self.history: Any = None     # the History of the last fit
        self.epoch = 0          # epochs completed; fit(..., initial_epoch=model.epoch) resumes
        # register_hook's functions, in order (a tuple: a hook may remove itself mid-pass)
        self._hooks: tuple[Any, ...] = ()
        # The older API kept for nnc.diagnostics (after_forward/after_backward), run as a hook.
        self.watchers: list[Any] = []
        self._compiled_with: Any = None
        self._trained_peak = None   # largest |x| fit last saw, to catch unscaled data in predict/evaluate
        for layer in layers or []:
            self.add(layer)

    # ---- structure ----------------------------------------------------------------------------
    def add(self, layer: Layer) -> "Sequential":
        """Append a layer. On a built model the new layer is built at once on the current output shape."""
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a Layer, got {type(layer).__name__}")
        if any(lyr is layer for lyr in self.layers):
            # One instance twice would overwrite its own cache in forward and get wrong gradients.
            raise ValueError(f"Sequential.add: layer '{layer.name}' is already in this model; a layer keeps the "
                             f"cache of one call, so using it twice gives wrong gradients. Add a new instance, "
                             f"e.g. {type(layer).__name__}() again, or type(layer).from_config(layer.get_config()) "
                             "for a copy with the same settings")
        names = {lyr.name for lyr in self.layers}
        if layer.name in names:  # unique names keep parameter keys and saved files unambiguous
            base, i = layer.name, 1
            while f"{base}_{i}" in names:
                i += 1
            layer.name = f"{base}_{i}"
        if self.built:
            self._build_layer(layer, self.layers[-1].output_shape)
            layer.need_input_grad = True
        self.layers.append(layer)
        if self.built and self.optimizer is not None:
            self.optimizer.bind(self)
        return self

    def pop(self) -> Layer:
        """Remove and return the last layer (Keras' model.pop())."""
        if not self.layers:
            raise ValueError("Sequential.pop: the model has no layers to remove")
        layer = self.layers.pop()
        if not self.layers:
            self.built = False
        if self.built and self.optimizer is not None:
            self.optimizer.bind(self)
        return layer

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by its name or by its position (Keras' model.get_layer; give exactly one)."""
        if (name is None) == (index is None):
            raise ValueError("Sequential.get_layer: give exactly one of name= or index=")
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
                raise TypeError(f"Sequential.get_layer: index must be an integer, got {index!r}")
            if not -len(self.layers) <= index < len(self.layers):
                raise IndexError(f"Sequential.get_layer: index {index} out of range; the model has "
                                 f"{len(self.layers)} layers")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise unknown_name("layer", name, [lyr.name for lyr in self.layers])

    def _build_layer(self, layer, shape):
        """Build `layer` for per-sample input `shape`; a layer already built with weights (taken from
        another model) keeps them when the shape matches and is refused when it does not."""
        if layer.built and (layer.params or layer.buffers):
            if tuple(layer.input_shape) != tuple(shape):
                raise ValueError(f"Sequential.build: layer '{layer.name}' is already built (it has weights) for "
                                 f"inputs {tuple(layer.input_shape)} but receives {tuple(shape)} here; "
                                 f"use a new layer, or give the model inputs that fit")
            if layer.dtype != self.dtype:
                raise TypeError(f"Sequential.build: layer '{layer.name}' holds {layer.dtype} weights but the "
                                f"model computes in {self.dtype}; create the model with dtype='{layer.dtype}'")
            return tuple(layer.output_shape)
        return tuple(layer.build(shape, self.dtype, self.rng))

    def build(self, input_shape: Sequence[int] | None = None) -> "Sequential":
        """Create every layer's parameters for per-sample `input_shape` (or the first layer's).
        Layers that are already built with weights keep them (transfer learning)."""
        if not self.layers:
            raise ValueError("Sequential.build: the model has no layers")
        declared = self.layers[0].input_shape
        if input_shape is None:
            input_shape = declared
        if input_shape is None:
            raise ValueError("Sequential.build: unknown input shape; give the first layer input_shape=... "
                             "or call build(input_shape) / fit(x, ...)")
        shape = tuple(int(d) for d in input_shape)
        checks.check_input_shape("Sequential.build", declared, shape, name="input_shape")
        self._infer_output_shape(shape)   # every shape error before the first layer is built
        for layer in self.layers:
            shape = self._build_layer(layer, shape)
            layer.need_input_grad = True
        self.layers[0].need_input_grad = False  # nobody needs d(loss)/d(data)
        self.built = True
        if self.optimizer is not None:
            self.optimizer.bind(self)
        return self

    def _infer_output_shape(self, shape):
        """The per-sample output shape for inputs `shape`, computed without building anything."""
        for layer in self.layers:
            shape = tuple(layer.output_shape) if layer.built else tuple(layer.compute_output_shape(shape))
        return shape

    # ---- weights and config (Keras' names) ------------------------------------------------------
    def _weight_arrays(self):
        """Every layer's parameters, then its buffers (batch norm's running mean and variance), in
        layer order: Keras' get_weights order (trainable weights of a layer, then non-trainable)."""
        if not self.built:
            raise RuntimeError("Sequential: the model is not built yet; call build(input_shape) or fit first")
        return [(layer, d, k) for layer in self.layers for d in (layer.params, layer.buffers) for k in d]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of all weight arrays, in the order set_weights takes them."""
        return [d[k].copy() for _, d, k in self._weight_arrays()]

    def set_weights(self, weights: Iterable[ArrayLike]) -> None:
        """Write `weights` (a list as get_weights returns) into the model, in place; all are checked first."""
        slots = self._weight_arrays()
        weights = list(weights)
        if len(weights) != len(slots):
            raise ValueError(f"Sequential.set_weights: expected {len(slots)} arrays (as get_weights() returns), "
                             f"got {len(weights)}")
        new = []
        for (layer, d, k), w in zip(slots, weights):
            w = np.asarray(w)
            if w.shape != d[k].shape:
                raise ValueError(f"Sequential.set_weights: {layer.name}.{k} must have shape {d[k].shape}, "
                                 f"got {w.shape}")
            if not np.issubdtype(w.dtype, np.number) or w.dtype.kind == "c":
                raise TypeError(f"Sequential.set_weights: {layer.name}.{k} must be real numbers, got {w.dtype}")
            new.append(w)
        for (_, d, k), w in zip(slots, new):
            d[k][...] = w   # in place: the optimizer and the layers keep their references

    def get_config(self) -> dict[str, Any]:
        """JSON-ready description of the architecture; Sequential.from_config(config) rebuilds it
        (new, untrained weights: use save/load or get_weights/set_weights for the values)."""
        return {"name": self.name, "dtype": self.dtype.name, "seed": self.seed,
                "layers": [{"class_name": type(lyr).__name__, "config": lyr.get_config()} for lyr in self.layers]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Sequential":
        layers = [get_layer_class(c["class_name"]).from_config(c["config"]) for c in config.get("layers", [])]
        return cls(layers, seed=config.get("seed"), dtype=config.get("dtype", "float32"),
                   name=config.get("name", "sequential"))

    def __repr__(self):
        layers = ",\n    ".join(repr(lyr) for lyr in self.layers)
        state = f"{self.count_params():,} params" if self.built else "not built"
        return f"Sequential([\n    {layers}\n], name={self.name!r}, {state})"

    @property
    def input_shape(self) -> tuple[int, ...] | None:
        return self.layers[0].input_shape if self.layers else None

    @property
    def output_shape(self) -> tuple[int, ...] | None:
        return self.layers[-1].output_shape if self.built else None

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    def summary(self, print_fn: Callable[[str], Any] = print) -> str:
        """Print (via print_fn) one row per layer: name (type), output shape, parameter count."""
        if not self.built:
            self.build()
        rows = [(f"{lyr.name} ({type(lyr).__name__})", "(None, " + ", ".join(map(str, lyr.output_shape)) + ")",
                 lyr.count_params()) for lyr in self.layers]
        w = max(30, *(len(r[0]) + 2 for r in rows))
        trainable = sum(lyr.count_params() for lyr in self.layers if lyr.trainable)
        lines = [f'Model: "{self.name}"', "-" * (w + 36),
                 f"{'Layer (type)':<{w}}{'Output Shape':<24}{'Param #':>12}", "=" * (w + 36)]
        lines += [f"{a:<{w}}{b:<24}{c:>12,}" for a, b, c in rows]
        lines += ["=" * (w + 36), f"Total params: {self.count_params():,}", f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {self.count_params() - trainable:,}"]
        text = "\n".join(lines)
        print_fn(text)
        return text

    # ---- the two passes -------------------------------------------------------------------------
    def forward(self, x: ArrayLike, training: bool = False) -> np.ndarray:
        """Outputs (N, ...) of every layer in turn for inputs x (N, *input_shape). x is converted to the
        model's dtype (as fit and predict do), so float64 or integer data works on a float32 model."""
        a = (x if isinstance(x, np.ndarray) and x.dtype == self.dtype and x.flags.c_contiguous
             else checks.as_inputs("forward", x, self.dtype))
        if not self.built:
            self.build(a.shape[1:])
        elif a.shape[1:] != self.layers[0].input_shape:
            checks.check_input_shape("forward", self.layers[0].input_shape, a.shape[1:])
        hooks = self._pass_hooks()
        for layer in self.layers:
            a = layer.forward(a, training=training)     # a_l = f_l(a_{l-1})
            for fn in hooks:
                fn(layer, "forward", a)
        return a

    __call__ = forward

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dL/dx for dout = dL/d(output); fills every layer's grads on the way back."""
        hooks = self._pass_hooks()
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
            for fn in hooks:
                fn(layer, "backward", dout)
        return dout

    # ---- hooks ----------------------------------------------------------------------------------
    def register_hook(self, fn: Callable[[Layer, str, np.ndarray], Any]) -> hooks_mod.HookHandle:
        """Call fn(layer, event, array) after every layer's forward ("forward", array = its output a_l)
        and backward ("backward", array = dL/da_{l-1}, the gradient w.r.t. its input; layer.grads are
        filled by then). Returns a HookHandle: `handle.remove()`, or `with model.register_hook(fn): ...`.
        nnc/models/hooks.py says more; nnc.trace records z and delta as well, for one sample."""
        self._hooks = self._hooks + (hooks_mod.check_hook(fn),)
        return hooks_mod.HookHandle(self, fn)

    def _pass_hooks(self):
        if self.watchers:   # the older API rides on one hook
            return self._hooks + (functools.partial(hooks_mod.call_watchers, self),)
        return self._hooks

    def __getstate__(self):
        # A copy starts without hooks: their handles belong to this model.
        return {**self.__dict__, "_hooks": ()}

    def regularization_loss(self) -> float:
        return float(sum(layer.regularization_loss() for layer in self.layers))

    # ---- checkpoints (nnc/models/saving.py) ----------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write one .npz: config, weights, batch-norm statistics, optimizer state, RNG state, epoch."""
        save_model(self, path)

    def load(self, path: str | os.PathLike) -> "Sequential":
        """Restore weights, statistics, optimizer state, RNG state and epoch from `path` into this
        model (same architecture). Everything is checked first: on any error nothing changes."""
        restore(self, path)
        return self

    def to_onnx(self, path, **kwargs):
        """Write this built model to the ONNX file `path` (nnc.onnx.export: opset=, softmax=); needs the onnx extra."""
        from ..onnx import export
        return export(self, path, **kwargs)
