"""A zip (jar) file's directory, read by the standard library's zipfile through a ranged reader:
what two jars of the same size are compared by, and what live checks list a jar's classes from.

The central directory lists every entry with its name, sizes and CRC-32: two jars of the same size
whose entries are the same (name, CRC-32, sizes) hold the same contents.  `RangedReader` gives
zipfile a file over `read_range(offset, length) -> (bytes, size)` (SFTP reads of a remote file):
it reads the last 8 KiB first and keeps what it read as one span up to the end, so a jar of
megabytes costs one read (a long comment or directory: one more), and zipfile does the parsing
(ZIP64, comments, prepended data). A member's bytes far before the directory are read alone, as
asked (an application archive's artifacts.xml), never the whole archive between.
"""
from __future__ import annotations

import io
import zipfile
from typing import Callable

#: what is read first from a jar's end: the end record and, for most jars, the whole directory
SHORT = 8192

#: a read further than this before the span is read alone, never joined to it (a member's bytes at
#: the start of an archive of hundreds of MiB)
FAR = 1 << 20

#: each entry of a zip as compared: name, CRC-32, compressed and uncompressed size
Entries = tuple[tuple[str, int, int, int], ...]
ReadRange = Callable[[int, int], tuple[bytes, int]]


class RangedReader(io.RawIOBase):
    """A read-only, seekable file over read_range (a negative offset counts from the
    end). What was read is kept as one span up to the end of the file; a read before it
    fetches only the missing part."""

    def __init__(self, read_range: ReadRange, first: int = SHORT):
        tail, self.size = read_range(-first, first)
        self._read_range = read_range
        self._lo, self._data, self._pos = self.size - len(tail), tail, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        end = min(self.size, self._pos + len(view))
        if self._pos >= end:
            return 0
        if self._lo - self._pos > FAR:  # a member far before the directory (an archive's first entry): only
            want = end - self._pos  # what is asked is read, the megabytes between are not
            more, _ = self._read_range(self._pos, want)
            if len(more) != want:
                raise OSError("the file changed while it was read")
            view[:want] = more
            self._pos += want
            return want
        if self._pos < self._lo:  # before the span: fetch what is missing, in one read
            more, _ = self._read_range(self._pos, self._lo - self._pos)
            if len(more) != self._lo - self._pos:
                raise OSError("the file changed while its zip directory was read")
            self._lo, self._data = self._pos, more + self._data
        chunk = self._data[self._pos - self._lo:end - self._lo]
        view[:len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)


def _entries(fileobj) -> Entries | None:
    try:
        with zipfile.ZipFile(fileobj) as z:
            return tuple((i.filename, i.CRC, i.compress_size, i.file_size) for i in z.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        return None


def entries(read_range: ReadRange) -> Entries | None:
    """The entries of a remote zip, read through read_range (its directory only); None when it is no zip."""
    return _entries(RangedReader(read_range))


def local_entries(data: bytes) -> Entries | None:
    """The entries of a zip in memory (a local jar); None when it is no zip."""
    return _entries(io.BytesIO(data))


def names(data: bytes) -> list[str] | None:
    """Entry names from a zip's last bytes (its directory and end record, whatever precedes them may
    be missing); None when they hold no complete directory."""
    found = _entries(io.BytesIO(data))
    return None if found is None else [e[0] for e in found]


__all__ = ["Entries", "RangedReader", "SHORT", "entries", "local_entries", "names"]
