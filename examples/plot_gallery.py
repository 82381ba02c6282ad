"""Every nnc.plot figure on small data, written as PNG files (needs matplotlib: pip install "nnc[plot]").

    python examples/plot_gallery.py                   # into gallery/
    python examples/plot_gallery.py --out figs --quick  # fewer epochs and images, no GIF: under 30 s

The figures follow the course: training curves and decision regions on moons and spirals, the
perceptron line -x1 + 4 x2 + 0.4 = 0 and the 3-class linear classifier, a perceptron failing on XOR,
activations and their derivatives, optimizers' paths on 2-D surfaces (and an animated GIF of them
on the saddle), per-layer gradient norms of
deep sigmoid and ReLU networks, weight histograms, the filters and feature maps of a small convnet
on the built-in Fashion-MNIST sample, and its confusion matrix.
"""
import argparse
import os
import time
import warnings

import matplotlib

matplotlib.use("Agg")   # the script only writes files; nnc.plot itself never picks a backend
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import nnc  # noqa: E402
import nnc.plot  # noqa: E402
from nnc.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU  # noqa: E402
from nnc.optim.trajectory import SURFACES, minimize  # noqa: E402


def save(fig, out, name):
    path = os.path.join(out, name)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print("wrote", path)


def mlp(hidden, activation, seed=0, n_out=2):
    layers = [Dense(h, activation=activation, input_shape=(2,) if i == 0 else None) for i, h in enumerate(hidden)]
    return nnc.Sequential(layers + [Dense(n_out)], seed=seed)


