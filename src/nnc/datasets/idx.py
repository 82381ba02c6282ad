"""IDX files (the MNIST / Fashion-MNIST format) and the loaders built on them.

The IDX format (LeCun et al., http://yann.lecun.com/exdb/mnist/): all integers big-endian.
    bytes 0-1   0x00 0x00
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    then d uint32 sizes, then prod(sizes) elements in C order.
Files may be gzip-compressed (recognised by their content, not their name).

Where the data comes from:
  Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, Zalando Research, MIT license): the Debian/Ubuntu
  package `dataset-fashion-mnist` installs it in /usr/share/datasets/fashion-mnist; or download the
  four files from https://github.com/zalandoresearch/fashion-mnist into any folder.
  MNIST: any folder you name (path= or $NNC_DATA/mnist).
"""
import gzip
import math
import os
import zlib

import numpy as np

from .._io import read_exactly
from ..validation import check_positive_int

__all__ = ["read_idx", "MAX_IDX_BYTES", "load_fashion_mnist", "load_mnist", "FASHION_MNIST_CLASSES",
           "FASHION_MNIST_SYSTEM_DIR"]

FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

# Where the Debian package dataset-fashion-mnist puts the files.
FASHION_MNIST_SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"

IDX_FILES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
             "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}

_IDX_DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
               0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}

LAYOUTS = ("NHW", "NCHW", "flat")


# Far above any IDX data set in use (Fashion-MNIST's largest file holds 47 MB) and far below what a
# hostile header or a gzip bomb would make read_idx allocate.
MAX_IDX_BYTES = 1 << 30


