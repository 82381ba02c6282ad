"""Weight initializers: `init(shape, dtype, rng, fan_in, fan_out) -> ndarray`.

Every initializer draws from the numpy Generator it is given (the model's, seeded), so a seed fixes
the initial weights. fan_in/fan_out: Dense (D, M) -> D, M; Conv2D (C_out, C_in, kh, kw) ->
C_in*kh*kw, C_out*kh*kw.
    glorot_uniform  U(-l, l), l = sqrt(6 / (fan_in + fan_out))       Glorot & Bengio 2010
    glorot_normal   N(0, s^2), s = sqrt(2 / (fan_in + fan_out))
    he_uniform      U(-l, l), l = sqrt(6 / fan_in)                     He et al. 2015
    he_normal       N(0, s^2), s = sqrt(2 / fan_in)
    lecun_uniform   U(-l, l), l = sqrt(3 / fan_in)                     LeCun et al. 1998
    lecun_normal    N(0, s^2), s = sqrt(1 / fan_in)
    orthogonal      gain * Q, Q from the QR of a Gaussian matrix        Saxe et al. 2014
    random_uniform  U(minval, maxval), Keras' defaults minval=-0.05, maxval=0.05
    random_normal   N(mean, stddev^2), Keras' defaults mean=0, stddev=0.05
    constant        every entry = value
(Keras draws its *_normal from a truncated normal; nnc uses the plain normal the papers state.)

The random initializers take Keras' `seed=None`: None draws from the Generator given (the model's),
an int gives the initializer its own `np.random.default_rng(seed)` on every call, so a seeded
initializer gives the same values each time it is called (as in Keras 3), whatever the model's seed.
"""
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from ._names import Registered, Registry
from ._seed import new_rng
from .validation import check_number

INITIALIZERS = Registry("initializer")


class Initializer(Registered):
    """Base class; subclasses implement `sample(shape, rng, fan_in, fan_out)` in float64."""
    registry = INITIALIZERS

    seed = None

    def __call__(self, shape: tuple[int, ...], dtype: DTypeLike = np.float32, rng: np.random.Generator | None = None,
                 fan_in: int | None = None, fan_out: int | None = None) -> np.ndarray:
        if self.seed is not None:
            rng = np.random.default_rng(self.seed)
        elif rng is None:
            rng = new_rng()     # nnc.set_seed's default
        fan_in, fan_out = _fans(shape, fan_in, fan_out)
        return np.ascontiguousarray(self.sample(tuple(shape), rng, fan_in, fan_out), dtype=dtype)

    def sample(self, shape, rng, fan_in, fan_out):
        """The values, a float64 array of `shape`, drawn from the numpy Generator rng (subclasses)."""
        raise NotImplementedError

    def get_config(self):
        """Constructor arguments, JSON-serializable: `type(init)(**init.get_config())` rebuilds it."""
        return {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _Random(Initializer):
    """An initializer that draws random numbers: Keras' seed argument (see the module docstring)."""

    def __init__(self, seed=None):
        self.seed = _check_seed(type(self).__name__, seed)

    def get_config(self):
        return {} if self.seed is None else {"seed": self.seed}


def _check_seed(cls, seed):
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ValueError(f"{cls}: seed must be None or an integer >= 0, got {seed!r}")
    return None if seed is None else int(seed)


def _fans(shape, fan_in, fan_out):
    if fan_in is None or fan_out is None:
        shape = tuple(shape)
        if len(shape) == 2:
            guess = shape[0], shape[1]
        elif len(shape) > 2:  # (C_out, C_in, kh, kw)
            receptive = int(np.prod(shape[2:]))
            guess = shape[1] * receptive, shape[0] * receptive
        else:
            guess = (shape[0], shape[0]) if shape else (1, 1)
        fan_in = guess[0] if fan_in is None else fan_in
        fan_out = guess[1] if fan_out is None else fan_out
    return fan_in, fan_out


class GlorotUniform(_Random):
    """Glorot / Xavier uniform: W ~ U(-l, l), l = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010).

    Var(W) = 2 / (fan_in + fan_out), which keeps the variance of activations and gradients about
    equal across layers with tanh or sigmoid (the default kernel_initializer of Dense and Conv2D)."""
    aliases = ("glorot_uniform", "xavier_uniform")

    def sample(self, shape, rng, fan_in, fan_out):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=shape)


