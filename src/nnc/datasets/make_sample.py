"""Rebuild nnc/datasets/fashion_sample.npz, the small Fashion-MNIST sample that ships with nnc.

    python -m nnc.datasets.make_sample [--source FOLDER] [--seed 0] [--out PATH]

Picks, with a fixed seed, 400 training images per class from the Fashion-MNIST training set and
100 test images per class from its test set, shuffles each part, and stores them as uint8 with
np.savez_compressed (keys x_train, y_train, x_test, y_test, plus train_index / test_index: the
positions of the chosen images in the original files, so the selection can be checked).
The source folder is found like nnc.datasets.load_fashion_mnist finds it (--source, $NNC_DATA,
or the Debian package dataset-fashion-mnist). Fashion-MNIST: Zalando Research, MIT license.
The arrays are identical for the same seed and source; the zip container's timestamps are not.
"""
import argparse
import os

import numpy as np

from .idx import load_fashion_mnist

HERE = os.path.dirname(os.path.abspath(__file__))


def balanced_pick(y, per_class, rng):
    """Indices of `per_class` samples of every class, drawn without replacement, in a shuffled order."""
    picked = [rng.choice(np.flatnonzero(y == c), size=per_class, replace=False) for c in np.unique(y)]
    return rng.permutation(np.concatenate(picked))


def main(argv=None):
    """The command line (see the module docstring): writes the .npz to --out and prints its size."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default=None, help="folder with the four Fashion-MNIST IDX files")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train-per-class", type=int, default=400)
    ap.add_argument("--test-per-class", type=int, default=100)
    ap.add_argument("--out", default=os.path.join(HERE, "fashion_sample.npz"))
    args = ap.parse_args(argv)

    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(args.source)
    rng = np.random.default_rng(args.seed)
    train_index = balanced_pick(y_train, args.train_per_class, rng)
    test_index = balanced_pick(y_test, args.test_per_class, rng)
    np.savez_compressed(
        args.out,
        x_train=x_train[train_index].astype(np.uint8), y_train=y_train[train_index].astype(np.uint8),
        x_test=x_test[test_index].astype(np.uint8), y_test=y_test[test_index].astype(np.uint8),
        train_index=train_index.astype(np.int32), test_index=test_index.astype(np.int32))
    print(f"wrote {args.out}: {len(train_index)} train + {len(test_index)} test images, "
          f"{os.path.getsize(args.out) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
