"""Floor 2: layers. Each owns params/grads/cache and calls the active backend's kernels."""
from .base import Layer, get, register  # noqa: F401
from .activations import (Activation, ELU, GELU, Identity, LeakyReLU, Linear, PReLU, ReLU, SELU, Sigmoid,  # noqa: F401
                          SiLU, Softmax, Softplus, Softsign, Step, Swish, Tanh)
from .dense import Dense  # noqa: F401
from .reshape import Flatten, Input  # noqa: F401
from .conv import Conv2D  # noqa: F401
from .pooling import AveragePooling2D, AvgPool2D, GlobalAveragePooling2D, MaxPool2D, MaxPooling2D  # noqa: F401
from .dropout import Dropout, SpatialDropout2D  # noqa: F401
from .normalization import BatchNormalization  # noqa: F401
