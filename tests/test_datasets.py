"""nnc.datasets: synthetic generators, the IDX reader, the (Fashion-)MNIST loaders and the built-in sample."""
import gzip
import os
import struct
import tracemalloc

import numpy as np
import pytest

from nnc import datasets
from nnc.datasets import idx as idx_module
from nnc.models.perceptron import ConvergenceWarning, Perceptron

GENERATORS = {
    "blobs": lambda n, seed: datasets.make_blobs(n, centers=3, seed=seed),
    "separable": lambda n, seed: datasets.make_linearly_separable(n, n_features=3, seed=seed),
    "xor": lambda n, seed: datasets.make_xor(n, seed=seed),
    "spirals2": lambda n, seed: datasets.make_spirals(n, n_classes=2, seed=seed),
    "spirals3": lambda n, seed: datasets.make_spirals(n, n_classes=3, seed=seed),
    "moons": lambda n, seed: datasets.make_moons(n, seed=seed),
}
N_CLASSES = {"blobs": 3, "separable": 2, "xor": 2, "spirals2": 2, "spirals3": 3, "moons": 2}


# ---- synthetic ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", GENERATORS)
def test_generator_shapes_dtypes_and_seed(name):
    make = GENERATORS[name]
    X, y = make(101, 7)
    assert X.dtype == np.float32 and y.dtype == np.int64
    assert X.ndim == 2 and X.shape[0] == 101 and y.shape == (101,)
    assert np.isfinite(X).all()
    assert set(np.unique(y)) == set(range(N_CLASSES[name]))
    X2, y2 = make(101, 7)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = make(101, 8)
    assert not np.array_equal(X, X3)
    # A Generator is drawn from: two calls on one generator differ, a re-seeded one repeats.
    g = np.random.default_rng(3)
    Xa, _ = make(50, g)
    Xb, _ = make(50, g)
    assert not np.array_equal(Xa, Xb)
    np.testing.assert_array_equal(Xa, make(50, np.random.default_rng(3))[0])


@pytest.mark.parametrize("name", GENERATORS)
def test_generator_classes_are_balanced_and_shuffled(name):
    X, y = GENERATORS[name](300, 0)
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= (1 if name != "separable" else 300)
    # Shuffled: the labels are not sorted into blocks.
    assert (np.diff(y) != 0).sum() > 10


def test_linearly_separable_has_the_margin_and_a_perceptron_converges():
    for seed in range(3):
        X, y = datasets.make_linearly_separable(200, n_features=4, margin=0.2, seed=seed)
        p = Perceptron(random_state=seed, max_iter=1000).fit(X, y)
        assert p.errors_[-1] == 0 and p.score(X, y) == 1.0
        # Geometric check that the classes really are apart: the learned separator leaves a gap.
        z = p.decision_function(X) / np.linalg.norm(p.coef_)
        assert z[y == 1].min() >= 0 > z[y == 0].max()


def test_xor_is_not_linearly_separable():
    X, y = datasets.make_xor(200, noise=0.1, seed=0)
    with pytest.warns(ConvergenceWarning):
        p = Perceptron(random_state=0, max_iter=50).fit(X, y)
    assert p.score(X, y) < 1.0 and p.errors_[-1] > 0
    # And the cluster centers carry the XOR labels.
    corners = np.sign(X)
    np.testing.assert_array_equal(y, (corners[:, 0] != corners[:, 1]).astype(np.int64))


def test_blobs_with_given_centers():
    centers = np.array([[0.0, 0.0, 0.0], [10.0, 10.0, 10.0]])
    X, y = datasets.make_blobs(400, centers=centers, cluster_std=0.5, seed=1)
    assert X.shape == (400, 3)
    for k in range(2):
        np.testing.assert_allclose(X[y == k].mean(axis=0), centers[k], atol=0.2)
        np.testing.assert_allclose(X[y == k].std(axis=0), 0.5, rtol=0.25)


def test_moons_and_spirals_geometry_without_noise():
    X, y = datasets.make_moons(100, noise=0.0, seed=0)
    r0 = np.hypot(X[y == 0, 0], X[y == 0, 1])
    np.testing.assert_allclose(r0, 1.0, rtol=1e-6)              # outer moon is the unit half circle
    X, y = datasets.make_spirals(90, n_classes=3, noise=0.0, seed=0)
    assert np.hypot(X[:, 0], X[:, 1]).max() <= 1.0 + 1e-6


