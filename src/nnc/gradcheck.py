"""Check analytic gradients against centered finite differences.

    df/dx[i] ~ (f(x + h e_i) - f(x - h e_i)) / (2h)            (error O(h^2))

Run in float64: with h = 1e-6 the truncation error is ~1e-12 and rounding ~1e-10, so a correct
backward pass shows relative errors below ~1e-6, and a wrong one shows errors near 1.
"""
from typing import Dict, NamedTuple

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


def relative_error(analytic, numeric):
    """max |a - n| / max(|a| + |n|, 1e-8): scale-free, and 0/0-safe for exactly zero gradients."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    return float(np.max(np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), 1e-8))) if a.size else 0.0


class GradcheckReport(NamedTuple):
    errors: Dict[str, float]   # name ("x", "W", "b", "layer0.W", ...) -> worst relative error
    tolerance: float

    @property
    def ok(self):
        return all(e <= self.tolerance for e in self.errors.values())

    @property
    def worst(self):
        return max(self.errors.values()) if self.errors else 0.0

    def __str__(self):
        rows = [f"  {k:<20s} {v:.3e}  {'ok' if v <= self.tolerance else 'FAIL'}" for k, v in self.errors.items()]
        return "gradcheck (worst relative error per tensor):\n" + "\n".join(rows)


def _layers_and_prefixes(obj):
    if hasattr(obj, "layers"):  # a model
        return [(f"{i}.{layer.name}.", layer) for i, layer in enumerate(obj.layers)]
    return [("", obj)]


def gradcheck(obj, x, y=None, loss=None, h=1e-6, tol=1e-6, seed=0, check_input=True, training=False):
    """Compare backward() of a layer or model with finite differences, in float64.

    Without `loss`, the scalar checked is L = sum(out * R) for a fixed random R, so dL/dout = R and
    every output element takes part. With `loss` (a loss object or name) and targets `y`, L is that
    loss. Parameters are cast to float64 in place (check a copy if that matters). Returns a
    GradcheckReport; `report.ok` says whether every tensor is within `tol`. training=True checks the
    training-mode pass (batch statistics in batch norm); layers that draw random masks must be
    deterministic for that (e.g. dropout rate 0)."""
    from . import losses as losses_mod

    x = np.array(x, dtype=np.float64)
    pairs = _layers_and_prefixes(obj)

    def forward(inp, training):
        return obj.forward(inp, training=training)

    def params_to_float64():
        for _, layer in pairs:
            for store in (layer.params, getattr(layer, "buffers", {})):  # buffers: batch-norm running stats
                for k in store:
                    store[k] = np.ascontiguousarray(store[k], dtype=np.float64)

    params_to_float64()              # built layers: cast their parameters
    out = forward(x, training)       # unbuilt layers build here, in float64 (the dtype of x)
    params_to_float64()

    if loss is None:
        R = np.random.default_rng(seed).standard_normal(out.shape)

        def scalar():
            return float(np.sum(forward(x, training) * R))

        dout = R
    else:
        loss_fn = losses_mod.get(loss)

        def scalar():
            return loss_fn.forward(forward(x, training), y)

        loss_fn.forward(out, y)
        dout = loss_fn.backward()

    forward(x, training)
    dx = obj.backward(dout)
    analytic = {f"{p}{k}": np.array(layer.grads[k]) for p, layer in pairs for k in layer.params}
    errors = {}
    if check_input and dx is not None:
        errors["x"] = relative_error(dx, numerical_gradient(scalar, x, h))
    for p, layer in pairs:
        for k, param in layer.params.items():
            errors[f"{p}{k}"] = relative_error(analytic[f"{p}{k}"], numerical_gradient(scalar, param, h))
    return GradcheckReport(errors, tol)