def classifiers(out, epochs):
    X, y = nnc.datasets.make_moons(300, noise=0.25, seed=0)
    X_tr, y_tr, X_te, y_te = X[:240], y[:240], X[240:], y[240:]
    model = mlp([32, 32], "relu")
    model.compile(optimizer=nnc.optim.Adam(lr=0.01), loss="softmax_cross_entropy", metrics=["accuracy"])
    h = model.fit(X_tr, y_tr, epochs=epochs, batch_size=32, validation_data=(X_te, y_te), verbose=0)
    save(nnc.plot.history(h), out, "history.png")
    runs = {}
    for lr in (1e-4, 1e-2, 3.0):     # too small, right, too large (lecture: learning rates)
        m = mlp([32, 32], "relu")
        m.compile(optimizer=nnc.optim.SGD(lr=lr), loss="softmax_cross_entropy", metrics=["accuracy"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # the large rate's divergence is the point
            runs[f"lr={lr:g}"] = m.fit(X_tr, y_tr, epochs=epochs, batch_size=32, validation_data=(X_te, y_te),
                                       verbose=0)
    save(nnc.plot.history(runs), out, "history_learning_rates.png")
    ax = nnc.plot.decision_regions(model, X_tr, y_tr, X_test=X_te, y_test=y_te)
    ax.set_title("MLP 2-32-32-2 (ReLU) on moons")
    save(ax.figure, out, "decision_regions_moons.png")

    X, y = nnc.datasets.make_spirals(300, n_classes=3, noise=0.2, seed=0)
    model = mlp([64, 64], "tanh", n_out=3)
    model.compile(optimizer=nnc.optim.Adam(lr=0.01), loss="softmax_cross_entropy", metrics=["accuracy"])
    model.fit(X, y, epochs=10 * epochs, batch_size=32, verbose=0)
    ax = nnc.plot.decision_regions(model, X, y)
    ax.set_title("MLP 2-64-64-3 (tanh) on 3 spirals")
    save(ax.figure, out, "decision_regions_spirals.png")

    # The lecture's perceptron: z = -x1 + 4 x2 + 0.4; (2, 0.4) on the line, (1, 0.6) -> 1, (3, 0.4) -> 0.
    p = nnc.Perceptron.from_weights([-1, 4], 0.4)
    pts = np.array([[2, 0.4], [1, 0.6], [3, 0.4]])
    ax = nnc.plot.decision_regions(p, pts, p.predict(pts), boundaries=True, margin=1.0)
    for (a, b), z in zip(pts, p.decision_function(pts)):
        ax.annotate(f"z = {z:.1f}", (a, b), xytext=(6, 6), textcoords="offset points", fontsize="small")
    ax.set_title("perceptron: step(-x1 + 4 x2 + 0.4)")
    save(ax.figure, out, "perceptron_line.png")

    # The 3-class linear classifier: scores s = W x + b, lines w_k . x + b_k = 0.
    W = np.array([[1.12, 0.84], [-0.95, 0.30], [0.35, -1.44]])
    b = np.array([0.06, 0.30, 0.35])
    X = np.array([(0.5, 0.4), (0.8, 0.3), (0.3, 0.8), (-0.4, 0.3), (-0.3, 0.7), (-0.7, 0.2),
                  (0.7, -0.4), (0.8, -1.15), (-0.4, -0.5)])
    y = np.repeat([0, 1, 2], 3)
    fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    nnc.plot.decision_regions(lambda x: x @ W.T + b, X, y, margin=0.8, ax=ax)
    nnc.plot.linear_boundaries(W, b, ax=ax)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1))   # beside the plot: 9 points only
    ax.set_title("linear classifier: argmax of s = W x + b")
    save(ax.figure, out, "linear_classifier.png")

    # XOR: the perceptron cannot, one hidden layer can.
    X, y = nnc.datasets.make_xor(200, noise=0.2, seed=0)
    fig, (a, c) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    per = nnc.Perceptron(max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # the ConvergenceWarning is the point of this slide
        per.fit(X, y)
    nnc.plot.decision_regions(per, X, y, ax=a, boundaries=True)
    a.set_title(f"perceptron on XOR: accuracy {per.score(X, y):.2f}")
    model = mlp([8], "tanh")
    model.compile(optimizer=nnc.optim.Adam(lr=0.05), loss="softmax_cross_entropy", metrics=["accuracy"])
    model.fit(X, y, epochs=2 * epochs, batch_size=16, verbose=0)
    nnc.plot.decision_regions(model, X, y, ax=c)
    c.set_title(f"MLP 2-8-2 on XOR: accuracy {model.evaluate(X, y)['accuracy']:.2f}")
    save(fig, out, "xor.png")


def activations(out):
    fig = nnc.plot.activations(["sigmoid", "tanh", "relu", "leaky_relu", "elu", "step"])
    save(fig, out, "activations.png")


def optimizers(out, steps, animate):
    def make():
        return {"SGD": nnc.optim.SGD(lr=1e-3), "momentum": nnc.optim.SGD(lr=1e-3, momentum=0.9),
                "Nesterov": nnc.optim.SGD(lr=1e-3, momentum=0.9, nesterov=True),
                "AdaGrad": nnc.optim.AdaGrad(lr=0.3), "RMSprop": nnc.optim.RMSprop(lr=0.01),
                "Adam": nnc.optim.Adam(lr=0.05)}
    lrs = {"bowl": 30, "saddle": 30, "rosenbrock": 1, "beale": 1}   # lr multipliers of the plain SGDs
    for name, s in SURFACES.items():
        paths = {}
        for label, opt in make().items():
            if isinstance(opt, nnc.optim.SGD):
                opt.lr *= lrs[name]
            paths[label] = minimize(s.f, s.start, opt, steps)
        ax = nnc.plot.trajectories(s.f, paths, minimum=s.minimum, xlim=s.xlim, ylim=s.ylim)
        ax.set_title(f"{name}: {steps} steps from {s.start}")
        save(ax.figure, out, f"optimizers_{name}.png")
        if name == "saddle" and animate:
            anim = nnc.plot.animate_trajectories(s.f, paths, every=max(1, steps // 60), xlim=s.xlim, ylim=s.ylim)
            anim.save(os.path.join(out, "optimizers_saddle.gif"), writer="pillow", dpi=60)
            plt.close("all")
            print("wrote", os.path.join(out, "optimizers_saddle.gif"))


def gradients(out, epochs):
    X, y = nnc.datasets.make_spirals(300, n_classes=2, noise=0.2, seed=1)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained", sharey=True)
    deep = {}
    for ax, act in zip(axes, ["sigmoid", "relu"]):
        model = mlp([32] * 6, act, seed=0)
        model.compile(optimizer=nnc.optim.SGD(lr=0.1), loss="softmax_cross_entropy")
        stats = nnc.callbacks.LayerStatsLogger()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # "not learning": the deep sigmoid network's gradients vanish
            model.fit(X, y, epochs=epochs, batch_size=32, callbacks=[stats], verbose=0)
        nnc.plot.gradient_norms(stats, by="layer", ax=ax)
        ax.set_title(f"||dL/dW|| per layer, 6 hidden {act} layers")
        deep[act] = (model, stats)
    save(fig, out, "gradient_norms_by_layer.png")
    ax = nnc.plot.gradient_norms(deep["relu"][1])
    save(ax.figure, out, "gradient_norms_by_epoch.png")
    save(nnc.plot.histograms(deep["relu"][0]), out, "histograms.png")


def convnet(out, n_train, epochs):
    (x_tr, y_tr), (x_te, y_te) = nnc.datasets.load_sample(normalize=True, layout="NCHW")
    # conv -> ReLU -> pool as separate layers, so the feature maps after each can be shown (lecture item 22)
    model = nnc.Sequential([
        Conv2D(6, 5, padding=2, kernel_initializer="he_uniform", input_shape=(1, 28, 28), name="conv1"),
        ReLU(name="relu1"), MaxPool2D(2, name="pool1"),
        Conv2D(16, 5, kernel_initializer="he_uniform", name="conv2"), ReLU(name="relu2"), MaxPool2D(2, name="pool2"),
        Flatten(), Dense(10, name="logits")], seed=0)
    model.compile(optimizer=nnc.optim.Adam(lr=3e-3), loss="softmax_cross_entropy", metrics=["accuracy"])
    model.fit(x_tr[:n_train], y_tr[:n_train], epochs=epochs, batch_size=32, verbose=0)
    ax = nnc.plot.filters(model.get_layer("conv1"))
    ax.set_title("conv1: 6 filters 5x5 after training", fontsize="medium")
    save(ax.figure, out, "filters_conv1.png")
    save(nnc.plot.filters(model.get_layer("conv2")).figure, out, "filters_conv2.png")
    fig = nnc.plot.feature_maps(model, x_te[0], layers=["conv1", "relu1", "pool1", "conv2", "relu2"], max_maps=6)
    fig.suptitle(f"feature maps of one test image ({nnc.datasets.FASHION_MNIST_CLASSES[y_te[0]]})")
    save(fig, out, "feature_maps.png")
    pred = model.predict(x_te).argmax(axis=1)
    cm = nnc.metrics.confusion_matrix(y_te, pred, num_classes=10)
    ax = nnc.plot.confusion_matrix(cm, nnc.datasets.FASHION_MNIST_CLASSES)
    ax.set_title(f"small convnet, {n_train} training images: test accuracy {np.mean(pred == y_te):.2f}")
    save(ax.figure, out, "confusion_matrix.png")


def main(argv=None):
    ap = argparse.ArgumentParser(description="write every nnc.plot figure as a PNG")
    ap.add_argument("--out", default="gallery", help="folder for the PNG files (default: gallery/)")
    ap.add_argument("--quick", action="store_true", help="fewer epochs and images (under 30 s)")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.perf_counter()
    epochs = 10 if args.quick else 40
    classifiers(args.out, epochs)
    activations(args.out)
    optimizers(args.out, 150 if args.quick else 400, animate=not args.quick)
    gradients(args.out, 3 if args.quick else 10)
    convnet(args.out, 1000 if args.quick else 4000, 1 if args.quick else 4)
    print(f"done in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