@pytest.mark.parametrize("call, match", [
    (lambda: datasets.make_blobs(0), "n_samples"),
    (lambda: datasets.make_blobs(-5), "n_samples"),
    (lambda: datasets.make_blobs(10.5), "n_samples"),
    (lambda: datasets.make_blobs(10, cluster_std=-1), "cluster_std"),
    (lambda: datasets.make_blobs(10, centers=0), "centers"),
    (lambda: datasets.make_blobs(10, centers=np.zeros(3)), "centers"),
    (lambda: datasets.make_linearly_separable(10, margin=0), "margin"),
    (lambda: datasets.make_linearly_separable(10, n_features=0), "n_features"),
    (lambda: datasets.make_xor(10, noise=-0.1), "noise"),
    (lambda: datasets.make_xor(10, noise=float("nan")), "noise"),
    (lambda: datasets.make_spirals(10, n_classes=1), "n_classes"),
    (lambda: datasets.make_moons(True), "n_samples"),
])
def test_generator_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_generator_bad_seed():
    with pytest.raises(TypeError, match="seed"):
        datasets.make_xor(10, seed=1.5)


# ---- IDX files written here byte by byte ----------------------------------------------------------
def idx_bytes(a, code):
    """The IDX encoding of array a with element type `code` (written from the format spec)."""
    big = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    header = bytes([0, 0, code, a.ndim]) + b"".join(struct.pack(">I", s) for s in a.shape)
    return header + np.asarray(a).astype(big).tobytes()


def write(path, data, gz):
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(data)
    return path


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("code, dtype", [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16),
                                         (0x0C, np.int32), (0x0D, np.float32), (0x0E, np.float64)])
def test_read_idx_roundtrip(tmp_path, rng, gz, code, dtype):
    if np.dtype(dtype).kind == "f":
        a = rng.standard_normal((3, 5, 2)).astype(dtype)
    else:
        info = np.iinfo(dtype)
        a = rng.integers(info.min, info.max, size=(4, 3), endpoint=True).astype(dtype)
    p = write(tmp_path / "a.idx", idx_bytes(a, code), gz)
    b = datasets.read_idx(p)
    assert b.dtype == np.dtype(dtype) and b.dtype.isnative and b.shape == a.shape
    np.testing.assert_array_equal(a, b)
    assert b.flags.writeable


def test_read_idx_1d_labels(tmp_path):
    a = np.array([9, 0, 3, 3], dtype=np.uint8)
    np.testing.assert_array_equal(datasets.read_idx(write(tmp_path / "l", idx_bytes(a, 0x08), False)), a)


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_read_idx_corrupt_files(tmp_path, gz):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    good = idx_bytes(a, 0x08)
    cases = {
        "truncated data": (good[:-5], "truncated"),
        "extra bytes": (good + b"\x00", "longer than"),
        "truncated header": (good[:9], "header"),
        "bad magic": (b"\x12\x34" + good[2:], "not an IDX"),
        "bad type code": (good[:2] + b"\x07" + good[3:], "element type"),
        "too short": (b"\x00\x00", "too short"),
    }
    for name, (data, match) in cases.items():
        p = write(tmp_path / name.replace(" ", "_"), data, gz)
        with pytest.raises(ValueError, match=match):
            datasets.read_idx(p)


def test_read_idx_truncated_gzip(tmp_path):
    blob = gzip.compress(idx_bytes(np.zeros((50, 28, 28), np.uint8) + 7, 0x08))
    p = tmp_path / "cut.gz"
    p.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match="gzip"):
        datasets.read_idx(p)


