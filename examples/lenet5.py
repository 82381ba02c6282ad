"""LeNet-5 on Fashion-MNIST (NCHW), the classic small convnet:

    conv 5x5, 6 ch, pad 2 -> ReLU -> maxpool 2 -> conv 5x5, 16 ch -> ReLU -> maxpool 2
    -> Flatten -> Dense 120 -> ReLU -> Dense 84 -> ReLU -> Dense 10 (logits, softmax cross-entropy)

Uses the full Fashion-MNIST when its files are installed (Debian package dataset-fashion-mnist, or
$NNC_DATA), the built-in 4000/1000 sample otherwise. Prints loss/accuracy and time per epoch
(training loss/accuracy, then val_* = on the test images).

    python examples/lenet5.py                  # native kernels
    python examples/lenet5.py --reference      # pure-Python kernels: slow, so 8 batches per epoch
    python examples/lenet5.py --epochs 2 --train 2000 --threads 2
"""
import argparse

import nnc
from nnc.layers import Conv2D, Dense, Flatten, MaxPool2D


def lenet5(seed=0):
    return nnc.Sequential([
        Conv2D(6, 5, padding=2, activation="relu", kernel_initializer="he_uniform", input_shape=(1, 28, 28)),
        MaxPool2D(2),
        Conv2D(16, 5, activation="relu", kernel_initializer="he_uniform"),
        MaxPool2D(2),
        Flatten(),
        Dense(120, activation="relu", kernel_initializer="he_uniform"),
        Dense(84, activation="relu", kernel_initializer="he_uniform"),
        Dense(10),
    ], seed=seed)


def load(n_train, n_test):
    try:
        (x_tr, y_tr), (x_te, y_te) = nnc.datasets.load_fashion_mnist(normalize=True, layout="NCHW")
        source = "Fashion-MNIST"
    except (FileNotFoundError, OSError):
        (x_tr, y_tr), (x_te, y_te) = nnc.datasets.load_sample(normalize=True, layout="NCHW")
        source = "built-in Fashion-MNIST sample"
    return source, (x_tr[:n_train], y_tr[:n_train]), (x_te[:n_test], y_te[:n_test])


def main(argv=None):
    ap = argparse.ArgumentParser(description="LeNet-5 on Fashion-MNIST")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--train", type=int, default=None, help="training images to use (default: all)")
    ap.add_argument("--test", type=int, default=None, help="test images to use (default: all)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--reference", action="store_true", help="pure-Python kernels (default: 8 batches per epoch)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.reference:
        nnc.use("reference")
        args.train = args.train or 8 * args.batch_size
        args.test = args.test or 256
    if args.threads is not None:
        nnc.set_num_threads(args.threads)
    source, (x_train, y_train), (x_test, y_test) = load(args.train, args.test)
    print(f"{source}: {len(x_train)} train / {len(x_test)} test images, backend {nnc.backend.name()}, "
          f"{nnc.get_num_threads()} threads")
    model = lenet5(args.seed)
    model.compile(optimizer=nnc.optim.SGD(lr=args.lr, momentum=args.momentum), loss="softmax_cross_entropy",
                  metrics=["accuracy"])
    model.summary()
    # verbose=2: one line per epoch with its time, training loss/accuracy and test loss/accuracy
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
              validation_data=(x_test, y_test), verbose=2)
    return model


if __name__ == "__main__":
    main()
