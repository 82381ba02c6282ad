"""Plots of training: loss and metric curves, per-layer gradient norms, weight histograms,
the confusion matrix."""
import numpy as np

from ._common import axes, grid

__all__ = ["history", "gradient_norms", "histograms", "confusion_matrix"]


def _history_dict(h):
    if isinstance(h, dict):
        return h, None
    if isinstance(getattr(h, "history", None), dict):   # nnc History (what fit returns), Keras' too
        return h.history, getattr(h, "epoch", None)
    if hasattr(getattr(h, "history", None), "history"):  # a model holding its last History
        return h.history.history, getattr(h.history, "epoch", None)
    raise TypeError(f"history: expected a History (what model.fit returns) or a dict of lists, got {h!r}")


def _runs(h):
    """{run label or None: (logs, epochs)}: one History, or a dict {label: History} of several runs."""
    if isinstance(h, dict) and h and all(not isinstance(v, (list, tuple, np.ndarray)) for v in h.values()):
        return {str(label): _history_dict(run) for label, run in h.items()}
    return {None: _history_dict(h)}


def history(history, metrics=None, fig=None, ncols=3):
    """Training curves: one panel per quantity (loss, then each metric), the training values (solid)
    and, where recorded, the validation values ("val_<name>", dashed) on the same panel, against
    the epoch.

    history: what model.fit returns (history.history["loss"] is one value per epoch), that dict,
    or several runs to compare, {label: History} (one colour per run: learning rates, with and
    without batch norm, ...). metrics: the quantities to draw, e.g. ["loss", "accuracy"]; None
    draws all of them. A learning rate logged by a callback ("lr") gets a log scale.
    Returns the Figure (one Axes per quantity, in fig.axes).

        h = model.fit(x, y, epochs=20, validation_split=0.2, verbose=0)
        nnc.plot.history(h).savefig("curves.png")
        nnc.plot.history({"lr=0.001": h1, "lr=0.1": h2, "lr=10": h3}, metrics=["loss"])
    """
    runs = _runs(history)
    names = []
    for logs, _ in runs.values():
        names += [k for k in logs if not k.startswith("val_")]
        names += [k[4:] for k in logs if k.startswith("val_") and k[4:] not in logs]   # validation only
    names = list(dict.fromkeys(names))
    if metrics is not None:
        missing = [m for m in metrics if m not in names]
        if missing:
            raise ValueError(f"history: no {missing} in the history; it has {names}")
        names = list(metrics)
    if not names:
        raise ValueError("history: the history is empty (was the model trained?)")
    fig, panels = grid(len(names), ncols, fig, panel=(4.0, 3.0))
    for ax, name in zip(panels, names):
        for i, (run, (logs, epochs)) in enumerate(runs.items()):
            for key, label, style in ((name, "train", "-"), ("val_" + name, "validation", "--")):
                if key not in logs:
                    continue
                values = np.asarray(logs[key], dtype=np.float64)
                x = np.arange(1, len(values) + 1) if epochs is None or len(epochs) != len(values) \
                    else np.asarray(epochs) + 1
                if run is not None:    # several runs: one legend entry per run (its colour)
                    label = run if style == "-" or name not in logs else "_validation"
                ax.plot(x, values, style, color=f"C{i % 10}", marker="o" if len(values) < 30 else None, ms=3,
                        label=label)
        if len(runs) > 1:            # and what solid and dashed mean
            from matplotlib.lines import Line2D
            handles, labels = ax.get_legend_handles_labels()
            handles += [Line2D([], [], color="0.3", ls="-"), Line2D([], [], color="0.3", ls="--")]
            ax.legend(handles, labels + ["train", "validation"], fontsize="small")
        else:
            ax.legend()
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(name)
        if name == "lr":
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    return fig


def _stats(logger):
    if hasattr(logger, "history") and hasattr(logger, "epochs"):   # nnc.diagnostics.LayerStatsLogger
        return logger.history, list(logger.epochs)
    if isinstance(logger, dict):
        return logger, None
    raise TypeError(f"gradient_norms: expected a LayerStatsLogger (or its .history dict), got {logger!r}")


