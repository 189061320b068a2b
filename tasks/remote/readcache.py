"""What one run has read of one machine's files, until the run changes them.

Every step plans from the files it needs, and several steps need the same files (carbon.xml: five
steps and the cluster facts): without this, each read is an SFTP stat, open, read and close again.
A ReadCache belongs to a machine (CONTRACT §5: the entries that share one login share it, so a
node sees its machine mate's write of the shared hosts file). Entries are dropped by every write,
chmod and removal through the run's connections, and all of them by any remote command (a command
may change any file). A read that overlapped a change is not kept (the generation counter).

Beside the reads it keeps the files' parsed documents (`document`): a file several steps, the facts
and the live checks read is parsed once per run. A document is handed out only for the very bytes it
was parsed from (a file read again after a remote command gets it back when unchanged), and is
dropped when the run writes the file.
A document is handed to every consumer as is: a parse function's result is read-only (an XML parse
is shared by XmlDocs that record their own edits: tasks/formats/xmldoc.py).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, TypeVar

if TYPE_CHECKING:
    from .common import FileStat

T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    data: bytes | None  # None: the file did not exist
    stat: FileStat | None  # the FileStat the read took (None for a missing file)
    plain: bool = False  # the path itself is a regular file (an lstat said so): a write needs no link check


class ReadCache:
    """path -> Entry for one machine, for one run."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._gen = 0
        self._lock = threading.Lock()
        self._docs: dict[tuple[str, Callable, str], tuple[bytes, Any]] = {}  # (path, parse, label) -> (bytes, doc)
        self._parsing = threading.Lock()  # one parse at a time: two readers of one file wait for one parse
        self.hits = 0

    def get(self, path: str) -> Entry | None:
        """The entry of the last read of path, or None when it must be read."""
        with self._lock:
            e = self._entries.get(path)
            if e is not None:
                self.hits += 1
            return e

    def has(self, path: str) -> bool:
        """True when a read of path would be answered from here (not counted as a hit)."""
        return path in self._entries

    def generation(self) -> int:
        """Taken before a read: `put` keeps the result only when nothing changed meanwhile."""
        return self._gen

    def put(self, path: str, data: bytes | None, stat: FileStat | None, gen: int, plain: bool = False) -> None:
        with self._lock:
            if gen == self._gen:
                self._entries[path] = Entry(data, stat, plain)

    def document(self, path: str, data: bytes, parse: Callable[[bytes, str], T], label: str | None = None) -> T:
        """`parse(data, label)` of the file at path, parsed once per run: kept until the file changes
        (these bytes, read again from the cache or not, get the same document; other bytes a new one).
        A parse that fails raises and is not kept. The document is shared: no consumer may change it."""
        key = (path, parse, label or path)
        with self._parsing:
            with self._lock:
                hit = self._docs.get(key)
            if hit is not None and (hit[0] is data or hit[0] == data):
                return hit[1]
            doc = parse(data, label or path)
            with self._lock:
                self._docs[key] = (data, doc)
            return doc

    def forget(self, *paths: str) -> None:
        """These files change (write, chmod, removal)."""
        with self._lock:
            self._gen += 1
            for p in paths:
                self._entries.pop(p, None)
            gone = set(paths)
            for key in [k for k in self._docs if k[0] in gone]:
                del self._docs[key]

    def clear(self) -> None:
        """Anything may have changed (a remote command ran)."""
        with self._lock:
            self._gen += 1
            self._entries.clear()  # the documents stay: each is handed out only for the bytes it was parsed from


__all__ = ["ReadCache", "Entry"]
