"""Small synthetic classification sets for demos, lectures and tests.

Every generator takes `seed` (an int, None, or a numpy Generator that it draws from) and returns
    X  float32 array (n_samples, n_features)
    y  int64 array (n_samples,) with labels 0 .. n_classes-1
in a shuffled order, so an unshuffled mini-batch still mixes the classes.

    make_blobs                Gaussian clusters around given or random centers
    make_linearly_separable   two classes split by a hyperplane with a guaranteed margin
    make_xor                  four clusters at (+-1, +-1), label = XOR of the signs: not linearly separable
    make_spirals              CS231n's interleaved spirals, 2 or more arms
    make_moons                two interleaving half circles (as scikit-learn draws them)
"""
import numbers

import numpy as np

from ..data import as_rng
from ..validation import check_positive_int

__all__ = ["make_blobs", "make_linearly_separable", "make_xor", "make_spirals", "make_moons"]


# ---- argument checks ---------------------------------------------------------------------------
def _check_nonneg(fn, name, v, strict=False):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v) or v < 0 or (strict and v == 0):
        want = "> 0" if strict else ">= 0"
        raise ValueError(f"{fn}: {name} must be a finite number {want}, got {v!r}")
    return float(v)


def _split_counts(n, k):
    """n samples over k groups as evenly as possible; the first n % k groups get one more."""
    counts = np.full(k, n // k, dtype=np.int64)
    counts[: n % k] += 1
    return counts


def _finish(X, y, rng):
    """Shuffle once with the caller's generator and fix the documented dtypes."""
    order = rng.permutation(len(y))
    return np.ascontiguousarray(X[order], dtype=np.float32), np.ascontiguousarray(y[order], dtype=np.int64)


# ---- generators --------------------------------------------------------------------------------
def make_blobs(n_samples=100, centers=3, n_features=2, cluster_std=1.0, seed=None):
    """Isotropic Gaussian clusters: x ~ N(center_y, cluster_std^2 I).

    centers: an int k (centers drawn uniformly from the box [-10, 10]^n_features) or an array
    (k, n_features) of centers. Samples are shared out evenly among the k clusters; label = cluster index.
    """
    fn = "make_blobs"
    n = check_positive_int(fn, "n_samples", n_samples, 1)
    std = _check_nonneg(fn, "cluster_std", cluster_std)
    rng = as_rng(seed)
    if isinstance(centers, numbers.Integral) and not isinstance(centers, bool):
        k = check_positive_int(fn, "centers", centers, 1)
        d = check_positive_int(fn, "n_features", n_features, 1)
        C = rng.uniform(-10.0, 10.0, size=(k, d))
    else:
        C = np.asarray(centers, dtype=np.float64)
        if C.ndim != 2 or C.shape[0] < 1 or C.shape[1] < 1:
            raise ValueError(f"{fn}: centers must be an int or a 2-D array (k, n_features), got shape {C.shape}")
        if not np.isfinite(C).all():
            raise ValueError(f"{fn}: centers contains NaN or inf")
        k, d = C.shape
    y = np.repeat(np.arange(k), _split_counts(n, k))
    X = C[y] + std * rng.standard_normal((n, d))
    return _finish(X, y, rng)


def make_linearly_separable(n_samples=100, n_features=2, margin=0.5, seed=None):
    """Two classes on either side of a random hyperplane w.x + b = 0 (|w| = 1), every point at
    distance >= margin from it, so a perceptron is guaranteed to converge.

    Points start uniform in the box [-1, 1]^d; each is then pushed away from the plane along w by
    `margin`:  x <- x + margin * sign(w.x + b) * w,  which turns a signed distance s into
    s + margin * sign(s). Label 1 where w.x + b >= 0, else 0.
    """
    fn = "make_linearly_separable"
    n = check_positive_int(fn, "n_samples", n_samples, 1)
    d = check_positive_int(fn, "n_features", n_features, 1)
    margin = _check_nonneg(fn, "margin", margin, strict=True)
    rng = as_rng(seed)
    w = rng.standard_normal(d)
    w /= np.linalg.norm(w)
    b = rng.uniform(-0.25, 0.25)
    X = rng.uniform(-1.0, 1.0, size=(n, d))
    s = X @ w + b
    side = np.where(s >= 0, 1.0, -1.0)
    X = X + margin * side[:, None] * w[None, :]
    y = (side > 0).astype(np.int64)
    return _finish(X, y, rng)


def make_xor(n_samples=200, noise=0.1, seed=None):
    """The XOR problem: four Gaussian clusters (std `noise`) at the corners (+-1, +-1).

    label = (x0 > 0) XOR (x1 > 0) for the corner a point was drawn around, so corners (1, 1) and
    (-1, -1) are class 0, (1, -1) and (-1, 1) class 1. No line separates the two classes
    (Minsky & Papert's objection to the single-layer perceptron); a hidden layer does.
    With noise < ~0.3 the clusters barely overlap, so a 2-layer MLP can reach 100%.
    """
    fn = "make_xor"
    n = check_positive_int(fn, "n_samples", n_samples, 1)
    noise = _check_nonneg(fn, "noise", noise)
    rng = as_rng(seed)
    corners = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
    corner_label = np.array([0, 0, 1, 1])
    which = np.repeat(np.arange(4), _split_counts(n, 4))
    X = corners[which] + noise * rng.standard_normal((n, 2))
    return _finish(X, corner_label[which], rng)


def make_spirals(n_samples=300, n_classes=2, noise=0.2, seed=None):
    """Interleaved spirals, one arm per class (the CS231n "spiral data").

    Arm j (j = 0 .. k-1, k = n_classes): radius r evenly spaced in [0, 1], angle
        t = 2 pi (j / k + r) + noise * N(0, 1),      x = (r sin t, r cos t)
    so every arm winds one full turn and the arms start 2 pi / k apart.
    Needs a nonlinear model: a linear classifier reaches only about 1/n_classes + a little.
    """
    fn = "make_spirals"
    n = check_positive_int(fn, "n_samples", n_samples, 1)
    k = check_positive_int(fn, "n_classes", n_classes, 2)
    noise = _check_nonneg(fn, "noise", noise)
    rng = as_rng(seed)
    Xs, ys = [], []
    for j, m in enumerate(_split_counts(n, k)):
        r = np.linspace(0.0, 1.0, m)
        # Each arm starts at its own angle (2 pi j / k) and winds by one full turn over r in [0, 1].
        t = 2.0 * np.pi * (j / k + r) + noise * rng.standard_normal(m)
        Xs.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        ys.append(np.full(m, j))
    return _finish(np.concatenate(Xs), np.concatenate(ys), rng)


def make_moons(n_samples=200, noise=0.1, seed=None):
    """Two interleaving half circles: class 0 is (cos t, sin t), class 1 is (1 - cos t, 0.5 - sin t)
    for t in [0, pi], plus Gaussian noise of std `noise` on both coordinates."""
    fn = "make_moons"
    n = check_positive_int(fn, "n_samples", n_samples, 1)
    noise = _check_nonneg(fn, "noise", noise)
    rng = as_rng(seed)
    n0, n1 = _split_counts(n, 2)
    t0 = np.linspace(0.0, np.pi, n0)
    t1 = np.linspace(0.0, np.pi, n1)
    X = np.concatenate([np.column_stack([np.cos(t0), np.sin(t0)]),
                        np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)])])
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)])
    X = X + noise * rng.standard_normal(X.shape)
    return _finish(X, y, rng)
