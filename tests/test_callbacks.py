"""Callbacks, each judged by its observable effect on a short training run."""
import csv
import io
import warnings

import numpy as np
import pytest

import nnc
from nnc import callbacks as cbs
from nnc.layers import Dense, Layer


class Scripted(cbs.Callback):
    """Puts a scripted value into the epoch logs (runs before the callback under test)."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, list(values)

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = float(self.values[epoch])


class Snapshots(cbs.Callback):
    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.layers[0].params["W"].copy())


class Sigmoid(Layer):
    def forward(self, x, training=False):
        self._ensure_built(x)
        self._out = 1 / (1 + np.exp(-x))
        return self._out

    def backward(self, dout):
        return dout * self._out * (1 - self._out)


class Poison(Layer):
    """Identity forward; its backward (or forward, with where="forward") turns everything into NaN."""

    def __init__(self, where="backward", **kw):
        super().__init__(**kw)
        self.where = where

    def forward(self, x, training=False):
        self._ensure_built(x)
        return x * np.nan if self.where == "forward" else x

    def backward(self, dout):
        return dout * np.nan if self.where == "backward" else dout


@pytest.fixture
def data(rng):
    x = rng.standard_normal((40, 4))
    return x, (x[:, 0] > 0).astype(np.int64)


def model(*extra, seed=0, lr=0.05):
    m = nnc.Sequential([Dense(5, input_shape=(4,)), *extra, Dense(2)], seed=seed)
    m.compile(optimizer=nnc.optim.SGD(lr), loss="softmax_cross_entropy", metrics=["accuracy"])
    return m


def test_history_records_every_epoch(data):
    hist = model().fit(*data, epochs=3, batch_size=10, verbose=0, validation_split=0.25)
    assert hist.epoch == [0, 1, 2]
    assert set(hist.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 3 for v in hist.history.values())


def test_early_stopping_waits_patience_epochs_then_restores_best(data):
    m = model()
    snaps = Snapshots()
    stop = cbs.EarlyStopping(monitor="val_loss", patience=2, min_delta=0.01, restore_best_weights=True)
    # improves until epoch 2 (0.5), then 0.495 is not better by min_delta, then worse
    script = Scripted("val_loss", [1.0, 0.7, 0.5, 0.495, 0.6, 0.4, 0.3])
    hist = m.fit(*data, epochs=7, batch_size=10, verbose=0, callbacks=[script, snaps, stop])
    assert hist.epoch == [0, 1, 2, 3, 4]          # stopped after 2 epochs without improvement
    assert stop.stopped_epoch == 4 and stop.best_epoch == 2 and stop.best == 0.5
    np.testing.assert_array_equal(m.layers[0].params["W"], snaps.weights[2])
    assert not np.array_equal(snaps.weights[4], snaps.weights[2])


def test_early_stopping_mode_max(data):
    stop = cbs.EarlyStopping(monitor="val_accuracy", patience=0)
    hist = model().fit(*data, epochs=5, batch_size=10, verbose=0,
                       callbacks=[Scripted("val_accuracy", [0.5, 0.6, 0.55, 0.9, 0.9]), stop])
    assert stop.mode == "max" and hist.epoch == [0, 1, 2]


def test_model_checkpoint_saves_only_improvements(data, tmp_path):
    ck = cbs.ModelCheckpoint(str(tmp_path / "ck-{epoch:02d}.npz"), monitor="val_loss", save_best_only=True)
    m = model()
    m.fit(*data, epochs=4, batch_size=10, verbose=0, callbacks=[Scripted("val_loss", [1.0, 2.0, 0.5, 0.7]), ck])
    assert [p.rsplit("/", 1)[-1] for p in ck.saved] == ["ck-01.npz", "ck-03.npz"]
    restored = nnc.load_model(ck.saved[-1])
    assert restored.epoch == 3


def test_csv_logger_writes_a_row_per_epoch(data, tmp_path):
    path = tmp_path / "log.csv"
    m = model()
    m.fit(*data, epochs=3, batch_size=10, verbose=0, callbacks=[cbs.CSVLogger(str(path))])
    m.fit(*data, epochs=5, batch_size=10, verbose=0, initial_epoch=3, callbacks=[cbs.CSVLogger(str(path), append=True)])
    rows = list(csv.DictReader(open(path)))
    assert [r["epoch"] for r in rows] == ["0", "1", "2", "3", "4"]
    assert set(rows[0]) == {"epoch", "loss", "accuracy"}
    assert float(rows[-1]["loss"]) == pytest.approx(m.history.history["loss"][-1])


def test_learning_rate_scheduler_and_reduce_on_plateau(data):
    m = model()
    seen = []
    record = cbs.Callback()
    record.on_epoch_begin = lambda epoch, logs=None: seen.append(m.optimizer.lr)
    m.fit(*data, epochs=3, batch_size=10, verbose=0,
          callbacks=[cbs.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1)), record])
    assert seen == pytest.approx([0.1, 0.05, 0.1 / 3])

    m = model(lr=1.0)
    plateau = cbs.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, cooldown=1, min_lr=0.2)
    hist = m.fit(*data, epochs=8, batch_size=10, verbose=0,
                 callbacks=[Scripted("val_loss", [1, 1, 1, 1, 1, 1, 1, 1]), plateau])
    # (Keras' rules) epoch 0 sets the best; waits at 1, 2 -> halve after epoch 2; epoch 3 ends the
    # cooldown and waits again, epoch 4 -> halve; epochs 5, 6 -> halve, but not below min_lr = 0.2
    assert hist.history["lr"] == pytest.approx([1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2])
    assert m.optimizer.lr == pytest.approx(0.2)


@pytest.mark.parametrize("where,layer_index,tensor", [
    ("forward", 1, "activation (layer output)"),
    ("backward", 1, "gradient w.r.t. the layer input"),
])
def test_terminate_on_nan_names_the_first_bad_tensor(data, where, layer_index, tensor):
    m = model(Poison(where=where, name="poison"))
    guard = cbs.TerminateOnNaN()
    batches = []
    counter = cbs.Callback()
    counter.on_batch_end = lambda batch, logs=None: batches.append(batch)
    with pytest.warns(RuntimeWarning, match="poison"):
        m.fit(*data, epochs=3, batch_size=10, verbose=0, callbacks=[counter, guard])
    assert batches == [0]                       # stopped after the first batch
    assert guard.report["layer_index"] == layer_index and guard.report["layer"] == "poison"
    assert guard.report["tensor"] == tensor
    assert m._hooks == ()                       # the hook is removed after training


def test_terminate_on_nan_finds_an_exploding_gradient(data):
    m = model(lr=1e30)   # the first update overflows W; the next forward turns inf
    guard = cbs.TerminateOnNaN()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(*data, epochs=5, batch_size=10, verbose=0, callbacks=[guard])
    assert guard.report is not None and guard.report["layer_index"] is not None


def test_clean_run_is_not_stopped(data):
    guard = cbs.TerminateOnNaN()
    hist = model().fit(*data, epochs=2, batch_size=10, verbose=0, callbacks=[guard])
    assert guard.report is None and len(hist.epoch) == 2


def test_layer_stats_show_vanishing_gradients_in_a_deep_sigmoid_net(rng):
    x = rng.standard_normal((64, 8))
    y = rng.integers(0, 2, 64)
    layers = [Dense(16, input_shape=(8,))]
    for _ in range(7):
        layers += [Sigmoid(), Dense(16)]
    layers += [Sigmoid(), Dense(2)]
    m = nnc.Sequential(layers, seed=0)
    m.compile(optimizer=nnc.optim.SGD(0.1), loss="softmax_cross_entropy")
    stream = io.StringIO()
    stats = cbs.LayerStatsLogger(stream=stream)
    m.fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=[stats])
    assert stats.epochs == [0, 1]
    first = stats.history[(m.layers[0].name, "grad_norm/W")]
    last = stats.history[(m.layers[-1].name, "grad_norm/W")]
    assert len(first) == 2 and first[0] < 1e-2 * last[0]   # gradients shrink layer by layer
    table = stream.getvalue().splitlines()        # one table per epoch: a title, a header, a row per layer
    assert len(table) == 2 * (2 + len(m.layers)) and table[0].startswith("layer statistics, epoch 1")
    act = stats.history[(m.layers[1].name, "act_mean")][0]
    assert 0 < act < 1


# ---- verbose=1: each action printed where the progress line goes --------------------------------------
def test_verbose_callbacks_print_each_action(data, tmp_path, capsys):
    path = tmp_path / "best.npz"
    script = Scripted("val_loss", [1.0, 0.5, 0.7, 0.8, 0.9])
    callbacks = [script,
                 cbs.LearningRateScheduler(lambda epoch, lr: 0.1 if epoch == 0 else lr, verbose=1),
                 cbs.ReduceLROnPlateau(factor=0.5, patience=1, verbose=1),
                 cbs.ModelCheckpoint(str(path), save_best_only=True, verbose=1),
                 cbs.EarlyStopping(patience=2, restore_best_weights=True, verbose=1)]
    model().fit(*data, epochs=5, batch_size=10, verbose=0, callbacks=callbacks)
    assert capsys.readouterr().out.splitlines() == [
        "Epoch 1: LearningRateScheduler setting learning rate to 0.1",
        f"Epoch 1: val_loss improved from inf to 1.00000, saving model to {path}",
        "Epoch 2: LearningRateScheduler setting learning rate to 0.1",
        f"Epoch 2: val_loss improved from 1.00000 to 0.50000, saving model to {path}",
        "Epoch 3: LearningRateScheduler setting learning rate to 0.1",
        "Epoch 3: ReduceLROnPlateau reducing learning rate to 0.05",
        "Epoch 3: val_loss did not improve from 0.50000",
        "Epoch 4: LearningRateScheduler setting learning rate to 0.05",
        "Epoch 4: ReduceLROnPlateau reducing learning rate to 0.025",
        "Epoch 4: val_loss did not improve from 0.50000",
        "Epoch 4: early stopping (val_loss has not improved by more than 0 for 2 epochs)",
        "Restoring model weights from the end of the best epoch: 2 (val_loss = 0.50000)",
    ]
    for cb in callbacks[1:]:
        cb.verbose = 0
    model().fit(*data, epochs=5, batch_size=10, verbose=0, callbacks=callbacks)
    assert capsys.readouterr().out == ""


def test_verbose_message_starts_its_own_line_below_the_live_progress_line(data, capsys):
    stop = cbs.EarlyStopping(monitor="val_loss", patience=0, verbose=1)
    model().fit(*data, epochs=4, batch_size=10, verbose=1, callbacks=[Scripted("val_loss", [1, 2, 3, 4]), stop])
    out = capsys.readouterr().out
    assert "\nEpoch 2: early stopping" in out and out.endswith("\n")


@pytest.mark.parametrize("make", [lambda v: cbs.EarlyStopping(verbose=v),
                                  lambda v: cbs.ModelCheckpoint("x", verbose=v),
                                  lambda v: cbs.ReduceLROnPlateau(verbose=v),
                                  lambda v: cbs.LearningRateScheduler(lambda e, lr: lr, verbose=v),
                                  lambda v: cbs.TerminateOnNaN(verbose=v)])
def test_verbose_must_be_0_or_1(make):
    with pytest.raises(ValueError, match=r"verbose must be 0 \(silent\) or 1 \(print each action\), got 2"):
        make(2)


class PoisonFrom(cbs.Callback):
    """Turns the Poison layer's backward on from epoch `start`."""

    def __init__(self, poison, start):
        super().__init__()
        self.poison, self.start = poison, start

    def on_epoch_begin(self, epoch, logs=None):
        self.poison.where = "backward" if epoch >= self.start else "off"


def test_checkpoint_never_saves_a_nan_model_over_the_last_good_one(data, tmp_path, capsys):
    poison = Poison(where="off", name="poison")
    m = model(poison)
    path = tmp_path / "last.npz"
    snaps = Snapshots()
    guard, ck = cbs.TerminateOnNaN(verbose=1), cbs.ModelCheckpoint(str(path), verbose=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m.fit(*data, epochs=3, batch_size=10, verbose=0, callbacks=[PoisonFrom(poison, 1), snaps, guard, ck])
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2 and messages[0].startswith("TerminateOnNaN: NaN/inf at epoch 2")
    assert messages[1] == (f"ModelCheckpoint: epoch 2: layer 0 'dense' parameter W contains NaN or inf, so the model "
                           f"was not saved to {path}; the last good checkpoint stays (load it and lower the "
                           "learning rate)")
    assert not np.isfinite(m.layers[0].params["W"]).all()       # the NaN update did happen
    good = nnc.load_model(path)                                  # and the file still loads
    assert good.epoch == 1
    np.testing.assert_array_equal(good.layers[0].params["W"], snaps.weights[0])
    out = capsys.readouterr().out
    assert "TerminateOnNaN: NaN/inf at epoch 2" in out and "was not saved" in out
