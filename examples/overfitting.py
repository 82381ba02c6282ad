"""Overfitting and five remedies
==============================

Lecture items 16 and 17. A large network (784-512-512-10, ReLU) trained by Adam on only 500 images
of the Fashion-MNIST sample fits its training set almost perfectly while its validation loss turns
upwards: overfitting. Each remedy, on the same data from the same initial weights: an L2 penalty
on the weights, an L1 penalty (which also sets many weights to (almost) zero: the script counts
them), dropout, early stopping (patience 5, best weights restored), and data augmentation (every
epoch sees freshly shifted and noisy copies, ``nnc.data.random_shift`` and ``add_noise``).
Train and validation curves of each, and a table of the final validation accuracy and loss.

    python examples/overfitting.py [--quick] [--full] [--out DIR]
"""
import warnings

import numpy as np

import nnc
import nnc.plot
from nnc.callbacks import EarlyStopping
from nnc.gallery import load_images, options, save, table
from nnc.layers import Dense, Dropout


def big_mlp(reg=None, dropout=0.0):
    layers = [nnc.layers.Input((784,))]
    for _ in range(2):
        layers.append(Dense(512, activation="relu", kernel_regularizer=reg))
        if dropout:
            layers.append(Dropout(dropout))
    layers.append(Dense(10, kernel_regularizer=reg))
    m = nnc.Sequential(layers, seed=0)
    m.compile(optimizer=nnc.optim.Adam(1e-3), loss="softmax_cross_entropy", metrics=["accuracy"])
    return m


# %%
# Augmentation, epoch by epoch
# ----------------------------
# fit one epoch at a time on a fresh augmented copy; ``initial_epoch=model.epoch`` continues the run.
def fit_augmented(m, x, y, val, epochs, seed=0):
    rng = np.random.default_rng(seed)
    logs = {}
    for _ in range(epochs):
        xa = nnc.data.random_shift(x.reshape(-1, 28, 28), 2, rng=rng)
        xa = nnc.data.add_noise(xa, 0.05, rng=rng, clip=(0.0, 1.0)).reshape(len(x), -1)
        h = m.fit(xa, y, epochs=m.epoch + 1, initial_epoch=m.epoch, batch_size=32, validation_data=val, verbose=0)
        for k, v in h.history.items():
            logs.setdefault(k, []).extend(v)
    return logs


def main(argv=None):
    args = options("overfitting", "overfitting and its remedies", argv, full=True)
    (x, y), (xt, yt) = load_images(args.full)[0]
    n, epochs = (300, 5) if args.quick else (500, 30)
    x, y = x[:n], y[:n]
    val = (xt[:1000], yt[:1000])
    R = nnc.regularizers
    setups = {"baseline": dict(), "L2(1e-3)": dict(reg=R.L2(1e-3)), "L1(1e-4)": dict(reg=R.L1(1e-4)),
              "dropout 0.5": dict(dropout=0.5), "early stopping": dict(), "augmentation": dict()}
    runs, rows = {}, []
    for label, kw in setups.items():
        m = big_mlp(**kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if label == "augmentation":
                logs = fit_augmented(m, x, y, val, epochs)
            else:
                cbs = [EarlyStopping(patience=5, restore_best_weights=True)] if label == "early stopping" else []
                logs = m.fit(x, y, epochs=epochs, batch_size=32, validation_data=val, callbacks=cbs,
                             verbose=0).history
        runs[label] = logs
        final = m.evaluate(*val)
        # the cross-entropy alone (evaluate's loss adds the penalty, which would make L1/L2 look worse)
        ce = float(nnc.losses.get("softmax_cross_entropy").forward(m.predict(val[0]), val[1]))
        W = np.concatenate([layer.params["W"].ravel() for layer in m.layers if "W" in layer.params])
        rows.append((label, len(logs["loss"]), logs["accuracy"][-1], final["accuracy"], max(logs["val_accuracy"]),
                     ce, f"{np.mean(np.abs(W) < 1e-3):.2f}"))
    print(f"784-512-512-10 on {n} training images, validated on {len(val[0])}; Adam 1e-3, up to {epochs} epochs:")
    table(rows, ["setup", "epochs", "train acc", "val acc (final model)", "best val acc", "val cross-entropy",
                 "|W| < 1e-3"])
    base = rows[0]
    print("better than the baseline's final model on validation cross-entropy:",
          ", ".join(r[0] for r in rows[1:] if r[5] < base[5]) or "none")
    fig = nnc.plot.history({k: v for k, v in runs.items()}, metrics=["loss", "accuracy"], ncols=2)
    fig.set_size_inches(12, 4.5)
    fig.axes[0].set_ylim(0, 2.5)
    fig.suptitle(f"{n} training images, a large network: train (solid) and validation (dashed)")
    save(fig, args.out, "overfitting.png")
    return rows


if __name__ == "__main__":
    main()
