"""Datasets: synthetic sets, IDX loaders for (Fashion-)MNIST, and a small Fashion-MNIST sample in the package.

    make_blobs, make_linearly_separable, make_xor, make_spirals, make_moons   (synthetic, seeded)
    read_idx, load_fashion_mnist, load_mnist, FASHION_MNIST_CLASSES          (IDX files on disk)
    load_sample                                                               (ships with nnc, no download)

The built-in sample (fashion_sample.npz, ~2 MB) holds 4000 training images (400 per class) drawn
with a fixed seed from the Fashion-MNIST training set and 1000 test images (100 per class) from its
test set, as uint8. Fashion-MNIST is by Han Xiao, Kashif Rasul and Roland Vollgraf, Zalando Research
(2017), https://github.com/zalandoresearch/fashion-mnist, released under the MIT license
(Copyright (c) 2017 Zalando SE). `python -m nnc.datasets.make_sample` rebuilds the file from the
full data set.
"""
import os

import numpy as np

from .idx import FASHION_MNIST_CLASSES, load_fashion_mnist, load_mnist, read_idx, _finish
from .synthetic import make_blobs, make_linearly_separable, make_moons, make_spirals, make_xor

__all__ = ["make_blobs", "make_linearly_separable", "make_xor", "make_spirals", "make_moons",
           "read_idx", "load_fashion_mnist", "load_mnist", "load_sample", "FASHION_MNIST_CLASSES"]

SAMPLE_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fashion_sample.npz")


def load_sample(normalize=False, layout="NHW"):
    """The built-in Fashion-MNIST sample -> ((x_train, y_train), (x_test, y_test)).

    x_train (4000, 28, 28) and x_test (1000, 28, 28) uint8 (or float32 in [0, 1] with
    normalize=True; layout "NCHW" -> (N, 1, 28, 28), "flat" -> (N, 784)); y int64 labels 0..9,
    class-balanced (400 / 100 per class), in a shuffled order. Same options as load_fashion_mnist.
    """
    # allow_pickle=False: an .npz that asked for pickle would be able to run code on load.
    with np.load(SAMPLE_FILE, allow_pickle=False) as f:
        arrays = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    return (_finish(arrays["x_train"], arrays["y_train"], normalize, layout),
            _finish(arrays["x_test"], arrays["y_test"], normalize, layout))
