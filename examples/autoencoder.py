"""An autoencoder: 784-128-32-128-784
===================================

The students' question "an autoencoder compresses its input: is it overfitting?". A dense
autoencoder (784-128-32-128-784, ReLU, sigmoid output, trained on the image itself as the target
with the mean squared error) squeezes each Fashion-MNIST image through 32 numbers. The script
prints the reconstruction error on the training and on unseen test images (close: it compresses,
it does not memorize), draws originals above their reconstructions, and reuses the trained
encoder (784-128-32, frozen) as a feature extractor: a linear classifier on its 32 features
against one on the 784 raw pixels, trained on the same few labelled images (on the sample, the
32 unsupervised features with 330 trained weights come within a few points of the 7,850-weight
classifier on raw pixels; the table says by how much).

    python examples/autoencoder.py [--quick] [--full] [--out DIR]
"""

import numpy as np

import nnc
import nnc.plot
from nnc.gallery import load_images, options, plt, save, table
from nnc.layers import Dense


def encoder_layers():
    return [Dense(128, activation="relu", input_shape=(784,), name="enc1"),
            Dense(32, activation="relu", name="code")]


def autoencoder():
    return nnc.Sequential(encoder_layers() + [Dense(128, activation="relu", name="dec1"),
                                              Dense(784, activation="sigmoid", name="pixels")], seed=0)


def main(argv=None):
    args = options("autoencoder", "an autoencoder and its encoder reused", argv, full=True)
    (x, y), (xt, yt) = load_images(args.full)[0]
    epochs = 3 if args.quick else 20
    if args.quick:
        x, y, xt, yt = x[:1000], y[:1000], xt[:500], yt[:500]

    # Train the autoencoder: the target is the input
    ae = autoencoder()
    ae.compile(optimizer=nnc.optim.Adam(1e-3), loss="mse")
    h = ae.fit(x, x, epochs=epochs, batch_size=64, validation_data=(xt, xt), verbose=0)
    train_mse, test_mse = ae.evaluate(x, x)["loss"], ae.evaluate(xt, xt)["loss"]
    print(f"784-128-32-128-784 on {len(x)} images, {epochs} epochs of Adam: reconstruction MSE "
          f"train {train_mse:.4f}, test {test_mse:.4f} (pixel variance {float(np.var(xt)):.4f})")

    # Originals (top) and reconstructions (bottom)
    rec = ae.predict(xt[:10])
    fig, axes = plt.subplots(2, 10, figsize=(12, 2.8), layout="constrained")
    for j in range(10):
        for i, img in enumerate((xt[j], rec[j])):
            axes[i, j].imshow(img.reshape(28, 28), cmap="gray", vmin=0, vmax=1)
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
    axes[0, 0].set_ylabel("test image")
    axes[1, 0].set_ylabel("from 32 numbers")
    fig.suptitle(f"test images and their reconstructions (MSE {test_mse:.4f})")
    save(fig, args.out, "autoencoder_reconstructions.png")
    fig = nnc.plot.history(h)
    save(fig, args.out, "autoencoder_history.png")

    # The encoder as a feature extractor: frozen, with a linear classifier on its 32 outputs
    n_lab = 200 if args.quick else 500
    rows = []
    enc = nnc.Sequential(encoder_layers() + [Dense(10, name="classifier")], seed=1)
    enc.build((784,))
    for i in range(2):
        enc.layers[i].set_weights(ae.layers[i].get_weights())
        enc.layers[i].trainable = False
    raw = nnc.Sequential([Dense(10, input_shape=(784,), name="classifier")], seed=1)
    for label, m in (("linear on 784 raw pixels", raw), ("linear on the 32 encoder features", enc)):
        m.compile(optimizer=nnc.optim.Adam(3e-3), loss="softmax_cross_entropy", metrics=["accuracy"])
        m.fit(x[:n_lab], y[:n_lab], epochs=30 if not args.quick else 10, batch_size=32, verbose=0)
        rows.append((label, int(m.layers[-1].params["W"].size + 10), m.evaluate(xt, yt)["accuracy"]))
    print(f"\nclassifiers trained on {n_lab} labelled images:")
    table(rows, ["model", "trained parameters", "test accuracy"])
    return train_mse, test_mse, rows


if __name__ == "__main__":
    main()
