"""Freezing layers and transfer learning
======================================

Lecture item 24 and the question "can one backpropagate through only part of the network?". A
network learns task A (Fashion-MNIST's even classes: T-shirt, pullover, coat, shirt, bag) on
plenty of images. For task B (the odd classes: trouser, dress, sandal, sneaker, ankle boot) with
only 200 images, its hidden layers are reused: ``layer.trainable = False`` freezes them (the gradients
still flow through them, the optimizer leaves them alone; the script checks that they did not
change), a new head is trained, and then everything is fine-tuned with a small learning rate.
Against the same network trained from scratch on the 200 images. On this small MLP and these
tasks the honest result is that the frozen features alone (645 trained parameters) fall short of
training everything from scratch, and fine-tuning closes most of the gap: transfer pays when the
new task has far fewer images or the network is far larger (the printed table says how it went).

    python examples/freezing.py [--quick] [--full] [--out DIR]
"""

import numpy as np

import nnc
import nnc.plot
from nnc.gallery import load_images, options, save, table
from nnc.layers import Dense


def body():
    return [Dense(256, activation="relu", input_shape=(784,), name="hidden1"),
            Dense(128, activation="relu", name="hidden2")]


def split(x, y, classes):
    keep = np.isin(y, classes)
    return x[keep], np.searchsorted(classes, y[keep]).astype(np.int64)     # relabelled 0..4


def main(argv=None):
    args = options("freezing", "freezing layers, transfer learning", argv, full=True)
    (x, y), (xt, yt) = load_images(args.full)[0]
    xa, ya = split(x, y, [0, 2, 4, 6, 8])
    xb, yb = split(x, y, [1, 3, 5, 7, 9])
    xbt, ybt = split(xt, yt, [1, 3, 5, 7, 9])
    n_b = 200
    xb, yb = xb[:n_b], yb[:n_b]
    ep_a, ep_b = (2, 5) if args.quick else (10, 30)
    if args.quick:
        xa, ya = xa[:600], ya[:600]

    # Task A
    a = nnc.Sequential(body() + [Dense(5, name="head_a")], seed=0)
    a.compile(optimizer=nnc.optim.Adam(1e-3), loss="softmax_cross_entropy", metrics=["accuracy"])
    a.fit(xa, ya, epochs=ep_a, batch_size=64, verbose=0)
    print(f"task A (even classes, {len(xa)} images): training accuracy {a.evaluate(xa, ya)['accuracy']:.3f}")

    # Task B: the trained body, frozen, and a new head
    b = nnc.Sequential(body() + [Dense(5, name="head_b")], seed=1)
    b.build((784,))
    for src, dst in zip(a.layers[:2], b.layers[:2]):
        dst.set_weights(src.get_weights())
        dst.trainable = False
    before = [layer.params["W"].copy() for layer in b.layers[:2]]
    b.compile(optimizer=nnc.optim.Adam(1e-3), loss="softmax_cross_entropy", metrics=["accuracy"])
    h_head = b.fit(xb, yb, epochs=ep_b, batch_size=32, validation_data=(xbt, ybt), verbose=0)
    unchanged = all(np.array_equal(w, layer.params["W"]) for w, layer in zip(before, b.layers[:2]))
    head_acc = b.evaluate(xbt, ybt)["accuracy"]

    # Fine-tuning: unfreeze, a 10x smaller learning rate (compile again so the optimizer sees every layer)
    for layer in b.layers:
        layer.trainable = True
    b.compile(optimizer=nnc.optim.Adam(1e-4), loss="softmax_cross_entropy", metrics=["accuracy"])
    # epochs counted on from the head's (initial_epoch), so the curves continue where those stopped
    h_fine = b.fit(xb, yb, epochs=b.epoch + ep_b // 2, initial_epoch=b.epoch, batch_size=32,
                   validation_data=(xbt, ybt), verbose=0)
    fine_acc = b.evaluate(xbt, ybt)["accuracy"]

    # From scratch on the same 200 images
    s = nnc.Sequential(body() + [Dense(5, name="head_b")], seed=1)
    s.compile(optimizer=nnc.optim.Adam(1e-3), loss="softmax_cross_entropy", metrics=["accuracy"])
    h_scratch = s.fit(xb, yb, epochs=ep_b, batch_size=32, validation_data=(xbt, ybt), verbose=0)
    scratch_acc = s.evaluate(xbt, ybt)["accuracy"]

    n_frozen = sum(p.size for layer in b.layers[:2] for p in layer.params.values())
    print(f"task B (odd classes, {n_b} training images, {len(xbt)} test images):")
    table([("from scratch", f"{s.count_params():,}", scratch_acc),
           ("frozen body from task A + new head", f"{b.layers[2].params['W'].size + 5:,}", head_acc),
           ("... then fine-tuned (lr 1e-4)", f"{b.count_params():,}", fine_acc)],
          ["model", "trained parameters", "test accuracy"])
    print(f"frozen layers unchanged by training the head: {unchanged} ({n_frozen:,} parameters)")
    fig = nnc.plot.history({"from scratch": h_scratch, "frozen body + new head": h_head,
                            "fine-tuned after": h_fine}, metrics=["accuracy"], ncols=1)
    fig.set_size_inches(8, 4.5)
    fig.axes[0].set_title(f"task B, {n_b} training images: accuracy")
    save(fig, args.out, "freezing.png")
    return scratch_acc, head_acc, fine_acc, unchanged


if __name__ == "__main__":
    main()
