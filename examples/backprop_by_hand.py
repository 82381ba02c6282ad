"""Backpropagation by hand: the 3-4-2 sigmoid network
====================================================

Lecture item 7. Inputs 1-3, hidden units 4-7, outputs 8-9, sigmoid everywhere, loss
``L = 1/2 ||y - a||^2``. For one sample this script prints each forward value (z and a of every
unit) and each backward value next to its formula:

- output delta ``delta8 = a8 (1 - a8) (a8 - y8)`` (the slide writes ``(y - a)`` and then subtracts
  ``alpha a delta``: a sign slip; with ``(a - y)`` the update is ``W -= alpha dL/dW``),
- ``dL/dW48 = a4 delta8``, ``dL/db8 = delta8``,
- hidden delta ``delta4 = (delta8 W48 + delta9 W49) a4 (1 - a4)``, ``dL/dW14 = x1 delta4``, ``dL/db4 = delta4``,

then checks the formulas against what nnc's layers compute in ``backward`` and both against
centered finite differences (``nnc.gradcheck``), and prints ``nnc.trace``'s account of the same pass.

    python examples/backprop_by_hand.py [--quick] [--out DIR]
"""

import numpy as np

import nnc
from nnc.gallery import options, plt, save, table
from nnc.layers import Dense, Sigmoid


# %%
# The network and one sample
# --------------------------
# Dense and Sigmoid as separate layers, so z (before the sigmoid) and a (after) can both be read.
# float64, so that the hand formulas and the layers agree to the last digits.
def network(seed=0):
    model = nnc.Sequential([Dense(4, input_shape=(3,), name="hidden_z"), Sigmoid(name="hidden_a"),
                            Dense(2, name="output_z"), Sigmoid(name="output_a")], seed=seed, dtype="float64")
    model.compile(optimizer=nnc.optim.SGD(0.5), loss="half_squared_error")
    model.build((3,))
    return model


x = np.array([[1.0, 0.5, -1.0]])     # inputs 1, 2, 3
y = np.array([[1.0, 0.0]])           # targets of outputs 8, 9


# %%
# Forward and backward with the layers
# ------------------------------------
def by_the_layers(model):
    acts = [x]
    for layer in model.layers:
        acts.append(layer.forward(acts[-1], training=True))
    loss = model.loss.forward(acts[-1], y)
    model.backward(model.loss.backward())
    return acts, float(loss)


# %%
# The same numbers from the lecture's formulas
# --------------------------------------------
def by_hand(model):
    W1, b1 = model.layers[0].params["W"], model.layers[0].params["b"]    # W1[i, j]: input i+1 -> unit j+4
    W2, b2 = model.layers[2].params["W"], model.layers[2].params["b"]    # W2[j, k]: unit j+4 -> unit k+8
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))      # noqa: E731
    z_h = x[0] @ W1 + b1
    a_h = sig(z_h)
    z_o = a_h @ W2 + b2
    a_o = sig(z_o)
    L = 0.5 * np.sum((y[0] - a_o) ** 2)
    delta_o = a_o * (1 - a_o) * (a_o - y[0])                 # delta8, delta9
    dW2 = np.outer(a_h, delta_o)                             # dL/dW48 = a4 delta8, ...
    delta_h = (W2 @ delta_o) * a_h * (1 - a_h)               # delta4 = (delta8 W48 + delta9 W49) a4 (1 - a4)
    dW1 = np.outer(x[0], delta_h)                            # dL/dW14 = x1 delta4
    return dict(z_h=z_h, a_h=a_h, z_o=z_o, a_o=a_o, L=L, delta_o=delta_o, dW2=dW2, db2=delta_o,
                delta_h=delta_h, dW1=dW1, db1=delta_h)


