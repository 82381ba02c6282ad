"""The two models of the end-to-end and scaling groups, in nnc and in PyTorch, with the same weights.

MLP      784-256-128-64-10, ReLU, logits into softmax cross-entropy
LeNet-5  conv 6@5x5 pad 2 + ReLU, max pool 2, conv 16@5x5 + ReLU, max pool 2, flatten,
         dense 120 + ReLU, dense 84 + ReLU, dense 10
nnc draws the initial weights (seeded; Glorot uniform for the MLP, He uniform for LeNet-5 as in
examples/lenet5.py; zero biases); `weights()`
lists them in layer order and `torch_model(kind, weights)` builds the torch twin from that list, so
both sides start from the same numbers (torch Linear keeps W transposed: (out, in)).
"""
import numpy as np

MLP_UNITS = (256, 128, 64, 10)


def nnc_model(kind, seed=0, dtype="float32"):
    """A built nnc Sequential for kind "mlp" or "lenet5" (float32 or float64); raises ImportError naming
    what is missing."""
    import nnc
    from nnc import layers as L
    need = ["relu_forward"] + (["conv2d_forward", "maxpool2d_forward"] if kind == "lenet5" else [])
    absent = [k for k in need if not hasattr(nnc.backend.native, k)]
    if kind == "lenet5":
        absent += [c for c in ("Conv2D", "MaxPool2D") if not hasattr(L, c)]
    if absent:
        raise ImportError("not merged into nnc yet: " + ", ".join(absent))
    if kind == "mlp":
        layers = [L.Dense(MLP_UNITS[0], activation="relu", input_shape=(784,)),
                  L.Dense(MLP_UNITS[1], activation="relu"), L.Dense(MLP_UNITS[2], activation="relu"),
                  L.Dense(MLP_UNITS[3])]
    else:
        he = "he_uniform"   # as in examples/lenet5.py
        layers = [L.Conv2D(6, 5, padding=2, activation="relu", kernel_initializer=he, input_shape=(1, 28, 28)),
                  L.MaxPool2D(2), L.Conv2D(16, 5, activation="relu", kernel_initializer=he), L.MaxPool2D(2),
                  L.Flatten(), L.Dense(120, activation="relu", kernel_initializer=he),
                  L.Dense(84, activation="relu", kernel_initializer=he), L.Dense(10)]
    model = nnc.Sequential(layers, seed=seed, dtype=dtype)
    model.build()
    return model


def weights(model):
    """[W0, b0, W1, b1, ...] of the layers that have parameters, in order."""
    out = []
    for layer in model.layers:
        if "W" in layer.params:
            out += [layer.params["W"], layer.params["b"]]
    return out


def torch_model(kind, ws):
    """The torch twin of nnc_model(kind) holding the weights ws (from `weights`), in their dtype."""
    import torch
    from torch import nn
    if kind == "mlp":
        mods = [nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                nn.Linear(64, 10)]
    else:
        mods = [nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                nn.Linear(84, 10)]
    model = nn.Sequential(*mods).to(torch.from_numpy(ws[0]).dtype)
    params = [m for m in model if isinstance(m, (nn.Linear, nn.Conv2d))]
    with torch.no_grad():
        for m, W, b in zip(params, ws[0::2], ws[1::2]):
            m.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T if isinstance(m, nn.Linear) else W)))
            m.bias.copy_(torch.from_numpy(b))
    return model


def torch_sgd_step(kind, model, x, y, lr=0.01):
    """A callable running one SGD step of the torch twin of `model` (an nnc model of `kind`) on x, y."""
    import torch
    tm = torch_model(kind, weights(model))
    opt = torch.optim.SGD(tm.parameters(), lr=lr)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(tm(tx), ty).backward()
        opt.step()
    return step


def flops_per_sample(kind):
    """Multiply-adds x 2 of forward + backward (backward = 2x forward, minus the first layer's dx)."""
    if kind == "mlp":
        dims = (784,) + MLP_UNITS
        fwd = [2 * a * b for a, b in zip(dims[:-1], dims[1:])]
    else:
        fwd = [2 * 6 * 28 * 28 * 25, 2 * 16 * 10 * 10 * 150, 2 * 400 * 120, 2 * 120 * 84, 2 * 84 * 10]
    return 3 * sum(fwd) - fwd[0]
