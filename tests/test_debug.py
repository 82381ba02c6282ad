"""nnc.debug: pdb lands on a kernel's first line of math, driven here by scripted commands."""
import io
import pdb
import re
import signal
import sys

import numpy as np
import pytest

import nnc
from nnc import backend, debug
from nnc.backend import native_available

STOP = re.compile(r"(?:^|\(Pdb\) )> (?P<file>[^\n]+)\((?P<line>\d+)\)(?P<func>[\w<>]+)\(\)\n-> (?P<code>.*)$", re.M)


def _stops(text):
    """The places pdb stopped at, in order: (file, line, function, code)."""
    return [(m["file"], int(m["line"]), m["func"], m["code"].strip()) for m in STOP.finditer(text)]


def _mlp():
    model = nnc.Sequential([nnc.layers.Dense(4, activation="relu", input_shape=(3,)), nnc.layers.Dense(2)], seed=0)
    model.compile(optimizer="sgd", loss="softmax_cross_entropy")
    return model


@pytest.fixture(autouse=True)
def _no_tracer_left():
    """No test leaves a pdb tracing, or pdb's Ctrl-C handler installed (later tests send SIGINT)."""
    handler = signal.getsignal(signal.SIGINT)
    yield
    assert sys.gettrace() is None or "pdb" not in type(getattr(sys.gettrace(), "__self__", None)).__module__
    assert signal.getsignal(signal.SIGINT) == handler


@pytest.mark.parametrize("name", ["reference", "textbook"])
def test_math_line_is_the_first_line_after_the_checks(name):
    filename, lineno, code = debug.math_line("dense_forward", name)
    assert code == "y = x @ W" and filename.endswith("dense.py")
    with open(filename) as f:
        assert f.read().splitlines()[lineno - 1].strip() == code
    for kernel in ("conv2d_backward", "maxpool2d_backward", "batchnorm_forward", "relu_forward"):
        assert "check" not in debug.math_line(kernel, name)[2], kernel


def test_math_line_skips_the_sizes_read_off_the_arguments():
    """`N, C_in, H_in, W_in = x.shape` and `C_out = W.shape[0]` are bookkeeping: the textbook convolution
    stops where it builds xp, the padded input of its equation."""
    assert debug.math_line("conv2d_forward", "textbook")[2].startswith("xp = np.zeros(")
    assert debug.math_line("sgd_momentum_update", "textbook")[2] == "velocity *= t(momentum)"
    assert debug.math_line("maxpool2d_backward", "textbook")[2].startswith("dx = np.zeros(")


def test_math_line_names_what_it_cannot_do():
    with pytest.raises(ValueError, match="no kernel 'dense_fwd'"):
        debug.math_line("dense_fwd", "reference")
    with pytest.raises(ValueError, match="compiled"):
        debug.math_line("dense_forward", "native")


def test_step_into_a_model_stops_at_y_equals_x_at_W(rng):
    model = _mlp()
    x = rng.standard_normal((5, 3)).astype(np.float32)
    out = io.StringIO()
    y = debug.step_into(model, x, stdin=io.StringIO("p x.shape, W.shape\nc\n"), stdout=out)
    stops = _stops(out.getvalue())
    assert len(stops) == 1, out.getvalue()                   # one stop, then `c` runs the pass to the end
    assert stops[0][2:] == ("dense_forward", "y = x @ W")
    assert "((5, 3), (3, 4))" in out.getvalue()
    np.testing.assert_allclose(y, model.forward(x), rtol=1e-6)


def test_step_into_then_next_reaches_the_bias(rng):
    layer = nnc.layers.Dense(2)
    x = rng.standard_normal((2, 3))
    out = io.StringIO()
    debug.step_into(layer, x, backend="reference", stdin=io.StringIO("n\nn\nc\n"), stdout=out)
    codes = [s[3] for s in _stops(out.getvalue())]
    assert codes[:3] == ["y = x @ W", "if b is not None:", "y = y + b            # b is broadcast over the "
                         "batch: every row gets the same bias"]


