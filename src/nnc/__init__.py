"""nnc: perceptrons, MLPs and small convnets on NumPy arrays.

Fast kernels in Cython/C with OpenMP (the native backend) and the same kernels in plain Python
(the reference backend) behind one switch:  nnc.use("reference"), `with nnc.reference():`,
or NNC_BACKEND=reference in the environment.
"""
__version__ = "0.1.0"

from . import _config
_config.set_openmp_wait_policy()   # before the native modules load the OpenMP runtime: see nnc/_config.py

from . import backend  # noqa: E402
from ._config import get_num_threads, set_num_threads, show_config, threads
from ._seed import set_seed  # noqa: E402
from . import callbacks, data, datasets, initializers, layers, losses, metrics, optim  # noqa: E402
from .gradcheck import gradcheck  # noqa: E402
from .trace import trace  # noqa: E402
from . import debug  # noqa: E402,F401  (nnc.debug.step_into(model, x): pdb at the first line of math)
from . import exercises  # noqa: E402,F401  (nnc.exercises.check(...) after a bare `import nnc`)
from .models import Perceptron, Sequential, load_model  # noqa: E402
from . import regularizers  # noqa: E402,F401

_config.tune_malloc()   # keep freed memory for reuse: see nnc/_config.py (NNC_MALLOC=system opts out)


def use(name):
    """Switch every layer to backend "native" or "reference"."""
    backend.use(name)


def reference():
    """`with nnc.reference(): ...` runs the block with the pure-Python kernels."""
    return backend.using("reference")


def native():
    """`with nnc.native(): ...` runs the block with the compiled kernels."""
    return backend.using("native")
