"""Sequential: a list of layers and the training loop, written out so it can be read and stepped through."""
import numpy as np

from .. import losses as losses_mod
from .. import metrics as metrics_mod
from .. import optim
from ..backend._checks import all_finite, check_positive_int
from ..callbacks import CallbackList, History, ProgressLogger


def _as_inputs(fn, x, dtype):
    """Validate and convert user data once, before the loop (never inside it)."""
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"{fn}: x must have a batch axis, shape (N, ...), got shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError(f"{fn}: x is empty (0 samples)")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise TypeError(f"{fn}: x must be numeric, got dtype {x.dtype}")
    x = np.ascontiguousarray(x, dtype=dtype)
    if not all_finite(x):
        raise ValueError(f"{fn}: x contains NaN or inf")
    return x


def _as_targets(fn, y, n, dtype):
    y = np.asarray(y)
    if y.ndim == 0 or y.shape[0] != n:
        raise ValueError(f"{fn}: x has {n} samples but y has shape {y.shape}")
    if np.issubdtype(y.dtype, np.floating):
        if not all_finite(y):
            raise ValueError(f"{fn}: y contains NaN or inf")
        return np.ascontiguousarray(y, dtype=dtype)
    if not np.issubdtype(y.dtype, np.integer) and y.dtype != bool:
        raise TypeError(f"{fn}: y must be numeric, got dtype {y.dtype}")
    return np.ascontiguousarray(y)


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
        self.watchers = []      # diagnostic callbacks that see every layer's output and gradient
        self._compiled_with = None
        for layer in layers or []:
            self.add(layer)

    # ---- structure ----------------------------------------------------------------------------
    def add(self, layer):
        from ..layers.base import Layer
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a Layer, got {type(layer).__name__}")
        if self.built:
            raise RuntimeError("Sequential.add: the model is already built; add layers before build/fit")
        names = {lyr.name for lyr in self.layers}
        if layer.name in names:  # unique names keep parameter keys and saved files unambiguous
            base, i = layer.name, 1
            while f"{base}_{i}" in names:
                i += 1
            layer.name = f"{base}_{i}"
        self.layers.append(layer)
        return self

    def build(self, input_shape=None):
        """Create every layer's parameters for per-sample `input_shape` (or the first layer's)."""
        if input_shape is None:
            input_shape = self.layers[0].input_shape if self.layers else None
        if input_shape is None:
            raise ValueError("Sequential.build: unknown input shape; give the first layer input_shape=... "
                             "or call build(input_shape) / fit(x, ...)")
        if not self.layers:
            raise ValueError("Sequential.build: the model has no layers")
        shape = tuple(int(d) for d in input_shape)
        for layer in self.layers:
            shape = layer.build(shape, self.dtype, self.rng)
        self.layers[0].need_input_grad = False  # nobody needs d(loss)/d(data)
        self.built = True
        if self.optimizer is not None:
            self.optimizer.bind(self)
        return self

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
        if not self.built:
            self.build(x.shape[1:])
        for i, layer in enumerate(self.layers):
            x = layer.forward(x, training=training)
            for w in self.watchers:  # nnc.diagnostics: NaN guard, activation statistics
                w.after_forward(i, layer, x)
        return x

    __call__ = forward

    def backward(self, dout):
        for i in reversed(range(len(self.layers))):
            dout = self.layers[i].backward(dout)
            for w in self.watchers:  # nnc.diagnostics: NaN guard, gradient statistics
                w.after_backward(i, self.layers[i], dout)
        return dout

    def regularization_loss(self):
        return float(sum(layer.regularization_loss() for layer in self.layers))

    # ---- training -------------------------------------------------------------------------------
    def compile(self, optimizer="sgd", loss="softmax_cross_entropy", metrics=None):
        self.optimizer = optim.get(optimizer)
        self.loss = losses_mod.get(loss)
        self.metrics = [metrics_mod.get(m) for m in (metrics or [])]
        self._compiled_with = (loss, list(metrics or []))  # what save() records to recompile
        if self.built:
            self.optimizer.bind(self)
        return self

    def _require_compiled(self, fn):
        if self.loss is None:
            raise RuntimeError(f"Sequential.{fn}: call compile(optimizer, loss, metrics) first")

    def train_on_batch(self, x, y):
        """One step of gradient descent; returns the batch loss (including regularization)."""
        out = self.forward(x, training=True)
        loss = self.loss.forward(out, y) + self.regularization_loss()
        self.backward(self.loss.backward())
        self.optimizer.step()
        return loss, out

    def fit(self, x, y, epochs=1, batch_size=32, shuffle=True, validation_split=0.0, validation_data=None,
            callbacks=None, verbose=1, initial_epoch=0):
        """Train for `epochs` epochs of mini-batch gradient descent; returns a History.

        validation_split takes the LAST fraction of x/y (before shuffling), like Keras."""
        self._require_compiled("fit")
        x = _as_inputs("fit", x, self.dtype)
        y = _as_targets("fit", y, x.shape[0], self.dtype)
        batch_size = check_positive_int("fit", "batch_size", batch_size)
        epochs = check_positive_int("fit", "epochs", epochs, minimum=0)
        if not 0.0 <= float(validation_split) < 1.0:
            raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split!r}")
        if validation_data is None and validation_split > 0:
            n_val = int(round(x.shape[0] * validation_split))
            if n_val == 0 or n_val == x.shape[0]:
                raise ValueError(f"fit: validation_split={validation_split} leaves no training or validation data")
            validation_data = (x[-n_val:], y[-n_val:])
            x, y = x[:-n_val], y[:-n_val]
        if not self.built:
            self.build(x.shape[1:])

        n = x.shape[0]
        steps = (n + batch_size - 1) // batch_size
        self.history = History()
        # History after the user's callbacks (as in Keras), so it records what they add to the logs (lr, ...)
        cbs = list(callbacks or []) + [self.history]
        if verbose:
            cbs.append(ProgressLogger(epochs, steps, verbose))
        cb = CallbackList(cbs, self)
        self.stop_training = False
        cb.on_train_begin({})
        for epoch in range(initial_epoch, epochs):
            cb.on_epoch_begin(epoch, {})
            order = self.rng.permutation(n) if shuffle else None
            totals = [0.0] * (1 + len(self.metrics))   # running sums of loss and metrics x batch size
            seen = 0
            for step in range(steps):
                batch = slice(step * batch_size, (step + 1) * batch_size)
                if order is not None:
                    batch = order[batch]
                xb, yb = x[batch], y[batch]     # without shuffling, views: no copy of the batch
                cb.on_batch_begin(step, {})
                loss, out = self.train_on_batch(xb, yb)
                nb = xb.shape[0]
                totals = [t + float(v) * nb for t, v in zip(totals, [loss] + [m(out, yb) for m in self.metrics])]
                seen += nb
                cb.on_batch_end(step, self._logs([t / seen for t in totals]))
                if self.stop_training:  # a callback (TerminateOnNaN) stopped in mid-epoch
                    break
            logs = self._logs([t / seen for t in totals])
            if validation_data is not None:
                val = self.evaluate(*validation_data, batch_size=max(batch_size, 256))
                logs.update({f"val_{k}": v for k, v in val.items()})
            self.epoch = epoch + 1  # before the callbacks, so a checkpoint saved now resumes after this epoch
            cb.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        cb.on_train_end({})
        return self.history

    def _logs(self, values):
        names = ["loss"] + [metrics_mod.name_of(m) for m in self.metrics]
        return {k: float(v) for k, v in zip(names, values)}

    def evaluate(self, x, y, batch_size=256, verbose=0):
        """Mean loss (with regularization) and metrics over (x, y), as a dict {"loss": ..., "accuracy": ...}."""
        self._require_compiled("evaluate")
        x = _as_inputs("evaluate", x, self.dtype)
        y = _as_targets("evaluate", y, x.shape[0], self.dtype)
        batch_size = check_positive_int("evaluate", "batch_size", batch_size)
        totals = np.zeros(1 + len(self.metrics))
        for start in range(0, x.shape[0], batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            out = self.forward(xb, training=False)
            # after forward: activity regularizers depend on this batch
            scores = [self.loss.forward(out, yb) + self.regularization_loss()] + [m(out, yb) for m in self.metrics]
            totals += np.asarray(scores) * len(xb)
        return self._logs(totals / x.shape[0])

    def predict(self, x, batch_size=256):
        """Model outputs for x, computed in batches with training=False."""
        x = _as_inputs("predict", x, self.dtype)
        batch_size = check_positive_int("predict", "batch_size", batch_size)
        return np.concatenate([self.forward(x[s:s + batch_size], training=False)
                               for s in range(0, x.shape[0], batch_size)])

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