class GlorotNormal(_Random):
    """Glorot / Xavier normal: W ~ N(0, 2 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    aliases = ("glorot_normal", "xavier_normal")

    def sample(self, shape, rng, fan_in, fan_out):
        return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=shape)


class HeUniform(_Random):
    """He / Kaiming uniform: W ~ U(-l, l), l = sqrt(6 / fan_in) (He et al. 2015).

    Var(W) = 2 / fan_in, which keeps the variance of the activations across ReLU layers."""
    aliases = ("he_uniform", "kaiming_uniform")

    def sample(self, shape, rng, fan_in, fan_out):
        limit = np.sqrt(6.0 / fan_in)
        return rng.uniform(-limit, limit, size=shape)


class HeNormal(_Random):
    """He / Kaiming normal: W ~ N(0, 2 / fan_in) (He et al. 2015), for ReLU layers."""
    aliases = ("he_normal", "kaiming_normal")

    def sample(self, shape, rng, fan_in, fan_out):
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)


class Zeros(Initializer):
    """Every entry 0: W = 0 (the default bias_initializer; as weights it would make every unit of a layer the same)."""
    aliases = ("zeros", "zero")

    def sample(self, shape, rng, fan_in, fan_out):
        return np.zeros(shape)


class Ones(Initializer):
    """Every entry 1: W = 1 (the default gamma_initializer of BatchNormalization)."""
    aliases = ("ones", "one")

    def sample(self, shape, rng, fan_in, fan_out):
        return np.ones(shape)


class RandomUniform(_Random):
    """U(minval, maxval), Keras' RandomUniform (also reachable as "uniform")."""
    aliases = ("random_uniform", "uniform")

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval = check_number("RandomUniform", "minval", minval)
        self.maxval = check_number("RandomUniform", "maxval", maxval)
        if not self.minval < self.maxval:
            raise ValueError(f"RandomUniform: minval must be < maxval, got minval={minval!r}, maxval={maxval!r}")

    def sample(self, shape, rng, fan_in, fan_out):
        return rng.uniform(self.minval, self.maxval, size=shape)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


class RandomNormal(_Random):
    """N(mean, stddev^2), Keras' RandomNormal (also reachable as "normal")."""
    aliases = ("random_normal", "normal")

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean = check_number("RandomNormal", "mean", mean)
        self.stddev = check_number("RandomNormal", "stddev", stddev, minimum=0)

    def sample(self, shape, rng, fan_in, fan_out):
        return rng.normal(self.mean, self.stddev, size=shape)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


# The names nnc used before Keras': saved configs that name them still load.
Uniform, Normal = RandomUniform, RandomNormal


class LecunUniform(_Random):
    """LeCun uniform: W ~ U(-l, l), l = sqrt(3 / fan_in) (LeCun et al. 1998), so Var(W) = 1 / fan_in."""
    aliases = ("lecun_uniform",)

    def sample(self, shape, rng, fan_in, fan_out):
        limit = np.sqrt(3.0 / fan_in)
        return rng.uniform(-limit, limit, size=shape)


class LecunNormal(_Random):
    """LeCun normal: W ~ N(0, 1 / fan_in) (LeCun et al. 1998), the one SELU networks use."""
    aliases = ("lecun_normal",)

    def sample(self, shape, rng, fan_in, fan_out):
        return rng.normal(0.0, np.sqrt(1.0 / fan_in), size=shape)


class Orthogonal(_Random):
    """gain * a (semi-)orthogonal matrix (Saxe et al. 2014).

    The array is seen as a matrix (rows, cols) = (shape[0], prod(shape[1:])): a Dense W (in, out)
    as is, a Conv2D W (C_out, C_in, kh, kw) as one flattened filter per row. A Gaussian matrix is
    factored A = QR and Q's columns get the signs of diag(R), which makes Q uniformly distributed
    (Mezzadri 2007); rows or columns, whichever are fewer, come out orthonormal."""
    aliases = ("orthogonal",)

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = check_number("Orthogonal", "gain", gain)

    def sample(self, shape, rng, fan_in, fan_out):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: needs an array of rank >= 2, got shape {shape}")
        rows, cols = shape[0], int(np.prod(shape[1:]))
        a = rng.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)

    def get_config(self):
        return {"gain": self.gain, **super().get_config()}


class Constant(Initializer):
    """Every entry the same number: W = value (default 0.0)."""
    aliases = ("constant",)

    def __init__(self, value=0.0):
        self.value = check_number("Constant", "value", value)

    def sample(self, shape, rng, fan_in, fan_out):
        return np.full(shape, self.value)

    def get_config(self):
        return {"value": self.value}


def get(identifier: "str | dict[str, Any] | Initializer") -> "Initializer":
    """An Initializer from a name ("he_normal"), an instance, or a config dict
    {"class_name": ..., "config": {...}}."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, dict):
        return INITIALIZERS[identifier.get("class_name", "")](**identifier.get("config", {}))
    if isinstance(identifier, str):
        return INITIALIZERS[identifier]()
    raise TypeError(f"initializer must be a name such as 'he_normal', an Initializer or a config dict, "
                    f"got {identifier!r}")


def serialize(init: "Initializer") -> dict[str, Any]:
    """The config dict of an Initializer, {"class_name": ..., "config": init.get_config()};
    get(serialize(init)) builds an equal one."""
    return {"class_name": type(init).__name__, "config": init.get_config()}
