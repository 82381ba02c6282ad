"""Learning rates: too small, right, too large; schedules
======================================================

Lecture items 12 and 14. One MLP (784-128-64-10, ReLU) trained by plain SGD on the Fashion-MNIST
sample with three learning rates: too small (the loss barely moves), right, and too large (the
loss blows up, or every ReLU of a layer dies: its output is 0 for every image, no gradient passes
and the network predicts one class). Then the schedules of ``nnc.optim.schedules`` (StepDecay,
ExponentialDecay, CosineDecay, WarmUp before a cosine), drawn against the step and each used as
the learning rate of the same model.

    python examples/learning_rates.py [--quick] [--full] [--out DIR]
"""
import warnings

import numpy as np

import nnc
import nnc.plot
from nnc.gallery import load_images, options, plt, save, table
from nnc.layers import Dense, ReLU
from nnc.optim import schedules


def mlp():
    return nnc.Sequential([Dense(128, input_shape=(784,)), ReLU(name="relu1"), Dense(64), ReLU(name="relu2"),
                           Dense(10)], seed=0)


def dead_fraction(model, x):
    """The fraction of ReLU units that output 0 for every image of x (dead units), per ReLU layer."""
    out, dead = x, []
    for layer in model.layers:
        out = layer.forward(out, training=False)
        if isinstance(layer, ReLU):
            dead.append(float(np.mean(np.all(out == 0, axis=0))))
    return dead


def train(opt, data, epochs):
    (x, y), (xt, yt) = data
    m = mlp()
    m.compile(optimizer=opt, loss="softmax_cross_entropy", metrics=["accuracy"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # the too-large rate's overflow and dead-network warnings are the point
        h = m.fit(x, y, epochs=epochs, batch_size=64, validation_data=(xt, yt), verbose=0)
        dead = dead_fraction(m, xt)
    return m, h, dead


# %%
# Three constant rates
# --------------------
def constant_rates(out, data, epochs):
    runs, rows = {}, []
    for label, lr in (("too small", 1e-4), ("right", 0.05), ("too large", 2.0)):
        m, h, dead = train(nnc.optim.SGD(lr), data, epochs)
        key = f"lr={lr:g} ({label})"
        runs[key] = h
        loss = h.history["loss"]
        rows.append((key, loss[0], loss[-1], h.history["val_accuracy"][-1], f"{dead[0]:.2f} / {dead[1]:.2f}"))
    print("plain SGD, batch 64:")
    table(rows, ["learning rate", "loss epoch 1", "loss last", "val_accuracy", "dead ReLUs layer 1 / 2"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = nnc.plot.history(runs, metrics=["loss", "accuracy"], ncols=2)
    ax = fig.axes[0]
    top = max(v[0] for v in (r.history["loss"] for r in runs.values()))
    if top > 5:      # a diverged first epoch would flatten every other curve
        ax.set_ylim(0, 3.5)
        ax.text(0.5, 0.97, f"too large: epoch-1 loss {top:.3g}, off the chart", transform=ax.transAxes,
                ha="center", va="top", fontsize="small")
    fig.suptitle("learning rate too small, right, too large")
    save(fig, out, "learning_rates.png")
    return rows


# %%
# Schedules
# ---------
# Each schedule is called with the optimizer's update count before every step.
def schedule_runs(out, data, epochs):
    steps_per_epoch = -(-len(data[0][0]) // 64)
    T = epochs * steps_per_epoch
    made = {
        "constant 0.1": None,
        "StepDecay(0.1, T/3, 0.3)": schedules.StepDecay(0.1, step_size=max(1, T // 3), gamma=0.3),
        "ExponentialDecay(0.1, T, 0.05)": schedules.ExponentialDecay(0.1, decay_steps=T, decay_rate=0.05),
        "CosineDecay(0.1, T)": schedules.CosineDecay(0.1, decay_steps=T),
        "WarmUp(T/10) + CosineDecay": schedules.WarmUp(schedules.CosineDecay(0.1, decay_steps=T - T // 10),
                                                       warmup_steps=max(1, T // 10)),
    }
    fig, (a, c) = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
    rows = []
    t = np.arange(T)
    for i, (label, s) in enumerate(made.items()):
        a.plot(t, [0.1] * T if s is None else [s(k) for k in t], color=f"C{i}", lw=2, label=label)
        m, h, _ = train(nnc.optim.SGD(0.1 if s is None else s), data, epochs)
        c.plot(np.arange(1, epochs + 1), h.history["val_loss"], "o-", color=f"C{i}", ms=3, label=label)
        rows.append((label, h.history["loss"][-1], h.history["val_loss"][-1], h.history["val_accuracy"][-1]))
    a.set_xlabel("step (optimizer updates)")
    a.set_ylabel("learning rate")
    a.set_title(f"schedules over {T} steps ({epochs} epochs)")
    a.legend(fontsize="small")
    c.set_xlabel("epoch")
    c.set_ylabel("validation loss")
    c.set_title("the same MLP with each schedule (SGD)")
    c.legend(fontsize="small")
    for ax in (a, c):
        ax.grid(alpha=0.3)
    save(fig, out, "schedules.png")
    print("\nSGD with a learning-rate schedule:")
    table(rows, ["schedule", "loss last", "val_loss last", "val_accuracy"])
    return rows


def main(argv=None):
    args = options("learning_rates", "learning rates and schedules", argv, full=True)
    (x, y), (xt, yt) = load_images(args.full)[0]
    if args.quick:
        x, y, xt, yt = x[:1000], y[:1000], xt[:500], yt[:500]
    data = (x, y), (xt, yt)
    epochs = 3 if args.quick else 10
    rates = constant_rates(args.out, data, epochs)
    sched = schedule_runs(args.out, data, epochs)
    return rates, sched


if __name__ == "__main__":
    main()
