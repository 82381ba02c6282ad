"""Exploding gradients: a run that blows up, and clipping
======================================================

Lecture item 15 and the students' question "vanishing gradients have fixes in activations; what
about exploding gradients?". A 6-layer ReLU MLP initialized with weights too large (N(0, 0.25^2),
about 4x He's scale for 128 inputs) and SGD with momentum: the activations and gradients grow by
orders of magnitude within a few batches until they overflow. ``TerminateOnNaN`` stops the run at
the first non-finite tensor and names the layer and the tensor (and prints the gradient norms of
the last batches). The fix: clip the gradients (every nnc optimizer takes ``clipvalue``: each
entry to [-c, c]; ``clipnorm``: each tensor's norm to c; ``global_clipnorm``: the norm of all of
them together to c). Same model, same seed, same data: the clipped runs train.

    python examples/exploding_gradients.py [--quick] [--full] [--out DIR]
"""
import warnings

import nnc
import nnc.plot
from nnc.gallery import load_images, options, save, table
from nnc.layers import Dense


def model(clip):
    layers = [nnc.layers.Input((784,))]
    layers += [Dense(128, activation="relu", kernel_initializer=nnc.initializers.Normal(0.0, 0.25),
                     name=f"dense{i + 1}") for i in range(6)]
    m = nnc.Sequential(layers + [Dense(10, name="logits")], seed=0)
    m.compile(optimizer=nnc.optim.SGD(0.02, momentum=0.9, **clip), loss="softmax_cross_entropy",
              metrics=["accuracy"])
    return m


# %%
# The same run without and with clipping
# --------------------------------------
def runs(out, data, epochs):
    (x, y), (xt, yt) = data
    histories, rows, message = {}, [], None
    for label, clip in (("no clipping", {}), ("clipvalue=0.01", {"clipvalue": 0.01}),
                        ("clipnorm=1", {"clipnorm": 1.0}), ("global_clipnorm=1", {"global_clipnorm": 1.0})):
        m = model(clip)
        guard = nnc.callbacks.TerminateOnNaN()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)     # the guard's warning: printed below instead
            h = m.fit(x, y, epochs=epochs, batch_size=64, callbacks=[guard], validation_data=(xt, yt), verbose=0)
        if guard.message:
            message = guard.message
        stopped = f"stopped: epoch {guard.report['epoch'] + 1}, batch {guard.report['batch']}, " \
                  f"layer {guard.report['layer']}" if guard.report else "trained"
        histories[label] = h
        rows.append((label, stopped, h.history["loss"][-1], h.history["val_accuracy"][-1]))
    print("TerminateOnNaN on the run without clipping said:\n" + (message or "(nothing: no NaN this time)"))
    print(f"\n6 ReLU layers with N(0, 0.25^2) weights, SGD(0.02, momentum 0.9), {len(x)} images:")
    table(rows, ["run", "outcome", "loss last", "val_accuracy"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = nnc.plot.history(histories, metrics=["loss", "accuracy"], ncols=2)
    fig.axes[0].set_yscale("log")
    fig.suptitle("an exploding run (stopped by TerminateOnNaN) and the same run with clipped gradients")
    save(fig, out, "exploding_gradients.png")
    return rows, message


def main(argv=None):
    args = options("exploding_gradients", "exploding gradients and clipping", argv, full=True)
    (x, y), (xt, yt) = load_images(args.full)[0]
    n = 1000 if args.quick else 4000
    x, y = x[:n], y[:n]
    if args.quick:
        xt, yt = xt[:500], yt[:500]
    return runs(args.out, ((x, y), (xt, yt)), 2 if args.quick else 6)


if __name__ == "__main__":
    main()
