"""nnc.data: batches, train_test_split, one_hot, standardize and the augmentation helpers."""
import numpy as np
import pytest

from nnc.data import (add_noise, as_rng, batches, one_hot, random_flip, random_shift, standardize,
                      train_test_split)


# ---- batches -------------------------------------------------------------------------------------
def epoch_order(b):
    return np.concatenate([yb for _, yb in b])


@pytest.mark.parametrize("n, bs", [(1, 1), (10, 3), (64, 16), (7, 100)])
def test_batches_cover_every_sample_once(n, bs):
    X = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n)
    b = batches(X, y, batch_size=bs, seed=0)
    assert len(b) == -(-n // bs)
    for _ in range(2):                                   # every epoch, not just the first
        got = list(b)
        assert len(got) == len(b)
        assert all(len(xb) == len(yb) <= bs for xb, yb in got)
        order = np.concatenate([yb for _, yb in got])
        assert sorted(order) == list(range(n))
        np.testing.assert_array_equal(np.concatenate([xb for xb, _ in got]), X[order])  # pairs stay together


def test_batches_seeding():
    X = np.arange(100, dtype=np.float64)[:, None]
    y = np.arange(100)
    a, b = batches(X, y, 10, seed=5), batches(X, y, 10, seed=5)
    a1, a2 = epoch_order(a), epoch_order(a)
    np.testing.assert_array_equal(a1, epoch_order(b))          # same seed, same first epoch
    np.testing.assert_array_equal(a2, epoch_order(b))          # ... and same second epoch
    assert not np.array_equal(a1, a2)                          # epochs reshuffle
    assert not np.array_equal(a1, epoch_order(batches(X, y, 10, seed=6)))
    # A Generator is used, not copied: the caller's stream advances.
    g = np.random.default_rng(5)
    np.testing.assert_array_equal(epoch_order(batches(X, y, 10, seed=g)), a1)
    assert not np.array_equal(epoch_order(batches(X, y, 10, seed=g)), a1)


def test_batches_no_shuffle_drop_last_and_no_labels():
    X = np.arange(10)[:, None]
    got = [xb[:, 0].tolist() for xb in batches(X, batch_size=4, shuffle=False)]
    assert got == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    b = batches(X, X[:, 0], batch_size=4, shuffle=False, drop_last=True)
    assert len(b) == 2 and [yb.tolist() for _, yb in b] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    b = batches(X, X[:, 0], batch_size=4, seed=1, drop_last=True)
    assert all(len(yb) == 4 for _, yb in b) and len(list(b)) == 2


def test_batches_images():
    X = np.random.default_rng(0).random((9, 1, 5, 4)).astype(np.float32)
    xb, yb = next(iter(batches(X, np.arange(9), 4, seed=0)))
    assert xb.shape == (4, 1, 5, 4) and xb.dtype == np.float32
    np.testing.assert_array_equal(xb, X[yb])


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(X=np.zeros((5, 2)), y=np.zeros(4)), ValueError, "5 samples but y has 4"),
    (dict(X=np.zeros((5, 2)), batch_size=0), ValueError, "batch_size"),
    (dict(X=np.zeros((5, 2)), batch_size=2.0), ValueError, "batch_size"),
    (dict(X=np.zeros((0, 2))), ValueError, "empty"),
    (dict(X=np.float32(3.0)), ValueError, "dimension"),
    (dict(X=np.zeros((5, 2)), batch_size=6, drop_last=True), ValueError, "drop_last"),
    (dict(X=np.zeros((5, 2)), seed=-1), TypeError, "seed"),
    (dict(X=np.zeros((5, 2)), seed="abc"), TypeError, "seed"),
])
def test_batches_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        batches(**kwargs)


def test_as_rng():
    g = np.random.default_rng(0)
    assert as_rng(g) is g
    assert as_rng(3).random() == np.random.default_rng(3).random()
    with pytest.raises(TypeError):
        as_rng(True)


# ---- train_test_split ---------------------------------------------------------------------------------
def test_split_partitions_the_samples():
    X = np.arange(50)[:, None] * 10
    y = np.arange(50)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, seed=0)
    assert len(Xte) == 10 and len(Xtr) == 40
    np.testing.assert_array_equal(Xtr[:, 0], ytr * 10)                 # rows stay paired with labels
    np.testing.assert_array_equal(Xte[:, 0], yte * 10)
    assert sorted(np.concatenate([ytr, yte]).tolist()) == list(range(50))
    again = train_test_split(X, y, test_size=0.2, seed=0)
    np.testing.assert_array_equal(again[3], yte)
    assert not np.array_equal(train_test_split(X, y, test_size=0.2, seed=1)[3], yte)
    assert len(train_test_split(X, y, test_size=7, seed=0)[1]) == 7
    assert len(train_test_split(X, y, test_size=0.01, seed=0)[1]) == 1     # rounded up, never empty
    Xtr, Xte = train_test_split(X, test_size=0.5, seed=0)
    assert len(Xtr) == len(Xte) == 25


