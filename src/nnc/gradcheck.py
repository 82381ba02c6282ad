"""Check analytic gradients against centered finite differences.

    df/dx[i] ~ (f(x + h e_i) - f(x - h e_i)) / (2h)            (error O(h^2))

Run in float64: with h = 1e-6 the truncation error is ~1e-12 and rounding ~1e-10, so a correct
backward pass shows relative errors below ~1e-6, and a wrong one shows errors near 1.
`gradcheck` works on a float64 copy of the layer or model: the caller's parameters (their dtype,
values and the very arrays an optimizer holds) and random state are left exactly as they were.
"""
import copy
from typing import Dict, NamedTuple, Tuple

import numpy as np


def numerical_gradient(f, x, h=1e-6):
    """Centered differences of the scalar function f() w.r.t. array x (perturbed in place, restored).

    f takes no arguments: it reads x (and whatever else) itself. Returns an array shaped like x."""
    grad = np.zeros(x.shape, dtype=np.float64)
    flat, gflat = x.reshape(-1), grad.reshape(-1)  # views: writing flat writes x
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        f_plus = float(f())
        flat[i] = old - h
        f_minus = float(f())
        flat[i] = old
        gflat[i] = (f_plus - f_minus) / (2 * h)
    return grad


def _entry_errors(a, n):
    """|a - n| / max(|a| + |n|, 1e-8) entry by entry (float64)."""
    return np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), 1e-8)


def relative_error(analytic, numeric):
    """max |a - n| / max(|a| + |n|, 1e-8): scale-free, and 0/0-safe for exactly zero gradients."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    return float(np.max(_entry_errors(a, n))) if a.size else 0.0


class GradEntry(NamedTuple):
    """One entry of a gradient: where it is, both values and their relative error."""
    tensor: str        # "x", "W", "1.dense.b", ...
    position: tuple    # index into that tensor, e.g. (2, 0) (not "index": a tuple's own method)
    analytic: float    # from backward()
    numeric: float     # from finite differences
    error: float       # |analytic - numeric| / max(|analytic| + |numeric|, 1e-8)

    def __str__(self):
        return (f"{self.tensor}[{', '.join(map(str, self.position))}]: backward {self.analytic:+.6e}, "
                f"finite differences {self.numeric:+.6e} (relative error {self.error:.1e})")


def worst_entries(analytic, numeric, name="", top=3):
    """The `top` entries with the largest relative error, worst first, as GradEntry records."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    if a.size == 0 or top <= 0:
        return []
    err = np.nan_to_num(_entry_errors(a, n), nan=np.inf).reshape(-1)   # a NaN entry is the worst of all
    order = np.argsort(-err, kind="stable")[:top]
    return [GradEntry(name, tuple(int(i) for i in np.unravel_index(k, a.shape)), float(a.reshape(-1)[k]),
                      float(n.reshape(-1)[k]), float(err[k])) for k in order]


class GradcheckReport(NamedTuple):
    errors: Dict[str, float]   # name ("x", "W", "b", "layer0.W", ...) -> worst relative error
    tolerance: float
    entries: Tuple[GradEntry, ...] = ()   # the worst entries of each tensor, worst tensor first

    @property
    def ok(self):
        return all(e <= self.tolerance for e in self.errors.values())

    @property
    def worst(self):
        return max(self.errors.values()) if self.errors else 0.0

    def __str__(self):
        rows = [f"  {k:<20s} {v:.3e}  {'ok' if v <= self.tolerance else 'FAIL'}" for k, v in self.errors.items()]
        text = "gradcheck (worst relative error per tensor):\n" + "\n".join(rows)
        bad = [e for e in self.entries if e.error > self.tolerance]
        if bad:
            text += "\nworst entries (backward vs finite differences):\n" + "\n".join(f"  {e}" for e in bad)
        return text


def _layers_and_prefixes(obj):
    if hasattr(obj, "layers"):  # a model
        return [(f"{i}.{layer.name}.", layer) for i, layer in enumerate(obj.layers)]
    return [("", obj)]


def _all_layers(layer):
    """The layer and the layers inside it (a fused activation such as Dense(..., activation=PReLU()))."""
    from .layers.base import Layer
    yield layer
    for v in vars(layer).values():
        if isinstance(v, Layer):
            yield from _all_layers(v)


def _float64_copy(obj):
    """A deep copy of the layer or model that computes in float64. The optimizer, loss, history and
    watchers are not copied (the check never uses them; watchers would see its calls)."""
    shared = {id(v): v for k, v in vars(obj).items() if k in ("optimizer", "loss", "metrics", "history")}
    work = copy.deepcopy(obj, memo=shared)
    if hasattr(work, "watchers"):
        work.watchers = []
    if hasattr(work, "layers"):
        work.dtype = np.dtype(np.float64)
    for _, top in _layers_and_prefixes(work):
        for layer in _all_layers(top):
            if getattr(layer, "dtype", None) is not None:
                layer.dtype = np.dtype(np.float64)
            for store in (layer.params, layer.grads, getattr(layer, "buffers", {})):  # buffers: running stats
                for k in store:
                    store[k] = np.ascontiguousarray(store[k], dtype=np.float64)
    return work


def gradcheck(obj, x, y=None, loss=None, h=1e-6, tol=1e-6, seed=0, check_input=True, training=False, top=3):
    """Compare backward() of a layer or model with finite differences, in float64.

    Without `loss`, the scalar checked is L = sum(out * R) for a fixed random R, so dL/dout = R and
    every output element takes part. With `loss` (a loss object or name) and targets `y`, L is that
    loss. The check runs on a float64 copy: `obj` itself (parameters, their dtype and identity,
    running statistics, random state) does not change, so training can go on after it. Returns a
    GradcheckReport; `report.ok` says whether every tensor is within `tol`, `report.entries` holds
    the `top` worst entries of each tensor (index, backward and numeric values). training=True
    checks the training-mode pass (batch statistics in batch norm); layers that draw random masks
    must be deterministic for that (e.g. dropout rate 0)."""
    from . import losses as losses_mod

    x = np.array(x, dtype=np.float64)
    work = _float64_copy(obj)
    pairs = _layers_and_prefixes(work)

    def forward(inp, training):
        return work.forward(inp, training=training)

    out = forward(x, training)       # unbuilt layers build here (in the copy), in float64
    pairs = _layers_and_prefixes(work)

    if loss is None:
        R = np.random.default_rng(seed).standard_normal(out.shape)

        def scalar():
            return float(np.sum(forward(x, training) * R))

        dout = R
    else:
        loss_fn = losses_mod.get(loss)
        if not isinstance(loss, str):
            loss_fn = copy.deepcopy(loss_fn)   # its cache is the caller's too

        def scalar():
            return loss_fn.forward(forward(x, training), y)

        loss_fn.forward(out, y)
        dout = loss_fn.backward()

    forward(x, training)
    dx = work.backward(dout)
    analytic = {f"{p}{k}": np.array(layer.grads[k]) for p, layer in pairs for k in layer.params}
    numeric = {}
    if check_input and dx is not None:
        analytic = {"x": np.array(dx), **analytic}
        numeric["x"] = numerical_gradient(scalar, x, h)
    for p, layer in pairs:
        for k, param in layer.params.items():
            numeric[f"{p}{k}"] = numerical_gradient(scalar, param, h)
    errors = {k: relative_error(analytic[k], numeric[k]) for k in numeric}
    entries = [e for k in sorted(errors, key=errors.get, reverse=True)
               for e in worst_entries(analytic[k], numeric[k], k, top)]
    return GradcheckReport(errors, tol, tuple(entries))
