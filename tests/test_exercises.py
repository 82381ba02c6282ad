"""nnc.exercises: correct student kernels pass, the usual mistakes get their hint, stubs, CLI, plug."""
import inspect
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nnc
import nnc.exercises as ex
from nnc import backend
from nnc.backend.caches import Conv2DCache

# ---- student code, written here with plain numpy (never by calling the reference) ----------------


def dense_backward(dout, cache):
    return dout @ cache.W.T, cache.x.T @ dout, dout.sum(axis=0) if cache.use_bias else None


def softmax_ce_backward(cache):
    z = cache.output.astype(np.float64)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(z)), cache.target] -= 1
    return (p / len(z)).astype(cache.output.dtype)


def dropout_backward(dout, cache):
    return dout if cache.keep is None else dout * cache.keep * dout.dtype.type(cache.scale)


def conv2d_forward(x, W, b, stride=1, padding=0, dilation=1):
    sh, sw = (stride, stride) if np.isscalar(stride) else stride
    ph, pw = (padding, padding) if np.isscalar(padding) else padding
    N, C, H, Wd = x.shape
    F, _, kh, kw = W.shape
    xp = np.zeros((N, C, H + 2 * ph, Wd + 2 * pw), dtype=x.dtype)
    xp[:, :, ph:ph + H, pw:pw + Wd] = x
    Ho, Wo = (H + 2 * ph - kh) // sh + 1, (Wd + 2 * pw - kw) // sw + 1
    out = np.zeros((N, F, Ho, Wo), dtype=x.dtype)
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, f, i, j] = np.sum(xp[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw] * W[f])
                    out[n, f, i, j] += b[f] if b is not None else 0
    return out, Conv2DCache(x, W, b is not None, (sh, sw), (ph, pw), (1, 1))


def batchnorm_backward_staged(dout, cache):
    axes = (0,) if dout.ndim == 2 else (0, 2, 3)
    col = (1, -1) if dout.ndim == 2 else (1, -1, 1, 1)
    M = dout.size // dout.shape[1]
    xmu = cache.xhat / cache.inv_std.reshape(col)          # x - mu
    dxhat = dout * cache.gamma.reshape(col)
    dvar = np.sum(dxhat * xmu, axis=axes) * -0.5 * cache.inv_std ** 3
    dmu = np.sum(-dxhat * cache.inv_std.reshape(col), axis=axes) + dvar * np.mean(-2 * xmu, axis=axes)
    dx = dxhat * cache.inv_std.reshape(col) + dvar.reshape(col) * 2 * xmu / M + dmu.reshape(col) / M
    return dx.astype(dout.dtype), np.sum(dout * cache.xhat, axis=axes), np.sum(dout, axis=axes)


@pytest.mark.parametrize("name,fn", [("dense_backward", dense_backward),
                                     ("softmax_cross_entropy_backward", softmax_ce_backward),
                                     ("dropout_backward", dropout_backward), ("conv2d_forward", conv2d_forward),
                                     ("batchnorm_backward_staged", batchnorm_backward_staged)])
def test_correct_student_kernels_pass(name, fn):
    report = ex.check(name, fn)
    assert report.ok, str(report)
    assert len(report.cases) >= 4 and "PASS" in str(report) and "FAIL" not in str(report)


# ---- typical mistakes ------------------------------------------------------------------------------

def _dW_transposed(dout, cache):
    dx, dW, db = dense_backward(dout, cache)
    return dx, dW.T, db


def _db_wrong_axis(dout, cache):
    dx, dW, _ = dense_backward(dout, cache)
    return dx, dW, dout.sum(axis=1) if cache.use_bias else None


@pytest.mark.parametrize("name,fn,hint", [
    ("dense_backward", _dW_transposed, "dW is transposed"),
    ("dense_backward", _db_wrong_axis, "db is summed over the wrong axes"),
    ("dense_backward", lambda d, c: dense_backward(d, c)[:2] + ((d.sum(axis=0) / len(d)) if c.use_bias else None,),
     "db: your result is N times too small"),
    ("dense_backward", lambda d, c: tuple(None if g is None else -g for g in dense_backward(d, c)), "wrong sign"),
    ("softmax_cross_entropy_backward", lambda c: softmax_ce_backward(c) * len(c.output), "divide by N"),
    ("dropout_backward", lambda d, c: d if c.keep is None else d * c.keep, "not rescaled"),
    ("conv2d_forward", lambda x, W, b, stride=1, padding=0, dilation=1:
        conv2d_forward(x, np.ascontiguousarray(W[:, :, ::-1, ::-1]), b, stride, padding), "flipped"),
])
def test_typical_mistakes_fail_with_their_hint(name, fn, hint):
    report = ex.check(name, fn)
    assert not report.ok
    failed = [c for c in report.cases if not c.passed]
    assert any(hint in h for c in failed for h in c.hints), str(report)
    assert any(c.first_wrong or "shape" in c.message for c in failed)


