"""nnc.trace: one sample (or a few) through a Sequential, every quantity of backpropagation in lecture notation.

    t = nnc.trace(model, x[:1], y[:1], loss="half_squared_error")
    print(t)                      # a rounded text table with shapes and the equation of every number
    t                             # in a notebook: a Markdown table
    t.layers[0].z, t.layers[1].delta, t.layers[1].dW, t.loss       # the raw numbers (numpy arrays, a float)

Per layer l = 1..L (a_0 = x), forward then backward:
    z_l = a_{l-1} W_l + b_l        a_l = f(z_l)           L = loss(a_L, y)
    dL/da_l = delta_{l+1} W_{l+1}^T   (dL/da_L from the loss)
    delta_l = dL/dz_l = dL/da_l * f'(z_l)      e.g. delta_L = (a_L - y) * a_L (1 - a_L) (sigmoid, 1/2 ||a_L - y||^2)
    dW_l = a_{l-1}^T delta_l       db_l = sum over samples of delta_l
This is nnc's convention: rows are samples, Dense W is (in, out), z = a W + b. The lectures write one sample as a
column, W as (out, in) and z = W a + b; notation="lecture" prints W, dW (transposed: W[j, i] is the weight from unit i
to unit j) and the column vectors that way, with the equations z_l = W_l a_{l-1} + b_l, dW_l = delta_l a_{l-1}^T,
dL/da_{l-1} = W_l^T delta_l. The arrays in t.layers are always nnc's.

Fused activations (Dense(4, activation="sigmoid")) are traced inside the layer: z and delta are recorded where the
layer computes them. Dense layers are printed in full up to `max_entries` numbers per array; Conv2D and pooling layers
by their shapes and a few entries. The trace runs the model's own forward and backward (inference mode: no dropout,
batch norm on running statistics) and leaves the model as it was: its parameters and the gradients an optimizer would
read are restored.
"""
import copy
import html
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

__all__ = ["trace", "Trace", "LayerTrace"]

# f'(z) written with the layer's output a, as the lectures do
_DERIVATIVE = {"sigmoid": "a_{l} (1 - a_{l})", "tanh": "(1 - a_{l}^2)", "relu": "[z_{l} > 0]", "identity": "1"}
_FEW = 6   # entries shown of a conv or pooling array


@dataclass
class LayerTrace:
    """One layer's numbers for the traced samples (nnc's layout: rows are samples, Dense W (in, out)).

    input = a_{l-1}, z = z_l (pre-activation; None for a layer without one), a = a_l (output),
    dL_da = dL/da_l, delta = dL/dz_l, dW, db (None without parameters), dx = dL/da_{l-1} (None for
    the first layer), equations: quantity -> the equation it came from."""
    index: int
    name: str
    kind: str
    activation: Optional[str]
    input: np.ndarray
    z: Optional[np.ndarray]
    a: np.ndarray
    W: Optional[np.ndarray] = None
    b: Optional[np.ndarray] = None
    dL_da: Optional[np.ndarray] = None
    delta: Optional[np.ndarray] = None
    dW: Optional[np.ndarray] = None
    db: Optional[np.ndarray] = None
    dx: Optional[np.ndarray] = None
    equations: Dict[str, str] = field(default_factory=dict)


