"""Decision regions of 2-D classifiers and the score lines w_k . x + b_k = 0 of linear ones."""
import numpy as np

from ._common import axes, class_colors

__all__ = ["decision_regions", "linear_boundaries"]


def _scores_to_labels(out):
    """Labels from what a model returns: (N, k>1) scores or probabilities -> argmax; (N,) or (N, 1)
    real scores -> 1 where score >= 0.5 if all lie in [0, 1] (a sigmoid output), else score >= 0
    (a logit, the perceptron's step); (N,) integer-valued labels are returned as they are."""
    out = np.asarray(out)
    if out.ndim == 2 and out.shape[1] > 1:
        return np.argmax(out, axis=1)
    out = out.reshape(out.shape[0], -1)[:, 0] if out.ndim == 2 else out
    if out.dtype.kind in "fc" and not np.all(np.equal(np.mod(out, 1), 0)):
        threshold = 0.5 if np.all((out >= 0) & (out <= 1)) else 0.0
        return (out >= threshold).astype(np.int64)
    return out


def _predictor(model):
    """A function X (N, 2) -> labels (N,) for a Perceptron, a Sequential or any callable."""
    if hasattr(model, "layers") and hasattr(model, "predict"):            # Sequential: scores
        return lambda X: _scores_to_labels(model.predict(X))
    if hasattr(model, "predict"):                                          # Perceptron, scikit-learn
        return lambda X: np.asarray(model.predict(X))
    if callable(model):
        return lambda X: _scores_to_labels(model(X))
    raise TypeError(f"decision_regions: expected a model with predict() or a callable, got {model!r}")


