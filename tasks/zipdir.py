"""A zip (jar) file's central directory, found from its end: what two jars of the same size are compared by.

The central directory lists every entry with its name, sizes and CRC-32: two jars of the same size whose
directories are byte for byte the same hold the same entries with the same checksums.  Comparing it reads
a jar's last kilobytes over SFTP instead of the whole jar.
"""
from __future__ import annotations

import struct

EOCD = b"PK\x05\x06"
#: the end-of-central-directory record (22 bytes) and the longest comment a zip may have
TAIL = 22 + 0xFFFF


def locate(tail: bytes, size: int) -> tuple[int, int] | None:
    """(offset, length) of the central directory and end record of a zip of `size` bytes, from its last
    bytes (`tail`, at most TAIL of them); None when they hold no end record."""
    at = tail.rfind(EOCD)
    if at < 0 or len(tail) < at + 22:
        return None
    cd_size, cd_offset = struct.unpack("<II", tail[at + 12:at + 20])
    end = size - len(tail) + at + 22
    if cd_offset + cd_size > size - len(tail) + at:
        return None
    return cd_offset, end - cd_offset


#: what is read first from a jar's end: the end record and, for most jars, the whole directory
SHORT = 8192


def fetch(read_range) -> bytes | None:
    """The central directory and end record of a remote zip, read with `read_range(offset, length) -> (bytes,
    size)` (a negative offset counts from the end): its last 8 KiB, the last 64 KiB when a comment hides the
    end record, then the directory's own range when it begins before them; None when it is no zip."""
    where = None
    for want in (SHORT, TAIL):
        tail, size = read_range(-want, want)
        where = locate(tail, size)
        if where is not None or len(tail) >= size:
            break
    if where is None:
        return None
    offset, length = where
    start = size - len(tail)
    if offset >= start:
        return tail[offset - start:offset - start + length]
    head, _ = read_range(offset, start - offset)
    return head + tail[:length - len(head)]


def directory(data: bytes) -> bytes | None:
    """The central directory and end record of a whole zip in memory (a local jar)."""
    where = locate(data[-TAIL:], len(data))
    return None if where is None else data[where[0]:where[0] + where[1]]


__all__ = ["directory", "fetch", "locate", "TAIL", "SHORT"]
