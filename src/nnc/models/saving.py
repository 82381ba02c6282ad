"""Checkpoints: one .npz file holds everything needed to continue training exactly.

    model.save("run.npz")             # or nnc.models.saving.save_model(model, path)
    model = nnc.load_model("run.npz") # a new, built, compiled model
    model.fit(x, y, epochs=20, initial_epoch=model.epoch)   # continues as if never stopped

Entries of the archive (plain arrays only, no pickle):
    __config__                    a JSON string: format and version, the model (class, name, dtype,
                                  seed, input shape), every layer's class name and get_config(), the
                                  optimizer config, loss and metric names, the optimizer step
                                  counter and lr, the state of the model's numpy bit generator,
                                  and the number of epochs completed
    param/<i>.<layer>.<name>      layer i's parameter (W, b, gamma, ...)
    buffer/<i>.<layer>.<name>     layer i's buffer (batch-norm running_mean, running_var)
    optim/<i>.<layer>.<name>/<slot>   the optimizer's state for that parameter (velocity, m, v, ...)

Saving refuses a model holding NaN or inf (it could not be loaded) and writes all or nothing
(models/_archive.py: temporary file, fsync, rename). Loading checks everything before it changes
anything: the config's types and values, then every member's declared shape, dtype and size
against the model the config describes, before that member's data is read, so a hostile file costs
no more memory than the model (plus at most MAX_CONFIG_BYTES for the config). A truncated,
corrupted, hostile or mismatched file raises CheckpointError (a ValueError) and leaves the model,
and numpy's global random state, as they were.
"""
import copy
import json
import os
from typing import Any

import numpy as np

from .._names import Registry
from ..validation import all_finite
from ._archive import ArchiveError, open_npz, read_npy, write_atomic
from ._checkpoint_checks import DAMAGED, FORMAT, VERSION, read_config, short

_NONNEGATIVE_BUFFERS = ("running_var",)
# The model classes a checkpoint can name (Sequential registers itself), so loading builds one without
# this module importing the models that import it.
MODELS = Registry("model class", exact=True)


class CheckpointError(ValueError):
    """The file is not a usable nnc checkpoint for this model (nothing was changed)."""


def _key(i, layer, name):
    return f"{i}.{layer.name}.{name}"


def _loss_id(loss):
    if loss is None or isinstance(loss, str):
        return loss
    cfg = loss.get_config() if hasattr(loss, "get_config") else {}
    return {"class_name": type(loss).__name__, "config": cfg}


def _metric_id(m):
    from .. import metrics as metrics_mod
    return m if isinstance(m, str) else metrics_mod.name_of(m)


