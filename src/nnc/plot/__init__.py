"""Plots for the course, drawn with matplotlib (an optional extra: pip install ".[plot]").

`import nnc` never imports matplotlib; `import nnc.plot` does, and says how to install it when it is
missing. Every function draws into the `ax=` (or `fig=` for the multi-panel ones) it is given, or a
new figure, and returns the Axes (or the Figure). Nothing calls show() or picks a backend: in a
notebook the figure appears by itself, in a script call matplotlib.pyplot.show() or fig.savefig().

    training     history(h), gradient_norms(logger), histograms(model), confusion_matrix(cm)
    classifiers  decision_regions(model, X, y), linear_boundaries(W, b)
    activations  activation("tanh"), activations(["sigmoid", "tanh", "relu"])
    convnets     filters(conv_layer), feature_maps(model, image)
    optimizers   trajectories(f, {"SGD": path, ...}), animate_trajectories(...)
                 (paths from nnc.optim.trajectory.minimize)
"""
import re as _re

try:
    import matplotlib
except ImportError as e:   # pragma: no cover - depends on the environment
    raise ImportError('nnc.plot needs matplotlib, an optional extra of nnc: pip install ".[plot]" in nnc\'s '
                      'source folder (or pip install matplotlib)') from e
if tuple(int(n) for n in _re.findall(r"\d+", matplotlib.__version__)[:2]) < (3, 5):   # layout="constrained"
    raise ImportError(f'nnc.plot needs matplotlib >= 3.5, found {matplotlib.__version__}: '
                      'pip install -U matplotlib')

from ._activations import activation, activations
from ._classifiers import decision_regions, linear_boundaries
from ._convnets import feature_maps, filters
from ._optimizers import animate_trajectories, trajectories
from ._training import confusion_matrix, gradient_norms, histograms, history

__all__ = ["history", "gradient_norms", "histograms", "confusion_matrix", "decision_regions",
           "linear_boundaries", "activation", "activations", "filters", "feature_maps", "trajectories",
           "animate_trajectories"]