@dataclass
class Trace:
    """What nnc.trace recorded: `layers` (LayerTrace, first to last), `x`, `y`, `output` (= a_L), `loss`
    (a float), `loss_name`, `notation`. str(t) / t.table() / print(t): a text table;
    _repr_markdown_ / _repr_html_: the same table in a notebook."""
    layers: List[LayerTrace]
    x: np.ndarray
    y: np.ndarray
    output: np.ndarray
    loss: float
    loss_name: str
    loss_equation: str
    notation: str = "nnc"
    max_entries: int = 64
    digits: int = 4

    def rows(self):
        """(section, quantity, shape, value lines, equation) for every row of the table."""
        out = [("forward", "a_0 = x", _shape(self.x, self._lecture), self._values(self.x, self.x.ndim == 2), "input")]
        for lt in self.layers:
            out += [(f"layer {lt.index}: {lt.name} ({lt.kind}{', ' + lt.activation if lt.activation else ''})",
                     q, _shape(v, self._lecture and t != "raw"), self._values(v, full, t), lt.equations.get(k, ""))
                    for k, q, v, full, t in self._forward_items(lt)]
        out.append(("loss", f"L ({self.loss_name})", "()", [f"{self.loss:.{self.digits}g}"], self.loss_equation))
        for lt in reversed(self.layers):
            items = self._backward_items(lt)
            if lt.index < len(self.layers) and self.layers[lt.index].dx is not None:
                items = items[1:]   # dL/da_l is the row above: the next layer's dL/da_{l-1}
            out += [(f"backward, layer {lt.index}: {lt.name}", q, _shape(v, self._lecture and t != "raw"),
                     self._values(v, full, t), lt.equations.get(k, ""))
                    for k, q, v, full, t in items]
        return out

    _lecture = property(lambda self: self.notation == "lecture")

    def _full(self, lt):
        return lt.kind == "Dense" or lt.a.ndim == 2

    def _forward_items(self, lt):
        l, full = lt.index, self._full(lt)
        items = []
        if lt.W is not None:
            items.append(("W", f"W_{l}", lt.W, full, "weight"))
            if lt.b is not None:
                items.append(("b", f"b_{l}", lt.b, full, "raw"))
        if lt.z is not None:
            items.append(("z", f"z_{l}", lt.z, full, "vec"))
        items.append(("a", f"a_{l}", lt.a, full, "vec"))
        return items

    def _backward_items(self, lt):
        l, full = lt.index, self._full(lt)
        items = [("dL_da", f"dL/da_{l}", lt.dL_da, full, "vec")]
        if lt.delta is not None:   # None: a first activation layer, which skips dL/dx
            items.append(("delta", f"delta_{l} = dL/dz_{l}", lt.delta, full, "vec"))
        if lt.W is not None:
            items.append(("dW", f"dW_{l}", lt.dW, full, "weight"))
            if lt.db is not None:
                items.append(("db", f"db_{l}", lt.db, full, "raw"))
        if lt.dx is not None:
            items.append(("dx", f"dL/da_{l - 1}", lt.dx, full, "vec"))
        return items

    def _values(self, a, full, kind="vec"):
        if a is None:
            return ["-"]
        a = np.asarray(a, dtype=np.float64)
        if self._lecture and kind in ("vec", "weight") and a.ndim == 2:
            a = a.T
            if kind == "vec" and a.shape[1] == 1:
                return [_row(a[:, 0], self.digits) + "^T"]
        if not full or a.size > self.max_entries:
            flat = a.reshape(-1)
            more = f" ... ({flat.size} entries, min {flat.min():.3g}, max {flat.max():.3g})" if flat.size > _FEW else ""
            return [_row(flat[:_FEW], self.digits)[:-1] + (", ..." if more else "") + "]" + more]
        if a.ndim <= 1:
            return [_row(a.reshape(-1), self.digits)]
        return [_row(r, self.digits) for r in a.reshape(a.shape[0], -1)]

    def table(self):
        """The text table: per layer its numbers, shapes and equations, forward then backward."""
        rows = self.rows()
        wq = max(len(r[1]) for r in rows)
        ws = max(len(r[2]) for r in rows)
        wv = min(60, max(len(v) for r in rows for v in r[3]))
        conv = ("z = W a + b, W (out, in), one sample a column" if self._lecture
                else "z = a W + b, W (in, out), one sample a row")
        lines = [f"trace of {self.x.shape[0]} sample{'s' if self.x.shape[0] != 1 else ''}, "
                 f"loss {self.loss_name} = {self.loss:.{self.digits}g}   (notation: {self.notation}: {conv})"]
        section = None
        for sec, q, shape, values, eq in rows:
            if sec != section:
                lines.append(f"-- {sec}")
                section = sec
            for i, v in enumerate(values):
                first = i == 0
                lines.append(f"  {q if first else '':<{wq}}  {shape if first else '':<{ws}}  {v:<{wv}}"
                             f"  {eq if first else ''}".rstrip())
        return "\n".join(lines)

    __str__ = table

    def _repr_markdown_(self):
        lines = [f"**trace**, loss {self.loss_name} = {self.loss:.{self.digits}g} (notation: {self.notation})", "",
                 "| | quantity | shape | values | equation |", "|---|---|---|---|---|"]
        section = None
        for sec, q, shape, values, eq in self.rows():
            head = f"**{sec}**" if sec != section else ""
            section = sec
            cell = "<br>".join(v.replace("|", "\\|") for v in values)
            lines.append(f"| {head} | `{q}` | {shape} | {cell} | `{eq}` |" if eq else
                         f"| {head} | `{q}` | {shape} | {cell} | |")
        return "\n".join(lines)

    def _repr_html_(self):
        cells = []
        section = None
        for sec, q, shape, values, eq in self.rows():
            if sec != section:
                cells.append(f"<tr><th colspan='4' style='text-align:left'>{html.escape(sec)}</th></tr>")
                section = sec
            vals = "<br>".join(html.escape(v) for v in values)
            cells.append(f"<tr><td><code>{html.escape(q)}</code></td><td>{shape}</td>"
                         f"<td><pre style='margin:0'>{vals}</pre></td><td><code>{html.escape(eq)}</code></td></tr>")
        return (f"<p>trace, loss {html.escape(self.loss_name)} = {self.loss:.{self.digits}g} "
                f"(notation: {self.notation})</p><table>"
                "<tr><th>quantity</th><th>shape</th><th>values</th><th>equation</th></tr>"
                + "".join(cells) + "</table>")


