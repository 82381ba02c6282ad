"""The Layer base class: what every layer owns and the two calls every layer answers.

A layer is a small object whose fields say everything:
    params   dict name -> ndarray  (W, b, gamma, beta, alpha), updated in place by optimizers
    grads    dict with the same keys, filled by backward()
    trainable  False freezes params (optimizers skip them) while backward still returns dx
and whose cache of the last forward lives in named attributes (self._cache, self._mask, ...).
forward/backward are short: they call the active backend (`nnc.backend.get()`) and do no heavy
arithmetic themselves, so switching backends mid-training works.

A refused call changes nothing: `build` checks the input shape and dtype before it creates anything
(and undoes a half-done build), `forward` checks its input before it builds or touches the cache,
and a kernel's ValueError/TypeError comes back with the layer's name in front (`_kernel`).
"""
import os
from typing import Any, Sequence, TypeVar

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .._names import Registered, Registry, unknown_name
from .._seed import new_rng
from ..validation import FLOAT_DTYPES, INT_MAX

L = TypeVar("L", bound="Layer")
LAYERS = Registry("layer class", exact=True)   # saved configs name the class as written


def register(cls: type[L]) -> type[L]:
    """Make a layer class constructible by name from a saved config."""
    return LAYERS.register(cls)


def get(class_name: str) -> type["Layer"]:
    """The layer class registered under `class_name` ("Dense", "Conv2D", ...), for building a layer
    from a saved config; every Layer subclass is registered when it is defined."""
    return LAYERS[class_name]


def _shape_str(shape):
    """A per-sample shape as the batch shape users see: (N, 28, 28)."""
    return "(N, " + ", ".join(map(str, shape)) + ")"


def _nbytes_str(n):
    for unit, size in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def _physical_memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):   # no sysconf (Windows): no estimate, numpy says it
        return None


