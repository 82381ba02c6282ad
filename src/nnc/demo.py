"""The main demo: `python -m nnc.demo` (add --quick for a smoke run, --reference for pure-Python kernels).

1. A Rosenblatt perceptron learns a linearly separable 2-D toy set.
2. An MLP (784-256-128-10, ReLU) learns the built-in Fashion-MNIST sample (4000 train / 1000 test
   images shipped inside the package), printing loss and accuracy per epoch.
Needs no download; takes well under a minute on 2 cores with the native backend.
"""
import argparse
import time

import numpy as np

import nnc
from nnc.layers import Dense, Flatten


def perceptron_demo(seed):
    """Part 1: a Rosenblatt perceptron on 200 linearly separable 2-D points, X (200, 2), y in {0, 1}.

    Rule: y_hat = step(w . x + b); on a mistake w <- w + lr (y - y_hat) x, b <- b + lr (y - y_hat).
    Prints the epochs it took, the mistakes per epoch, the training accuracy and the learned w, b."""
    X, y = nnc.datasets.make_linearly_separable(200, seed=seed)
    p = nnc.Perceptron(lr=1.0, max_iter=100, random_state=seed).fit(X, y)
    print(f"perceptron: {p.n_iter_} epochs, mistakes per epoch {p.errors_[:8]}{' ...' if len(p.errors_) > 8 else ''}, "
          f"training accuracy {p.score(X, y):.3f}")
    print(f"            w = {np.round(p.coef_.ravel(), 3)}, b = {np.round(p.intercept_, 3)}")


def mlp_demo(seed, epochs, n_train):
    """Part 2: an MLP 784-256-128-10 (ReLU, He-uniform) on the built-in Fashion-MNIST sample.

    Images (N, 28, 28) scaled to [0, 1] are flattened to (N, 784); the output (N, 10) holds logits,
    trained with softmax cross-entropy, L = -log softmax(z)_y, by SGD (lr 0.01, momentum 0.9, batch 32)
    for `epochs` epochs on the first n_train training images (None: all 4000), of which the last 10% are
    held out to watch for overfitting (val_loss, val_accuracy). The 1000 test images are used once, at the
    end: choosing epochs or a learning rate by them would make the test score an optimistic one. Returns
    model.evaluate on the test images: {"loss": ..., "accuracy": ...}."""
    (x_train, y_train), (x_test, y_test) = nnc.datasets.load_sample()
    x_train, y_train = x_train[:n_train].astype(np.float32) / 255.0, y_train[:n_train]   # (N, 28, 28) in [0, 1]
    x_test = x_test.astype(np.float32) / 255.0
    model = nnc.Sequential([
        Flatten(input_shape=(28, 28)),  # (N, 28, 28) -> (N, 784)
        Dense(256, activation="relu", kernel_initializer="he_uniform"),
        Dense(128, activation="relu", kernel_initializer="he_uniform"),
        Dense(10),  # logits; the loss applies the softmax (fused and numerically stable)
    ], seed=seed)
    model.compile(optimizer=nnc.optim.SGD(lr=0.01, momentum=0.9), loss="softmax_cross_entropy", metrics=["accuracy"])
    model.summary()
    t0 = time.perf_counter()
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, validation_split=0.1, verbose=2)
    result = model.evaluate(x_test, y_test)
    print(f"MLP test accuracy {result['accuracy']:.3f} (loss {result['loss']:.3f}) "
          f"after {epochs} epochs in {time.perf_counter() - t0:.1f}s")
    return result


def main(argv=None):
    """`python -m nnc.demo [--quick] [--reference] [--epochs 10] [--seed 0]`: the configuration,
    then both parts. --quick trains 1 epoch on 512 images; returns mlp_demo's result."""
    ap = argparse.ArgumentParser(prog="python -m nnc.demo", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few batches only (smoke test)")
    ap.add_argument("--reference", action="store_true", help="use the pure-Python reference kernels")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.reference:
        nnc.use("reference")
    nnc.show_config()
    print()
    perceptron_demo(args.seed)
    print()
    epochs, n_train = (1, 512) if args.quick else (args.epochs, None)
    return mlp_demo(args.seed, epochs, n_train)


if __name__ == "__main__":
    main()
