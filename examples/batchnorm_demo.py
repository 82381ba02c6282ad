"""Batch normalization rescues training that fails without it.

The model of the course material (Keras):

    Dense(256, use_bias=False) -> BatchNormalization -> ReLU
    Dense(128, use_bias=False) -> BatchNormalization -> ReLU
    Dense(64,  use_bias=False) -> BatchNormalization -> ReLU
    Dense(10, activation="softmax")

built with nnc, against the same network without batch norm (with biases instead), in two bad
situations: a learning rate far too large, and an initialization far too small. The softmax of
the output layer is fused into the loss ("softmax_cross_entropy" on the logits), which is the
numerically stable way to write Dense(10, activation="softmax") + cross-entropy.

    python examples/batchnorm_demo.py [--epochs 5]
"""
import argparse
import warnings

import numpy as np

import nnc
from nnc.initializers import Normal
from nnc.layers import BatchNormalization, Dense, ReLU


def sample_data():
    """The built-in Fashion-MNIST sample, flattened to (N, 784) and scaled to [0, 1]."""
    (x, y), (xt, yt) = nnc.datasets.load_sample(normalize=True, layout="flat")
    return (x, y), (xt, yt)


def build(batchnorm, init, seed=0):
    layers = [nnc.layers.Input((784,))]
    for units in (256, 128, 64):
        layers.append(Dense(units, use_bias=not batchnorm, kernel_initializer=init))
        if batchnorm:
            layers.append(BatchNormalization())
        layers.append(ReLU())
    layers.append(Dense(10, kernel_initializer=init))
    return nnc.Sequential(layers, seed=seed)


def run(title, batchnorm, init, lr, data, epochs):
    (x, y), (xt, yt) = data
    model = build(batchnorm, init)
    model.compile(optimizer=nnc.optim.SGD(lr), loss="softmax_cross_entropy", metrics=["accuracy"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # overflow in the failing runs is the point
        model.fit(x, y, epochs=epochs, batch_size=64, verbose=0)
        accuracy = model.evaluate(xt, yt)["accuracy"]
    finite = all(np.isfinite(p).all() for lyr in model.layers for p in lyr.params.values())
    note = "" if finite else "  (weights overflowed to NaN/inf)"
    print(f"  {title:<36s} {'with   ' if batchnorm else 'without'} batch norm: test accuracy {accuracy:.3f}{note}")
    return accuracy


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    data = sample_data()
    print("The course model on the built-in Fashion-MNIST sample (4000 train / 1000 test), chance = 0.10")
    results = {}
    for title, init, lr in [("sensible: glorot init, lr 0.01", "glorot_uniform", 0.01),
                            ("learning rate 1.0 (100x too large)", "glorot_uniform", 1.0),
                            # lr 0.1: at 0.01 neither model leaves chance level within 5 epochs
                            ("init N(0, 0.001^2), lr 0.1", Normal(0.0, 1e-3), 0.1)]:
        for bn in (True, False):
            results[title, bn] = run(title, bn, init, lr, data, args.epochs)
    return results


if __name__ == "__main__":
    main()