def read_idx(path, max_bytes=MAX_IDX_BYTES):
    """Read one IDX file (raw or gzip) -> ndarray in native byte order with the stored shape and dtype.

    The header is read first (gzip streamed, never inflated whole); the data must then be exactly the
    size the header declares, at most `max_bytes` (raise it for a genuinely larger file). Raises
    ValueError naming the file when the magic number, the element type or the size is wrong (a truncated
    download, an HTML error page saved under the file's name, a gzip bomb, ...)."""
    path = os.fspath(path)
    max_bytes = check_positive_int("read_idx", "max_bytes", max_bytes)
    with open(path, "rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        f = gzip.GzipFile(fileobj=raw, mode="rb") if gz else raw
        try:
            return _read_idx_stream(path, f, gz, max_bytes)
        except (EOFError, OSError, zlib.error) as exc:
            if not gz:
                raise
            raise ValueError(f"read_idx: {path} is a damaged or truncated gzip file ({exc}); "
                             "download it again") from None


def _read_idx_stream(path, f, gz, max_bytes):
    head = f.read(4)
    if len(head) < 4:
        raise ValueError(f"read_idx: {path} is too short ({len(head)} bytes) to be an IDX file")
    if head[0] != 0 or head[1] != 0:
        raise ValueError(f"read_idx: {path} is not an IDX file (magic number starts with "
                         f"{head[:2].hex()}, expected 0000)")
    code, ndim = head[2], head[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"read_idx: {path} has unknown element type 0x{code:02x}; "
                         f"known: {', '.join(f'0x{c:02x}' for c in _IDX_DTYPES)}")
    sizes = f.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise ValueError(f"read_idx: {path} is truncated inside its header ({ndim} dimensions need "
                         f"{4 + 4 * ndim} bytes, got {4 + len(sizes)})")
    shape = tuple(int(s) for s in np.frombuffer(sizes, dtype=">u4"))
    dtype = _IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize   # Python ints: no overflow for any header
    if expected > max_bytes:
        raise ValueError(f"read_idx: {path} declares shape {shape} of {dtype.name} = {expected} bytes, more "
                         f"than max_bytes={max_bytes}; if the file is genuine, pass a larger max_bytes")
    if not gz:   # a raw file's size is known: refuse a wrong one before allocating anything
        actual = os.fstat(f.fileno()).st_size - 4 - 4 * ndim
        if actual != expected:
            what = "truncated" if actual < expected else "longer than its header says"
            raise ValueError(f"read_idx: {path} is {what}: shape {shape} of {dtype.name} needs {expected} bytes "
                             f"of data, found {actual}")
    data = read_exactly(
        f, expected,
        short=lambda pos: ValueError(f"read_idx: {path} is truncated: shape {shape} of {dtype.name} needs "
                                     f"{expected} bytes of data, found {pos}"),
        long=lambda: ValueError(f"read_idx: {path} is longer than its header says: shape {shape} of "
                                f"{dtype.name} needs {expected} bytes of data, the file has more"))
    a = np.frombuffer(data, dtype=dtype).reshape(shape)   # writable: it views the bytearray
    if not dtype.isnative:   # in place: no second copy of the data
        a = a.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return a


# ---- folders of the four files -----------------------------------------------------------------
def _find_file(folder, stem):
    for name in (stem + ".gz", stem):
        p = os.path.join(folder, name)
        if os.path.isfile(p):
            return p
    return None


def _locate(folders, dataset, how_to_get):
    """The first folder holding all four IDX files -> {key: file path}; else FileNotFoundError
    listing every folder tried and what was missing there."""
    tried = []
    for folder in folders:
        found = {key: _find_file(folder, stem) for key, stem in IDX_FILES.items()}
        if all(found.values()):
            return found
        if not os.path.isdir(folder):
            tried.append(f"  {folder} (no such folder)")
        else:
            missing = [IDX_FILES[k] + "[.gz]" for k, p in found.items() if p is None]
            tried.append(f"  {folder} (missing {', '.join(missing)})")
    raise FileNotFoundError(
        f"{dataset} not found. Looked in:\n" + "\n".join(tried) + "\n" + how_to_get +
        "\nThe files are " + ", ".join(s + ".gz" for s in IDX_FILES.values()) + " (with or without .gz).")


def _load_folder(files, dataset):
    arrays = {key: read_idx(p) for key, p in files.items()}
    for part in ("train", "test"):
        x, y = arrays["x_" + part], arrays["y_" + part]
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(f"{dataset}: {part} images {x.shape} and labels {y.shape} do not match "
                             f"(expected (N, H, W) and (N,)); files {files['x_' + part]}, {files['y_' + part]}")
        if y.size and (y.min() < 0 or y.max() > 9):
            raise ValueError(f"{dataset}: {files['y_' + part]} holds labels outside 0..9")
    return arrays


def _finish(x, y, normalize, layout):
    """uint8 images (N, H, W) -> the layout and scale asked for; labels -> int64."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if normalize:
        x = x.astype(np.float32) / np.float32(255.0)   # pixels in [0, 1]
    if layout == "NCHW":
        x = x.reshape(len(x), 1, *x.shape[1:])
    elif layout == "flat":
        x = x.reshape(len(x), -1)
    return np.ascontiguousarray(x), y.astype(np.int64)


def _split(arrays, normalize, layout):
    return (_finish(arrays["x_train"], arrays["y_train"], normalize, layout),
            _finish(arrays["x_test"], arrays["y_test"], normalize, layout))


def load_fashion_mnist(path=None, normalize=False, layout="NHW"):
    """Fashion-MNIST -> ((x_train, y_train), (x_test, y_test)): 60000 + 10000 images 28x28, labels 0..9
    (names in FASHION_MNIST_CLASSES).

    x: uint8 (N, 28, 28) pixels 0..255, or float32 in [0, 1] with normalize=True;
       layout="NCHW" gives (N, 1, 28, 28) for convnets, layout="flat" gives (N, 784) for MLPs.
    y: int64 (N,).
    Folders searched, first complete one wins: `path` if given; otherwise $NNC_DATA/fashion-mnist,
    $NNC_DATA, then /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist).
    """
    if path is not None:
        folders = [os.fspath(path)]
    else:
        folders = []
        env = os.environ.get("NNC_DATA")
        if env:
            folders += [os.path.join(env, "fashion-mnist"), env]
        folders.append(FASHION_MNIST_SYSTEM_DIR)
    how = ("Install it with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or put the four IDX files "
           "(https://github.com/zalandoresearch/fashion-mnist) in a folder and pass path=... or set NNC_DATA. "
           "For a quick start without downloads use nnc.datasets.load_sample().")
    files = _locate(folders, "Fashion-MNIST", how)
    return _split(_load_folder(files, "Fashion-MNIST"), normalize, layout)


def load_mnist(path=None, normalize=False, layout="NHW"):
    """MNIST digits -> ((x_train, y_train), (x_test, y_test)), same shapes, dtypes and options as
    load_fashion_mnist. Folder: `path`, or $NNC_DATA/mnist when path is None."""
    env = os.environ.get("NNC_DATA")
    if path is not None:
        folders = [os.fspath(path)]
    elif env:
        folders = [os.path.join(env, "mnist")]
    else:
        raise FileNotFoundError("load_mnist: no folder given. Put the four MNIST IDX files "
                                "(" + ", ".join(s + ".gz" for s in IDX_FILES.values()) + ") in a folder and "
                                "pass path=..., or put them in $NNC_DATA/mnist and set NNC_DATA.")
    how = "Put the four MNIST IDX files in a folder and pass path=..., or in $NNC_DATA/mnist and set NNC_DATA."
    files = _locate(folders, "MNIST", how)
    return _split(_load_folder(files, "MNIST"), normalize, layout)
