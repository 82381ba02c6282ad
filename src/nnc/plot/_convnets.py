"""Convolutional networks: the filters of a layer, and the feature maps of one image."""
import math

import numpy as np

from ._common import axes, pyplot

__all__ = ["filters", "feature_maps"]


def _mosaic(tiles, nrows, ncols, gap=1):
    """tiles (n, h, w[, 3]) -> one image of nrows x ncols tiles separated by `gap` NaN pixels."""
    n, h, w = tiles.shape[:3]
    extra = tiles.shape[3:]
    out = np.full((nrows * (h + gap) - gap, ncols * (w + gap) - gap) + extra, np.nan)
    for i in range(n):
        r, c = divmod(i, ncols)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = tiles[i]
    return out


def filters(conv_layer_or_W, ax=None, rgb=None, cmap="RdBu_r", colorbar=True):
    """The filters of a convolution as a grid of small images, on one Axes.

    conv_layer_or_W: a built Conv2D (its params["W"]) or an array W (F, C, kh, kw) (also (F, kh, kw)).
    One input channel (C = 1): the F filters on a near-square grid. Three channels and rgb=True
    (the default for C = 3): each filter as a colour image, scaled to [0, 1] per filter. Otherwise
    one tile per (filter, input channel): a column per filter and a row per channel (the other way
    round when there are fewer filters than channels, so the grid is wider than tall). Tiles that
    are not RGB share one colour scale symmetric about 0 (red positive, blue negative, white 0),
    with a colour bar; grey lines separate them.
    Returns the Axes.

        nnc.plot.filters(model.layers[0])          # conv1 of LeNet-5: 6 filters 5x5
    """
    if hasattr(conv_layer_or_W, "params"):
        if "W" not in conv_layer_or_W.params:
            raise ValueError(f"filters: {conv_layer_or_W!r} has no weights W (is the model built?)")
        conv_layer_or_W = conv_layer_or_W.params["W"]
    W = conv_layer_or_W
    W = np.asarray(W, dtype=np.float64)
    if W.ndim == 3:
        W = W[:, None]
    if W.ndim != 4:
        raise ValueError(f"filters: W must be (F, C, kh, kw), got shape {W.shape}")
    F, C, kh, kw = W.shape
    rgb = C == 3 if rgb is None else rgb
    if rgb and C == 3:
        lo = W.min(axis=(1, 2, 3), keepdims=True)
        span = np.maximum(W.max(axis=(1, 2, 3), keepdims=True) - lo, 1e-12)
        tiles = ((W - lo) / span).transpose(0, 2, 3, 1)             # (F, kh, kw, 3)
        ncols = math.ceil(math.sqrt(F))
        image = _mosaic(tiles, math.ceil(F / ncols), ncols)
        title = f"{F} filters {kh}x{kw} (RGB)"
    elif C == 1:
        ncols = math.ceil(math.sqrt(F))
        image = _mosaic(W[:, 0], math.ceil(F / ncols), ncols)
        title = f"{F} filters {kh}x{kw}"
    elif F >= C:          # wider than tall: one column per filter
        image = _mosaic(W.transpose(1, 0, 2, 3).reshape(C * F, kh, kw), C, F)
        title = f"{F} filters (columns) x {C} channels (rows), {kh}x{kw}"
    else:
        image = _mosaic(W.reshape(F * C, kh, kw), F, C)
        title = f"{F} filters (rows) x {C} channels (columns), {kh}x{kw}"
    if ax is None:        # a figure shaped like the mosaic, with room for the title and colour bar
        width = min(10.0, max(3.0, 0.12 * image.shape[1]))
        height = min(8.0, width * image.shape[0] / image.shape[1])
        ax = axes(None, figsize=(width + 1.2, height + 0.6))
    if image.ndim == 3:
        ax.imshow(np.nan_to_num(image, nan=1.0), interpolation="nearest")
    else:
        from matplotlib import colormaps
        cm = colormaps[cmap].with_extremes(bad="0.85")     # the gaps between tiles
        top = float(np.nanmax(np.abs(image))) or 1.0
        im = ax.imshow(np.ma.masked_invalid(image), cmap=cm, vmin=-top, vmax=top, interpolation="nearest")
        if colorbar:
            ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.set_title(title, fontsize="medium")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def _select(model, layers):
    if layers is None:
        return None
    chosen = set()
    for key in layers:
        if isinstance(key, str):
            names = [layer.name for layer in model.layers]
            if key not in names:
                raise ValueError(f"feature_maps: no layer named {key!r}; the layers are {names}")
            chosen.add(names.index(key))
        else:
            chosen.add(int(key) % len(model.layers))
    return chosen


def feature_maps(model, image, layers=None, max_maps=8, fig=None, cmap="viridis"):
    """The feature maps of one image after each chosen layer: one row per layer (the input first),
    one panel per channel (the first max_maps of them), each on its own colour scale (a map that is
    zero everywhere, a dead ReLU channel, is one flat colour). The input is drawn in grey.

    model: a Sequential of image layers (built, or built here from the image's shape); image: one
    image (C, H, W), (H, W) or (1, C, H, W). The image goes through model.layers one at a time
    (training=False). layers: names or indices of the layers to show; None shows every layer whose
    output is still an image (N, C, H, W). A layer with a flat output (Dense) shows its units as a
    strip. Returns the Figure.

        nnc.plot.feature_maps(lenet, x_test[0], layers=["conv1", "relu1", "pool1", "conv2", "relu2"])
    """
    x = np.asarray(image)
    x = x[None, None] if x.ndim == 2 else x[None] if x.ndim == 3 else x
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"feature_maps: image must be (C, H, W), (H, W) or (1, C, H, W), got {np.shape(image)}")
    x = np.ascontiguousarray(x, dtype=getattr(model, "dtype", np.float32))
    if not getattr(model, "built", True):
        model.build(x.shape[1:])
    chosen = _select(model, layers)
    rows = [("input", x)]
    out = x
    for i, layer in enumerate(model.layers):
        out = layer.forward(out, training=False)
        if (chosen is None and out.ndim == 4) or (chosen is not None and i in chosen):
            rows.append((f"{layer.name}\n{tuple(out.shape[1:])}", out))
    ncols = max(min(r[1].shape[1], max_maps) if r[1].ndim == 4 else 1 for r in rows)
    if fig is None:
        fig = pyplot().figure(figsize=(1.5 * ncols + 0.5, 1.6 * len(rows)), layout="constrained")
    panels = fig.subplots(len(rows), ncols, squeeze=False)
    for (label, a), row in zip(rows, panels):
        a = np.asarray(a[0], dtype=np.float64)
        maps = a if a.ndim == 3 else a.reshape(1, 1, -1)
        for j, p in enumerate(row):
            p.set_xticks([])
            p.set_yticks([])
            if j >= min(maps.shape[0], max_maps):
                p.set_visible(False)
                continue
            p.imshow(maps[j], cmap="gray" if label == "input" else cmap, interpolation="nearest",
                     aspect="equal" if a.ndim == 3 else "auto")
            if a.ndim == 3 and maps.shape[0] > 1:
                p.set_title(f"channel {j}", fontsize="x-small")
        row[0].set_ylabel(label, fontsize="small")
    return fig
