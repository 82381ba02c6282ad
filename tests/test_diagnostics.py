"""nnc.diagnostics: each statistic checked against the same quantity measured here, by hand."""
import numpy as np
import pytest

import nnc
from nnc import callbacks as cbs
from nnc.layers import Dense


@pytest.fixture
def data(rng):
    x = rng.standard_normal((60, 4))
    return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64)


def mlp(optimizer, seed=0):
    m = nnc.Sequential([Dense(8, activation="relu", input_shape=(4,)), Dense(2)], seed=seed)
    m.compile(optimizer=optimizer, loss="softmax_cross_entropy")
    return m


class StepProbe(cbs.Callback):
    """||W_after - W_before|| / ||W_before|| of the first layer, by copying W around each step."""

    def __init__(self):
        super().__init__()
        self.ratios = []

    def on_batch_begin(self, batch, logs=None):
        self._w = self.model.layers[0].params["W"].astype(np.float64)

    def on_batch_end(self, batch, logs=None):
        w = self.model.layers[0].params["W"].astype(np.float64)
        self.ratios.append(np.sqrt(((w - self._w) ** 2).sum() / (self._w ** 2).sum()))


@pytest.mark.parametrize("make", [lambda: nnc.optim.SGD(0.1), lambda: nnc.optim.SGD(0.1, momentum=0.9),
                                  lambda: nnc.optim.Adam(0.01)], ids=["sgd", "momentum", "adam"])
def test_update_ratio_is_the_measured_step_over_the_weights(data, make):
    m = mlp(make())
    probe, stats = StepProbe(), cbs.LayerStatsLogger(every=1)
    m.fit(*data, epochs=2, batch_size=10, verbose=0, callbacks=[probe, stats])
    ratio = np.array(stats.batch_history[("dense", "update_ratio/W")])
    np.testing.assert_allclose(ratio, probe.ratios, rtol=1e-5)
    if isinstance(m.optimizer, nnc.optim.Adam):
        # lr ||g|| / ||W||, the old reading, is far from what Adam's normalized step does
        naive = 0.01 * np.array(stats.batch_history[("dense", "grad_norm/W")]) / \
            np.array(stats.batch_history[("dense", "weight_norm/W")])
        assert np.all(ratio > 3 * naive)


def test_every_and_last_choose_the_measured_batches(data):
    x, y = data   # 60 samples, batch 10: batches 0..5 in each of 3 epochs
    runs = {"first": cbs.LayerStatsLogger(), "every": cbs.LayerStatsLogger(every=4),
            "all": cbs.LayerStatsLogger(every=1), "last": cbs.LayerStatsLogger(last=4)}
    for logger in runs.values():
        mlp(nnc.optim.SGD(0.1)).fit(x, y, epochs=3, batch_size=10, verbose=0, callbacks=[logger])
    assert list(runs["first"].batches) == [(0, 0), (1, 0), (2, 0)]
    assert list(runs["every"].batches) == [(e, b) for e in range(3) for b in (0, 4)]
    assert list(runs["last"].batches) == [(2, 2), (2, 3), (2, 4), (2, 5)]
    assert len(runs["last"].batch_history[("dense", "grad_norm/W")]) == 4
    assert runs["all"].measured == [6, 6, 6] and runs["every"].measured == [2, 2, 2]
    for logger in runs.values():       # one value per epoch in history, whatever is measured
        assert logger.epochs == [0, 1, 2] and len(logger.history[("dense", "grad_norm/W")]) == 3
    full = runs["all"]
    per_batch = np.array(full.batch_history[("dense_1", "grad_norm/W")]).reshape(3, 6)
    np.testing.assert_allclose(full.history[("dense_1", "grad_norm/W")], per_batch.mean(axis=1))
    with pytest.raises(ValueError, match="every must be an integer >= 1"):
        cbs.LayerStatsLogger(every=0)


def test_dead_units_counted_per_epoch(rng):
    x = np.abs(rng.standard_normal((50, 3))) + 0.1        # positive inputs
    y = rng.integers(0, 2, 50)
    m = nnc.Sequential([Dense(4, activation="relu", input_shape=(3,)), Dense(2)], seed=0)
    m.compile(optimizer=nnc.optim.SGD(0.05), loss="softmax_cross_entropy")
    m.build()
    W, b = m.layers[0].params["W"], m.layers[0].params["b"]
    W[...] = 1.0
    b[...] = 0.0
    W[:, [1, 3]], b[[1, 3]] = 0.0, -1.0    # units 1 and 3: z = -1 for every x, so they never fire
    stats = cbs.LayerStatsLogger()
    m.fit(x, y, epochs=2, batch_size=10, verbose=0, callbacks=[stats], validation_data=(-x, y))
    # the validation data (-x) would silence every unit: only training batches count
    assert stats.history[("dense", "dead_units")] == [2, 2]
    assert stats.history[("dense", "dead_frac")] == [0.5, 0.5]
    assert ("dense_1", "dead_units") not in stats.history          # not a ReLU layer
    row = stats.table(-1).splitlines()[2]
    assert row.split()[0] == "dense" and row.endswith("2/4 (50%)")

    b[...] = -1.0
    W[...] = 0.0                         # every unit dead: the logger counts it, fit warns
    stats = cbs.LayerStatsLogger()
    with pytest.warns(RuntimeWarning, match="every ReLU unit of layer 'dense'"):
        m.fit(x, y, epochs=1, batch_size=10, verbose=0, callbacks=[stats])
    assert stats.history[("dense", "dead_frac")] == [1.0]


