"""What a step may do on a host: the narrow faces of RemoteHost that StepContext hands to steps,
probes and records. `NodeReads` is what a step's read/plan phase needs (reads, stats, listings, a
real path, a read-only probe command, a channel from the node); `NodeIO` adds what apply does (atomic
writes with backup, removals, the run's journal of a database undo or a peer). RemoteHost is the engine's
whole object (connection, lock, journal, prune, rollback) and implements both; the unit tests'
MemoryNode (tests/memnode.py) implements both in memory. A step that needs more than NodeIO is a
sign that the engine's work leaked into it, and mypy says so."""
from __future__ import annotations

from typing import Protocol

import paramiko

from ..config import Host
from .common import CONFIG_LIMIT, JAR_LIMIT, FileStat
from .readcache import ReadCache


class NodeReads(Protocol):
    """The operations a step's plan (and a probe) uses to learn a node's state: nothing here
    changes a file (`run` is for read-only probe commands: `test -w`, `openssl pkey -pubout`; a channel
    is a live check's connection from the node: HTTP, svn, the database)."""

    @property
    def host(self) -> Host: ...

    @property
    def cache(self) -> ReadCache: ...  # what the run read of the machine's files, and their parsed documents

    def read(self, path: str, limit: int = CONFIG_LIMIT, kind: str = "a configuration file",
             cache: bool = True) -> bytes | None: ...

    def read_range(self, path: str, offset: int, length: int) -> tuple[bytes, int]: ...

    def stat(self, path: str, follow: bool = True) -> FileStat | None: ...

    def lstat(self, path: str) -> FileStat | None: ...

    def known_stat(self, path: str) -> FileStat | None: ...

    def listdir(self, path: str) -> list[str] | None: ...

    def sha256(self, path: str, limit: int = JAR_LIMIT) -> str | None: ...

    def realpath(self, path: str) -> str: ...

    def prefetch(self, paths: list[str]) -> None: ...

    @property
    def can_sudo(self) -> bool: ...

    def run(self, command: str, stdin: bytes | None = None, sudo: bool = False, check: bool = True,
            extra_time: float = 0.0): ...

    def open_channel(self, dest: str, port: int, timeout: float | None = None) -> paramiko.Channel: ...


class NodeIO(NodeReads, Protocol):
    """Everything a step uses on its host's connection: its reads, and what apply does
    (RemoteHost implements them)."""

    def write(self, path: str, data: bytes, mode: int | None = None, in_place_fallback: bool = False,
              backup: bool = True) -> None: ...

    def place(self, path: str, data: bytes, mode: int = 0o600, like: FileStat | None = None) -> None: ...

    def remove(self, path: str, backup: bool = True) -> None: ...

    def chmod(self, path: str, mode: int) -> None: ...

    def mkdir_p(self, path: str, mode: int = 0o755) -> None: ...

    def backup_on_host(self, paths: list[str], sudo: bool = False) -> None: ...

    def forget_backup(self, path: str) -> None: ...

    def keep_sql(self, step: str, data: bytes, via: str | None = None, db: str | None = None) -> None: ...

    def note_peer(self, name: str) -> None: ...
