"""nnc: perceptrons, MLPs and small convnets on NumPy arrays.

Fast kernels in Cython/C with OpenMP (the native backend) and the same kernels in plain Python
(the reference backend) behind one switch:  nnc.use("reference"), `with nnc.reference():`,
or NNC_BACKEND=reference in the environment.
"""
__version__ = "0.1.0"

from . import config
config.set_openmp_wait_policy()   # before the native modules load the OpenMP runtime (see nnc/config.py)

try:
    from . import backend  # noqa: E402
finally:
    config.restore_environment()  # the OpenMP runtime has read the policy: other runtimes and children must not
from .config import get_num_threads, set_num_threads, show_config, threads  # noqa: E402
from ._seed import set_seed  # noqa: E402
from . import callbacks, data, datasets, initializers, layers, losses, metrics, optim  # noqa: E402
from .gradcheck import gradcheck  # noqa: E402
from .trace import trace  # noqa: E402
from . import debug  # noqa: E402,F401  (nnc.debug.step_into(model, x): pdb at the first line of math)
from . import exercises  # noqa: E402,F401  (nnc.exercises.check(...) after a bare `import nnc`)
from .models import Perceptron, Sequential, load_model  # noqa: E402
from . import regularizers  # noqa: E402,F401

# What else import changes in the process, each with its switch: nnc/config.py's docstring.
if backend.native_available():
    config.pin_native_blas()    # one thread pool: the native kernels' BLAS on one thread (NNC_PIN_BLAS=0)
config.tune_malloc()            # keep freed memory for reuse (NNC_MALLOC=system)


def use(name):
    """Switch every layer to backend "native", "reference" or "textbook" (the reference with scalar loops)."""
    backend.use(name)


def reference():
    """`with nnc.reference(): ...` runs the block with the pure-Python kernels."""
    return backend.using("reference")


def native():
    """`with nnc.native(): ...` runs the block with the compiled kernels."""
    return backend.using("native")