def test_table_rows_and_epochs(data):
    stats = cbs.LayerStatsLogger()
    m = mlp(nnc.optim.SGD(0.1))
    m.fit(*data, epochs=2, batch_size=10, verbose=0, callbacks=[stats])
    lines = stats.table(epoch=0).splitlines()
    assert len(lines) == 2 + len(m.layers) and lines[0].startswith("layer statistics, epoch 1")
    cells = lines[3].split()            # dense_1: W, ||W||, ||dL/dW||, update, act mean, act std, dead
    assert cells[:2] == ["dense_1", "W"] and cells[-1] == "-"
    assert float(cells[2]) == pytest.approx(stats.history[("dense_1", "weight_norm/W")][0], rel=1e-2)
    assert stats.table(-1) == stats.table(1) != stats.table(0)
    with pytest.raises(ValueError, match=r"epoch 5 was not recorded; the recorded epochs are \[0, 1\]"):
        stats.table(5)


def test_nan_report_shows_the_gradients_exploding(rng):
    x = rng.standard_normal((100, 3))
    y = (x @ np.array([1.0, -2.0, 0.5]))[:, None]
    m = nnc.Sequential([Dense(1, input_shape=(3,))], seed=0)
    m.compile(optimizer=nnc.optim.SGD(3.0), loss="mse")   # far past 2 / (largest curvature): diverges
    guard = cbs.TerminateOnNaN(last=4)
    with pytest.warns(RuntimeWarning, match="exploding gradients") as caught:
        m.fit(x, y, epochs=50, batch_size=10, verbose=0, shuffle=False, callbacks=[guard])
    norms = guard.report["grad_norms"]["dense"]
    assert len(norms) == len(guard.report["batches"]) == 4
    assert guard.report["batches"][-1] == (guard.report["epoch"], guard.report["batch"])
    finite = [v for v in norms if np.isfinite(v)]
    assert len(finite) >= 2 and all(b > 2 * a for a, b in zip(finite, finite[1:])) and finite[-1] > 1e30
    assert "Gradient norms ||dL/dparams|| per layer over the last 4 batches" in str(caught[0].message)


class PoisonW(cbs.Callback):
    """Puts a NaN into the first layer's W before batch 3 of epoch 1: a NaN out of nowhere."""

    def on_batch_begin(self, batch, logs=None):
        if batch == 3:
            self.model.layers[0].params["W"][0, 0] = np.nan


def test_nan_report_without_growth_points_elsewhere(data):
    guard = cbs.TerminateOnNaN()
    with pytest.warns(RuntimeWarning, match="TerminateOnNaN") as caught:
        mlp(nnc.optim.SGD(0.01)).fit(*data, epochs=1, batch_size=10, verbose=0, callbacks=[PoisonW(), guard])
    message = str(caught[0].message)
    assert guard.report["batch"] == 3 and guard.report["batches"] == [(0, b) for b in range(4)]
    assert "They did not grow before it" in message and "exploding" not in message
    assert len(guard.report["grad_norms"]) == 2 and all(np.isnan(v[-1]) for v in guard.report["grad_norms"].values())


def test_history_splits_data_and_regularization_loss(rng):
    x = rng.standard_normal((40, 3))
    y = rng.integers(0, 2, 40)
    m = nnc.Sequential([Dense(2, input_shape=(3,), kernel_regularizer=nnc.regularizers.L2(0.1))],
                       seed=0, dtype="float64")
    m.compile(optimizer=nnc.optim.SGD(0.1), loss="softmax_cross_entropy")
    m.build()
    W, b = m.layers[0].params["W"].copy(), m.layers[0].params["b"].copy()
    z = x @ W + b                           # one batch = the whole set: epoch 0 is the initial weights
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    data_loss = -np.log(p[np.arange(40), y]).mean()
    h = m.fit(x, y, epochs=2, batch_size=40, verbose=0).history
    assert h["data_loss"][0] == pytest.approx(data_loss, rel=1e-10)
    assert h["reg_loss"][0] == pytest.approx(0.1 * (W ** 2).sum(), rel=1e-10)
    np.testing.assert_allclose(h["loss"], np.add(h["data_loss"], h["reg_loss"]), rtol=1e-12)
    plain = nnc.Sequential([Dense(2, input_shape=(3,))], seed=0)
    plain.compile(optimizer="sgd", loss="softmax_cross_entropy")
    assert set(plain.fit(x, y, epochs=1, verbose=0).history) == {"loss"}   # no regularizer: no split


def test_dead_channels_of_a_conv_layer(rng):
    x = np.abs(rng.standard_normal((12, 1, 6, 5))) + 0.1
    y = rng.integers(0, 2, 12)
    m = nnc.Sequential([nnc.layers.Conv2D(3, 3, activation="relu", input_shape=(1, 6, 5)), nnc.layers.Flatten(),
                        Dense(2)], seed=0)
    m.compile(optimizer=nnc.optim.SGD(0.01), loss="softmax_cross_entropy")
    m.build()
    W, b = m.layers[0].params["W"], m.layers[0].params["b"]
    W[...], b[...] = 0.1, 0.0
    W[2], b[2] = 0.0, -1.0               # channel 2 never fires, at any position
    stats = cbs.LayerStatsLogger()
    m.fit(x, y, epochs=1, batch_size=4, verbose=0, callbacks=[stats])
    assert stats.history[("conv2d", "dead_units")] == [1]


def test_gradient_norms_draws_the_per_epoch_update_ratio(data):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import nnc.plot
    stats = cbs.LayerStatsLogger(every=2)
    mlp(nnc.optim.SGD(0.1)).fit(*data, epochs=3, batch_size=10, verbose=0, callbacks=[stats])
    ax = nnc.plot.gradient_norms(stats, stat="update_ratio/W")
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"dense", "dense_1"}
    np.testing.assert_allclose(lines["dense"].get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(lines["dense"].get_ydata(), stats.history[("dense", "update_ratio/W")])
    plt.close(ax.figure)