@pytest.mark.parametrize("kernel,layer,shape", [
    ("conv2d_forward", lambda: nnc.layers.Conv2D(2, 3, padding=1), (1, 2, 5, 4)),
    ("maxpool2d_forward", lambda: nnc.layers.MaxPool2D(2), (1, 2, 4, 4)),
    ("batchnorm_forward", lambda: nnc.layers.BatchNormalization(), (3, 2, 2, 2)),
])
def test_step_into_a_textbook_kernel(kernel, layer, shape, rng):
    x = rng.standard_normal(shape)
    out = io.StringIO()
    debug.step_into(layer(), x, training=True, backend="textbook", stdin=io.StringIO("c\n"), stdout=out)
    (stop,) = _stops(out.getvalue())
    _, lineno, code = debug.math_line(kernel, "textbook")
    assert stop[1:] == (lineno, kernel, code)
    assert stop[0].endswith("textbook.py")


def test_step_into_backward_and_a_named_kernel(rng):
    model = _mlp()
    x = rng.standard_normal((4, 3)).astype(np.float32)
    model.forward(x, training=True)
    out = io.StringIO()
    debug.step_into(model, np.ones((4, 2), np.float32), backward=True, stdin=io.StringIO("c\n"), stdout=out)
    (stop,) = _stops(out.getvalue())
    assert stop[2] == "dense_backward"
    out = io.StringIO()
    debug.step_into(model, x, kernel="relu_forward", stdin=io.StringIO("c\n"), stdout=out)
    (stop,) = _stops(out.getvalue())
    assert stop[2] == "relu_forward"


@pytest.mark.skipif(not native_available(), reason="native extension not built")
def test_step_into_under_native_runs_textbook_for_the_call_only(rng):
    x = rng.standard_normal((2, 3)).astype(np.float32)
    with nnc.native():
        out = io.StringIO()
        debug.step_into(nnc.layers.Dense(2), x, stdin=io.StringIO("p __import__('nnc').backend.name()\nc\n"), stdout=out)
        assert backend.name() == "native"
    assert "'textbook'" in out.getvalue() and len(_stops(out.getvalue())) == 1


def test_break_at_around_a_training_step(rng):
    model = _mlp()
    x, y = rng.standard_normal((4, 3)).astype(np.float32), rng.integers(0, 2, 4)
    before = backend.name()
    out = io.StringIO()
    with debug.break_at("dense_backward", backend="textbook", stdin=io.StringIO("p dout.shape\nc\n"),
                        stdout=out):
        assert backend.name() == "textbook"
        model.train_on_batch(x, y)
    assert backend.name() == before
    (stop,) = _stops(out.getvalue())       # the last layer's backward, once
    assert stop[2] == "dense_backward" and "(4, 2)" in out.getvalue()
    model.train_on_batch(x, y)              # no breakpoint left behind


def test_break_at_refuses_native_and_nothing():
    with pytest.raises(TypeError, match="name at least one kernel"):
        debug.break_at()
    if native_available():
        with nnc.native(), pytest.raises(ValueError, match="native"):
            debug.break_at("dense_forward")


def test_the_plain_pdb_recipe_takes_two_commands(rng):
    """The docstring's third recipe: a pdb session at model.forward, `b <math line>` and `c`."""
    model = _mlp()
    x = rng.standard_normal((2, 3)).astype(np.float32)
    filename, lineno, code = debug.math_line("dense_forward", "reference")
    out = io.StringIO()
    p = pdb.Pdb(stdin=io.StringIO(f"b {filename}:{lineno}\nc\ncl {filename}:{lineno}\nc\n"), stdout=out, readrc=False, nosigint=True)
    with nnc.reference():
        p.runcall(model.forward, x)
    sys.settrace(None)
    stops = _stops(out.getvalue())
    assert stops[0][2] == "forward"                      # where runcall starts: model.forward's first line
    assert stops[1][1:] == (lineno, "dense_forward", code)
