"""Trainer: compile, fit, evaluate and predict, the training loop of Sequential written out.

Sequential (models/sequential.py) holds the layers and the two passes; this class, its base, adds
what trains them, as Keras' Model inherits from its Trainer:

    for each epoch:   shuffle with the model's rng, then for each batch
        out = model.forward(x_b, training=True);  loss = loss_fn(out, y_b) + regularization
        model.backward(loss_fn.backward());  optimizer.step()
    then evaluate the validation data and call the callbacks' on_epoch_end.
"""
import sys
import time
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
from numpy.typing import ArrayLike

from .. import losses as losses_mod
from .. import metrics as metrics_mod
from .. import optim
from ..callbacks import Callback, CallbackList, History, ProgressLogger, check_progress_verbose
from ..diagnostics import DeadNetworkWarning
from ..validation import check_positive_int
from . import _fit_checks as checks


class Trainer:
    """The training half of Sequential: compile, train_on_batch, fit, evaluate, predict.

    It uses what Sequential provides: layers, forward, backward, build, rng, regularization_loss,
    input_shape, output_shape and _infer_output_shape."""

    if TYPE_CHECKING:   # what Sequential provides (models/sequential.py), for the type checker
        layers: list[Any]
        dtype: np.dtype
        rng: np.random.Generator
        built: bool
        epoch: int
        stop_training: bool
        history: Any
        optimizer: Any
        loss: Any
        metrics: list[Any]
        _compiled_with: Any
        _trained_peak: Any
        input_shape: Any
        output_shape: Any

        def forward(self, x: ArrayLike, training: bool = False) -> np.ndarray: ...
        def backward(self, dout: np.ndarray) -> np.ndarray: ...
        def build(self, input_shape: Any = None) -> Any: ...
        def regularization_loss(self) -> float: ...
        def _infer_output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]: ...

    def compile(self, optimizer: Any = "sgd", loss: Any = "softmax_cross_entropy", metrics: Any = None) -> Any:
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

    def train_on_batch(self, x: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
                       ) -> tuple[float, np.ndarray]:
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

    def _prepare(self, fn: str, x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Checked, converted (x, y) for this model, before any step."""
        inputs: np.ndarray = checks.as_inputs(fn, x, self.dtype)
        checks.check_input_shape(fn, self.input_shape, inputs.shape[1:])
        return inputs, checks.as_targets(fn, y, inputs.shape[0], self.dtype)

    def fit(self, x: ArrayLike, y: ArrayLike, batch_size: int = 32, epochs: int = 1, verbose: int | str = "auto", *,
            callbacks: Sequence[Callback] | None = None, validation_split: float = 0.0,
            validation_data: tuple[ArrayLike, ArrayLike] | None = None, shuffle: bool = True,
            class_weight: dict[int, float] | None = None, sample_weight: ArrayLike | None = None,
            initial_epoch: int = 0) -> History:
        """Train for `epochs` epochs of mini-batch gradient descent; returns a History.

        x (N, *input_shape), y (N,) class ids or (N, ...) targets. The first five arguments are Keras'
        positional order (`fit(x, y, 64, 5)`: batch size 64, 5 epochs); the rest are keyword-only.
        validation_split takes the LAST fraction of x/y (before shuffling), like Keras. As in Keras,
        epochs is the index to stop at and initial_epoch the one to start from; `model.epoch` counts
        every epoch this model has trained (resume with initial_epoch=model.epoch).
        Everything is checked before the first step; training that is interrupted (Ctrl-C, an error)
        still runs every callback's on_train_end (logs closed, best weights restored).

        sample_weight (N,) and class_weight {class id: weight} weight each sample's loss (multiplied
        together when both are given; see train_on_batch). The validation loss is not weighted.

        verbose (Keras' meanings, nnc.callbacks.ProgressLogger): 0 silent, 1 a progress bar per epoch,
        2 one line per epoch; "auto" is 1 on a terminal or in a notebook and silent otherwise."""
        self._require_compiled("fit")
        fn = "fit"
        verbose = check_progress_verbose(fn, verbose)
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
                    span = slice(step * batch_size, (step + 1) * batch_size)
                    batch = span if order is None else order[span]
                    xb, yb = x[batch], y[batch]     # without shuffling, views: no copy of the batch
                    cb.on_batch_begin(step, {})
                    loss, out = self.train_on_batch(xb, yb, None if weights is None else weights[batch])
                    self._accumulate(stats, loss, out, yb, self._reg_loss)
                    cb.on_batch_end(step, self._logs(stats, split))
                    if self.stop_training:  # a callback (TerminateOnNaN) stopped in mid-epoch
                        break
                logs = self._logs(stats, split)
                if validation_data is not None:
                    x_val, y_val = validation_data
                    val = self._evaluate_checked(x_val, y_val, batch_size=max(batch_size, 256))
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

    def evaluate(self, x: ArrayLike, y: ArrayLike, batch_size: int = 256, verbose: int = 0, *,
                 sample_weight: ArrayLike | None = None, return_dict: bool = True) -> Any:
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

    def predict(self, x: ArrayLike, batch_size: int = 256, verbose: int = 0) -> np.ndarray:
        """Model outputs (N, *output_shape) for x, computed in batches with training=False."""
        t0 = time.perf_counter()
        inputs: np.ndarray = checks.as_inputs("predict", x, self.dtype)
        checks.check_input_shape("predict", self.input_shape, inputs.shape[1:])
        checks.warn_scale_mismatch("predict", inputs, self._trained_peak)
        batch_size = check_positive_int("predict", "batch_size", batch_size)
        out = np.concatenate([self.forward(inputs[s:s + batch_size], training=False)
                              for s in range(0, inputs.shape[0], batch_size)])
        if verbose:
            _report("predict", inputs.shape[0], t0, {})
        return out


def _report(fn, n, t0, logs):
    """The one line evaluate/predict(verbose=1) write, as fit's progress logger does."""
    values = "".join(f" - {k}: {v:.4f}" for k, v in logs.items())
    sys.stdout.write(f"{fn}: {n} samples - {time.perf_counter() - t0:.1f}s{values}\n")
