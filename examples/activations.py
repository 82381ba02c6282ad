"""Activation functions and where they saturate
=============================================

Lecture item 3. Sigmoid, tanh (= 2 sigmoid(2x) - 1), ReLU and friends, each with its derivative,
computed by nnc's own kernels (the reference backend's ``<name>_forward`` / ``<name>_backward``).
Sigmoid's derivative peaks at 0.25 (x = 0) and tanh's at 1; both fall towards 0 in the tails, where
a unit *saturates* and passes almost no gradient back: at x = 5 sigmoid' is 0.0066 and tanh'
0.00018. ReLU's derivative is 1 for every x > 0 (and 0 below: a unit stuck there is dead). The
step function has no gradient at all, so backpropagation cannot train it.

    python examples/activations.py [--quick] [--out DIR]
"""

import numpy as np

import nnc
import nnc.plot
from nnc.gallery import options, plt, save, table


# %%
# f and f' through the backend's kernel pairs
# -------------------------------------------
# Every activation kernel is a pair: ``out, cache = <name>_forward(x)`` and
# ``dx = <name>_backward(dout, cache)``; with dout = 1 the backward pass gives f'(x).
def f_and_df(name, x):
    B = nnc.backend.reference
    out, cache = getattr(B, f"{name}_forward")(x)
    return out, getattr(B, f"{name}_backward")(np.ones_like(x), cache)


def derivative_table():
    x = np.array([0.0, 1.0, 2.0, 3.0, 5.0, 10.0])
    rows = []
    for name in ("sigmoid", "tanh", "relu"):
        _, df = f_and_df(name, x)
        rows.append([name] + [f"{v:.2g}" for v in df])
    print("f'(x) at x =", ", ".join(f"{v:g}" for v in x))
    table(rows, ["activation"] + [f"x={v:g}" for v in x])
    t = np.linspace(-6, 6, 1201)
    sig2 = f_and_df("sigmoid", 2 * t)[0]
    gap = float(np.max(np.abs(f_and_df("tanh", t)[0] - (2 * sig2 - 1))))
    print(f"tanh(x) = 2 sigmoid(2x) - 1: largest difference on [-6, 6] = {gap:.1e}")
    return {row[0]: row[1:] for row in rows}, gap


# %%
# The figures
# -----------
# ``nnc.plot.activations`` draws f (solid) and f' (dashed) and shades the tails where ``|f'| < 0.05``.
def figures(out):
    fig = nnc.plot.activations(["sigmoid", "tanh", "relu", "leaky_relu", "elu", "step"])
    fig.suptitle("activations f (solid) and their derivatives f' (dashed); shaded: |f'| < 0.05 (saturated)")
    save(fig, out, "activations.png")

    x = np.linspace(-10, 10, 801)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4), layout="constrained")
    nnc.plot.activation("sigmoid", x=x, ax=axes[0])
    nnc.plot.activation("tanh", x=x, ax=axes[1])
    for name in ("sigmoid", "tanh", "relu"):
        df = f_and_df(name, x)[1]
        axes[2].semilogy(x, np.where(df > 0, df, np.nan), lw=2, label=f"{name}'")
    axes[2].axhline(0.25, color="0.5", ls=":", lw=1)
    axes[2].text(-9.5, 0.3, "0.25: the most sigmoid passes back", fontsize="small")
    axes[2].set_ylim(1e-5, 2)
    axes[2].set_xlabel("x")
    axes[2].set_title("f'(x), log scale: the saturated tails")
    axes[2].legend()
    axes[2].grid(alpha=0.3)
    save(fig, out, "saturation.png")


def main(argv=None):
    args = options("activations", "activations, derivatives, saturation", argv)
    result = derivative_table()
    figures(args.out)
    return result


if __name__ == "__main__":
    main()
