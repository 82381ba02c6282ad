"""The main demo runs end to end, natively and in reference mode, and the MLP really learns."""
import numpy as np
import pytest

import nnc
from nnc.layers import Dense, Flatten

from conftest import run_python


@pytest.mark.parametrize("backend_name", ["native", "reference"])
def test_demo_runs(backend_name):
    if backend_name == "native" and not nnc.backend.native_available():
        pytest.skip("native extension not built")
    out = run_python(["-m", "nnc.demo", "--quick"], {"NNC_BACKEND": backend_name})
    assert out.returncode == 0, out.stderr
    assert f"backend:      {backend_name}" in out.stdout
    assert "perceptron:" in out.stdout and "MLP test accuracy" in out.stdout
    assert "Warning" not in out.stderr, out.stderr   # the demo shows clean use: nothing to warn about


def test_mlp_learns_the_builtin_sample():
    (x_train, y_train), (x_test, y_test) = nnc.datasets.load_sample()
    model = nnc.Sequential([Flatten(input_shape=(28, 28)),
                            Dense(128, activation="relu", kernel_initializer="he_uniform"),
                            Dense(10)], seed=0)
    model.compile(nnc.optim.SGD(0.1), "softmax_cross_entropy", ["accuracy"])
    model.fit(x_train / np.float32(255), y_train, epochs=8, batch_size=32, verbose=0)
    assert model.evaluate(x_test / np.float32(255), y_test)["accuracy"] >= 0.80


def test_mlp_learns_spirals():
    x, y = nnc.datasets.make_spirals(1000, noise=0.1, seed=0)
    x_train, x_test, y_train, y_test = nnc.data.train_test_split(x, y, test_size=0.25, seed=0)
    model = nnc.Sequential([Dense(64, activation="tanh", input_shape=(2,)), Dense(64, activation="tanh"),
                            Dense(2)], seed=0)
    model.compile(nnc.optim.SGD(0.2), "softmax_cross_entropy", ["accuracy"])
    model.fit(x_train, y_train, epochs=300, batch_size=32, verbose=0)
    assert model.evaluate(x_test, y_test)["accuracy"] >= 0.97
