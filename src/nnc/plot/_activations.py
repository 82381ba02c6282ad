"""Activation functions and their derivatives, computed by the reference backend's kernels."""
import numpy as np

from ._common import axes, grid

__all__ = ["activation", "activations"]


def _curves(name_or_layer, x):
    """(title, f(x), f'(x) or None) through the reference kernel pair <kernel>_forward/_backward."""
    from ..backend import reference
    from ..layers import activations as layers

    layer = layers.get(name_or_layer)
    if layer is not None and getattr(layer, "kernel", None) is None and hasattr(layer, "activation"):
        layer = layer.activation       # a Dense or Conv2D layer: its fused activation
        if layer is None:
            return "linear", x.copy(), np.ones_like(x)
    if layer is None:       # "linear"
        return "linear", x.copy(), np.ones_like(x)
    if type(layer).__name__ == "PReLU":    # a learned slope: draw the layer's (or the initial) alpha
        alpha = layer.params.get("alpha")
        alpha = float(np.mean(alpha)) if alpha is not None else float(layer.alpha_initializer)
        out, cache = reference.prelu_forward(x[:, None], np.asarray([alpha]))
        grad = reference.prelu_backward(np.ones((x.size, 1)), cache)[0]
        return f"prelu({alpha:g})", out[:, 0], grad[:, 0]
    kernel = getattr(layer, "kernel", None)
    if kernel is None or kernel == "softmax" or not hasattr(reference, f"{kernel}_forward"):
        raise ValueError(f"activation: {name_or_layer!r} has no element-wise kernel pair to draw (softmax "
                         "mixes the units of a sample: it has no curve of one x)")
    args = layer._kernel_args() if hasattr(layer, "_kernel_args") else ()
    out, cache = getattr(reference, f"{kernel}_forward")(x, *args)
    try:
        grad = getattr(reference, f"{kernel}_backward")(np.ones_like(x), cache)
    except (RuntimeError, NotImplementedError, ValueError):
        grad = None          # the step: no gradient to backpropagate
    title = kernel if not args else f"{kernel}({', '.join(f'{a:g}' for a in args)})"
    return title, np.asarray(out), None if grad is None else np.asarray(grad)


def _tails(flat):
    """The part of the boolean mask `flat` joined to either end of x: the saturated tails (not a
    point inside where f' crosses zero, as GELU's does near x = -0.75)."""
    out = np.zeros_like(flat)
    if flat.size:
        left = np.argmin(flat) if not flat.all() else flat.size
        right = np.argmin(flat[::-1]) if not flat.all() else flat.size
        out[:left] = True
        out[flat.size - right:] = True
    return out


def activation(name_or_layer, x=None, ax=None, saturation=0.05):
    """An activation f (solid) and its derivative f' (dashed) on one Axes.

    name_or_layer: a Keras name ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "swish",
    "softplus", "step", ...), an activation layer (nnc.layers.LeakyReLU(0.1)) or a layer with a fused
    activation (Dense(64, activation="tanh"): its tanh). x: the inputs, a
    1-D array (default 401 points in [-5, 5]). The tails where |f'| < saturation (0.05 by default;
    None: no shading) are shaded: the unit saturates there and passes back almost no gradient.
    The step function has no gradient (backpropagation cannot train it): its f' is drawn as 0.
    Values come from the reference backend's <name>_forward / <name>_backward kernels.
    Returns the Axes.

        nnc.plot.activation("sigmoid")    # f' peaks at 0.25 at x = 0
    """
    x = np.linspace(-5.0, 5.0, 401) if x is None else np.asarray(x, dtype=np.float64).ravel()
    title, f, df = _curves(name_or_layer, x)
    ax = axes(ax)
    ax.axhline(0, color="0.7", lw=0.8)
    ax.axvline(0, color="0.7", lw=0.8)
    ax.plot(x, f, lw=2, label="f(x)")
    if df is None:
        ax.plot(x, np.zeros_like(x), "--", lw=2, label="f'(x) = 0 (no gradient)")
    else:
        ax.plot(x, df, "--", lw=2, label="f'(x)")
        if saturation is not None:
            flat = _tails(np.abs(df) < saturation)
            if flat.any():
                ax.fill_between(x, 0, 1, where=flat, color="C3", alpha=0.12, lw=0,
                                transform=ax.get_xaxis_transform(), label=f"|f'| < {saturation:g}")
    ax.set_title(title)
    ax.set_xlabel("x")
    ax.set_ylabel("f(x), f'(x)")
    ax.legend(fontsize="small", loc="best")
    ax.grid(alpha=0.3)
    return ax


def activations(names=("sigmoid", "tanh", "relu"), x=None, fig=None, ncols=3, saturation=0.05):
    """Several activations, each with its derivative, on a grid of panels (see activation).
    Returns the Figure.

        nnc.plot.activations(["sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu"])
    """
    names = [names] if isinstance(names, str) else list(names)
    if not names:
        raise ValueError("activations: give at least one activation")
    fig, panels = grid(len(names), ncols, fig)
    for ax, name in zip(panels, names):
        activation(name, x=x, ax=ax, saturation=saturation)
    return fig
