"""The checks of a checkpoint's JSON config (models/saving.py): its format, version and every value
the loader uses, each with a message naming the key, what it must hold and what it holds."""
import json

from ..validation import check_number
from ._archive import ArchiveError, npy_header, read_npy

FORMAT, VERSION = "nnc-checkpoint", 1
MAX_CONFIG_BYTES = 4 << 20    # the JSON of a few hundred layers takes tens of KB (4 bytes a character)
DAMAGED = "; the file was damaged or edited: save the model again"


def read_config(fail, z, members):
    info = members.get("__config__")
    if info is None:
        raise fail("it has no __config__ member: it is a .npz archive but not an nnc checkpoint "
                   "(model.save writes those)")
    try:
        shape, _, dtype, _ = npy_header(z, info)
        if shape != () or dtype.kind != "U" or dtype.itemsize > MAX_CONFIG_BYTES:
            raise ArchiveError(f"its __config__ is {dtype}{list(shape)}, expected one JSON string of at most "
                               f"{MAX_CONFIG_BYTES // 4} characters")
        text = str(read_npy(z, info, (), dtype)[()])
    except ArchiveError as exc:
        raise fail(str(exc)) from None
    try:
        cfg = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise fail(f"its __config__ is not valid JSON ({exc})") from None
    if not isinstance(cfg, dict) or cfg.get("format") != FORMAT:
        got = cfg.get("format") if isinstance(cfg, dict) else type(cfg).__name__
        raise fail(f"it is not an nnc checkpoint (format {got!r}, expected {FORMAT!r})")
    if cfg.get("version") != VERSION:
        raise fail(f"it has checkpoint version {cfg.get('version')!r}; this nnc reads version {VERSION}")
    _check_config(fail, cfg)
    return cfg


def _is_int(v, minimum):
    return isinstance(v, int) and not isinstance(v, bool) and v >= minimum


def short(v):
    r = repr(v)
    return r if len(r) <= 80 else r[:77] + "..."


def _get(fail, parent, where, key, ok, what):
    """parent[key] if ok(it), else the CheckpointError saying what the config should hold there."""
    if not isinstance(parent, dict):
        raise fail(f"the config's {where.rstrip('.')} must be an object, got {short(parent)}{DAMAGED}")
    if key not in parent:
        raise fail(f"the config lacks {where}{key}{DAMAGED}")
    v = parent[key]
    if not ok(v):
        raise fail(f"the config's {where}{key} must be {what}, got {short(v)}{DAMAGED}")
    return v


def _check_config(fail, cfg):
    """Every value the loader uses has the right type and range (before anything is built or changed)."""
    m = _get(fail, cfg, "", "model", lambda v: isinstance(v, dict), "an object")
    _get(fail, m, "model.", "class_name", lambda v: isinstance(v, str), "a model class name such as 'Sequential'")
    _get(fail, m, "model.", "name", lambda v: isinstance(v, str), "a string")
    _get(fail, m, "model.", "dtype", lambda v: v in ("float32", "float64"), "'float32' or 'float64'")
    _get(fail, m, "model.", "seed", lambda v: v is None or _is_int(v, 0), "null or an integer >= 0")
    _get(fail, m, "model.", "input_shape", lambda v: isinstance(v, list) and v and all(_is_int(d, 1) for d in v),
         "a list of integers >= 1")
    _get(fail, m, "model.", "epoch", lambda v: _is_int(v, 0), "an integer >= 0")
    layers = _get(fail, cfg, "", "layers", lambda v: isinstance(v, list) and v, "a non-empty list")
    for i, d in enumerate(layers):
        _get(fail, d, f"layers[{i}].", "class_name", lambda v: isinstance(v, str), "a string")
        c = _get(fail, d, f"layers[{i}].", "config", lambda v: isinstance(v, dict), "an object")
        _get(fail, c, f"layers[{i}].config.", "name", lambda v: isinstance(v, str), "a string")
    comp = _get(fail, cfg, "", "compile", lambda v: v is None or isinstance(v, dict), "null or an object")
    if comp is not None:
        o = _get(fail, comp, "compile.", "optimizer", lambda v: isinstance(v, dict), "an object")
        _get(fail, o, "compile.optimizer.", "class_name", lambda v: isinstance(v, str), "a string")
        _get(fail, o, "compile.optimizer.", "config", lambda v: isinstance(v, dict), "an object")
        _get(fail, comp, "compile.", "iterations", lambda v: _is_int(v, 0), "an integer >= 0")
        _get(fail, comp, "compile.", "lr", _positive, "a finite number > 0")
        _get(fail, comp, "compile.", "loss", lambda v: v is None or isinstance(v, (str, dict)),
             "a loss name or {class_name, config}")
        _get(fail, comp, "compile.", "metrics", lambda v: isinstance(v, list), "a list of metric names")
    rng = _get(fail, cfg, "", "rng", lambda v: isinstance(v, dict), "an object")
    _get(fail, rng, "rng.", "bit_generator", lambda v: isinstance(v, str), "a string")
    layer_rngs = cfg.get("layer_rngs", {})   # absent in files written before layers had their own
    if not isinstance(layer_rngs, dict):
        raise fail(f"the config's layer_rngs must be an object, got {short(layer_rngs)}{DAMAGED}")
    for k, state in layer_rngs.items():
        if not isinstance(state, dict):
            raise fail(f"the config's layer_rngs.{k} must be an object, got {short(state)}{DAMAGED}")
        _get(fail, state, f"layer_rngs.{k}.", "bit_generator", lambda v: isinstance(v, str), "a string")


def _positive(v):
    try:
        check_number("", "", v, minimum=0, strict=True)
    except ValueError:
        return False
    return True