def _row(v, digits):
    return "[" + ", ".join(f"{x:.{digits}g}" for x in v) + "]"


def _shape(a, lecture):
    if a is None:
        return "-"
    shape = np.shape(a)
    return str(tuple(reversed(shape)) if lecture and len(shape) == 2 else shape)


def _activation_name(layer):
    act = getattr(layer, "activation", None)
    if act is None:
        return None
    return getattr(act, "activation", None) or getattr(act, "kernel", None) or type(act).__name__.lower()


class _Recorder:
    """Records z (the fused activation's input) and delta (what its backward returns) by shadowing the
    activation's forward/backward on the instance for the trace's two calls; removed afterwards."""

    def __init__(self, act):
        self.act, self.z, self.delta = act, None, None

    def __enter__(self):
        fwd, bwd = self.act.forward, self.act.backward

        def forward(z, training=False):
            self.z = np.array(z)
            return fwd(z, training)

        def backward(dout):
            self.delta = np.array(bwd(dout))
            return self.delta

        self.act.forward, self.act.backward = forward, backward
        return self

    def __exit__(self, *exc):
        del self.act.forward, self.act.backward
        return False


def _loss_equations(loss, n):
    """(L's equation, dL/da_L's equation, its factor as text for delta_L)."""
    per_n = "" if n == 1 else " / N"
    name = getattr(loss, "name", "")
    if getattr(loss, "reduction", "mean") != "mean":
        name = ""   # other reductions: scaled as the loss docstring says; shown without a formula
    if name == "half_squared_error":
        return ("L = 1/2 sum_k (a_Lk - y_k)^2" + (" averaged over the N samples" if n > 1 else ""),
                "dL/da_L = a_L - y" if n == 1 else "dL/da_L = (a_L - y) / N", f"(a_L - y){per_n}")
    if name == "mean_squared_error":
        return ("L = 1/(N K) sum (a_L - y)^2", "dL/da_L = 2 (a_L - y) / (N K)", "2 (a_L - y) / (N K)")
    if name == "softmax_cross_entropy" or (name.endswith("categorical_crossentropy") and loss.from_logits):
        return ("L = -log softmax(a_L)_y" + (" averaged over N" if n > 1 else ""),
                f"dL/da_L = (softmax(a_L) - onehot(y)){per_n}", f"(softmax(a_L) - onehot(y)){per_n}")
    return (f"L = {type(loss).__name__}(a_L, y)", "dL/da_L = loss.backward()", "dL/da_L")


