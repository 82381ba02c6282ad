"""Checkpoints: one .npz file holds everything needed to continue training exactly.

    model.save("run.npz")             # or nnc.models.saving.save_model(model, path)
    model = nnc.load_model("run.npz") # a new, built, compiled model
    model.fit(x, y, epochs=20, initial_epoch=model.epoch)   # continues as if never stopped

Entries of the archive (plain arrays only: it is read with allow_pickle=False):
    __config__                    a JSON string: format and version, the model (class, name, dtype,
                                  seed, input shape), every layer's class name and get_config(), the
                                  optimizer config, loss and metric names, the optimizer step
                                  counter and lr, the state of the model's numpy bit generator,
                                  and the number of epochs completed
    param/<i>.<layer>.<name>      layer i's parameter (W, b, gamma, ...)
    buffer/<i>.<layer>.<name>     layer i's buffer (batch-norm running_mean, running_var)
    optim/<i>.<layer>.<name>/<slot>   the optimizer's state for that parameter (velocity, m, v, ...)
The file is written to a temporary name and renamed, so a crash never leaves half a checkpoint
under the real name. Loading reads and checks everything before it changes anything: a truncated,
corrupted or mismatched file raises CheckpointError (a ValueError) and leaves the model as it was.
"""
import json
import os
import tempfile

import numpy as np

FORMAT, VERSION = "nnc-checkpoint", 1


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


def save_model(model, path):
    """Write `model` (built) to `path` as described in the module docstring."""
    if not model.built:
        raise RuntimeError("save_model: the model is not built yet (fit it or call build(input_shape) first)")
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
    }
    arrays = {"__config__": np.array(json.dumps(config, default=_jsonable))}
    for i, lyr in enumerate(model.layers):
        for name, a in lyr.params.items():
            arrays[f"param/{_key(i, lyr, name)}"] = a
        for name, a in lyr.buffers.items():
            arrays[f"buffer/{_key(i, lyr, name)}"] = a
    if opt is not None:
        for key, slots in opt.state.items():
            for slot, a in slots.items():
                arrays[f"optim/{key}/{slot}"] = a
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".nnc-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)   # atomic on POSIX: the old checkpoint stays until the new one is complete
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


# ---- reading ----------------------------------------------------------------------------------------
def _read(fn, path):
    """All arrays (loaded now, so a damaged member fails here) and the parsed config."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{fn}: no such file: {path!r}")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except Exception as exc:  # zipfile.BadZipFile, EOFError, ValueError from a damaged header, ...
        raise CheckpointError(f"{fn}: {path!r} is not a readable nnc checkpoint (truncated or corrupted?): "
                              f"{type(exc).__name__}: {exc}") from exc
    if "__config__" not in arrays:
        raise CheckpointError(f"{fn}: {path!r} has no __config__ entry; it is not an nnc checkpoint")
    try:
        cfg = json.loads(str(arrays.pop("__config__")))
        ok = cfg.get("format") == FORMAT
    except (ValueError, AttributeError) as exc:
        raise CheckpointError(f"{fn}: {path!r}: the config entry is not valid JSON ({exc})") from exc
    if not ok:
        raise CheckpointError(f"{fn}: {path!r} is not an nnc checkpoint (format {cfg.get('format')!r})")
    if cfg.get("version") != VERSION:
        raise CheckpointError(f"{fn}: {path!r} has checkpoint version {cfg.get('version')!r}; "
                              f"this nnc reads version {VERSION}")
    for part in ("model", "layers", "rng"):
        if part not in cfg:
            raise CheckpointError(f"{fn}: {path!r}: the config lacks {part!r}")
    return arrays, cfg


def _check_arrays(fn, arrays, prefix, expected):
    """The file's entries under `prefix` must be exactly `expected` (name -> array), same shapes and dtypes."""
    found = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
    missing, extra = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
    if missing or extra:
        raise CheckpointError(f"{fn}: the checkpoint does not match the model: missing {prefix}{missing}, "
                              f"unexpected {prefix}{extra}")
    for k, a in expected.items():
        b = found[k]
        if b.shape != a.shape or b.dtype != a.dtype:
            raise CheckpointError(f"{fn}: {prefix}{k} is {b.dtype}{list(b.shape)} in the file but "
                                  f"{a.dtype}{list(a.shape)} in the model")
    return found


def _check_layers(fn, model, cfg):
    saved = [(d.get("class_name"), d.get("config", {}).get("name")) for d in cfg["layers"]]
    have = [(type(lyr).__name__, lyr.name) for lyr in model.layers]
    if saved != have:
        raise CheckpointError(f"{fn}: the checkpoint's layers {saved} do not match the model's {have}")