def gradient_norms(logger, stat="grad_norm/W", by="epoch", ax=None, log=True):
    """Per-layer gradient norms recorded by nnc.callbacks.LayerStatsLogger during fit.

    stat: a recorded statistic: "grad_norm/W" (||dL/dW||, default), "grad_norm/b", "update_ratio/W"
    (||W_after - W_before|| / ||W_before|| of a step), "dead_frac", "dx_norm", "act_std", ...; layers that did not record it are left out.
    by="epoch": one line per layer against the recorded epochs (gradients that shrink or blow up
    over training). by="layer": the value against the layer's depth, one line per recorded epoch
    (vanishing gradients: the norms fall towards the input in a deep sigmoid network).
    Log y axis unless log=False. Returns the Axes.

        stats = nnc.callbacks.LayerStatsLogger()
        model.fit(x, y, epochs=5, callbacks=[stats], verbose=0)
        nnc.plot.gradient_norms(stats, by="layer")
    """
    records, epochs = _stats(logger)
    # Layers in model order: forward statistics are recorded first, input side first (the gradients
    # come in backward order, output side first).
    order = list(dict.fromkeys(layer for layer, _ in records))
    layers = [layer for layer in order if (layer, stat) in records]
    if not layers:
        have = sorted({s for _, s in records})
        raise ValueError(f"gradient_norms: nothing recorded for {stat!r}; the recorded statistics are {have}")
    ax = axes(ax)
    n = len(records[(layers[0], stat)])
    epochs = np.arange(n) if epochs is None or len(epochs) != n else np.asarray(epochs)
    values = np.array([records[(layer, stat)] for layer in layers], dtype=np.float64)   # (layers, epochs)
    if by == "epoch":
        for layer, v in zip(layers, values):
            ax.plot(epochs + 1, v, marker="o", ms=3, label=layer)
        ax.set_xlabel("epoch")
    elif by == "layer":
        shown = range(n) if n <= 6 else np.unique(np.linspace(0, n - 1, 6).round().astype(int))
        depth = np.arange(1, len(layers) + 1)
        for j in shown:
            ax.plot(depth, values[:, j], marker="o", ms=3, label=f"epoch {epochs[j] + 1}")
        ax.set_xticks(depth)
        ax.set_xticklabels(layers, rotation=30, ha="right")
        ax.set_xlabel("layer (input side first)")
    else:
        raise ValueError(f"gradient_norms: by must be 'epoch' or 'layer', got {by!r}")
    if log and np.all(values[np.isfinite(values)] > 0):
        ax.set_yscale("log")
    ax.set_ylabel(stat)
    ax.set_title(f"{stat} per layer")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return ax


def histograms(model, param="W", bins=40, fig=None, ncols=4):
    """Histograms of one parameter ("W", "b", "gamma", ...) of every layer that has it, one panel per
    layer, with its mean and standard deviation (compare initializers, see what L1 or L2 do).
    model: a Sequential (built) or a list of layers. Returns the Figure.

        nnc.plot.histograms(model)              # the kernels W of each Dense / Conv2D layer
    """
    layers = getattr(model, "layers", model)
    chosen = [layer for layer in layers if param in getattr(layer, "params", {})]
    if not chosen:
        raise ValueError(f"histograms: no layer has a parameter {param!r} (is the model built?)")
    fig, panels = grid(len(chosen), ncols, fig, panel=(3.2, 2.6))
    for ax, layer in zip(panels, chosen):
        w = np.asarray(layer.params[param], dtype=np.float64).ravel()
        ax.hist(w[np.isfinite(w)], bins=bins, color="C0")
        ax.set_title(f"{layer.name}: {param} {tuple(layer.params[param].shape)}\n"
                     f"mean {w.mean():.3g}, std {w.std():.3g}", fontsize="medium")
        ax.set_xlabel(param)
    panels[0].set_ylabel("count")
    return fig


def confusion_matrix(cm, class_names=None, ax=None, normalize=False, cmap="Blues"):
    """Draw a confusion matrix cm (k, k): rows the true class, columns the predicted class, the count
    (or, with normalize=True, the fraction of the row) written in each cell. Returns the Axes.

        cm = nnc.metrics.confusion_matrix(y_test, model.predict(x_test).argmax(1))
        nnc.plot.confusion_matrix(cm, nnc.datasets.FASHION_MNIST_CLASSES)
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion_matrix: cm must be square (k, k), got shape {cm.shape}")
    k = cm.shape[0]
    names = [str(i) for i in range(k)] if class_names is None else [str(c) for c in class_names]
    if len(names) != k:
        raise ValueError(f"confusion_matrix: {k} classes but {len(names)} class_names")
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    ax = axes(ax, figsize=(1.0 + 0.55 * k, 0.6 + 0.5 * k) if k > 6 else (4.5, 4))
    im = ax.imshow(shown, cmap=cmap, vmin=0)
    top = float(np.max(shown)) if shown.size else 0.0
    for i in range(k):
        for j in range(k):
            text = f"{shown[i, j]:.2f}" if normalize else f"{cm[i, j]:g}"
            ax.text(j, i, text, ha="center", va="center", fontsize="small",
                    color="white" if shown[i, j] > 0.5 * top else "black")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xticklabels(names, rotation=45 if max(map(len, names)) > 2 else 0, ha="right")
    ax.set_yticklabels(names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return ax