def _jsonable(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON-serializable: {o!r}")


def non_finite(model):
    """Where `model` first holds NaN or inf ("layer 0 'dense' parameter W", ...), or None if nowhere."""
    for i, lyr in enumerate(model.layers):
        for kind, arrays in (("parameter", lyr.params), ("buffer", lyr.buffers)):
            for name, a in arrays.items():
                if not all_finite(a):
                    return f"layer {i} '{lyr.name}' {kind} {name}"
    for key, slots in (model.optimizer.state if model.optimizer is not None else {}).items():
        for slot, a in slots.items():
            if not all_finite(a):
                return f"optimizer state {key}/{slot}"
    return None


def save_model(model: Any, path: "str | os.PathLike") -> None:
    """Write `model` (built) to `path` as described in the module docstring."""
    if not model.built:
        raise RuntimeError("save_model: the model is not built yet (fit it or call build(input_shape) first)")
    bad = non_finite(model)
    if bad is not None:
        raise ValueError(f"save_model: {bad} contains NaN or inf; load_model would refuse the file, so nothing "
                         f"was written to {os.fspath(path)!r} (a checkpoint already there is kept). "
                         "Lower the learning rate or clip gradients; TerminateOnNaN names where it starts.")
    opt = model.optimizer
    loss, metrics = model._compiled_with or (None, [])
    config = {
        "format": FORMAT, "version": VERSION,
        "model": {"class_name": type(model).__name__, "name": model.name, "dtype": model.dtype.name,
                  "seed": model.seed, "input_shape": list(model.input_shape), "epoch": model.epoch},
        "layers": [{"class_name": type(lyr).__name__, "config": lyr.get_config()} for lyr in model.layers],
        "compile": None if opt is None else {
            "optimizer": {"class_name": type(opt).__name__, "config": opt.get_config()},
            "iterations": opt.iterations, "lr": opt.lr,
            "loss": _loss_id(loss), "metrics": [_metric_id(m) for m in metrics]},
        "rng": model.rng.bit_generator.state,
        # Layers with a generator of their own (Dropout(seed=...)): resuming must replay their masks too.
        "layer_rngs": {_key(i, lyr, "rng"): rng.bit_generator.state for i, lyr, rng in _own_rngs(model)},
    }
    arrays: dict[str, Any] = {"__config__": np.array(json.dumps(config, default=_jsonable))}
    for i, lyr in enumerate(model.layers):
        for name, a in lyr.params.items():
            arrays[f"param/{_key(i, lyr, name)}"] = a
        for name, a in lyr.buffers.items():
            arrays[f"buffer/{_key(i, lyr, name)}"] = a
    if opt is not None:
        for key, slots in opt.state.items():
            for slot, a in slots.items():
                arrays[f"optim/{key}/{slot}"] = a
    try:
        write_atomic(path, lambda f: np.savez(f, **arrays))
    except (IsADirectoryError, FileNotFoundError) as exc:   # the path itself is wrong: say so, not the temp name
        raise type(exc)(f"save_model: {exc}") from None


# ---- reading: the file and its config ---------------------------------------------------------------
def _reading(fn, path, use):
    """Open the checkpoint at `path`, read and check its config, and return use(z, members, cfg, fail)
    while the file is open; fail(message) makes the CheckpointError naming fn and the file."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"{fn}: {path!r} is a directory; a checkpoint is one .npz file written by "
                                "model.save(path): give the path of that file")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{fn}: no such file: {path!r}")

    def fail(message):
        return CheckpointError(f"{fn}: {path!r}: {message}")

    with open(path, "rb") as f:
        try:
            z, members = open_npz(f)
        except ArchiveError as exc:
            raise fail(str(exc)) from None
        with z:
            return use(z, members, read_config(fail, z, members), fail)


# ---- reading: the arrays, checked against the model --------------------------------------------------
def _slot_names(fail, cls, config):
    """The state slots `cls(**config)` keeps per parameter, from one update of a throwaway instance."""
    try:
        probe = cls(**config)
        probe.update("probe", np.zeros(1), np.zeros(1))
    except (TypeError, ValueError, KeyError) as exc:
        raise fail(f"the saved optimizer config {short(config)} is invalid for {cls.__name__} ({exc})") from None
    return set(probe.state.get("probe", {}))


def _expected_optim(fail, members, comp, opt, params):
    """{member key: (shape, dtype)} of the optimizer state the file must hold for `opt`."""
    saved = comp["optimizer"]["class_name"]
    if saved != type(opt).__name__:
        raise fail(f"it holds {saved} state but the model is compiled with {type(opt).__name__}; compile it "
                   f"with {saved}, or use nnc.load_model(path), which recompiles as saved")
    slots = _slot_names(fail, type(opt), comp["optimizer"]["config"])
    found: dict[str, set[str]] = {}    # parameter key -> the slots the file holds for it
    for k in members:
        if k.startswith("optim/"):
            key, _, slot = k[len("optim/"):].rpartition("/")
            found.setdefault(key, set()).add(slot)
    stray = sorted(set(found) - set(params))
    if stray:
        raise fail(f"its optimizer state optim/{stray[0]}/... belongs to no parameter of the model "
                   f"(parameters: {', '.join(sorted(params))}){DAMAGED}")
    expected = {}
    for key, got in sorted(found.items()):
        if got != slots:
            raise fail(f"its optimizer state for {key} has slots {sorted(got)}, but {saved} keeps "
                       f"{sorted(slots) if slots else 'none'}{DAMAGED}")
        expected.update({f"optim/{key}/{s}": params[key] for s in slots})
    return expected


def _layout(model):
    """{key: (shape, dtype)} of a built model's parameters and of its buffers."""
    return ({_key(i, lyr, n): (a.shape, a.dtype) for i, lyr in enumerate(model.layers) for n, a in lyr.params.items()},
            {_key(i, lyr, n): (a.shape, a.dtype) for i, lyr in enumerate(model.layers) for n, a in lyr.buffers.items()})


def _own_rngs(model):
    """(index, layer, generator) for each layer that draws from a Generator other than the model's."""
    return [(i, lyr, lyr.rng) for i, lyr in enumerate(model.layers)
            if isinstance(getattr(lyr, "rng", None), np.random.Generator) and lyr.rng is not model.rng]


def _bit_generator(fail, model, state, rng=None, what="the model's"):
    cls = type((rng or model.rng).bit_generator)
    if state["bit_generator"] != cls.__name__:   # never getattr(np.random, name): that could be np.random.seed
        raise fail(f"its random generator is {short(state['bit_generator'])}, {what} is {cls.__name__}"
                   f"{DAMAGED}")
    bg = cls()   # seeded from the OS, not from numpy's global state; overwritten right away
    try:
        bg.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise fail(f"its random-generator state is invalid ({type(exc).__name__}: {exc}){DAMAGED}") from None
    return bg


def _apply(z, members, cfg, fail, model, shaped, rebuilt):
    """Check every member against `shaped` (`model` itself when built, else a built copy of it) and the
    config, read them, and only then assign everything into `model` (building it first if needed).
    rebuilt: the model was built from this file's config, so a mismatch means a damaged file."""
    hint = DAMAGED if rebuilt else "; nnc.load_model(path) rebuilds the model the file was saved from"
    saved = [(d["class_name"], d["config"]["name"]) for d in cfg["layers"]]
    have = [(type(lyr).__name__, lyr.name) for lyr in shaped.layers]
    if saved != have:
        raise fail(f"its layers {saved} do not match the model's {have}{hint}")
    params, buffers = _layout(shaped)
    expected = {**{"param/" + k: v for k, v in params.items()}, **{"buffer/" + k: v for k, v in buffers.items()}}
    comp, opt = cfg["compile"], model.optimizer
    has_optim = any(k.startswith("optim/") for k in members)
    if comp is None and has_optim:
        raise fail("it holds optimizer state (optim/...) but its config has no compile section")
    use_optim = opt is not None and comp is not None
    if use_optim:
        expected.update(_expected_optim(fail, members, comp, opt, params))
    names = {k for k in members if k != "__config__" and (use_optim or not k.startswith("optim/"))}
    missing, extra = sorted(set(expected) - names), sorted(names - set(expected))
    if missing or extra:
        raise fail(f"it does not match the model: missing {missing}, unexpected {extra}{hint}")
    bg = _bit_generator(fail, model, cfg["rng"])
    own = {_key(i, lyr, "rng"): rng for i, lyr, rng in _own_rngs(shaped)}
    saved_rngs = cfg.get("layer_rngs", {})
    if rebuilt or saved_rngs:   # a file from before layer_rngs existed loads into any model
        if set(saved_rngs) != set(own):
            raise fail(f"its layers with their own random generator {sorted(saved_rngs)} are not the model's "
                       f"{sorted(own)}{hint}")
    layer_bgs = {k: _bit_generator(fail, model, state, own[k], f"layer {k}'s") for k, state in saved_rngs.items()}

    arrays = {}
    for k, (shape, dtype) in expected.items():   # each read only after its header matched: bounded memory
        try:
            arrays[k] = a = read_npy(z, members[k], shape, dtype)
        except ArchiveError as exc:
            raise fail(f"{exc}{hint if exc.mismatch else ''}") from None
        if not all_finite(a):
            raise fail(f"{k} contains NaN or inf; a checkpoint must hold finite numbers (was it written from a "
                       "diverged run by something other than model.save?)")
        if k.startswith("buffer/") and k.rsplit(".", 1)[-1] in _NONNEGATIVE_BUFFERS and (a < 0).any():
            raise fail(f"{k} has negative entries; a variance cannot be negative")

    # Everything checked: from here on nothing can fail halfway.
    if not model.built:
        model.build(cfg["model"]["input_shape"])   # the copy built with it, so this cannot fail
    for i, lyr in enumerate(model.layers):
        for n in lyr.params:
            lyr.params[n][...] = arrays["param/" + _key(i, lyr, n)]   # in place: references stay valid
        for n in lyr.buffers:
            lyr.buffers[n][...] = arrays["buffer/" + _key(i, lyr, n)]
    if use_optim:
        state: dict[str, dict[str, Any]] = {}
        for k, a in arrays.items():
            if k.startswith("optim/"):
                key, _, slot = k[len("optim/"):].rpartition("/")
                state.setdefault(key, {})[slot] = a
        opt.load_state_dict({"config": comp["optimizer"]["config"], "iterations": comp["iterations"],
                             "lr": float(comp["lr"]), "state": state})
    model.rng.bit_generator.state = bg.state   # in place: layers holding model.rng see it too
    for i, lyr, rng in _own_rngs(model):
        if _key(i, lyr, "rng") in layer_bgs:
            rng.bit_generator.state = layer_bgs[_key(i, lyr, "rng")].state
    model.epoch = cfg["model"]["epoch"]
    return model


def restore(model: Any, path: "str | os.PathLike", fn: str = "Sequential.load") -> Any:
    """Load `path` into `model` (built first if needed); validate everything, then assign in place."""
    def use(z, members, cfg, fail):
        shaped = model
        if not model.built:   # check against a built copy, so a refused file leaves the model unbuilt
            try:
                shaped = type(model)(copy.deepcopy(model.layers), dtype=model.dtype, name=model.name)
                shaped.build(cfg["model"]["input_shape"])
            except (TypeError, ValueError, MemoryError) as exc:
                raise fail(f"the model cannot be built for the saved input shape "
                           f"{cfg['model']['input_shape']}: {exc}") from None
        return _apply(z, members, cfg, fail, model, shaped, rebuilt=False)
    return _reading(fn, path, use)


def load_model(path: "str | os.PathLike", compile: bool = True) -> Any:
    """A new model from a checkpoint: built, its weights, statistics and RNG state restored, and
    (compile=True) compiled with the saved optimizer, its state, loss and metrics."""
    def use(z, members, cfg, fail):
        model = _rebuild(fail, cfg, compile)
        return _apply(z, members, cfg, fail, model, model, rebuilt=True)
    return _reading("load_model", path, use)


def _rebuild(fail, cfg, compile):
    from .. import layers as layers_mod
    from .. import optim
    m = cfg["model"]
    try:
        layers = [layers_mod.get(d["class_name"]).from_config(d["config"]) for d in cfg["layers"]]
        model = MODELS[m["class_name"]](layers, seed=m["seed"], dtype=m["dtype"], name=m["name"])
        model.build(m["input_shape"])
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, MemoryError) as exc:
        raise fail(f"cannot rebuild the model from the saved config ({type(exc).__name__}: {exc})") from None
    comp = cfg["compile"]
    if compile and comp is not None:
        try:
            model.compile(optimizer=optim.get(comp["optimizer"]), loss=comp["loss"], metrics=comp["metrics"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise fail(f"cannot recompile from the saved config ({exc}); use load_model(path, compile=False) "
                       "and compile yourself") from None
    return model
