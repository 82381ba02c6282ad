"""fit's progress display (nnc.callbacks.ProgressLogger): Keras' verbose=0/1/2/"auto", a tqdm bar for 1."""
import io
import re

import numpy as np
import pytest

import nnc
from nnc import callbacks as cbs
from nnc.layers import Dense

EPOCHS, STEPS = 3, 4     # 40 samples in batches of 10


@pytest.fixture
def data(rng):
    x = rng.standard_normal((40, 5))
    return x, (x[:, 0] > 0).astype(int)


def model():
    return nnc.Sequential([Dense(2, input_shape=(5,))], seed=0).compile("sgd", metrics=["accuracy"])


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self):
        return True


def fit_to(stream, data, verbose, steps=STEPS, **kw):
    """fit with the progress display written to `stream` (fit itself writes to stdout)."""
    m = model()
    logger = cbs.ProgressLogger(EPOCHS, steps, verbose, stream=stream)
    hist = m.fit(*data, epochs=EPOCHS, batch_size=10, verbose=0, callbacks=[logger], **kw)
    return stream.getvalue(), hist


def test_verbose_0_writes_nothing(data, capsys):
    assert fit_to(Terminal(), data, 0)[0] == ""
    model().fit(*data, epochs=2, batch_size=10, verbose=0)
    assert capsys.readouterr().out == ""


def test_verbose_2_writes_one_line_per_epoch_with_the_epoch_values(data):
    out, hist = fit_to(io.StringIO(), data, 2, steps=3, validation_split=0.25)
    lines = out.splitlines()
    assert len(lines) == EPOCHS and "\r" not in out
    for epoch, line in enumerate(lines):
        m = re.fullmatch(rf"epoch {epoch + 1}/{EPOCHS} - \d+\.\ds - loss: (\S+) - accuracy: (\S+) - "
                         r"val_loss: (\S+) - val_accuracy: (\S+)", line)
        assert m, line
        want = [hist.history[k][epoch] for k in ("loss", "accuracy", "val_loss", "val_accuracy")]
        np.testing.assert_allclose([float(v) for v in m.groups()], want, atol=5e-5)


def test_fit_verbose_2_prints_to_stdout(data, capsys):
    model().fit(*data, epochs=2, batch_size=10, verbose=2)
    assert [line.split(" - ")[0] for line in capsys.readouterr().out.splitlines()] == ["epoch 1/2", "epoch 2/2"]


def test_verbose_1_draws_a_tqdm_bar_per_epoch_that_ends_with_the_epoch_values(data):
    out, hist = fit_to(io.StringIO(), data, 1, steps=3, validation_split=0.25)    # 30 training samples
    lines = out.split("\n")
    assert lines[-1] == "" and len(lines) == EPOCHS + 1      # each epoch ends its line
    for epoch, line in enumerate(lines[:-1]):
        frames = line.split("\r")
        assert any(f.startswith(f"epoch {epoch + 1}/{EPOCHS}: ") and "/3 [" in f for f in frames), frames  # the bar
        # ... erased at the epoch's end (a bar is cut at the terminal's width) for the epoch's whole line
        final = frames[-1].lstrip()
        assert final.startswith(f"epoch {epoch + 1}/{EPOCHS} - ")
        values = dict(re.findall(r"(\w+): (-?\d+\.\d+)", final))
        for k in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert abs(float(values[k]) - hist.history[k][epoch]) < 5e-5, (k, final)


def test_verbose_1_shows_the_running_values_and_an_eta(rng):
    x = rng.standard_normal((400, 5))
    y = (x[:, 0] > 0).astype(int)
    stream = io.StringIO()
    logger = cbs.ProgressLogger(1, 40, 1, stream=stream)
    model().fit(x, y, epochs=1, batch_size=10, verbose=0, callbacks=[logger, SlowBatches()])
    frames = stream.getvalue().split("\r")
    partial = [f for f in frames if f.startswith("epoch 1/1:") and "100%" not in f and "loss:" in f]
    assert partial, frames     # drawn while the epoch ran, with the loss so far ...
    assert re.search(r"\[\d\d:\d\d<\d\d:\d\d", partial[-1])     # ... and elapsed<remaining


