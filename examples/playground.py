"""A 2-D playground: capacity, overfitting and L2
===============================================

Lecture item 18 (in the style of a browser-based 2-D classification playground, ConvNetJS's or
TensorFlow's). Three data sets (XOR, two spirals, two moons), each with few noisy training points
(dots) and many test points (crosses; accuracy over 500, 120 drawn); three networks of two tanh
hidden layers: width 2 (too little capacity for the spirals), width 20 (fits the training points, noise included, after a long
run: the gap between train and test accuracy is overfitting) and width 20 with an L2 penalty on
the weights (a smoother boundary, a smaller gap). The script prints the train and test accuracy of
each setting and says which parts of that story hold on this run.

    python examples/playground.py [--quick] [--out DIR]
"""
import warnings

import nnc
import nnc.plot
from nnc.gallery import options, plt, save, table
from nnc.layers import Dense

# %%
# Data sets and settings
# ----------------------
# 60 training points, 500 test points from the same distribution (another seed). The L2 strength
# is chosen per data set: the spirals need large weights, so a penalty that suits XOR flattens them.
DATASETS = {
    "XOR": (lambda n, seed: nnc.datasets.make_xor(n, noise=0.65, seed=seed), 0.01),
    "moons": (lambda n, seed: nnc.datasets.make_moons(n, noise=0.45, seed=seed), 0.001),
    "spirals": (lambda n, seed: nnc.datasets.make_spirals(n, noise=0.45, seed=seed), 0.0003),
}


def mlp(width, l2):
    reg = nnc.regularizers.L2(l2) if l2 else None
    return nnc.Sequential([Dense(width, activation="tanh", input_shape=(2,), kernel_regularizer=reg),
                           Dense(width, activation="tanh", kernel_regularizer=reg),
                           Dense(2, kernel_regularizer=reg)], seed=0)


# %%
# Train every setting
# -------------------
# Adam, 4 mini-batches of 15 points per epoch, a long run (1000 epochs; 150 with --quick).
def run(X, y, Xt, yt, width, l2, epochs):
    m = mlp(width, l2)
    m.compile(optimizer=nnc.optim.Adam(0.01), loss="softmax_cross_entropy", metrics=["accuracy"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # a width-2 net stuck near chance may warn: it is a setting shown
        m.fit(X, y, epochs=epochs, batch_size=15, verbose=0)
    return m, m.evaluate(X, y)["accuracy"], m.evaluate(Xt, yt)["accuracy"]


def main(argv=None):
    args = options("playground", "capacity, overfitting and L2 on 2-D data", argv)
    epochs = 150 if args.quick else 1000
    n_train = 60
    results = {}
    fig, axes = plt.subplots(3, 3, figsize=(13, 12), layout="constrained")
    for row, (name, (make, l2)) in zip(axes, DATASETS.items()):
        X, y = make(n_train, 1)
        Xt, yt = make(500, 2)
        for ax, (width, lam) in zip(row, [(2, 0.0), (20, 0.0), (20, l2)]):
            m, tr, te = run(X, y, Xt, yt, width, lam, epochs)
            label = f"2-{width}-{width}-2" + (f" + L2({lam:g})" if lam else "")
            results[name, width, lam] = (tr, te)
            nnc.plot.decision_regions(m, X, y, X_test=Xt[:120], y_test=yt[:120], ax=ax, resolution=150, alpha=0.3)
            ax.get_legend().remove()
            ax.set_title(f"{name}, {label}\ntrain {tr:.2f}, test {te:.2f}", fontsize="medium")
    fig.suptitle(f"{n_train} noisy training points (dots), 120 of the 500 test points (crosses), {epochs} epochs")
    save(fig, args.out, "playground.png")

    rows = [(name, f"{w}" + (f" + L2({lam:g})" if lam else ""), tr, te, tr - te)
            for (name, w, lam), (tr, te) in results.items()]
    print(f"\ntwo tanh hidden layers, {n_train} training points, {epochs} epochs:")
    table(rows, ["data", "width", "train acc", "test acc", "gap"])
    # The story, checked on this run's numbers rather than asserted
    print()
    for name, (_, l2) in DATASETS.items():
        small, big, reg = (results[name, 2, 0.0], results[name, 20, 0.0], results[name, 20, l2])
        print(f"{name:8s} capacity (width 20 fits train better than 2): {'yes' if big[0] > small[0] else 'no'}; "
              f"overfitting (width 20 train-test gap {big[0] - big[1]:.2f}); "
              f"L2 narrows the gap: {'yes' if reg[0] - reg[1] < big[0] - big[1] else 'no'} "
              f"({reg[0] - reg[1]:.2f}), test {big[1]:.2f} -> {reg[1]:.2f}")
    return results


if __name__ == "__main__":
    main()
