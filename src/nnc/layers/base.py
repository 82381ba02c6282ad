"""The Layer base class: what every layer owns and the two calls every layer answers.

A layer is a small object whose fields say everything:
    params   dict name -> ndarray  (W, b, gamma, beta, alpha), updated in place by optimizers
    grads    dict with the same keys, filled by backward()
    trainable  False freezes params (optimizers skip them) while backward still returns dx
and whose cache of the last forward lives in named attributes (self._cache, self._mask, ...).
forward/backward are short: they call the active backend (`nnc.backend.get()`) and do no heavy
arithmetic themselves, so switching backends mid-training works.
"""
import numpy as np

_REGISTRY = {}


def register(cls):
    """Make a layer class constructible by name from a saved config."""
    _REGISTRY[cls.__name__] = cls
    return cls


def get(class_name):
    try:
        return _REGISTRY[class_name]
    except KeyError:
        raise ValueError(f"unknown layer class {class_name!r}; known: {sorted(_REGISTRY)}") from None


class Layer:
    """Base class. Subclasses override `build` (create params), `forward`, `backward`,
    `compute_output_shape` and `get_config`.

    Shapes exclude the batch axis: input_shape=(784,) for dense data, (C, H, W) for images."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        register(cls)

    def __init__(self, input_shape=None, name=None, trainable=True):
        self.name = name or type(self).__name__.lower()
        self.input_shape = tuple(input_shape) if input_shape is not None else None
        self.output_shape = None
        self.trainable = bool(trainable)
        self.params = {}
        self.grads = {}
        # Arrays a layer updates itself and a checkpoint must keep, but no optimizer touches
        # (batch norm's running mean and variance).
        self.buffers = {}
        self.dtype = None
        self.built = False
        # The model sets this False on its first layer: nobody needs d(loss)/d(input data).
        self.need_input_grad = True

    # ---- building -------------------------------------------------------------------------
    def build(self, input_shape, dtype=np.float32, rng=None):
        """Create parameters for per-sample `input_shape`; `rng` is a numpy Generator (seeded by
        the model). Returns the per-sample output shape."""
        self.input_shape = tuple(input_shape)
        self.dtype = np.dtype(dtype)
        self.output_shape = tuple(self.compute_output_shape(self.input_shape))
        self.built = True
        return self.output_shape

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def _ensure_built(self, x):
        """Build on the first forward when used outside a model (shape taken from x)."""
        if not self.built:
            self.build(x.shape[1:], x.dtype, np.random.default_rng())
        elif x.shape[1:] != self.input_shape:
            raise ValueError(f"{self.name}: expected input of shape (N, {', '.join(map(str, self.input_shape))}), "
                             f"got {x.shape}")

    # ---- the two passes ---------------------------------------------------------------------
    def forward(self, x, training=False):
        raise NotImplementedError

    def backward(self, dout):
        """Given d(loss)/d(output), fill self.grads and return d(loss)/d(input)."""
        raise NotImplementedError

    def __call__(self, x, training=False):
        return self.forward(x, training=training)

    # ---- bookkeeping --------------------------------------------------------------------------
    def count_params(self):
        """Number of parameters (trainable arrays; buffers such as running statistics excluded)."""
        return int(sum(p.size for p in self.params.values()))

    def regularization_loss(self):
        """Penalty this layer adds to the loss (regularizers); 0 unless the layer has some."""
        return 0.0

    def get_config(self):
        """JSON-serializable constructor arguments; `type(self)(**config)` rebuilds the layer."""
        return {"name": self.name, "trainable": self.trainable,
                "input_shape": list(self.input_shape) if self.input_shape is not None else None}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items()
                         if k not in ("name", "trainable", "input_shape"))
        return f"{type(self).__name__}({args})"
