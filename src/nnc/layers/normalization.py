"""BatchNormalization: normalize each feature (dense) or channel (conv) over the batch."""
import numpy as np

from .. import backend, initializers, regularizers
from ..validation import check_number
from .base import Layer, _check_bool, _named_arg


class BatchNormalization(Layer):
    """Batch normalization (Ioffe & Szegedy 2015), Keras arguments and defaults.

        out = gamma * (x - mean) / sqrt(var + epsilon) + beta

    Inputs (N, F): statistics per feature over the batch. Inputs (N, C, H, W): per channel over
    the batch and both spatial axes. In training the batch mean and (biased) variance are used and
    the running averages follow them:  running = momentum * running + (1 - momentum) * batch
    (Keras' momentum = 0.99; PyTorch's momentum = 0.1 is 1 - this). In inference the running
    averages are used. gamma and beta are learned (params); the running averages are buffers:
    saved with the model, never touched by an optimizer.

    trainable=False freezes the layer the Keras way: gamma and beta stay fixed AND the layer runs
    in inference mode (running statistics, not updated), while gradients still flow through it.

    beta_regularizer / gamma_regularizer (Keras): their penalties join regularization_loss() and
    their gradients are added to dbeta / dgamma in backward.

    A training batch whose mean or variance is NaN/inf raises ValueError and leaves the running
    averages as they were (an error, not a warning: the output would be NaN anyway, and the running
    statistics stay the ones of the last good batch, so the layer still works for inference)."""
    # The four initializers, set in __init__ from their arguments:
    beta_initializer: initializers.Initializer
    gamma_initializer: initializers.Initializer
    moving_mean_initializer: initializers.Initializer
    moving_variance_initializer: initializers.Initializer

    def __init__(self, axis=1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None, gamma_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        cls = "BatchNormalization"
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or axis not in (1, -1):
            raise ValueError(f"{cls}: axis must be 1 (the feature/channel axis of (N, F) and (N, C, H, W)) "
                             f"or -1 (for (N, F)), got {axis!r}")
        self.axis = int(axis)
        self.momentum = check_number(cls, "momentum", momentum, minimum=0, maximum=1)
        self.epsilon = check_number(cls, "epsilon", epsilon, minimum=0, strict=True)
        self.center, self.scale = _check_bool(cls, "center", center), _check_bool(cls, "scale", scale)
        for arg, value in (("beta_initializer", beta_initializer), ("gamma_initializer", gamma_initializer),
                           ("moving_mean_initializer", moving_mean_initializer),
                           ("moving_variance_initializer", moving_variance_initializer)):
            setattr(self, arg, _named_arg(cls, arg, initializers.get, value))
        self.beta_regularizer = _named_arg(cls, "beta_regularizer", regularizers.get, beta_regularizer)
        self.gamma_regularizer = _named_arg(cls, "gamma_regularizer", regularizers.get, gamma_regularizer)
        self._cache = None

    def compute_output_shape(self, input_shape):
        # nnc data is (N, F) or NCHW: the feature/channel axis is 1 either way (-1 too for (N, F)).
        ok = self.axis == 1 or (self.axis == -1 and len(input_shape) == 1)
        if len(input_shape) not in (1, 3) or not ok:
            raise ValueError(f"{self.label}: inputs must be (N, F) or (N, C, H, W) with axis=1 "
                             f"(or -1 for (N, F)); got per-sample shape {tuple(input_shape)}, axis={self.axis}")
        return tuple(input_shape)

    def _build(self, rng):
        C = self.input_shape[0]
        make = lambda init: init((C,), self.dtype, rng, fan_in=C, fan_out=C)  # noqa: E731
        # Without scale/center, gamma = 1 / beta = 0 are constants: kept out of params.
        self._gamma = make(self.gamma_initializer) if self.scale else np.ones(C, self.dtype)
        self._beta = make(self.beta_initializer) if self.center else np.zeros(C, self.dtype)
        if self.scale:
            self.params["gamma"] = self._gamma
        if self.center:
            self.params["beta"] = self._beta
        self.buffers["running_mean"] = make(self.moving_mean_initializer)
        self.buffers["running_var"] = make(self.moving_variance_initializer)

    @property
    def running_mean(self):
        return self.buffers["running_mean"]

    @property
    def running_var(self):
        return self.buffers["running_var"]

    def forward(self, x, training=False):
        """x: (N, F) or (N, C, H, W) -> out shaped like x. In training, a batch whose statistics are not
        finite (NaN/inf in x, or an overflow) raises ValueError and leaves the running averages as they
        were: one bad batch must not poison every later inference."""
        self._ensure_built(x)
        training = bool(training and self.trainable)
        rm, rv = self.buffers["running_mean"], self.buffers["running_var"]
        if training:   # the kernel updates these in place: let it update copies (C values) first
            rm, rv = rm.copy(), rv.copy()
        out, cache = self._kernel(backend.get().batchnorm_forward, x, self.params.get("gamma", self._gamma),
                                  self.params.get("beta", self._beta), rm, rv, momentum=self.momentum,
                                  eps=self.epsilon, training=training)
        if training:
            if not (np.isfinite(rm).all() and np.isfinite(rv).all()):
                raise ValueError(f"{self.label}: the batch mean or variance is NaN or inf (the input holds NaN/inf "
                                 f"or overflows); running_mean and running_var were left unchanged. Check the "
                                 f"data and the layers before this one (a lower learning rate if training diverged)")
            self.buffers["running_mean"][...] = rm
            self.buffers["running_var"][...] = rv
        self._cache = cache
        return out

    def backward(self, dout):
        dx, dgamma, dbeta = self._kernel(backend.get().batchnorm_backward, dout, self._check_cache(self._cache))
        if self.scale:
            self.grads["gamma"] = dgamma if self.gamma_regularizer is None else \
                dgamma + self.gamma_regularizer.gradient(self.params["gamma"])
        if self.center:
            self.grads["beta"] = dbeta if self.beta_regularizer is None else \
                dbeta + self.beta_regularizer.gradient(self.params["beta"])
        return dx

    def regularization_loss(self):
        """The gamma and beta penalties on the current weights (0 without regularizers)."""
        total = 0.0
        for reg, p in ((self.gamma_regularizer, "gamma"), (self.beta_regularizer, "beta")):
            if reg is not None and p in self.params:
                total += reg.penalty(self.params[p])
        return float(total)

    def get_config(self):
        ser = initializers.serialize
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, "beta_initializer": ser(self.beta_initializer),
                "gamma_initializer": ser(self.gamma_initializer),
                "moving_mean_initializer": ser(self.moving_mean_initializer),
                "moving_variance_initializer": ser(self.moving_variance_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer)}