class SlowBatches(cbs.Callback):
    """Makes each step take long enough for tqdm (which redraws at most every 0.1 s) to draw some."""

    def on_batch_end(self, batch, logs=None):
        import time
        time.sleep(0.01)


def test_auto_on_a_stream_that_is_not_a_terminal_writes_nothing(data, capsys):
    assert fit_to(io.StringIO(), data, "auto")[0] == ""
    model().fit(*data, epochs=2, batch_size=10)           # "auto" is fit's default; capsys is no terminal
    assert capsys.readouterr().out == ""


def test_auto_on_a_terminal_draws_the_bar(data):
    out, _ = fit_to(Terminal(), data, "auto")
    assert all(f"\repoch {e}/{EPOCHS}: " in out for e in range(1, EPOCHS + 1)), out     # a bar per epoch
    assert out.count(" - loss: ") == EPOCHS and out.endswith("\n")                    # then its whole line


def test_auto_in_a_notebook_draws_the_bar(monkeypatch):
    monkeypatch.setattr(cbs, "_in_notebook", lambda: True)
    assert cbs.ProgressLogger(1, 1, "auto").verbose == 1
    assert cbs.ProgressLogger(1, 1, "auto", stream=io.StringIO()).verbose == 0    # a given file is no notebook


@pytest.mark.parametrize("verbose", [3, -1, True, 1.5, "1", "yes", None])
def test_a_bad_verbose_is_refused_before_anything_changes(data, verbose):
    m = nnc.Sequential([Dense(2)], seed=0).compile("sgd")
    with pytest.raises(ValueError, match=r"fit: verbose must be 0 \(silent\), 1 \(a progress bar per epoch\), 2 "):
        m.fit(*data, epochs=1, verbose=verbose)
    assert not m.built and m.epoch == 0
    with pytest.raises(ValueError, match="ProgressLogger: verbose must be"):
        cbs.ProgressLogger(1, 1, verbose)


def test_a_message_below_the_bar_starts_its_own_line(data):
    stream = io.StringIO()
    stop = cbs.EarlyStopping(monitor="loss", patience=0, min_delta=10, verbose=1)
    stop.stream = stream
    m = model()
    m.fit(*data, epochs=EPOCHS, batch_size=10, verbose=0,
          callbacks=[stop, cbs.ProgressLogger(EPOCHS, STEPS, 1, stream=stream)])
    out = stream.getvalue()
    assert re.search(r"\| 4/4 \[[^\n]*\]\nEpoch 2: early stopping \(loss has not improved[^\n]*\n\r", out)
    assert out.endswith("\n") and "epoch 3/3" not in out


def test_a_run_stopped_in_mid_epoch_closes_its_bar(data):
    class Interrupt(cbs.Callback):
        def on_batch_end(self, batch, logs=None):
            if batch == 1:
                raise KeyboardInterrupt

    stream = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        model().fit(*data, epochs=EPOCHS, batch_size=10, verbose=0,
                    callbacks=[Interrupt(), cbs.ProgressLogger(EPOCHS, STEPS, 1, stream=stream)])
    assert id(stream) not in cbs.ProgressLogger._live and stream.getvalue().endswith("\n")


def test_the_display_does_not_change_the_run(data):
    """The bar draws nothing from the model's generator: the same seed trains the same weights."""
    runs = []
    for verbose in (0, 1, 2):
        m = model()
        m.fit(*data, epochs=2, batch_size=10, verbose=0, validation_split=0.25,
              callbacks=[cbs.ProgressLogger(2, 3, verbose, stream=io.StringIO())])
        runs.append(m.get_weights())
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            np.testing.assert_array_equal(a, b)