def test_first_wrong_entry_is_located():
    def off_by_one(dout, cache):
        dx, dW, db = dense_backward(dout, cache)
        dW = dW.copy()
        dW[1, 0] += 1.0
        return dx, dW, db
    report = ex.check("dense_backward", off_by_one)
    case = report.cases[1]           # random N=5, D=7, M=3
    assert not case.passed and case.first_wrong["output"] == "dW" and case.first_wrong["index"] == [1, 0]
    assert case.first_wrong["got"] == pytest.approx(case.first_wrong["expected"] + 1.0)
    assert "dW[1, 0]" in str(report)


def test_pair_check_uses_the_students_forward():
    def dense_forward(x, W, b=None):   # wrong: the bias counts twice, so db is 2 * sum(dout)
        from nnc.backend.caches import DenseCache
        return x @ W + 2 * (b if b is not None else 0), DenseCache(x, W, b is not None)
    report = ex.check("dense_backward", dense_backward, forward=dense_forward)
    assert all(c.passed for c in report.cases[:-1]) and not report.ok
    assert "finite differences" in report.cases[-1].label and "db" in report.cases[-1].message


def test_check_refuses_a_non_callable():
    with pytest.raises(TypeError, match="must be your function"):
        ex.check("dense_backward", "dense_backward")
    with pytest.raises(ValueError, match="did you mean 'dense_backward'"):
        ex.check("dense_bakward", dense_backward)


# ---- stubs and the shell ---------------------------------------------------------------------------

def test_stub_imports_has_the_signature_and_reports_not_implemented(tmp_path):
    path = tmp_path / "my_conv.py"
    ex.start("conv2d_forward", path)
    fn, _ = ex.load("conv2d_forward", path)
    assert inspect.signature(fn) == inspect.signature(nnc.backend.reference.conv2d_forward)
    text = path.read_text()
    assert "TODO" in text and "nnc.backend.reference.conv.conv2d_forward" in text and "Ho =" in text
    report = ex.check("conv2d_forward", fn)
    assert not report.ok and report.not_implemented and "not implemented yet" in str(report)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        ex.start("conv2d_forward", path)


def test_cli_exit_codes_and_json(tmp_path, monkeypatch, capsys):
    from nnc.exercises.__main__ import main
    monkeypatch.chdir(tmp_path)
    assert main(["start", "dropout_backward", "stub.py"]) == 0
    assert main(["check", "dropout_backward", "stub.py"]) == 1
    assert "not implemented yet" in capsys.readouterr().out
    (tmp_path / "good.py").write_text(textwrap.dedent("""
        import numpy as np
        def dropout_backward(dout, cache):
            return dout if cache.keep is None else dout * cache.keep * dout.dtype.type(cache.scale)
        """))
    assert main(["check", "dropout_backward", "good.py", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and data["passed"] == data["total"] and data["exercise"] == "dropout_backward"
    assert main(["check", "dropout_backward", "nothing.py", "--json"]) == 2
    assert "FileNotFoundError" in json.loads(capsys.readouterr().out)["error"]
    assert main(["list"]) == 0 and "conv2d_forward" in capsys.readouterr().out


def test_python_dash_m_runs_and_exits_non_zero_on_failure(tmp_path):
    (tmp_path / "bad.py").write_text("def relu_backward(dout, cache):\n    return -dout * (cache.x > 0)\n")
    run = subprocess.run([sys.executable, "-m", "nnc.exercises", "check", "relu_backward", "bad.py"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert run.returncode == 1 and "FAIL" in run.stdout and "wrong sign" in run.stdout, run.stdout + run.stderr


# ---- plug ------------------------------------------------------------------------------------------

def test_plug_trains_with_the_students_kernel_and_restores_it():
    calls = []

    def student(dout, cache):
        calls.append(dout.shape)
        return dense_backward(dout, cache)
    before = backend.get()
    history = ex.plug("dense_backward", student).train(epochs=1, samples=200, batch_size=50)
    assert backend.get() is before and len(calls) >= 4 * 2      # 4 batches, 2 Dense layers
    losses = history.history["loss"]
    assert np.isfinite(losses).all()
    with pytest.raises(KeyError):
        with ex.plug("dense_backward", student):
            assert backend.get().dense_backward is not before.dense_backward
            assert backend.get().dense_forward is before.dense_forward
            raise KeyError("boom")
    assert backend.get() is before


def test_plug_refuses_what_layers_never_call():
    with pytest.raises(ValueError, match="cannot be plugged"):
        ex.plug("im2col", lambda *a, **k: None)


def test_plug_an_update_rule_gives_an_optimizer_that_uses_it():
    steps = []

    def sgd_momentum_update(w, dw, v, lr=0.01, momentum=0.9):
        steps.append(w.shape)
        v = momentum * v - lr * dw
        return w + v, v
    history = ex.plug("sgd_momentum_update", sgd_momentum_update).train(epochs=1, samples=100, batch_size=50)
    assert len(steps) == 2 * 4 and np.isfinite(history.history["loss"]).all()   # 2 steps x (W, b) x 2 layers
    with pytest.raises(ValueError, match="only the update exercises"):
        ex.plug("dense_backward", dense_backward).optimizer()
    assert type(nnc.optim.get("sgd")) is nnc.optim.SGD      # the library's optimizers are untouched
