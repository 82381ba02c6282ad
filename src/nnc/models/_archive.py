"""The file half of checkpoints: written all at once, read within bounds.

write_atomic(path, write)   `write(f)` fills a temporary file beside `path`, which is fsynced and renamed
                            over `path` (a symlink is written through: the link stays, its target is
                            replaced), then the folder is fsynced. A crash leaves the old file whole; the
                            temporary file is removed on any exception, and one left by a killed process
                            (its pid is in the name) is removed by the next save to the same path.
                            The file gets mode 0666 & ~umask, like any file `open(path, "w")` creates.
open_npz(f)                 the zip in the open binary file `f` and its members as {key: ZipInfo},
                            nothing decompressed yet.
npy_header(z, info)         a member's shape, dtype and order, read from the first bytes of its stream.
read_npy(z, info, shape, dtype)   the member's array, read only if its header and its declared size
                            (zip's file_size) are exactly what `shape` and `dtype` need, so a hostile file
                            costs no more memory than the array the caller expects.
Errors are ArchiveError (a ValueError) with a message saying what is wrong with the file.
"""
import os
import re
import secrets
import zipfile

import numpy as np

from .._io import read_exactly

_TMP = re.compile(r"^\.(?P<base>.+)\.(?P<pid>\d+)\.[0-9a-f]{16}\.nnc-tmp$")


class ArchiveError(ValueError):
    """The archive cannot be read as the caller expects it (truncated, corrupted or hostile).
    `mismatch` is True when the member is intact but not the shape or dtype the caller expects."""

    def __init__(self, message, mismatch=False):
        super().__init__(message)
        self.mismatch = mismatch


# ---- writing ------------------------------------------------------------------------------------
def _pid_gone(pid):
    """True when no process `pid` exists (POSIX only: elsewhere a leftover is kept, never guessed at)."""
    if os.name != "posix" or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)   # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except OSError:       # exists but belongs to someone else
        return False
    return False


def _remove_leftovers(folder, base):
    """Temporary files of earlier saves to `base` whose writer died (killed mid-save)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        m = _TMP.match(name)
        if m and m["base"] == base and _pid_gone(int(m["pid"])):
            try:
                os.remove(os.path.join(folder, name))
            except OSError:
                pass


def _fsync_dir(folder):
    """Make the rename itself durable (POSIX; Windows cannot open a folder for fsync)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path, write):
    """Replace the file at `path` with what `write(f)` writes to a binary file object, all or nothing."""
    target = os.path.realpath(os.fspath(path))   # through symlinks: the link is kept, its target replaced
    if os.path.isdir(target):
        raise IsADirectoryError(f"{os.fspath(path)!r} is a directory; give the path of a file to write")
    folder, base = os.path.split(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"the folder {folder!r} for {os.fspath(path)!r} does not exist; create it first "
                                "(os.makedirs(folder, exist_ok=True))")
    _remove_leftovers(folder, base)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(folder, f".{base}.{os.getpid()}.{secrets.token_hex(8)}.nnc-tmp")
        try:
            fd = os.open(tmp, flags, 0o666)   # the umask applies, as for any new file
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)   # atomic on POSIX: the old file stays until the new one is complete
    except BaseException:
        try:
            os.remove(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(folder)


# ---- reading ------------------------------------------------------------------------------------
_UNREADABLE = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, NotImplementedError,
               RuntimeError, UnicodeDecodeError, OverflowError)


def open_npz(f):
    """(ZipFile, {key: ZipInfo}) for the .npy members of the .npz in the binary file `f` (the caller
    closes both)."""
    try:
        z = zipfile.ZipFile(f)
    except _UNREADABLE as exc:
        raise ArchiveError(f"it is not a readable .npz (zip) archive ({exc}); it may be truncated or "
                           "corrupted, or not a checkpoint at all") from None
    members = {}
    try:
        for info in z.infolist():
            if not info.filename.endswith(".npy"):
                raise ArchiveError(f"member {info.filename!r} is not a .npy array")
            key = info.filename[:-4]
            if key in members:
                raise ArchiveError(f"member {info.filename!r} appears twice")
            if info.flag_bits & 0x1:
                raise ArchiveError(f"member {info.filename!r} is encrypted")
            members[key] = info
    except ArchiveError:
        z.close()
        raise
    return z, members


def _read_header(zf, name):
    version = np.lib.format.read_magic(zf)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(zf)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(zf)
    else:
        raise ArchiveError(f"member {name!r} has .npy format version {version}; expected 1.0 or 2.0")
    if dtype.hasobject:
        raise ArchiveError(f"member {name!r} holds Python objects (a pickle); checkpoints hold plain arrays only")
    return shape, fortran, dtype, zf.tell()


def npy_header(z, info):
    """(shape, fortran_order, dtype, header_bytes) of one member, from the first bytes of its stream."""
    try:
        with z.open(info) as zf:
            return _read_header(zf, info.filename)
    except ArchiveError:
        raise
    except _UNREADABLE as exc:
        raise ArchiveError(f"member {info.filename!r} has a damaged .npy header ({exc})") from None


def read_npy(z, info, shape, dtype):
    """The member's array if it is exactly `shape` of `dtype` (C or Fortran order); otherwise ArchiveError,
    raised before any data is read. The array is writable and owns its memory."""
    name, shape, dtype = info.filename, tuple(shape), np.dtype(dtype)
    try:
        with z.open(info) as zf:
            got_shape, fortran, got_dtype, header = _read_header(zf, name)
            if got_shape != shape or got_dtype != dtype:
                raise ArchiveError(f"member {name!r} is {got_dtype}{list(got_shape)}, expected {dtype}{list(shape)}",
                                   mismatch=True)
            nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            if info.file_size != header + nbytes:
                raise ArchiveError(f"member {name!r} declares {info.file_size} bytes, but its header and "
                                   f"{dtype}{list(shape)} take {header + nbytes}")
            buf = read_exactly(   # reading past the end also makes zipfile verify the member's CRC-32
                zf, nbytes,
                short=lambda pos: ArchiveError(f"member {name!r} ends after {pos} of its {nbytes} data bytes "
                                               "(truncated)"),
                long=lambda: ArchiveError(f"member {name!r} is longer than its header says"))
    except ArchiveError:
        raise
    except _UNREADABLE as exc:
        raise ArchiveError(f"member {name!r} is truncated or corrupted ({type(exc).__name__}: {exc})") from None
    return np.frombuffer(buf, dtype=dtype).reshape(shape, order="F" if fortran else "C")