# ---- loaders on fake folders ------------------------------------------------------------------------
def fake_mnist_folder(folder, rng, n_train=12, n_test=5, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    parts = {}
    for key, n in (("train", n_train), ("test", n_test)):
        x = rng.integers(0, 256, size=(n, 28, 28)).astype(np.uint8)
        y = rng.integers(0, 10, size=n).astype(np.uint8)
        parts[key] = (x, y)
    stems = idx_module.IDX_FILES
    for key, arr in (("x_train", parts["train"][0]), ("y_train", parts["train"][1]),
                     ("x_test", parts["test"][0]), ("y_test", parts["test"][1])):
        name = stems[key] + (".gz" if gz else "")
        write(folder / name, idx_bytes(arr, 0x08), gz)
    return parts


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_load_fashion_mnist_from_path(tmp_path, rng, gz):
    parts = fake_mnist_folder(tmp_path / "fm", rng, gz=gz)
    (xtr, ytr), (xte, yte) = datasets.load_fashion_mnist(tmp_path / "fm")
    assert xtr.shape == (12, 28, 28) and xtr.dtype == np.uint8 and ytr.dtype == np.int64
    np.testing.assert_array_equal(xtr, parts["train"][0])
    np.testing.assert_array_equal(ytr, parts["train"][1])
    np.testing.assert_array_equal(xte, parts["test"][0])
    np.testing.assert_array_equal(yte, parts["test"][1])
    (xn, _), _ = datasets.load_fashion_mnist(tmp_path / "fm", normalize=True, layout="NCHW")
    assert xn.shape == (12, 1, 28, 28) and xn.dtype == np.float32
    np.testing.assert_allclose(xn[:, 0] * 255.0, parts["train"][0], atol=1e-4)
    (xf, _), _ = datasets.load_fashion_mnist(tmp_path / "fm", layout="flat")
    np.testing.assert_array_equal(xf, parts["train"][0].reshape(12, 784))
    with pytest.raises(ValueError, match="layout"):
        datasets.load_fashion_mnist(tmp_path / "fm", layout="NHWC")


def test_load_fashion_mnist_search_order(tmp_path, rng, monkeypatch):
    flat = fake_mnist_folder(tmp_path / "flat", rng, n_train=3)
    monkeypatch.setenv("NNC_DATA", str(tmp_path / "flat"))
    (xtr, _), _ = datasets.load_fashion_mnist()
    np.testing.assert_array_equal(xtr, flat["train"][0])
    # A fashion-mnist subfolder of $NNC_DATA wins over files lying in $NNC_DATA itself.
    sub = fake_mnist_folder(tmp_path / "flat" / "fashion-mnist", rng, n_train=4)
    (xtr, _), _ = datasets.load_fashion_mnist()
    np.testing.assert_array_equal(xtr, sub["train"][0])


def test_load_fashion_mnist_missing_lists_every_folder(tmp_path, rng, monkeypatch):
    monkeypatch.setattr(idx_module, "FASHION_MNIST_SYSTEM_DIR", str(tmp_path / "system"))
    partial = tmp_path / "data"
    fake_mnist_folder(partial, rng)
    os.remove(partial / "t10k-labels-idx1-ubyte.gz")
    monkeypatch.setenv("NNC_DATA", str(partial))
    with pytest.raises(FileNotFoundError) as info:
        datasets.load_fashion_mnist()
    msg = str(info.value)
    for folder in (partial / "fashion-mnist", partial, tmp_path / "system"):
        assert str(folder) in msg
    assert "t10k-labels-idx1-ubyte" in msg
    assert "apt-get install dataset-fashion-mnist" in msg and "NNC_DATA" in msg and "path=" in msg
    with pytest.raises(FileNotFoundError, match="nowhere"):
        datasets.load_fashion_mnist(tmp_path / "nowhere")


def test_load_fashion_mnist_mismatched_counts(tmp_path, rng):
    fake_mnist_folder(tmp_path, rng)
    write(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(np.zeros(11, np.uint8), 0x08), True)
    with pytest.raises(ValueError, match="do not match"):
        datasets.load_fashion_mnist(tmp_path)


def test_load_mnist(tmp_path, rng, monkeypatch):
    monkeypatch.delenv("NNC_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="path="):
        datasets.load_mnist()
    parts = fake_mnist_folder(tmp_path / "mnist", rng, gz=False)
    (xtr, ytr), (xte, yte) = datasets.load_mnist(tmp_path / "mnist")
    np.testing.assert_array_equal(xte, parts["test"][0])
    monkeypatch.setenv("NNC_DATA", str(tmp_path))
    (xtr2, _), _ = datasets.load_mnist()
    np.testing.assert_array_equal(xtr2, parts["train"][0])


def test_fashion_mnist_system_copy_if_installed():
    folder = idx_module.FASHION_MNIST_SYSTEM_DIR
    if not os.path.isfile(os.path.join(folder, "t10k-labels-idx1-ubyte.gz")):
        pytest.skip("dataset-fashion-mnist not installed")
    labels = datasets.read_idx(os.path.join(folder, "t10k-labels-idx1-ubyte.gz"))
    assert labels.shape == (10000,) and np.bincount(labels).tolist() == [1000] * 10


# ---- built-in sample ---------------------------------------------------------------------------------
def test_load_sample():
    (xtr, ytr), (xte, yte) = datasets.load_sample()
    assert xtr.shape == (4000, 28, 28) and xte.shape == (1000, 28, 28)
    assert xtr.dtype == np.uint8 and ytr.dtype == np.int64 and yte.dtype == np.int64
    assert np.bincount(ytr, minlength=10).tolist() == [400] * 10
    assert np.bincount(yte, minlength=10).tolist() == [100] * 10
    assert (np.diff(ytr) != 0).sum() > 1000                     # shuffled, not grouped by class
    assert xtr.max() > 200 and xtr.std() > 30                    # real images, not blank
    assert len(np.unique(xtr.reshape(4000, -1), axis=0)) == 4000  # no image drawn twice
    assert len(datasets.FASHION_MNIST_CLASSES) == 10
    (xn, _), (xt, _) = datasets.load_sample(normalize=True, layout="NCHW")
    assert xn.shape == (4000, 1, 28, 28) and xn.dtype == np.float32 and 0.0 <= xn.min() and xn.max() <= 1.0
    np.testing.assert_allclose(xn[:, 0], xtr / 255.0, atol=1e-6)


def test_sample_file_is_small_and_pickle_free():
    assert os.path.getsize(datasets.SAMPLE_FILE) < 3_000_000
    with np.load(datasets.SAMPLE_FILE, allow_pickle=False) as f:
        assert all(f[k].dtype != object for k in f.files)


def test_sample_matches_the_source_if_installed():
    folder = idx_module.FASHION_MNIST_SYSTEM_DIR
    if not os.path.isfile(os.path.join(folder, "t10k-images-idx3-ubyte.gz")):
        pytest.skip("dataset-fashion-mnist not installed")
    with np.load(datasets.SAMPLE_FILE, allow_pickle=False) as f:
        x_test, test_index = f["x_test"], f["test_index"]
    source = datasets.read_idx(os.path.join(folder, "t10k-images-idx3-ubyte.gz"))
    np.testing.assert_array_equal(x_test, source[test_index])


# ---- hostile IDX files: refused from the header, never inflated whole ------------------------------------
def gzip_bomb(path, header, mib):
    """A valid IDX header followed by `mib` MiB of zeros, gzipped to about 4.5 KB per MiB."""
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(header)
        zeros = bytes(1 << 20)
        for _ in range(mib):
            f.write(zeros)
    return path


def peak_bytes(call):
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_read_idx_gzip_bomb_with_a_huge_header_is_refused_from_the_header(tmp_path):
    # 60000 x 1000 x 1000 bytes declared (60 GB); the stream holds 32 MiB of zeros in ~150 KB of gzip
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">III", 60000, 1000, 1000)
    p = gzip_bomb(tmp_path / "bomb.gz", header, 32)
    assert p.stat().st_size < 200_000

    def read():
        with pytest.raises(ValueError, match=r"declares shape \(60000, 1000, 1000\) of uint8 = 60000000000 "
                                             r"bytes, more than max_bytes=1073741824; if the file is genuine"):
            datasets.read_idx(p)
    assert peak_bytes(read) < 2 << 20


def test_read_idx_gzip_bomb_behind_a_small_header_stops_after_the_declared_bytes(tmp_path):
    header = bytes([0, 0, 0x08, 2]) + struct.pack(">II", 10, 10)   # 100 bytes declared, 32 MiB follow
    p = gzip_bomb(tmp_path / "bomb.gz", header, 32)

    def read():
        with pytest.raises(ValueError, match="longer than its header says"):
            datasets.read_idx(p)
    assert peak_bytes(read) < 2 << 20


def test_read_idx_max_bytes(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    p = write(tmp_path / "a.idx", idx_bytes(a, 0x08), True)
    with pytest.raises(ValueError, match="more than max_bytes=23"):
        datasets.read_idx(p, max_bytes=23)
    np.testing.assert_array_equal(datasets.read_idx(p, max_bytes=24), a)
    with pytest.raises(ValueError, match="max_bytes must be an integer >= 1"):
        datasets.read_idx(p, max_bytes=0)


def test_read_idx_gzip_with_a_bad_crc(tmp_path):
    blob = bytearray(gzip.compress(idx_bytes(np.arange(24, dtype=np.uint8), 0x08)))
    blob[-8] ^= 0xFF   # the CRC-32 in the gzip trailer
    p = tmp_path / "crc.gz"
    p.write_bytes(bytes(blob))
    with pytest.raises(ValueError, match="damaged or truncated gzip"):
        datasets.read_idx(p)


def test_read_idx_raw_file_of_the_wrong_size_is_refused_before_allocating(tmp_path):
    p = tmp_path / "short.idx"
    p.write_bytes(bytes([0, 0, 0x08, 1]) + struct.pack(">I", 500_000_000) + b"\0" * 10)   # 500 MB declared

    def read():
        with pytest.raises(ValueError, match=r"is truncated: shape \(500000000,\) of uint8 needs 500000000 bytes "
                                             r"of data, found 10"):
            datasets.read_idx(p)
    assert peak_bytes(read) < 1 << 20
