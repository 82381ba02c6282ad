"""An optimizer race: 2-D surfaces and Fashion-MNIST
==================================================

Lecture item 13. SGD, momentum, Nesterov, AdaGrad, RMSprop, AdaDelta, Adam and AdamW, the real nnc
optimizers (``nnc.optim.trajectory.minimize`` binds each to a bare 2-D point), on four surfaces:
Beale's function (plateaus and steep walls), Rosenbrock's banana (a long curved valley), a saddle
point (x^2 - y^2) and an ill-conditioned bowl (curvatures 1 and 20, where plain SGD zig-zags).
Then the same optimizers train one MLP on the Fashion-MNIST sample for a few epochs: validation
accuracy curves. The plain-SGD learning rates are scaled per surface (their steps are gradient
times lr, and the surfaces' gradients differ by orders of magnitude); the adaptive ones are not.

    python examples/optimizers.py [--quick] [--full] [--out DIR]
"""
import warnings

import numpy as np

import nnc
import nnc.plot
from nnc.gallery import load_images, options, save, table
from nnc.layers import Dense
from nnc.optim.trajectory import SURFACES, minimize


# %%
# The contestants
# ---------------
def contestants(sgd_scale=1.0):
    o = nnc.optim
    return {"SGD": o.SGD(lr=1e-3 * sgd_scale), "momentum": o.SGD(lr=1e-3 * sgd_scale, momentum=0.9),
            "Nesterov": o.SGD(lr=1e-3 * sgd_scale, momentum=0.9, nesterov=True),
            "AdaGrad": o.AdaGrad(lr=0.3), "RMSprop": o.RMSprop(lr=0.01), "AdaDelta": o.AdaDelta(lr=1.0),
            "Adam": o.Adam(lr=0.05), "AdamW": o.AdamW(lr=0.05, weight_decay=0.01)}


SGD_SCALE = {"beale": 1, "rosenbrock": 1, "saddle": 30, "bowl": 30}


# %%
# The paths on each surface
# -------------------------
def surfaces(out, steps):
    rows = []
    for name, s in SURFACES.items():
        paths = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)     # a path that leaves the view is shown as it is
            for label, opt in contestants(SGD_SCALE[name]).items():
                paths[label] = minimize(s.f, s.start, opt, steps)
        ax = nnc.plot.trajectories(s.f, paths, minimum=s.minimum, xlim=s.xlim, ylim=s.ylim)
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1))
        ax.set_title(f"{name}: {steps} steps from {s.start}")
        save(ax, out, f"optimizers_{name}.png")
        ends = {k: p[np.isfinite(p).all(axis=1)][-1] for k, p in paths.items()}
        rows.append([name] + [f"{float(s.f(e)[0]):.3g}" for e in ends.values()])
    print(f"loss f(w) after {steps} steps (saddle: more negative = escaped further):")
    table(rows, ["surface"] + list(contestants()))
    return rows


# %%
# The same optimizers on images
# -----------------------------
# An MLP 784-128-10 from the same initial weights (seed 0) for each optimizer, with rates usual
# for a network (Keras' defaults for the adaptive ones).
def on_images(out, full, quick):
    (x, y), (xt, yt) = load_images(full)[0]
    if quick:
        x, y, xt, yt = x[:1000], y[:1000], xt[:500], yt[:500]
    epochs = 2 if quick else 5
    o = nnc.optim
    opts = {"SGD": o.SGD(0.05), "momentum": o.SGD(0.05, momentum=0.9),
            "Nesterov": o.SGD(0.05, momentum=0.9, nesterov=True), "AdaGrad": o.AdaGrad(0.05),
            "RMSprop": o.RMSprop(1e-3), "AdaDelta": o.AdaDelta(1.0), "Adam": o.Adam(1e-3),
            "AdamW": o.AdamW(1e-3, weight_decay=0.01)}
    runs, rows = {}, []
    for label, opt in opts.items():
        m = nnc.Sequential([Dense(128, activation="relu", input_shape=(784,)), Dense(10)], seed=0)
        m.compile(optimizer=opt, loss="softmax_cross_entropy", metrics=["accuracy"])
        runs[label] = m.fit(x, y, epochs=epochs, batch_size=64, validation_data=(xt, yt), verbose=0)
        rows.append((label, runs[label].history["val_accuracy"][-1]))
    print(f"\nMLP 784-128-10, {len(x)} training images, {epochs} epochs: test accuracy")
    table(rows, ["optimizer", "val_accuracy"])
    fig = nnc.plot.history(runs, metrics=["loss", "accuracy"], ncols=2)
    # eight runs: one legend, beside the panels rather than over the curves
    fig.set_size_inches(12, 4.2)
    leg = fig.axes[-1].get_legend()
    handles = getattr(leg, "legend_handles", None) or leg.legendHandles
    labels = [t.get_text() for t in leg.get_texts()]
    for ax in fig.axes:
        ax.get_legend().remove()
    fig.axes[-1].legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1), fontsize="small")
    fig.suptitle("the optimizers on the Fashion-MNIST sample (solid: train, dashed: validation)")
    save(fig, out, "optimizers_fashion.png")
    return dict(rows)


def main(argv=None):
    args = options("optimizers", "optimizers on 2-D surfaces and on Fashion-MNIST", argv, full=True)
    surfaces(args.out, 150 if args.quick else 400)
    return on_images(args.out, args.full, args.quick)


if __name__ == "__main__":
    main()
