"""Sequential: a list of layers and the training loop, written out so it can be read and stepped through."""
import functools
import sys
import time

import numpy as np

from .. import losses as losses_mod
from .. import metrics as metrics_mod
from .. import optim
from .._names import unknown_name
from ..backend._checks import check_positive_int
from ..callbacks import CallbackList, History, ProgressLogger
from ..diagnostics import DeadNetworkWarning
from . import _fit_checks as checks
from . import hooks as hooks_mod


class Sequential:
    """A stack of layers, applied in order.

        model = nnc.Sequential([Dense(64, activation="relu", input_shape=(784,)), Dense(10)], seed=0)
        model.compile(optimizer=nnc.optim.SGD(0.1), loss="softmax_cross_entropy", metrics=["accuracy"])
        history = model.fit(x, y, epochs=5, batch_size=128, validation_split=0.1)

    One numpy Generator, seeded by `seed`, draws the initial weights, the shuffling order and the
    dropout masks, in that order; saving its state is what makes a resumed run repeat exactly."""

    def __init__(self, layers=None, seed=None, dtype="float32", name="sequential"):
        self.layers = []
        self.name = name
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise TypeError(f"Sequential: dtype must be float32 or float64, got {self.dtype}")
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.built = False
        self.optimizer = self.loss = None
        self.metrics = []
        self.stop_training = False
        self.history = None
        self.epoch = 0          # epochs completed; fit(..., initial_epoch=model.epoch) resumes
        self._hooks = ()        # register_hook's functions, in order (a tuple: a hook may remove itself mid-pass)
        self.watchers = []      # older API kept for nnc.diagnostics (after_forward/after_backward), run as a hook
        self._compiled_with = None
        self._trained_peak = None   # largest |x| fit last saw, to catch unscaled data in predict/evaluate
        for layer in layers or []:
            self.add(layer)

    # ---- structure ----------------------------------------------------------------------------
    def add(self, layer):
        """Append a layer. On a built model the new layer is built at once on the current output shape."""
        from ..layers.base import Layer
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

    def pop(self):
        """Remove and return the last layer (Keras' model.pop())."""
        if not self.layers:
            raise ValueError("Sequential.pop: the model has no layers to remove")
        layer = self.layers.pop()
        if not self.layers:
            self.built = False
        if self.built and self.optimizer is not None:
            self.optimizer.bind(self)
        return layer

    def get_layer(self, name=None, index=None):
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

    def build(self, input_shape=None):
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

    def get_weights(self):
        """Copies of all weight arrays, in the order set_weights takes them."""
        return [d[k].copy() for _, d, k in self._weight_arrays()]

    def set_weights(self, weights):
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

    def get_config(self):
        """JSON-ready description of the architecture; Sequential.from_config(config) rebuilds it
        (new, untrained weights: use save/load or get_weights/set_weights for the values)."""
        return {"name": self.name, "dtype": self.dtype.name, "seed": self.seed,
                "layers": [{"class_name": type(lyr).__name__, "config": lyr.get_config()} for lyr in self.layers]}

    @classmethod
    def from_config(cls, config):
        from ..layers.base import get as layer_class
        layers = [layer_class(c["class_name"]).from_config(c["config"]) for c in config.get("layers", [])]
        return cls(layers, seed=config.get("seed"), dtype=config.get("dtype", "float32"),
                   name=config.get("name", "sequential"))

    def __repr__(self):
        layers = ",\n    ".join(repr(lyr) for lyr in self.layers)
        state = f"{self.count_params():,} params" if self.built else "not built"
        return f"Sequential([\n    {layers}\n], name={self.name!r}, {state})"

    @property
    def input_shape(self):
        return self.layers[0].input_shape if self.layers else None

    @property
    def output_shape(self):
        return self.layers[-1].output_shape if self.built else None

    def count_params(self):
        return sum(layer.count_params() for layer in self.layers)

    def summary(self, print_fn=print):
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
    def forward(self, x, training=False):
        """Outputs (N, ...) of every layer in turn for inputs x (N, *input_shape). x is converted to the
        model's dtype (as fit and predict do), so float64 or integer data works on a float32 model."""
        if not isinstance(x, np.ndarray) or x.dtype != self.dtype or not x.flags.c_contiguous:
            x = checks.as_inputs("forward", x, self.dtype)
        if not self.built:
            self.build(x.shape[1:])
        elif x.shape[1:] != self.layers[0].input_shape:
            checks.check_input_shape("forward", self.layers[0].input_shape, x.shape[1:])
        hooks = self._pass_hooks()
        for layer in self.layers:
            x = layer.forward(x, training=training)
            for fn in hooks:
                fn(layer, "forward", x)
        return x

    __call__ = forward

    def backward(self, dout):
        """dL/dx for dout = dL/d(output); fills every layer's grads on the way back."""
        hooks = self._pass_hooks()
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
            for fn in hooks:
                fn(layer, "backward", dout)
        return dout

    # ---- hooks ----------------------------------------------------------------------------------
    def register_hook(self, fn):
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

    def regularization_loss(self):
        return float(sum(layer.regularization_loss() for layer in self.layers))

    # ---- training -------------------------------------------------------------------------------
    def compile(self, optimizer="sgd", loss="softmax_cross_entropy", metrics=None):
        """Choose the optimizer, the loss and the metrics (a name or a list of names, Keras' way)."""
        if metrics is None:
            metrics = []
        elif isinstance(metrics, str) or not isinstance(metrics, (list, tuple)):
            metrics = [metrics]   # metrics="accuracy" means ["accuracy"]
        # All three made before any is set: a refused compile leaves the model as it was.
        made = optim.get(optimizer), losses_mod.get(loss), [metrics_mod.get(m) for m in metrics]
        self.optimizer, self.loss, self.metrics = made
        self._compiled_with = (loss, list(metrics))  # what save() records to recompile
        if self.built:
            self.optimizer.bind(self)
        return self

    def _require_compiled(self, fn):
        if self.loss is None:
            raise RuntimeError(f"Sequential.{fn}: call compile(optimizer, loss, metrics) first")

    def train_on_batch(self, x, y, sample_weight=None):
        """One step of gradient descent; returns (batch loss including regularization, model output).

        sample_weight (N,) >= 0 weights each sample's loss as Keras does: loss = sum_i w_i l_i / N
        (N the batch size), so row i of d(loss)/d(output) is scaled by w_i."""
        out = self.forward(x, training=True)
        loss = self.loss.forward(out, y)
        dout = self.loss.backward()
        if sample_weight is not None:
            w = np.asarray(sample_weight, dtype=np.float64)
            loss = self._weighted_loss(loss, out, y, w)
            dout = dout * w.reshape((-1,) + (1,) * (dout.ndim - 1)).astype(dout.dtype)
        self._reg_loss = self.regularization_loss()   # of the weights this step started from (fit logs it)
        loss += self._reg_loss
        self.backward(dout)
        self.optimizer.step()
        return loss, out

    def _weighted_loss(self, loss, out, y, w):
        """sum_i w_i l_i / N from the batch's mean loss `loss`. The loss kernels return only the mean,
        so samples of equal weight are grouped and each group's mean taken: one call per distinct
        weight (per class with class_weight). Overwrites the loss object's cache."""
        values, group = np.unique(w, return_inverse=True)
        if len(values) == 1:
            return float(values[0]) * loss
        total = 0.0
        for k, v in enumerate(values):
            if v != 0:
                idx = np.flatnonzero(group == k)
                total += v * len(idx) * self.loss.forward(out[idx], y[idx])
        return total / len(w)

    def _prepare(self, fn, x, y):
        """Checked, converted (x, y) for this model, before any step."""
        x = checks.as_inputs(fn, x, self.dtype)
        checks.check_input_shape(fn, self.input_shape, x.shape[1:])
        y = checks.as_targets(fn, y, x.shape[0], self.dtype)
        return x, y

    def fit(self, x, y, batch_size=32, epochs=1, verbose=1, *, callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0):
        """Train for `epochs` epochs of mini-batch gradient descent; returns a History.

        x (N, *input_shape), y (N,) class ids or (N, ...) targets. The first five arguments are Keras'
        positional order (`fit(x, y, 64, 5)`: batch size 64, 5 epochs); the rest are keyword-only.
        validation_split takes the LAST fraction of x/y (before shuffling), like Keras. As in Keras,
        epochs is the index to stop at and initial_epoch the one to start from; `model.epoch` counts
        every epoch this model has trained (resume with initial_epoch=model.epoch).
        Everything is checked before the first step; training that is interrupted (Ctrl-C, an error)
        still runs every callback's on_train_end (logs closed, best weights restored).

        sample_weight (N,) and class_weight {class id: weight} weight each sample's loss (multiplied
        together when both are given; see train_on_batch). The validation loss is not weighted."""
        self._require_compiled("fit")
        fn = "fit"
        x, y = self._prepare(fn, x, y)
        sample_weight = checks.sample_weights(fn, y, sample_weight, None, None)   # checked before the split
        batch_size = check_positive_int(fn, "batch_size", batch_size)
        epochs = check_positive_int(fn, "epochs", epochs, minimum=0)
        initial_epoch = check_positive_int(fn, "initial_epoch", initial_epoch, minimum=0)
        if not 0.0 <= float(validation_split) < 1.0:
            raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split!r}")
        if validation_data is not None:
            validation_data = checks.validation_pair(fn, validation_data, self.dtype, self.input_shape or x.shape[1:])
        elif validation_split > 0:
            n_val = int(round(x.shape[0] * validation_split))
            if n_val == 0 or n_val == x.shape[0]:
                raise ValueError(f"fit: validation_split={validation_split} leaves no training or validation data")
            validation_data = (x[-n_val:], y[-n_val:])
            x, y = x[:-n_val], y[:-n_val]
            if sample_weight is not None:
                sample_weight = sample_weight[:-n_val]
        # Checked against the output shape before building: a refused fit leaves an unbuilt model
        # unbuilt and its random generator where it was.
        out_shape = self.output_shape if self.built else self._infer_output_shape(x.shape[1:])
        checks.check_loss_output(self, self.loss, out_shape)
        checks.check_targets(fn, "y", y, self.loss, out_shape)
        weights = checks.sample_weights(fn, y, sample_weight, class_weight, out_shape)
        if validation_data is not None:
            checks.check_targets(fn, "validation_data y", validation_data[1], self.loss, out_shape)
        peak = checks.warn_unscaled(fn, x)
        if validation_data is not None:
            checks.warn_scale_mismatch(fn, validation_data[0], peak, name="validation_data x")
        self._trained_peak = peak
        if not self.built:
            self.build(x.shape[1:])

        n = x.shape[0]
        steps = (n + batch_size - 1) // batch_size
        self.history = History()
        # History after the user's callbacks (as in Keras), so it records what they add to the logs (lr, ...)
        cbs = [DeadNetworkWarning()] + list(callbacks or []) + [self.history]
        if verbose:
            cbs.append(ProgressLogger(epochs, steps, verbose))
        cb = CallbackList(cbs, self)
        # With a regularizer, the training logs split loss = data_loss + reg_loss (is the penalty the loss?)
        split = any(v is not None for lyr in self.layers for k, v in vars(lyr).items()
                    if k.endswith("_regularizer"))
        self.stop_training = False
        cb.on_train_begin({})
        try:
            for epoch in range(initial_epoch, epochs):
                cb.on_epoch_begin(epoch, {})
                order = self.rng.permutation(n) if shuffle else None
                stats = self._fresh_stats()
                for step in range(steps):
                    batch = slice(step * batch_size, (step + 1) * batch_size)
                    if order is not None:
                        batch = order[batch]
                    xb, yb = x[batch], y[batch]     # without shuffling, views: no copy of the batch
                    cb.on_batch_begin(step, {})
                    loss, out = self.train_on_batch(xb, yb, None if weights is None else weights[batch])
                    self._accumulate(stats, loss, out, yb, self._reg_loss)
                    cb.on_batch_end(step, self._logs(stats, split))
                    if self.stop_training:  # a callback (TerminateOnNaN) stopped in mid-epoch
                        break
                logs = self._logs(stats, split)
                if validation_data is not None:
                    val = self._evaluate_checked(*validation_data, batch_size=max(batch_size, 256))
                    logs.update({f"val_{k}": v for k, v in val.items()})
                self.epoch += 1  # before the callbacks, so a checkpoint saved now resumes after this epoch
                cb.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
        finally:
            cb.on_train_end({})
        return self.history

    # Loss and metrics over many batches: the loss as [sum of loss x batch size, samples, sum of its
    # regularization part x batch size], each metric as its additive statistics (metrics_mod.Metric),
    # so epoch values are exact.
    def _fresh_stats(self):
        return [np.zeros(3)] + [None] * len(self.metrics)

    def _accumulate(self, stats, loss, out, y, reg_loss=0.0):
        stats[0] += (float(loss) * len(out), len(out), float(reg_loss) * len(out))
        for i, m in enumerate(self.metrics, 1):
            s = m.stats(out, y)
            stats[i] = s if stats[i] is None else stats[i] + s

    def _logs(self, stats, split=False):
        logs = {"loss": float(stats[0][0] / stats[0][1]) if stats[0][1] else float("nan")}
        if split:
            reg = float(stats[0][2] / stats[0][1]) if stats[0][1] else float("nan")
            logs["data_loss"], logs["reg_loss"] = logs["loss"] - reg, reg
        for m, s in zip(self.metrics, stats[1:]):
            logs[metrics_mod.name_of(m)] = float(m.result(s)) if s is not None else float("nan")
        return logs

    def evaluate(self, x, y, batch_size=256, verbose=0, *, sample_weight=None, return_dict=True):
        """Mean loss (with regularization) and metrics over (x, y); sample_weight (N,) weights the
        loss as in fit (the metrics are not weighted).

        return_dict=True (nnc's default): {"loss": ..., "accuracy": ...}. return_dict=False gives
        Keras' default form: the loss alone without metrics, else the list [loss, metric, ...]."""
        self._require_compiled("evaluate")
        t0 = time.perf_counter()
        x, y = self._prepare("evaluate", x, y)
        checks.warn_scale_mismatch("evaluate", x, self._trained_peak)
        batch_size = check_positive_int("evaluate", "batch_size", batch_size)
        out_shape = self.output_shape if self.built else self._infer_output_shape(x.shape[1:])
        checks.check_targets("evaluate", "y", y, self.loss, out_shape)
        w = checks.sample_weights("evaluate", y, sample_weight, None, out_shape)
        logs = self._evaluate_checked(x, y, batch_size, w)
        if verbose:
            _report("evaluate", x.shape[0], t0, logs)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def _evaluate_checked(self, x, y, batch_size, w=None):
        """The loop of evaluate, on data already checked and converted (fit's validation data)."""
        stats = self._fresh_stats()
        for start in range(0, x.shape[0], batch_size):
            batch = slice(start, start + batch_size)
            xb, yb = x[batch], y[batch]
            out = self.forward(xb, training=False)
            loss = self.loss.forward(out, yb)
            if w is not None:
                loss = self._weighted_loss(loss, out, yb, w[batch])
            # after forward: activity regularizers depend on this batch
            self._accumulate(stats, loss + self.regularization_loss(), out, yb)
        return self._logs(stats)

    def predict(self, x, batch_size=256, verbose=0):
        """Model outputs (N, *output_shape) for x, computed in batches with training=False."""
        t0 = time.perf_counter()
        x = checks.as_inputs("predict", x, self.dtype)
        checks.check_input_shape("predict", self.input_shape, x.shape[1:])
        checks.warn_scale_mismatch("predict", x, self._trained_peak)
        batch_size = check_positive_int("predict", "batch_size", batch_size)
        out = np.concatenate([self.forward(x[s:s + batch_size], training=False)
                              for s in range(0, x.shape[0], batch_size)])
        if verbose:
            _report("predict", x.shape[0], t0, {})
        return out

    # ---- checkpoints (nnc/models/saving.py) ----------------------------------------------------------
    def save(self, path):
        """Write one .npz: config, weights, batch-norm statistics, optimizer state, RNG state, epoch."""
        from .saving import save_model
        save_model(self, path)

    def load(self, path):
        """Restore weights, statistics, optimizer state, RNG state and epoch from `path` into this
        model (same architecture). Everything is checked first: on any error nothing changes."""
        from .saving import restore
        restore(self, path)
        return self


def _report(fn, n, t0, logs):
    """The one line evaluate/predict(verbose=1) write, as fit's progress logger does."""
    values = "".join(f" - {k}: {v:.4f}" for k, v in logs.items())
    sys.stdout.write(f"{fn}: {n} samples - {time.perf_counter() - t0:.1f}s{values}\n")
