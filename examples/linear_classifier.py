"""A linear classifier: scores, the SVM loss, one step
====================================================

Lecture item 4 (after the well-known interactive linear-classifier demo of a vision course): 3
classes of 2-D points, scores ``s = W x + b`` with the lecture's W (one row per class) and b, the
multiclass SVM loss (Weston-Watkins, margin 1) per point and averaged over the 9 points (data loss
0.19), the L2 term ``0.1 * sum W^2`` (0.51-0.52 on the slide, whose W is rounded), the total 0.71,
the one-vs-all hinge and softmax cross-entropy on the same scores, and one gradient step of size
0.1, which lowers the total slightly (0.709 -> 0.708 on the slide). The model is an nnc ``Dense(3)``
with ``kernel_regularizer=L2(0.1)``; every number below is what nnc computes.

    python examples/linear_classifier.py [--quick] [--out DIR]
"""

import numpy as np

import nnc
import nnc.plot
from nnc.gallery import options, plt, save, table

# %%
# The lecture's weights and points
# --------------------------------
# W is (classes, features) as on the slide; nnc's Dense stores its transpose, (in, out), so that
# ``s = x @ W.T + b`` for a row of points.
W = np.array([[1.12, 0.84], [-0.95, 0.30], [0.35, -1.44]])
b = np.array([0.06, 0.30, 0.35])
X = np.array([(0.5, 0.4), (0.8, 0.3), (0.3, 0.8),        # class 0
              (-0.4, 0.3), (-0.3, 0.7), (-0.7, 0.2),     # class 1
              (0.7, -0.4), (0.8, -1.15), (-0.4, -0.5)])  # class 2
y = np.repeat([0, 1, 2], 3)


def model_with(W, b, loss="multiclass_hinge", lr=0.1):
    """Dense(3) in float64 holding W (3, 2) and b, with the L2 term 0.1 * sum W^2 (not on b)."""
    m = nnc.Sequential([nnc.layers.Dense(3, input_shape=(2,), kernel_regularizer=nnc.regularizers.L2(0.1))],
                       dtype="float64", seed=0)
    m.build((2,))
    m.layers[0].params["W"][...] = W.T
    m.layers[0].params["b"][...] = b
    m.compile(optimizer=nnc.optim.SGD(lr), loss=loss)
    return m


# %%
# Scores and the loss of each point
# ---------------------------------
# ``L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + 1)``; the loss object on one row gives L_i.
def losses(m):
    hinge = nnc.losses.get("multiclass_hinge")
    S = m.predict(X)
    rows = []
    for i in range(len(X)):
        Li = hinge.forward(S[i:i + 1], y[i:i + 1])
        rows.append((f"({X[i, 0]:g}, {X[i, 1]:g})", int(y[i]), *[f"{s:.2f}" for s in S[i]], f"{Li:.2f}"))
    print("scores s = W x + b and the multiclass SVM loss of each point:")
    table(rows, ["point", "class", "s0", "s1", "s2", "L_i"])
    data = {name: float(nnc.losses.get(name).forward(S, y))
            for name in ("multiclass_hinge", "ova_hinge", "softmax_cross_entropy")}
    reg = float(m.regularization_loss())
    print()
    table([("multiclass SVM (Weston-Watkins)", data["multiclass_hinge"], reg, data["multiclass_hinge"] + reg),
           ("one-vs-all hinge", data["ova_hinge"], reg, data["ova_hinge"] + reg),
           ("softmax cross-entropy", data["softmax_cross_entropy"], reg, data["softmax_cross_entropy"] + reg)],
          ["loss (mean over the 9 points)", "data loss", "L2 0.1*sum W^2", "total"])
    return data, reg


# %%
# One parameter update
# --------------------
# ``train_on_batch`` on all 9 points: the gradient of data loss + L2 term, then W -= 0.1 dW.
def one_step(m):
    before = m.evaluate(X, y)["loss"]
    m.train_on_batch(X, y)
    after = m.evaluate(X, y)["loss"]
    Wn, bn = m.layers[0].params["W"].T.copy(), m.layers[0].params["b"].copy()
    print(f"\none SGD step (lr 0.1) on the SVM loss + L2: total {before:.3f} -> {after:.3f} "
          f"({before:.5f} -> {after:.5f}) "
          f"(slide: 0.709 -> 0.708)")
    print("W after the step:", np.array2string(Wn, precision=3), " b:", np.array2string(bn, precision=3))
    return before, after, Wn, bn


def figure(out):
    fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    nnc.plot.decision_regions(lambda x: x @ W.T + b, X, y, margin=0.8, ax=ax)
    nnc.plot.linear_boundaries(W, b, ax=ax)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1))
    ax.set_title("argmax of s = W x + b; lines s_k = 0, arrows along w_k")
    save(fig, out, "linear_classifier.png")


def main(argv=None):
    args = options("linear_classifier", "a 3-class linear classifier: scores, losses, one step", argv)
    m = model_with(W, b)
    data, reg = losses(m)
    before, after, Wn, bn = one_step(m)
    assert after < before, "one gradient step should lower the total loss"
    figure(args.out)
    return data, reg, before, after


if __name__ == "__main__":
    main()
