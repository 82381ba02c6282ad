"""Softmax by hand
===============

Lecture item 5. The scores (5.1, 3.2, -1.7, -2.0) of four classes become probabilities: exponentiate
(164.0, 24.5, 0.18, 0.14), then divide by the sum (188.9): p = (0.87, 0.13, 0.00, 0.00). The
cross-entropy of the first class is -log 0.87 = 0.14. nnc's softmax kernel computes the same, after
subtracting the largest score first (the probabilities do not change, and exp cannot overflow).

    python examples/softmax_by_hand.py [--quick] [--out DIR]
"""

import numpy as np

import nnc
from nnc.gallery import options, plt, save, table


# %%
# exp, sum, divide
# ----------------
def by_hand(scores):
    e = np.exp(scores)
    return e, e / e.sum()


def main(argv=None):
    args = options("softmax_by_hand", "softmax by hand", argv)
    s = np.array([5.1, 3.2, -1.7, -2.0])
    e, p = by_hand(s)
    p_nnc = nnc.layers.Softmax().forward(s[None, :])[0]
    table([(f"{si:.1f}", f"{ei:.2f}" if ei < 1 else f"{ei:.1f}", f"{pi:.2f}", f"{qi:.6f}")
           for si, ei, pi, qi in zip(s, e, p, p_nnc)], ["score", "exp(score)", "p = exp / sum", "nnc softmax"])
    print(f"sum of exp = {e.sum():.1f}; largest |by hand - nnc| = {np.max(np.abs(p - p_nnc)):.1e}")
    ce = nnc.losses.get("softmax_cross_entropy").forward(s[None, :], np.array([0]))
    print(f"cross-entropy if the true class is the first: -log p0 = {-np.log(p[0]):.3f} (nnc: {float(ce):.3f})")
    big = s + 1000.0
    with np.errstate(over="ignore"):          # the overflow is the point
        naive = np.exp(big)
    print(f"scores + 1000: exp overflows to {naive[0]}, nnc's softmax still gives "
          f"{np.array2string(nnc.layers.Softmax().forward(big[None, :])[0], precision=2)}")

    # The figure: scores, exp, probabilities
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2), layout="constrained")
    names = [f"class {k}" for k in range(4)]
    for ax, v, title in zip(axes, (s, e, p), ("scores s", "exp(s)", "p = exp(s) / sum exp(s)")):
        bars = ax.bar(names, v, color=[f"C{k}" for k in range(4)])
        ax.bar_label(bars, [f"{x:.2f}" if abs(x) < 10 else f"{x:.1f}" for x in v], fontsize="small")
        ax.set_title(title)
        ax.axhline(0, color="k", lw=0.8)
    save(fig, args.out, "softmax.png")
    return p


if __name__ == "__main__":
    main()
