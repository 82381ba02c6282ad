"""Reading a declared number of bytes from an untrusted file (IDX datasets, model archives).

A header says how large the data are; the reader fills an array of that size a chunk at a time, so a
file that lies (a tiny gzip that inflates without end, a zip member shorter than declared) costs no
more memory than the array it claims, and a short or long file is an error, never a partial array.
"""
CHUNK = 1 << 20   # bytes read per call: no temporary larger than this besides the array itself


def read_exactly(f, nbytes, short, long):
    """A bytearray of exactly `nbytes` bytes read from the file object `f`.

    short(pos) -> the exception to raise when the file ends after `pos` bytes; long() -> the one to raise
    when it holds more. Reading one byte past the end also makes gzip and zipfile verify their checksums."""
    data = bytearray(nbytes)
    view, pos = memoryview(data), 0
    while pos < nbytes:
        chunk = f.read(min(CHUNK, nbytes - pos))
        if not chunk:
            raise short(pos)
        view[pos:pos + len(chunk)] = chunk
        pos += len(chunk)
    if f.read(1):
        raise long()
    return data
