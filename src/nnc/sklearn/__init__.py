"""nnc models as scikit-learn estimators: Pipeline, cross_val_score, GridSearchCV, clone, joblib, Dask.

    from nnc.sklearn import MLPClassifier
    GridSearchCV(make_pipeline(StandardScaler(), MLPClassifier(max_iter=20)),
                 {"mlpclassifier__hidden_layer_sizes": [(32,), (64,)]}).fit(X, y)

MLPClassifier, MLPRegressor     scikit-learn's MLP parameters, an nnc network underneath (nnc.sklearn.mlp)
ConvNetClassifier               a small convnet on images given as rows of X
NNCClassifier, NNCRegressor     any nnc Sequential from a function that builds it, with routed parameters
                                model__<arg>, optimizer__<arg>, loss__<arg> (nnc.sklearn.wrappers)

nnc.Perceptron is an estimator too, without this package. `import nnc` does not import scikit-learn; this
package needs it: pip install ".[sklearn]". docs/sklearn.md has the tour, Dask sweeps included.
"""
try:
    import sklearn
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError('nnc.sklearn needs scikit-learn (1.6 or later): pip install ".[sklearn]" in nnc\'s source '
                      'folder, or pip install scikit-learn') from None

if tuple(int(p) for p in sklearn.__version__.split(".")[:2] if p.isdigit()) < (1, 6):  # pragma: no cover
    raise ImportError(f"nnc.sklearn needs scikit-learn 1.6 or later (validate_data, __sklearn_tags__), found "
                      f'{sklearn.__version__}: pip install ".[sklearn]"')

from ._base import EXPECTED_FAILED_CHECKS, expected_failed_checks  # noqa: E402
from .mlp import ConvNetClassifier, MLPClassifier, MLPRegressor  # noqa: E402
from .wrappers import NNCClassifier, NNCRegressor  # noqa: E402

__all__ = ["MLPClassifier", "MLPRegressor", "ConvNetClassifier", "NNCClassifier", "NNCRegressor",
           "EXPECTED_FAILED_CHECKS", "expected_failed_checks"]
