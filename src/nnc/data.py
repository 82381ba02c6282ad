"""Data utilities: seeded mini-batches, train/test split, one-hot labels, standardization, augmentation.

Randomness always comes from a numpy Generator. Wherever a `seed` or `rng` argument appears it takes
    None        fresh entropy (not reproducible)
    an int      a new Generator seeded with it (reproducible)
    Generator   used as is and advanced (a model passes its own, so one seed drives a whole run)

    batches(X, y, batch_size=32, shuffle=True, seed=0)      -> iterable of (xb, yb), len() = batches per epoch
    train_test_split(X, y, test_size=0.2, seed=0, stratify=True) -> X_train, X_test, y_train, y_test
    one_hot(y, num_classes)                                  -> (N, K) float32
    standardize(X) -> (Xs, mean, std);  standardize(X_test, mean, std) reuses the training statistics
    random_flip, random_shift, add_noise                     augmentation of (N, H, W) or (N, C, H, W) batches
"""
import numbers

import numpy as np

from .validation import all_finite, check_positive_int

__all__ = ["as_rng", "Batches", "batches", "train_test_split", "one_hot", "standardize",
           "random_flip", "random_shift", "add_noise"]


def as_rng(seed=None):
    """A numpy Generator from None, an int >= 0, or a Generator (returned unchanged, not copied)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0):
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be None, an int >= 0 or a numpy.random.Generator, got {seed!r}")


def _as_array(fn, name, a, min_ndim=1):
    a = np.asarray(a)
    if a.ndim < min_ndim:
        raise ValueError(f"{fn}: {name} must have at least {min_ndim} dimension(s), got shape {a.shape}")
    return a


def _check_same_length(fn, X, y):
    if y is not None and len(y) != len(X):
        raise ValueError(f"{fn}: X has {len(X)} samples but y has {len(y)}; they must match")


# ---- mini-batches ------------------------------------------------------------------------------
class Batches:
    """Mini-batches of (X, y) along the first axis; iterate once per epoch.

    X: (N, ...) any shape (dense (N, D) or images (N, C, H, W)); y: (N, ...) or None.
    With shuffle=True every epoch draws a fresh permutation from one Generator created (or taken)
    at construction, so epochs differ from each other but two Batches built with the same int seed
    produce the same sequence of epochs. Every sample appears exactly once per epoch; the last
    batch is smaller unless drop_last=True, which skips it.

    Yields (xb, yb), or xb alone when y is None. Without shuffling the batches are views of X.
    """

    def __init__(self, X, y=None, batch_size=32, shuffle=True, seed=None, drop_last=False):
        fn = "batches"
        self.X = _as_array(fn, "X", X)
        self.y = None if y is None else _as_array(fn, "y", y)
        _check_same_length(fn, self.X, self.y)
        if len(self.X) == 0:
            raise ValueError(f"{fn}: X is empty (shape {self.X.shape})")
        self.batch_size = check_positive_int(fn, "batch_size", batch_size, 1)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        if self.drop_last and self.batch_size > len(self.X):
            raise ValueError(f"{fn}: drop_last=True with batch_size={self.batch_size} > {len(self.X)} samples "
                             "would give no batch at all")
        self.rng = as_rng(seed)

    def __len__(self):
        n, bs = len(self.X), self.batch_size
        return n // bs if self.drop_last else -(-n // bs)

    def __iter__(self):
        n, bs = len(self.X), self.batch_size
        order = self.rng.permutation(n) if self.shuffle else None
        for k in range(len(self)):
            if order is None:
                idx = slice(k * bs, (k + 1) * bs)
            else:
                idx = order[k * bs:(k + 1) * bs]
            if self.y is None:
                yield self.X[idx]
            else:
                yield self.X[idx], self.y[idx]


def batches(X, y=None, batch_size=32, shuffle=True, seed=None, drop_last=False):
    """`for xb, yb in batches(X, y, 64, seed=0): ...`  -- see `Batches`."""
    return Batches(X, y, batch_size=batch_size, shuffle=shuffle, seed=seed, drop_last=drop_last)


# ---- splitting ---------------------------------------------------------------------------------
def _n_test(fn, test_size, n):
    """test_size as a fraction in (0, 1) (rounded up, as scikit-learn does) or a count."""
    if isinstance(test_size, numbers.Integral) and not isinstance(test_size, bool):
        n_test = int(test_size)
    elif isinstance(test_size, numbers.Real) and not isinstance(test_size, bool) and 0.0 < test_size < 1.0:
        n_test = int(np.ceil(test_size * n))
    else:
        raise ValueError(f"{fn}: test_size must be a fraction in (0, 1) or an integer count, got {test_size!r}")
    if not 1 <= n_test <= n - 1:
        raise ValueError(f"{fn}: test_size={test_size!r} gives {n_test} test samples out of {n}; "
                         "both parts need at least one sample")
    return n_test


def _stratified_test_index(fn, y, n_test, rng):
    """Pick n_test indices so each class keeps its share: class c gets n_c * n_test / n rounded
    down, and the samples still missing go to the classes with the largest remainders."""
    if y.ndim != 1:
        raise ValueError(f"{fn}: stratifying needs 1-D class labels, got shape {y.shape}; "
                         "for one-hot labels pass stratify=y.argmax(axis=1)")
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    exact = counts * n_test / len(y)
    take = np.floor(exact).astype(np.int64)
    missing = n_test - take.sum()
    by_remainder = np.argsort(-(exact - take), kind="stable")
    take[by_remainder[:missing]] += 1
    picked = [rng.permutation(np.flatnonzero(inverse == c))[:take[c]] for c in range(len(classes))]
    return np.concatenate(picked)


def _stratify_labels(fn, stratify, y, n):
    """The labels to stratify by: None (no stratification), y (stratify=True) or the array given."""
    if stratify is None or isinstance(stratify, (bool, np.bool_)):
        if not stratify:
            return None
        if y is None:
            raise ValueError(f"{fn}: stratify=True needs labels y")
        return y
    labels = np.asarray(stratify)
    if labels.shape[:1] != (n,):
        raise ValueError(f"{fn}: stratify must be True/False or labels with one entry per sample ({n}), "
                         f"got shape {labels.shape}")
    return labels


def train_test_split(X, y=None, test_size=0.2, seed=None, stratify=False):
    """Split samples (first axis) into a training and a test (or validation) part.

    Returns X_train, X_test, y_train, y_test (scikit-learn's order), or X_train, X_test when y is
    None. Both parts come out in a random order. stratify=True keeps each class's proportion of y in
    both parts (y must then be 1-D labels); stratify=labels (N,) (scikit-learn's form, e.g.
    stratify=y) keeps the proportions of those labels.
    """
    fn = "train_test_split"
    X = _as_array(fn, "X", X)
    y = None if y is None else _as_array(fn, "y", y)
    _check_same_length(fn, X, y)
    n = len(X)
    n_test = _n_test(fn, test_size, n)
    rng = as_rng(seed)
    labels = _stratify_labels(fn, stratify, y, n)
    if labels is not None:
        test_idx = _stratified_test_index(fn, labels, n_test, rng)
    else:
        test_idx = rng.permutation(n)[:n_test]
    is_test = np.zeros(n, dtype=bool)
    is_test[test_idx] = True
    train_idx = rng.permutation(np.flatnonzero(~is_test))
    test_idx = rng.permutation(test_idx)
    if y is None:
        return X[train_idx], X[test_idx]
    return X[train_idx], X[test_idx], y[train_idx], y[test_idx]


# ---- labels and scaling ------------------------------------------------------------------------
def one_hot(y, num_classes=None, dtype=np.float32):
    """Integer labels (N,) -> one-hot matrix (N, K) with Y[n, y[n]] = 1, all else 0.

    K = num_classes, or max(y) + 1 when None. Float labels are accepted if they are whole numbers.
    """
    fn = "one_hot"
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{fn}: y must be 1-D class labels (N,), got shape {y.shape}")
    if y.dtype.kind == "f":
        if not all_finite(y):
            raise ValueError(f"{fn}: y contains NaN or inf; labels must be integers")
        if not (y == np.round(y)).all():
            raise ValueError(f"{fn}: y has non-integer values; labels must be integers 0 .. K-1")
    elif y.dtype.kind not in "iu":
        raise TypeError(f"{fn}: y must hold integer labels, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if y.size and y.min() < 0:
        raise ValueError(f"{fn}: labels must be >= 0, got {y.min()}")
    if num_classes is None:
        if y.size == 0:
            raise ValueError(f"{fn}: y is empty; pass num_classes")
        num_classes = int(y.max()) + 1
    num_classes = check_positive_int(fn, "num_classes", num_classes, 1)
    if y.size and y.max() >= num_classes:
        raise ValueError(f"{fn}: label {y.max()} does not fit num_classes={num_classes} (labels are 0 .. K-1)")
    Y = np.zeros((len(y), num_classes), dtype=dtype)
    Y[np.arange(len(y)), y] = 1
    return Y


def standardize(X, mean=None, std=None, axis=0, eps=1e-8):
    """Xs = (X - mean) / (std + eps) -> (Xs, mean, std).

    With mean and std None they are computed from X over `axis` (0: per feature of (N, D) data;
    (0, 2, 3): per channel of NCHW images; None: one scalar) and returned with keepdims, so
    `standardize(X_test, mean, std)` applies the training statistics to test data. Integer X
    (e.g. uint8 pixels) comes out float32; float X keeps its dtype.
    """
    fn = "standardize"
    X = np.asarray(X)
    if X.dtype.kind not in "iuf":
        raise TypeError(f"{fn}: X must be numeric, got dtype {X.dtype}")
    if X.size == 0:
        raise ValueError(f"{fn}: X is empty (shape {X.shape})")
    out_dtype = X.dtype if X.dtype.kind == "f" else np.dtype(np.float32)
    if not all_finite(X):
        raise ValueError(f"{fn}: X contains NaN or inf")
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not eps >= 0:
        raise ValueError(f"{fn}: eps must be a number >= 0, got {eps!r}")
    if (mean is None) != (std is None):
        raise ValueError(f"{fn}: pass both mean and std (from a previous call) or neither")
    if mean is None:
        # Statistics in float64: summing 60000 float32 pixels loses digits.
        mean = X.mean(axis=axis, dtype=np.float64, keepdims=True).astype(out_dtype)
        std = X.std(axis=axis, dtype=np.float64, keepdims=True).astype(out_dtype)
    else:
        mean = np.asarray(mean, dtype=out_dtype)
        std = np.asarray(std, dtype=out_dtype)
        for name, a in (("mean", mean), ("std", std)):
            try:
                np.broadcast_shapes(a.shape, X.shape)
            except ValueError:
                raise ValueError(f"{fn}: {name} of shape {a.shape} does not broadcast against X {X.shape}") from None
        if (std < 0).any() or not np.isfinite(std).all() or not np.isfinite(mean).all():
            raise ValueError(f"{fn}: std must be finite and >= 0 and mean finite")
    Xs = ((X - mean) / (std + out_dtype.type(eps))).astype(out_dtype, copy=False)
    return Xs, mean, std


# ---- augmentation: (N, H, W) or (N, C, H, W) -------------------------------------------------
def _check_images(fn, x):
    x = np.asarray(x)
    if x.ndim not in (3, 4):
        raise ValueError(f"{fn}: x must be a batch of images (N, H, W) or (N, C, H, W), got shape {x.shape}")
    return x


def random_flip(x, rng=None, horizontal=True, p=0.5):
    """Mirror each image with probability p: left-right (horizontal=True) or top-bottom. Returns a copy."""
    fn = "random_flip"
    x = _check_images(fn, x)
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{fn}: p must be a probability in [0, 1], got {p!r}")
    rng = as_rng(rng)
    flip = rng.random(len(x)) < p
    out = x.copy()
    axis = -1 if horizontal else -2
    out[flip] = np.flip(x[flip], axis=axis)
    return out


def _shift(x, dy, dx):
    """Move the content of every image in x by dy rows (down if > 0) and dx columns (right if > 0),
    filling the uncovered border with zeros."""
    H, W = x.shape[-2:]
    out = np.zeros_like(x)
    out[..., max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \
        x[..., max(-dy, 0):H + min(-dy, 0), max(-dx, 0):W + min(-dx, 0)]
    return out


def random_shift(x, max_shift, rng=None):
    """Translate each image by its own random (dy, dx), each uniform in [-max_shift, max_shift],
    with zero fill. Returns a new array."""
    fn = "random_shift"
    x = _check_images(fn, x)
    m = check_positive_int(fn, "max_shift", max_shift, 0)
    if m >= min(x.shape[-2:]):
        raise ValueError(f"{fn}: max_shift={m} must be smaller than the image size {x.shape[-2:]}")
    rng = as_rng(rng)
    shifts = rng.integers(-m, m + 1, size=(len(x), 2))
    out = np.empty_like(x)
    # One slice copy per distinct shift (at most (2m+1)^2), not one per image.
    for dy, dx in np.unique(shifts, axis=0):
        sel = (shifts[:, 0] == dy) & (shifts[:, 1] == dx)
        out[sel] = _shift(x[sel], int(dy), int(dx))
    return out


def add_noise(x, std, rng=None, clip=None):
    """x + N(0, std^2) noise, elementwise, in x's float dtype; clip=(lo, hi) bounds the result."""
    fn = "add_noise"
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise TypeError(f"{fn}: x must be a float array (convert uint8 images with x / 255.0 first), got {x.dtype}")
    if isinstance(std, bool) or not isinstance(std, numbers.Real) or not np.isfinite(std) or std < 0:
        raise ValueError(f"{fn}: std must be a finite number >= 0, got {std!r}")
    rng = as_rng(rng)
    out = x + rng.normal(0.0, std, size=x.shape).astype(x.dtype)
    if clip is not None:
        lo, hi = clip
        if not lo <= hi:
            raise ValueError(f"{fn}: clip must be (lo, hi) with lo <= hi, got {clip!r}")
        np.clip(out, lo, hi, out=out)
    return out
