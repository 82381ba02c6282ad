"""Resuming training: N + N epochs equal 2N, bit for bit
======================================================

The students' question "is training 50 epochs twice the same as 100 epochs at once?". Only if the
optimizer state (Adam's moments and step count), the learning-rate schedule's position and the
random state (shuffling, dropout masks) carry over. ``model.save`` writes all of them into one
``.npz``; ``nnc.load_model`` and ``fit(..., initial_epoch=model.epoch)`` continue exactly where the
run stopped: the weights after N + N epochs equal those after 2N epochs in one go, every bit. Then
what breaks it: a new optimizer (fresh moments), a schedule that restarts from step 0, a new seed.

    python examples/resume_training.py [--quick] [--out DIR]
"""
import os
import tempfile

import numpy as np

import nnc
from nnc.gallery import options, plt, save, table
from nnc.layers import Dense, Dropout
from nnc.optim.schedules import CosineDecay


def optimizer(total_steps):
    return nnc.optim.Adam(lr=CosineDecay(3e-3, decay_steps=total_steps))


def make(total_steps, seed=0):
    m = nnc.Sequential([Dense(64, activation="relu", input_shape=(784,)), Dropout(0.3), Dense(10)], seed=seed)
    m.compile(optimizer=optimizer(total_steps), loss="softmax_cross_entropy", metrics=["accuracy"])
    return m


def max_diff(a, b):
    return max(float(np.max(np.abs(u - v))) for u, v in zip(a.get_weights(), b.get_weights()))


def identical(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))


def main(argv=None):
    args = options("resume_training", "N + N epochs from a checkpoint equal 2N", argv)
    (x, y), (xt, yt) = nnc.datasets.load_sample(normalize=True, layout="flat")
    N = 2 if args.quick else 5
    if args.quick:
        x, y = x[:1000], y[:1000]
    total = 2 * N * (-(-len(x) // 64))

    # 2N epochs at once
    one_go = make(total)
    h_one = one_go.fit(x, y, epochs=2 * N, batch_size=64, verbose=0)

    # N epochs, a checkpoint, a fresh process would load it: N more
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "half.npz")
        first = make(total)
        h_first = first.fit(x, y, epochs=N, batch_size=64, verbose=0)
        first.save(path)
        resumed = nnc.load_model(path)
        h_second = resumed.fit(x, y, epochs=2 * N, initial_epoch=resumed.epoch, batch_size=64, verbose=0)

        # What breaks it: the same checkpoint, resumed carelessly
        broken = {}
        m = nnc.load_model(path)
        m.compile(optimizer=optimizer(total), loss="softmax_cross_entropy", metrics=["accuracy"])
        m.optimizer.iterations = resumed_iterations = int(first.optimizer.iterations)
        m.fit(x, y, epochs=2 * N, initial_epoch=m.epoch, batch_size=64, verbose=0)
        broken["new optimizer (fresh Adam moments, schedule position kept)"] = m
        m = nnc.load_model(path)
        m.optimizer.iterations = 0          # the schedule restarts at its initial rate...
        m.optimizer.schedule = CosineDecay(3e-3, decay_steps=total)
        m.fit(x, y, epochs=2 * N, initial_epoch=m.epoch, batch_size=64, verbose=0)
        broken["restarted schedule (step 0: lr back to 3e-3)"] = m
        m = nnc.load_model(path)
        m.rng = np.random.default_rng(1)     # other shuffles and dropout masks
        m.fit(x, y, epochs=2 * N, initial_epoch=m.epoch, batch_size=64, verbose=0)
        broken["new random state (other shuffling and dropout masks)"] = m

    same = identical(one_go, resumed)
    print(f"Adam with CosineDecay, dropout 0.3, {len(x)} images, batch 64; {N} + {N} epochs vs {2 * N} at once:")
    rows = [("resumed from the checkpoint", "yes" if same else "NO", f"{max_diff(one_go, resumed):.1e}")]
    rows += [(label, "yes" if identical(one_go, m) else "no", f"{max_diff(one_go, m):.1e}")
             for label, m in broken.items()]
    table(rows, ["N + N epochs", "bit-identical to 2N", "max |W difference|"])
    print(f"(the checkpoint held {resumed_iterations} Adam steps, the schedule's position and the generator state)")

    fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    ax.plot(range(1, 2 * N + 1), h_one.history["loss"], "o-", lw=3, alpha=0.5, label=f"{2 * N} epochs at once")
    ax.plot(range(1, N + 1), h_first.history["loss"], "s--", label=f"first {N} epochs")
    ax.plot(range(N + 1, 2 * N + 1), h_second.history["loss"], "s--", label=f"{N} more, resumed from the checkpoint")
    ax.axvline(N + 0.5, color="0.5", ls=":")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.set_title("resuming from a checkpoint retraces the uninterrupted run")
    ax.legend()
    ax.grid(alpha=0.3)
    save(fig, args.out, "resume_training.png")
    return same, rows


if __name__ == "__main__":
    main()