class Layer(Registered):
    """Base class. Subclasses override `_build` (create params), `forward`, `backward`,
    `compute_output_shape` and `get_config`.

    Shapes exclude the batch axis: input_shape=(784,) for dense data, (C, H, W) for images."""

    registry = LAYERS
    # Set by build, None before (`built` says which): per-sample shapes and the dtype computed in.
    input_shape: Any
    output_shape: Any
    dtype: Any

    def __init__(self, input_shape: Sequence[int] | None = None, name: str | None = None, trainable: bool = True,
                 **unknown: Any) -> None:
        cls = type(self).__name__
        if unknown:   # Dense(unit=10), Conv2D(data_format=...): say so in the layer's terms, not Layer.__init__'s
            import inspect
            known = {k for c in type(self).__mro__ if c is not object and "__init__" in vars(c)
                     for k, p in inspect.signature(vars(c)["__init__"]).parameters.items()
                     if k != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
            arg = next(iter(unknown))
            raise TypeError(f"{cls}: {unknown_name('argument', arg, known)}") from None
        if name is not None and not (isinstance(name, str) and name):
            raise TypeError(f"{cls}: name must be a non-empty string, got {name!r}")
        self.name = name or cls.lower()
        self.input_shape = _check_input_shape(cls, input_shape) if input_shape is not None else None
        self.output_shape = None
        self.trainable = _check_bool(cls, "trainable", trainable)
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        # Arrays a layer updates itself and a checkpoint must keep, but no optimizer touches
        # (batch norm's running mean and variance).
        self.buffers: dict[str, np.ndarray] = {}
        self.dtype = None
        self.built = False
        # The model sets this False on its first layer: nobody needs d(loss)/d(input data).
        self.need_input_grad = True
        self._undo = None      # the state before a build made by the first forward, until its kernel succeeds

    @property
    def label(self) -> str:
        """How messages name the layer, as Keras' summary does: 'dense_1 (Dense)'."""
        return f"{self.name} ({type(self).__name__})"

    # ---- building -------------------------------------------------------------------------
    def build(self, input_shape: Sequence[int], dtype: DTypeLike = np.float32,
              rng: np.random.Generator | None = None) -> tuple[int, ...]:
        """Create parameters for per-sample `input_shape`; `rng` is a numpy Generator (seeded by
        the model; None, a layer built on its own: nnc.set_seed's default, see nnc/_seed.py).
        Returns the per-sample output shape.

        A layer that is already built for this shape and dtype keeps its weights (so a trained layer
        can be put in a new model: transfer learning) and just returns its output shape; a built
        layer asked for another shape or dtype raises and stays as it was."""
        input_shape = _check_input_shape(self.label, input_shape)
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"{self.label}: dtype must be float32 or float64, got {dtype!r}") from None
        if self.built:
            if input_shape == self.input_shape and dtype == self.dtype:
                return self.output_shape
            raise ValueError(f"{self.label}: already built for input {_shape_str(self.input_shape)} {self.dtype}, "
                             f"cannot rebuild it for {_shape_str(input_shape)} {dtype}; a built layer keeps its "
                             f"weights, so use a new layer (type(layer).from_config(layer.get_config())) there")
        if dtype not in FLOAT_DTYPES:
            raise TypeError(f"{self.label}: dtype must be float32 or float64, got {dtype}")
        saved = self._state()
        try:
            self.input_shape, self.dtype = input_shape, dtype
            self.output_shape = tuple(self.compute_output_shape(input_shape))
            self._build(new_rng() if rng is None else rng)
        except BaseException:   # also MemoryError, KeyboardInterrupt: never leave half a layer
            self._restore(saved)
            raise
        self.built = True
        return self.output_shape

    def _build(self, rng):
        """Create params/grads/buffers for the self.input_shape and self.dtype just set (none by default)."""

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(input_shape)

    def _state(self):
        """What `build` may change: the attributes, and the contents of params/grads/buffers (and of
        a fused activation layer), so a failed build can put them back."""
        return [(k, v, dict(v) if type(v) is dict else (v._state() if isinstance(v, Layer) else None))
                for k, v in self.__dict__.items()]

    def _restore(self, saved):
        self.__dict__.clear()
        for k, v, inner in saved:
            if type(v) is dict:
                v.clear()           # the same dict object: whoever holds layer.params still sees it
                v.update(inner)
            elif isinstance(v, Layer):
                v._restore(inner)
            self.__dict__[k] = v

    def _check_param_size(self, pname, shape):
        """Refuse a parameter that cannot be allocated (Dense(10**12)) before trying, with its size."""
        count = int(np.prod(shape, dtype=object))
        nbytes = count * self.dtype.itemsize
        # Initializers draw in float64 before the cast: that temporary is the peak.
        peak, mem = count * 8, _physical_memory()
        if max(shape) > INT_MAX or (mem is not None and peak > mem):
            have = f"this machine has {_nbytes_str(mem)}" if mem is not None else "too large"
            raise MemoryError(f"{self.label}: {pname} would be {tuple(shape)} {self.dtype} = {_nbytes_str(nbytes)} "
                              f"({have}); use fewer units/filters or a smaller input")

    def _ensure_built(self, x):
        """Check the input of a forward, and build on the first one when used outside a model
        (shape and dtype taken from x). Nothing is built or changed when x is refused."""
        # The common case in one test: the array a built layer expects.
        if self.built and type(x) is np.ndarray and x.dtype is self.dtype and x.shape[1:] == self.input_shape:
            return
        if not isinstance(x, np.ndarray):
            raise TypeError(f"{self.label}: the input must be a numpy.ndarray of float32 or float64, got "
                            f"{type(x).__name__}; convert it with np.asarray(x, dtype=np.float32)")
        if x.dtype not in FLOAT_DTYPES:
            raise TypeError(f"{self.label}: the input must be float32 or float64, got {x.dtype}; "
                            f"convert it with x.astype(np.float32)")
        if x.ndim < 2:
            raise ValueError(f"{self.label}: the input needs a batch axis, shape (N, ...), got shape {x.shape}; "
                             f"a single sample x is x[None]")
        if self.built:
            if x.shape[1:] != self.input_shape:
                raise ValueError(f"{self.label}: expected input of shape {_shape_str(self.input_shape)}, "
                                 f"got {x.shape}")
            if x.dtype != self.dtype:
                raise TypeError(f"{self.label}: the layer is built for {self.dtype} input, got {x.dtype}; "
                                f"convert it with x.astype(np.{self.dtype})")
            return      # an ndarray subclass (np.memmap) of the right shape and dtype
        if x.shape[0] == 0:
            raise ValueError(f"{self.label}: the input is empty (shape {x.shape}); a batch needs at least one sample")
        if not x.flags.c_contiguous:
            raise ValueError(f"{self.label}: the input must be C-contiguous; pass np.ascontiguousarray(x)")
        saved = self._state()
        self.build(x.shape[1:], x.dtype)     # rng None: the default of nnc.set_seed
        self._undo = saved                   # if this first call's kernel refuses x, _kernel unbuilds

    def _kernel(self, fn, *args, **kwargs):
        """Call a backend kernel; its ValueError/TypeError comes back as the same type with this
        layer's name in front (`dense_1 (Dense): dense_forward: ...`), the kernel's own as the cause."""
        try:
            out = fn(*args, **kwargs)
        except (ValueError, TypeError) as e:
            self._unbuild()
            new = _renamed(e, self.label)
            if new is e:
                raise
            raise new from e
        except BaseException:
            self._unbuild()
            raise
        if self._undo is not None:    # the first call went through: the build stays
            self._undo = None
        return out

    def _unbuild(self):
        """Undo the build a refused first forward made (a built layer's state is never touched)."""
        if self._undo is not None:
            self._restore(self._undo)

    # ---- the two passes ---------------------------------------------------------------------
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Given d(loss)/d(output), fill self.grads and return d(loss)/d(input)."""
        raise NotImplementedError

    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return self.forward(x, training=training)

    def _check_cache(self, cache):
        if cache is None:
            raise RuntimeError(f"{self.label}: backward() called before forward()")
        return cache

    # ---- weights, Keras' way ----------------------------------------------------------------------
    def get_weights(self) -> list[np.ndarray]:
        """Copies of the parameters, then the buffers (Keras' order: BatchNormalization gives
        [gamma, beta, running_mean, running_var]); a list of ndarrays, empty before build."""
        return [a.copy() for a in (*self.params.values(), *self.buffers.values())]

    def set_weights(self, weights: Sequence[ArrayLike]) -> None:
        """Load a list like get_weights()'s, in place (optimizers keep their references). The count and
        every shape must match and values must be finite numbers (cast to the layer's dtype);
        on any mismatch nothing is changed."""
        targets = list(self.params.items()) + list(self.buffers.items())
        if not self.built:
            raise RuntimeError(f"{self.label}: set_weights() needs a built layer; build it first "
                               f"(layer.build(input_shape) or a forward pass)")
        if not isinstance(weights, (list, tuple)):
            raise TypeError(f"{self.label}: set_weights expects a list of arrays, got {type(weights).__name__}")
        names = [k for k, _ in targets]
        if len(weights) != len(targets):
            raise ValueError(f"{self.label}: set_weights expects {len(targets)} arrays {names}, got {len(weights)}")
        new = []
        for (k, a), w in zip(targets, weights):
            w = np.asarray(w)
            if w.shape != a.shape:
                raise ValueError(f"{self.label}: set_weights: {k} must have shape {a.shape}, got {w.shape}")
            if w.dtype.kind not in "fiu":
                raise TypeError(f"{self.label}: set_weights: {k} must hold real numbers, got dtype {w.dtype}")
            w = w.astype(a.dtype, copy=False)
            if not np.isfinite(w).all():
                raise ValueError(f"{self.label}: set_weights: {k} contains NaN or inf")
            new.append(w)
        for (_, a), w in zip(targets, new):
            a[...] = w

    # ---- bookkeeping --------------------------------------------------------------------------
    def count_params(self) -> int:
        """Number of parameters (trainable arrays; buffers such as running statistics excluded)."""
        return int(sum(p.size for p in self.params.values()))

    def regularization_loss(self) -> float:
        """Penalty this layer adds to the loss (regularizers); 0 unless the layer has some."""
        return 0.0

    def get_config(self) -> dict[str, Any]:
        """JSON-serializable constructor arguments; `type(self)(**config)` rebuilds the layer."""
        return {"name": self.name, "trainable": self.trainable,
                "input_shape": list(self.input_shape) if self.input_shape is not None else None}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Layer":
        return cls(**config)

    def __repr__(self):
        """Dense(name='dense_1', units=10, activation=ReLU(), built for (N, 784) float32): the constructor
        arguments that differ from their defaults, initializers and activations by their own repr."""
        return _layer_repr(type(self), self.get_config(), self)


def _check_input_shape(who: str, shape: Any, arg: str = "input_shape") -> tuple[int, ...]:
    """A per-sample shape: a tuple of positive ints (no batch axis)."""
    try:
        ok = len(shape) > 0 and all(not isinstance(d, bool) and isinstance(d, (int, np.integer)) and d > 0
                                    for d in shape)
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"{who}: {arg} must be the shape of one sample, a tuple of positive ints "
                         f"without the batch axis such as (784,) or (1, 28, 28), got {shape!r}")
    return tuple(int(d) for d in shape)


def _named_arg(cls, arg, get, value):
    """`get(value)` (an initializer/regularizer/activation lookup), its ValueError/TypeError prefixed
    with the class and the argument: "Dense: kernel_initializer: unknown initializer 'he_nromal'; ..."."""
    try:
        return get(value)
    except (ValueError, TypeError) as e:
        raise type(e)(f"{cls}: {arg}: {e}") from None


def _check_bool(cls, arg, v):
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{cls}: {arg} must be True or False, got {v!r}")
    return bool(v)


def _is_default(v, d):
    """Whether config value v is what the constructor default d turns into (1 -> [1, 1], "zeros" -> Zeros())."""
    if v == d or (isinstance(v, list) and v and all(e == d for e in v)):
        return True
    if isinstance(d, str) and isinstance(v, str):
        return v.lower() == d.lower()
    if isinstance(d, str) and isinstance(v, dict) and "class_name" in v:
        from .. import initializers
        try:
            return v == initializers.serialize(initializers.get(d))
        except (ValueError, TypeError):
            return False
    return False


def _short(v):
    """A config value as it reads in code: {"class_name": "HeNormal", "config": {}} -> HeNormal()."""
    if isinstance(v, dict) and set(v) == {"class_name", "config"}:
        if v["class_name"] in LAYERS:
            return _layer_repr(LAYERS[v["class_name"]], v["config"])
        return f"{v['class_name']}({', '.join(f'{k}={_short(e)}' for k, e in v['config'].items())})"
    if isinstance(v, list):
        return repr(tuple(v))
    return repr(v)


def _layer_repr(cls, cfg, layer=None):
    import inspect
    params = inspect.signature(cls.__init__).parameters
    defaults = {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}
    order = {k: i for i, k in enumerate(params)}      # the constructor's order: units before activation
    args = [f"name={cfg['name']!r}"] if layer is not None else []
    for k, v in sorted(cfg.items(), key=lambda kv: order.get(kv[0], len(order))):
        if k in ("name", "trainable", "input_shape") or (k in defaults and _is_default(v, defaults[k])):
            continue
        args.append(f"{k}={_short(v)}")
    if layer is not None and not layer.trainable:
        args.append("trainable=False")
    if layer is not None and layer.built:
        args.append(f"built for {_shape_str(layer.input_shape)} {layer.dtype}")
    return f"{cls.__name__}({', '.join(args)})"


def _renamed(e, label):
    """The same kind of exception with `label: ` in front of its message."""
    msg = str(e)
    if msg.startswith(label):
        return e
    try:
        return type(e)(f"{label}: {msg}")
    except Exception:   # an exception class with another constructor: keep the plain type
        return (ValueError if isinstance(e, ValueError) else TypeError)(f"{label}: {msg}")