def _equations(lt, nxt, last, n, loss_eqs, lecture):
    """The equation of each quantity of layer lt, in nnc's or the lecture's notation."""
    l, p = lt.index, lt.index - 1
    L = "L" if last else l
    eq = {}
    act = lt.activation
    if lt.kind == "Dense":
        eq["z"] = f"z_{l} = W_{l} a_{p} + b_{l}" if lecture else f"z_{l} = a_{p} W_{l} + b_{l}"
        eq["dW"] = f"dW_{l} = delta_{l} a_{p}^T" if lecture else f"dW_{l} = a_{p}^T delta_{l}"
        eq["dx"] = f"dL/da_{p} = W_{l}^T delta_{l}" if lecture else f"dL/da_{p} = delta_{l} W_{l}^T"
        eq["db"] = f"db_{l} = delta_{l}" if n == 1 else f"db_{l} = sum over samples of delta_{l}"
    elif lt.kind == "Conv2D":
        eq["z"] = f"z_{l} = W_{l} * a_{p} + b_{l}  (cross-correlation, im2col)"
        eq["dW"] = f"dW_{l} = sum over positions of delta_{l} x (patch of a_{p})"
        eq["dx"] = f"dL/da_{p} = delta_{l} correlated back through W_{l} (col2im)"
        eq["db"] = f"db_{l} = sum over samples and positions of delta_{l}"
    elif lt.kind == "MaxPool2D":
        eq["a"] = f"a_{l} = max of each window of a_{p}"
        eq["dx"] = f"dL/da_{p} = dL/da_{l} sent to each window's argmax, 0 elsewhere"
    elif lt.kind == "AvgPool2D":
        eq["a"] = f"a_{l} = mean of each window of a_{p}"
        eq["dx"] = f"dL/da_{p} = dL/da_{l} spread equally over each window"
    elif lt.kind == "Flatten":
        eq["a"] = f"a_{l} = a_{p} reshaped to (N, features)"
        eq["dx"] = f"dL/da_{p} = dL/da_{l} reshaped back"
    elif lt.z is not None:   # a standalone activation layer: z is its input
        eq["a"] = f"a_{l} = {act}(a_{p})"
    if "a" not in eq:
        eq["a"] = f"a_{l} = {act}(z_{l})" if act else (f"a_{l} = z_{l}" if lt.z is not None else f"a_{l}")
    if p == 0:
        eq.setdefault("input", "x")
    # dL/da_l comes from the loss or from the next layer
    if last:
        eq["dL_da"] = loss_eqs[1]
        upstream = loss_eqs[2]
    elif nxt is not None and nxt.kind == "Dense":
        eq["dL_da"] = (f"dL/da_{l} = W_{l + 1}^T delta_{l + 1}" if lecture
                       else f"dL/da_{l} = delta_{l + 1} W_{l + 1}^T")
        upstream = f"(W_{l + 1}^T delta_{l + 1})" if lecture else f"(delta_{l + 1} W_{l + 1}^T)"
    else:
        eq["dL_da"] = f"dL/da_{l} = dL/da_{l} of layer {l + 1}"
        upstream = f"dL/da_{l}"
    if lt.z is not None:
        fprime = _DERIVATIVE.get(act or "identity")
        if fprime is None:
            eq["delta"] = f"delta_{L} = {upstream} * {act}'(z_{L})" if act != "softmax" else \
                f"delta_{L} = J_softmax(z_{L})^T {upstream}"
        elif fprime == "1":
            eq["delta"] = f"delta_{L} = {upstream}"
        else:
            eq["delta"] = f"delta_{L} = {upstream} * {fprime.format(l=L)}"
    return eq


