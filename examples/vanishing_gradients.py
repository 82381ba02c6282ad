"""Vanishing gradients: the sigmoid chain and deep networks
========================================================

Lecture item 8. In a chain of 4 one-neuron sigmoid layers, ``dL/db1`` is the product
``sigma'(z1) w2 sigma'(z2) w3 sigma'(z3) w4 sigma'(z4) (a4 - y)``: each sigma' is at most 0.25, so the
gradient reaching the first layer shrinks by a factor of 4 or more per layer. The script prints each
factor and checks the product against nnc's backward pass. Then the per-layer gradient norms
``||dL/dW||`` of a 10-layer sigmoid network, the same with ReLU, and ReLU with batch normalization,
recorded by ``nnc.callbacks.LayerStatsLogger`` while training on the Fashion-MNIST sample: the
sigmoid network's first layers get gradients orders of magnitude smaller than its last.

    python examples/vanishing_gradients.py [--quick] [--full] [--out DIR]
"""
import warnings

import numpy as np

import nnc
import nnc.plot
from nnc.gallery import load_images, options, plt, save, table
from nnc.layers import Activation, BatchNormalization, Dense


# %%
# The 4-neuron chain
# ------------------
# Dense(1) and a sigmoid per layer, float64, loss 1/2 (a4 - y)^2 on one sample x = 1, y = 0.
def chain():
    layers = []
    for i in range(4):
        layers += [Dense(1, input_shape=(1,) if i == 0 else None, name=f"z{i + 1}",
                         kernel_initializer=nnc.initializers.Constant(1.0 + 0.2 * i)),
                   Activation("sigmoid", name=f"a{i + 1}")]
    m = nnc.Sequential(layers, dtype="float64", seed=0)
    m.compile(optimizer="sgd", loss="half_squared_error")
    x, y = np.array([[1.0]]), np.array([[0.0]])
    acts = [x]
    for layer in m.layers:
        acts.append(layer.forward(acts[-1], training=True))
    m.loss.forward(acts[-1], y)
    m.backward(m.loss.backward())
    a = np.array([acts[2 * i + 2][0, 0] for i in range(4)])
    w = np.array([m.layers[2 * i].params["W"][0, 0] for i in range(4)])
    dsig = a * (1 - a)
    factors = [dsig[0]] + [v for i in range(1, 4) for v in (w[i], dsig[i])] + [a[3] - y[0, 0]]
    product = float(np.prod(factors))
    nnc_db1 = float(m.layers[0].grads["b"][0])
    rows = [(f"layer {i + 1}", f"{w[i]:.2f}", f"{a[i]:.4f}", f"{dsig[i]:.4f}",
             f"{abs(m.layers[2 * i].grads['b'][0]):.2e}") for i in range(4)]
    print("4 one-neuron sigmoid layers, x = 1, y = 0, loss 1/2 (a4 - y)^2:")
    table(rows, ["", "w", "a = sigmoid(z)", "sigma'(z) <= 0.25", "|dL/db| (nnc)"])
    print(f"dL/db1 = sigma'(z1) w2 sigma'(z2) w3 sigma'(z3) w4 sigma'(z4) (a4 - y) = {product:.4e}; "
          f"nnc backward: {nnc_db1:.4e}")
    return product, nnc_db1


# %%
# Deep networks: per-layer gradient norms
# ---------------------------------------
def deep(kind, depth=10, width=64):
    layers = [nnc.layers.Input((784,))]
    for i in range(depth):
        if kind == "sigmoid":
            layers += [Dense(width, activation="sigmoid", name=f"dense{i + 1}")]
        elif kind == "relu":
            layers += [Dense(width, activation="relu", kernel_initializer="he_uniform", name=f"dense{i + 1}")]
        else:
            layers += [Dense(width, use_bias=False, kernel_initializer="he_uniform", name=f"dense{i + 1}"),
                       BatchNormalization(), Activation("relu")]
    return nnc.Sequential(layers + [Dense(10, name="logits")], seed=0)


def deep_networks(out, data, epochs):
    (x, y), (xt, yt) = data
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained", sharey=True)
    rows = []
    for ax, kind in zip(axes, ["sigmoid", "relu", "relu + batch norm"]):
        m = deep(kind)
        m.compile(optimizer=nnc.optim.SGD(0.05), loss="softmax_cross_entropy", metrics=["accuracy"])
        stats = nnc.callbacks.LayerStatsLogger()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")    # "not learning": the deep sigmoid network is the point
            m.fit(x, y, epochs=epochs, batch_size=64, callbacks=[stats], verbose=0)
        nnc.plot.gradient_norms(stats, by="layer", ax=ax)
        ax.set_title(f"10 hidden layers, {kind}")
        g = {name: v for (name, s), v in stats.history.items() if s == "grad_norm/W"}
        first, last = g["dense1"][0], g["logits"][0]
        rows.append((kind, f"{first:.2e}", f"{g['dense10'][0]:.2e}", f"{last:.2e}", f"{last / first:.3g}",
                     m.evaluate(xt, yt)["accuracy"]))
    save(fig, out, "gradient_norms.png")
    print(f"\n||dL/dW|| at the first recorded batch, 10 hidden layers of 64, {len(x)} images, {epochs} epochs:")
    table(rows, ["network", "dense1", "dense10", "logits", "logits / dense1", "test accuracy"])
    return rows


def main(argv=None):
    args = options("vanishing_gradients", "vanishing gradients", argv, full=True)
    product, db1 = chain()
    (x, y), (xt, yt) = load_images(args.full)[0]
    if args.quick:
        x, y, xt, yt = x[:1000], y[:1000], xt[:500], yt[:500]
    rows = deep_networks(args.out, ((x, y), (xt, yt)), 2 if args.quick else 5)
    return product, db1, rows


if __name__ == "__main__":
    main()
