"""The batch-normalization experiment: four scenarios
==================================================

Lecture item 20. The deck's Keras model, built with nnc:

    Dense(256, use_bias=False) -> BatchNormalization -> ReLU
    Dense(128, use_bias=False) -> BatchNormalization -> ReLU
    Dense(64,  use_bias=False) -> BatchNormalization -> ReLU
    Dense(10) (logits; the softmax is fused into the loss, the stable way to write softmax + cross-entropy)

against the same network without batch norm (biases instead), trained by SGD, in four scenarios:
(a) the baseline (batch 32, lr 0.01), (b) batch 1024 with learning rate 1.0, (c) weights initialized
uniform in [-5, 5], (d) raw pixels 0..255, not scaled to [0, 1]. The slides (MNIST, 10 epochs) report
that batch norm rescues (b), (c) and (d) from near chance and helps (a) slightly; on Fashion-MNIST
the same pattern holds with lower numbers. A table of test accuracies and a figure of the curves.

    python examples/batchnorm_experiment.py [--quick] [--full] [--out DIR]
"""
import warnings

import numpy as np

import nnc
from nnc.gallery import load_images, options, plt, save, table
from nnc.initializers import RandomUniform
from nnc.layers import BatchNormalization, Dense, ReLU


def build(batchnorm, init, seed=0):
    layers = [nnc.layers.Input((784,))]
    for units in (256, 128, 64):
        layers.append(Dense(units, use_bias=not batchnorm, kernel_initializer=init))
        if batchnorm:
            layers.append(BatchNormalization())
        layers.append(ReLU())
    layers.append(Dense(10, kernel_initializer=init))
    return nnc.Sequential(layers, seed=seed)


# %%
# The scenarios
# -------------
# (name, kernel initializer, learning rate, batch size, scale the pixels to [0, 1]?)
SCENARIOS = [
    ("(a) baseline", "glorot_uniform", 0.01, 32, True),
    ("(b) batch 1024, lr 1.0", "glorot_uniform", 1.0, 1024, True),
    ("(c) init uniform [-5, 5]", RandomUniform(-5.0, 5.0), 0.01, 32, True),
    ("(d) raw pixels 0..255", "glorot_uniform", 0.01, 32, False),
]


def run(batchnorm, init, lr, batch_size, scaled, data, epochs):
    (x, y), (xt, yt) = data
    if not scaled:
        x, xt = x * 255.0, xt * 255.0
    model = build(batchnorm, init)
    model.compile(optimizer=nnc.optim.SGD(lr), loss="softmax_cross_entropy", metrics=["accuracy"])
    with warnings.catch_warnings():
        # Scenario (d) feeds raw pixels on purpose: nnc warns that x "has values up to 255" (it
        # should be scaled); that warning is the scenario, not a mistake of this script.
        warnings.filterwarnings("ignore", message=r".*has values up to", category=UserWarning)
        # The failing runs overflow and stall at chance: their RuntimeWarnings (overflow, and nnc's
        # "not learning" diagnostics) are the result being shown.
        warnings.simplefilter("ignore", RuntimeWarning)
        h = model.fit(x, y, epochs=epochs, batch_size=batch_size, validation_data=(xt, yt), verbose=0)
    finite = all(np.isfinite(p).all() for layer in model.layers for p in layer.params.values())
    return h, h.history["val_accuracy"][-1], finite


def main(argv=None):
    args = options("batchnorm_experiment", "batch norm in four scenarios", argv, full=True)
    (x, y), (xt, yt) = load_images(args.full)[0]
    epochs = 10
    if args.quick:
        x, y, xt, yt, epochs = x[:1000], y[:1000], xt[:500], yt[:500], 2
    data = (x, y), (xt, yt)
    print(f"the course model on {len(x)} training / {len(xt)} test images, {epochs} epochs of SGD; chance = 0.10")
    results, rows = {}, []
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8), layout="constrained", sharey=True)
    for ax, (title, init, lr, bs, scaled) in zip(axes, SCENARIOS):
        for bn in (False, True):
            h, acc, finite = run(bn, init, lr, bs, scaled, data, epochs)
            results[title, bn] = acc
            ax.plot(np.arange(1, epochs + 1), h.history["val_accuracy"], "o-", ms=3,
                    label=("with" if bn else "without") + " batch norm")
        rows.append((title, results[title, False], results[title, True]))
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylim(0, 1)
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))   # epochs are whole numbers
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small", loc="best")                 # where it covers the fewest points
    axes[0].set_ylabel("test accuracy")
    fig.suptitle("batch normalization in the deck's four scenarios")
    save(fig, args.out, "batchnorm_experiment.png")
    print()
    table(rows, ["scenario", "without batch norm", "with batch norm"])
    rescued = [t for t, *_ in SCENARIOS if results[t, True] > results[t, False] + 0.1]
    print(f"batch norm rescues (test accuracy up by more than 0.1): {', '.join(rescued) or 'none'}")
    return results


if __name__ == "__main__":
    main()