def trace(model, x, y, loss=None, notation="nnc", max_entries=64, digits=4):
    """Trace samples x (N, *input_shape), or one sample without the batch axis, with targets y through a
    Sequential: forward, loss and backward, every layer's a_{l-1}, z_l, a_l, dL/da_l, delta_l, dW_l, db_l
    with their equations (the module docstring lists them). Returns a Trace.

    loss: a loss object or name ("half_squared_error" is the lectures' 1/2 ||a - y||^2); None uses the
    loss the model was compiled with. notation: "nnc" (z = a W + b, W (in, out)) or "lecture"
    (z = W a + b, W (out, in)). max_entries: arrays of Dense layers up to this size are printed in full."""
    from . import losses as losses_mod
    from .models import Sequential
    from .models import _fit_checks as checks

    if not isinstance(model, Sequential):
        raise TypeError(f"trace: model must be an nnc.Sequential, got {type(model).__name__}")
    if notation not in ("nnc", "lecture"):
        raise ValueError(f"trace: notation must be 'nnc' (z = a W + b) or 'lecture' (z = W a + b), got {notation!r}")
    if loss is None:
        if model.loss is None:
            raise ValueError("trace: no loss given and the model is not compiled; pass loss=..., e.g. "
                             "loss='half_squared_error' (the lectures' 1/2 ||a - y||^2)")
        loss = model.loss
    loss_fn = copy.deepcopy(losses_mod.get(loss))   # its cache is the caller's too
    x = np.asarray(x)
    shape = model.layers[0].input_shape if model.built else getattr(model.layers[0], "input_shape", None)
    if shape is not None and x.shape == tuple(shape):
        x, y = x[None], np.asarray(y)[None]          # one sample without its batch axis
    x = checks.as_inputs("trace", x, model.dtype)
    if not model.built:
        model.build(x.shape[1:])

    layers = model.layers
    saved = [dict(layer.grads) for layer in layers]   # what an optimizer would read next: restored below
    outs, dxs = {}, {}

    def hook(layer, event, array):
        (outs if event == "forward" else dxs)[id(layer)] = None if array is None else np.array(array)

    recorders = [_Recorder(lyr.activation) if getattr(lyr, "activation", None) is not None and
                 hasattr(lyr, "params") and "W" in lyr.params else None for lyr in layers]
    try:
        for r in recorders:
            if r is not None:
                r.__enter__()
        with model.register_hook(hook):
            out = model.forward(x)
            value = loss_fn.forward(out, y)
            dout = loss_fn.backward()
            model.backward(dout)
        traced = []
        a_prev = x
        for i, layer in enumerate(layers):
            a = outs[id(layer)]
            r = recorders[i]
            kind = type(layer).__name__
            has_w = "W" in layer.params
            if r is not None:
                z, act = r.z, _activation_name(layer)
            elif has_w:
                z, act = a, None
            elif getattr(layer, "kernel", None) is not None and not layer.params:   # an activation layer
                z, act = a_prev, getattr(layer, "activation", None) or layer.kernel
            else:
                z, act = None, None
            lt = LayerTrace(i + 1, layer.name, kind, act, np.array(a_prev), None if z is None else np.array(z), a,
                            W=np.array(layer.params["W"]) if has_w else None,
                            b=np.array(layer.params["b"]) if "b" in layer.params else None,
                            dW=np.array(layer.grads["W"]) if has_w else None,
                            db=np.array(layer.grads["b"]) if "b" in layer.grads else None,
                            dx=dxs.get(id(layer)) if i > 0 else None)
            traced.append(lt)
            a_prev = a
        for i, lt in enumerate(traced):
            lt.dL_da = np.array(dout) if i == len(traced) - 1 else traced[i + 1].dx
            r = recorders[i]
            if r is not None:
                lt.delta = r.delta
            elif lt.z is not None:
                lt.delta = lt.dL_da if lt.W is not None else lt.dx   # no activation / activation layer: dL/dz
    finally:
        for r in recorders:
            if r is not None:
                r.__exit__()
        for layer, g in zip(layers, saved):
            layer.grads.clear()
            layer.grads.update(g)

    lecture = notation == "lecture"
    loss_eqs = _loss_equations(loss_fn, x.shape[0])
    for i, lt in enumerate(traced):
        nxt = traced[i + 1] if i + 1 < len(traced) else None
        lt.equations = _equations(lt, nxt, nxt is None, x.shape[0], loss_eqs, lecture)
    return Trace(traced, x, np.asarray(y), out, float(value), loss_fn.name, loss_eqs[0], notation,
                 int(max_entries), int(digits))