def test_split_stratified_keeps_proportions():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [60, 30, 10])
    rng.shuffle(y)
    X = rng.random((100, 3))
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, seed=0, stratify=True)
    assert np.bincount(yte).tolist() == [12, 6, 2] and np.bincount(ytr).tolist() == [48, 24, 8]
    # Uneven shares: the total is still exactly the requested size.
    y = np.repeat([0, 1, 2], [5, 5, 5])
    _, Xte, _, yte = train_test_split(np.zeros((15, 1)), y, test_size=4, seed=3, stratify=True)
    assert len(yte) == 4 and np.bincount(yte, minlength=3).max() == 2


def test_split_stratify_takes_the_labels_as_scikit_learn_does():
    y = np.repeat([0, 1], [80, 20])
    X = np.arange(100.0)[:, None]
    by_array = train_test_split(X, y, test_size=0.25, seed=1, stratify=y)
    by_flag = train_test_split(X, y, test_size=0.25, seed=1, stratify=True)
    for a, b in zip(by_array, by_flag):
        np.testing.assert_array_equal(a, b)
    assert np.bincount(by_array[3]).tolist() == [20, 5]
    _, Xte = train_test_split(X, test_size=0.25, seed=1, stratify=y)   # labels given only for stratifying
    np.testing.assert_array_equal(Xte, by_array[1])
    with pytest.raises(ValueError, match=r"one entry per sample \(100\), got shape \(99,\)"):
        train_test_split(X, y, stratify=y[:99])


@pytest.mark.parametrize("kwargs, match", [
    (dict(test_size=0.0), "test_size"),
    (dict(test_size=1.0), "test_size"),
    (dict(test_size=10), "test samples"),
    (dict(test_size=0), "test samples"),
    (dict(test_size="half"), "test_size"),
])
def test_split_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        train_test_split(np.zeros((10, 2)), np.zeros(10), **kwargs)


def test_split_error_lengths_and_stratify():
    with pytest.raises(ValueError, match="must match"):
        train_test_split(np.zeros((10, 2)), np.zeros(9))
    with pytest.raises(ValueError, match="labels"):
        train_test_split(np.zeros((10, 2)), stratify=True)
    with pytest.raises(ValueError, match="1-D"):
        train_test_split(np.zeros((10, 2)), np.zeros((10, 3)), stratify=True)


# ---- one_hot -------------------------------------------------------------------------------------------
def test_one_hot():
    y = np.array([2, 0, 1, 2])
    Y = one_hot(y)
    assert Y.shape == (4, 3) and Y.dtype == np.float32
    np.testing.assert_array_equal(Y.sum(axis=1), 1)
    np.testing.assert_array_equal(Y.argmax(axis=1), y)
    assert one_hot(y, num_classes=5).shape == (4, 5)
    assert one_hot(y, dtype=np.float64).dtype == np.float64
    np.testing.assert_array_equal(one_hot(np.array([1.0, 0.0])), [[0, 1], [1, 0]])
    assert one_hot(np.array([], dtype=np.int64), num_classes=3).shape == (0, 3)