def _new_bit_generator(fn, state):
    try:
        bg = getattr(np.random, state["bit_generator"])()
        bg.state = state
    except Exception as exc:
        raise CheckpointError(f"{fn}: the saved random-generator state is invalid ({exc})") from exc
    return bg


def restore(model, path, fn="Sequential.load"):
    """Load `path` into `model` (built first if needed); validate everything, then assign in place."""
    arrays, cfg = _read(fn, path)
    return _apply(fn, model, arrays, cfg)


def _apply(fn, model, arrays, cfg):
    if not model.built:
        model.build(cfg["model"]["input_shape"])
    _check_layers(fn, model, cfg)
    params = _check_arrays(fn, arrays, "param/", {_key(i, lyr, n): a for i, lyr in enumerate(model.layers)
                                                  for n, a in lyr.params.items()})
    buffers = _check_arrays(fn, arrays, "buffer/", {_key(i, lyr, n): a for i, lyr in enumerate(model.layers)
                                                    for n, a in lyr.buffers.items()})
    for k, a in list(params.items()) + list(buffers.items()):
        if not np.isfinite(a).all():
            raise CheckpointError(f"{fn}: {k} in the checkpoint contains NaN or inf")
    bg = _new_bit_generator(fn, cfg["rng"])
    if type(bg) is not type(model.rng.bit_generator):
        raise CheckpointError(f"{fn}: the checkpoint's generator is {type(bg).__name__}, the model's "
                              f"{type(model.rng.bit_generator).__name__}")
    opt_sd = _optimizer_state(fn, model, arrays, cfg)

    # Everything checked: from here on nothing can fail halfway.
    for i, lyr in enumerate(model.layers):
        for n in lyr.params:
            lyr.params[n][...] = params[_key(i, lyr, n)]   # in place: references stay valid
        for n in lyr.buffers:
            lyr.buffers[n][...] = buffers[_key(i, lyr, n)]
    if opt_sd is not None:
        model.optimizer.load_state_dict(opt_sd)
    model.rng.bit_generator.state = bg.state   # in place: layers holding model.rng see it too
    model.epoch = int(cfg["model"].get("epoch", 0))
    return model


def _optimizer_state(fn, model, arrays, cfg):
    """The optimizer's state_dict from the file, checked against the model's bound optimizer; None when
    there is nothing to restore (no optimizer on either side)."""
    comp, opt = cfg.get("compile"), model.optimizer
    entries = {k[len("optim/"):]: v for k, v in arrays.items() if k.startswith("optim/")}
    if opt is None or comp is None:
        return None
    if comp["optimizer"]["class_name"] != type(opt).__name__:
        raise CheckpointError(f"{fn}: the checkpoint holds {comp['optimizer']['class_name']} state but the model "
                              f"is compiled with {type(opt).__name__}")
    shapes = {key: layer.params[p] for key, layer, p in opt._targets}
    state = {}
    for name, a in entries.items():
        key, _, slot = name.rpartition("/")
        if key not in shapes or a.shape != shapes[key].shape or a.dtype != shapes[key].dtype:
            raise CheckpointError(f"{fn}: optimizer state optim/{name} ({a.dtype}{list(a.shape)}) matches no "
                                  "parameter of the model")
        state.setdefault(key, {})[slot] = a
    try:
        type(opt)(**comp["optimizer"]["config"])   # the config must build the same kind of optimizer
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{fn}: the saved optimizer config is invalid ({exc})") from exc
    return {"config": comp["optimizer"]["config"], "iterations": int(comp.get("iterations", 0)),
            "lr": float(comp.get("lr", opt.lr)), "state": state}


def load_model(path, compile=True):
    """A new model from a checkpoint: built, its weights, statistics and RNG state restored, and
    (compile=True) compiled with the saved optimizer, its state, loss and metrics."""
    from .. import layers as layers_mod
    from .. import optim
    from .sequential import Sequential
    fn = "load_model"
    arrays, cfg = _read(fn, path)
    m = cfg["model"]
    if m.get("class_name") != "Sequential":
        raise CheckpointError(f"{fn}: unknown model class {m.get('class_name')!r}")
    try:
        layers = [layers_mod.get(d["class_name"]).from_config(d["config"]) for d in cfg["layers"]]
        model = Sequential(layers, seed=m.get("seed"), dtype=m["dtype"], name=m.get("name", "sequential"))
        model.build(m["input_shape"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{fn}: cannot rebuild the model from the saved config: {exc}") from exc
    comp = cfg.get("compile")
    if compile and comp is not None:
        try:
            model.compile(optimizer=optim.get(comp["optimizer"]), loss=comp["loss"], metrics=comp["metrics"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{fn}: cannot recompile from the saved config ({exc}); use "
                                  "load_model(path, compile=False) and compile yourself") from exc
    return _apply(fn, model, arrays, cfg)