def report(model, acts, loss, h):
    print("forward, one sample x = (1, 0.5, -1), target y = (1, 0):")
    rows = [(f"unit {j + 4}", f"{h['z_h'][j]:+.5f}", f"{h['a_h'][j]:.5f}", f"{acts[2][0, j]:.5f}") for j in range(4)]
    rows += [(f"unit {k + 8}", f"{h['z_o'][k]:+.5f}", f"{h['a_o'][k]:.5f}", f"{acts[4][0, k]:.5f}") for k in range(2)]
    table(rows, ["", "z = sum w a + b", "a = sigmoid(z), by hand", "a, nnc layer"])
    print(f"loss 1/2 ||y - a||^2: by hand {h['L']:.6f}, nnc {loss:.6f}")
    W2 = model.layers[2].params["W"]
    g1, g2 = model.layers[0].grads, model.layers[2].grads
    print("\nbackward: each quantity by the lecture's formula and from nnc's backward pass")
    rows = []
    for k in range(2):
        a, t = h["a_o"][k], y[0, k]
        rows.append((f"delta{k + 8} = a{k + 8}(1 - a{k + 8})(a{k + 8} - y{k + 8})",
                     f"{a:.4f}*{1 - a:.4f}*{a - t:+.4f}", f"{h['delta_o'][k]:+.6f}", f"{g2['b'][k]:+.6f}"))
    for j in (0, 1):
        rows.append((f"dL/dW{j + 4}8 = a{j + 4} delta8", f"{h['a_h'][j]:.4f}*{h['delta_o'][0]:+.4f}",
                     f"{h['dW2'][j, 0]:+.6f}", f"{g2['W'][j, 0]:+.6f}"))
    for j in range(4):
        rows.append((f"delta{j + 4} = (delta8 W{j + 4}8 + delta9 W{j + 4}9) a{j + 4}(1 - a{j + 4})",
                     f"({h['delta_o'][0]:+.4f}*{W2[j, 0]:+.3f} {h['delta_o'][1]:+.4f}*{W2[j, 1]:+.3f})"
                     f"*{h['a_h'][j] * (1 - h['a_h'][j]):.4f}", f"{h['delta_h'][j]:+.6f}", f"{g1['b'][j]:+.6f}"))
    rows.append(("dL/dW14 = x1 delta4", f"{x[0, 0]:g}*{h['delta_h'][0]:+.4f}", f"{h['dW1'][0, 0]:+.6f}",
                 f"{g1['W'][0, 0]:+.6f}"))
    table(rows, ["formula", "numbers", "by hand", "nnc (dL/db = delta)"])
    gap = max(float(np.max(np.abs(h[a] - g[b]))) for a, g, b in
              (("dW2", g2, "W"), ("db2", g2, "b"), ("dW1", g1, "W"), ("db1", g1, "b")))
    print(f"largest |by hand - nnc| over all 26 gradients: {gap:.1e}")
    return gap


# %%
# Gradient checking
# -----------------
# ``nnc.gradcheck`` perturbs every weight by +-h and compares (L(w+h) - L(w-h)) / 2h with backward.
def check(model):
    rep = nnc.gradcheck(model, x, y, loss="half_squared_error")
    print("\n" + str(rep))
    return rep


# %%
# The whole pass in one call: nnc.trace
# -------------------------------------
# ``nnc.trace`` prints every layer's a, z, delta, dW and db with its equation, here in the lecture's
# notation (z = W a + b, W (out, in)): the same numbers as the table above. Traced on the same
# weights in the fused form Dense(..., activation="sigmoid"), so layer l is the lecture's layer l.
def traced(model):
    fused = nnc.Sequential([Dense(4, activation="sigmoid", input_shape=(3,)), Dense(2, activation="sigmoid")],
                           dtype="float64", seed=0)
    fused.build((3,))
    fused.set_weights(model.get_weights())
    t = nnc.trace(fused, x[0], y[0], loss="half_squared_error", notation="lecture")
    print("\n" + str(t))
    return t


def figure(out, h):
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), layout="constrained", width_ratios=[4, 2.6])
    for ax, key, title, rows, cols in ((axes[0], "dW1", "dL/dW, input -> hidden", "input", "hidden unit"),
                                       (axes[1], "dW2", "dL/dW, hidden -> output", "hidden unit", "output unit")):
        g = h[key]
        top = float(np.abs(g).max())
        im = ax.imshow(g, cmap="RdBu_r", vmin=-top, vmax=top)
        first_row, first_col = (1, 4) if key == "dW1" else (4, 8)
        ax.set_xticks(range(g.shape[1]), [str(first_col + j) for j in range(g.shape[1])])
        ax.set_yticks(range(g.shape[0]), [str(first_row + i) for i in range(g.shape[0])])
        for (i, j), v in np.ndenumerate(g):
            ax.text(j, i, f"{v:+.4f}", ha="center", va="center", fontsize="small")
        ax.set_xlabel(cols)
        ax.set_ylabel(rows)
        ax.set_title(title)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.suptitle("the gradients of one sample (red: the step W -= lr dW lowers W)")
    save(fig, out, "backprop_gradients.png")


def main(argv=None):
    args = options("backprop_by_hand", "backpropagation by hand on the 3-4-2 sigmoid network", argv)
    model = network()
    acts, loss = by_the_layers(model)
    h = by_hand(model)
    gap = report(model, acts, loss, h)
    rep = check(model)
    traced(model)
    assert gap < 1e-12 and rep.ok, "the formulas, the layers and finite differences should agree"
    figure(args.out, h)
    return h, gap, rep


if __name__ == "__main__":
    main()