@pytest.mark.parametrize("y, kwargs, exc, match", [
    (np.array([0, -1]), {}, ValueError, ">= 0"),
    (np.array([0.0, np.nan]), {}, ValueError, "NaN"),
    (np.array([0.5, 1.0]), {}, ValueError, "non-integer"),
    (np.array([0, 3]), dict(num_classes=3), ValueError, "num_classes"),
    (np.array([[0, 1]]), {}, ValueError, "1-D"),
    (np.array(["a", "b"]), {}, TypeError, "integer"),
    (np.array([], dtype=np.int64), {}, ValueError, "empty"),
    (np.array([0, 1]), dict(num_classes=0), ValueError, "num_classes"),
])
def test_one_hot_errors(y, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        one_hot(y, **kwargs)


# ---- standardize ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_standardize_features(dt):
    rng = np.random.default_rng(1)
    X = (rng.standard_normal((200, 4)) * [1, 2, 3, 4] + [5, -5, 0, 100]).astype(dt)
    Xs, mean, std = standardize(X)
    assert Xs.dtype == dt and mean.shape == (1, 4) and std.shape == (1, 4)
    np.testing.assert_allclose(Xs.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(Xs.std(axis=0), 1, rtol=1e-4)
    # Test data reuses the training statistics: the same affine map, not its own.
    Xt = X[:10] + 1
    Xts, m2, s2 = standardize(Xt, mean, std)
    np.testing.assert_allclose(Xts, Xs[:10] + 1 / (std + 1e-8), rtol=1e-4, atol=1e-5)
    assert m2 is not None and np.array_equal(m2, mean)


def test_standardize_images_per_channel_and_uint8():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, size=(20, 3, 5, 6)).astype(np.uint8)
    xs, mean, std = standardize(x, axis=(0, 2, 3))
    assert xs.dtype == np.float32 and mean.shape == (1, 3, 1, 1)
    np.testing.assert_allclose(xs.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    _, m, s = standardize(x, axis=None)
    assert m.shape == (1, 1, 1, 1)
    # A constant feature does not blow up: eps keeps the division finite.
    xs, _, _ = standardize(np.ones((5, 2)))
    assert np.isfinite(xs).all() and (xs == 0).all()


def test_standardize_errors():
    X = np.ones((4, 3))
    with pytest.raises(ValueError, match="both"):
        standardize(X, mean=np.zeros(3))
    with pytest.raises(ValueError, match="broadcast"):
        standardize(X, mean=np.zeros(4), std=np.ones(4))
    with pytest.raises(ValueError, match="NaN"):
        standardize(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="std"):
        standardize(X, mean=np.zeros(3), std=-np.ones(3))
    with pytest.raises(ValueError, match="empty"):
        standardize(np.zeros((0, 3)))
    with pytest.raises(TypeError, match="numeric"):
        standardize(np.array([["a"]]))


# ---- augmentation -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(6, 5, 7), (6, 2, 5, 7)])
def test_random_flip(shape):
    x = np.random.default_rng(0).random(shape).astype(np.float32)
    out = random_flip(x, rng=0, p=0.5)
    assert out.shape == x.shape and out is not x
    flipped = [not np.array_equal(out[i], x[i]) for i in range(len(x))]
    for i in range(len(x)):
        assert np.array_equal(out[i], x[i]) or np.array_equal(out[i], x[i][..., ::-1])
    assert 0 < sum(flipped) < len(x)                      # seed 0 flips some, not all
    np.testing.assert_array_equal(random_flip(x, rng=0), out)
    np.testing.assert_array_equal(random_flip(x, rng=0, p=1.0), x[..., ::-1])
    np.testing.assert_array_equal(random_flip(x, rng=0, p=1.0, horizontal=False), x[..., ::-1, :])
    np.testing.assert_array_equal(random_flip(x, rng=0, p=0.0), x)


@pytest.mark.parametrize("shape", [(40, 6, 7), (40, 2, 6, 7)])
def test_random_shift_matches_a_padded_window(shape):
    x = np.random.default_rng(1).random(shape) + 1.0    # no zeros, so the zero fill is visible
    out = random_shift(x, 2, rng=4)
    H, W = shape[-2:]
    pad = [(0, 0)] * (x.ndim - 3) + [(2, 2), (2, 2)]
    seen = set()
    for i in range(len(x)):
        # Shifting by (dy, dx) with zero fill = a window of the zero-padded image.
        padded = np.pad(x[i], pad)
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                   if np.array_equal(out[i], padded[..., 2 - dy:2 - dy + H, 2 - dx:2 - dx + W])]
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) > 5                                 # images get their own shifts
    np.testing.assert_array_equal(random_shift(x, 2, rng=4), out)
    np.testing.assert_array_equal(random_shift(x, 0, rng=0), x)


def test_add_noise():
    x = np.zeros((200, 10, 10), dtype=np.float32)
    out = add_noise(x, 0.5, rng=0)
    assert out.dtype == np.float32 and out.shape == x.shape
    assert abs(out.std() - 0.5) < 0.02 and abs(out.mean()) < 0.02
    np.testing.assert_array_equal(add_noise(x, 0.5, rng=0), out)
    clipped = add_noise(x, 0.5, rng=0, clip=(0.0, 1.0))
    assert clipped.min() == 0.0 and clipped.max() <= 1.0
    np.testing.assert_array_equal(add_noise(x, 0.0, rng=0), x)


def test_augmentation_errors():
    x = np.zeros((2, 5, 5), np.float32)
    with pytest.raises(ValueError, match="N, H, W"):
        random_flip(np.zeros((5, 5)), 0)
    with pytest.raises(ValueError, match="p must"):
        random_flip(x, 0, p=1.5)
    with pytest.raises(ValueError, match="max_shift"):
        random_shift(x, -1, 0)
    with pytest.raises(ValueError, match="smaller than"):
        random_shift(x, 5, 0)
    with pytest.raises(TypeError, match="float"):
        add_noise(x.astype(np.uint8), 0.1, 0)
    with pytest.raises(ValueError, match="std"):
        add_noise(x, -0.1, 0)
    with pytest.raises(ValueError, match="clip"):
        add_noise(x, 0.1, 0, clip=(1, 0))