def decision_regions(model, X, y, X_test=None, y_test=None, ax=None, resolution=200, margin=0.5,
                     class_names=None, boundaries=False, alpha=0.25):
    """The decision regions of a classifier of 2-D points, with the data on top.

    model: a nnc.Perceptron (its predict), a Sequential whose predict gives scores, probabilities or
    logits ((N, k): argmax; (N, 1): threshold), or any callable X (N, 2) -> labels or scores.
    X (N, 2), y (N,) training points, drawn as dots coloured by class; X_test, y_test (optional)
    drawn as crosses (black without y_test). The plane is classified on a resolution x resolution
    grid covering the points plus `margin`. boundaries=True also draws the lines w_k . x + b_k = 0
    of a linear model (one with coef_ and intercept_, such as the perceptron), boundaries=(W, b)
    those of given weights: see linear_boundaries. Returns the Axes.

        X, y = nnc.datasets.make_moons(200, noise=0.2, seed=0)
        nnc.plot.decision_regions(model, X, y)
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"decision_regions: X must be (N, 2) and y (N,), got {X.shape} and {y.shape}")
    points = [X] + ([np.asarray(X_test, dtype=np.float64)] if X_test is not None else [])
    allp = np.concatenate(points)
    x_lo, x_hi = allp[:, 0].min() - margin, allp[:, 0].max() + margin
    y_lo, y_hi = allp[:, 1].min() - margin, allp[:, 1].max() + margin
    gx, gy = np.meshgrid(np.linspace(x_lo, x_hi, resolution), np.linspace(y_lo, y_hi, resolution))
    grid_labels = _predictor(model)(np.column_stack([gx.ravel(), gy.ravel()]))
    classes = list(np.unique(np.concatenate([y] + ([np.asarray(y_test)] if y_test is not None else []))))
    for c in np.unique(grid_labels):          # a predicted class that has no point
        if c not in classes:
            classes.append(c)
    index = {c: i for i, c in enumerate(classes)}
    zz = np.array([index[c] for c in np.asarray(grid_labels).tolist()]).reshape(gx.shape)
    k = len(classes)
    colors = class_colors(k)
    names = [str(c) for c in classes] if class_names is None else [str(n) for n in class_names]

    from matplotlib.colors import ListedColormap
    ax = axes(ax)
    ax.contourf(gx, gy, zz, levels=np.arange(k + 1) - 0.5, cmap=ListedColormap(colors), alpha=alpha)
    for i, c in enumerate(classes):
        m = y == c
        if m.any():
            ax.scatter(X[m, 0], X[m, 1], s=18, color=colors[i], edgecolors="k", linewidths=0.5,
                       label=names[i] if i < len(names) else str(c))
    if X_test is not None and y_test is None:
        ax.scatter(points[1][:, 0], points[1][:, 1], s=30, color="k", marker="x", linewidths=1.5, label="test")
    elif X_test is not None:
        Xt, yt = points[1], np.asarray(y_test)
        for i, c in enumerate(classes):
            m = yt == c
            if m.any():
                ax.scatter(Xt[m, 0], Xt[m, 1], s=30, color=colors[i], marker="x", linewidths=1.5,
                           label=f"{names[i] if i < len(names) else c} (test)")
    if boundaries is True:
        if not hasattr(model, "coef_"):
            raise ValueError("decision_regions: boundaries=True needs a linear model with coef_ and intercept_ "
                             "(a Perceptron); for other weights pass boundaries=(W, b)")
        linear_boundaries(model, ax=ax)
    elif boundaries is not None and boundaries is not False:
        linear_boundaries(*boundaries, ax=ax)
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.legend(fontsize="small", loc="best", framealpha=0.8)
    return ax


def _equation(w, b):
    """'-x1 + 4 x2 + 0.4 = 0' for w = (-1, 4), b = 0.4."""
    text = ""
    for coef, var in ((w[0], " x1"), (w[1], " x2"), (b, "")):
        if coef == 0 and var:
            continue
        mag = f"{abs(coef):.3g}"
        mag = "" if mag == "1" and var else mag
        sign = ("-" if coef < 0 else "") if not text else (" - " if coef < 0 else " + ")
        text += sign + (mag + var).strip()
    return text + " = 0"


def linear_boundaries(W, b=None, ax=None, xlim=None, ylim=None, labels=None, normals=True):
    """The lines w_k . x + b_k = 0 of a linear classifier, one per row of W, with an arrow along w_k
    pointing to the side where the score is positive.

    W: (k, 2) (or (2,) for one line) and b (k,); or a model with coef_ and intercept_ (nnc.Perceptron).
    Each line is labelled with its equation (and its class when k > 1). Drawn over the current
    limits of `ax` (or xlim/ylim, default [-2, 2]^2). Returns the Axes.

        nnc.plot.linear_boundaries([-1, 4], 0.4)          # the lecture's perceptron line
        W = [[1.12, 0.84], [-0.95, 0.30], [0.35, -1.44]]  # the 3-class linear classifier
        nnc.plot.linear_boundaries(W, [0.06, 0.30, 0.35])
    """
    if hasattr(W, "coef_"):
        W, b = W.coef_, W.intercept_ if b is None else b
    W = np.array(W, dtype=np.float64, ndmin=2)
    if W.ndim != 2 or W.shape[1] != 2:
        raise ValueError(f"linear_boundaries: W must be (k, 2), got shape {W.shape}")
    k = W.shape[0]
    b = np.broadcast_to(np.asarray(0.0 if b is None else b, dtype=np.float64), (k,))
    fresh = ax is None
    ax = axes(ax)
    xlim = xlim or ((-2.0, 2.0) if fresh else ax.get_xlim())
    ylim = ylim or ((-2.0, 2.0) if fresh else ax.get_ylim())
    colors = class_colors(k) if k > 1 else ["k"]
    if labels is None:
        labels = [_equation(W[0], b[0])] if k == 1 else [f"class {i}: {_equation(w, bi)}" for i, (w, bi)
                                                            in enumerate(zip(W, b))]
    t = np.linspace(-1.0, 1.0, 2) * 10 * max(np.ptp(xlim), np.ptp(ylim))
    scale = 0.15 * min(np.ptp(xlim), np.ptp(ylim))
    for i, (w, bi) in enumerate(zip(W, b)):
        norm2 = float(w @ w)
        if norm2 == 0:
            continue          # w = 0: no line (the score is constant)
        p0 = -bi * w / norm2                          # the point of the line nearest the origin
        direction = np.array([-w[1], w[0]]) / np.sqrt(norm2)
        # keep p0 inside the view so the arrow is seen: slide along the line towards the view's centre
        centre = np.array([np.mean(xlim), np.mean(ylim)])
        p0 = p0 + direction * float((centre - p0) @ direction)
        line = p0[None, :] + t[:, None] * direction[None, :]
        ax.plot(line[:, 0], line[:, 1], color=colors[i], lw=2, label=labels[i])
        if normals:
            ax.annotate("", xy=p0 + scale * w / np.sqrt(norm2), xytext=p0,
                        arrowprops=dict(arrowstyle="->", color=colors[i], lw=1.5))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.legend(fontsize="small", loc="best", framealpha=0.8)
    return ax
