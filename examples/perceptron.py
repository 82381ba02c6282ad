"""The perceptron: a line, a step, Rosenblatt's rule
==================================================

Lecture items 1 and 2. A perceptron computes ``z = w . x + b`` and outputs ``step(z)``: which side
of the line ``w . x + b = 0`` the point lies on. With the lecture's line ``-x1 + 4 x2 + 0.4 = 0``,
(2, 0.4) lies on it (z = 0, step 1), (1, 0.6) above (z = 1.8, step 1) and (3, 0.4) below
(z = -1, step 0). Rosenblatt's rule (``w <- w + lr (t - y_hat) x``) then learns a linearly
separable set, the line moving epoch by epoch until no point is wrong, and never stops making
mistakes on XOR, which no line separates.

    python examples/perceptron.py [--quick] [--out DIR]
"""
import warnings

import numpy as np

import nnc
import nnc.plot
from nnc.gallery import options, plt, save, table
from nnc.models.perceptron import ConvergenceWarning


# %%
# A point's side of the line
# --------------------------
# ``Perceptron.from_weights`` sets w and b by hand; ``decision_function`` gives z, ``predict`` step(z).
def side_of_the_line(out):
    p = nnc.Perceptron.from_weights([-1, 4], 0.4)
    pts = np.array([[2, 0.4], [1, 0.6], [3, 0.4]])
    z = p.decision_function(pts)
    z = np.where(np.abs(z) < 1e-12, 0.0, z)      # -2 + 1.6 + 0.4 is 1e-16 in floating point
    print("z = -1*x1 + 4*x2 + 0.4, output = step(z):")
    table([(f"({a:g}, {b:g})", f"{zi:.1f}", int(s)) for (a, b), zi, s in zip(pts, z, p.predict(pts))],
          ["point", "z", "step(z)"])
    ax = nnc.plot.decision_regions(p, pts, p.predict(pts), boundaries=True, margin=1.0)
    for (a, b), zi in zip(pts, z):
        ax.annotate(f"z = {zi:.1f}", (a, b), xytext=(6, 6), textcoords="offset points", fontsize="small")
    ax.set_title("perceptron: step(-x1 + 4 x2 + 0.4)")
    save(ax, out, "perceptron_line.png")
    return z


# %%
# Rosenblatt's rule on a separable set
# ------------------------------------
# Points labelled by the lecture's line (those within 0.3 of it left out, so a margin exists).
# ``fit`` starts from w = 0 with a fresh generator of the same seed each time, so
# ``Perceptron(max_iter=k, random_state=0).fit`` gives the weights after exactly k epochs of one run.
def separable_set(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform([-1.0, -0.5], [4.0, 1.5], size=(4 * n, 2))
    z = -X[:, 0] + 4 * X[:, 1] + 0.4
    keep = np.abs(z) > 0.3
    return X[keep][:n], (z[keep] >= 0).astype(np.int64)[:n]


def after_epochs(X, y, k, lr=0.1):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)   # stopped early on purpose
        return nnc.Perceptron(lr=lr, max_iter=k, random_state=0).fit(X, y)


def learn_separable(out):
    X, y = separable_set()
    final = after_epochs(X, y, 100)
    epochs = final.n_iter_
    W, b, rows = [], [], []
    for k in range(1, epochs + 1):
        p = after_epochs(X, y, k)
        W.append(p.coef_[0])
        b.append(p.intercept_[0])
        rows.append((k, p.errors_[-1], f"{p.coef_[0, 0]:.3f}", f"{p.coef_[0, 1]:.3f}", f"{p.intercept_[0]:.2f}",
                     f"{p.score(X, y):.2f}"))
    print(f"\nRosenblatt's rule (lr 0.1) on {len(X)} separable points: converged after {epochs} epochs")
    table(rows, ["epoch", "mistakes", "w1", "w2", "b", "accuracy after"])
    fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
    nnc.plot.decision_regions(final, X, y, ax=ax, margin=0.3)
    shown = sorted({i for i in (0, 1, 3, 6, epochs - 1) if i < epochs})     # epochs 1, 2, 4, 7 and the last
    nnc.plot.linear_boundaries(np.array(W)[shown], np.array(b)[shown], ax=ax, normals=False,
                               labels=[f"after epoch {i + 1}" for i in shown])
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1))
    ax.set_title(f"the line moves epoch by epoch; no mistake left after epoch {epochs}")
    save(fig, out, "perceptron_learning.png")
    return final


# %%
# XOR: no line separates it
# -------------------------
# The rule keeps making mistakes every epoch; a hidden layer (a small MLP) solves it.
def xor(out, quick):
    X, y = nnc.datasets.make_xor(200, noise=0.2, seed=0)
    per = after_epochs(X, y, 20, lr=1.0)
    sep = after_epochs(*separable_set(), 20)
    print(f"\nXOR: mistakes per epoch {per.errors_} (never 0); accuracy {per.score(X, y):.2f}")
    mlp = nnc.Sequential([nnc.layers.Dense(8, activation="tanh", input_shape=(2,)), nnc.layers.Dense(2)], seed=0)
    mlp.compile(optimizer=nnc.optim.Adam(lr=0.05), loss="softmax_cross_entropy", metrics=["accuracy"])
    mlp.fit(X, y, epochs=10 if quick else 40, batch_size=16, verbose=0)
    acc = mlp.evaluate(X, y)["accuracy"]
    print(f"a 2-8-2 MLP (tanh) on the same XOR: accuracy {acc:.2f}")
    fig, (a, c, e) = plt.subplots(1, 3, figsize=(14, 4), layout="constrained")
    nnc.plot.decision_regions(per, X, y, ax=a, boundaries=True)
    a.set_title(f"perceptron on XOR: accuracy {per.score(X, y):.2f}")
    nnc.plot.decision_regions(mlp, X, y, ax=c)
    c.set_title(f"MLP 2-8-2 on XOR: accuracy {acc:.2f}")
    e.plot(range(1, len(per.errors_) + 1), per.errors_, "o-", label="XOR")
    e.plot(range(1, len(sep.errors_) + 1), sep.errors_, "s-", label="separable set")
    e.set_xlabel("epoch")
    e.set_ylabel("mistakes (weight updates)")
    e.set_title("Rosenblatt's rule: mistakes per epoch")
    e.legend()
    e.grid(alpha=0.3)
    save(fig, out, "perceptron_xor.png")
    return per


def main(argv=None):
    args = options("perceptron", "the perceptron: a line, a step, Rosenblatt's rule", argv)
    z = side_of_the_line(args.out)
    learn_separable(args.out)
    xor(args.out, args.quick)
    return z


if __name__ == "__main__":
    main()
