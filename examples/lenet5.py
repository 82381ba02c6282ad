"""LeNet-5: the 1998 form and the modern form
===========================================

Lecture items 22 and 23. LeNet-5 (LeCun et al. 1998) on Fashion-MNIST images (NCHW):

    conv 5x5, 6 ch -> act -> pool 2 -> conv 5x5, 16 ch -> act -> pool 2
    -> Flatten -> Dense 120 -> act -> Dense 84 -> act -> Dense 10 (logits, softmax cross-entropy)

The 1998 form uses tanh and average pooling, and has 61,706 parameters on 32x32 inputs; on 28x28
inputs the first convolution pads by 2, which keeps every shape and the same 61,706 parameters
(the script builds both and counts). The modern form uses ReLU and max pooling. Both are trained
on the built-in sample (``--full``: all of Fashion-MNIST when installed); then the first layer's
filters and the feature maps of one test image after conv1, act1, pool1, conv2, act2.

    python examples/lenet5.py [--quick] [--full] [--out DIR]
    python examples/lenet5.py --reference      # pure-Python kernels: slow, so 8 batches per epoch
    python examples/lenet5.py --epochs 2 --threads 2
"""
import time

import nnc
import nnc.plot
from nnc.gallery import load_images, options, save, table
from nnc.layers import Activation, AvgPool2D, Conv2D, Dense, Flatten, MaxPool2D


# %%
# The two forms
# -------------
# Each activation is its own layer, so nnc.plot.feature_maps can show the maps before and after it.
def lenet5(modern=False, input_size=28, seed=0):
    act, Pool = ("relu", MaxPool2D) if modern else ("tanh", AvgPool2D)
    init = "he_uniform" if modern else "glorot_uniform"
    return nnc.Sequential([
        Conv2D(6, 5, padding=2 if input_size == 28 else 0, kernel_initializer=init,
               input_shape=(1, input_size, input_size), name="conv1"),
        Activation(act, name="act1"), Pool(2, name="pool1"),
        Conv2D(16, 5, kernel_initializer=init, name="conv2"), Activation(act, name="act2"), Pool(2, name="pool2"),
        Flatten(name="flatten"),
        Dense(120, activation=act, kernel_initializer=init, name="fc1"),
        Dense(84, activation=act, kernel_initializer=init, name="fc2"),
        Dense(10, name="logits"),
    ], seed=seed)


def count():
    rows = []
    for size in (32, 28):
        m = lenet5(input_size=size)
        m.build((1, size, size))
        rows.append((f"{size}x{size}" + (" (conv1 padding 2)" if size == 28 else ""), f"{m.count_params():,}"))
    table(rows, ["input", "parameters"])
    return [int(r[1].replace(",", "")) for r in rows]


def extra(ap):
    ap.add_argument("--epochs", type=int, default=None, help="epochs (default 5; 1 with --quick)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--reference", action="store_true", help="pure-Python kernels (8 batches per epoch)")


def main(argv=None):
    args = options("lenet5", "LeNet-5, 1998 and modern", argv, full=True, extra=extra)
    if args.reference:
        nnc.use("reference")
    if args.threads is not None:
        nnc.set_num_threads(args.threads)
    print("LeNet-5's parameters:")
    counts = count()
    (x, y), (xt, yt) = load_images(args.full, layout="NCHW")[0]
    epochs = args.epochs or (1 if args.quick else 5)
    if args.quick or args.reference:
        x, y, xt, yt = x[:512], y[:512], xt[:256], yt[:256]
    print(f"\n{len(x)} training / {len(xt)} test images, backend {nnc.backend.name()}, "
          f"{nnc.get_num_threads()} threads, {epochs} epochs of SGD(0.05, momentum 0.9), batch 64")
    rows, models = [], {}
    for name, modern in (("1998: tanh, average pooling", False), ("modern: ReLU, max pooling", True)):
        m = lenet5(modern)
        m.compile(optimizer=nnc.optim.SGD(0.05, momentum=0.9), loss="softmax_cross_entropy", metrics=["accuracy"])
        t0 = time.perf_counter()
        h = m.fit(x, y, epochs=epochs, batch_size=64, validation_data=(xt, yt), verbose=0)
        rows.append((name, h.history["accuracy"][-1], h.history["val_accuracy"][-1],
                     f"{(time.perf_counter() - t0) / epochs:.1f} s"))
        models[modern] = m
    table(rows, ["LeNet-5", "train acc", "test acc", "time per epoch"])

    # What the modern network learned: conv1's filters and one image's feature maps
    m = models[True]
    ax = nnc.plot.filters(m.get_layer("conv1"))
    ax.set_title("conv1 of the modern LeNet-5: 6 filters 5x5", fontsize="medium")
    save(ax, args.out, "lenet5_filters.png")
    fig = nnc.plot.feature_maps(m, xt[0], layers=["conv1", "act1", "pool1", "conv2", "act2"], max_maps=6)
    fig.suptitle(f"feature maps of one test image ({nnc.datasets.FASHION_MNIST_CLASSES[yt[0]]})")
    save(fig, args.out, "lenet5_feature_maps.png")
    return counts, rows


if __name__ == "__main__":
    main()
